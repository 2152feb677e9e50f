package integration

import (
	"testing"
	"time"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
)

// TestQuotaBelowMaxRPS: the stand-in's quota is a quarter of COGNITO_MAX_RPS,
// so the worker is throttled until its limiter adapts. With a retry budget
// of 1 s and MAX_RECEIVES 1 (a job still failing transiently on its first
// receive is dead-lettered), throttling must still neither requeue nor
// dead-letter anything: every job ends resent exactly once.
func TestQuotaBelowMaxRPS(t *testing.T) {
	const n, quota, maxRPS = 120, 10, 40
	us := users("quota", n)
	e := newEnv(t, cognitoemu.Options{Quota: quota, ResendLimitPerHour: -1}, us...)
	sendBatch(t, e, us)
	start := time.Now()
	p := e.start(map[string]string{
		"WORKER_CONCURRENCY": "32", "COGNITO_MAX_RPS": "40", "LOG_LEVEL": "info",
		"RETRY_MAX_ELAPSED": "1s", "MAX_RECEIVES": "1", "REQUEUE_DELAY": "1s",
	})
	p.waitJobs(n, 120*time.Second)
	took := time.Since(start)
	e.waitEmpty(e.queueURL)
	m := p.metrics()
	p.stop(25 * time.Second)

	if got := m[`resend_jobs_total{outcome="resent"}`]; got != n {
		t.Errorf("resent = %.0f, want %d (requeued %.0f, dead-lettered %.0f)", got, n,
			m[`resend_jobs_total{outcome="requeued"}`], m[`resend_jobs_total{outcome="dead_lettered"}`])
	}
	for _, u := range us {
		if got := e.cognito.DeliveriesFor(u.name); got != 1 {
			t.Errorf("%s got %d codes, want exactly 1", u.name, got)
		}
	}
	if c := e.moto.QueueCounts(t, e.dlqURL); c.Total() != 0 {
		t.Errorf("DLQ holds %d messages, want none", c.Total())
	}
	throttled := 0
	for _, c := range e.cognito.Calls() {
		if c.Outcome == "TooManyRequestsException" {
			throttled++
		}
	}
	if throttled == 0 {
		t.Errorf("no call was throttled: the quota (%d/s) did not bite at COGNITO_MAX_RPS %d", quota, maxRPS)
	}
	if got := m[`resend_cognito_requests_total{code="TooManyRequestsException"}`]; int(got) != throttled {
		t.Errorf("resend_cognito_requests_total{TooManyRequestsException} = %.0f, stand-in saw %d", got, throttled)
	}
	if r := m["resend_cognito_rate_limit"]; r <= 0 || r > maxRPS {
		t.Errorf("resend_cognito_rate_limit = %v, want in (0, %d]", r, maxRPS)
	}
	// The limiter must bring the calls down to the quota: at most a few
	// seconds' worth of throttles over the run.
	ideal := time.Duration(n/quota) * time.Second
	t.Logf("%d jobs in %s (ideal %s at the quota); %d of %d calls throttled",
		n, took.Round(time.Millisecond), ideal, throttled, len(e.cognito.Calls()))
	if throttled > n/4 {
		t.Errorf("%d throttled calls for %d jobs: the limiter did not adapt", throttled, n)
	}
}
