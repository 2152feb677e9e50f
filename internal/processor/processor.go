// Package processor decides each job's outcome: decode it, skip it if the user
// was just sent a code, call Cognito under the rate limiter and the retry
// policy, then delete, requeue or dead-letter it, and log and count that.
package processor

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.uber.org/zap"

	"github.com/resend-worker/resend-worker/internal/consumer"
	"github.com/resend-worker/resend-worker/internal/dlq"
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

// Limiter paces Cognito calls (ratelimit.Limiter).
type Limiter interface {
	Wait(ctx context.Context) error
	Throttled()
	Succeeded()
}

// Cooldown remembers users just sent a code (cooldown.Set).
type Cooldown interface {
	Recent(key string) bool
	Mark(key string)
}

// Observer counts what happens (metrics); nil methods are not allowed, use
// NopObserver.
type Observer interface {
	JobDone(outcome Outcome)
	CognitoCall(code string, d time.Duration)
}

// Outcome is the contract's outcome of a job.
type Outcome string

const (
	Resent           Outcome = "resent"
	AlreadyConfirmed Outcome = "already_confirmed"
	Deduplicated     Outcome = "deduplicated"
	DeadLettered     Outcome = "dead_lettered"
	Requeued         Outcome = "requeued"
)

// CallTimeout bounds one Cognito call; a call that takes longer counts as a
// transient RequestTimeout.
const CallTimeout = 10 * time.Second

// ErrorCodeInvalidJob is the DLQ ErrorCode of a body that is no valid job.
const ErrorCodeInvalidJob = "InvalidJob"

// Config is the processor's share of the contract's settings.
type Config struct {
	ClientID     string        // cooldown key scope
	ClientSecret string        // only to keep it out of messages
	MaxReceives  int           // dead-letter a transient failure on this receive; default 5
	RequeueDelay time.Duration // first requeue delay; default 30s
}

// Processor implements consumer.Handler.
type Processor struct {
	cfg      Config
	sender   Sender
	dlq      DeadLetterer
	limiter  Limiter
	retrier  *retry.Retrier
	cooldown Cooldown
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
	Retrier  *retry.Retrier
	Cooldown Cooldown
	Hasher   *redact.Hasher
	Observer Observer
	Logger   *zap.Logger
	Now      func() time.Time
}

// New returns a Processor. Every dependency but Observer, Logger and Now is
// required.
func New(cfg Config, d Deps) *Processor {
	if cfg.MaxReceives <= 0 {
		cfg.MaxReceives = 5
	}
	if cfg.RequeueDelay < 0 {
		cfg.RequeueDelay = 30 * time.Second
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
	if d.Retrier.Classify == nil {
		d.Retrier.Classify = classify
	}
	return &Processor{cfg: cfg, sender: d.Sender, dlq: d.DLQ, limiter: d.Limiter, retrier: d.Retrier,
		cooldown: d.Cooldown, hasher: d.Hasher, obs: d.Observer, log: d.Logger, now: d.Now}
}

// result is what happened to one job, for its log line.
type result struct {
	outcome   Outcome
	errorCode string
	attempts  int
	user      string
	action    consumer.Action
	dlqErr    error
}

// Handle processes one message: the consumer.Handler.
func (p *Processor) Handle(ctx context.Context, m *consumer.Message) consumer.Action {
	start := p.now()
	r := p.exec(ctx, m)
	p.obs.JobDone(r.outcome)
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
	key := p.cfg.ClientID + "\x00" + j.Username
	if p.cooldown.Recent(key) {
		r.outcome, r.action = Deduplicated, consumer.Delete{}
		return r
	}
	outcome, attempts, err := p.perform(ctx, j)
	r.attempts = attempts
	switch {
	case err == nil:
		return p.handleSucceeded(key, outcome, r)
	case ctx.Err() != nil:
		// Shutting down: give the job back at once, to this or another worker.
		r.outcome, r.action = Requeued, consumer.Retry{}
		r.errorCode = codeOf(err)
		return r
	case errors.Is(err, resend.ErrPermanent):
		return p.handleFailure(ctx, m, r, dlq.KindPermanent, codeOf(err), p.scrub(err, j.Username))
	case m.ReceiveCount >= p.cfg.MaxReceives:
		return p.handleFailure(ctx, m, r, dlq.KindExhausted, codeOf(err), p.scrub(err, j.Username))
	default:
		r.outcome, r.errorCode = Requeued, codeOf(err)
		r.action = consumer.Retry{After: retry.RequeueDelay(p.cfg.RequeueDelay, m.ReceiveCount)}
		return r
	}
}

// perform calls Cognito under the limiter and the retry policy.
//
// A throttle is the quota's pace, not the job's failure: when the retry budget
// ends on a throttled attempt, the job keeps trying in-process with a fresh
// budget (the heartbeat keeps its message invisible, the limiter spaces the
// attempts), so throttling never requeues a job nor uses up a receive of
// MAX_RECEIVES. Only shutdown (ctx) ends that.
func (p *Processor) perform(ctx context.Context, j job.Job) (resend.Outcome, int, error) {
	total := 0
	for {
		outcome, attempts, err := p.performOnce(ctx, j)
		total += attempts
		if err != nil && errors.Is(err, resend.ErrThrottled) && ctx.Err() == nil {
			continue
		}
		return outcome, total, err
	}
}

// performOnce is one retry budget's worth of attempts.
func (p *Processor) performOnce(ctx context.Context, j job.Job) (resend.Outcome, int, error) {
	var outcome resend.Outcome
	attempts, err := p.retrier.Do(ctx, func(ctx context.Context, _ int) error {
		if err := p.limiter.Wait(ctx); err != nil {
			return err
		}
		start := p.now()
		callCtx, cancel := context.WithTimeout(ctx, CallTimeout)
		o, err := p.sender.Send(callCtx, j)
		cancel()
		p.obs.CognitoCall(callCode(o, err), p.now().Sub(start))
		switch {
		case err == nil:
			p.limiter.Succeeded()
		case errors.Is(err, resend.ErrThrottled):
			p.limiter.Throttled()
		}
		outcome = o
		return err
	})
	return outcome, attempts, err
}

func (p *Processor) handleSucceeded(key string, o resend.Outcome, r result) result {
	r.action = consumer.Delete{}
	if o == resend.AlreadyConfirmed {
		r.outcome = AlreadyConfirmed
		return r
	}
	p.cooldown.Mark(key)
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
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
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

// NopObserver counts nothing.
type NopObserver struct{}

func (NopObserver) JobDone(Outcome)                   {}
func (NopObserver) CognitoCall(string, time.Duration) {}
