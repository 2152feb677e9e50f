// Package fleet shares one Cognito quota among the tasks of a fleet: each
// task heartbeats into one item of the COOLDOWN_TABLE (an UpdateItem that
// sets its own entry's expiry and returns the whole item), counts the tasks
// alive, and caps its limiter at quota/tasks. The limiter's AIMD adaptation
// to throttling (other callers of the same quota) keeps working under the
// cap. Each heartbeat also carries the task's count of throttled calls: a
// task told of throttles elsewhere in the fleet, none of its own, cuts its
// rate as if throttled, so a fleet adapts to another caller of the quota as
// fast as one process would (with 50 tasks at 1 call a second each, a task
// alone hears of a throttle far too rarely). A task joining waits one
// heartbeat before it starts, so the others have made room, and beats
// again to count those that joined with it; a task leaving
// removes its entry, one that died is dropped once its entry is TTL old, one
// without work says it is idle (Activity), and the others scale their rate
// up at their next heartbeat. Paced spaces the fleet's calls in slots, so
// that a bucket holding only 100 ms of calls is not overrun by bunches.
package fleet

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resend-worker/resend-worker/internal/ledger"
)

// API is the DynamoDB action a fleet uses.
type API interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Capper takes this task's share of the quota and the fleet's throttles
// (ratelimit.Limiter).
type Capper interface {
	SetMax(perSecond float64)
	Throttled()
}

// Config configures a task's membership.
type Config struct {
	Table string  // COOLDOWN_TABLE; required
	Group string  // the fleet's name: tasks of one group share Quota; required
	Task  string  // this task's id; required
	Quota float64 // the account's quota, calls per second (COGNITO_MAX_RPS); required
	// Interval is the heartbeat period; default 1s.
	Interval time.Duration
	// TTL is how long a task's entry lasts without a heartbeat; default 3s.
	// A task that died gives its share back within TTL + Interval.
	TTL time.Duration
	// Timeout bounds one request; default 1s.
	Timeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Observer counts requests (op heartbeat, leave); default none.
	Observer ledger.Observer
	// OnError is told of each failed request; default nothing.
	OnError func(op string, err error)
	// OnChange is told when the number of tasks changes; default nothing.
	OnChange func(tasks int, share float64)
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.TTL <= 0 {
		c.TTL = 3 * c.Interval
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Observer == nil {
		c.Observer = ledger.NopObserver{}
	}
	if c.OnError == nil {
		c.OnError = func(string, error) {}
	}
	if c.OnChange == nil {
		c.OnChange = func(int, float64) {}
	}
	return c
}

func (c Config) validate() error {
	if c.Table == "" || c.Group == "" || c.Task == "" || !(c.Quota > 0) {
		return errors.New("fleet: table, group, task and quota are required")
	}
	return nil
}

// Fleet is one task's membership. Its methods are safe for concurrent use.
type Fleet struct {
	api API
	cfg Config
	cap Capper

	throttles atomic.Uint64 // this task's throttled calls
	calls     atomic.Uint64 // this task's waits for a call (Paced)
	waiting   atomic.Int64  // waits in progress

	mu          sync.Mutex
	slot        Slot
	last        map[string]types.AttributeValue // the item at the last heartbeat
	seen        *Throttles                      // the counts at the last heartbeat
	callsAtBeat uint64
	activity    Activity
}

// New returns a task's membership; it caps c at the task's share.
func New(api API, c Capper, cfg Config) (*Fleet, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Fleet{api: api, cfg: cfg, cap: c, slot: Slot{Tasks: 1}}, nil
}

// Attribute names in the fleet's item: t_<task> is when the task's entry
// lapses (epoch ms; negative if the task made no call in its last
// interval), x_<task> its throttled calls so far.
const (
	taskPrefix     = "t_"
	throttlePrefix = "x_"
)

// Key is the partition key of group's item.
func Key(group string) string { return "fleet#" + group }

// Slot is how many tasks share the quota and this one's place among them,
// as last seen (alone before any heartbeat succeeded).
func (f *Fleet) Slot() Slot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.slot
}

// Join heartbeats once, waits one Interval, so that every other task has
// seen this one and lowered its share before this one calls, and
// heartbeats again, so that this one counts every task that joined during
// that wait: tasks started together (a deployment) each saw only those
// that had beaten before it, and would otherwise start at shares summing
// to more than the quota (Q + Q/2 + Q/3 for three) until their next beat.
// A table that cannot be reached does not stop it: the task runs at the
// whole quota until a heartbeat succeeds, with the limiter's adaptation.
func (f *Fleet) Join(ctx context.Context) {
	f.beat(ctx, true)
	select {
	case <-ctx.Done():
		return
	case <-time.After(f.cfg.Interval):
	}
	f.beat(ctx, true)
}

// Run heartbeats every Interval until ctx ends. Call Leave after the last
// call to Cognito.
func (f *Fleet) Run(ctx context.Context) {
	t := time.NewTicker(f.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.beat(ctx, false)
		}
	}
}

// Beat is one heartbeat: this task's entry set to expire TTL from now,
// entries long expired removed, and the live ones counted.
func (f *Fleet) Beat(ctx context.Context) { f.beat(ctx, false) }

// beat is a heartbeat (see Activity).
func (f *Fleet) beat(ctx context.Context, joining bool) {
	now := f.cfg.Now()
	rctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	names := map[string]string{"#me": taskPrefix + f.cfg.Task, "#thr": throttlePrefix + f.cfg.Task, "#exp": ledger.AttrExpires}
	expr := "SET #me = :alive, #thr = :thr, #exp = :itemexp"
	own := f.throttles.Load()
	f.mu.Lock()
	calls := f.calls.Load()
	busy, busyOnly := f.activity.Next(calls != f.callsAtBeat || f.waiting.Load() > 0, joining)
	f.callsAtBeat = calls
	f.mu.Unlock()
	var stale []string
	for i, name := range f.staleNames(now) {
		alias := "#d" + strconv.Itoa(i)
		names[alias] = name
		stale = append(stale, alias)
	}
	if len(stale) > 0 {
		expr += " REMOVE " + strings.Join(stale, ", ")
	}
	out, err := f.api.UpdateItem(rctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(f.cfg.Table),
		Key:                      map[string]types.AttributeValue{ledger.AttrPK: &types.AttributeValueMemberS{Value: Key(f.cfg.Group)}},
		UpdateExpression:         aws.String(expr),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":alive":   EntryValue(now.Add(f.cfg.TTL), busy),
			":thr":     &types.AttributeValueMemberN{Value: strconv.FormatUint(own, 10)},
			":itemexp": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(time.Hour).Unix(), 10)},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		f.cfg.Observer.Request("heartbeat", ledger.ResultError)
		f.cfg.OnError("heartbeat", err)
		return
	}
	f.cfg.Observer.Request("heartbeat", ledger.ResultOK)
	now2 := ThrottlesOf(out.Attributes, f.cfg.Task, own)
	f.mu.Lock()
	f.last = out.Attributes
	cut := f.seen != nil && f.seen.CutFor(now2)
	f.seen = &now2
	f.mu.Unlock()
	f.apply(SlotOf(out.Attributes, f.cfg.Task, now, busyOnly))
	if cut {
		f.cap.Throttled()
	}
}

// Leave removes this task's entry, for the others to take its share at
// their next heartbeat.
func (f *Fleet) Leave(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.Timeout)
	defer cancel()
	_, err := f.api.UpdateItem(rctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(f.cfg.Table),
		Key:                      map[string]types.AttributeValue{ledger.AttrPK: &types.AttributeValueMemberS{Value: Key(f.cfg.Group)}},
		UpdateExpression:         aws.String("REMOVE #me, #thr"),
		ExpressionAttributeNames: map[string]string{"#me": taskPrefix + f.cfg.Task, "#thr": throttlePrefix + f.cfg.Task},
	})
	if err != nil {
		f.cfg.Observer.Request("leave", ledger.ResultError)
		f.cfg.OnError("leave", err)
		return
	}
	f.cfg.Observer.Request("leave", ledger.ResultOK)
}

func (f *Fleet) apply(s Slot) {
	f.mu.Lock()
	changed := s.Tasks != f.slot.Tasks
	f.slot = s
	f.mu.Unlock()
	share := Share(f.cfg.Quota, s.Tasks)
	f.cap.SetMax(share)
	if changed {
		f.cfg.OnChange(s.Tasks, share)
	}
}

// staleNames are entries of the last item seen that expired more than 10
// TTLs ago: tasks that died without leaving.
func (f *Fleet) staleNames(now time.Time) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for name, v := range f.last {
		if exp, _, ok := entryOf(name, v); ok && name != taskPrefix+f.cfg.Task && now.Sub(exp) > 10*f.cfg.TTL {
			out = append(out, name, throttlePrefix+strings.TrimPrefix(name, taskPrefix))
		}
	}
	sort.Strings(out)
	return out
}

// IdleAfter is how many heartbeats in a row without a call (or a wait for
// one) make a task idle: a moment without work (a slow receive) is not.
const IdleAfter = 3

// Activity is a task's busy or idle state from heartbeat to heartbeat.
type Activity struct {
	quiet   int  // beats in a row without a call
	wasBusy bool // at the last beat
}

// Next takes whether the task called or waited to call since its last beat,
// and whether this is its joining beat. It returns whether its entry says
// busy (it did within IdleAfter beats, or is joining) and whether it shares
// with the busy tasks only: once busy at two beats in a row, when every
// task that got work with it has said so (work arriving at many idle tasks
// at once must not find each counting few others). An idle task counts
// every task alive, so that when work comes it starts at no more than an
// even share.
func (a *Activity) Next(active, joining bool) (busy, busyOnly bool) {
	if active || joining {
		a.quiet = 0
	} else {
		a.quiet++
	}
	busy = a.quiet < IdleAfter
	busyOnly = busy && a.wasBusy && !joining
	a.wasBusy = busy
	return busy, busyOnly
}

// Throttled counts a throttled call of this task, for its heartbeats.
func (f *Fleet) Throttled() { f.throttles.Add(1) }

// Throttles is what a heartbeat tells of throttling: this task's count and
// the sum of the others'.
type Throttles struct{ Own, Others uint64 }

// ThrottlesOf reads the others' counts from item; own is this task's.
func ThrottlesOf(item map[string]types.AttributeValue, me string, own uint64) Throttles {
	t := Throttles{Own: own}
	for name, v := range item {
		if id, ok := strings.CutPrefix(name, throttlePrefix); ok && id != me {
			if nv, ok := v.(*types.AttributeValueMemberN); ok {
				n, _ := strconv.ParseUint(nv.Value, 10, 64)
				t.Others += n
			}
		}
	}
	return t
}

// CutFor reports whether, from the counts at the last heartbeat (t) to
// those at this one (now), the others were throttled and this task was not:
// then the task cuts as if throttled. One throttled itself has cut already.
func (t Throttles) CutFor(now Throttles) bool {
	return now.Others > t.Others && now.Own == t.Own
}

// Share is each task's cap: the quota split evenly.
func Share(quota float64, tasks int) float64 { return quota / float64(max(tasks, 1)) }

// Live counts the tasks of item alive at now, this task always included.
func Live(item map[string]types.AttributeValue, me string, now time.Time) int {
	return SlotOf(item, me, now, false).Tasks
}

// entryOf reads a task's entry: when it lapses and whether the task was
// busy.
func entryOf(name string, v types.AttributeValue) (exp time.Time, busy, ok bool) {
	if !strings.HasPrefix(name, taskPrefix) {
		return time.Time{}, false, false
	}
	nv, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}, false, false
	}
	ms, err := strconv.ParseInt(nv.Value, 10, 64)
	if err != nil {
		return time.Time{}, false, false
	}
	if ms < 0 {
		return time.UnixMilli(-ms), false, true
	}
	return time.UnixMilli(ms), true, true
}

// EntryValue is a task's entry: when it lapses, negative if it was idle.
func EntryValue(exp time.Time, busy bool) types.AttributeValue {
	ms := exp.UnixMilli()
	if !busy {
		ms = -ms
	}
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(ms, 10)}
}
