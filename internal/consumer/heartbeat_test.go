package consumer

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// A finished job's message stays under the heartbeat until its delete is
// confirmed: with deletes failing for longer than the visibility timeout,
// the message is renewed meanwhile and never received a second time.
func TestHeartbeatUntilDeleteConfirmed(t *testing.T) {
	f := newFakeSQS(`{"username":"a"}`)
	var failDeletes atomic.Bool
	failDeletes.Store(true)
	f.batchErr = func(op string, _ int) error {
		if op == "delete" && failDeletes.Load() {
			return errors.New("ServiceUnavailable")
		}
		return nil
	}
	var handled atomic.Int64
	h := HandlerFunc(func(context.Context, *Message) Action { handled.Add(1); return Delete{} })
	stop := run(t, f, h, Config{Concurrency: 2, VisibilityTimeout: 2 * time.Second, FlushInterval: 100 * time.Millisecond})
	// Deletes keep failing past the 2 s visibility timeout; the heartbeat
	// must renew the finished job's message meanwhile.
	f.mustAwait(t, waitLong, "two renewals of the finished job's message", func() bool {
		n := 0
		for _, e := range f.entriesFor("visibility", "m1") {
			if !e.failed && e.secs == 2 {
				n++
			}
		}
		return n >= 2
	})
	failDeletes.Store(false)
	f.mustAwait(t, waitLong, "m1 deleted", func() bool { return f.deleted("m1") })
	if err, _ := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	f.locked(func() {
		if m := f.msg("m1"); m.receives != 1 {
			t.Errorf("m1 received %d times while its delete was pending; calls:\n%s", m.receives, f.dump())
		}
	})
	if handled.Load() != 1 {
		t.Errorf("handled %d times", handled.Load())
	}
}

// The handler sees its hold lapse: when SQS refuses the renewal, and when
// renewals fail until too little time is left.
func TestHoldLost(t *testing.T) {
	tests := []struct {
		name         string
		entryFailure func(op, handle string, try int) *types.BatchResultErrorEntry
		batchErr     func(op string, n int) error
	}{
		{name: "renewal refused", entryFailure: func(op, _ string, _ int) *types.BatchResultErrorEntry {
			if op != "visibility" {
				return nil
			}
			return &types.BatchResultErrorEntry{Code: aws.String("MessageNotInflight"), SenderFault: true}
		}},
		{name: "renewals failing", batchErr: func(op string, _ int) error {
			if op == "visibility" {
				return errors.New("connection reset")
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSQS(`{"username":"a"}`)
			f.entryFailure, f.batchErr = tt.entryFailure, tt.batchErr
			lostAfter := make(chan time.Duration, 1)
			h := HandlerFunc(func(ctx context.Context, m *Message) Action {
				if m.HoldLost() {
					t.Error("hold lost at the start")
				}
				select {
				case <-m.Lost():
					if !m.HoldLost() {
						t.Error("Lost closed but HoldLost false")
					}
					lostAfter <- time.Since(m.ReceivedAt)
				case <-time.After(waitLong):
					lostAfter <- -1
				}
				return Retry{}
			})
			stop := run(t, f, h, Config{Concurrency: 1, VisibilityTimeout: 3 * time.Second, FlushInterval: 10 * time.Millisecond})
			d := <-lostAfter
			stop()
			if d < 0 {
				t.Fatalf("the handler never saw its hold lost; calls:\n%s", f.dump())
			}
			if d > 3*time.Second {
				t.Errorf("hold reported lost after %v, past the 3 s visibility timeout", d)
			}
		})
	}
	if (&Message{}).HoldLost() {
		t.Error("an untracked message reports its hold lost")
	}
}

// A released job's visibility change is not overtaken by a renewal that was
// on its way: the release goes out after the renewal is back, and the job
// does not wait for it.
func TestReleaseAfterRenewal(t *testing.T) {
	f := newFakeSQS(`{"username":"a"}`)
	msgs := receiveAll(t, f)
	a := newAcker(f, queueURL, 5*time.Millisecond, zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.run(ctx)
	hb := newHeartbeat(a, 2*time.Second)
	m := msgs[0]
	m.ReceivedAt = time.Now().Add(-2 * time.Second) // due for renewal now
	hb.track(m)
	// Hold the renewal on the wire until the release has been asked for.
	entered := make(chan struct{})
	proceed := make(chan struct{})
	f.batchErr = func(op string, n int) error {
		if op == "visibility" && n == 1 {
			close(entered)
			f.mu.Unlock()
			<-proceed
			f.mu.Lock()
		}
		return nil
	}
	go hb.extend(ctx, time.Now())
	<-entered
	released := make(chan struct{})
	start := time.Now()
	hb.release(m, func() { a.changeVisibility(m, 0); close(released) })
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("release waited %v for the renewal", d)
	}
	select {
	case <-released:
		t.Fatal("release sent while the renewal was on its way")
	case <-time.After(50 * time.Millisecond):
	}
	close(proceed)
	<-released
	f.mustAwait(t, waitLong, "the release", func() bool { return f.count("visibility") >= 2 })
	calls := f.callsOf("visibility")
	if calls[0].entries[0].secs != 2 || calls[1].entries[0].secs != 0 {
		t.Errorf("visibility calls in the wrong order: %+v then %+v", calls[0].entries, calls[1].entries)
	}
	a.stop(waitLong)
}

// During an SQS outage the acker and heartbeat write one line per interval
// per kind, not one per failed entry.
func TestOutageLogsLimited(t *testing.T) {
	f := newFakeSQS(bodies(40)...)
	f.batchErr = func(string, int) error { return errors.New("ServiceUnavailable") }
	core, logs := observer.New(zap.WarnLevel)
	a := newAcker(f, queueURL, time.Millisecond, zap.New(core))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); a.run(ctx) }()
	for _, m := range receiveAll(t, f) {
		a.delete(m, nil)
	}
	a.stop(waitLong)
	<-done
	if n := len(f.callsOf("delete")); n < 4*maxAckTrys {
		t.Fatalf("%d delete calls, want every batch tried %d times", n, maxAckTrys)
	}
	// Kinds: retry, given up; plus the flush's summary line per kind.
	if logs.Len() > 4 {
		for _, e := range logs.All() {
			t.Log(e.Message, e.ContextMap())
		}
		t.Errorf("%d log lines for 40 failed deletes, want at most 4", logs.Len())
	}
	suppressed := int64(0)
	for _, e := range logs.All() {
		if n, ok := e.ContextMap()["suppressed"].(int64); ok {
			suppressed += n
		}
	}
	if suppressed == 0 {
		t.Error("no line says how many were suppressed")
	}
}
