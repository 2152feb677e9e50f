package ratelimit

import "math"

// SetMax changes the cap, for a task whose share of the quota changed (a
// fleet grew or shrank). The rate in force, the level last found
// sustainable, the floor and the additive step are scaled by the same
// factor, so the adaptation to other callers of the quota keeps its place
// within the new cap, and a share given back is taken at once rather than
// climbed to.
func (l *Limiter) SetMax(max float64) {
	if !(max > 0) {
		return
	}
	l.mu.Lock()
	f := max / l.cfg.Max
	if f == 1 {
		l.mu.Unlock()
		return
	}
	l.cfg.Max = max
	l.cfg.Min = math.Min(math.Max(l.cfg.Min*f, 0.1), max)
	l.cfg.Increase *= f
	l.target *= f
	l.set(math.Min(math.Max(l.current*f, l.cfg.Min), max), l.cfg.Now())
	l.mu.Unlock()
	l.notify()
}

// Max is the cap in force.
func (l *Limiter) Max() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg.Max
}
