package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/resend-worker/resend-worker/internal/ratelimit"
)

type callerKey struct{}

// gatePacer lets one Wait through per value sent on next, and tells on
// entered which caller (the ctx's callerKey) is in Wait.
type gatePacer struct {
	next    chan struct{}
	entered chan string

	mu                   sync.Mutex
	throttled, succeeded int
}

func newGatePacer() *gatePacer {
	return &gatePacer{next: make(chan struct{}), entered: make(chan string, 100)}
}

func (g *gatePacer) Acquire(ctx context.Context) (func(ratelimit.Result), error) {
	g.entered <- ctx.Value(callerKey{}).(string)
	select {
	case <-g.next:
		return g.report, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (g *gatePacer) report(r ratelimit.Result) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch r {
	case ratelimit.Throttled:
		g.throttled++
	case ratelimit.Succeeded:
		g.succeeded++
	}
}

// wait is a lane's Acquire without its report.
func wait(ctx context.Context, l *ratelimit.LaneLimiter) error {
	_, err := l.Acquire(ctx)
	return err
}

func (g *gatePacer) mustEnter(t *testing.T) string {
	t.Helper()
	select {
	case id := <-g.entered:
		return id
	case <-time.After(5 * time.Second):
		t.Fatal("no caller reached the pacer")
		return ""
	}
}

func (g *gatePacer) mustStayIdle(t *testing.T) {
	t.Helper()
	select {
	case id := <-g.entered:
		t.Fatalf("caller %s reached the pacer while another held the turn", id)
	case <-time.After(50 * time.Millisecond):
	}
}

// passOne lets a new bulk caller through a free turn.
func (g *gatePacer) passOne(t *testing.T, p *ratelimit.Priority, id string) {
	t.Helper()
	done := waitFor(context.Background(), p, ratelimit.Bulk, id)
	if got := g.mustEnter(t); got != id {
		t.Fatalf("turn went to %s, want %s", got, id)
	}
	g.next <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// waitFor starts a caller of lane and returns the channel of its result.
func waitFor(ctx context.Context, p *ratelimit.Priority, lane ratelimit.Lane, id string) <-chan error {
	done := make(chan error, 1)
	go func() { done <- wait(context.WithValue(ctx, callerKey{}, id), p.Lane(lane)) }()
	return done
}

// queued waits until n callers of lane wait for a turn.
func queued(t *testing.T, p *ratelimit.Priority, lane ratelimit.Lane, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for p.Waiting(lane) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d %s callers waiting, want %d", p.Waiting(lane), lane, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPriorityInteractiveGoesFirst(t *testing.T) {
	g := newGatePacer()
	p := ratelimit.NewPriority(g)
	ctx := context.Background()
	first := waitFor(ctx, p, ratelimit.Bulk, "b0")
	if id := g.mustEnter(t); id != "b0" {
		t.Fatalf("first caller = %s, want b0", id)
	}
	var bulk []<-chan error
	for i := 1; i <= 5; i++ {
		bulk = append(bulk, waitFor(ctx, p, ratelimit.Bulk, fmt.Sprintf("b%d", i)))
		queued(t, p, ratelimit.Bulk, i)
	}
	inter := waitFor(ctx, p, ratelimit.Interactive, "i0")
	queued(t, p, ratelimit.Interactive, 1)
	g.mustStayIdle(t)

	// Each turn goes to the next in line: the interactive caller, then the
	// bulk callers in the order they came.
	want := []string{"i0", "b1", "b2", "b3", "b4", "b5"}
	g.next <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		if id := g.mustEnter(t); id != w {
			t.Fatalf("turn %d went to %s, want %s", k+1, id, w)
		}
		g.next <- struct{}{}
	}
	for _, ch := range append(bulk, inter) {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	if p.Waiting(ratelimit.Interactive)+p.Waiting(ratelimit.Bulk) != 0 {
		t.Fatal("callers still waiting")
	}
}

func TestPriorityInteractiveInOrder(t *testing.T) {
	g := newGatePacer()
	p := ratelimit.NewPriority(g)
	ctx := context.Background()
	b := waitFor(ctx, p, ratelimit.Bulk, "b0")
	g.mustEnter(t)
	i1 := waitFor(ctx, p, ratelimit.Interactive, "i1")
	queued(t, p, ratelimit.Interactive, 1)
	b1 := waitFor(ctx, p, ratelimit.Bulk, "b1")
	queued(t, p, ratelimit.Bulk, 1)
	i2 := waitFor(ctx, p, ratelimit.Interactive, "i2")
	queued(t, p, ratelimit.Interactive, 2)
	g.next <- struct{}{}
	for _, w := range []string{"i1", "i2", "b1"} {
		if id := g.mustEnter(t); id != w {
			t.Fatalf("turn went to %s, want %s", id, w)
		}
		g.next <- struct{}{}
	}
	for _, ch := range []<-chan error{b, i1, b1, i2} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
}

func TestPriorityCancelledWaiterLeavesTheLine(t *testing.T) {
	g := newGatePacer()
	p := ratelimit.NewPriority(g)
	ctx := context.Background()
	holder := waitFor(ctx, p, ratelimit.Bulk, "b0")
	g.mustEnter(t)
	cctx, cancel := context.WithCancel(ctx)
	gone := waitFor(cctx, p, ratelimit.Interactive, "i-cancelled")
	queued(t, p, ratelimit.Interactive, 1)
	next := waitFor(ctx, p, ratelimit.Bulk, "b1")
	queued(t, p, ratelimit.Bulk, 1)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter returned %v, want context.Canceled", err)
	}
	queued(t, p, ratelimit.Interactive, 0)
	g.next <- struct{}{}
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	if id := g.mustEnter(t); id != "b1" {
		t.Fatalf("turn went to %s, want b1", id)
	}
	g.next <- struct{}{}
	if err := <-next; err != nil {
		t.Fatal(err)
	}
	// The turn is free again: a new caller goes straight through.
	g.passOne(t, p, "b2")
}

func TestPriorityCancelDuringPacerWaitFreesTheTurn(t *testing.T) {
	g := newGatePacer()
	p := ratelimit.NewPriority(g)
	cctx, cancel := context.WithCancel(context.Background())
	holder := waitFor(cctx, p, ratelimit.Interactive, "i0")
	g.mustEnter(t)
	cancel()
	if err := <-holder; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	g.passOne(t, p, "b0")
}

func TestPriorityReportsReachThePacer(t *testing.T) {
	g := newGatePacer()
	p := ratelimit.NewPriority(g)
	ctx := context.WithValue(context.Background(), callerKey{}, "r")
	for _, c := range []struct {
		lane ratelimit.Lane
		r    ratelimit.Result
	}{{ratelimit.Interactive, ratelimit.Succeeded}, {ratelimit.Bulk, ratelimit.Succeeded}, {ratelimit.Bulk, ratelimit.Throttled}, {ratelimit.Bulk, ratelimit.Failed}} {
		go func() { <-g.entered; g.next <- struct{}{} }()
		report, err := p.Lane(c.lane).Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		report(c.r)
	}
	if g.succeeded != 2 || g.throttled != 1 {
		t.Fatalf("pacer saw %d successes and %d throttles, want 2 and 1", g.succeeded, g.throttled)
	}
	if ratelimit.Interactive.String() != "interactive" || ratelimit.Bulk.String() != "bulk" {
		t.Fatal("lane names")
	}
}

// With the real Limiter and many callers contending, every turn is handed on:
// no caller is left waiting.
func TestPriorityOverLimiterHandsEveryTurnOn(t *testing.T) {
	lim := ratelimit.New(ratelimit.Config{Max: 1000})
	p := ratelimit.NewPriority(lim)
	bulk := p.Lane(ratelimit.Bulk)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	calls := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if err := wait(ctx, bulk); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				calls++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if calls != 200 {
		t.Fatalf("%d bulk calls went through, want 200", calls)
	}
}
