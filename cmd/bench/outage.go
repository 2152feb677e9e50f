package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/devenv"
)

// outageResult is row f: a Cognito outage in the middle of a drain.
type outageResult struct {
	outage          time.Duration // how long the stand-in failed every call
	trip            time.Duration // outage start → the worker judged Cognito down
	callsPerSec     float64       // Cognito calls per second while it was down
	probeCalls      int           // calls between the trip and the outage's end
	back            time.Duration // recovery → the worker judged Cognito back
	fullRate        time.Duration // recovery → OK calls at 90 % of the rate before
	rateBefore      float64       // OK calls per second over the 5 s before the outage
	deadLettered    float64
	requeued        float64
	drainAfter      time.Duration // recovery → queue empty
	limitAtRecovery float64       // resend_cognito_rate_limit when back
}

// outageRow drains n jobs at quota q with the worker at MAX_RPS q; once a
// quarter are done the stand-in fails every call (HTTP 500) for d.
func (b *bench) outageRow(ctx context.Context, n int, q float64, d time.Duration) (outageResult, error) {
	r := outageResult{outage: d}
	usernames := rowUsernames(n)
	be, err := b.newBackends(ctx, q, usernames)
	if err != nil {
		return r, err
	}
	defer be.cog.Stop()
	if err := b.enqueue(ctx, be.queueURL, usernames); err != nil {
		return r, err
	}
	port, err := devenv.FreePort()
	if err != nil {
		return r, err
	}
	admin := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := b.start([]string{b.bin, "run"}, b.target(be, admin, q).Env(), admin, fmt.Sprintf("worker-outage-%d.log", rowSeq))
	if err != nil {
		return r, err
	}
	defer p.stop()
	done := func() float64 { return devenv.SumMetrics(p.metrics(), "resend_jobs_total{") }
	if !waitUntil(b.o.timeout, func() bool { return done() >= float64(n)/4 }) {
		return r, fmt.Errorf("a quarter of the jobs not done within %s", b.o.timeout)
	}
	start := time.Now()
	if err := be.cog.Server.Outage(d, "InternalErrorException"); err != nil {
		return r, err
	}
	end := start.Add(d)
	fmt.Fprintf(os.Stderr, "(f) outage: Cognito down for %s…\n", d)
	gauge := func() float64 { return p.metrics()["resend_cognito_outage"] }
	if waitUntil(d, func() bool { return gauge() == 1 }) {
		r.trip = time.Since(start)
	}
	time.Sleep(time.Until(end)) // the outage is the scenario
	if !waitUntil(b.o.timeout, func() bool { return gauge() == 0 }) {
		return r, fmt.Errorf("the worker never judged Cognito back")
	}
	r.back = time.Since(end)
	m := p.metrics()
	r.limitAtRecovery = m["resend_cognito_rate_limit"]
	if !waitUntil(b.o.timeout, func() bool {
		c, err := b.queues.QueueCounts(ctx, be.queueURL)
		return err == nil && c.Total() == 0 && done() >= float64(n)
	}) {
		return r, fmt.Errorf("queue not drained within %s of recovery", b.o.timeout)
	}
	r.drainAfter = time.Since(end)
	m = p.metrics()
	r.deadLettered, r.requeued = m[`resend_jobs_total{outcome="dead_lettered"}`], m[`resend_jobs_total{outcome="requeued"}`]
	calls := be.cog.Server.Calls()
	r.callsPerSec = float64(countCalls(calls, start, end, false)) / d.Seconds()
	r.probeCalls = countCalls(calls, start.Add(r.trip), end, false)
	r.rateBefore = float64(countCalls(calls, start.Add(-5*time.Second), start, true)) / 5
	r.fullRate = -1
	for t := end; t.Before(end.Add(b.o.timeout)); t = t.Add(100 * time.Millisecond) {
		if float64(countCalls(calls, t, t.Add(time.Second), true)) >= 0.9*r.rateBefore {
			r.fullRate = t.Add(time.Second).Sub(end)
			break
		}
	}
	return r, nil
}

// countCalls counts calls in [from, to), only successful ones if ok.
func countCalls(calls []cognitoemu.Call, from, to time.Time, ok bool) int {
	k := 0
	for _, c := range calls {
		if !c.Time.Before(from) && c.Time.Before(to) && (!ok || c.Outcome == "OK") {
			k++
		}
	}
	return k
}

func printOutageRow(w io.Writer, q float64, r outageResult) {
	fmt.Fprintf(w, "\n(f) Cognito outage mid-drain (quota Q=%.0f/s, MAX_RPS=Q, every call HTTP 500 for %s)\n\n", q, r.outage)
	fmt.Fprintln(w, "| trip after | calls/s while down | probes after the trip | back after recovery | full rate after recovery | rate before | limiter at recovery | drained after recovery | dead-lettered | requeued |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	full := "never"
	if r.fullRate >= 0 {
		full = r.fullRate.Round(100 * time.Millisecond).String()
	}
	fmt.Fprintf(w, "| %s | %.2f | %d | %s | %s | %.1f/s | %.1f/s | %s | %.0f | %.0f |\n",
		r.trip.Round(10*time.Millisecond), r.callsPerSec, r.probeCalls, r.back.Round(100*time.Millisecond), full,
		r.rateBefore, r.limitAtRecovery, r.drainAfter.Round(100*time.Millisecond), r.deadLettered, r.requeued)
}
