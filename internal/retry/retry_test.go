package retry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/resend-worker/resend-worker/internal/retry"
)

var policy = retry.Policy{
	InitialInterval:     100 * time.Millisecond,
	MaxInterval:         1 * time.Second,
	MaxElapsed:          5 * time.Second,
	RandomizationFactor: 0.5,
}

func TestDecide(t *testing.T) {
	const almostOne = 0.999999
	ms := time.Millisecond
	tests := []struct {
		name    string
		p       retry.Policy
		attempt int
		elapsed time.Duration
		class   retry.Class
		jitter  float64
		want    retry.Decision
		// wantLo/wantHi check a range instead of an exact wait (for jitter near 1).
		wantLo, wantHi time.Duration
	}{
		{name: "first wait, middle jitter", p: policy, attempt: 1, jitter: 0.5, want: retry.Decision{Wait: 100 * ms}},
		{name: "doubles: attempt 2", p: policy, attempt: 2, jitter: 0.5, want: retry.Decision{Wait: 200 * ms}},
		{name: "doubles: attempt 3", p: policy, attempt: 3, jitter: 0.5, want: retry.Decision{Wait: 400 * ms}},
		{name: "doubles: attempt 4", p: policy, attempt: 4, jitter: 0.5, want: retry.Decision{Wait: 800 * ms}},
		{name: "capped at MaxInterval", p: policy, attempt: 5, jitter: 0.5, want: retry.Decision{Wait: time.Second}},
		{name: "capped far out", p: policy, attempt: 60, jitter: 0.5, want: retry.Decision{Wait: time.Second}},
		{name: "huge attempt does not overflow", p: policy, attempt: 5000, jitter: 0.5, want: retry.Decision{Wait: time.Second}},
		{name: "attempt 0 counts as 1", p: policy, attempt: 0, jitter: 0.5, want: retry.Decision{Wait: 100 * ms}},
		{name: "jitter 0: lower bound", p: policy, attempt: 1, jitter: 0, want: retry.Decision{Wait: 50 * ms}},
		{name: "jitter 0 at the cap: half the cap", p: policy, attempt: 10, jitter: 0, want: retry.Decision{Wait: 500 * ms}},
		{name: "jitter ~1: upper bound", p: policy, attempt: 1, jitter: almostOne, wantLo: 149 * ms, wantHi: 150 * ms},
		{name: "jitter ~1 at the cap: never above MaxInterval", p: policy, attempt: 5, jitter: almostOne, want: retry.Decision{Wait: time.Second}},
		{name: "jitter ~1 just below the cap", p: policy, attempt: 4, jitter: almostOne, want: retry.Decision{Wait: time.Second}},
		{name: "no jitter factor", p: retry.Policy{InitialInterval: 100 * ms, MaxInterval: time.Second, MaxElapsed: 5 * time.Second, RandomizationFactor: 1e-12}, attempt: 3, jitter: 0.9, wantLo: 399 * ms, wantHi: 401 * ms},

		{name: "give up: elapsed = MaxElapsed", p: policy, attempt: 1, elapsed: 5 * time.Second, jitter: 0.5, want: retry.Decision{GiveUp: true}},
		{name: "give up: elapsed > MaxElapsed", p: policy, attempt: 1, elapsed: 6 * time.Second, jitter: 0.5, want: retry.Decision{GiveUp: true}},
		{name: "give up: elapsed+wait > MaxElapsed", p: policy, attempt: 5, elapsed: 4*time.Second + 1, jitter: 0.5, want: retry.Decision{GiveUp: true}},
		{name: "elapsed+wait = MaxElapsed still waits", p: policy, attempt: 5, elapsed: 4 * time.Second, jitter: 0.5, want: retry.Decision{Wait: time.Second}},
		{name: "jitter decides the budget: low jitter fits", p: policy, attempt: 5, elapsed: 4*time.Second + 400*ms, jitter: 0, want: retry.Decision{Wait: 500 * ms}},
		{name: "jitter decides the budget: middle jitter does not", p: policy, attempt: 5, elapsed: 4*time.Second + 400*ms, jitter: 0.5, want: retry.Decision{GiveUp: true}},

		{name: "throttled: no wait of its own", p: policy, attempt: 7, elapsed: time.Second, class: retry.Throttled, jitter: 0.9, want: retry.Decision{}},
		{name: "throttled: budget still counts", p: policy, attempt: 1, elapsed: 5 * time.Second, class: retry.Throttled, jitter: 0.5, want: retry.Decision{GiveUp: true}},
		{name: "throttled near the end of the budget", p: policy, attempt: 40, elapsed: 5*time.Second - 1, class: retry.Throttled, jitter: 0.5, want: retry.Decision{}},
		{name: "permanent: give up at once", p: policy, attempt: 1, class: retry.Permanent, jitter: 0.5, want: retry.Decision{GiveUp: true}},
		{name: "defaults: 200ms first", p: retry.Policy{}.WithDefaults(), attempt: 1, jitter: 0.5, want: retry.Decision{Wait: 200 * ms}},
		{name: "defaults: 5s cap", p: retry.Policy{}.WithDefaults(), attempt: 12, jitter: 0.5, want: retry.Decision{Wait: 5 * time.Second}},
		{name: "defaults: 20s budget", p: retry.Policy{}.WithDefaults(), attempt: 1, elapsed: 20 * time.Second, jitter: 0.5, want: retry.Decision{GiveUp: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.Decide(tt.attempt, tt.elapsed, tt.class, tt.jitter)
			if tt.wantHi > 0 {
				if got.GiveUp || got.Wait < tt.wantLo || got.Wait > tt.wantHi {
					t.Fatalf("Decide = %+v, want a wait in [%v, %v]", got, tt.wantLo, tt.wantHi)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDecideJitterBounds sweeps jitter over [0,1): every wait stays within
// [w(1-f), min(w(1+f), MaxInterval)].
func TestDecideJitterBounds(t *testing.T) {
	for attempt := 1; attempt <= 8; attempt++ {
		w := min(policy.InitialInterval<<(attempt-1), policy.MaxInterval)
		lo := time.Duration(float64(w) * 0.5)
		hi := min(time.Duration(float64(w)*1.5), policy.MaxInterval)
		for i := 0; i < 100; i++ {
			j := float64(i) / 100
			d := policy.Decide(attempt, 0, retry.Transient, j)
			if d.GiveUp || d.Wait < lo || d.Wait > hi {
				t.Fatalf("attempt %d jitter %v: %+v outside [%v, %v]", attempt, j, d, lo, hi)
			}
		}
	}
}

func TestRequeueDelay(t *testing.T) {
	tests := []struct {
		base  time.Duration
		count int
		want  time.Duration
	}{
		{30 * time.Second, 1, 30 * time.Second},
		{30 * time.Second, 2, 60 * time.Second},
		{30 * time.Second, 3, 120 * time.Second},
		{30 * time.Second, 4, 240 * time.Second},
		{30 * time.Second, 5, 480 * time.Second},
		{30 * time.Second, 6, 15 * time.Minute}, // 960s capped
		{30 * time.Second, 7, 15 * time.Minute},
		{30 * time.Second, 1000, 15 * time.Minute},
		{30 * time.Second, 0, 30 * time.Second},
		{30 * time.Second, -3, 30 * time.Second},
		{0, 4, 0},
		{time.Second, 10, 512 * time.Second},
		{20 * time.Minute, 1, 15 * time.Minute},
		{15 * time.Minute, 2, 15 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v_x%d", tt.base, tt.count), func(t *testing.T) {
			if got := retry.RequeueDelay(tt.base, tt.count); got != tt.want {
				t.Fatalf("RequeueDelay(%v, %d) = %v, want %v", tt.base, tt.count, got, tt.want)
			}
		})
	}
}

// fakeClock is a backoff.Clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeTimer fires at once and moves the clock by the duration asked for. It
// records every wait. If onStart returns false the timer never fires.
type fakeTimer struct {
	clock   *fakeClock
	c       chan time.Time
	waits   []time.Duration
	onStart func(n int) bool
}

func (t *fakeTimer) Start(d time.Duration) {
	t.waits = append(t.waits, d)
	if t.onStart != nil && !t.onStart(len(t.waits)) {
		return
	}
	t.clock.Advance(d)
	select {
	case t.c <- t.clock.Now():
	default:
	}
}

func (t *fakeTimer) Stop()                 {}
func (t *fakeTimer) C() <-chan time.Time   { return t.c }
func newFakeTimer(c *fakeClock) *fakeTimer { return &fakeTimer{clock: c, c: make(chan time.Time, 1)} }

var (
	errTransient = errors.New("transient")
	errThrottled = errors.New("throttled")
	errPermanent = errors.New("permanent")
)

func classify(err error) retry.Class {
	switch {
	case errors.Is(err, errPermanent):
		return retry.Permanent
	case errors.Is(err, errThrottled):
		return retry.Throttled
	}
	return retry.Transient
}

// jitters returns a jitter source cycling through vals.
func jitters(vals ...float64) func() float64 {
	i := 0
	return func() float64 { v := vals[i%len(vals)]; i++; return v }
}

func TestRetrierDo(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		// errs are the results of the calls in order; past the end, the last repeats.
		errs []error
		// opTakes is how long each call takes on the fake clock.
		opTakes      time.Duration
		jitter       []float64
		wantAttempts int
		wantErr      error
		wantWaits    []time.Duration
	}{
		{name: "success first time", errs: []error{nil}, jitter: []float64{0.5}, wantAttempts: 1},
		{
			name: "success after 3 transient failures", errs: []error{errTransient, errTransient, errTransient, nil},
			jitter: []float64{0.5}, wantAttempts: 4, wantWaits: []time.Duration{100 * ms, 200 * ms, 400 * ms},
		},
		{
			name: "jitter follows the source", errs: []error{errTransient, errTransient, errTransient, nil},
			jitter: []float64{0, 0.999999, 0.5}, wantAttempts: 4,
			wantWaits: []time.Duration{50 * ms, 299999800 * time.Nanosecond, 400 * ms},
		},
		{name: "permanent stops after one call", errs: []error{errPermanent}, jitter: []float64{0.5}, wantAttempts: 1, wantErr: errPermanent},
		{name: "permanent after transient", errs: []error{errTransient, errPermanent}, jitter: []float64{0.5}, wantAttempts: 2, wantErr: errPermanent, wantWaits: []time.Duration{100 * ms}},
		{
			// 100+200+400+800 = 1.5s, then 1s waits: 2.5, 3.5, 4.5s; a 1s
			// wait at 4.5s would pass 5s, so the 8th call is the last.
			name: "budget exhausted", errs: []error{errTransient}, jitter: []float64{0.5}, wantAttempts: 8, wantErr: errTransient,
			wantWaits: []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second, time.Second},
		},
		{
			// Each call takes 300ms: calls start at 0, .4, .9, 1.6, 2.7, 4.0;
			// after the 6th (ends 4.3s) a 1s wait would pass 5s.
			name: "budget counts the calls' own time", errs: []error{errTransient}, opTakes: 300 * ms, jitter: []float64{0.5}, wantAttempts: 6, wantErr: errTransient,
			wantWaits: []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second},
		},
		{
			// Throttled calls wait 0 but each spends 1s (in the limiter):
			// calls at 0..4s; elapsed 5s after the 5th: give up.
			name: "throttled: no waits, budget still spent", errs: []error{errThrottled}, opTakes: time.Second, jitter: []float64{0.5}, wantAttempts: 5, wantErr: errThrottled,
			wantWaits: []time.Duration{0, 0, 0, 0},
		},
		{
			name: "throttled then success", errs: []error{errThrottled, errThrottled, nil}, jitter: []float64{0.5}, wantAttempts: 3,
			wantWaits: []time.Duration{0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			timer := newFakeTimer(clock)
			r := &retry.Retrier{
				Policy:   policy,
				Classify: classify,
				Clock:    clock,
				NewTimer: func() backoff.Timer { return timer },
				Jitter:   jitters(tt.jitter...),
			}
			var seen []int
			attempts, err := r.Do(context.Background(), func(ctx context.Context, attempt int) error {
				seen = append(seen, attempt)
				clock.Advance(tt.opTakes)
				return tt.errs[min(attempt-1, len(tt.errs)-1)]
			})
			if attempts != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", attempts, tt.wantAttempts)
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			for i, a := range seen {
				if a != i+1 {
					t.Errorf("call %d was told attempt %d", i+1, a)
				}
			}
			if fmt.Sprint(timer.waits) != fmt.Sprint(tt.wantWaits) {
				t.Errorf("waits = %v, want %v", timer.waits, tt.wantWaits)
			}
		})
	}
}

// TestRetrierWaitsMatchDecide replays the loop against Policy.Decide with the
// same jitter and elapsed times.
func TestRetrierWaitsMatchDecide(t *testing.T) {
	p := retry.Policy{InitialInterval: 30 * time.Millisecond, MaxInterval: 700 * time.Millisecond, MaxElapsed: 4 * time.Second, RandomizationFactor: 0.3}
	js := []float64{0.1, 0.9, 0.4, 0.0, 0.7, 0.95, 0.2}
	clock := newFakeClock()
	timer := newFakeTimer(clock)
	r := &retry.Retrier{Policy: p, Clock: clock, NewTimer: func() backoff.Timer { return timer }, Jitter: jitters(js...)}
	attempts, err := r.Do(context.Background(), func(context.Context, int) error {
		clock.Advance(17 * time.Millisecond)
		return errTransient
	})
	if !errors.Is(err, errTransient) {
		t.Fatalf("err = %v", err)
	}
	var want []time.Duration
	elapsed := time.Duration(0)
	for a := 1; ; a++ {
		elapsed += 17 * time.Millisecond
		d := p.Decide(a, elapsed, retry.Transient, js[(a-1)%len(js)])
		if d.GiveUp {
			if attempts != a {
				t.Errorf("attempts = %d, Decide gives up after %d", attempts, a)
			}
			break
		}
		want = append(want, d.Wait)
		elapsed += d.Wait
	}
	if fmt.Sprint(timer.waits) != fmt.Sprint(want) {
		t.Errorf("waits = %v, Decide says %v", timer.waits, want)
	}
}

func TestRetrierContext(t *testing.T) {
	t.Run("cancelled during a wait returns the last call's error", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		clock := newFakeClock()
		timer := newFakeTimer(clock)
		// The third wait never fires: ctx ends during it.
		timer.onStart = func(n int) bool {
			if n == 3 {
				cancel()
				return false
			}
			return true
		}
		r := &retry.Retrier{Policy: policy, Clock: clock, NewTimer: func() backoff.Timer { return timer }, Jitter: jitters(0.5)}
		attempts, err := r.Do(ctx, func(_ context.Context, attempt int) error {
			return fmt.Errorf("call %d: %w", attempt, errTransient)
		})
		if attempts != 3 {
			t.Errorf("attempts = %d, want 3", attempts)
		}
		if err == nil || err.Error() != "call 3: transient" {
			t.Errorf("err = %v, want the 3rd call's error", err)
		}
		if errors.Is(err, context.Canceled) {
			t.Errorf("err = %v: the context error hides the call's", err)
		}
	})
	t.Run("cancelled during a call", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		clock := newFakeClock()
		timer := newFakeTimer(clock)
		r := &retry.Retrier{Policy: policy, Clock: clock, NewTimer: func() backoff.Timer { return timer }, Jitter: jitters(0.5)}
		attempts, err := r.Do(ctx, func(ctx context.Context, attempt int) error {
			if attempt == 2 {
				cancel()
				return fmt.Errorf("call 2: %w", ctx.Err())
			}
			return errTransient
		})
		if attempts != 2 || err == nil || err.Error() != "call 2: context canceled" {
			t.Errorf("Do = %d, %v; want 2, the 2nd call's error", attempts, err)
		}
		if len(timer.waits) != 1 {
			t.Errorf("waits = %v, want no wait after the cancelled call", timer.waits)
		}
	})
	t.Run("already cancelled: no call", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		calls := 0
		r := &retry.Retrier{Policy: policy}
		attempts, err := r.Do(ctx, func(context.Context, int) error { calls++; return nil })
		if attempts != 0 || calls != 0 || !errors.Is(err, context.Canceled) {
			t.Errorf("Do = %d, %v with %d calls; want 0, context.Canceled, 0", attempts, err, calls)
		}
	})
}

// TestRetrierDefaults runs the loop on the real clock with a tiny policy: nil
// Classify means every error is transient, nil Jitter and NewTimer work.
func TestRetrierDefaults(t *testing.T) {
	r := &retry.Retrier{Policy: retry.Policy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxElapsed: time.Minute}}
	attempts, err := r.Do(context.Background(), func(_ context.Context, attempt int) error {
		if attempt < 3 {
			return errPermanent // nil Classify: still retried
		}
		return nil
	})
	if attempts != 3 || err != nil {
		t.Fatalf("Do = %d, %v; want 3, nil", attempts, err)
	}
}
