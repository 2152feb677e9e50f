package ratelimit_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/resend-worker/resend-worker/internal/ratelimit"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// step is one event: a throttle or a success after advancing the clock.
type step struct {
	advance   time.Duration
	throttled bool // else succeeded
	want      float64
}

func TestLimiterAdapts(t *testing.T) {
	cfg := ratelimit.Config{Max: 10, Min: 2, Decrease: 0.5, Increase: 1, CutInterval: time.Second}
	tests := []struct {
		name  string
		cfg   ratelimit.Config
		steps []step
	}{
		{name: "success at Max stays at Max", cfg: cfg, steps: []step{{want: 10}, {advance: time.Hour, want: 10}}},
		{name: "throttle cuts by Decrease", cfg: cfg, steps: []step{{throttled: true, want: 5}}},
		{name: "second throttle within CutInterval ignored", cfg: cfg, steps: []step{
			{throttled: true, want: 5},
			{advance: 999 * time.Millisecond, throttled: true, want: 5},
			{advance: 0, throttled: true, want: 5},
		}},
		{name: "throttle after CutInterval cuts again", cfg: cfg, steps: []step{
			{throttled: true, want: 5},
			{advance: time.Second, throttled: true, want: 2.5},
		}},
		{name: "never below Min", cfg: cfg, steps: []step{
			{throttled: true, want: 5},
			{advance: time.Second, throttled: true, want: 2.5},
			{advance: time.Second, throttled: true, want: 2},
			{advance: time.Second, throttled: true, want: 2},
		}},
		{name: "success raises by Increase/current", cfg: cfg, steps: []step{
			{throttled: true, want: 5},
			{want: 5.2},
			{want: 5.2 + 1/5.2},
		}},
		{name: "success never above Max", cfg: ratelimit.Config{Max: 10, Min: 2, Decrease: 0.99, Increase: 50, CutInterval: time.Second}, steps: []step{
			{throttled: true, want: 9.9},
			{want: 10},
			{want: 10},
		}},
		{name: "defaults: 0.7 cut, Max/50 floor", cfg: ratelimit.Config{Max: 20}, steps: []step{
			{throttled: true, want: 14},
			{advance: time.Second, throttled: true, want: 9.8},
			{advance: 10 * time.Second, throttled: true, want: 9.8 * 0.7},
		}},
		{name: "defaults: floor of 0.1", cfg: ratelimit.Config{Max: 1, Decrease: 0.1}, steps: []step{
			{throttled: true, want: 0.1},
			{advance: time.Second, throttled: true, want: 0.1},
		}},
		{name: "Min above Max is Max", cfg: ratelimit.Config{Max: 3, Min: 5}, steps: []step{
			{throttled: true, want: 3},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
			cfg := tt.cfg
			cfg.Now = clk.Now
			var changes []float64
			cfg.OnChange = func(r float64) { changes = append(changes, r) }
			l := ratelimit.New(cfg)
			if l.Rate() != cfg.Max {
				t.Fatalf("starts at %v, want Max %v", l.Rate(), cfg.Max)
			}
			if len(changes) != 1 || changes[0] != cfg.Max {
				t.Fatalf("OnChange at start = %v, want [%v]", changes, cfg.Max)
			}
			prev := l.Rate()
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				before := len(changes)
				if s.throttled {
					l.Throttled()
				} else {
					l.Succeeded()
				}
				got := l.Rate()
				if !near(got, s.want) {
					t.Fatalf("step %d: rate %v, want %v", i, got, s.want)
				}
				if got != prev {
					if len(changes) != before+1 || !near(changes[len(changes)-1], got) {
						t.Errorf("step %d: OnChange calls %v, want one more with %v", i, changes[before:], got)
					}
				} else if len(changes) > before+1 {
					t.Errorf("step %d: OnChange called %d times without a change", i, len(changes)-before)
				}
				prev = got
			}
		})
	}
}

// TestLimiterRecovers: from the floor, successes bring the rate back to Max
// and never above it. Each success adds Increase/rate, so the climb from r0
// takes about (Max²-r0²)/(2·Increase) calls: ~200 here, ~20 s of calls.
func TestLimiterRecovers(t *testing.T) {
	clk := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := ratelimit.New(ratelimit.Config{Max: 20, Now: clk.Now})
	for i := 0; i < 20; i++ {
		l.Throttled()
		clk.Advance(time.Second)
	}
	if !near(l.Rate(), 0.4) {
		t.Fatalf("floor = %v, want Max/50 = 0.4", l.Rate())
	}
	calls := 0
	for l.Rate() < 20 && calls < 100000 {
		l.Succeeded()
		calls++
		if l.Rate() > 20 {
			t.Fatalf("rate %v above Max", l.Rate())
		}
	}
	if l.Rate() != 20 {
		t.Fatalf("rate %v after %d successes, want back at 20", l.Rate(), calls)
	}
	if calls < 150 || calls > 250 {
		t.Errorf("%d successes to climb from 0.4 to 20, want about 200", calls)
	}
}

func TestLimiterWait(t *testing.T) {
	l := ratelimit.New(ratelimit.Config{Max: 1000})
	if err := l.Wait(context.Background()); err != nil {
		t.Fatalf("first Wait: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled ctx = %v, want context.Canceled", err)
	}
	// At a slow rate a token is seconds away: a short deadline fails at once
	// rather than sleeping past it.
	slow := ratelimit.New(ratelimit.Config{Max: 0.2})
	_ = slow.Wait(context.Background()) // the burst token
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := slow.Wait(ctx); err == nil {
		t.Errorf("Wait at 0.2/s with 50ms left succeeded")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Wait took %v before failing", d)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	var mu sync.Mutex
	var last float64
	l := ratelimit.New(ratelimit.Config{Max: 50, OnChange: func(r float64) { mu.Lock(); last = r; mu.Unlock() }})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for k := 0; k < 500; k++ {
				if (k+i)%7 == 0 {
					l.Throttled()
				} else {
					l.Succeeded()
				}
				if r := l.Rate(); r < 1 || r > 50 {
					t.Errorf("rate %v outside [1, 50]", r)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if last < 1 || last > 50 {
		t.Errorf("last OnChange %v outside [1, 50]", last)
	}
}

// TestTokenFreshness: with tokens, a throttle cuts once per round trip
// however the calls in between ended: throttles of calls that started before
// the cut are ignored, and the first throttle of a call started after it
// cuts at once (no CutInterval wait), even when many calls in between failed
// with other errors (which, unreported, used to shift the count).
func TestTokenFreshness(t *testing.T) {
	clk := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := ratelimit.New(ratelimit.Config{Max: 1000, Decrease: 0.5, MaxCut: 0.5, CutInterval: time.Hour, Now: clk.Now})
	acquire := func(n int) []func(ratelimit.Result) {
		out := make([]func(ratelimit.Result), n)
		for i := range out {
			tok, err := l.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			out[i] = tok
		}
		return out
	}
	before := acquire(6)
	before[0](ratelimit.Throttled) // cut 1: 1000 → 500
	if !near(l.Rate(), 500) {
		t.Fatalf("rate %v after the first throttle, want 500", l.Rate())
	}
	before[1](ratelimit.Throttled) // started before the cut: ignored
	for _, tok := range before[2:] {
		tok(ratelimit.Failed)
	}
	after := acquire(20)
	for _, tok := range after[:19] {
		tok(ratelimit.Failed) // 5xx, timeouts: no effect on the rate
	}
	if !near(l.Rate(), 500) {
		t.Fatalf("rate %v after stale throttles and failures, want 500", l.Rate())
	}
	after[19](ratelimit.Throttled) // a fresh throttle: cut 2 at once
	if !near(l.Rate(), 250) {
		t.Fatalf("rate %v after a fresh throttle, want 250", l.Rate())
	}
	after[19](ratelimit.Throttled) // a second report of a token does nothing
	if !near(l.Rate(), 250) {
		t.Fatalf("rate %v after a repeated report, want 250", l.Rate())
	}
}

// TestTokenSucceededRaises: a success reported with a token raises the rate
// as Succeeded does.
func TestTokenSucceededRaises(t *testing.T) {
	clk := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := ratelimit.New(ratelimit.Config{Max: 10, Min: 2, Decrease: 0.5, Increase: 1, CutInterval: time.Second, Now: clk.Now})
	tok, _ := l.Acquire(context.Background())
	tok(ratelimit.Throttled)
	tok, _ = l.Acquire(context.Background())
	tok(ratelimit.Succeeded)
	if !near(l.Rate(), 5.2) {
		t.Fatalf("rate %v, want 5.2", l.Rate())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if tok, err := l.Acquire(ctx); tok != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with a cancelled ctx = %v, %v", tok != nil, err)
	}
}
