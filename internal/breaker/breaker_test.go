package breaker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func tripped(t *testing.T, cfg Config) (*Breaker, *[]Change, *sync.Mutex) {
	t.Helper()
	var mu sync.Mutex
	var changes []Change
	cfg.OnChange = func(c Change) { mu.Lock(); changes = append(changes, c); mu.Unlock() }
	b := New(cfg)
	for i := 0; i < 10; i++ {
		p, err := b.Allow(context.Background())
		if err != nil || p.Probe() {
			t.Fatalf("closed Allow: %v %v", p, err)
		}
		b.Report(p, Result{Evidence: Down, Code: "HTTP503", Job: fmt.Sprint(i)})
	}
	if !b.Down() {
		t.Fatal("not down after 10 outage errors")
	}
	return b, &changes, &mu
}

// TestAllowOneProbeAtATime: while down, of many waiting callers exactly one
// holds a probe permit at a time; two successes close it and free them all.
func TestAllowOneProbeAtATime(t *testing.T) {
	b, changes, mu := tripped(t, Config{ProbeInterval: 20 * time.Millisecond, MaxProbeInterval: 40 * time.Millisecond})
	var out, maxOut, probes atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				p, err := b.Allow(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if !p.Probe() {
					b.Report(p, Result{Evidence: Up})
					return
				}
				n := out.Add(1)
				for m := maxOut.Load(); n > m && !maxOut.CompareAndSwap(m, n); m = maxOut.Load() {
				}
				time.Sleep(time.Millisecond) // the call
				out.Add(-1)
				ev := Down
				if probes.Add(1) > 3 {
					ev = Up
				}
				b.Report(p, Result{Evidence: ev})
			}
		}()
	}
	wg.Wait()
	if b.Down() || maxOut.Load() != 1 || probes.Load() != 5 {
		t.Fatalf("down %v, most probes out at once %d, probes %d; want up, 1, 5", b.Down(), maxOut.Load(), probes.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(*changes) != 2 || !(*changes)[0].Down || (*changes)[0].Code != "HTTP503" || (*changes)[1].Down || (*changes)[1].Probes != 5 {
		t.Fatalf("changes %+v", *changes)
	}
}

func TestAllowEndsWithCtx(t *testing.T) {
	b, _, _ := tripped(t, Config{ProbeInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := b.Allow(ctx); errc <- err }()
	cancel()
	select {
	case err := <-errc:
		if err != context.Canceled {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Allow did not end with its context")
	}
}

// TestStaleReportIgnored: a call that started before the trip and reports
// after it neither closes nor counts.
func TestStaleReportIgnored(t *testing.T) {
	b := New(Config{ProbeInterval: time.Hour})
	early, _ := b.Allow(context.Background())
	for i := 0; i < 10; i++ {
		p, _ := b.Allow(context.Background())
		b.Report(p, Result{Evidence: Down, Code: "X", Job: fmt.Sprint(i)})
	}
	b.Report(early, Result{Evidence: Up})
	b.Report(early, Result{Evidence: Up})
	if !b.Down() {
		t.Fatal("a stale report closed the breaker")
	}
}

// TestCurrent: a permit given before a trip is no longer current after it;
// a probe's is.
func TestCurrent(t *testing.T) {
	b := New(Config{ProbeInterval: time.Millisecond})
	early, _ := b.Allow(context.Background())
	if !b.Current(early) {
		t.Fatal("a fresh permit is not current")
	}
	for i := 0; i < 10; i++ {
		p, _ := b.Allow(context.Background())
		b.Report(p, Result{Evidence: Down, Code: "X", Job: fmt.Sprint(i)})
	}
	if b.Current(early) {
		t.Fatal("a permit from before the trip is still current")
	}
	probe, err := b.Allow(context.Background())
	if err != nil || !probe.Probe() || !b.Current(probe) {
		t.Fatalf("probe permit %v %v, current %v", probe, err, b.Current(probe))
	}
}

// TestWaitReceive: while down, a receiver waits while jobs are held (they
// will probe) and goes ahead when nothing is held and a probe is due.
func TestWaitReceive(t *testing.T) {
	b, _, _ := tripped(t, Config{ProbeInterval: 10 * time.Millisecond})
	var idle atomic.Bool
	done := make(chan error, 1)
	go func() { done <- b.WaitReceive(context.Background(), idle.Load) }()
	select {
	case <-done:
		t.Fatal("WaitReceive returned while down with jobs held")
	case <-time.After(3 * PollIdle):
	}
	idle.Store(true)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitReceive still waiting with nothing held and a probe due")
	}
	closed := New(Config{})
	if err := closed.WaitReceive(context.Background(), func() bool { return false }); err != nil {
		t.Fatal(err)
	}
}
