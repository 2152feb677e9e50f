package consumer

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/cenkalti/backoff/v4"
	"go.uber.org/zap"
)

// ackOp is a delete (visibility < 0) or a visibility change of one message.
type ackOp struct {
	id, handle string
	visibility int32 // seconds; -1 deletes
	tries      int
}

const (
	opDelete   = -1
	maxAckTrys = 6 // with retryWait's doubling: ~6 s of SQS trouble before an op is given up
)

// acker batches deletes and visibility changes: a batch goes out when it has
// 10 entries or when its oldest entry has waited FlushInterval.
type acker struct {
	api      SQSAPI
	queueURL string
	interval time.Duration
	log      *zap.Logger

	in      chan ackOp
	stopped chan struct{}
	flushed chan bool
	alive   func() // liveness: called at least every AliveEvery while run loops
}

func newAcker(api SQSAPI, queueURL string, interval time.Duration, log *zap.Logger) *acker {
	return &acker{api: api, queueURL: queueURL, interval: interval, log: log,
		in: make(chan ackOp, 1024), stopped: make(chan struct{}), flushed: make(chan bool, 1), alive: func() {}}
}

func (a *acker) delete(m *Message) {
	a.enqueue(ackOp{id: m.ID, handle: m.ReceiptHandle, visibility: opDelete})
}

func (a *acker) changeVisibility(m *Message, after time.Duration) {
	a.enqueue(ackOp{id: m.ID, handle: m.ReceiptHandle, visibility: int32(max(after, 0) / time.Second)})
}

func (a *acker) enqueue(op ackOp) { a.in <- op }

// stop asks the loop to flush everything and end within timeout; it reports
// whether all ops were sent.
func (a *acker) stop(timeout time.Duration) bool {
	close(a.stopped)
	select {
	case ok := <-a.flushed:
		return ok
	case <-time.After(timeout):
		return false
	}
}

func (a *acker) run(ctx context.Context) {
	var deletes, changes []ackOp
	var timer *time.Timer
	var timerC <-chan time.Time
	flush := func(ctx context.Context) {
		deletes = a.sendDeletes(ctx, deletes)
		changes = a.sendChanges(ctx, changes)
		if timer != nil {
			timer.Stop()
		}
		timer, timerC = nil, nil
		if len(deletes)+len(changes) > 0 { // retries of failed entries, backing off
			timer = time.NewTimer(retryWait(a.interval, deletes, changes))
			timerC = timer.C
		}
	}
	add := func(op ackOp) {
		if op.visibility == opDelete {
			deletes = append(deletes, op)
		} else {
			changes = append(changes, op)
		}
		if timer == nil {
			timer = time.NewTimer(a.interval)
			timerC = timer.C
		}
	}
	tick := time.NewTicker(AliveEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			a.alive()
		case op := <-a.in:
			add(op)
			// A full batch goes out at once; what fails waits for the
			// timer, so a failing SQS is not retried in a tight loop.
			if len(deletes) >= maxBatch && deletes[maxBatch-1].tries == 0 {
				deletes = a.sendDeletes(ctx, deletes)
			}
			if len(changes) >= maxBatch && changes[maxBatch-1].tries == 0 {
				changes = a.sendChanges(ctx, changes)
			}
		case <-timerC:
			timer, timerC = nil, nil
			flush(ctx)
		case <-a.stopped:
			// Drain what was queued before stop, then send it all.
		drain:
			for {
				select {
				case op := <-a.in:
					add(op)
				default:
					break drain
				}
			}
			// A flush sends one batch of each kind: loop until all is
			// sent or given up (each op has at most maxAckTrys tries).
			for len(deletes)+len(changes) > 0 && ctx.Err() == nil {
				flush(ctx)
			}
			a.flushed <- len(deletes)+len(changes) == 0
			return
		}
	}
}

// retryWait is the pause before retrying failed entries: the flush
// interval doubled per try of the most-tried entry, at most 5 s.
func retryWait(interval time.Duration, lists ...[]ackOp) time.Duration {
	tries := 0
	for _, l := range lists {
		for _, op := range l {
			tries = max(tries, op.tries)
		}
	}
	return min(interval<<min(tries, 6), 5*time.Second)
}

// sendDeletes sends up to one batch from the front of ops and returns the
// ops still to send (the rest, and failed entries that may succeed later).
func (a *acker) sendDeletes(ctx context.Context, ops []ackOp) []ackOp {
	if len(ops) == 0 {
		return ops
	}
	batch, rest := split(ops)
	entries := make([]types.DeleteMessageBatchRequestEntry, len(batch))
	for i, op := range batch {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(op.handle)}
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := a.api.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(a.queueURL), Entries: entries})
	if err != nil {
		return append(rest, a.retryable(batch, "delete", err)...)
	}
	return append(rest, a.failedEntries(batch, "delete", out.Failed)...)
}

func (a *acker) sendChanges(ctx context.Context, ops []ackOp) []ackOp {
	if len(ops) == 0 {
		return ops
	}
	batch, rest := split(ops)
	entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(batch))
	for i, op := range batch {
		entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(op.handle), VisibilityTimeout: op.visibility}
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := a.api.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(a.queueURL), Entries: entries})
	if err != nil {
		return append(rest, a.retryable(batch, "change_visibility", err)...)
	}
	return append(rest, a.failedEntries(batch, "change_visibility", out.Failed)...)
}

func split(ops []ackOp) (batch, rest []ackOp) {
	n := min(len(ops), maxBatch)
	batch = append([]ackOp(nil), ops[:n]...)
	rest = append(ops[:0:0], ops[n:]...)
	return batch, rest
}

// retryable returns the ops of a failed call that have tries left.
func (a *acker) retryable(batch []ackOp, op string, err error) []ackOp {
	var again []ackOp
	for _, o := range batch {
		o.tries++
		if o.tries < maxAckTrys {
			again = append(again, o)
		} else {
			a.log.Error("giving up on a batch entry; the message becomes visible again after its visibility timeout",
				zap.String("op", op), zap.String("msg_id", o.id), zap.Error(err))
		}
	}
	if len(again) > 0 {
		a.log.Warn("batch call failed; retrying", zap.String("op", op), zap.Int("entries", len(again)), zap.Error(err))
	}
	return again
}

// failedEntries handles per-entry failures: a receipt handle that is no longer
// valid (the message was received again elsewhere, or already deleted) cannot
// succeed later; other failures are retried.
func (a *acker) failedEntries(batch []ackOp, op string, failed []types.BatchResultErrorEntry) []ackOp {
	var again []ackOp
	for _, f := range failed {
		i, err := strconv.Atoi(aws.ToString(f.Id))
		if err != nil || i < 0 || i >= len(batch) {
			continue
		}
		o := batch[i]
		code := aws.ToString(f.Code)
		if f.SenderFault && code != "InternalError" && code != "ServiceUnavailable" {
			a.log.Warn("batch entry refused", zap.String("op", op), zap.String("msg_id", o.id), zap.String("error_code", code))
			continue
		}
		o.tries++
		if o.tries < maxAckTrys {
			again = append(again, o)
		} else {
			a.log.Error("giving up on a batch entry", zap.String("op", op), zap.String("msg_id", o.id), zap.String("error_code", code))
		}
	}
	return again
}

// newReceiveBackoff paces receives after failures: 100ms doubling to 10s,
// jittered, never giving up.
func newReceiveBackoff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.MaxInterval = 10 * time.Second
	b.MaxElapsedTime = 0
	b.Reset()
	return b
}
