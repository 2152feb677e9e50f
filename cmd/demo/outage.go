package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/devenv"
	"github.com/resend-worker/resend-worker/job"
)

// The outage phase: the stand-in takes Cognito down for outageFor while a
// batch of outageJobs waits; the worker should hold them, probe, and send
// every code once Cognito is back.
const (
	outageFor  = 6 * time.Second
	outageJobs = 40
)

// outageUsers are the users of the outage phase, seeded unconfirmed.
func outageUsers() []string {
	out := make([]string, outageJobs)
	for i := range out {
		out[i] = fmt.Sprintf("user%02d", i+1)
	}
	return out
}

// outageRun is what the outage phase saw.
type outageRun struct {
	start, end   time.Time // the stand-in failing every call
	downAt       time.Time // the worker's resend_cognito_outage went to 1 (zero: never)
	backAt       time.Time // ... and back to 0
	rateDown     float64   // resend_cognito_rate_limit while down
	rateBack     float64   // ... when back
	readyDuring  int       // /readyz status seen while the worker judged Cognito down
	healthDuring int       // /healthz status seen then
	doneAt       time.Time // every outage user had a code and the queue was empty
	calls        []cognitoemu.Call
	codes        map[string]int // codes delivered per outage user
}

// runOutage takes Cognito down, enqueues the batch and watches the worker's
// signals (every 100 ms) until every code is delivered or timeout passes.
func runOutage(ctx context.Context, cognito *devenv.Cognito, moto *devenv.Moto, queueURL, adminAddr string, timeout time.Duration) (outageRun, error) {
	r := outageRun{start: time.Now()}
	if err := cognito.Server.Outage(outageFor, "InternalErrorException"); err != nil {
		return r, err
	}
	r.end = r.start.Add(outageFor)
	users := outageUsers()
	var jobs []job.Job
	for _, u := range users {
		jobs = append(jobs, job.Job{Username: u, ClientMetadata: map[string]string{"source": "make-demo-outage"}})
	}
	if _, err := job.Enqueue(ctx, moto.SQS(), queueURL, jobs...); err != nil {
		return r, err
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		m, err := devenv.ScrapeMetrics(adminAddr)
		if err == nil {
			down := m["resend_cognito_outage"] == 1
			switch {
			case down && r.downAt.IsZero():
				r.downAt, r.rateDown = time.Now(), m["resend_cognito_rate_limit"]
				r.readyDuring, r.healthDuring = status(adminAddr, "/readyz"), status(adminAddr, "/healthz")
			case !down && !r.downAt.IsZero() && r.backAt.IsZero():
				r.backAt, r.rateBack = time.Now(), m["resend_cognito_rate_limit"]
			}
		}
		r.codes = codesFor(cognito.Server.Deliveries(), users)
		if len(r.codes) == len(users) {
			if c, err := moto.QueueCounts(ctx, queueURL); err == nil && c.Total() == 0 {
				r.doneAt = time.Now()
				break
			}
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	for _, c := range cognito.Server.Calls() {
		if slices.Contains(users, c.Username) {
			r.calls = append(r.calls, c)
		}
	}
	return r, nil
}

func status(adminAddr, path string) int {
	resp, err := http.Get("http://" + adminAddr + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func codesFor(ds []cognitoemu.Delivery, users []string) map[string]int {
	out := map[string]int{}
	for _, d := range ds {
		if d.Trigger == "ResendConfirmationCode" && slices.Contains(users, d.Username) {
			out[d.Username]++
		}
	}
	return out
}

// check lists how the phase differs from what the contract promises.
func (r outageRun) check() []string {
	var diffs []string
	if r.downAt.IsZero() || r.backAt.IsZero() {
		diffs = append(diffs, "outage: the worker did not mark Cognito down and back (resend_cognito_outage)")
	}
	if !r.downAt.IsZero() && (r.readyDuring != http.StatusServiceUnavailable || r.healthDuring != http.StatusOK) {
		diffs = append(diffs, fmt.Sprintf("outage: /readyz %d and /healthz %d while down, want 503 and 200", r.readyDuring, r.healthDuring))
	}
	if r.doneAt.IsZero() {
		diffs = append(diffs, fmt.Sprintf("outage: %d of %d users had a code when the demo stopped waiting", len(r.codes), outageJobs))
	}
	for u, n := range r.codes {
		if n != 1 {
			diffs = append(diffs, fmt.Sprintf("outage: %s got %d codes, want 1", u, n))
		}
	}
	if during := r.callsIn(r.start, r.end); float64(len(during)) > 2*outageFor.Seconds()+20 {
		diffs = append(diffs, fmt.Sprintf("outage: %d Cognito calls while it was down, want a burst then probes", len(during)))
	}
	return diffs
}

// callsIn are the phase's calls in [from, to).
func (r outageRun) callsIn(from, to time.Time) []cognitoemu.Call {
	var out []cognitoemu.Call
	for _, c := range r.calls {
		if !c.Time.Before(from) && c.Time.Before(to) {
			out = append(out, c)
		}
	}
	return out
}
