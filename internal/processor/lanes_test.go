package processor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/resend-worker/resend-worker/internal/consumer"
	"github.com/resend-worker/resend-worker/internal/resend"
)

// latencyObserver records EnqueueToCall.
type latencyObserver struct {
	NopObserver
	got []time.Duration
}

func (o *latencyObserver) EnqueueToCall(d time.Duration) { o.got = append(o.got, d) }

// The enqueue-to-call time runs from SentTimestamp to the start of the call
// that resolved the job; calls retried after a throttle or a transient error
// do not count, and a job no call resolved is not observed.
func TestEnqueueToCall(t *testing.T) {
	type script = []func() (resend.Outcome, error)
	boom := fail(resend.TransientClass, "InternalErrorException", "boom")
	tests := []struct {
		name     string
		script   script
		receive  int // ApproximateReceiveCount
		observed bool
	}{
		{"resent", script{ok}, 1, true},
		{"already confirmed", script{confirmed}, 1, true},
		{"permanent", script{fail(resend.PermanentClass, "UserNotFoundException", "no such user")}, 1, true},
		{"resent after transient errors", script{boom, boom, ok}, 1, true},
		{"resent after a throttle", script{fail(resend.ThrottledClass, "TooManyRequestsException", "slow down"), ok}, 1, true},
		{"requeued", script{boom}, 1, false},
		{"exhausted", script{boom}, 3, false},
		{"invalid job", script{ok}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig()
			var lastCall time.Time
			for _, step := range tt.script {
				r.sender.script = append(r.sender.script, func() (resend.Outcome, error) {
					lastCall = r.p.now()
					return step()
				})
			}
			obs := &latencyObserver{}
			r.p.obs = obs
			body := aliceJob
			if tt.name == "invalid job" {
				body = `{}`
			}
			m := msg(body, tt.receive)
			m.SentAt = r.p.now().Add(-5 * time.Second)
			r.p.Handle(context.Background(), m)
			if !tt.observed {
				if len(obs.got) != 0 {
					t.Fatalf("observed %v, want nothing", obs.got)
				}
				return
			}
			if len(obs.got) != 1 {
				t.Fatalf("observed %v, want one value", obs.got)
			}
			if want := lastCall.Sub(m.SentAt); obs.got[0] != want {
				t.Errorf("enqueue-to-call %v, want %v (the resolving call's start)", obs.got[0], want)
			}
		})
	}
}

func TestEnqueueToCallNeedsSentTimestamp(t *testing.T) {
	r := newRig(ok)
	obs := &latencyObserver{}
	r.p.obs = obs
	r.p.Handle(context.Background(), msg(aliceJob, 1)) // no SentAt
	if len(obs.got) != 0 {
		t.Fatalf("observed %v without a SentTimestamp", obs.got)
	}
}

func TestEnqueueToCallNotToldWhenTheDLQRefuses(t *testing.T) {
	r := newRig(fail(resend.PermanentClass, "UserNotFoundException", "no such user"))
	r.dlq.err = errors.New("no such queue")
	obs := &latencyObserver{}
	r.p.obs = obs
	m := msg(aliceJob, 1)
	m.SentAt = r.p.now().Add(-time.Second)
	if got := r.p.Handle(context.Background(), m); got == (consumer.Delete{}) {
		t.Fatal("deleted although the DLQ refused the copy")
	}
	if len(obs.got) != 0 {
		t.Fatalf("observed %v for a job back on the queue", obs.got)
	}
}

func TestDeadLetteredCopyNamesTheLane(t *testing.T) {
	r := newRig(fail(resend.PermanentClass, "UserNotFoundException", "no such user"))
	r.p.cfg.Lane = "bulk"
	r.p.Handle(context.Background(), msg(aliceJob, 1))
	if len(r.dlq.failures) != 1 || r.dlq.failures[0].SourceQueue != "bulk" {
		t.Fatalf("dead-lettered %+v, want one with SourceQueue bulk", r.dlq.failures)
	}
}
