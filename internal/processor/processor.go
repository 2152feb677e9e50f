// Package processor decides each job's outcome: decode it, skip it if the user
// was just sent a code, call Cognito under the outage breaker, the rate
// limiter and the retry policy, then delete, requeue or dead-letter it, and
// log and count that.
//
// The Cognito call loop accounts for every call: the breaker and the limiter
// are each told the result of every call they let start. While Cognito is
// judged down, a job is held in process (waiting in the breaker, hidden by
// the heartbeat) without spending its retry budget or a receive; one held job
// at a time makes the probe call. Two contexts bound a job: the consumer's
// stop (consumer.Stopping) ends every wait and keeps new calls from starting,
// while a call already on the wire runs on until the job's own context ends
// at the shutdown timeout (a cancelled call may have sent the code, and the
// job would then be sent again).
package processor

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.uber.org/zap"

	"github.com/resend-worker/resend-worker/internal/breaker"
	"github.com/resend-worker/resend-worker/internal/config"
	"github.com/resend-worker/resend-worker/internal/consumer"
	"github.com/resend-worker/resend-worker/internal/dlq"
	"github.com/resend-worker/resend-worker/internal/ledger"
	"github.com/resend-worker/resend-worker/internal/outcome"
	"github.com/resend-worker/resend-worker/internal/ratelimit"
	"github.com/resend-worker/resend-worker/internal/redact"
	"github.com/resend-worker/resend-worker/internal/resend"
	"github.com/resend-worker/resend-worker/internal/retry"
	"github.com/resend-worker/resend-worker/job"
)

// Sender makes one Cognito call (resend.Client).
type Sender interface {
	Send(ctx context.Context, j job.Job) (resend.Outcome, error)
}

// DeadLetterer writes a dead-lettered copy and returns nil only once the DLQ
// accepted it (dlq.Writer).
type DeadLetterer interface {
	Write(ctx context.Context, body string, original map[string]types.MessageAttributeValue, f dlq.Failure) error
}

// Limiter paces Cognito calls (ratelimit.Limiter): Acquire waits for a
// call's turn and returns the function that reports its result.
type Limiter interface {
	Acquire(ctx context.Context) (report func(ratelimit.Result), err error)
}

// Breaker judges whether Cognito is down (breaker.Breaker): Allow waits while
// it is, until the caller may probe; every permit is reported back.
type Breaker interface {
	Allow(ctx context.Context) (breaker.Permit, error)
	Report(p breaker.Permit, r breaker.Result)
	Current(p breaker.Permit) bool // not revoked by a trip since Allow
	Down() bool
	Suspect() bool // down, or suspected down by the recent calls
}

// Ledger holds one claim per user at a time and remembers users just sent
// a code (ledger.Memory, ledger.Layered).
type Ledger interface {
	Claim(ctx context.Context, key ledger.Key) (ledger.Claim, error)
	Sent(ctx context.Context, c ledger.Claim)
	Release(ctx context.Context, c ledger.Claim)
}

// Observer counts what happens (metrics); nil methods are not allowed, use
// NopObserver.
type Observer interface {
	JobDone(outcome Outcome)
	CognitoCall(code string, d time.Duration)
}

// EnqueueToCallObserver, when the Observer implements it, is told for each
// job a Cognito call resolved (resent, already confirmed, or dead-lettered
// as permanent) the time from the message's SentTimestamp to the start of
// that call: when the person's code went out. Calls that were throttled or
// failed transiently and retried do not resolve a job; jobs that end without
// a resolving call (deduplicated, invalid, requeued, exhausted), or go back
// to the queue after one (the DLQ refused the copy), are not told.
type EnqueueToCallObserver interface {
	EnqueueToCall(d time.Duration)
}

// Outcome is the contract's outcome of a job (package outcome holds the set).
type Outcome = outcome.Outcome

const (
	Resent           = outcome.Resent
	AlreadyConfirmed = outcome.AlreadyConfirmed
	Deduplicated     = outcome.Deduplicated
	DeadLettered     = outcome.DeadLettered
	Requeued         = outcome.Requeued
)

// CallTimeout bounds one Cognito call; a call that takes longer counts as a
// transient RequestTimeout.
const CallTimeout = 10 * time.Second

// ErrorCodeInvalidJob is the DLQ ErrorCode of a body that is no valid job.
const ErrorCodeInvalidJob = "InvalidJob"

// MaxHold is how long after its receive a job may be held in process (by
// throttling or an outage) before it is released: SQS keeps a message
// invisible at most 12 hours from its receive, and the heartbeat renews by a
// visibility timeout at a time, so the job lets go 5 minutes before.
const MaxHold = 12*time.Hour - 5*time.Minute

// ErrorCodeClaimBusy is the error_code of a job requeued because a job of
// another worker held its user's claim.
const ErrorCodeClaimBusy = "ClaimBusy"

// Config is the processor's share of the contract's settings.
type Config struct {
	ClientID     string        // cooldown key scope
	ClientSecret string        // only to keep it out of messages
	MaxReceives  int           // dead-letter a transient failure on this receive; default config.DefaultMaxReceives
	RequeueDelay time.Duration // first requeue delay (REQUEUE_DELAY); 0 requeues at once, so there is no default
	MaxHold      time.Duration // release a job held this long after its receive; default MaxHold
	Lane         string        // the DLQ's SourceQueue (interactive, bulk); "" writes none
}

// Processor implements consumer.Handler.
type Processor struct {
	cfg      Config
	sender   Sender
	dlq      DeadLetterer
	limiter  Limiter
	breaker  Breaker
	retrier  *retry.Retrier
	cooldown Ledger // claims and sent-marks
	hasher   *redact.Hasher
	obs      Observer
	log      *zap.Logger
	now      func() time.Time
}

// Deps are the processor's collaborators.
type Deps struct {
	Sender   Sender
	DLQ      DeadLetterer
	Limiter  Limiter
	Breaker  Breaker // default: never down
	Retrier  *retry.Retrier
	Ledger   Ledger
	Hasher   *redact.Hasher
	Observer Observer
	Logger   *zap.Logger
	Now      func() time.Time
}

// New returns a Processor. Every dependency but Breaker, Observer, Logger
// and Now is required.
func New(cfg Config, d Deps) *Processor {
	if cfg.MaxReceives <= 0 {
		cfg.MaxReceives = config.DefaultMaxReceives
	}
	if cfg.MaxHold <= 0 {
		cfg.MaxHold = MaxHold
	}
	if d.Breaker == nil {
		d.Breaker = neverDown{}
	}
	if d.Observer == nil {
		d.Observer = NopObserver{}
	}
	if d.Logger == nil {
		d.Logger = zap.NewNop()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	p := &Processor{cfg: cfg, sender: d.Sender, dlq: d.DLQ, limiter: d.Limiter, breaker: d.Breaker, retrier: d.Retrier,
		cooldown: d.Ledger, hasher: d.Hasher, obs: d.Observer, log: d.Logger, now: d.Now}
	if d.Retrier.Classify == nil {
		d.Retrier.Classify = p.classify
	}
	return p
}

// classify is how to retry an error. While Cognito is judged down a
// transient error waits no backoff of its own: the next attempt waits in
// the breaker, whose probe interval spaces the calls (and which lets it go
// as soon as Cognito is back, where a backoff of seconds would not).
func (p *Processor) classify(err error) retry.Class {
	c := classify(err)
	if c == retry.Transient && p.breaker.Down() {
		return retry.Throttled
	}
	return c
}

// result is what happened to one job, for its log line.
type result struct {
	outcome   Outcome
	errorCode string
	attempts  int
	user      string
	action    consumer.Action
	dlqErr    error
	released  string    // why the job was let go unfinished: shutdown, hold_limit
	calledAt  time.Time // start of the Cognito call that resolved the job
}

// Handle processes one message: the consumer.Handler.
func (p *Processor) Handle(ctx context.Context, m *consumer.Message) consumer.Action {
	start := p.now()
	r := p.exec(ctx, m)
	p.obs.JobDone(r.outcome)
	if o, ok := p.obs.(EnqueueToCallObserver); ok && !r.calledAt.IsZero() && !m.SentAt.IsZero() && r.outcome != Requeued {
		o.EnqueueToCall(r.calledAt.Sub(m.SentAt))
	}
	fields := []zap.Field{
		zap.String("msg_id", m.ID),
		zap.String("outcome", string(r.outcome)),
		zap.String("error_code", r.errorCode),
		zap.Int("attempts", r.attempts),
		zap.Int("receive_count", m.ReceiveCount),
		zap.Int64("duration_ms", p.now().Sub(start).Milliseconds()),
		zap.String("user", r.user),
	}
	if retryAfter, ok := r.action.(consumer.Retry); ok {
		fields = append(fields, zap.Duration("visible_in", retryAfter.After))
	}
	if r.released != "" {
		fields = append(fields, zap.String("released", r.released))
	}
	if r.dlqErr != nil {
		p.log.Error("job", append(fields, zap.NamedError("dlq_error", r.dlqErr))...)
	} else {
		p.log.Info("job", fields...)
	}
	return r.action
}

// exec decodes, deduplicates and performs the job, then picks its action.
func (p *Processor) exec(ctx context.Context, m *consumer.Message) result {
	if f, ok := p.dlq.(interface{ Fits(string) bool }); ok && !f.Fits(m.Body) {
		// A body that leaves no room for the failure attributes could never
		// be dead-lettered with its reasons: no job, say so (dlq.Writer.Fits).
		return p.handleFailure(ctx, m, result{}, dlq.KindInvalid, ErrorCodeInvalidJob, "body too large to be dead-lettered with its reasons")
	}
	j, err := job.Parse([]byte(m.Body))
	if err != nil {
		return p.handleFailure(ctx, m, result{}, dlq.KindInvalid, ErrorCodeInvalidJob, err.Error())
	}
	r := result{user: p.hasher.User(j.Username)}
	// A claim may wait for another job's outcome: that wait ends at the stop.
	cctx, cancelClaim := p.waitContext(ctx, m)
	claim, err := p.cooldown.Claim(cctx, ledger.UserKey(p.cfg.ClientID, p.cfg.ClientSecret, j.Username))
	cancelClaim()
	switch {
	case err != nil: // shutting down while waiting for another job's outcome
		r.outcome, r.action, r.errorCode = Requeued, consumer.Retry{}, codeOf(err)
		return r
	case claim.Status == ledger.AlreadySent:
		r.outcome, r.action = Deduplicated, consumer.Delete{}
		return r
	case claim.Status == ledger.Busy: // another worker's job has the user: see its outcome later
		r.outcome, r.errorCode = Requeued, ErrorCodeClaimBusy
		r.action = consumer.Retry{After: retry.RequeueDelay(p.cfg.RequeueDelay, m.ReceiveCount)}
		return r
	}
	outcome, attempts, released, err := p.perform(ctx, m, j, &r.calledAt)
	r.attempts = attempts
	if err != nil && !errors.Is(err, resend.ErrPermanent) {
		r.calledAt = time.Time{} // the last call resolved nothing
	}
	if err != nil || outcome != resend.Resent {
		p.cooldown.Release(ctx, claim)
	}
	switch {
	case err == nil:
		return p.handleSucceeded(ctx, claim, outcome, r)
	case errors.Is(err, resend.ErrPermanent):
		// Even during the stop: the answer is final (the DLQ write runs
		// under the job's context, which lives until the shutdown timeout).
		return p.handleFailure(ctx, m, r, dlq.KindPermanent, codeOf(err), p.scrub(err, j.Username))
	case released != "":
		// Stopping, or held as long as SQS allows: give the job back at
		// once, to this or another worker, without a verdict.
		r.outcome, r.action = Requeued, consumer.Retry{}
		r.errorCode, r.released = codeOf(err), released
		return r
	case m.ReceiveCount >= p.cfg.MaxReceives:
		return p.handleFailure(ctx, m, r, dlq.KindExhausted, codeOf(err), p.scrub(err, j.Username))
	default:
		r.outcome, r.errorCode = Requeued, codeOf(err)
		r.action = consumer.Retry{After: retry.RequeueDelay(p.cfg.RequeueDelay, m.ReceiveCount)}
		return r
	}
}

// Why a job is let go unfinished.
var (
	errStopping  = errors.New("the worker is stopping")
	errHoldLimit = errors.New("held as long as SQS allows")
	// errHoldLost: the consumer could not keep the message hidden (SQS
	// refused a renewal, or renewals failed until too late); another
	// consumer may have it, so no further Cognito call is made for it here.
	errHoldLost = errors.New("the hold on the message was lost")
)

// releaseReason is the job line's released field for why the waits ended.
func releaseReason(cause error) string {
	switch {
	case errors.Is(cause, errHoldLimit):
		return "hold_limit"
	case errors.Is(cause, errHoldLost):
		return "hold_lost"
	}
	return "shutdown"
}

// waitContext is the context of a job's waits (breaker, limiter, backoff):
// it ends when the consumer stops receiving (errStopping), when the hold on
// the message is lost (errHoldLost), MaxHold after the job's receive
// (errHoldLimit), or with ctx.
func (p *Processor) waitContext(ctx context.Context, m *consumer.Message) (context.Context, context.CancelFunc) {
	received := m.ReceivedAt
	if received.IsZero() {
		received = time.Now()
	}
	dctx, cancelDeadline := context.WithDeadlineCause(ctx, received.Add(p.cfg.MaxHold), errHoldLimit)
	wctx, cancel := context.WithCancelCause(dctx)
	if stop, lost := consumer.Stopping(ctx), m.Lost(); stop != nil || lost != nil {
		go func() {
			select {
			case <-stop:
				cancel(errStopping)
			case <-lost:
				cancel(errHoldLost)
			case <-wctx.Done():
			}
		}()
	}
	return wctx, func() { cancel(nil); cancelDeadline() }
}

// perform calls Cognito under the breaker, the limiter and the retry policy.
// It returns the outcome, the calls made, why the job was let go unfinished
// ("shutdown", "hold_limit"; "" if it was not) and the last error.
//
// A throttle is the quota's pace, not the job's failure, and an outage is
// Cognito's, not the job's: when a retry budget ends on a throttle, or on a
// transient error while Cognito is judged down or after the job was held by
// the breaker, the job keeps trying in process with a fresh budget (the
// heartbeat keeps its message invisible; the limiter, or the breaker's
// probes, space the calls). A job whose budget ends while the breaker only
// suspects an outage (most recent calls failing, not yet enough to trip)
// is held too, so that the seconds it takes to judge do not cost a receive.
// So neither throttling nor an outage requeues a job or uses up a receive of
// MAX_RECEIVES. Only the stop and the hold limit end that. The start of the
// last call is stored in lastCall.
func (p *Processor) perform(ctx context.Context, m *consumer.Message, j job.Job, lastCall *time.Time) (resend.Outcome, int, string, error) {
	wctx, cancel := p.waitContext(ctx, m)
	defer cancel()
	total := 0
	for {
		held := false
		outcome, attempts, err := p.performOnce(ctx, wctx, m, j, &held, lastCall)
		total += attempts
		switch {
		case err == nil || errors.Is(err, resend.ErrPermanent):
			return outcome, total, "", err
		case errors.Is(err, errStopping), errors.Is(err, errHoldLost):
			return outcome, total, releaseReason(err), err
		case wctx.Err() != nil:
			return outcome, total, releaseReason(context.Cause(wctx)), err
		case errors.Is(err, resend.ErrThrottled):
			continue
		case errors.Is(err, resend.ErrTransient) && (held || p.breaker.Suspect()):
			continue
		}
		return outcome, total, "", err
	}
}

// performOnce is one retry budget's worth of attempts. Its waits end with
// wctx; a call, once started, ends with ctx (or CallTimeout). held is set
// when the breaker kept an attempt waiting (or made it a probe).
func (p *Processor) performOnce(ctx, wctx context.Context, m *consumer.Message, j job.Job, held *bool, lastCall *time.Time) (resend.Outcome, int, error) {
	var outcome resend.Outcome
	stop := consumer.Stopping(ctx)
	attempts, err := p.retrier.Do(wctx, func(_ context.Context, attempt int) error {
		select {
		case <-stop: // wctx ends with it too, a moment later
			return errStopping
		default:
		}
		permit, report, err := p.admit(wctx, m, held)
		if err != nil {
			return err
		}
		if m.HoldLost() { // checked last before the call: it must not be repeated elsewhere
			report(ratelimit.Failed)
			p.breaker.Report(permit, breaker.Result{Job: m.ID})
			return errHoldLost
		}
		start := p.now()
		*lastCall = start
		callCtx, cancel := context.WithTimeout(ctx, CallTimeout)
		o, err := p.sender.Send(callCtx, j)
		cancel()
		code := callCode(o, err)
		p.obs.CognitoCall(code, p.now().Sub(start))
		report(limiterResult(err))
		p.breaker.Report(permit, breaker.Result{Evidence: Evidence(err), Code: code, Job: m.ID})
		if err != nil {
			p.log.Debug("cognito attempt failed", zap.String("msg_id", m.ID), zap.Int("attempt", attempt),
				zap.String("error_code", code), zap.Bool("probe", permit.Probe()))
		}
		outcome = o
		return err
	})
	return outcome, attempts, err
}

// admit waits until a call may start: the breaker's permit (while Cognito
// is down, the probe's turn), then the limiter's. A permit the breaker
// revoked by tripping while the call waited for the limiter is given back
// unused and the wait starts over. held is set when the breaker kept the
// job waiting (or made it a probe).
func (p *Processor) admit(wctx context.Context, m *consumer.Message, held *bool) (breaker.Permit, func(ratelimit.Result), error) {
	for {
		if p.breaker.Down() {
			*held = true
		}
		permit, err := p.breaker.Allow(wctx)
		if err != nil {
			return permit, nil, err
		}
		report, err := p.limiter.Acquire(wctx)
		if err != nil {
			p.breaker.Report(permit, breaker.Result{Job: m.ID})
			return permit, nil, err
		}
		if p.breaker.Current(permit) {
			*held = *held || permit.Probe()
			return permit, report, nil
		}
		report(ratelimit.Failed) // no call made
		p.breaker.Report(permit, breaker.Result{Job: m.ID})
	}
}

// limiterResult is what a call's result means to the limiter.
func limiterResult(err error) ratelimit.Result {
	switch {
	case err == nil:
		return ratelimit.Succeeded
	case errors.Is(err, resend.ErrThrottled):
		return ratelimit.Throttled
	}
	return ratelimit.Failed
}

// Evidence is what a call's result says about Cognito's health: an answer
// (success, already confirmed, a permanent error) says it is up; an HTTP 5xx
// (InternalErrorException or any other code), a timeout or a connection
// error (refused, reset, DNS) says it may be down; a throttle, a call we
// cancelled and the other transient codes in a 4xx answer (a user's Lambda
// or code delivery failing, an unknown code) say nothing.
func Evidence(err error) breaker.Evidence {
	if err == nil {
		return breaker.Up
	}
	var ce *resend.Error
	if !errors.As(err, &ce) {
		return breaker.Neutral
	}
	switch ce.Class {
	case resend.PermanentClass, resend.AlreadyConfirmedClass:
		return breaker.Up
	case resend.TransientClass:
		// Any 5xx answer, whatever code it carries.
		var status interface{ HTTPStatusCode() int }
		if outageCode(ce.Code) || (errors.As(err, &status) && status.HTTPStatusCode() >= 500) {
			return breaker.Down
		}
	}
	return breaker.Neutral
}

// outageCode reports whether a transient error code is of an outage.
func outageCode(code string) bool {
	switch code {
	case "InternalErrorException", "RequestTimeout", "ConnectionError":
		return true
	}
	return strings.HasPrefix(code, "HTTP5")
}

func (p *Processor) handleSucceeded(ctx context.Context, claim ledger.Claim, o resend.Outcome, r result) result {
	r.action = consumer.Delete{}
	if o == resend.AlreadyConfirmed {
		r.outcome = AlreadyConfirmed
		return r
	}
	p.cooldown.Sent(ctx, claim)
	r.outcome = Resent
	return r
}

// handleFailure dead-letters the message; only once the DLQ has its copy is
// the source deleted. If the DLQ refuses, the job goes back to the queue.
func (p *Processor) handleFailure(ctx context.Context, m *consumer.Message, r result, kind dlq.Kind, code, msg string) result {
	r.errorCode = code
	wctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	err := p.dlq.Write(wctx, m.Body, m.Attributes, dlq.Failure{
		ErrorCode:       code,
		ErrorMessage:    msg,
		Kind:            kind,
		SourceMessageID: m.ID,
		FailedAt:        p.now(),
		Attempts:        r.attempts,
		ReceiveCount:    m.ReceiveCount,
		SourceQueue:     p.cfg.Lane,
	})
	if err != nil {
		r.outcome, r.dlqErr = Requeued, err
		r.action = consumer.Retry{After: retry.RequeueDelay(p.cfg.RequeueDelay, m.ReceiveCount)}
		if ctx.Err() != nil {
			r.action = consumer.Retry{}
		}
		return r
	}
	r.outcome, r.action = DeadLettered, consumer.Delete{}
	return r
}

// scrub makes an error's message safe for the DLQ and logs.
func (p *Processor) scrub(err error, username string) string {
	msg := err.Error()
	var ce *resend.Error
	if errors.As(err, &ce) {
		msg = ce.Message
	}
	return redact.Text(msg, dlq.MaxErrorMessage, username, p.cfg.ClientSecret)
}

func codeOf(err error) string {
	var ce *resend.Error
	if errors.As(err, &ce) {
		return ce.Code
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errStopping) {
		return "Cancelled"
	}
	return "UnknownError"
}

func callCode(o resend.Outcome, err error) string {
	switch {
	case err == nil && o == resend.AlreadyConfirmed:
		return "InvalidParameterException"
	case err == nil:
		return "OK"
	}
	return codeOf(err)
}

func classify(err error) retry.Class {
	switch {
	case errors.Is(err, errStopping), errors.Is(err, errHoldLost):
		return retry.Permanent
	case errors.Is(err, resend.ErrPermanent):
		return retry.Permanent
	case errors.Is(err, resend.ErrThrottled):
		return retry.Throttled
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		var ce *resend.Error
		if errors.As(err, &ce) {
			return retry.Transient // a Cognito call that timed out
		}
		return retry.Permanent // our own context ended: stop
	}
	return retry.Transient
}

// neverDown is the breaker of a processor built without one.
type neverDown struct{}

func (neverDown) Allow(context.Context) (breaker.Permit, error) { return breaker.Permit{}, nil }
func (neverDown) Report(breaker.Permit, breaker.Result)         {}
func (neverDown) Current(breaker.Permit) bool                   { return true }
func (neverDown) Down() bool                                    { return false }
func (neverDown) Suspect() bool                                 { return false }

// NopObserver counts nothing.
type NopObserver struct{}

func (NopObserver) JobDone(Outcome)                   {}
func (NopObserver) CognitoCall(string, time.Duration) {}
