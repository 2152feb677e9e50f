// Package metrics defines the worker's Prometheus metrics and counts every SQS
// API call through an SDK middleware.
package metrics

import (
	"context"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/resend-worker/resend-worker/internal/outcome"
)

// Metrics holds the contract's collectors.
type Metrics struct {
	Jobs             *prometheus.CounterVec // resend_jobs_total{outcome,lane}
	CognitoRequests  *prometheus.CounterVec // resend_cognito_requests_total{code}
	SQSRequests      *prometheus.CounterVec // resend_sqs_requests_total{op}
	InFlight         *prometheus.GaugeVec   // resend_inflight_jobs{lane}
	RateLimit        prometheus.Gauge       // resend_cognito_rate_limit
	CognitoDurations prometheus.Histogram   // resend_cognito_request_duration_seconds
	CognitoOutage    prometheus.Gauge       // resend_cognito_outage
	// EnqueueToCall is resend_enqueue_to_call_seconds{lane}: for each job a
	// Cognito call resolved, from the message's SentTimestamp to the start
	// of that call (see processor.EnqueueToCallObserver).
	EnqueueToCall *prometheus.HistogramVec
}

// Lanes are the values of the lane label: jobs of RESEND_QUEUE_URL are
// interactive, jobs of RESEND_BULK_QUEUE_URL bulk.
var Lanes = []string{"interactive", "bulk"}

// Outcomes are the values of resend_jobs_total's outcome label (outcome.All).
var Outcomes = func() []string {
	var out []string
	for _, o := range outcome.All() {
		out = append(out, string(o))
	}
	return out
}()

// New registers the collectors with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resend_jobs_total", Help: "Jobs finished, by outcome and lane.",
		}, []string{"outcome", "lane"}),
		CognitoRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resend_cognito_requests_total", Help: "ResendConfirmationCode calls, by answer (OK or the exception name).",
		}, []string{"code"}),
		SQSRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resend_sqs_requests_total", Help: "SQS API calls, by operation.",
		}, []string{"op"}),
		InFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "resend_inflight_jobs", Help: "Jobs being processed now, by lane.",
		}, []string{"lane"}),
		RateLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "resend_cognito_rate_limit", Help: "Cognito calls per second the limiter allows now.",
		}),
		CognitoDurations: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "resend_cognito_request_duration_seconds", Help: "Duration of ResendConfirmationCode calls.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		CognitoOutage: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "resend_cognito_outage", Help: "1 while the worker judges Cognito down (holding jobs, probing), else 0.",
		}),
		EnqueueToCall: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "resend_enqueue_to_call_seconds", Help: "From a job's SentTimestamp to the start of the Cognito call that resolved it, by lane.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"lane"}),
	}
	reg.MustRegister(m.Jobs, m.CognitoRequests, m.SQSRequests, m.InFlight, m.RateLimit, m.CognitoDurations, m.CognitoOutage, m.EnqueueToCall)
	for _, l := range Lanes {
		for _, o := range Outcomes {
			m.Jobs.WithLabelValues(o, l)
		}
		m.InFlight.WithLabelValues(l)
		m.EnqueueToCall.WithLabelValues(l)
	}
	return m
}

// CountSQSRequests returns an SDK API option that adds one to
// resend_sqs_requests_total{op} for each SQS API call; add it to the SQS
// client's APIOptions.
func (m *Metrics) CountSQSRequests() func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("CountSQSRequests",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				m.SQSRequests.WithLabelValues(awsmiddleware.GetOperationName(ctx)).Inc()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
}
