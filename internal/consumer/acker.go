package consumer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/cenkalti/backoff/v4"
	"go.uber.org/zap"

	"github.com/resend-worker/resend-worker/internal/logging"
	"github.com/resend-worker/resend-worker/internal/sqsbatch"
)

// ackOp is a delete (visibility < 0) or a visibility change of one message.
type ackOp struct {
	id, handle string
	visibility int32       // seconds; -1 deletes
	done       func(error) // if set, called once SQS confirmed the op (nil) or it was given up
}

const (
	opDelete   = -1
	maxAckTrys = 6 // with the doubling pause from FlushInterval (at most 5 s): SQS trouble for a while before an op is given up

	// maxFlushes is the most batch sends (each with its retries) in flight
	// at once: a failing batch does not hold up the next one.
	maxFlushes = 4
	// logEvery is the most one kind of SQS error is logged: one line per
	// interval with the count suppressed, not one per entry.
	logEvery = 10 * time.Second
)

// acker batches deletes and visibility changes: a batch goes out when it has
// 10 entries or when its oldest entry has waited FlushInterval. Each batch is
// sent with sqsbatch.Do on a goroutine of its own (at most maxFlushes), which
// retries what SQS failed with a doubling pause.
type acker struct {
	api      SQSAPI
	queueURL string
	interval time.Duration
	log      *zap.Logger
	limited  *logging.Limited

	in      chan ackOp
	stopped chan struct{}
	flushed chan bool
	sem     chan struct{}
	flights sync.WaitGroup
	alive   func() // liveness: called at least every AliveEvery while run loops
}

func newAcker(api SQSAPI, queueURL string, interval time.Duration, log *zap.Logger) *acker {
	return &acker{api: api, queueURL: queueURL, interval: interval, log: log, limited: logging.NewLimited(log, logEvery),
		in: make(chan ackOp, 1024), stopped: make(chan struct{}), flushed: make(chan bool, 1), sem: make(chan struct{}, maxFlushes), alive: func() {}}
}

// delete queues a delete; done, if set, is told when it is confirmed or
// given up.
func (a *acker) delete(m *Message, done func(error)) {
	a.enqueue(ackOp{id: m.ID, handle: m.ReceiptHandle, visibility: opDelete, done: done})
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
	cfg := sqsbatch.Config{Tries: maxAckTrys, Pause: min(a.interval, 5*time.Second), CallTimeout: callTimeout}
	var unsent *atomic.Int64 // set at the stop: ops of the final flush given up
	flush := func() {
		a.send(ctx, deletes, cfg, unsent)
		a.send(ctx, changes, cfg, unsent)
		deletes, changes = nil, nil
		if timer != nil {
			timer.Stop()
		}
		timer, timerC = nil, nil
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
			// A full batch goes out at once.
			if len(deletes) >= maxBatch {
				a.send(ctx, deletes, cfg, nil)
				deletes = nil
			}
			if len(changes) >= maxBatch {
				a.send(ctx, changes, cfg, nil)
				changes = nil
			}
		case <-timerC:
			timer, timerC = nil, nil
			flush()
		case <-a.stopped:
			// Drain what was queued before stop, then send it all, with
			// short pauses: the shutdown timeout is running.
			unsent = new(atomic.Int64)
		drain:
			for {
				select {
				case op := <-a.in:
					add(op)
				default:
					break drain
				}
			}
			cfg.Pause, cfg.MaxPause = min(a.interval, 100*time.Millisecond), time.Second
			flush()
			a.flights.Wait()
			a.limited.Flush()
			a.flushed <- unsent.Load() == 0
			return
		}
	}
}

// send sends ops (deletes, or visibility changes) on a goroutine of their
// own, waiting while maxFlushes are in flight; unsent, if set, counts the
// ops given up.
func (a *acker) send(ctx context.Context, ops []ackOp, cfg sqsbatch.Config, unsent *atomic.Int64) {
	if len(ops) == 0 {
		return
	}
	a.sem <- struct{}{}
	a.flights.Add(1)
	go func() {
		defer func() { <-a.sem; a.flights.Done() }()
		if n := a.sendNow(ctx, ops, cfg); unsent != nil {
			unsent.Add(int64(n))
		}
	}()
}

// sendNow sends ops and returns how many were given up.
func (a *acker) sendNow(ctx context.Context, ops []ackOp, cfg sqsbatch.Config) int {
	kind := "change_visibility"
	cfg.OnRetry = func(op string, n int, err error) {
		a.limited.Warn(op+" retry", "batch call failed; retrying", zap.String("op", op), zap.Int("entries", n), zap.Error(err))
	}
	var outs []sqsbatch.Outcome
	if ops[0].visibility == opDelete {
		kind = "delete"
		entries := make([]types.DeleteMessageBatchRequestEntry, len(ops))
		for i, op := range ops {
			entries[i] = types.DeleteMessageBatchRequestEntry{ReceiptHandle: aws.String(op.handle)}
		}
		outs = sqsbatch.Do(ctx, sqsbatch.Delete(a.api, a.queueURL), entries, cfg)
	} else {
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(ops))
		for i, op := range ops {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{ReceiptHandle: aws.String(op.handle), VisibilityTimeout: op.visibility}
		}
		outs = sqsbatch.Do(ctx, sqsbatch.ChangeVisibility(a.api, a.queueURL), entries, cfg)
	}
	unsent := 0
	for i, o := range outs {
		op := ops[i]
		var ee *sqsbatch.EntryError
		errors.As(o.Err, &ee)
		switch {
		case o.Err == nil:
		case errors.Is(o.Err, sqsbatch.ErrRefused):
			// A receipt handle that is no longer valid (the message was
			// received again elsewhere, or already deleted) cannot
			// succeed later.
			a.limited.Warn(kind+" refused", "batch entry refused", zap.String("op", kind), zap.String("msg_id", op.id), zap.String("error_code", ee.Code))
		default:
			unsent++
			a.limited.Error(kind+" given up", "giving up on a batch entry; the message becomes visible again after its visibility timeout",
				zap.String("op", kind), zap.String("msg_id", op.id), zap.Error(o.Err))
		}
		if op.done != nil {
			op.done(o.Err)
		}
	}
	return unsent
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
