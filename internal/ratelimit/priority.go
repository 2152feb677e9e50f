package ratelimit

import (
	"context"
	"sync"
)

// Lane is a class of callers of a Priority: interactive callers (a person
// waits for the call) go before bulk ones (replays, backfills).
type Lane int

const (
	// Interactive callers always go first.
	Interactive Lane = iota
	// Bulk callers take a turn only when no interactive caller waits.
	Bulk
	lanes
)

// String is the lane's name: "interactive" or "bulk".
func (l Lane) String() string {
	if l == Bulk {
		return "bulk"
	}
	return "interactive"
}

// Pacer is what a Priority orders its callers in front of (a *Limiter).
type Pacer interface {
	Acquire(ctx context.Context) (report func(Result), err error)
}

// Priority shares one Pacer between lanes of callers, strictly by lane: a
// caller waits its turn, then the Pacer's wait, one caller at a time, and a
// turn that ends goes to the longest-waiting interactive caller if there is
// one, else to the longest-waiting bulk caller. An interactive caller thus
// waits at most for the one call whose turn is under way (its token, 1/rate)
// however many bulk callers queue, and with no interactive caller waiting bulk
// callers have every turn: the whole rate.
//
// Only callers that go through the Priority are ordered: wrap the Pacer once
// and hand each lane its LaneLimiter.
type Priority struct {
	pacer Pacer

	mu     sync.Mutex
	busy   bool                   // a caller has the turn
	queues [lanes][]chan struct{} // waiting callers by lane, oldest first
}

// NewPriority orders the callers of p by lane.
func NewPriority(p Pacer) *Priority { return &Priority{pacer: p} }

// Lane is the limiter of one lane's callers: a Pacer itself.
func (p *Priority) Lane(l Lane) *LaneLimiter {
	if l < 0 || l >= lanes {
		l = Bulk
	}
	return &LaneLimiter{p: p, lane: l}
}

// Waiting is how many callers of lane l wait for a turn now.
func (p *Priority) Waiting(l Lane) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queues[l])
}

// acquire takes the turn for a caller of lane l, or returns ctx's error.
func (p *Priority) acquire(ctx context.Context, l Lane) error {
	p.mu.Lock()
	ahead := len(p.queues[Interactive])
	if l == Bulk {
		ahead += len(p.queues[Bulk])
	}
	if !p.busy && ahead == 0 {
		p.busy = true
		p.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	p.queues[l] = append(p.queues[l], ch)
	p.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	for i, w := range p.queues[l] {
		if w == ch {
			p.queues[l] = append(p.queues[l][:i], p.queues[l][i+1:]...)
			p.mu.Unlock()
			return ctx.Err()
		}
	}
	p.mu.Unlock()
	// The turn was handed over as ctx ended: pass it on.
	p.release()
	return ctx.Err()
}

// release hands the turn to the next caller by lane, or frees it.
func (p *Priority) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.queues {
		if q := p.queues[l]; len(q) > 0 {
			p.queues[l] = q[1:]
			close(q[0])
			return
		}
	}
	p.busy = false
}

// LaneLimiter is one lane's view of a Priority; safe for concurrent use.
type LaneLimiter struct {
	p    *Priority
	lane Lane
}

// Acquire blocks until a call of this lane may start or ctx ends, and
// returns the shared Pacer's report function for the call (Limiter.Acquire).
func (l *LaneLimiter) Acquire(ctx context.Context) (report func(Result), err error) {
	if err := l.p.acquire(ctx, l.lane); err != nil {
		return nil, err
	}
	defer l.p.release()
	return l.p.pacer.Acquire(ctx)
}
