package consumer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReceiveGate: while the gate holds, no receive is made; once it opens
// the queue drains.
func TestReceiveGate(t *testing.T) {
	f := newFakeSQS(bodies(3)...)
	open := make(chan struct{})
	var gated atomic.Int64
	gate := func(ctx context.Context) error {
		gated.Add(1)
		select {
		case <-open:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	stop := run(t, f, HandlerFunc(func(context.Context, *Message) Action { return Delete{} }),
		Config{Concurrency: 4, FlushInterval: 10 * time.Millisecond, ReceiveGate: gate})
	deadline := time.Now().Add(waitLong)
	for gated.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the receiver never reached the gate")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(f.callsOf("receive")); n != 0 {
		t.Fatalf("%d receives while the gate was closed", n)
	}
	close(open)
	f.mustAwait(t, waitLong, "all deleted", f.allDeleted)
	if err, _ := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// TestStoppingSignal: a job's context carries the stop: closed when the
// consumer stops receiving, while the context itself lives on.
func TestStoppingSignal(t *testing.T) {
	f := newFakeSQS(`{"username":"a"}`)
	started := make(chan context.Context, 1)
	stop := run(t, f, HandlerFunc(func(ctx context.Context, _ *Message) Action {
		started <- ctx
		select {
		case <-Stopping(ctx):
		case <-time.After(waitLong):
		}
		if ctx.Err() != nil {
			return Delete{} // the test fails below: ctx ended with the stop
		}
		return Retry{}
	}), Config{Concurrency: 1, FlushInterval: 10 * time.Millisecond, ShutdownTimeout: 5 * time.Second})
	ctx := <-started
	if Stopping(ctx) == nil {
		t.Fatal("job context carries no stop signal")
	}
	if err, took := stop(); err != nil || took > 3*time.Second {
		t.Fatalf("Run = %v after %s", err, took)
	}
	if f.allDeleted() {
		t.Fatal("the job's context ended with the stop instead of living on")
	}
	if Stopping(context.Background()) != nil {
		t.Fatal("Stopping of a plain context is not nil")
	}
}

// TestAliveLoops: the receiver, the acker and the heartbeat each report
// themselves alive while they run, the receiver also while it waits at the
// gate.
func TestAliveLoops(t *testing.T) {
	f := newFakeSQS()
	var mu sync.Mutex
	seen := map[string]int{}
	alive := func(loop string) { mu.Lock(); seen[loop]++; mu.Unlock() }
	closed := make(chan struct{})
	gate := func(ctx context.Context) error {
		select {
		case <-closed:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	stop := run(t, f, HandlerFunc(func(context.Context, *Message) Action { return Delete{} }),
		Config{Concurrency: 1, VisibilityTimeout: 2 * time.Second, ReceiveGate: gate, Alive: alive})
	deadline := time.Now().Add(3 * AliveEvery)
	for {
		mu.Lock()
		ok := seen["receiver"] >= 2 && seen["acker"] >= 1 && seen["heartbeat"] >= 1
		got := fmt.Sprint(seen)
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("loops seen alive: %s; want the receiver (twice: at the gate too), the acker and the heartbeat", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err, _ := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
}
