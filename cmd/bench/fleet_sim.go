package main

import (
	"container/heap"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resend-worker/resend-worker/internal/fleet"
	"github.com/resend-worker/resend-worker/internal/ratelimit"
)

// The fleet simulation runs many limiter instances past what this machine
// can run as processes: each simulated task has a real ratelimit.Limiter
// (ratelimit.Tuned, its clock the simulated one) capped by the real
// fleet.Share of the tasks that fleet.Live counts in a simulated fleet item,
// against a simulated Cognito token bucket. What is modelled: the pacing of
// Limiter.Wait (x/time/rate with burst 1 and one reservation at a time: it
// reads the wall clock, so it cannot run on a simulated one), the heartbeat
// store (a map instead of DynamoDB, each task's beat at its own phase) and
// the network (latency with jitter).

// simSpec is one simulated row.
type simSpec struct {
	name        string
	quota       float64
	window      time.Duration // the bucket's burst: quota × window tokens
	tasks       int           // at the start
	join, leave int           // tasks added at 1/3 of the ideal drain, killed at 2/3
	ideal       time.Duration // the drain's ideal length: jobs = quota × ideal
	latency     time.Duration // one call's round trip, plus up to jitter
	jitter      time.Duration
	interval    time.Duration // heartbeat
	ttl         time.Duration
	seed        uint64
	noSlots     bool          // each task paces on its own (fleet.Paced not used)
	other       float64       // another caller of the quota: Poisson calls at this share of it
	noSignal    bool          // tasks do not cut on the others' throttles
	idleFor     time.Duration // the backlog arrives this late: the fleet idle before
}

// simResult is what a row prints.
type simResult struct {
	spec          simSpec
	jobs, calls   int
	throttled     int
	drain         time.Duration
	takeBack      time.Duration // after the kill, until the fleet's rate is back to 90 % of its level before
	overQuotaPeak float64       // highest 1 s issue rate ÷ quota
	otherShare    string        // the other caller's throttled share
}

type simEvent struct {
	at   time.Duration
	seq  int
	kind int
	task int
}

const (
	evIssue = iota
	evArrive
	evReturn
	evBeat
	evJoin
	evKill
	evOther
	evWork
)

type simQueue []simEvent

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// simTask is one worker process.
type simTask struct {
	id      string
	lim     *ratelimit.Limiter
	fl      *fleetCap
	alive   bool
	started bool // joined: after its first beat and one interval
	// x/time/rate with burst 1: tokens in [0,1] at time last.
	tokens               float64
	last                 time.Duration
	pending              bool // an evIssue is scheduled
	slot                 fleet.Slot
	issued, issuedAtBeat int // waits (fleet.Paced counts them) and at the last beat
	activity             fleet.Activity
	thr                  uint64           // throttled calls (fleet.Paced counts them)
	seen                 *fleet.Throttles // at the last beat
	lastAt               time.Time        // the last slot taken
	// calls on their way: arrival outcome by call, in order.
	inflight []bool
}

// fleetCap is the task's view of the fleet: it applies fleet.Share.
type fleetCap struct {
	lim   *ratelimit.Limiter
	quota float64
	tasks int
}

func (f *fleetCap) seen(tasks int) {
	f.tasks = tasks
	f.lim.SetMax(fleet.Share(f.quota, tasks))
}

type sim struct {
	spec    simSpec
	now     time.Duration
	epoch   time.Time
	q       simQueue
	seq     int
	rng     *rand.Rand
	tasks   []*simTask
	item    map[string]types.AttributeValue // the fleet item
	backlog int                             // jobs not yet issued or to retry
	done    int
	jobs    int
	// bucket
	tokens float64
	blast  time.Duration
	// counts
	calls, throttled int
	otherCalls       int
	otherThrottled   int
	issues           []time.Duration
}

func (s *sim) clock() time.Time { return s.epoch.Add(s.now) }

func (s *sim) push(at time.Duration, kind, task int) {
	s.seq++
	heap.Push(&s.q, simEvent{at: at, seq: s.seq, kind: kind, task: task})
}

func (s *sim) addTask() int {
	i := len(s.tasks)
	cfg := ratelimit.Tuned(s.spec.quota)
	cfg.Now = s.clock
	lim := ratelimit.New(cfg)
	t := &simTask{id: "task" + strconv.Itoa(i), lim: lim, fl: &fleetCap{lim: lim, quota: s.spec.quota}, alive: true, tokens: 1, last: s.now}
	s.tasks = append(s.tasks, t)
	return i
}

// beat is one heartbeat: the entry refreshed, the live tasks counted by the
// fleet package's own Live and Share.
func (s *sim) beat(i int, joining bool) {
	t := s.tasks[i]
	if !t.alive {
		return
	}
	busy, busyOnly := t.activity.Next(t.issued != t.issuedAtBeat || t.pending, joining) // fleet.Paced: a wait in progress is busy too
	t.issuedAtBeat = t.issued
	s.item["t_"+t.id] = fleet.EntryValue(s.clock().Add(s.spec.ttl), busy)
	s.item["x_"+t.id] = &types.AttributeValueMemberN{Value: strconv.FormatUint(t.thr, 10)}
	t.slot = fleet.SlotOf(s.item, t.id, s.clock(), busyOnly)
	now := fleet.ThrottlesOf(s.item, t.id, t.thr)
	if t.seen != nil && t.seen.CutFor(now) && !s.spec.noSignal {
		t.lim.Throttled()
	}
	t.seen = &now
	t.fl.seen(t.slot.Tasks)
	s.push(s.now+s.spec.interval, evBeat, i)
}

// wantIssue schedules the task's next call when it has work: the next
// token of its limiter (one reservation at a time, burst 1).
func (s *sim) wantIssue(i int) {
	t := s.tasks[i]
	if !t.alive || !t.started || t.pending || s.backlog == 0 {
		return
	}
	r := t.lim.Rate()
	t.tokens = math.Min(1, t.tokens+r*(s.now-t.last).Seconds())
	t.last = s.now
	wait := time.Duration(0)
	if t.tokens < 1 {
		wait = time.Duration((1 - t.tokens) / r * float64(time.Second))
	}
	t.tokens--
	t.pending = true
	if !s.spec.noSlots { // fleet.Paced: the next slot of this task not taken
		from := s.clock().Add(wait)
		if !from.After(t.lastAt) {
			from = t.lastAt.Add(time.Nanosecond)
		}
		t.lastAt = fleet.NextSlot(from, s.spec.quota, t.slot)
		wait = t.lastAt.Sub(s.clock())
	}
	s.push(s.now+wait, evIssue, i)
}

func (s *sim) bucketAllows() bool {
	capacity := math.Max(1, s.spec.quota*s.spec.window.Seconds())
	s.tokens = math.Min(capacity, s.tokens+s.spec.quota*(s.now-s.blast).Seconds())
	s.blast = s.now
	if s.tokens >= 1-1e-9 {
		s.tokens--
		return true
	}
	return false
}

func (s *sim) run() simResult {
	sp := s.spec
	s.jobs = int(sp.quota * (1 - sp.other) * sp.ideal.Seconds())
	s.backlog = s.jobs
	if sp.idleFor > 0 {
		s.backlog = 0
		s.push(sp.idleFor, evWork, 0)
	}
	s.tokens = math.Max(1, sp.quota*sp.window.Seconds())
	for range sp.tasks {
		i := s.addTask()
		s.push(time.Duration(s.rng.Int64N(int64(sp.interval))), evJoin, i)
	}
	for range sp.join {
		i := s.addTask()
		s.tasks[i].alive = false
		s.push(sp.ideal/3, evJoin, i)
	}
	if sp.other > 0 {
		s.push(0, evOther, 0)
	}
	killAt := time.Duration(0)
	if sp.leave > 0 {
		killAt = 2 * sp.ideal / 3
		for k := range sp.leave {
			s.push(killAt, evKill, k)
		}
	}
	for s.q.Len() > 0 && s.done < s.jobs {
		e := heap.Pop(&s.q).(simEvent)
		s.now = e.at
		t := s.tasks[e.task]
		switch e.kind {
		case evJoin:
			t.alive, t.last = true, s.now
			s.beat(e.task, true) // the first heartbeat, then one interval before calling
			s.push(s.now+sp.interval, evIssue, e.task)
			t.pending = true
		case evBeat:
			s.beat(e.task, !t.started) // fleet.Join's second beat, right before the first call, is a joining one
		case evWork:
			s.backlog = s.jobs
			s.reschedule()
		case evOther:
			s.otherCalls++
			if !s.bucketAllows() {
				s.otherThrottled++
			}
			gap := s.rng.ExpFloat64() / (sp.other * sp.quota)
			s.push(s.now+time.Duration(gap*float64(time.Second)), evOther, 0)
		case evKill:
			t.alive = false // kill -9: no Leave; its entry expires after the TTL
		case evIssue:
			t.pending = false
			if !t.alive {
				continue
			}
			if !t.started {
				t.started = true
				s.wantIssue(e.task)
				continue
			}
			if s.backlog == 0 {
				continue
			}
			s.backlog--
			s.calls++
			t.issued++
			s.issues = append(s.issues, s.now)
			lat := sp.latency + time.Duration(s.rng.Int64N(int64(sp.jitter)+1))
			s.push(s.now+lat/2, evArrive, e.task)
			s.wantIssue(e.task)
		case evArrive:
			ok := s.bucketAllows()
			t.inflight = append(t.inflight, ok)
			s.push(s.now+sp.latency/2, evReturn, e.task)
		case evReturn:
			ok := t.inflight[0]
			t.inflight = t.inflight[1:]
			if !t.alive {
				s.backlog++ // the job comes back to the queue (a dead task's message)
				s.reschedule()
				continue
			}
			if ok {
				t.lim.Succeeded()
				s.done++
			} else {
				s.throttled++
				t.thr++
				t.lim.Throttled()
				s.backlog++ // retried under the limiter
				s.reschedule()
			}
		}
	}
	res := simResult{spec: sp, jobs: s.jobs, calls: s.calls, throttled: s.throttled, drain: s.now - sp.idleFor}
	res.takeBack, res.overQuotaPeak = s.rates(killAt)
	res.otherShare = "—"
	if s.otherCalls > 0 {
		res.otherShare = fmt.Sprintf("%.2f %%", 100*float64(s.otherThrottled)/float64(s.otherCalls))
	}
	return res
}

// reschedule wakes idle tasks when work comes back.
func (s *sim) reschedule() {
	for i := range s.tasks {
		s.wantIssue(i)
	}
}

// rates reads the issue times: the peak of the 1 s rate ÷ quota, and after
// killAt how long until the 1 s rate is back to 90 % of its mean over the
// 5 s before.
func (s *sim) rates(killAt time.Duration) (takeBack time.Duration, peak float64) {
	sort.Slice(s.issues, func(i, j int) bool { return s.issues[i] < s.issues[j] })
	count := func(from, to time.Duration) int {
		a := sort.Search(len(s.issues), func(i int) bool { return s.issues[i] >= from })
		b := sort.Search(len(s.issues), func(i int) bool { return s.issues[i] >= to })
		return b - a
	}
	step := 100 * time.Millisecond
	for t := time.Second; t <= s.now; t += step {
		peak = math.Max(peak, float64(count(t-time.Second, t))/s.spec.quota)
	}
	if killAt == 0 {
		return 0, peak
	}
	before := float64(count(killAt-5*time.Second, killAt)) / 5
	for t := killAt + time.Second; t <= s.now; t += step {
		if float64(count(t-time.Second, t)) >= 0.9*before {
			return t - killAt, peak
		}
	}
	return -1, peak
}

func runSim(sp simSpec) simResult {
	s := &sim{spec: sp, epoch: time.Unix(1_800_000_000, 0), rng: rand.New(rand.NewPCG(sp.seed, 7)), item: map[string]types.AttributeValue{}}
	return s.run()
}

// fleetSimRows is the table's rows: 50 tasks, quotas 50 and 5,000 per
// second, bursts of 1 s and 100 ms, steady and with a scale-out (10 tasks
// added at a third of the drain) and scale-in (10 killed at two thirds).
func fleetSimRows() []simSpec {
	var out []simSpec
	for _, q := range []float64{50, 5000} {
		for _, w := range []time.Duration{time.Second, 100 * time.Millisecond} {
			base := simSpec{quota: q, window: w, tasks: 50, ideal: 60 * time.Second, latency: 50 * time.Millisecond,
				jitter: 20 * time.Millisecond, interval: time.Second, ttl: 3 * time.Second, seed: 1}
			steady := base
			steady.name = fmt.Sprintf("50 tasks, Q=%g/s, burst %s", q, w)
			scaled := base
			scaled.tasks, scaled.join, scaled.leave = 40, 10, 10
			scaled.name = fmt.Sprintf("40 +10 −10 tasks, Q=%g/s, burst %s", q, w)
			out = append(out, steady, scaled)
			if q == 50 && w == time.Second || q == 5000 && w < time.Second {
				shared := steady
				shared.other = 0.3
				shared.name += ", another caller at 0.3 Q"
				alone := shared
				alone.noSignal = true
				alone.name += ", no fleet throttle signal"
				out = append(out, shared, alone)
			}
			if w < time.Second {
				idle := steady
				idle.idleFor = 10 * time.Second
				idle.name += ", idle 10 s then the backlog"
				out = append(out, idle)
				free := steady
				free.noSlots = true
				free.name += ", no slots"
				out = append(out, free)
			}
		}
	}
	return out
}

func printFleetSim(w io.Writer) {
	fmt.Fprintln(w, "\nFleet simulation: real ratelimit.Limiter and fleet.Share/SlotOf/NextSlot/ThrottlesOf per task, simulated clock, L=50 ms + 0–20 ms, heartbeat 1 s, TTL 3 s, 60 s ideal drain")
	fmt.Fprintln(w, "(with another caller, N/Q is the fleet's jobs over what the other leaves, 0.7 Q; throttled is the fleet's calls' share; «no slots» and «no fleet throttle signal» leave one mechanism out)")
	fmt.Fprintln(w, "\n| row | jobs | calls | drain ÷ N/Q | throttled | peak 1 s rate ÷ Q | share taken back after the kill | other caller throttled |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, sp := range fleetSimRows() {
		r := runSim(sp)
		back := "—"
		if r.takeBack > 0 {
			back = fmt.Sprintf("%.1f s", r.takeBack.Seconds())
		} else if r.takeBack < 0 {
			back = "never"
		}
		fmt.Fprintf(w, "| %s | %d | %d | %.3f | %.2f %% | %.2f | %s | %s |\n", sp.name, r.jobs, r.calls,
			r.drain.Seconds()/sp.ideal.Seconds(), 100*float64(r.throttled)/float64(max(r.calls, 1)), r.overQuotaPeak, back, r.otherShare)
	}
}
