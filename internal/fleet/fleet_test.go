package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resend-worker/resend-worker/internal/fleet"
	"github.com/resend-worker/resend-worker/internal/ratelimit"
	"github.com/resend-worker/resend-worker/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Shutdown()
	os.Exit(code)
}

func n(v int64) types.AttributeValue { return &types.AttributeValueMemberN{Value: fmt.Sprint(v)} }

func TestSlotOf(t *testing.T) {
	now := time.UnixMilli(10_000)
	item := map[string]types.AttributeValue{
		"pk":         &types.AttributeValueMemberS{Value: "fleet#c"},
		"expires_at": n(99),
		"t_b":        n(10_500), // alive
		"t_d":        n(9_999),  // expired: gone
		"t_a":        n(10_000), // alive until now inclusive
		"t_x":        &types.AttributeValueMemberS{Value: "junk"},
	}
	for _, tc := range []struct {
		me   string
		want fleet.Slot
	}{
		{"c", fleet.Slot{Tasks: 3, Index: 2}},
		{"a", fleet.Slot{Tasks: 2, Index: 0}}, // its own entry counts once
		{"0", fleet.Slot{Tasks: 3, Index: 0}},
	} {
		if got := fleet.SlotOf(item, tc.me, now, false); got != tc.want {
			t.Errorf("SlotOf(me=%s) = %+v, want %+v", tc.me, got, tc.want)
		}
	}
	// Busy-only: t_a is idle (negative), t_b busy.
	item["t_a"] = fleet.EntryValue(time.UnixMilli(10_000), false)
	item["t_b"] = fleet.EntryValue(time.UnixMilli(10_500), true)
	if got := fleet.SlotOf(item, "c", now, true); got != (fleet.Slot{Tasks: 2, Index: 1}) {
		t.Errorf("SlotOf(busy only) = %+v, want 2 tasks (b, c), c at 1", got)
	}
	if got := fleet.SlotOf(item, "c", now, false); got != (fleet.Slot{Tasks: 3, Index: 2}) {
		t.Errorf("SlotOf(all) with an idle entry = %+v, want 3 tasks", got)
	}
	if got := fleet.Live(nil, "me", now); got != 1 {
		t.Errorf("Live(empty) = %d, want 1 (this task)", got)
	}
}

func TestShare(t *testing.T) {
	for _, tc := range []struct {
		q     float64
		tasks int
		want  float64
	}{{30, 3, 10}, {30, 1, 30}, {30, 0, 30}, {5000, 50, 100}} {
		if got := fleet.Share(tc.q, tc.tasks); got != tc.want {
			t.Errorf("Share(%v, %d) = %v, want %v", tc.q, tc.tasks, got, tc.want)
		}
	}
}

// NextSlot spaces the fleet's calls 1/quota apart: task i of n calls at
// k·n/quota + i/quota.
func TestNextSlot(t *testing.T) {
	at := func(ms int64) time.Time { return time.Unix(0, ms*int64(time.Millisecond)) }
	for _, tc := range []struct {
		name  string
		t     time.Time
		quota float64
		s     fleet.Slot
		want  time.Time
	}{
		{"alone: now", at(1234), 50, fleet.Slot{Tasks: 1}, at(1234)},
		{"on the slot", at(1040), 50, fleet.Slot{Tasks: 5, Index: 2}, at(1040)},                 // period 100 ms, offset 40
		{"just after: the next period", at(1041), 50, fleet.Slot{Tasks: 5, Index: 2}, at(1140)}, //
		{"before the offset", at(1010), 50, fleet.Slot{Tasks: 5, Index: 2}, at(1040)},
		{"index 0", at(1001), 50, fleet.Slot{Tasks: 5, Index: 0}, at(1100)},
		{"big quota", at(1000).Add(50 * time.Microsecond), 5000, fleet.Slot{Tasks: 50, Index: 3}, at(1000).Add(600 * time.Microsecond)},
	} {
		if got := fleet.NextSlot(tc.t, tc.quota, tc.s); !got.Equal(tc.want) {
			t.Errorf("%s: NextSlot = %v, want %v", tc.name, got.UnixMicro(), tc.want.UnixMicro())
		}
	}
	// Every task's slots together: evenly spaced, none shared.
	seen := map[int64]bool{}
	for i := range 4 {
		s := fleet.Slot{Tasks: 4, Index: i}
		x := at(5000)
		for range 10 {
			x = fleet.NextSlot(x, 40, s)
			if seen[x.UnixMilli()] || x.UnixMilli()%25 != 0 {
				t.Fatalf("slot %d of task %d shared or off the 25 ms grid", x.UnixMilli(), i)
			}
			seen[x.UnixMilli()] = true
			x = x.Add(time.Nanosecond)
		}
	}
}

type capRecorder struct {
	mu   sync.Mutex
	maxs []float64
	cuts int
}

func (c *capRecorder) Throttled() { c.mu.Lock(); c.cuts++; c.mu.Unlock() }
func (c *capRecorder) cutCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cuts
}

func (c *capRecorder) SetMax(m float64) { c.mu.Lock(); c.maxs = append(c.maxs, m); c.mu.Unlock() }
func (c *capRecorder) last() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.maxs) == 0 {
		return 0
	}
	return c.maxs[len(c.maxs)-1]
}

type downAPI struct{}

func (downAPI) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, errors.New("connection refused")
}

// scriptedAPI answers each UpdateItem with the next of its items (the
// last one again once they run out) and counts the requests.
type scriptedAPI struct {
	mu    sync.Mutex
	items []map[string]types.AttributeValue
	calls int
}

func (s *scriptedAPI) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	item := s.items[min(s.calls, len(s.items)-1)]
	s.calls++
	return &dynamodb.UpdateItemOutput{Attributes: item}, nil
}

func (s *scriptedAPI) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Tasks started together each see only those that beat before them at
// their first beat (task a: itself alone). Join beats again after its
// wait, so a starts at a third of the quota, not at the whole of it; a
// Join whose context ends during the wait does not beat again.
func TestJoinCountsTasksThatJoinedDuringItsWait(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	alive := fleet.EntryValue(now.Add(3*time.Second), true)
	alone := map[string]types.AttributeValue{"t_a": alive}
	three := map[string]types.AttributeValue{"t_a": alive, "t_b": alive, "t_c": alive}
	api := &scriptedAPI{items: []map[string]types.AttributeValue{alone, three}}
	c := &capRecorder{}
	f, err := fleet.New(api, c, fleet.Config{Table: "t", Group: "g", Task: "a", Quota: 30, Interval: time.Millisecond, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	f.Join(context.Background())
	if api.requests() != 2 || f.Slot() != (fleet.Slot{Tasks: 3, Index: 0}) || c.last() != 10 {
		t.Errorf("after Join: %d requests, slot %+v, cap %v; want 2 requests, 3 tasks with a at 0, cap 10", api.requests(), f.Slot(), c.last())
	}

	api = &scriptedAPI{items: []map[string]types.AttributeValue{alone, three}}
	f, err = fleet.New(api, &capRecorder{}, fleet.Config{Table: "t", Group: "g", Task: "a", Quota: 30, Interval: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.Join(ctx)
	if api.requests() != 1 {
		t.Errorf("Join with its context ended: %d requests, want 1 (no second beat)", api.requests())
	}
}

// Without the table the task keeps the whole quota (and the limiter's
// adaptation) and says so.
func TestBeatTableDown(t *testing.T) {
	c := &capRecorder{}
	var errs []string
	f, err := fleet.New(downAPI{}, c, fleet.Config{Table: "t", Group: "g", Task: "a", Quota: 30,
		OnError: func(op string, err error) { errs = append(errs, op) }})
	if err != nil {
		t.Fatal(err)
	}
	f.Beat(context.Background())
	f.Leave(context.Background())
	if len(c.maxs) != 0 || f.Slot() != (fleet.Slot{Tasks: 1}) || len(errs) != 2 {
		t.Errorf("caps %v, slot %+v, errors %v: want no cap change, alone, 2 errors", c.maxs, f.Slot(), errs)
	}
	if _, err := fleet.New(downAPI{}, c, fleet.Config{Table: "t", Group: "g", Task: "a"}); err == nil {
		t.Error("New without a quota: no error")
	}
}

// Three tasks on moto's DynamoDB: each sees three and caps at a third; one
// leaves and the others take its share at their next beat; one that dies
// is dropped once its entry is TTL old.
func TestFleetOnMoto(t *testing.T) {
	db, table := fleetTable(t)
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	caps := make([]*capRecorder, 3)
	fs := make([]*fleet.Fleet, 3)
	for i := range fs {
		caps[i] = &capRecorder{}
		f, err := fleet.New(db, caps[i], fleet.Config{Table: table, Group: "client", Task: fmt.Sprint("task-", i), Quota: 30, TTL: 3 * time.Second, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		fs[i] = f
	}
	ctx := context.Background()
	beatAll := func(fs ...*fleet.Fleet) {
		for _, f := range fs {
			f.Beat(ctx)
		}
	}
	beatAll(fs...)
	beatAll(fs...)
	for i, c := range caps {
		if c.last() != 10 || fs[i].Slot() != (fleet.Slot{Tasks: 3, Index: i}) {
			t.Errorf("task %d: cap %v, slot %+v; want 10 and 3 tasks at index %d", i, c.last(), fs[i].Slot(), i)
		}
	}
	fs[2].Leave(ctx)
	if item := getFleetItem(t, db, table); item["t_task-2"] != nil || item["x_task-2"] != nil || item["t_task-1"] == nil {
		t.Errorf("after task-2 left the item is %v: want its entries gone, the others kept", item)
	}
	advance(time.Second)
	beatAll(fs[0], fs[1])
	if caps[0].last() != 15 || caps[1].last() != 15 {
		t.Errorf("after a task left: caps %v, %v; want 15", caps[0].last(), caps[1].last())
	}
	// task-1 dies (no Leave): task-0 takes the whole quota once its entry expired.
	advance(2 * time.Second)
	fs[0].Beat(ctx)
	if caps[0].last() != 15 {
		t.Errorf("2 s after task-1's last beat: cap %v, want still 15", caps[0].last())
	}
	advance(2 * time.Second)
	fs[0].Beat(ctx)
	if caps[0].cutCount() != 0 {
		t.Errorf("task-0 cut %d times with no throttle anywhere", caps[0].cutCount())
	}
	if caps[0].last() != 30 || math.Abs(fleet.Share(30, fs[0].Slot().Tasks)-30) > 0 {
		t.Errorf("after task-1's entry expired: cap %v, want 30", caps[0].last())
	}
	// Long dead (10 TTLs), its entries are removed by a live task's beat.
	advance(31 * time.Second)
	fs[0].Beat(ctx)
	fs[0].Beat(ctx)
	item := getFleetItem(t, db, table)
	if item["t_task-1"] != nil || item["x_task-1"] != nil || item["t_task-0"] == nil {
		t.Errorf("after 30 s the dead task's entries remain: %v", item)
	}
}

func TestCutFor(t *testing.T) {
	for _, tc := range []struct {
		name        string
		before, now fleet.Throttles
		want        bool
	}{
		{"nothing new", fleet.Throttles{Own: 1, Others: 5}, fleet.Throttles{Own: 1, Others: 5}, false},
		{"others throttled", fleet.Throttles{Own: 1, Others: 5}, fleet.Throttles{Own: 1, Others: 7}, true},
		{"this task too: it cut already", fleet.Throttles{Own: 1, Others: 5}, fleet.Throttles{Own: 2, Others: 7}, false},
		{"only this task", fleet.Throttles{Own: 1, Others: 5}, fleet.Throttles{Own: 2, Others: 5}, false},
		{"a task left with its count", fleet.Throttles{Own: 1, Others: 5}, fleet.Throttles{Own: 1, Others: 2}, false},
	} {
		if got := tc.before.CutFor(tc.now); got != tc.want {
			t.Errorf("%s: CutFor = %v, want %v", tc.name, got, tc.want)
		}
	}
	item := map[string]types.AttributeValue{"x_a": n(3), "x_b": n(4), "x_me": n(9), "t_a": n(1)}
	if got := fleet.ThrottlesOf(item, "me", 9); got != (fleet.Throttles{Own: 9, Others: 7}) {
		t.Errorf("ThrottlesOf = %+v, want own 9, others 7", got)
	}
}

// On moto: a throttle counted by one task reaches the others through the
// item, and they cut once; the task throttled itself does not cut again.
func TestFleetThrottleSignalOnMoto(t *testing.T) {
	fs, caps := twoTasksOnMoto(t)
	ctx := context.Background()
	fs[0].Beat(ctx)
	fs[1].Beat(ctx)
	fs[0].Throttled()
	fs[0].Beat(ctx) // publishes its count
	fs[1].Beat(ctx) // sees it
	fs[0].Beat(ctx)
	fs[1].Beat(ctx) // nothing new
	if caps[1].cutCount() != 1 || caps[0].cutCount() != 0 {
		t.Errorf("cuts: throttled task %d, other %d; want 0 and 1", caps[0].cutCount(), caps[1].cutCount())
	}
}

func getFleetItem(t *testing.T, db *dynamodb.Client, table string) map[string]types.AttributeValue {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: fleet.Key("client")}}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

type nopLimiter struct{}

func (nopLimiter) Acquire(ctx context.Context) (func(ratelimit.Result), error) {
	return func(ratelimit.Result) {}, ctx.Err()
}

// A task busy at two beats in a row shares with the busy tasks only; an
// idle one (no call since its last beat) counts every task alive.
func TestBusyTasksShareWithTheBusyOnMoto(t *testing.T) {
	fs, caps := twoTasksOnMoto(t)
	ctx := context.Background()
	fs[0].Join(ctx) // joining counts as busy, shares with all
	fs[1].Join(ctx)
	busy := &fleet.Paced{Limiter: nopLimiter{}, Fleet: fs[0]}
	for range fleet.IdleAfter {
		if _, err := busy.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		fs[0].Beat(ctx)
		fs[1].Beat(ctx) // quiet: idle at the IdleAfter-th
	}
	if _, err := busy.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	fs[0].Beat(ctx)
	if caps[0].last() != 10 || caps[1].last() != 5 {
		t.Errorf("busy task's cap %v (want 10: the other is idle), idle task's %v (want 5)", caps[0].last(), caps[1].last())
	}
}

// twoTasksOnMoto is two tasks of one fleet (quota 10/s) on a fresh table.
func twoTasksOnMoto(t *testing.T) ([]*fleet.Fleet, []*capRecorder) {
	t.Helper()
	db, table := fleetTable(t)
	caps := []*capRecorder{{}, {}}
	var fs []*fleet.Fleet
	for i, c := range caps {
		f, err := fleet.New(db, c, fleet.Config{Table: table, Group: "g", Task: fmt.Sprint("t", i), Quota: 10})
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	return fs, caps
}

func TestActivity(t *testing.T) {
	type step struct {
		active, joining, busy, busyOnly bool
	}
	var a fleet.Activity
	for i, s := range []step{
		{joining: true, busy: true},                // joining: busy, shares with all
		{active: true, busy: true, busyOnly: true}, // busy twice: with the busy only
		{busy: true, busyOnly: true},               // a quiet beat is not idle yet
		{busy: true, busyOnly: true},
		{},                         // IdleAfter quiet beats: idle
		{active: true, busy: true}, // busy again: shares with all first
		{active: true, busy: true, busyOnly: true},
	} {
		busy, busyOnly := a.Next(s.active, s.joining)
		if busy != s.busy || busyOnly != s.busyOnly {
			t.Errorf("step %d: Next(%v, %v) = %v, %v; want %v, %v", i, s.active, s.joining, busy, busyOnly, s.busy, s.busyOnly)
		}
	}
}

// A task whose heartbeats failed for long (here: none for a minute) does not
// remove its own entry as stale: a REMOVE and a SET of one attribute would
// fail that heartbeat and every later one.
func TestBeatAfterALongGapOnMoto(t *testing.T) {
	db, table := fleetTable(t)
	now := time.Unix(1_800_000_000, 0)
	obs := &requests{}
	f, err := fleet.New(db, &capRecorder{}, fleet.Config{Table: table, Group: "g", Task: "t0", Quota: 10,
		Now: func() time.Time { return now }, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	f.Beat(context.Background())
	now = now.Add(time.Minute)
	f.Beat(context.Background())
	f.Beat(context.Background())
	if obs.ok != 3 || obs.failed != 0 {
		t.Errorf("heartbeats ok %d, failed %d; want 3 and 0", obs.ok, obs.failed)
	}
}

type requests struct{ ok, failed int }

func (r *requests) Request(_, result string) {
	if result == "ok" {
		r.ok++
	} else {
		r.failed++
	}
}

// fleetTable is a fresh table on the test binary's moto_server.
func fleetTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	m := testenv.StartMoto(t)
	table := fmt.Sprintf("fleet-%d", time.Now().UnixNano())
	if err := m.CreateLedgerTable(context.Background(), table); err != nil {
		t.Fatal(err)
	}
	return m.DynamoDB(), table
}
