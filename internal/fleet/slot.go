package fleet

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resend-worker/resend-worker/internal/ratelimit"
)

// Slots: a share of the quota alone keeps the fleet's calls per second
// under it, but N tasks pacing on their own clocks call at random phases,
// and Cognito's bucket may hold only 100 ms of calls: then bunches of calls
// from many tasks are throttled (7 % of calls in the simulation of 50 tasks
// at Q=50/s). So each task calls only in its own slots: the fleet's calls
// are spaced 1/quota apart on the wall clock (tasks' clocks agree to well
// under a millisecond with NTP), and task i of n takes every n-th slot.

// Slot is this task's place: n tasks share the quota, this one at index
// (0-based, by task id).
type Slot struct{ Tasks, Index int }

// SlotOf is the place of task me among the tasks of item alive at now; with
// busyOnly, among those that called Cognito in their last interval. A busy
// task shares with the busy ones only (a task whose queue ran dry gives its
// share to those still draining); an idle one counts every task alive, so
// that when work comes it starts at no more than an even share, until its
// next heartbeat counts it busy.
func SlotOf(item map[string]types.AttributeValue, me string, now time.Time, busyOnly bool) Slot {
	ids := []string{me}
	for name, v := range item {
		if exp, busy, ok := entryOf(name, v); ok && name != taskPrefix+me && !exp.Before(now) && (busy || !busyOnly) {
			ids = append(ids, strings.TrimPrefix(name, taskPrefix))
		}
	}
	sort.Strings(ids)
	return Slot{Tasks: len(ids), Index: sort.SearchStrings(ids, me)}
}

// NextSlot is the first time at or after t at which the task in slot s may
// call: the fleet's calls spaced 1/quota apart, this task's every Tasks-th.
func NextSlot(t time.Time, quota float64, s Slot) time.Time {
	if s.Tasks <= 1 || !(quota > 0) {
		return t
	}
	spacing := int64(float64(time.Second) / quota)
	period := spacing * int64(s.Tasks)
	offset := spacing * int64(s.Index%s.Tasks)
	ns := t.UnixNano() - offset
	k := ns / period
	if k*period < ns {
		k++
	}
	return time.Unix(0, k*period+offset)
}

// Limiter is what Paced wraps (ratelimit.Limiter).
type Limiter interface {
	Acquire(ctx context.Context) (report func(ratelimit.Result), err error)
}

// Paced is a limiter whose calls wait for this task's next free slot. It
// adds at most one period (tasks/quota) to a call, half that on average.
type Paced struct {
	Limiter Limiter
	Fleet   *Fleet

	mu   sync.Mutex
	last time.Time // the last slot taken
}

// Acquire waits for the limiter, then for a slot no other call of this task
// has taken. The report it returns also counts a throttle for the fleet; a
// wait for the slot that ctx ends reports the call as not made (Failed).
func (p *Paced) Acquire(ctx context.Context) (func(ratelimit.Result), error) {
	p.Fleet.calls.Add(1)
	p.Fleet.waiting.Add(1)
	defer p.Fleet.waiting.Add(-1)
	inner, err := p.Limiter.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	report := func(r ratelimit.Result) {
		if r == ratelimit.Throttled {
			p.Fleet.Throttled()
		}
		inner(r)
	}
	if err := p.waitSlot(ctx); err != nil {
		inner(ratelimit.Failed)
		return nil, err
	}
	return report, nil
}

// waitSlot waits for this task's next slot not taken by another call.
func (p *Paced) waitSlot(ctx context.Context) error {
	s := p.Fleet.Slot()
	if s.Tasks <= 1 {
		return nil
	}
	p.mu.Lock()
	from := time.Now()
	if !from.After(p.last) {
		from = p.last.Add(time.Nanosecond)
	}
	at := NextSlot(from, p.Fleet.cfg.Quota, s)
	p.last = at
	p.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
