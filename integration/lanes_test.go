package integration

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/devenv"
	"github.com/resend-worker/resend-worker/internal/dlq"
	"github.com/resend-worker/resend-worker/internal/testenv"
	"github.com/resend-worker/resend-worker/job"
)

// withBulkQueue gives e a bulk queue that every worker process of the test
// is told of (RESEND_BULK_QUEUE_URL) and returns its URL.
func (e *env) withBulkQueue() string {
	e.t.Helper()
	url := e.moto.CreateQueue(e.t, fmt.Sprintf("lanes-bulk-%d-%d", os.Getpid()%10000, time.Now().UnixNano()%1_000_000_000))
	e.extra = map[string]string{"RESEND_BULK_QUEUE_URL": url}
	return url
}

// enqueueAll sends a job per user to url in batches of ten.
func (e *env) enqueueAll(url string, us []user) {
	e.t.Helper()
	jobs := make([]job.Job, len(us))
	for i, u := range us {
		jobs[i] = job.Job{Username: u.name}
	}
	if _, err := job.Enqueue(ctx(), e.moto.SQS(), url, jobs...); err != nil {
		e.t.Fatalf("enqueue: %v", err)
	}
}

// okCalls is when the stand-in first answered OK for each user.
func (e *env) okCalls() map[string]time.Time {
	out := map[string]time.Time{}
	for _, c := range e.cognito.Calls() {
		if _, seen := out[c.Username]; !seen && c.Outcome == "OK" {
			out[c.Username] = c.Time
		}
	}
	return out
}

// laneMetrics scrapes p's /metrics with the lane label kept.
func (p *proc) laneMetrics() map[string]float64 {
	p.t.Helper()
	m, err := devenv.ScrapeLanes(p.adminAddr)
	if err != nil {
		p.t.Fatal(err)
	}
	return m
}

// TestBulkLaneKeepsInteractiveFast is issue 13's scenario: 1,200 bulk jobs
// draining at a quota of 40/s, then 20 people press "resend code" 0.5 s
// apart. Each person's call comes within a second of their send, plus
// moto's latency for one request at that moment (one queue made them wait
// 20 s); every user gets exactly one code. The drain against
// N/Q is logged, not asserted: a speed goal, shown by `make bench` (row
// lanes), where the one-queue setup runs beside it on the same machine.
func TestBulkLaneKeepsInteractiveFast(t *testing.T) {
	const nBulk, nInter, quota = 1200, 20, 40
	bulkUsers, people := users("bulk", nBulk), users("person", nInter)
	e := newEnv(t, cognitoemu.Options{Quota: quota, ResendLimitPerHour: -1}, append(bulkUsers, people...)...)
	bulkURL := e.withBulkQueue()
	e.enqueueAll(bulkURL, bulkUsers)

	start := time.Now()
	p := e.start(map[string]string{"WORKER_CONCURRENCY": "32", "COGNITO_MAX_RPS": "40", "LOG_LEVEL": "info"})
	testenv.Eventually(t, 60*time.Second, "the bulk drain under way", func() bool { return len(e.okCalls()) >= 200 })

	// A person's job is enqueued when SendMessage returns: SQS holds it from
	// then on (its SentTimestamp lies between the call and its return). The
	// wait is measured from there to the stand-in's record of the call, so
	// that it is the worker's (its receive, slot and limiter turn) and not
	// moto's own time to take the send, which under the bulk drain's load
	// reaches several hundred milliseconds on this machine (logged below).
	sent := map[string]time.Time{}
	var sendTook []time.Duration
	for i, u := range people {
		if i > 0 {
			time.Sleep(500 * time.Millisecond) // the people's pace, not a wait for the worker
		}
		t0 := time.Now()
		e.moto.Send(t, e.queueURL, jobBody(u.name))
		sent[u.name] = time.Now()
		sendTook = append(sendTook, sent[u.name].Sub(t0))
	}
	p.waitJobs(nBulk+nInter, 120*time.Second)
	drain := time.Since(start)
	e.waitEmpty(e.queueURL, bulkURL)
	m := p.laneMetrics()
	p.stop(25 * time.Second)

	// Each person's call within 1 s of their send, plus one SQS request's
	// latency as moto shows it at that moment (that person's own send took
	// it): a long poll that ends empty is renewed at once, but under the
	// bulk drain moto takes up to 1.6 s to serve a request (its receive
	// scans the whole backlog), so a send that falls in a renewal waits for
	// moto, not the worker. Against SQS that is tens of milliseconds; the
	// bench's in-memory SQS (-sqs standin) measures people at 41 ms p50 and
	// 53 ms p99. The one-queue setup makes them wait 20 s and more.
	ok := e.okCalls()
	var waits []time.Duration
	for i, u := range people {
		at, found := ok[u.name]
		if !found {
			t.Errorf("%s: no successful call", u.name)
			continue
		}
		w := at.Sub(sent[u.name])
		waits = append(waits, w)
		if limit := time.Second + sendTook[i]; w > limit {
			t.Errorf("%s waited %v from enqueue to the call that sent the code, want ≤ 1s + moto's %v for a request then", u.name, w.Round(time.Millisecond), sendTook[i].Round(time.Millisecond))
		}
	}
	for _, u := range append(bulkUsers, people...) {
		if got := e.cognito.DeliveriesFor(u.name); got != 1 {
			t.Errorf("%s got %d codes, want exactly 1", u.name, got)
		}
	}
	if c := e.moto.QueueCounts(t, e.dlqURL); c.Total() != 0 {
		t.Errorf("DLQ holds %d messages, want none", c.Total())
	}
	ideal := time.Duration(float64(nBulk+nInter) / quota * float64(time.Second))
	ratio := drain.Seconds() / ideal.Seconds()
	want := map[string]float64{
		`resend_jobs_total{lane="bulk",outcome="resent"}`:                  nBulk,
		`resend_jobs_total{lane="interactive",outcome="resent"}`:           nInter,
		`resend_enqueue_to_call_seconds_count{lane="bulk"}`:                nBulk,
		`resend_enqueue_to_call_seconds_count{lane="interactive"}`:         nInter,
		`resend_enqueue_to_call_seconds_bucket{lane="interactive",le="5"}`: nInter,
		`resend_inflight_jobs{lane="bulk"}`:                                0,
		`resend_inflight_jobs{lane="interactive"}`:                         0,
	}
	for k, v := range want {
		if got, found := m[k]; !found || got != v {
			t.Errorf("%s = %v (found %v), want %v", k, got, found, v)
		}
	}
	slices.Sort(waits)
	slices.Sort(sendTook)
	if len(waits) > 0 {
		t.Logf("interactive enqueue-to-call: p50 %v, max %v (moto took p50 %v, max %v to accept each send); drain %v = %.3f × N/Q; worker's interactive enqueue-to-call mean %.0f ms, %.0f of %d within 1 s",
			waits[len(waits)/2].Round(time.Millisecond), waits[len(waits)-1].Round(time.Millisecond),
			sendTook[len(sendTook)/2].Round(time.Millisecond), sendTook[len(sendTook)-1].Round(time.Millisecond),
			drain.Round(time.Millisecond), ratio, 1000*m[`resend_enqueue_to_call_seconds_sum{lane="interactive"}`]/nInter,
			m[`resend_enqueue_to_call_seconds_bucket{lane="interactive",le="1"}`], nInter)
	}
}

// TestBulkLaneOperators: with a bulk queue, `worker replay` and `worker
// enqueue --file` send to it (--interactive to the job queue instead), a
// single `enqueue --username` stays interactive; the worker drains both
// lanes, counts each, and a dead-lettered copy names its lane.
func TestBulkLaneOperators(t *testing.T) {
	known := users("known", 3)
	e := newEnv(t, cognitoemu.Options{}, known...)
	bulkURL := e.withBulkQueue()
	now := time.Now()
	for _, u := range []string{"ghost-b1", "ghost-b2", "ghost-b3"} {
		e.deadLetter(jobBody(u), "UserNotFoundException", now, 0)
	}
	if code, _, stderr := e.cli("", "replay"); code != 0 {
		t.Fatalf("replay exit %d: %s", code, stderr)
	}
	for _, u := range []string{"ghost-i1", "ghost-i2"} {
		e.deadLetter(jobBody(u), "UserNotFoundException", now, 0)
	}
	if code, _, stderr := e.cli("", "replay", "--interactive"); code != 0 {
		t.Fatalf("replay --interactive exit %d: %s", code, stderr)
	}
	if code, _, stderr := e.cli(known[0].name+"\n"+known[1].name+"\n", "enqueue", "--file", "-"); code != 0 {
		t.Fatalf("enqueue --file exit %d: %s", code, stderr)
	}
	if code, _, stderr := e.cli("", "enqueue", "--username", known[2].name); code != 0 {
		t.Fatalf("enqueue --username exit %d: %s", code, stderr)
	}
	if b, i := e.moto.QueueCounts(t, bulkURL).Visible, e.moto.QueueCounts(t, e.queueURL).Visible; b != 5 || i != 3 {
		t.Fatalf("bulk queue holds %d, job queue %d; want 5 (3 replayed, 2 from --file) and 3", b, i)
	}

	p := e.start(nil)
	p.waitJobs(8, 60*time.Second)
	e.waitEmpty(e.queueURL, bulkURL)
	m := p.laneMetrics()
	p.stop(25 * time.Second)
	for k, v := range map[string]float64{
		`resend_jobs_total{lane="bulk",outcome="resent"}`:               2,
		`resend_jobs_total{lane="bulk",outcome="dead_lettered"}`:        3,
		`resend_jobs_total{lane="interactive",outcome="resent"}`:        1,
		`resend_jobs_total{lane="interactive",outcome="dead_lettered"}`: 2,
	} {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	lanes := map[string]string{} // body → SourceQueue
	for _, d := range e.moto.Drain(t, e.dlqURL) {
		lanes[aws.ToString(d.Body)] = aws.ToString(d.MessageAttributes[dlq.AttrSourceQueue].StringValue)
	}
	want := map[string]string{jobBody("ghost-b1"): "bulk", jobBody("ghost-b2"): "bulk", jobBody("ghost-b3"): "bulk",
		jobBody("ghost-i1"): "interactive", jobBody("ghost-i2"): "interactive"}
	if len(lanes) != len(want) {
		t.Errorf("DLQ holds %d jobs, want %d", len(lanes), len(want))
	}
	for body, lane := range want {
		if lanes[body] != lane {
			t.Errorf("dead-lettered %s has SourceQueue %q, want %q", body, lanes[body], lane)
		}
	}
	for _, u := range known {
		if got := e.cognito.DeliveriesFor(u.name); got != 1 {
			t.Errorf("%s got %d codes, want 1", u.name, got)
		}
	}
}
