package processor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/cenkalti/backoff/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/resend-worker/resend-worker/internal/breaker"
	"github.com/resend-worker/resend-worker/internal/consumer"
	"github.com/resend-worker/resend-worker/internal/dlq"
	"github.com/resend-worker/resend-worker/internal/ledger"
	"github.com/resend-worker/resend-worker/internal/ratelimit"
	"github.com/resend-worker/resend-worker/internal/redact"
	"github.com/resend-worker/resend-worker/internal/resend"
	"github.com/resend-worker/resend-worker/internal/retry"
	"github.com/resend-worker/resend-worker/job"
)

// fakeSender answers from a script, one entry per call; the last repeats.
type fakeSender struct {
	script []func() (resend.Outcome, error)
	calls  int
}

func (f *fakeSender) Send(ctx context.Context, _ job.Job) (resend.Outcome, error) {
	i := min(f.calls, len(f.script)-1)
	f.calls++
	if err := ctx.Err(); err != nil {
		return 0, &resend.Error{Class: resend.TransientClass, Code: "Cancelled", Err: err}
	}
	return f.script[i]()
}

func ok() (resend.Outcome, error)        { return resend.Resent, nil }
func confirmed() (resend.Outcome, error) { return resend.AlreadyConfirmed, nil }
func fail(class resend.Class, code, msg string) func() (resend.Outcome, error) {
	return func() (resend.Outcome, error) { return 0, &resend.Error{Class: class, Code: code, Message: msg} }
}

type fakeDLQ struct {
	err      error
	failures []dlq.Failure
	bodies   []string
}

func (f *fakeDLQ) Write(_ context.Context, body string, _ map[string]types.MessageAttributeValue, fl dlq.Failure) error {
	if f.err != nil {
		return f.err
	}
	f.bodies = append(f.bodies, body)
	f.failures = append(f.failures, fl)
	return nil
}

// fakeLimiter lets every call start and counts the results reported.
type fakeLimiter struct {
	mu                           sync.Mutex
	started                      int
	throttled, succeeded, failed int
}

func (l *fakeLimiter) Acquire(ctx context.Context) (func(ratelimit.Result), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.started++
	l.mu.Unlock()
	var once sync.Once
	return func(r ratelimit.Result) {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			switch r {
			case ratelimit.Succeeded:
				l.succeeded++
			case ratelimit.Throttled:
				l.throttled++
			default:
				l.failed++
			}
		})
	}, nil
}

// instantTimer fires at once and moves the fake clock by the wait.
type instantTimer struct {
	clock *fakeClock
	c     chan time.Time
}

func (t *instantTimer) Start(d time.Duration) {
	t.clock.advance(d)
	t.c = make(chan time.Time, 1)
	t.c <- t.clock.Now()
}
func (t *instantTimer) Stop()               {}
func (t *instantTimer) C() <-chan time.Time { return t.c }

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type rig struct {
	p       *Processor
	sender  *fakeSender
	dlq     *fakeDLQ
	limiter *fakeLimiter
	logs    *observer.ObservedLogs
}

func newRig(script ...func() (resend.Outcome, error)) *rig {
	clock := &fakeClock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	core, logs := observer.New(zap.DebugLevel)
	r := &rig{sender: &fakeSender{script: script}, dlq: &fakeDLQ{}, limiter: &fakeLimiter{}, logs: logs}
	r.p = New(Config{ClientID: "cid", ClientSecret: "sekret", MaxReceives: 3, RequeueDelay: 30 * time.Second}, Deps{
		Sender:  r.sender,
		DLQ:     r.dlq,
		Limiter: r.limiter,
		Retrier: &retry.Retrier{
			Policy:   retry.Policy{InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, MaxElapsed: 3 * time.Second},
			Clock:    clock,
			NewTimer: func() backoff.Timer { return &instantTimer{clock: clock} },
			Jitter:   func() float64 { return 0.5 },
		},
		Ledger: ledger.NewMemory(time.Minute, clock.Now),
		Hasher: redact.NewHasher([]byte("k")),
		Logger: zap.New(core),
		Now:    clock.Now,
	})
	return r
}

func msg(body string, receiveCount int) *consumer.Message {
	return &consumer.Message{ID: "m-1", ReceiptHandle: "rh", Body: body, ReceiveCount: receiveCount}
}

const aliceJob = `{"username":"alice@example.com"}`

func TestHandle(t *testing.T) {
	permanent := fail(resend.PermanentClass, "UserNotFoundException", "User alice@example.com does not exist.")
	transient := fail(resend.TransientClass, "InternalErrorException", "boom")
	throttled := fail(resend.ThrottledClass, "TooManyRequestsException", "Rate exceeded")
	// With jitter 0.5 the waits are 100, 200, 400, 800, 1000 ms (capped):
	// 2.5 s after 6 calls, and the next 1 s wait would pass the 3 s budget.
	tests := []struct {
		name         string
		body         string
		receiveCount int
		script       []func() (resend.Outcome, error)
		dlqErr       error
		wantAction   consumer.Action
		wantOutcome  Outcome
		wantCode     string
		wantCalls    int
		wantKind     dlq.Kind // "" : nothing dead-lettered
	}{
		{"success", aliceJob, 1, []func() (resend.Outcome, error){ok}, nil, consumer.Delete{}, Resent, "", 1, ""},
		{"already confirmed", aliceJob, 1, []func() (resend.Outcome, error){confirmed}, nil, consumer.Delete{}, AlreadyConfirmed, "", 1, ""},
		{"invalid body", `{"user":1}`, 1, []func() (resend.Outcome, error){ok}, nil, consumer.Delete{}, DeadLettered, "InvalidJob", 0, dlq.KindInvalid},
		{"permanent", aliceJob, 1, []func() (resend.Outcome, error){permanent}, nil, consumer.Delete{}, DeadLettered, "UserNotFoundException", 1, dlq.KindPermanent},
		{"transient clears", aliceJob, 1, []func() (resend.Outcome, error){transient, transient, ok}, nil, consumer.Delete{}, Resent, "", 3, ""},
		{"throttle clears", aliceJob, 1, []func() (resend.Outcome, error){throttled, ok}, nil, consumer.Delete{}, Resent, "", 2, ""},
		{"transient requeued on receive 2", aliceJob, 2, []func() (resend.Outcome, error){transient}, nil, consumer.Retry{After: time.Minute}, Requeued, "InternalErrorException", 6, ""},
		{"transient exhausted on MAX_RECEIVES", aliceJob, 3, []func() (resend.Outcome, error){transient}, nil, consumer.Delete{}, DeadLettered, "InternalErrorException", 6, dlq.KindExhausted},
		{"DLQ refuses: stays on the queue", aliceJob, 1, []func() (resend.Outcome, error){permanent}, errors.New("no such queue"), consumer.Retry{After: 30 * time.Second}, Requeued, "UserNotFoundException", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(tt.script...)
			r.dlq.err = tt.dlqErr
			got := r.p.Handle(context.Background(), msg(tt.body, tt.receiveCount))
			if got != tt.wantAction {
				t.Errorf("action = %#v, want %#v", got, tt.wantAction)
			}
			if r.sender.calls != tt.wantCalls {
				t.Errorf("Cognito calls = %d, want %d", r.sender.calls, tt.wantCalls)
			}
			lines := r.logs.FilterMessage("job").All()
			if len(lines) != 1 {
				t.Fatalf("%d job lines, want 1", len(lines))
			}
			f := lines[0].ContextMap()
			if f["outcome"] != string(tt.wantOutcome) || f["error_code"] != tt.wantCode || f["attempts"] != int64(tt.wantCalls) {
				t.Errorf("log fields = %v, want outcome %s, error_code %q, attempts %d", f, tt.wantOutcome, tt.wantCode, tt.wantCalls)
			}
			if tt.wantKind == "" {
				if len(r.dlq.failures) != 0 {
					t.Errorf("dead-lettered %v, want nothing", r.dlq.failures)
				}
				return
			}
			if len(r.dlq.failures) != 1 {
				t.Fatalf("dead-lettered %d, want 1", len(r.dlq.failures))
			}
			fl := r.dlq.failures[0]
			if fl.Kind != tt.wantKind || fl.ErrorCode != tt.wantCode || fl.Attempts != tt.wantCalls || fl.ReceiveCount != tt.receiveCount || fl.SourceMessageID != "m-1" {
				t.Errorf("failure = %+v", fl)
			}
			if r.dlq.bodies[0] != tt.body {
				t.Errorf("DLQ body %q, want %q", r.dlq.bodies[0], tt.body)
			}
			if strings.Contains(fl.ErrorMessage, "alice") {
				t.Errorf("ErrorMessage %q holds the username", fl.ErrorMessage)
			}
		})
	}
}

// TestLimiterToldEveryResult: every call the limiter let start reports its
// result, errors included.
func TestLimiterToldEveryResult(t *testing.T) {
	r := newRig(fail(resend.ThrottledClass, "TooManyRequestsException", "Rate exceeded"),
		fail(resend.TransientClass, "InternalErrorException", "boom"),
		fail(resend.TransientClass, "ConnectionError", "refused"), ok)
	r.p.Handle(context.Background(), msg(aliceJob, 1))
	l := r.limiter
	if l.started != 4 || l.throttled != 1 || l.failed != 2 || l.succeeded != 1 {
		t.Errorf("limiter: %d started, told throttled %d, failed %d, succeeded %d; want 4, 1, 2, 1", l.started, l.throttled, l.failed, l.succeeded)
	}
}

func TestCooldownDeduplicates(t *testing.T) {
	r := newRig(ok)
	r.p.Handle(context.Background(), msg(aliceJob, 1))
	got := r.p.Handle(context.Background(), msg(aliceJob, 1))
	if got != (consumer.Delete{}) || r.sender.calls != 1 {
		t.Errorf("second job: action %#v after %d calls; want Delete after 1", got, r.sender.calls)
	}
	if l := r.logs.FilterField(zap.String("outcome", "deduplicated")).Len(); l != 1 {
		t.Errorf("%d deduplicated lines, want 1", l)
	}
	// Already confirmed does not start a cooldown.
	r2 := newRig(confirmed)
	r2.p.Handle(context.Background(), msg(aliceJob, 1))
	r2.p.Handle(context.Background(), msg(aliceJob, 1))
	if r2.sender.calls != 2 {
		t.Errorf("already confirmed twice: %d calls, want 2", r2.sender.calls)
	}
}

func TestCancelledReleasesAtOnce(t *testing.T) {
	r := newRig(fail(resend.TransientClass, "InternalErrorException", "boom"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := r.p.Handle(ctx, msg(aliceJob, 1))
	if got != (consumer.Retry{}) {
		t.Errorf("action = %#v, want Retry{} (visible at once)", got)
	}
	if len(r.dlq.failures) != 0 {
		t.Errorf("dead-lettered on shutdown")
	}
}

func TestNoPersonalDataInLogs(t *testing.T) {
	r := newRig(fail(resend.PermanentClass, "UserNotFoundException", "User alice@example.com sekret"))
	r.p.Handle(context.Background(), msg(aliceJob, 1))
	for _, e := range r.logs.All() {
		for k, v := range e.ContextMap() {
			if s, ok := v.(string); ok && (strings.Contains(s, "alice") || strings.Contains(s, "sekret")) {
				t.Errorf("log field %s = %q holds personal data", k, s)
			}
		}
	}
	if m := r.dlq.failures[0].ErrorMessage; strings.Contains(m, "alice") || strings.Contains(m, "sekret") {
		t.Errorf("ErrorMessage %q not scrubbed", m)
	}
}

func TestEvidence(t *testing.T) {
	tests := []struct {
		err  error
		want breaker.Evidence
	}{
		{nil, breaker.Up},
		{&resend.Error{Class: resend.PermanentClass, Code: "UserNotFoundException"}, breaker.Up},
		{&resend.Error{Class: resend.TransientClass, Code: "InternalErrorException"}, breaker.Down},
		{&resend.Error{Class: resend.TransientClass, Code: "HTTP503"}, breaker.Down},
		{&resend.Error{Class: resend.TransientClass, Code: "RequestTimeout"}, breaker.Down},
		{&resend.Error{Class: resend.TransientClass, Code: "ConnectionError"}, breaker.Down},
		{&resend.Error{Class: resend.ThrottledClass, Code: "TooManyRequestsException"}, breaker.Neutral},
		{&resend.Error{Class: resend.TransientClass, Code: "UnexpectedLambdaException"}, breaker.Neutral},
		{&resend.Error{Class: resend.TransientClass, Code: "Cancelled"}, breaker.Neutral},
		{context.Canceled, breaker.Neutral},
		// An unknown code in a 503 answer is a 5xx all the same.
		{&resend.Error{Class: resend.TransientClass, Code: "ServiceUnavailableException", Err: statusErr(503)}, breaker.Down},
		{&resend.Error{Class: resend.TransientClass, Code: "SomethingNew", Err: statusErr(400)}, breaker.Neutral},
	}
	for _, tt := range tests {
		if got := Evidence(tt.err); got != tt.want {
			t.Errorf("Evidence(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// statusErr is the SDK's error for an HTTP answer with status.
func statusErr(status int) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: errors.New("api error")}}
}

// trippedBreaker is a breaker already judging Cognito down.
func trippedBreaker(t *testing.T, cfg breaker.Config) *breaker.Breaker {
	t.Helper()
	b := breaker.New(cfg)
	for i := 0; i < 10; i++ {
		p, _ := b.Allow(context.Background())
		b.Report(p, breaker.Result{Evidence: breaker.Down, Code: "InternalErrorException", Job: fmt.Sprint(i)})
	}
	if !b.Down() {
		t.Fatal("breaker not down")
	}
	return b
}

func repeatScript(f func() (resend.Outcome, error), n int, then func() (resend.Outcome, error)) []func() (resend.Outcome, error) {
	out := make([]func() (resend.Outcome, error), 0, n+1)
	for i := 0; i < n; i++ {
		out = append(out, f)
	}
	return append(out, then)
}

// TestOutageHoldsTheJob: while Cognito is down a job on its last receive is
// held in process, probing, past its retry budget, and sent once Cognito is
// back: not dead-lettered, not requeued.
func TestOutageHoldsTheJob(t *testing.T) {
	r := newRig(repeatScript(fail(resend.TransientClass, "InternalErrorException", "boom"), 20, ok)...)
	b := trippedBreaker(t, breaker.Config{ProbeInterval: time.Millisecond, MaxProbeInterval: 2 * time.Millisecond, CloseAfter: 1})
	r.p.breaker = b
	got := r.p.Handle(context.Background(), msg(aliceJob, 3)) // MAX_RECEIVES is 3
	if got != (consumer.Delete{}) || len(r.dlq.failures) != 0 || r.sender.calls != 21 {
		t.Fatalf("action %#v, dead-lettered %d, calls %d; want Delete, 0, 21", got, len(r.dlq.failures), r.sender.calls)
	}
	if b.Down() {
		t.Error("breaker still down after a successful probe")
	}
	if n := r.logs.FilterMessage("cognito attempt failed").Len(); n != 20 {
		t.Errorf("%d debug lines for failed attempts, want 20", n)
	}
}

// TestOutageStopReleasesHeldJob: while down and before a probe is due, a job
// makes no call; the stop releases it at once (visible again), with no
// verdict.
func TestOutageStopReleasesHeldJob(t *testing.T) {
	r := newRig(ok)
	r.p.breaker = trippedBreaker(t, breaker.Config{ProbeInterval: time.Hour})
	stop := make(chan struct{})
	ctx := consumer.WithStopping(context.Background(), stop)
	done := make(chan consumer.Action, 1)
	go func() { done <- r.p.Handle(ctx, msg(aliceJob, 1)) }()
	select {
	case a := <-done:
		t.Fatalf("job finished while Cognito is down and no probe is due: %#v", a)
	case <-time.After(100 * time.Millisecond):
	}
	close(stop)
	select {
	case a := <-done:
		if a != (consumer.Retry{}) || r.sender.calls != 0 || len(r.dlq.failures) != 0 {
			t.Fatalf("action %#v, calls %d, dead-lettered %d; want Retry{} (at once), 0, 0", a, r.sender.calls, len(r.dlq.failures))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("held job not released by the stop")
	}
	if n := r.logs.FilterField(zap.String("released", "shutdown")).Len(); n != 1 {
		t.Errorf("%d job lines with released=shutdown, want 1", n)
	}
}

// blockingSender answers only when told, after the call has started.
type blockingSender struct {
	started chan struct{}
	answer  chan func() (resend.Outcome, error)
}

func (s *blockingSender) Send(ctx context.Context, _ job.Job) (resend.Outcome, error) {
	close(s.started)
	select {
	case f := <-s.answer:
		return f()
	case <-ctx.Done():
		return 0, &resend.Error{Class: resend.TransientClass, Code: "Cancelled", Err: ctx.Err()}
	}
}

// TestCallOnTheWireFinishesAtStop: the stop does not cancel a call already
// made; its answer decides the job (a success deletes it, a permanent error
// dead-letters it).
func TestCallOnTheWireFinishesAtStop(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func() (resend.Outcome, error)
		want   consumer.Action
		dlq    int
	}{
		{"success", ok, consumer.Delete{}, 0},
		{"permanent", fail(resend.PermanentClass, "UserNotFoundException", "no"), consumer.Delete{}, 1},
		{"transient", fail(resend.TransientClass, "InternalErrorException", "boom"), consumer.Retry{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(ok)
			s := &blockingSender{started: make(chan struct{}), answer: make(chan func() (resend.Outcome, error), 1)}
			r.p.sender = s
			stop := make(chan struct{})
			done := make(chan consumer.Action, 1)
			go func() { done <- r.p.Handle(consumer.WithStopping(context.Background(), stop), msg(aliceJob, 1)) }()
			<-s.started
			close(stop)
			s.answer <- tc.answer
			if a := <-done; a != tc.want || len(r.dlq.failures) != tc.dlq {
				t.Fatalf("action %#v, dead-lettered %d; want %#v, %d", a, len(r.dlq.failures), tc.want, tc.dlq)
			}
		})
	}
}

// TestHoldLimitReleases: a job throttled without end is let go before SQS's
// 12 h visibility ceiling (here a short MaxHold): released, not
// dead-lettered.
func TestHoldLimitReleases(t *testing.T) {
	r := newRig(fail(resend.ThrottledClass, "TooManyRequestsException", "Rate exceeded"))
	r.p.cfg.MaxHold = 30 * time.Millisecond
	m := msg(aliceJob, 5)
	m.ReceivedAt = time.Now()
	got := r.p.Handle(context.Background(), m)
	if got != (consumer.Retry{}) || len(r.dlq.failures) != 0 || r.sender.calls == 0 {
		t.Fatalf("action %#v, dead-lettered %d, calls %d; want Retry{}, 0, some", got, len(r.dlq.failures), r.sender.calls)
	}
	if n := r.logs.FilterField(zap.String("released", "hold_limit")).Len(); n != 1 {
		t.Errorf("%d job lines with released=hold_limit, want 1", n)
	}
}

// TestHoldLostStopsCalls: once the consumer lost its hold on the message
// (another consumer may have it), no Cognito call is made for it: the job is
// given back unfinished, not dead-lettered, whatever its receive count.
func TestHoldLostStopsCalls(t *testing.T) {
	r := newRig(ok)
	m := msg(aliceJob, 5)
	m.LoseHoldForTest()
	got := r.p.Handle(context.Background(), m)
	if got != (consumer.Retry{}) || r.sender.calls != 0 || len(r.dlq.failures) != 0 {
		t.Fatalf("action %#v, calls %d, dead-lettered %d; want Retry{}, 0, 0", got, r.sender.calls, len(r.dlq.failures))
	}
	if n := r.logs.FilterField(zap.String("released", "hold_lost")).Len(); n != 1 {
		t.Errorf("%d job lines with released=hold_lost, want 1", n)
	}
}

// TestHoldLostDuringRetries: a job retrying a transient error stops when its
// hold is lost between attempts.
func TestHoldLostDuringRetries(t *testing.T) {
	m := msg(aliceJob, 1)
	r := newRig(func() (resend.Outcome, error) {
		m.LoseHoldForTest()
		return 0, &resend.Error{Class: resend.TransientClass, Code: "CodeDeliveryFailureException", Message: "x"}
	}, ok)
	got := r.p.Handle(context.Background(), m)
	if got != (consumer.Retry{}) || r.sender.calls != 1 {
		t.Fatalf("action %#v, calls %d; want Retry{}, 1", got, r.sender.calls)
	}
}
