// Package ratelimit paces Cognito calls: a token bucket (golang.org/x/time/rate)
// whose rate adapts AIMD-style — cut multiplicatively on a throttle, raised
// additively while calls succeed, never above the configured cap — so that
// independent processes sharing one quota settle on a fair share.
package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Config tunes the adaptation.
type Config struct {
	// Max is the cap and the starting rate, in calls per second (COGNITO_MAX_RPS).
	Max float64
	// Min is the floor; default Max/50, at least 0.1.
	Min float64
	// Decrease multiplies the rate on a throttle; default 0.7.
	Decrease float64
	// Increase is the rate added per second of successful calls, in calls per
	// second; default Max/20 (from the floor back to the cap in ~20 s).
	Increase float64
	// CutInterval is the least time between two cuts, so that a burst of
	// throttles from calls already on their way counts as one signal;
	// default 1s.
	CutInterval time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// OnChange, if set, is called with the new rate whenever it changes
	// (for the resend_cognito_rate_limit gauge).
	OnChange func(perSecond float64)
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Max <= 0 {
		c.Max = 20
	}
	if c.Min <= 0 {
		c.Min = math.Max(c.Max/50, 0.1)
	}
	c.Min = math.Min(c.Min, c.Max)
	if c.Decrease <= 0 || c.Decrease >= 1 {
		c.Decrease = 0.7
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
	cfg Config
	lim *rate.Limiter

	mu      sync.Mutex
	current float64
	lastCut time.Time
}

// New returns a Limiter at cfg.Max.
func New(cfg Config) *Limiter {
	cfg = cfg.WithDefaults()
	l := &Limiter{cfg: cfg, current: cfg.Max, lim: rate.NewLimiter(rate.Limit(cfg.Max), 1)}
	l.notify()
	return l
}

// Wait blocks until a call may start or ctx ends.
func (l *Limiter) Wait(ctx context.Context) error { return l.lim.Wait(ctx) }

// Rate is the rate in force, in calls per second.
func (l *Limiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.current
}

// Throttled cuts the rate by Decrease, at most once per CutInterval.
func (l *Limiter) Throttled() {
	l.mu.Lock()
	now := l.cfg.Now()
	if !l.lastCut.IsZero() && now.Sub(l.lastCut) < l.cfg.CutInterval {
		l.mu.Unlock()
		return
	}
	l.lastCut = now
	l.set(math.Max(l.current*l.cfg.Decrease, l.cfg.Min), now)
	l.mu.Unlock()
	l.notify()
}

// Succeeded raises the rate by Increase/current, so that a second of calls
// at the current rate raises it by Increase.
func (l *Limiter) Succeeded() {
	l.mu.Lock()
	if l.current >= l.cfg.Max {
		l.mu.Unlock()
		return
	}
	l.set(math.Min(l.current+l.cfg.Increase/l.current, l.cfg.Max), l.cfg.Now())
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
