package consumer

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestDefaultReserve(t *testing.T) {
	for _, tt := range []struct{ concurrency, want int }{
		{2, 1}, {8, 1}, {16, 2}, {32, 4}, {64, 8}, {80, 10}, {1000, 10},
	} {
		if got := DefaultReserve(tt.concurrency); got != tt.want {
			t.Errorf("DefaultReserve(%d) = %d, want %d", tt.concurrency, got, tt.want)
		}
	}
}

func TestNewLanesNeedsASlotForBulk(t *testing.T) {
	for _, tt := range []struct{ concurrency, reserve int }{{1, 0}, {4, 4}, {4, 9}} {
		if _, err := NewLanes(tt.concurrency, tt.reserve); err == nil {
			t.Errorf("NewLanes(%d, %d) succeeded", tt.concurrency, tt.reserve)
		}
	}
}

// poll waits until cond holds.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitLong, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// takeAll takes slots from s until it refuses and returns how many.
func takeAll(s *Slots) int {
	n := 0
	for s.take() {
		n++
	}
	return n
}

func TestLanesKeepTheReserveForInteractive(t *testing.T) {
	l, err := NewLanes(32, 0)
	if err != nil {
		t.Fatal(err)
	}
	if l.Reserve != 4 || l.Interactive.Cap() != 32 || l.Bulk.Cap() != 28 {
		t.Fatalf("reserve %d, caps %d/%d; want 4, 32/28", l.Reserve, l.Interactive.Cap(), l.Bulk.Cap())
	}
	if got := takeAll(l.Bulk); got != 28 {
		t.Fatalf("bulk took %d slots, want 28", got)
	}
	if got := l.Interactive.room(); got != 4 {
		t.Fatalf("interactive room beside a full bulk share = %d, want 4", got)
	}
	if got := takeAll(l.Interactive); got != 4 {
		t.Fatalf("interactive took %d slots, want 4", got)
	}
	// A bulk job ends: its slot is free for whichever lane takes it, and
	// both lanes' receivers are woken.
	drain := func(s *Slots) {
		select {
		case <-s.freed:
		default:
		}
	}
	drain(l.Bulk)
	drain(l.Interactive)
	l.Bulk.give(1)
	for _, s := range []*Slots{l.Bulk, l.Interactive} {
		select {
		case <-s.freed:
		default:
			t.Fatal("a share was not woken by a freed slot")
		}
	}
	if !l.Interactive.take() {
		t.Fatal("interactive could not take a slot a bulk job freed")
	}
	if l.Bulk.take() {
		t.Fatal("bulk took a slot of a full pool")
	}
	// Interactive work ends: bulk refills only up to its share.
	l.Interactive.give(5)
	if got := takeAll(l.Bulk); got != 1 {
		t.Fatalf("bulk took %d slots back, want 1 (up to its share of 28)", got)
	}
	if l.Bulk.heldNow() != 28 || l.Interactive.heldNow() != 0 || l.Interactive.room() != 4 {
		t.Fatalf("held %d/%d, interactive room %d", l.Bulk.heldNow(), l.Interactive.heldNow(), l.Interactive.room())
	}
}

// Two consumers on Lanes: while bulk jobs fill the bulk share, the
// interactive consumer keeps long-polling and starts a job that arrives at
// once; the pool is never overcommitted.
func TestInteractiveRunsBesideAFullBulkShare(t *testing.T) {
	const concurrency, reserve = 8, 2
	lanes, err := NewLanes(concurrency, reserve)
	if err != nil {
		t.Fatal(err)
	}
	bulkQ := newFakeSQS(bodies(40)...)
	interQ := newFakeSQS()
	var bulkRunning, total, peakBulk, peakTotal atomic.Int64
	raise := func(peak *atomic.Int64, v int64) {
		for p := peak.Load(); v > p && !peak.CompareAndSwap(p, v); p = peak.Load() {
		}
	}
	release := make(chan struct{})
	bulk := HandlerFunc(func(ctx context.Context, m *Message) Action {
		raise(&peakBulk, bulkRunning.Add(1))
		raise(&peakTotal, total.Add(1))
		defer func() { bulkRunning.Add(-1); total.Add(-1) }()
		select {
		case <-release:
		case <-ctx.Done():
			return Retry{}
		}
		return Delete{}
	})
	interStarted := make(chan int64, 1)
	inter := HandlerFunc(func(ctx context.Context, m *Message) Action {
		raise(&peakTotal, total.Add(1))
		defer total.Add(-1)
		interStarted <- bulkRunning.Load()
		return Delete{}
	})
	stopBulk := run(t, bulkQ, bulk, Config{Slots: lanes.Bulk, FlushInterval: 10 * time.Millisecond})
	stopInter := run(t, interQ, inter, Config{Slots: lanes.Interactive, FlushInterval: 10 * time.Millisecond})

	poll(t, "the bulk share full", func() bool { return bulkRunning.Load() == concurrency-reserve })
	// The interactive consumer has a long poll open while bulk is full.
	interQ.mustAwait(t, waitLong, "an interactive long poll", func() bool {
		for _, c := range interQ.calls {
			if c.op == "receive" && c.wait == 20 && c.max >= 1 && c.max <= reserve {
				return true
			}
		}
		return false
	})
	id := interQ.add(`{"username":"person"}`)
	select {
	case b := <-interStarted:
		if b != concurrency-reserve {
			t.Errorf("the interactive job ran beside %d bulk jobs, want a full share of %d", b, concurrency-reserve)
		}
	case <-time.After(waitLong):
		t.Fatalf("the interactive job did not start beside a full bulk share:\n%s", interQ.dump())
	}
	interQ.mustAwait(t, waitLong, "the interactive job deleted", func() bool { return interQ.deleted(id) })
	close(release)
	bulkQ.mustAwait(t, waitLong, "all bulk jobs deleted", bulkQ.allDeleted)
	if err, _ := stopBulk(); err != nil {
		t.Fatal(err)
	}
	if err, _ := stopInter(); err != nil {
		t.Fatal(err)
	}
	if p := peakBulk.Load(); p > concurrency-reserve {
		t.Errorf("%d bulk jobs ran at once, share %d", p, concurrency-reserve)
	}
	if p := peakTotal.Load(); p > concurrency {
		t.Errorf("%d jobs ran at once, pool %d", p, concurrency)
	}
	for _, c := range interQ.callsOf("receive") {
		if c.max > reserve {
			t.Errorf("an interactive receive asked for %d, reserve %d", c.max, reserve)
		}
	}
	for _, c := range bulkQ.callsOf("receive") {
		if c.max > concurrency-reserve {
			t.Errorf("a bulk receive asked for %d, share %d", c.max, concurrency-reserve)
		}
	}
}
