package breaker

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Permit is the right to make one call, from Allow; give it back with
// Report, exactly once, whatever happened.
type Permit struct {
	gen   uint64
	probe bool
}

// Probe reports whether the call is a probe of a Cognito judged down.
func (p Permit) Probe() bool { return p.probe }

// Breaker is safe for concurrent use.
type Breaker struct {
	cfg Config

	mu      sync.Mutex
	m       *machine
	changed chan struct{} // closed and replaced when a waiter should look again
}

// New returns a closed Breaker.
func New(cfg Config) *Breaker {
	cfg = cfg.WithDefaults()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	return &Breaker{cfg: cfg, m: newMachine(cfg), changed: make(chan struct{})}
}

// Down reports whether Cognito is judged down now.
func (b *Breaker) Down() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m.down
}

// Suspect reports whether Cognito is judged down or, by the recent calls,
// suspected down (see Config.SuspectShare).
func (b *Breaker) Suspect() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m.suspect(b.cfg.Now())
}

// wake tells every waiter to look again; b.mu is held.
func (b *Breaker) wake() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// Allow returns at once while Cognito is judged up. While it is down, Allow
// waits until this caller may make the next probe (one at a time, at the
// probe interval) or Cognito is judged up again, or ctx ends (its error).
func (b *Breaker) Allow(ctx context.Context) (Permit, error) {
	for {
		b.mu.Lock()
		if !b.m.down {
			p := Permit{gen: b.m.gen}
			b.mu.Unlock()
			return p, nil
		}
		due, wait := b.m.probeDue(b.cfg.Now())
		if due {
			b.m.startProbe()
			p := Permit{gen: b.m.gen, probe: true}
			b.mu.Unlock()
			return p, nil
		}
		if err := b.sleep(ctx, wait); err != nil {
			return Permit{}, err
		}
	}
}

// sleep waits, with b.mu held on entry and released, until the state
// changes, wait passes (0: no timer) or ctx ends.
func (b *Breaker) sleep(ctx context.Context, wait time.Duration) error {
	ch := b.changed
	b.mu.Unlock()
	var timer <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-ch:
	case <-timer:
	}
	return nil
}

// Current reports whether a permit is still good: a probe's always is; a
// plain permit is not once the breaker has tripped since Allow gave it (a
// call that waited for the rate limiter meanwhile should not go out).
func (b *Breaker) Current(p Permit) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return p.probe || p.gen == b.m.gen
}

// Report gives a permit back with what its call said about Cognito (Neutral
// if no call was made).
func (b *Breaker) Report(p Permit, r Result) {
	b.mu.Lock()
	var c *Change
	switch {
	case p.gen != b.m.gen:
		// A call that started before the last change of state: it says
		// nothing about the state now.
	case p.probe:
		c = b.m.probeResult(b.cfg.Now(), r.Evidence, b.cfg.Rand())
		b.wake()
	default:
		c = b.m.record(b.cfg.Now(), r, b.cfg.Rand())
		if c != nil {
			b.wake()
		}
	}
	b.mu.Unlock()
	if c != nil && b.cfg.OnChange != nil {
		b.cfg.OnChange(*c)
	}
}

// WaitReceive returns at once while Cognito is judged up. While it is down
// it waits until it is up again, or, when idle reports that nothing is held
// (so no held job can be the probe), until a probe is due: the job received
// then becomes the probe. It returns ctx's error if ctx ends first.
//
// Idle is looked at again every PollIdle while waiting.
func (b *Breaker) WaitReceive(ctx context.Context, idle func() bool) error {
	for {
		b.mu.Lock()
		if !b.m.down {
			b.mu.Unlock()
			return nil
		}
		due, wait := b.m.probeDue(b.cfg.Now())
		if due && idle() {
			b.mu.Unlock()
			return nil
		}
		if wait <= 0 || wait > PollIdle {
			wait = PollIdle
		}
		if err := b.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// PollIdle is how often WaitReceive looks at idle while Cognito is down.
const PollIdle = 250 * time.Millisecond
