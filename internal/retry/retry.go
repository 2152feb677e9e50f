// Package retry is the worker's backoff policy: a pure decision (attempt,
// elapsed time, error class, jitter in; wait or give up out), the in-process
// retry loop built on cenkalti/backoff/v4, and the requeue delay between
// receives.
package retry

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/resend-worker/resend-worker/internal/config"
)

// Class is how a failed attempt should be retried.
type Class int

const (
	// Transient errors are retried after an exponential, jittered backoff.
	Transient Class = iota
	// Throttled errors are retried without a backoff of their own: the rate
	// limiter in front of the call, which the throttle has just slowed, spaces
	// the next attempt. They still count against the elapsed budget.
	Throttled
	// Permanent errors are not retried.
	Permanent
)

// MaxRequeueDelay caps RequeueDelay.
const MaxRequeueDelay = config.MaxRequeueDelay

// Policy bounds the in-process retries of one receive of a job.
type Policy struct {
	InitialInterval time.Duration // first backoff; default config.DefaultRetryInitialInterval
	MaxInterval     time.Duration // largest single backoff; default config.DefaultRetryMaxInterval
	MaxElapsed      time.Duration // budget for all attempts of one receive; default config.DefaultRetryMaxElapsed
	// RandomizationFactor spreads each wait over [w(1-f), w(1+f)], capped at
	// MaxInterval; default 0.5.
	RandomizationFactor float64
}

// WithDefaults fills unset fields.
func (p Policy) WithDefaults() Policy {
	if p.InitialInterval <= 0 {
		p.InitialInterval = config.DefaultRetryInitialInterval
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = config.DefaultRetryMaxInterval
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = config.DefaultRetryMaxElapsed
	}
	if p.RandomizationFactor == 0 {
		p.RandomizationFactor = 0.5
	}
	return p
}

// Decision is what to do after a failed attempt.
type Decision struct {
	Wait   time.Duration // how long to wait before the next attempt
	GiveUp bool          // true: no further attempt in this receive
}

// Decide is the policy as a pure function. attempt counts the attempts made
// so far (1 after the first failure), elapsed is the time since the first
// attempt started, jitter is uniform in [0, 1).
func (p Policy) Decide(attempt int, elapsed time.Duration, class Class, jitter float64) Decision {
	if class == Permanent || elapsed >= p.MaxElapsed {
		return Decision{GiveUp: true}
	}
	if class == Throttled {
		return Decision{}
	}
	interval := float64(p.InitialInterval) * math.Pow(2, float64(max(attempt-1, 0)))
	interval = math.Min(interval, float64(p.MaxInterval))
	f := p.RandomizationFactor
	wait := time.Duration(math.Min(interval*(1-f+2*f*jitter), float64(p.MaxInterval)))
	if elapsed+wait > p.MaxElapsed {
		return Decision{GiveUp: true}
	}
	return Decision{Wait: wait}
}

// RequeueDelay is the visibility delay for a job that goes back to the queue
// after its receiveCount-th receive: base doubled per receive, capped at 15m.
func RequeueDelay(base time.Duration, receiveCount int) time.Duration {
	if receiveCount < 1 {
		receiveCount = 1
	}
	d := base
	for i := 1; i < receiveCount && d < MaxRequeueDelay; i++ {
		d *= 2
	}
	return min(d, MaxRequeueDelay)
}

// Retrier runs an operation under a Policy.
type Retrier struct {
	Policy   Policy
	Classify func(error) Class // how to retry an error; nil: everything is Transient

	// Clock, NewTimer and Jitter are the loop's view of time and chance;
	// nil means the real clock, real timers and math/rand.
	Clock    backoff.Clock
	NewTimer func() backoff.Timer
	Jitter   func() float64
}

// Do calls op until it returns nil, a Permanent error, the budget is spent or
// ctx ends. It returns the number of calls made and the last error (nil on
// success; ctx's error if ctx ended before a call could be made).
func (r *Retrier) Do(ctx context.Context, op func(ctx context.Context, attempt int) error) (attempts int, err error) {
	clock, jitter := r.Clock, r.Jitter
	if clock == nil {
		clock = backoff.SystemClock
	}
	if jitter == nil {
		jitter = rand.Float64
	}
	classify := r.Classify
	if classify == nil {
		classify = func(error) Class { return Transient }
	}
	var lastErr error
	b := &policyBackOff{policy: r.Policy.WithDefaults(), clock: clock, jitter: jitter, lastClass: func() Class { return classify(lastErr) }}
	b.Reset()
	var timer backoff.Timer
	if r.NewTimer != nil {
		timer = r.NewTimer()
	}
	err = backoff.RetryNotifyWithTimer(func() error {
		if err := ctx.Err(); err != nil {
			return backoff.Permanent(err)
		}
		attempts++
		lastErr = op(ctx, attempts)
		if lastErr != nil && classify(lastErr) == Permanent {
			return backoff.Permanent(lastErr)
		}
		return lastErr
	}, backoff.WithContext(b, ctx), nil, timer)
	if err != nil && lastErr != nil && errors.Is(err, ctx.Err()) {
		// ctx ended during a wait: the last attempt's error says more.
		return attempts, lastErr
	}
	return attempts, err
}

// policyBackOff adapts Policy.Decide to backoff.BackOff.
type policyBackOff struct {
	policy    Policy
	clock     backoff.Clock
	jitter    func() float64
	lastClass func() Class
	start     time.Time
	attempt   int
}

func (b *policyBackOff) Reset() { b.start, b.attempt = b.clock.Now(), 0 }

func (b *policyBackOff) NextBackOff() time.Duration {
	b.attempt++
	d := b.policy.Decide(b.attempt, b.clock.Now().Sub(b.start), b.lastClass(), b.jitter())
	if d.GiveUp {
		return backoff.Stop
	}
	return d.Wait
}
