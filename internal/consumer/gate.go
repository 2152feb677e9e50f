package consumer

// The consumer's hooks for the worker's Cognito outage handling and
// liveness: the receive gate (Config.ReceiveGate), the loops' liveness
// reports (Config.Alive) and the stop signal a job's context carries
// (Stopping).

import (
	"context"
	"time"
)

// AliveEvery is the longest the acker goes without calling Config.Alive.
const AliveEvery = 5 * time.Second

// alive reports a receiver's liveness.
func (c *Consumer) alive() {
	if c.cfg.Alive != nil {
		c.cfg.Alive("receiver")
	}
}

// gate waits at the ReceiveGate, if any, reporting the receiver alive
// meanwhile: waiting there (for Cognito to come back) is not being stuck.
func (c *Consumer) gate(ctx context.Context) error {
	if c.cfg.ReceiveGate == nil {
		return nil
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(AliveEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c.alive()
			}
		}
	}()
	return c.cfg.ReceiveGate(ctx)
}

type stoppingKey struct{}

// WithStopping marks a job context with the channel that is closed when the
// consumer stops receiving, as Run does for its jobs (and tests of handlers).
func WithStopping(ctx context.Context, stop <-chan struct{}) context.Context {
	return context.WithValue(ctx, stoppingKey{}, stop)
}

// Stopping returns a channel that is closed when the consumer that handed
// a Handler ctx starts to stop (no new receives). A job's ctx itself ends
// only when the shutdown timeout runs out (a hard cancel); between the two a
// handler should start nothing new (no new call, no wait) but may finish
// what is under way. It returns nil (never closed) for other contexts.
func Stopping(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(stoppingKey{}).(<-chan struct{})
	return ch
}
