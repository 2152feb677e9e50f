package processor

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/resend-worker/resend-worker/internal/consumer"
	"github.com/resend-worker/resend-worker/internal/ledger"
	"github.com/resend-worker/resend-worker/internal/resend"
	"github.com/resend-worker/resend-worker/job"
)

// busyLedger answers every claim with one status and records what ends.
type busyLedger struct {
	status         ledger.Status
	sent, released int
}

func (b *busyLedger) Claim(_ context.Context, k ledger.Key) (ledger.Claim, error) {
	return ledger.Claim{Status: b.status, Key: k}, nil
}
func (b *busyLedger) Sent(context.Context, ledger.Claim)    { b.sent++ }
func (b *busyLedger) Release(context.Context, ledger.Claim) { b.released++ }

// A user held by another worker: no call, the job goes back to the queue
// with the requeue delay, to see that job's outcome later.
func TestBusyClaimRequeuesWithoutACall(t *testing.T) {
	r := newRig(ok)
	l := &busyLedger{status: ledger.Busy}
	r.p.cooldown = l
	got := r.p.Handle(context.Background(), msg(aliceJob, 2))
	if got != (consumer.Retry{After: 60 * time.Second}) || r.sender.calls != 0 {
		t.Errorf("busy: action %#v after %d calls; want Retry{60s} after none", got, r.sender.calls)
	}
	if n := r.logs.FilterField(zap.String("error_code", ErrorCodeClaimBusy)).FilterField(zap.String("outcome", "requeued")).Len(); n != 1 {
		t.Errorf("%d requeued/ClaimBusy lines, want 1", n)
	}
	if l.sent+l.released != 0 {
		t.Errorf("a claim not held was ended (sent %d, released %d)", l.sent, l.released)
	}
}

// Unguarded (the table down): the job proceeds and ends its claim.
func TestUnguardedClaimProceeds(t *testing.T) {
	r := newRig(ok)
	l := &busyLedger{status: ledger.Unguarded}
	r.p.cooldown = l
	if got := r.p.Handle(context.Background(), msg(aliceJob, 1)); got != (consumer.Delete{}) || r.sender.calls != 1 || l.sent != 1 {
		t.Errorf("unguarded: action %#v, %d calls, %d sent-marks; want Delete, 1, 1", got, r.sender.calls, l.sent)
	}
}

// A failed job releases its claim: the next job for the user calls again.
func TestFailureReleasesTheClaim(t *testing.T) {
	r := newRig(fail(resend.PermanentClass, "InternalErrorException", "boom"))
	r.p.Handle(context.Background(), msg(aliceJob, 1))
	if len(r.dlq.failures) != 1 {
		t.Fatalf("first job: %d dead-lettered, want 1", len(r.dlq.failures))
	}
	r.sender.script = append(r.sender.script, ok)
	calls := r.sender.calls
	if got := r.p.Handle(context.Background(), msg(aliceJob, 2)); got != (consumer.Delete{}) || r.sender.calls != calls+1 {
		t.Errorf("second job: %#v after %d calls, want Delete after %d", got, r.sender.calls, calls+1)
	}
}

// gateSender blocks every call until release is closed and counts them.
type gateSender struct {
	calls   atomic.Int32
	started chan struct{}
	release chan struct{}
}

func (g *gateSender) Send(ctx context.Context, _ job.Job) (resend.Outcome, error) {
	g.calls.Add(1)
	g.started <- struct{}{}
	<-g.release
	return resend.Resent, nil
}

// Two jobs for one user at once in one process (one receive batch): one
// call; the second waits for the first's outcome and is deduplicated.
func TestConcurrentJobsForOneUserMakeOneCall(t *testing.T) {
	r := newRig(ok)
	g := &gateSender{started: make(chan struct{}, 2), release: make(chan struct{})}
	r.p.sender = g
	var wg sync.WaitGroup
	actions := make([]consumer.Action, 2)
	for i := range actions {
		wg.Add(1)
		go func() { defer wg.Done(); actions[i] = r.p.Handle(context.Background(), msg(aliceJob, 1)) }()
	}
	<-g.started // one call is in progress; the other job waits on the claim
	close(g.release)
	wg.Wait()
	if g.calls.Load() != 1 || actions[0] != (consumer.Delete{}) || actions[1] != (consumer.Delete{}) {
		t.Errorf("%d calls, actions %#v; want 1 call and two deletes", g.calls.Load(), actions)
	}
	if n := r.logs.FilterField(zap.String("outcome", "deduplicated")).Len(); n != 1 {
		t.Errorf("%d deduplicated, want 1", n)
	}
}
