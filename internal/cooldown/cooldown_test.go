package cooldown_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/resend-worker/resend-worker/internal/cooldown"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// op is one step: advance the clock, then mark or check a key.
type op struct {
	advance time.Duration
	mark    string // key to Mark
	check   string // key to check with Recent
	want    bool   // Recent's answer
	wantLen int    // Len after the step; -1: don't check
}

func TestSet(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		ops    []op
	}{
		{name: "unknown key", window: time.Minute, ops: []op{{check: "a", want: false, wantLen: 0}}},
		{name: "marked key is recent", window: time.Minute, ops: []op{{mark: "a", wantLen: 1}, {check: "a", want: true, wantLen: 1}}},
		{name: "other key not recent", window: time.Minute, ops: []op{{mark: "a", wantLen: 1}, {check: "b", want: false, wantLen: 1}}},
		{name: "just inside the window", window: time.Minute, ops: []op{{mark: "a", wantLen: 1}, {advance: time.Minute - 1, check: "a", want: true, wantLen: 1}}},
		{name: "at the window's end", window: time.Minute, ops: []op{{mark: "a", wantLen: 1}, {advance: time.Minute, check: "a", want: false, wantLen: 1}}},
		{name: "mark again restarts the window", window: time.Minute, ops: []op{
			{mark: "a", wantLen: 1},
			{advance: 50 * time.Second, mark: "a", wantLen: 1},
			{advance: 50 * time.Second, check: "a", want: true, wantLen: 1},
		}},
		{name: "disabled with 0", window: 0, ops: []op{{mark: "a", wantLen: 0}, {check: "a", want: false, wantLen: 0}}},
		{name: "disabled with a negative window", window: -time.Second, ops: []op{{mark: "a", wantLen: 0}, {check: "a", want: false, wantLen: 0}}},
		{name: "pruning drops expired keys", window: time.Minute, ops: []op{
			{mark: "a", wantLen: 1},
			{advance: 30 * time.Second, mark: "b", wantLen: 2},
			// a expired, b not; the last prune was at 0, so this Mark prunes.
			{advance: 30 * time.Second, mark: "c", wantLen: 2},
			{check: "a", want: false, wantLen: 2},
			{check: "b", want: true, wantLen: 2},
			{check: "c", want: true, wantLen: 2},
		}},
		{name: "expired keys stay until the next prune", window: time.Minute, ops: []op{
			{mark: "a", wantLen: 1},                            // t=0: prunes (nothing)
			{advance: 30 * time.Second, mark: "b", wantLen: 2}, // t=30: no prune
			{advance: 40 * time.Second, mark: "c", wantLen: 2}, // t=70: prunes a
			{advance: 40 * time.Second, mark: "d", wantLen: 3}, // t=110: b expired, not pruned
			{check: "b", want: false, wantLen: 3},              // but not recent
			{advance: 20 * time.Second, mark: "e", wantLen: 2}, // t=130: prunes b and c
			{check: "d", want: true, wantLen: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
			s := cooldown.New(tt.window, clk.now)
			for i, o := range tt.ops {
				clk.advance(o.advance)
				if o.mark != "" {
					s.Mark(o.mark)
				}
				if o.check != "" {
					if got := s.Recent(o.check); got != o.want {
						t.Fatalf("step %d: Recent(%q) = %v, want %v", i, o.check, got, o.want)
					}
				}
				if o.wantLen >= 0 && s.Len() != o.wantLen {
					t.Fatalf("step %d: Len = %d, want %d", i, s.Len(), o.wantLen)
				}
			}
		})
	}
}

func TestSetBounded(t *testing.T) {
	clk := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := cooldown.New(time.Minute, clk.now)
	for i := 0; i < 10000; i++ {
		s.Mark(fmt.Sprint("user", i))
		clk.advance(time.Second)
	}
	// Only keys of the last window (plus those since the last prune) stay.
	if n := s.Len(); n > 120 {
		t.Fatalf("Len = %d after 10000 marks a second apart, want at most two windows' worth", n)
	}
}

func TestSetRealClockAndConcurrency(t *testing.T) {
	s := cooldown.New(time.Hour, nil)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				k := fmt.Sprint(g, "-", i)
				s.Mark(k)
				if !s.Recent(k) {
					t.Errorf("Recent(%q) = false right after Mark", k)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if s.Len() != 800 {
		t.Fatalf("Len = %d, want 800", s.Len())
	}
}
