package processor

import (
	"context"
	"testing"
	"time"

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
	permanent := fail(resend.PermanentClass, "UserNotFoundException", "no such user")
	transient := fail(resend.TransientClass, "InternalErrorException", "boom")
	throttled := fail(resend.ThrottledClass, "TooManyRequestsException", "Rate exceeded")
	tests := []struct {
		name         string
		body         string
		receiveCount int
		script       []func() (resend.Outcome, error)
		observed     bool
	}{
		{"resent", aliceJob, 1, []func() (resend.Outcome, error){ok}, true},
		{"already confirmed", aliceJob, 1, []func() (resend.Outcome, error){confirmed}, true},
		{"permanent", aliceJob, 1, []func() (resend.Outcome, error){permanent}, true},
		{"resent after transient errors", aliceJob, 1, []func() (resend.Outcome, error){transient, transient, ok}, true},
		{"resent after a throttle", aliceJob, 1, []func() (resend.Outcome, error){throttled, ok}, true},
		{"requeued", aliceJob, 1, []func() (resend.Outcome, error){transient}, false},
		{"exhausted", aliceJob, 3, []func() (resend.Outcome, error){transient}, false},
		{"invalid", `{}`, 1, []func() (resend.Outcome, error){ok}, false},
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
			m := msg(tt.body, tt.receiveCount)
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

func TestDeadLetteredCopyNamesTheLane(t *testing.T) {
	r := newRig(fail(resend.PermanentClass, "UserNotFoundException", "no such user"))
	r.p.cfg.Lane = "bulk"
	r.p.Handle(context.Background(), msg(aliceJob, 1))
	if len(r.dlq.failures) != 1 || r.dlq.failures[0].SourceQueue != "bulk" {
		t.Fatalf("dead-lettered %+v, want one with SourceQueue bulk", r.dlq.failures)
	}
}
