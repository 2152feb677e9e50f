package app

import (
	"flag"
	"sync/atomic"
	"time"

	"github.com/resend-worker/resend-worker/internal/admin"
	"github.com/resend-worker/resend-worker/internal/config"
	"github.com/resend-worker/resend-worker/internal/consumer"
	"github.com/resend-worker/resend-worker/internal/metrics"
	"github.com/resend-worker/resend-worker/internal/processor"
	"github.com/resend-worker/resend-worker/internal/ratelimit"
)

// lane is one queue the worker consumes: the interactive RESEND_QUEUE_URL
// and, when RESEND_BULK_QUEUE_URL is set, the bulk one, whose jobs use only
// the slots and Cognito calls the interactive ones leave.
type lane struct {
	name     string // metrics' lane label
	queueURL string
	limiter  processor.Limiter
	slots    *consumer.Slots // nil: the consumer's own pool
	dlqLane  string          // the DLQ's SourceQueue; "" with one lane
	health   *admin.Health   // fed by this lane's receives; nil for bulk
}

// lanesFor is the worker's lanes: one, or with a bulk queue two sharing the
// pool of WORKER_CONCURRENCY slots (consumer.Lanes: an interactive reserve)
// and the limiter (ratelimit.Priority: interactive calls go first).
// Readiness follows the interactive lane: a person's job is what must flow.
func lanesFor(cfg config.Config, lim *ratelimit.Limiter, health *admin.Health) ([]lane, error) {
	interactive := ratelimit.Interactive.String()
	if cfg.BulkQueueURL == "" {
		return []lane{{name: interactive, queueURL: cfg.QueueURL, limiter: lim, health: health}}, nil
	}
	slots, err := consumer.NewLanes(cfg.Concurrency, 0)
	if err != nil {
		return nil, &config.Error{Name: "WORKER_CONCURRENCY", Reason: err.Error()}
	}
	prio := ratelimit.NewPriority(lim)
	bulk := ratelimit.Bulk.String()
	return []lane{
		{name: interactive, queueURL: cfg.QueueURL, limiter: prio.Lane(ratelimit.Interactive), slots: slots.Interactive, dlqLane: interactive, health: health},
		{name: bulk, queueURL: cfg.BulkQueueURL, limiter: prio.Lane(ratelimit.Bulk), slots: slots.Bulk, dlqLane: bulk},
	}, nil
}

// interactiveFlag registers --interactive on the commands that send to the
// bulk queue when one is configured.
func interactiveFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("interactive", false, "send to RESEND_QUEUE_URL even when RESEND_BULK_QUEUE_URL is set")
}

// sendQueue is where a command sends jobs: the bulk queue for bulk work when
// one is configured (so that a replay or a backfill never delays a person),
// else RESEND_QUEUE_URL.
func sendQueue(cfg config.Config, bulk bool) string {
	if bulk && cfg.BulkQueueURL != "" {
		return cfg.BulkQueueURL
	}
	return cfg.QueueURL
}

// observer counts one lane's jobs and calls.
type observer struct {
	m    *metrics.Metrics
	lane string
}

func (o observer) JobDone(out processor.Outcome) { o.m.Jobs.WithLabelValues(string(out), o.lane).Inc() }
func (o observer) CognitoCall(code string, d time.Duration) {
	o.m.CognitoRequests.WithLabelValues(code).Inc()
	o.m.CognitoDurations.Observe(d.Seconds())
}
func (o observer) EnqueueToCall(d time.Duration) {
	o.m.EnqueueToCall.WithLabelValues(o.lane).Observe(d.Seconds())
}

// consumerObserver feeds one lane's receives to readiness (if h is set) and
// its jobs in flight to resend_inflight_jobs{lane}.
type consumerObserver struct {
	h    *admin.Health
	m    *metrics.Metrics
	lane string
	held *atomic.Int64 // jobs held by every lane (the receive gate's idle test)
}

func (o consumerObserver) Received(n int, err error) {
	if o.h != nil {
		o.h.Received(n, err)
	}
}
func (o consumerObserver) InFlight(delta int) {
	o.held.Add(int64(delta))
	o.m.InFlight.WithLabelValues(o.lane).Add(float64(delta))
}
