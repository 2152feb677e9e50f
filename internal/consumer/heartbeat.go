package consumer

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.uber.org/zap"
)

// heartbeat keeps in-flight messages invisible while their jobs run: every
// visibility/6 it extends, in batches, each message with less than half its
// visibility timeout left.
type heartbeat struct {
	acks       *acker
	visibility time.Duration

	// callMu is held across a round of extensions, and by untrack, so that a
	// job's final visibility change can never be overtaken by an extension
	// that was already on its way.
	callMu   sync.Mutex
	mu       sync.Mutex
	inflight map[string]*tracked // by receipt handle
	alive    func()              // liveness: called on each tick
}

type tracked struct {
	m        *Message
	deadline time.Time // when the message becomes visible again
}

func newHeartbeat(acks *acker, visibility time.Duration) *heartbeat {
	return &heartbeat{acks: acks, visibility: visibility, inflight: map[string]*tracked{}, alive: func() {}}
}

func (h *heartbeat) track(m *Message) {
	h.mu.Lock()
	h.inflight[m.ReceiptHandle] = &tracked{m: m, deadline: m.ReceivedAt.Add(h.visibility)}
	h.mu.Unlock()
}

func (h *heartbeat) untrack(m *Message) {
	h.callMu.Lock()
	defer h.callMu.Unlock()
	h.mu.Lock()
	delete(h.inflight, m.ReceiptHandle)
	h.mu.Unlock()
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
// timeout away.
func (h *heartbeat) extend(ctx context.Context, now time.Time) {
	h.callMu.Lock()
	defer h.callMu.Unlock()
	var due []*tracked
	h.mu.Lock()
	for _, t := range h.inflight {
		if t.deadline.Sub(now) < h.visibility/2 {
			due = append(due, t)
		}
	}
	h.mu.Unlock()
	for len(due) > 0 {
		n := min(len(due), maxBatch)
		h.send(ctx, due[:n], now)
		due = due[n:]
	}
}

func (h *heartbeat) send(ctx context.Context, batch []*tracked, now time.Time) {
	secs := int32(h.visibility / time.Second)
	entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(batch))
	for i, t := range batch {
		entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(t.m.ReceiptHandle), VisibilityTimeout: secs}
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := h.acks.api.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(h.acks.queueURL), Entries: entries})
	if err != nil {
		h.acks.log.Warn("heartbeat failed; will try again", zap.Int("entries", len(batch)), zap.Error(err))
		return
	}
	failed := map[string]bool{}
	for _, f := range out.Failed {
		id := aws.ToString(f.Id)
		failed[id] = true
		if i, err := strconv.Atoi(id); err == nil && i >= 0 && i < len(batch) {
			h.acks.log.Warn("heartbeat entry refused", zap.String("msg_id", batch[i].m.ID), zap.String("error_code", aws.ToString(f.Code)))
		}
	}
	h.mu.Lock()
	for i, t := range batch {
		if !failed[strconv.Itoa(i)] {
			t.deadline = now.Add(h.visibility)
		}
	}
	h.mu.Unlock()
}
