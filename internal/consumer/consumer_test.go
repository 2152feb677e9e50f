package consumer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const queueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"

// waitLong bounds every wait for something that should happen soon.
const waitLong = 10 * time.Second

func bodies(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"username":"u%d"}`, i)
	}
	return out
}

// countingObserver checks the Observer calls: in-flight never negative nor
// above the limit, and back at zero at the end.
type countingObserver struct {
	inflight, peak atomic.Int64
	received       atomic.Int64
	receiveErrs    atomic.Int64
}

func (o *countingObserver) Received(n int, err error) {
	o.received.Add(int64(n))
	if err != nil {
		o.receiveErrs.Add(1)
	}
}

func (o *countingObserver) InFlight(d int) {
	v := o.inflight.Add(int64(d))
	for {
		p := o.peak.Load()
		if v <= p || o.peak.CompareAndSwap(p, v) {
			break
		}
	}
}

// run starts c.Run and returns a stop function that cancels it and returns
// Run's error and how long the stop took.
func run(t *testing.T, api SQSAPI, h Handler, cfg Config) (stop func() (error, time.Duration)) {
	t.Helper()
	cfg.QueueURL = queueURL
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	c, err := New(api, h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var res error
	var took time.Duration
	stop = func() (error, time.Duration) {
		once.Do(func() {
			start := time.Now()
			cancel()
			select {
			case res = <-done:
				took = time.Since(start)
			case <-time.After(waitLong + cfg.ShutdownTimeout):
				t.Fatalf("Run did not return after cancel")
			}
		})
		return res, took
	}
	t.Cleanup(func() { stop() })
	return stop
}

func TestNewValidates(t *testing.T) {
	if _, err := New(newFakeSQS(), HandlerFunc(func(context.Context, *Message) Action { return Delete{} }), Config{}); err == nil {
		t.Fatal("New without QueueURL succeeded")
	}
}

func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		in            Config
		wantReceivers int
		wantVis       time.Duration
	}{
		{Config{}, 2, 30 * time.Second},
		{Config{Concurrency: 1}, 1, 30 * time.Second},
		{Config{Concurrency: 10}, 1, 30 * time.Second},
		{Config{Concurrency: 11}, 2, 30 * time.Second},
		{Config{Concurrency: 1000}, 8, 30 * time.Second},
		{Config{Receivers: 3, VisibilityTimeout: time.Second}, 3, 2 * time.Second},
	}
	for _, tt := range tests {
		c := tt.in.WithDefaults()
		if c.Receivers != tt.wantReceivers || c.VisibilityTimeout != tt.wantVis {
			t.Errorf("%+v.WithDefaults(): Receivers %d, VisibilityTimeout %v; want %d, %v", tt.in, c.Receivers, c.VisibilityTimeout, tt.wantReceivers, tt.wantVis)
		}
		if c.Concurrency < 1 || c.WaitTime != 20*time.Second || c.ShutdownTimeout <= 0 || c.FlushInterval <= 0 || c.Logger == nil || c.Observer == nil {
			t.Errorf("%+v.WithDefaults() = %+v: unset fields left", tt.in, c)
		}
	}
}

// (a) A receive never asks for more messages than there are free slots, and
// no more than Concurrency messages are ever held.
func TestReceiveNeverExceedsFreeSlots(t *testing.T) {
	const concurrency, total = 3, 8
	f := newFakeSQS(bodies(total)...)
	var finished, running, peak atomic.Int64
	var violations []string
	var vmu sync.Mutex
	f.onReceive = func(in *sqs.ReceiveMessageInput) {
		var delivered int64
		f.locked(func() {
			for _, c := range f.calls {
				delivered += int64(len(c.got))
			}
		})
		held := delivered - finished.Load() // a lower bound of what the consumer holds
		if int64(in.MaxNumberOfMessages) > concurrency-held || held > concurrency {
			vmu.Lock()
			violations = append(violations, fmt.Sprintf("asked for %d with %d held", in.MaxNumberOfMessages, held))
			vmu.Unlock()
		}
	}
	started := make(chan string, total)
	release := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, m *Message) Action {
		v := running.Add(1)
		for p := peak.Load(); v > p && !peak.CompareAndSwap(p, v); p = peak.Load() {
		}
		started <- m.ID
		<-release
		running.Add(-1)
		finished.Add(1)
		return Delete{}
	})
	obs := &countingObserver{}
	stop := run(t, f, h, Config{Concurrency: concurrency, Receivers: 2, FlushInterval: 10 * time.Millisecond, Observer: obs})

	waitStarted := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			select {
			case <-started:
			case <-time.After(waitLong):
				t.Fatalf("only %d of %d handlers started", i, n)
			}
		}
	}
	waitStarted(concurrency)
	for i := 0; i < total; i++ {
		release <- struct{}{} // one job ends...
		if i < total-concurrency {
			waitStarted(1) // ...and exactly one slot's worth starts
		}
	}
	f.mustAwait(t, waitLong, "all deleted", f.allDeleted)
	if err, _ := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}

	vmu.Lock()
	defer vmu.Unlock()
	for _, v := range violations {
		t.Error(v)
	}
	if p := peak.Load(); p > concurrency {
		t.Errorf("%d handlers ran at once, Concurrency %d", p, concurrency)
	}
	if p := obs.peak.Load(); p > concurrency || obs.inflight.Load() != 0 {
		t.Errorf("observer: peak in flight %d, end %d", p, obs.inflight.Load())
	}
	ones := 0
	for _, c := range f.callsOf("receive") {
		if c.max < 1 || c.max > concurrency {
			t.Errorf("receive asked for %d", c.max)
		}
		if c.max == 1 && len(c.got) == 1 {
			ones++
		}
	}
	// Once the pool is full each finished job frees one slot: the receives
	// that follow ask for one message.
	if ones < total-concurrency-1 {
		t.Errorf("%d receives of one message, want about %d; calls:\n%s", ones, total-concurrency, f.dump())
	}
	if obs.received.Load() != total {
		t.Errorf("observer saw %d received, want %d", obs.received.Load(), total)
	}
}

// (b) Deletes go out in batches of at most 10.
func TestDeletesAreBatched(t *testing.T) {
	const total = 20
	f := newFakeSQS(bodies(total)...)
	h := HandlerFunc(func(context.Context, *Message) Action { return Delete{} })
	// A long FlushInterval: batches go out when full.
	stop := run(t, f, h, Config{Concurrency: total, FlushInterval: time.Hour})
	f.mustAwait(t, waitLong, "20 deletes", f.allDeleted)
	if err, _ := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	calls := f.callsOf("delete")
	handles := map[string]bool{}
	n := 0
	for _, c := range calls {
		if len(c.entries) > 10 || len(c.entries) == 0 {
			t.Errorf("DeleteMessageBatch with %d entries", len(c.entries))
		}
		for _, e := range c.entries {
			if handles[e.handle] {
				t.Errorf("handle %s deleted twice", e.handle)
			}
			handles[e.handle] = true
			n++
		}
	}
	if len(calls) != 2 || n != total {
		t.Errorf("%d DeleteMessageBatch calls with %d entries, want 2 with %d", len(calls), n, total)
	}
}

// (c) Failed delete entries are retried unless they cannot succeed.
func TestDeleteEntryFailures(t *testing.T) {
	internal := func(try int) *types.BatchResultErrorEntry {
		return &types.BatchResultErrorEntry{Code: aws.String("InternalError"), SenderFault: false}
	}
	tests := []struct {
		name         string
		entryFailure func(try int) *types.BatchResultErrorEntry
		batchErr     func(n int) error
		wantTries    int
		wantDeleted  bool
	}{
		{name: "no failure", wantTries: 1, wantDeleted: true},
		{name: "server fault once, then deleted", entryFailure: func(try int) *types.BatchResultErrorEntry {
			if try == 1 {
				return internal(try)
			}
			return nil
		}, wantTries: 2, wantDeleted: true},
		{name: "InternalError reported as sender fault still retried", entryFailure: func(try int) *types.BatchResultErrorEntry {
			if try == 1 {
				return &types.BatchResultErrorEntry{Code: aws.String("InternalError"), SenderFault: true}
			}
			return nil
		}, wantTries: 2, wantDeleted: true},
		{name: "ReceiptHandleIsInvalid not retried", entryFailure: func(int) *types.BatchResultErrorEntry {
			return &types.BatchResultErrorEntry{Code: aws.String("ReceiptHandleIsInvalid"), SenderFault: true}
		}, wantTries: 1},
		{name: "always failing: given up after maxAckTrys", entryFailure: internal, wantTries: maxAckTrys},
		{name: "whole call fails once", batchErr: func(n int) error {
			if n == 1 {
				return errors.New("ServiceUnavailable")
			}
			return nil
		}, wantTries: 2, wantDeleted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSQS(`{"username":"a"}`)
			if tt.entryFailure != nil {
				f.entryFailure = func(op, _ string, try int) *types.BatchResultErrorEntry {
					if op != "delete" {
						return nil
					}
					return tt.entryFailure(try)
				}
			}
			if tt.batchErr != nil {
				f.batchErr = func(op string, n int) error {
					if op != "delete" {
						return nil
					}
					return tt.batchErr(n)
				}
			}
			h := HandlerFunc(func(context.Context, *Message) Action { return Delete{} })
			stop := run(t, f, h, Config{Concurrency: 1, FlushInterval: 10 * time.Millisecond})
			f.mustAwait(t, waitLong, fmt.Sprintf("%d delete tries", tt.wantTries), func() bool { return len(f.entriesFor("delete", "m1")) >= tt.wantTries })
			// Stopping flushes whatever is still pending: afterwards the
			// count is final.
			if err, _ := stop(); err != nil {
				t.Fatalf("Run = %v", err)
			}
			var tries int
			f.locked(func() { tries = len(f.entriesFor("delete", "m1")) })
			if tries != tt.wantTries {
				t.Errorf("%d delete tries, want %d; calls:\n%s", tries, tt.wantTries, f.dump())
			}
			var deleted bool
			f.locked(func() { deleted = f.deleted("m1") })
			if deleted != tt.wantDeleted {
				t.Errorf("deleted = %v, want %v", deleted, tt.wantDeleted)
			}
		})
	}
}

// (d), (h) What each action does to the message.
func TestActions(t *testing.T) {
	tests := []struct {
		name       string
		handle     func(ctx context.Context, m *Message) Action
		wantDelete bool
		wantSecs   int32 // for a visibility change
		wantPanic  bool  // an error log says the handler panicked
	}{
		{name: "Delete", handle: func(context.Context, *Message) Action { return Delete{} }, wantDelete: true},
		{name: "Retry after 7s", handle: func(context.Context, *Message) Action { return Retry{After: 7 * time.Second} }, wantSecs: 7},
		{name: "Retry after 15m", handle: func(context.Context, *Message) Action { return Retry{After: 15 * time.Minute} }, wantSecs: 900},
		{name: "Retry at once", handle: func(context.Context, *Message) Action { return Retry{} }, wantSecs: 0},
		{name: "Retry rounds down to seconds", handle: func(context.Context, *Message) Action { return Retry{After: 1500 * time.Millisecond} }, wantSecs: 1},
		{name: "negative Retry is at once", handle: func(context.Context, *Message) Action { return Retry{After: -time.Minute} }, wantSecs: 0},
		{name: "nil action releases", handle: func(context.Context, *Message) Action { return nil }, wantSecs: 0},
		{name: "panic releases", handle: func(context.Context, *Message) Action { panic("boom") }, wantSecs: 0, wantPanic: true},
		{name: "panic with an error releases", handle: func(context.Context, *Message) Action { panic(errors.New("boom")) }, wantSecs: 0, wantPanic: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSQS(`{"username":"a"}`)
			var got *Message
			var once sync.Once
			h := HandlerFunc(func(ctx context.Context, m *Message) Action {
				once.Do(func() { got = m })
				return tt.handle(ctx, m)
			})
			// A released message comes back: only the first receive's
			// handle counts.
			first := func(es []struct {
				seq int
				entry
			}) (out []entry) {
				for _, e := range es {
					if e.handle == "rh-m1-1" {
						out = append(out, e.entry)
					}
				}
				return out
			}
			core, logs := observer.New(zap.ErrorLevel)
			stop := run(t, f, h, Config{Concurrency: 1, FlushInterval: 10 * time.Millisecond, Logger: zap.New(core)})
			f.mustAwait(t, waitLong, "the action", func() bool {
				return len(first(f.entriesFor("delete", "m1")))+len(first(f.entriesFor("visibility", "m1"))) > 0
			})
			if err, _ := stop(); err != nil {
				t.Fatalf("Run = %v", err)
			}
			var dels, vis int
			var secs int32 = -1
			f.locked(func() {
				dels = len(first(f.entriesFor("delete", "m1")))
				for _, e := range first(f.entriesFor("visibility", "m1")) {
					vis++
					secs = e.secs
				}
			})
			if tt.wantDelete {
				if dels != 1 || vis != 0 {
					t.Errorf("%d deletes, %d visibility changes; want 1 delete", dels, vis)
				}
			} else if dels != 0 || vis != 1 || secs != tt.wantSecs {
				t.Errorf("%d deletes, %d visibility changes (last %ds); want one change to %ds", dels, vis, secs, tt.wantSecs)
			}
			// The message as the handler saw it.
			if got == nil || got.ID != "m1" || got.ReceiptHandle != "rh-m1-1" || got.Body != `{"username":"a"}` || got.ReceiveCount != 1 ||
				got.SentAt.UnixMilli() != 1700000000000 || aws.ToString(got.Attributes["trace"].StringValue) != "t-m1" || got.ReceivedAt.IsZero() {
				t.Errorf("handler got %+v", got)
			}
			panicked := logs.FilterMessageSnippet("panicked").Len()
			if (panicked > 0) != tt.wantPanic {
				t.Errorf("%d panic logs, want a log: %v", panicked, tt.wantPanic)
			}
		})
	}
}

// (e) The heartbeat extends a long job's visibility before it runs out, and
// stops with the job.
func TestHeartbeat(t *testing.T) {
	f := newFakeSQS(`{"username":"long"}`)
	extensions := func(id string) int {
		n := 0
		for _, e := range f.entriesFor("visibility", id) {
			if e.secs == 2 && !e.failed {
				n++
			}
		}
		return n
	}
	var failures atomic.Int64
	h := HandlerFunc(func(ctx context.Context, m *Message) Action {
		// m1 runs until extended twice: past its first 2 s of
		// visibility. m2 until extended once.
		want := 2
		if m.ID == "m2" {
			want = 1
		}
		if !f.await(waitLong, func() bool { return extensions(m.ID) >= want }) {
			failures.Add(1)
		}
		return Delete{}
	})
	// Concurrency 2: a receiver keeps polling, and would get m1 again if
	// its visibility ran out.
	stop := run(t, f, h, Config{Concurrency: 2, VisibilityTimeout: 2 * time.Second, FlushInterval: 10 * time.Millisecond})
	f.mustAwait(t, waitLong, "m1 deleted", func() bool { return f.deleted("m1") })
	start := time.Now()
	f.add(`{"username":"second"}`)
	// m2's own extension proves the heartbeat kept ticking after m1 ended.
	f.mustAwait(t, waitLong, "m2 deleted", func() bool { return f.deleted("m2") })
	if err, _ := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if failures.Load() > 0 {
		t.Fatalf("a job saw no extension; calls:\n%s", f.dump())
	}
	f.locked(func() {
		if m := f.msg("m1"); m.receives != 1 {
			t.Errorf("m1 received %d times: its visibility ran out while it ran", m.receives)
		}
		del := f.entriesFor("delete", "m1")
		if len(del) != 1 {
			t.Fatalf("m1 deleted %d times", len(del))
		}
		ext := f.entriesFor("visibility", "m1")
		if len(ext) < 2 {
			t.Errorf("m1 extended %d times, want at least 2", len(ext))
		}
		for _, e := range ext {
			// The heartbeat renews a finished job's message until its
			// delete is confirmed: a renewal racing the delete may land
			// after it, and must then fail, not hide the message again.
			if e.seq > del[0].seq && !e.failed {
				t.Errorf("m1 extended (call #%d) after its delete (call #%d)", e.seq, del[0].seq)
			}
			if e.secs != 2 {
				t.Errorf("extension to %ds, want the visibility timeout 2s", e.secs)
			}
		}
	})
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("m2 done after %v: it cannot have been extended", d)
	}
}

// (f) Graceful stop: in-flight jobs get the shutdown timeout, then their
// context ends; what they did not finish is released, pending deletes are
// flushed, nothing else happens.
func TestGracefulStop(t *testing.T) {
	f := newFakeSQS(`{"username":"blocks"}`, `{"username":"quick"}`)
	blocked := make(chan struct{})
	quickDone := make(chan struct{})
	var cancelledAfter atomic.Int64
	var stopAt atomic.Value
	h := HandlerFunc(func(ctx context.Context, m *Message) Action {
		if m.ID == "m2" {
			defer close(quickDone)
			return Delete{}
		}
		close(blocked)
		<-ctx.Done()
		if at, ok := stopAt.Load().(time.Time); ok {
			cancelledAfter.Store(int64(time.Since(at)))
		}
		return Retry{}
	})
	// A long FlushInterval: m2's delete waits in the acker until the stop.
	stop := run(t, f, h, Config{Concurrency: 2, ShutdownTimeout: time.Second, FlushInterval: time.Hour})
	for _, ch := range []chan struct{}{blocked, quickDone} {
		select {
		case <-ch:
		case <-time.After(waitLong):
			t.Fatal("jobs did not start")
		}
	}
	var before int
	f.locked(func() { before = len(f.entriesFor("delete", "m2")) })
	if before != 0 {
		t.Fatalf("m2 deleted before the stop despite the FlushInterval")
	}
	var seqAtStop int
	f.locked(func() { seqAtStop = f.seq })
	stopAt.Store(time.Now())
	err, took := stop()
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if took > 1500*time.Millisecond {
		t.Errorf("stop took %v with a 1s shutdown timeout", took)
	}
	if d := time.Duration(cancelledAfter.Load()); d < 500*time.Millisecond || d > time.Second {
		t.Errorf("job cancelled %v after the stop, want most of the 1s timeout", d)
	}
	f.locked(func() {
		var ops []string
		for _, c := range f.calls {
			if c.seq <= seqAtStop || c.op == "receive" {
				continue
			}
			for _, e := range c.entries {
				ops = append(ops, fmt.Sprintf("%s %s %d", c.op, e.handle, e.secs))
			}
		}
		want := map[string]bool{"visibility rh-m1-1 0": true, "delete rh-m2-1 0": true}
		if len(ops) != 2 || !want[ops[0]] || !want[ops[1]] {
			t.Errorf("after the stop: %v, want m1 released and m2 deleted only", ops)
		}
		if !f.deleted("m2") || f.deleted("m1") {
			t.Errorf("m1 deleted %v, m2 deleted %v", f.deleted("m1"), f.deleted("m2"))
		}
		for _, c := range f.calls {
			if c.op == "receive" && c.at.After(stopAt.Load().(time.Time)) && c.err == nil {
				t.Errorf("receive #%d after the stop", c.seq)
			}
		}
	})
}

// A job that finishes within the shutdown timeout is not cancelled; the
// receive that was long-polling at the stop is not cancelled while jobs run,
// and a message it brings during the stop is released at once, not hidden.
func TestGracefulStopWaitsForJobs(t *testing.T) {
	f := newFakeSQS(`{"username":"a"}`)
	started := make(chan struct{})
	finish := make(chan struct{})
	var ctxErr atomic.Value
	h := HandlerFunc(func(ctx context.Context, m *Message) Action {
		if m.ID != "m1" {
			t.Errorf("job started for %s during the stop", m.ID)
			return Retry{}
		}
		close(started)
		<-finish
		ctxErr.Store(fmt.Sprint(ctx.Err()))
		return Delete{}
	})
	core, logs := observer.New(zap.InfoLevel)
	// Concurrency 2: a receiver is long-polling when the stop comes.
	stop := run(t, f, h, Config{Concurrency: 2, ShutdownTimeout: 5 * time.Second, FlushInterval: time.Hour, Logger: zap.New(core)})
	<-started
	f.mustAwait(t, waitLong, "a long poll", func() bool { return f.count("receive") >= 2 })
	res := make(chan error, 1)
	go func() { err, _ := stop(); res <- err }()
	// The stop has begun: a message arrives for the pending long poll.
	deadline := time.Now().Add(waitLong)
	for logs.FilterMessageSnippet("stopping").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the consumer did not start stopping")
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.add(`{"username":"late"}`)
	f.mustAwait(t, waitLong, "the pending long poll to bring the late message", func() bool {
		for _, c := range f.calls { // f is locked inside await
			if c.op == "receive" && len(c.got) > 0 && c.got[0] == "m2" {
				return true
			}
		}
		return false
	})
	close(finish)
	if err := <-res; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := ctxErr.Load(); got != "<nil>" {
		t.Errorf("job's ctx.Err() = %v, want nil: it finished within the timeout", got)
	}
	f.locked(func() {
		if !f.deleted("m1") {
			t.Error("m1 not deleted at the stop")
		}
		if e := f.entriesFor("visibility", "m2"); len(e) != 1 || e[0].secs != 0 {
			t.Errorf("m2 visibility changes %+v, want one to 0", e)
		}
	})
}

// (g) Failed receives back off instead of hammering SQS.
func TestReceiveErrorsBackOff(t *testing.T) {
	f := newFakeSQS()
	f.receiveErr = func(int) error { return errors.New("AccessDenied") }
	obs := &countingObserver{}
	stop := run(t, f, HandlerFunc(func(context.Context, *Message) Action { return Delete{} }), Config{Concurrency: 1, Observer: obs})
	// Backoff from 100ms, ×1.5, ±50%: at most 7 calls in the first second.
	// A hot loop would make thousands.
	window := time.NewTimer(time.Second)
	<-window.C
	if err, _ := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	n := len(f.callsOf("receive"))
	if n < 2 || n > 10 {
		t.Errorf("%d receives in 1s of errors, want 2..10", n)
	}
	if obs.receiveErrs.Load() != int64(n) {
		t.Errorf("observer saw %d receive errors, want %d", obs.receiveErrs.Load(), n)
	}
}

// After errors, a successful receive resumes normal work.
func TestReceiveRecoversAfterErrors(t *testing.T) {
	f := newFakeSQS(bodies(3)...)
	f.receiveErr = func(n int) error {
		if n <= 2 {
			return errors.New("ServiceUnavailable")
		}
		return nil
	}
	stop := run(t, f, HandlerFunc(func(context.Context, *Message) Action { return Delete{} }), Config{Concurrency: 4, FlushInterval: 10 * time.Millisecond})
	f.mustAwait(t, waitLong, "all deleted", f.allDeleted)
	if err, _ := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// (i) ReceiveLimit caps what a receive asks for.
func TestReceiveLimit(t *testing.T) {
	tests := []struct {
		name    string
		limit   int
		wantMax int32
	}{
		{"limit 2", 2, 2},
		{"limit 0 counts as 1", 0, 1},
		{"negative counts as 1", -4, 1},
		{"limit above 10 is 10", 50, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const total = 12
			f := newFakeSQS(bodies(total)...)
			var called atomic.Int64
			limit := func(inflight int) int {
				called.Add(1)
				if inflight < 0 || inflight > 16 {
					t.Errorf("ReceiveLimit(%d)", inflight)
				}
				return tt.limit
			}
			stop := run(t, f, HandlerFunc(func(context.Context, *Message) Action { return Delete{} }),
				Config{Concurrency: 16, Receivers: 1, ReceiveLimit: limit, FlushInterval: 10 * time.Millisecond})
			f.mustAwait(t, waitLong, "all deleted", f.allDeleted)
			if err, _ := stop(); err != nil {
				t.Fatalf("Run = %v", err)
			}
			if called.Load() == 0 {
				t.Fatal("ReceiveLimit never called")
			}
			var peak int32
			for _, c := range f.callsOf("receive") {
				if c.max > tt.wantMax {
					t.Errorf("receive asked for %d, cap %d", c.max, tt.wantMax)
				}
				peak = max(peak, c.max)
			}
			if peak != tt.wantMax {
				t.Errorf("largest receive %d, want %d", peak, tt.wantMax)
			}
		})
	}
}

// The first receive does not long-poll (readiness); later ones do.
func TestFirstReceiveDoesNotWait(t *testing.T) {
	f := newFakeSQS()
	stop := run(t, f, HandlerFunc(func(context.Context, *Message) Action { return Delete{} }), Config{Concurrency: 1})
	f.mustAwait(t, waitLong, "a second receive", func() bool { return f.count("receive") >= 2 })
	stop()
	calls := f.callsOf("receive")
	if calls[0].wait != 0 || calls[1].wait != 20 {
		t.Errorf("WaitTimeSeconds %d then %d, want 0 then 20", calls[0].wait, calls[1].wait)
	}
	if calls[0].vis != 30 {
		t.Errorf("VisibilityTimeout %d, want 30", calls[0].vis)
	}
}
