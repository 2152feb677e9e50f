package consumer

import (
	"cmp"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.uber.org/zap"

	"github.com/resend-worker/resend-worker/internal/sqsbatch"
)

// heartbeat keeps in-flight messages invisible while their jobs run, and
// after, until their delete is confirmed: every visibility/6 it renews, in
// parallel batches, each message with less than half its visibility timeout
// left. A message whose hold lapses (SQS refuses the renewal, or renewals
// keep failing until too little time is left to renew) is marked lost, which
// its handler sees with Message.HoldLost.
type heartbeat struct {
	acks       *acker
	visibility time.Duration
	timeout    time.Duration // per renewal request: well under the visibility timeout

	mu       sync.Mutex
	inflight map[string]*tracked // by receipt handle
	alive    func()              // liveness: called on each tick
}

type tracked struct {
	m        *Message
	deadline time.Time // when the message becomes visible again, as far as we know
	sending  bool      // a renewal carrying it is on its way
	after    func()    // run once that renewal is back (a release waiting for it)
}

// renewParallel is the most renewal requests in flight at once.
const renewParallel = 8

func newHeartbeat(acks *acker, visibility time.Duration) *heartbeat {
	return &heartbeat{acks: acks, visibility: visibility, timeout: min(visibility/6, callTimeout), inflight: map[string]*tracked{}, alive: func() {}}
}

// holdState is a message's hold, as the heartbeat sees it.
type holdState struct {
	once sync.Once
	lost chan struct{}
}

// HoldLost reports whether the consumer lost its hold on the message: SQS
// refused to renew its visibility (the receipt handle is no longer valid),
// or renewals failed until too little of the visibility timeout was left to
// renew it in time. The message may then be, or soon be, received by another
// consumer: a handler should check HoldLost before each side effect it must
// not repeat (a Cognito call) and give the job back (Retry) instead. A lost
// hold is never regained. False for a message the consumer does not track.
func (m *Message) HoldLost() bool {
	select {
	case <-m.Lost():
		return true
	default:
		return false
	}
}

// Lost is closed when the hold on the message is lost (see HoldLost); nil
// (never ready) for a message the consumer does not track.
func (m *Message) Lost() <-chan struct{} {
	if m.hold == nil {
		return nil
	}
	return m.hold.lost
}

func (t *tracked) lose() { t.m.hold.once.Do(func() { close(t.m.hold.lost) }) }

// LoseHoldForTest marks the hold on a message the consumer does not track as
// lost, as the heartbeat does when SQS refuses a renewal: for handlers'
// tests. Never call it on a message the consumer tracks.
func (m *Message) LoseHoldForTest() {
	if m.hold == nil {
		m.hold = &holdState{lost: make(chan struct{})}
	}
	m.hold.once.Do(func() { close(m.hold.lost) })
}

func (h *heartbeat) track(m *Message) {
	if m.hold == nil {
		m.hold = &holdState{lost: make(chan struct{})}
	}
	h.mu.Lock()
	h.inflight[m.ReceiptHandle] = &tracked{m: m, deadline: m.ReceivedAt.Add(h.visibility)}
	h.mu.Unlock()
}

// untrack stops renewing m (its delete is confirmed, or given up).
func (h *heartbeat) untrack(m *Message) {
	h.mu.Lock()
	delete(h.inflight, m.ReceiptHandle)
	h.mu.Unlock()
}

// release stops renewing m, then runs then (which changes m's visibility):
// at once, or, when a renewal carrying m is on its way, once it is back, so
// that the renewal cannot overtake the change. It never waits.
func (h *heartbeat) release(m *Message, then func()) {
	h.mu.Lock()
	t := h.inflight[m.ReceiptHandle]
	delete(h.inflight, m.ReceiptHandle)
	if t != nil && t.sending {
		t.after = then
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	then()
}

func (h *heartbeat) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.inflight)
}

func (h *heartbeat) run(ctx context.Context) {
	t := time.NewTicker(max(h.visibility/6, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.alive()
			h.extend(ctx, time.Now())
		}
	}
}

// extend renews every message whose deadline is less than half a visibility
// timeout away, and marks lost those that are past saving.
func (h *heartbeat) extend(ctx context.Context, now time.Time) {
	var due []*tracked
	h.mu.Lock()
	for _, t := range h.inflight {
		if t.deadline.Sub(now) < h.timeout {
			// Another renewal could not be sure to land before the
			// deadline: the hold is lapsing, say so now.
			t.lose()
		}
		if t.deadline.Sub(now) < h.visibility/2 && !t.sending {
			t.sending = true
			due = append(due, t)
		}
	}
	h.mu.Unlock()
	if len(due) == 0 {
		return
	}
	secs := int32(h.visibility / time.Second)
	entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(due))
	for i, t := range due {
		entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{ReceiptHandle: aws.String(t.m.ReceiptHandle), VisibilityTimeout: secs}
	}
	// One try: what fails is due again at the next tick.
	outs := sqsbatch.Do(ctx, sqsbatch.ChangeVisibility(h.acks.api, h.acks.queueURL), entries,
		sqsbatch.Config{CallTimeout: h.timeout, Parallel: renewParallel})
	var afters []func()
	failed := 0
	var firstErr error
	h.mu.Lock()
	for i, t := range due {
		t.sending = false
		_, live := h.inflight[t.m.ReceiptHandle]
		switch err := outs[i].Err; {
		case err == nil:
			t.deadline = now.Add(h.visibility)
		case !live:
			// Finished meanwhile: its delete or release decides.
		case errors.Is(err, sqsbatch.ErrRefused):
			t.lose()
			fallthrough
		default:
			failed++
			firstErr = cmp.Or(firstErr, err)
		}
		if t.after != nil {
			afters = append(afters, t.after)
			t.after = nil
		}
	}
	h.mu.Unlock()
	for _, f := range afters {
		f()
	}
	if failed > 0 {
		h.acks.limited.Warn("heartbeat", "heartbeat: renewals failed; will try again while time is left",
			zap.Int("entries", failed), zap.Error(firstErr))
	}
}
