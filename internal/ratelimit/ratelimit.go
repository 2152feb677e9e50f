// Package ratelimit paces Cognito calls: a token bucket (golang.org/x/time/rate)
// whose rate adapts AIMD-style — cut multiplicatively on a throttle, raised
// additively while calls succeed, never above the configured cap — so that
// independent processes sharing one quota settle on a fair share.
//
// Two refinements keep the cost of probing low (see the bench's README
// section for the measurements behind the constants):
//
//   - A throttle cuts once per round trip: only the throttle of a call that
//     started after the last cut is a new signal (calls already on their way
//     when the rate was cut say nothing about the new rate). Each call's
//     token (Acquire) carries its place in the order of starts, and every
//     call reports its result through it, errors included, so this is exact.
//     CutInterval is the fallback for callers that report without a token.
//   - The cut is measured: by the share of the calls since the last cut that
//     succeeded, at most Decrease and at least MaxCut. A process far above
//     its share (starting at twice the quota, or three processes each at the
//     quota) gets there in one or two cuts; one just above it is cut gently.
//
// After a cut the rate climbs back toward the level the successes showed
// sustainable (the rate before the cut times the share that succeeded) with
// time constant Recovery, then additively by Increase per second beyond it:
// fast where the quota had room, slow where it pushed back.
package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/resend-worker/resend-worker/internal/config"
)

// Config tunes the adaptation.
type Config struct {
	// Max is the cap and the starting rate, in calls per second (COGNITO_MAX_RPS).
	Max float64
	// Min is the floor; default Max/50, at least 0.1.
	Min float64
	// Decrease is the gentlest cut: the most a throttle leaves of the rate;
	// default 0.7.
	Decrease float64
	// MaxCut is the deepest cut, however few of the calls since the last cut
	// succeeded; default min(0.5, Decrease). A cut is by Decrease until
	// MinSamples calls since the last cut have reported.
	MaxCut float64
	// Increase is the rate added per second of successful calls, in calls per
	// second, above the level last found sustainable (and the least added
	// below it); default Max/20.
	Increase float64
	// Recovery is the time constant of the climb back to the level last
	// found sustainable: the gap shrinks by 63 % per Recovery of successful
	// calls. 0 climbs by Increase only (plain AIMD).
	Recovery time.Duration
	// CutInterval is the least time between two cuts when no call that
	// started after the last cut has reported yet, so that a burst of
	// throttles from calls already on their way counts as one signal;
	// default 1s.
	CutInterval time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// OnChange, if set, is called with the new rate whenever it changes
	// (for the resend_cognito_rate_limit gauge).
	OnChange func(perSecond float64)
}

// MinSamples is how many calls since the last cut must have reported before
// their success share sets the depth of a cut.
const MinSamples = 2

// Tuned is the configuration the worker runs with, chosen by measurement
// (cmd/bench, README): cuts between 10 % and 50 % by the share of calls that
// succeeded, a climb back to the sustainable level with a 2 s time
// constant, and a probe of Max/200 per second beyond it.
func Tuned(max float64) Config {
	return Config{Max: max, Decrease: 0.9, MaxCut: 0.5, Increase: max / 200, Recovery: 2 * time.Second, CutInterval: time.Second}
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Max <= 0 {
		c.Max = config.DefaultMaxRPS
	}
	if c.Min <= 0 {
		c.Min = math.Max(c.Max/50, 0.1)
	}
	c.Min = math.Min(c.Min, c.Max)
	if c.Decrease <= 0 || c.Decrease >= 1 {
		c.Decrease = 0.7
	}
	if c.MaxCut <= 0 || c.MaxCut > c.Decrease {
		c.MaxCut = math.Min(0.5, c.Decrease)
	}
	if c.Increase <= 0 {
		c.Increase = c.Max / 20
	}
	if c.CutInterval <= 0 {
		c.CutInterval = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Limiter is safe for concurrent use.
type Limiter struct {
	cfg  Config
	lim  *rate.Limiter
	turn chan struct{} // held by the one caller reserving a token

	mu      sync.Mutex
	current float64
	target  float64 // the level last found sustainable; 0 before any cut
	lastCut time.Time
	// Calls are counted as they start (issued) and as they report
	// (reported); a report with reported > cutIssued is, in order, of a call
	// that started after the last cut.
	issued, reported, cutIssued uint64
	ok, throttled               int // fresh reports since the last cut
}

// New returns a Limiter at cfg.Max.
func New(cfg Config) *Limiter {
	cfg = cfg.WithDefaults()
	l := &Limiter{cfg: cfg, current: cfg.Max, lim: rate.NewLimiter(rate.Limit(cfg.Max), 1), turn: make(chan struct{}, 1)}
	l.notify()
	return l
}

// Wait blocks until a call may start or ctx ends. It is for callers that
// report without a token (Throttled, Succeeded): their reports are matched to
// starts by order, and CutInterval stands in for the calls that never report.
// Acquire is exact.
func (l *Limiter) Wait(ctx context.Context) error {
	_, err := l.start(ctx)
	return err
}

// Acquire blocks until a call may start or ctx ends, like Wait, and returns
// the call's report function (its token): call it with the call's result,
// whatever the result
// (Failed for any answer but a success or a throttle, and for a call that was
// not made after all), so that the limiter knows which reports are of calls
// that started after its last cut. This is aws-sdk-go-v2's retry adaptive
// mode's GetAttemptToken, for the rate instead of a retry quota.
// Only the first report of a token counts.
func (l *Limiter) Acquire(ctx context.Context) (report func(Result), err error) {
	seq, err := l.start(ctx)
	if err != nil {
		return nil, err
	}
	t := &token{l: l, seq: seq}
	return t.report, nil
}

// start waits for the call's turn and counts it as issued, returning its
// sequence number.
//
// Callers wait their turn before they reserve a token, one at a time: were
// every waiter to hold a reservation of the token bucket, those made before a
// cut would still fire at the old rate (throttled, more cuts), and the debt
// they ran up would then be repaid at the new, slower rate (a stall of
// seconds). With one reservation outstanding a change of rate takes effect
// from the next call.
func (l *Limiter) start(ctx context.Context) (uint64, error) {
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	err := l.lim.Wait(ctx)
	<-l.turn
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.issued++
	return l.issued, nil
}

// Result is what a call the limiter let start came to.
type Result int

const (
	// Succeeded: Cognito did what was asked (or answered that there was
	// nothing to do). It raises the rate.
	Succeeded Result = iota
	// Throttled: TooManyRequestsException. It cuts the rate.
	Throttled
	// Failed: any other answer, or no call after all. It changes nothing
	// but keeps the limiter's count of reports exact.
	Failed
)

// token is one started call, from Acquire.
type token struct {
	l    *Limiter
	seq  uint64 // its place in the order of starts
	once sync.Once
}

// report tells the limiter what the call came to, once.
func (t *token) report(r Result) {
	t.once.Do(func() {
		l := t.l
		l.mu.Lock()
		l.reported++
		fresh := t.seq > l.cutIssued
		switch r {
		case Succeeded:
			l.succeededLocked(fresh)
			return
		case Throttled:
			l.throttledLocked(fresh)
			return
		}
		l.mu.Unlock()
	})
}

// Rate is the rate in force, in calls per second.
func (l *Limiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.current
}

// fresh counts a report without a token and says whether it is of a call
// that started after the last cut, taking reports to come in the order the
// calls started.
func (l *Limiter) fresh() bool {
	l.reported++
	return l.issued > l.cutIssued && l.reported > l.cutIssued
}

// Throttled reports a throttle without a token: it cuts the rate, once per
// round trip (or CutInterval).
func (l *Limiter) Throttled() {
	l.mu.Lock()
	l.throttledLocked(l.fresh())
}

// throttledLocked cuts the rate for a throttle, fresh if its call started
// after the last cut; it is called with l.mu held and releases it.
func (l *Limiter) throttledLocked(fresh bool) {
	now := l.cfg.Now()
	if fresh {
		l.throttled++
	}
	if !fresh && !l.lastCut.IsZero() && now.Sub(l.lastCut) < l.cfg.CutInterval {
		l.mu.Unlock()
		return
	}
	factor := l.cfg.Decrease
	before := l.current
	target := before * factor
	if n := l.ok + l.throttled; n >= MinSamples {
		share := float64(l.ok) / float64(n)
		factor = math.Min(math.Max(share, l.cfg.MaxCut), l.cfg.Decrease)
		target = before * share
	}
	l.lastCut, l.cutIssued, l.ok, l.throttled = now, l.issued, 0, 0
	next := math.Max(before*factor, l.cfg.Min)
	l.target = math.Max(target, next)
	l.set(next, now)
	l.mu.Unlock()
	l.notify()
}

// Succeeded reports a success without a token. It raises the rate by
// inc/current, so that a second of calls at the current rate raises it by
// inc: Increase, or more while below the level last found sustainable
// (closing the gap with time constant Recovery).
func (l *Limiter) Succeeded() {
	l.mu.Lock()
	l.succeededLocked(l.fresh())
}

// succeededLocked is Succeeded's work, with l.mu held; it releases it.
func (l *Limiter) succeededLocked(fresh bool) {
	if fresh {
		l.ok++
	}
	if l.current >= l.cfg.Max {
		l.mu.Unlock()
		return
	}
	inc := l.cfg.Increase
	if l.cfg.Recovery > 0 && l.target > 0 {
		// Below the target: close the gap (concave). Above it: the longer
		// no throttle came, the faster the climb (convex), so that a share
		// other processes gave up is taken within seconds.
		inc += math.Abs(l.target-l.current) / l.cfg.Recovery.Seconds()
	}
	l.set(math.Min(l.current+inc/l.current, l.cfg.Max), l.cfg.Now())
	l.mu.Unlock()
	l.notify()
}

func (l *Limiter) set(r float64, now time.Time) {
	l.current = r
	l.lim.SetLimitAt(now, rate.Limit(r))
}

func (l *Limiter) notify() {
	if l.cfg.OnChange != nil {
		l.cfg.OnChange(l.Rate())
	}
}
