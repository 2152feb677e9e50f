// Package consumer drains an SQS queue into a Handler: long-poll receivers
// that never take more messages than the pool can start, a bounded pool of
// workers, a visibility heartbeat for long jobs, batched deletes and
// visibility changes, and a graceful stop. It knows SQS, not what a job is.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.uber.org/zap"

	"github.com/resend-worker/resend-worker/internal/config"
)

// SQSAPI is the part of the SQS client the consumer uses.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

// Message is one received SQS message.
type Message struct {
	ID            string
	ReceiptHandle string
	Body          string
	ReceiveCount  int       // ApproximateReceiveCount: 1 on the first receive
	SentAt        time.Time // SentTimestamp
	Attributes    map[string]types.MessageAttributeValue
	ReceivedAt    time.Time  // when this process received it
	hold          *holdState // see HoldLost (heartbeat.go)
}

// Action is what the consumer does with a message once the handler is done.
// The set is closed: Delete, Retry.
type Action interface{ isAction() }

// Delete removes the message from the queue: the job is finished.
type Delete struct{}

// Retry makes the message visible again after After (0: at once).
type Retry struct{ After time.Duration }

func (Delete) isAction() {}
func (Retry) isAction()  {}

// Handler processes one message. It must return when ctx ends; the consumer
// cancels ctx when the shutdown timeout runs out.
type Handler interface {
	Handle(ctx context.Context, m *Message) Action
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m *Message) Action

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, m *Message) Action { return f(ctx, m) }

// Observer is told what the consumer does, for metrics and readiness. Its
// methods must be safe for concurrent use and must not block.
type Observer interface {
	Received(n int, err error) // after each ReceiveMessage call
	InFlight(delta int)        // a job started (+1) or ended (-1)
}

// Config tunes a Consumer.
type Config struct {
	QueueURL string // required

	// Concurrency is the most messages held at once; default
	// config.DefaultConcurrency.
	Concurrency int
	// Receivers is the most long-poll loops; default ceil(Concurrency/10), at
	// most 8. The consumer runs one and adds more, up to Receivers, while
	// receives come back full with the pool free to take more; an extra loop
	// whose long poll comes back empty ends. An idle consumer makes one
	// receive per WaitTime.
	Receivers int
	// WaitTime is the long-poll wait; default 20s.
	WaitTime time.Duration
	// VisibilityTimeout is asked for on each receive and renewed by the
	// heartbeat while a job runs; default config.VisibilityTimeout, at least 2s.
	VisibilityTimeout time.Duration
	// ShutdownTimeout bounds the stop after ctx ends: in-flight jobs get most
	// of it, the final flush of deletes and releases the rest; default
	// config.DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// FlushInterval is the longest a delete or visibility change waits to fill
	// a batch of 10; default 200ms.
	FlushInterval time.Duration
	// ReceiveLimit, if set, caps how many messages a receive may ask for now,
	// beyond the free slots (backpressure from a rate limiter), given the
	// number held (jobs in flight and slots other receivers hold). Below 1,
	// the receiver waits for jobs to end; with nothing held it counts as 1.
	ReceiveLimit func(inflight int) int
	// ReceiveGate, if set, is called before each receive (before its slots
	// are reserved) and the receive waits until it returns; an error (ctx
	// ended) ends the receive loop. The worker holds receives with it while
	// Cognito is down, so that no long poll is open then.
	ReceiveGate func(ctx context.Context) error
	// Alive, if set, is called by each of the consumer's loops ("receiver",
	// "acker", "heartbeat") while it runs: by the acker and the heartbeat at
	// least every AliveEvery, by a receiver on each turn of its loop and
	// while it waits (at most a long poll and a call timeout apart). A loop
	// silent for much longer is stuck (the /healthz liveness check).
	Alive func(loop string)
	// Slots, if set, is the share of a pool of slots this consumer holds its
	// messages in, shared with another consumer (Lanes); Concurrency is then
	// the share's Cap. Default: Concurrency slots of its own.
	Slots *Slots

	Logger   *zap.Logger // default: no logs
	Observer Observer    // default: none
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = config.DefaultConcurrency
	}
	if c.Receivers <= 0 {
		c.Receivers = min((c.Concurrency+maxBatch-1)/maxBatch, 8)
	}
	if c.WaitTime <= 0 {
		c.WaitTime = 20 * time.Second
	}
	if c.VisibilityTimeout <= 0 {
		c.VisibilityTimeout = config.VisibilityTimeout
	}
	c.VisibilityTimeout = max(c.VisibilityTimeout, 2*time.Second)
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = config.DefaultShutdownTimeout
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 200 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	return c
}

func (c Config) validate() error {
	if c.QueueURL == "" {
		return errors.New("consumer: QueueURL is required")
	}
	return nil
}

const maxBatch = 10 // SQS's most messages per receive and entries per batch

// callTimeout bounds each SQS call beyond a long poll's wait.
const callTimeout = 10 * time.Second

// Consumer runs the loops. Build it with New; Run it once.
type Consumer struct {
	cfg     Config
	api     SQSAPI
	handler Handler
	log     *zap.Logger

	slots     *Slots       // one slot per message held
	inflight  atomic.Int64 // jobs started and not finished
	reserveMu sync.Mutex   // one receiver fills its batch at a time
	startMu   sync.Mutex   // guards stopping against jobs starting
	stopping  bool         // ctx ended: messages received now are released
	loops     atomic.Int64 // receive loops running
	acks      *acker
	beat      *heartbeat
}

// New returns a Consumer of cfg.QueueURL that hands messages to h.
func New(api SQSAPI, h Handler, cfg Config) (*Consumer, error) {
	if cfg.Slots != nil {
		cfg.Concurrency = cfg.Slots.Cap()
	}
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Consumer{cfg: cfg, api: api, handler: h, log: cfg.Logger, slots: cfg.Slots}
	if c.slots == nil {
		c.slots = newSlots(cfg.Concurrency)
	}
	c.acks = newAcker(api, cfg.QueueURL, cfg.FlushInterval, cfg.Logger)
	c.beat = newHeartbeat(c.acks, cfg.VisibilityTimeout)
	if cfg.Alive != nil {
		c.acks.alive = func() { cfg.Alive("acker") }
		c.beat.alive = func() { cfg.Alive("heartbeat") }
	}
	return c, nil
}

// Run consumes until ctx ends, then stops gracefully: no new receives,
// in-flight jobs finish within the shutdown timeout (their context is
// cancelled after it), what they did not finish is released (visible at
// once), and pending deletes are flushed. It returns nil after a clean stop.
func (c *Consumer) Run(ctx context.Context) error {
	deadline := c.cfg.ShutdownTimeout
	flushReserve := min(deadline/4, 3*time.Second)

	jobCtx, cancelJobs := context.WithCancel(WithStopping(context.WithoutCancel(ctx), ctx.Done()))
	defer cancelJobs()
	ackCtx, cancelAcks := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAcks()

	var loops sync.WaitGroup
	loops.Add(1)
	go func() { defer loops.Done(); c.acks.run(ackCtx) }()
	beatDone := make(chan struct{}) // the heartbeat hands deferred releases to the acker: it ends first
	go func() { defer close(beatDone); c.beat.run(jobCtx) }()

	// Receives in flight at the stop are not cancelled with ctx: SQS would
	// still hand their messages out, to nobody, hidden for the visibility
	// timeout. They run on while the jobs finish (the stop waits for those
	// anyway) and what they bring is released at once; they are cancelled
	// when the jobs are done, so an idle worker stops at once.
	recvCtx, cancelRecv := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRecv()

	var receivers, jobs sync.WaitGroup
	c.loops.Add(1)
	c.startReceiver(ctx, recvCtx, jobCtx, &receivers, &jobs, 0)
	<-ctx.Done()
	stopStart := time.Now()
	c.startMu.Lock()
	c.stopping = true // no job starts from here on: jobs.Wait is safe
	c.startMu.Unlock()
	c.log.Info("stopping: no new receives, waiting for in-flight jobs", zap.Int("inflight", c.beat.len()))

	done := make(chan struct{})
	go func() { jobs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(deadline - flushReserve - time.Since(stopStart)):
		c.log.Warn("shutdown timeout: cancelling in-flight jobs", zap.Int("inflight", c.beat.len()))
		cancelJobs()
		<-done
	}
	cancelRecv()
	receivers.Wait()
	cancelJobs()
	<-beatDone
	// Stop the acker last: it flushes what the jobs queued, within what is
	// left of the shutdown timeout.
	remaining := max(deadline-time.Since(stopStart), time.Second)
	flushed := c.acks.stop(remaining)
	cancelAcks()
	loops.Wait()
	if !flushed {
		return errors.New("consumer: pending deletes or releases not flushed before the shutdown timeout")
	}
	return nil
}

// startReceiver runs a receive loop, already counted in c.loops, whose first
// receive waits wait.
func (c *Consumer) startReceiver(ctx, recvCtx, jobCtx context.Context, receivers, jobs *sync.WaitGroup, wait time.Duration) {
	receivers.Add(1)
	go func() {
		defer receivers.Done()
		if !c.receiveLoop(ctx, recvCtx, jobCtx, receivers, jobs, wait) {
			c.loops.Add(-1)
		}
	}()
}

// addLoop counts one more receive loop, if fewer than Receivers run.
func (c *Consumer) addLoop() bool {
	l := c.loops.Load()
	return l < int64(c.cfg.Receivers) && c.loops.CompareAndSwap(l, l+1)
}

// dropLoop counts one receive loop less, if more than one runs.
func (c *Consumer) dropLoop() bool {
	l := c.loops.Load()
	return l > 1 && c.loops.CompareAndSwap(l, l-1)
}

// receiveLoop long-polls while ctx lives, starting a job per message. A full
// batch with room in the pool for another adds a loop (up to Receivers); an
// empty long poll ends this loop unless it is the last one.
//
// The first loop's first receive does not wait: an empty queue answers at
// once, so the worker knows SQS is reachable (readiness) without a 20 s long
// poll.
//
// ctx ends the loop; recvCtx, which outlives it during the stop, is the
// context of the receive call itself. It reports whether it ended by
// dropping itself from c.loops.
func (c *Consumer) receiveLoop(ctx, recvCtx, jobCtx context.Context, receivers, jobs *sync.WaitGroup, wait time.Duration) (dropped bool) {
	failures := newReceiveBackoff()
	for {
		c.alive()
		if err := c.gate(ctx); err != nil {
			return false
		}
		n, ok := c.reserve(ctx)
		if !ok {
			return false
		}
		msgs, err := c.receive(recvCtx, n, wait)
		if ctx.Err() == nil || err == nil {
			c.cfg.Observer.Received(len(msgs), err)
		}
		c.unreserve(n - len(msgs))
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			wait := failures.NextBackOff()
			c.log.Warn("receive failed; backing off", zap.Error(err), zap.Duration("wait", wait))
			select {
			case <-ctx.Done():
				return false
			case <-time.After(wait):
			}
			continue
		}
		failures.Reset()
		polled := wait > 0
		wait = c.cfg.WaitTime
		switch {
		case len(msgs) == c.slots.batch && c.slots.room() >= c.slots.batch && ctx.Err() == nil:
			if c.addLoop() {
				c.startReceiver(ctx, recvCtx, jobCtx, receivers, jobs, wait)
			}
		case len(msgs) == 0 && polled:
			if c.dropLoop() {
				return true
			}
		}
		if !c.start(msgs, jobCtx, jobs) {
			return false
		}
	}
}

// start runs a job per message, or, once the consumer is stopping, releases
// the messages (visible again at once) and reports false.
func (c *Consumer) start(msgs []*Message, jobCtx context.Context, jobs *sync.WaitGroup) bool {
	c.startMu.Lock()
	defer c.startMu.Unlock()
	if c.stopping {
		for _, m := range msgs {
			c.acks.changeVisibility(m, 0)
		}
		c.unreserve(len(msgs))
		if len(msgs) > 0 {
			c.log.Info("released messages received during the stop", zap.Int("messages", len(msgs)))
		}
		return false
	}
	for _, m := range msgs {
		jobs.Add(1)
		go func() {
			defer jobs.Done()
			c.process(jobCtx, m)
			c.unreserve(1) // wakes a receiver waiting for a slot
		}()
	}
	return true
}

// reserve takes the slots for one receive: a full batch when it can. The
// batch is maxBatch (with Lanes, the share's), or less if ReceiveLimit allows less with nothing in
// flight, or the pool is smaller; it reserves at most ReceiveLimit(held),
// held being the jobs in flight and the slots other receivers hold, and the
// free slots, and waits for jobs to end while the pool still holds enough
// work (see lowWater). While ReceiveLimit is below 1 it waits for jobs to end
// (it counts as 1 with nothing held). One
// receiver reserves at a time, so that under load receives come back full
// instead of several receivers sharing the slots as they free up. A receive
// never asks for more messages than the pool can start at once.
func (c *Consumer) reserve(ctx context.Context) (int, bool) {
	c.reserveMu.Lock()
	defer c.reserveMu.Unlock()
	limit := func(inflight int) int {
		if c.cfg.ReceiveLimit == nil {
			return maxBatch
		}
		return c.cfg.ReceiveLimit(inflight)
	}
	var tick *time.Ticker
	n := 0
	for {
		inflight := int(c.inflight.Load())
		held := c.slots.heldNow() - n                    // jobs, and slots other receivers hold for theirs
		hold := min(max(limit(0), 1), c.cfg.Concurrency) // the most the pool should hold
		batch := min(hold, c.slots.batch)
		room := min(limit(held), c.slots.batch)
		if held == 0 && n == 0 {
			room = max(room, 1)
		}
		for n < room && c.slots.take() {
			n++
		}
		// Below a full batch, wait for more while the pool still holds a
		// batch's worth of jobs; when the limiter, not the pool, bounds what
		// is held, the pool drains at the limiter's pace and a quarter of
		// what it may hold is ample.
		lowWater := batch
		if hold < c.cfg.Concurrency {
			lowWater = min(batch, max(hold/4, 1))
		}
		if n >= batch || (n > 0 && inflight < lowWater) {
			if tick != nil {
				tick.Stop()
			}
			return n, true
		}
		// Wait for a job to end, or for the limiter to speed up.
		if tick == nil {
			tick = time.NewTicker(50 * time.Millisecond)
		}
		c.alive()
		select {
		case <-c.slots.freed:
		case <-tick.C:
		case <-ctx.Done():
			tick.Stop()
			c.unreserve(n)
			return 0, false
		}
	}
}

func (c *Consumer) unreserve(n int) { c.slots.give(n) }

func (c *Consumer) receive(ctx context.Context, n int, wait time.Duration) ([]*Message, error) {
	// SQS answers a long poll within its wait; a connection that stalls
	// must not hang the loop (and leave /readyz at its last value).
	ctx, cancel := context.WithTimeout(ctx, wait+callTimeout)
	defer cancel()
	out, err := c.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(c.cfg.QueueURL),
		MaxNumberOfMessages:         int32(n),
		WaitTimeSeconds:             int32(wait / time.Second),
		VisibilityTimeout:           int32(c.cfg.VisibilityTimeout / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount, types.MessageSystemAttributeNameSentTimestamp},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	msgs := make([]*Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		msgs = append(msgs, toMessage(m, now))
	}
	return msgs, nil
}

func toMessage(m types.Message, now time.Time) *Message {
	msg := &Message{
		ID:            aws.ToString(m.MessageId),
		ReceiptHandle: aws.ToString(m.ReceiptHandle),
		Body:          aws.ToString(m.Body),
		Attributes:    m.MessageAttributes,
		ReceivedAt:    now,
		ReceiveCount:  1,
	}
	if v, err := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil && v > 0 {
		msg.ReceiveCount = v
	}
	if v, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		msg.SentAt = time.UnixMilli(v)
	}
	return msg
}

// process runs the handler for one message under the heartbeat, then queues
// the action the handler chose.
func (c *Consumer) process(ctx context.Context, m *Message) {
	c.inflight.Add(1)
	c.cfg.Observer.InFlight(1)
	defer func() {
		c.inflight.Add(-1)
		c.cfg.Observer.InFlight(-1)
	}()
	c.beat.track(m)
	action := c.exec(ctx, m)
	switch a := action.(type) {
	case Delete: // the heartbeat keeps it hidden until the delete is confirmed
		c.acks.delete(m, func(error) { c.beat.untrack(m) })
	case Retry:
		c.beat.release(m, func() { c.acks.changeVisibility(m, a.After) })
	}
}

// exec calls the handler; a panic releases the message instead of killing
// the process.
func (c *Consumer) exec(ctx context.Context, m *Message) (action Action) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("handler panicked; releasing the message", zap.String("msg_id", m.ID), zap.String("panic", fmt.Sprintf("%T", r)), zap.Stack("stack"))
			action = Retry{}
		}
	}()
	action = c.handler.Handle(ctx, m)
	if action == nil {
		action = Retry{}
	}
	return action
}

type nopObserver struct{}

func (nopObserver) Received(int, error) {}
func (nopObserver) InFlight(int)        {}
