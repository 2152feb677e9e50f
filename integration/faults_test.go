package integration

// Fault tests (issue 5): the real worker binary against moto_server and the
// Cognito stand-in while processes die, SQS goes away, Cognito fails, the
// DLQ is missing or a job outlives its visibility timeout. Every test counts
// what was lost and what was delivered twice, and asserts bounds on both:
// SQS delivers at least once, so a duplicate is reported, never hidden.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/devenv"
	"github.com/resend-worker/resend-worker/internal/testenv"
)

// e164 finds a phone number in E.164 form in log output (the harness scans
// for the env's personal data and emails; this adds phone numbers).
var e164 = regexp.MustCompile(`\+\d{7,15}`)

// startW starts a worker like e.start and, at cleanup, after the process has
// ended, also scans its output for phone numbers.
func startW(e *env, extra map[string]string) *proc {
	e.t.Helper()
	p := e.start(extra)
	e.t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if m := e164.FindString(p.out.String()); m != "" {
			e.t.Errorf("worker output contains a phone number: %q", m)
		}
	})
	return p
}

// codes is the number of codes ResendConfirmationCode sent, per username.
func (e *env) codes() map[string]int {
	out := map[string]int{}
	for _, d := range e.cognito.Deliveries() {
		if d.Trigger == "ResendConfirmationCode" {
			out[d.Username]++
		}
	}
	return out
}

// twice lists the users who got more than one code.
func twice(codes map[string]int) []string {
	var out []string
	for u, n := range codes {
		if n > 1 {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func metric(m map[string]float64, name string) float64 { return m[name] }

func sqsOp(op string) string { return fmt.Sprintf(`resend_sqs_requests_total{op=%q}`, op) }

func outcome(o string) string { return fmt.Sprintf(`resend_jobs_total{outcome=%q}`, o) }

// sleepUntil waits for a point of the scenario's timeline (an outage's end:
// the wait is the scenario, not a hope).
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// queueUsernames drains a queue and returns the username of each job in it.
func queueUsernames(t *testing.T, e *env, url string) []string {
	t.Helper()
	var out []string
	for _, m := range e.moto.Drain(t, url) {
		var j struct {
			Username string `json:"username"`
		}
		body := aws.ToString(m.Body)
		if err := jsonUnmarshal(body, &j); err != nil {
			t.Errorf("queue holds a body that is no job: %q", body)
			continue
		}
		out = append(out, j.Username)
	}
	return out
}

// TestKill9MidFlight: SIGKILL a worker after about 100 of 300 codes; a new
// worker finishes the job. Nothing is lost or dead-lettered; the users who
// get a second code are exactly those whose code was sent but whose message
// the killed worker had not deleted yet, and there are at most
// WORKER_CONCURRENCY + pendingDeleteBound of them.
func TestKill9MidFlight(t *testing.T) {
	t.Parallel() // mostly waiting (visibility timeout, outage): overlaps with the other waiting tests
	const (
		n           = 300
		concurrency = 16
		// pendingDeleteBound is how many finished jobs may wait for their
		// delete at any moment: the acker sends a batch as soon as 10 deletes
		// are queued (else after the 1 s flush interval), so at most one
		// partial batch (9) waits, one full batch (10) is on its way to
		// SQS, and while that call runs (moto under load: up to ~1 s in
		// this test's runs) the pool keeps finishing jobs into the acker's
		// channel — at most one pool's worth (16) per 100 ms Cognito
		// latency, capped here by that 1 s round trip to 2 more batches.
		pendingDeleteBound = 9 + 10 + 2*10
	)
	us := users("kill", n)
	e := newEnv(t, cognitoemu.Options{Latency: 100 * time.Millisecond}, us...)
	sendBatch(t, e, us)
	cfg := map[string]string{"WORKER_CONCURRENCY": fmt.Sprint(concurrency), "COGNITO_MAX_RPS": "1000"}
	p1 := startW(e, cfg)
	testenv.Eventually(t, 60*time.Second, "about 100 codes delivered", func() bool {
		return len(e.cognito.Deliveries()) >= 100
	})
	if err := p1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p1.done
	killedAt := time.Now()
	// The stand-in records a code when the call arrives, so nothing new
	// comes from the dead process; moto may still finish a delete that was
	// on the wire. Wait for the queue's count to settle.
	var after1 int
	prev := -1
	testenv.Eventually(t, 10*time.Second, "the queue count to settle after the kill", func() bool {
		c := e.moto.QueueCounts(t, e.queueURL).Total()
		settled := c == prev
		prev, after1 = c, c
		if !settled {
			time.Sleep(200 * time.Millisecond)
		}
		return settled
	})
	codes1 := e.codes()
	deleted1 := n - after1
	unacked := len(codes1) - deleted1 // code sent, message still on the queue
	t.Logf("at the kill: %d users had a code, %d messages deleted, %d sent but not deleted", len(codes1), deleted1, unacked)
	if d := twice(codes1); len(d) > 0 {
		t.Errorf("before the kill %d users already got two codes: %v", len(d), d)
	}

	p2 := startW(e, cfg)
	testenv.Eventually(t, 90*time.Second, "every user to get a code and the queue to empty", func() bool {
		return len(e.codes()) == n && e.moto.QueueCounts(t, e.queueURL).Total() == 0
	})
	recovered := time.Since(killedAt)
	m2 := p2.metrics()
	p2.stop(25 * time.Second)

	codes := e.codes()
	dups := twice(codes)
	redelivered := 0 // messages the killed worker held: received again
	for _, l := range p2.logLines("job") {
		if l["receive_count"].(float64) > 1 {
			redelivered++
		}
	}
	t.Logf("kill -9: lost 0 of %d; %d users got two codes (bound %d+%d); %d messages held by the killed worker came back; "+
		"%.0f duplicate deliveries deduplicated by the new worker; everything done %s after the kill",
		n, len(dups), concurrency, pendingDeleteBound, redelivered, metric(m2, outcome("deduplicated")), recovered.Round(100*time.Millisecond))
	for _, u := range us {
		if codes[u.name] == 0 {
			t.Errorf("lost: %s never got a code", u.name)
		}
		if codes[u.name] > 2 {
			t.Errorf("%s got %d codes", u.name, codes[u.name])
		}
	}
	if len(dups) != unacked {
		t.Errorf("%d users got two codes, want exactly the %d whose code was sent before the kill but whose message was not deleted", len(dups), unacked)
	}
	if len(dups) > concurrency+pendingDeleteBound {
		t.Errorf("%d users got two codes, want at most %d in flight + %d pending deletes", len(dups), concurrency, pendingDeleteBound)
	}
	if redelivered > concurrency+pendingDeleteBound {
		t.Errorf("%d messages came back from the killed worker, want at most %d", redelivered, concurrency+pendingDeleteBound)
	}
	if c := e.moto.QueueCounts(t, e.dlqURL); c.Total() != 0 {
		t.Errorf("DLQ holds %+v, want nothing dead-lettered", c)
	}
	if got := metric(m2, outcome("resent")) + metric(m2, outcome("deduplicated")); int(got) < n-deleted1 {
		t.Errorf("the new worker finished %.0f jobs, want at least the %d left", got, n-deleted1)
	}
}

// TestSIGTERMUnderLoad: SIGTERM while 16 jobs are in flight and 150 wait:
// exit 0 within SHUTDOWN_TIMEOUT, the unfinished jobs visible again at once,
// and every job either resent (deleted) or on the queue.
func TestSIGTERMUnderLoad(t *testing.T) {
	const n = 200
	us := users("term", n)
	e := newEnv(t, cognitoemu.Options{Latency: 2 * time.Second}, us...)
	sendBatch(t, e, us)
	// Jobs get SHUTDOWN_TIMEOUT less the flush reserve (1.5 s - 375 ms): with
	// 2 s Cognito calls, the jobs in flight at SIGTERM are mostly cancelled.
	p := startW(e, map[string]string{"WORKER_CONCURRENCY": "16", "COGNITO_MAX_RPS": "1000", "SHUTDOWN_TIMEOUT": "1500ms"})
	testenv.Eventually(t, 60*time.Second, "30 codes and a full pool", func() bool {
		return len(e.codes()) >= 30 && p.metrics()["resend_inflight_jobs"] >= 8
	})
	took := p.stop(10 * time.Second)
	exitedAt := time.Now()
	c := e.moto.QueueCounts(t, e.queueURL)
	countedAfter := time.Since(exitedAt)
	codes := e.codes()
	lines := p.logLines("job")
	requeued := 0
	for _, l := range lines {
		if l["outcome"] == "requeued" {
			requeued++
		}
	}
	t.Logf("SIGTERM: exit %d after %s; queue right after (%s later) %+v; %d users resent; %d jobs released on the way out",
		p.exitCode, took.Round(time.Millisecond), countedAfter.Round(time.Millisecond), c, len(codes), requeued)
	if p.exitCode != 0 {
		t.Errorf("exit code %d, want 0", p.exitCode)
	}
	if took > 1500*time.Millisecond+700*time.Millisecond {
		t.Errorf("shutdown took %s, want within SHUTDOWN_TIMEOUT 1.5s (+0.7s for process exit)", took)
	}
	// A receive on the wire at SIGTERM is not cancelled while jobs run; what
	// it brings is released at once (internal/consumer Run). So nothing may
	// be hidden: every job the worker did not finish is visible at once.
	if c.NotVisible > cancelledReceiveAllowance || c.Delayed != 0 {
		t.Errorf("queue after shutdown = %+v: want the unfinished jobs visible at once", c)
	}
	// Nothing lost: every user has a code or a job on the queue. A user
	// with both had the Cognito call cancelled by the shutdown after the
	// code went out (the stand-in sends it on arrival): a duplicate to come,
	// at most one per job in flight.
	onQueue := queueUsernames(t, e, e.queueURL)
	queued := map[string]int{}
	for _, u := range onQueue {
		queued[u]++
	}
	both, hidden := 0, 0
	for _, u := range us {
		switch {
		case codes[u.name] == 0 && queued[u.name] == 0:
			hidden++ // taken by the cancelled receive: counted against NotVisible below
		case codes[u.name] > 0 && queued[u.name] > 0:
			both++
		}
		if queued[u.name] > 1 {
			t.Errorf("%s is %d times on the queue", u.name, queued[u.name])
		}
	}
	if hidden != c.NotVisible {
		t.Errorf("lost: %d jobs have no code and are not visible, but only %d messages are in flight", hidden, c.NotVisible)
	}
	if d := twice(codes); len(d) > 0 {
		t.Errorf("%d users got two codes: %v", len(d), d)
	}
	if c.Visible+c.NotVisible+len(codes)-both != n {
		t.Errorf("visible %d + hidden %d + resent %d - both %d, want %d", c.Visible, c.NotVisible, len(codes), both, n)
	}
	for _, l := range lines {
		if l["outcome"] == "requeued" && l["level"] == "error" {
			t.Errorf("release on the way out failed: %v", l)
		}
	}
	t.Logf("lost 0; %d jobs both resent and back on the queue (call cancelled by the shutdown)", both)
	if both > 16 {
		t.Errorf("%d jobs were resent and released, want at most the 16 in flight", both)
	}
}

// cancelledReceiveAllowance is how many messages a SIGTERM may leave hidden.
// A receive cancelled at the stop would hide what SQS hands it for the
// visibility timeout; the consumer lets it finish while jobs run and releases
// what it brings, so none may be hidden here.
const cancelledReceiveAllowance = 0

// readyLog samples /readyz in the background.
type readyLog struct {
	mu      sync.Mutex
	samples []readySample
	stop    chan struct{}
	done    chan struct{}
}

type readySample struct {
	at     time.Time
	status int
}

func watchReady(p *proc) *readyLog {
	r := &readyLog{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			s := p.get("/readyz")
			r.mu.Lock()
			r.samples = append(r.samples, readySample{time.Now(), s})
			r.mu.Unlock()
			select {
			case <-r.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	p.t.Cleanup(r.end)
	return r
}

func (r *readyLog) end() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
}

// between returns the statuses seen in [from, to).
func (r *readyLog) between(from, to time.Time) map[int]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int]int{}
	for _, s := range r.samples {
		if !s.at.Before(from) && s.at.Before(to) {
			out[s.status]++
		}
	}
	return out
}

// TestSQSOutage: SQS unreachable for 30 s — 10 s refused, 10 s reset, 10 s
// black-holed — with jobs in flight, waiting, and sent during the outage.
// The worker stays up, backs off (requests counted through the proxy),
// reports not ready, recovers by itself, and loses nothing.
//
// 30 s (not 15): a long poll cut by the outage still runs on moto for up to
// its 20 s wait and takes a message sent meanwhile (hidden for 30 s); the
// jobs "sent during the outage" go out 21 s after the last request reached
// moto, which only a 30 s outage leaves room for.
func TestSQSOutage(t *testing.T) {
	t.Parallel() // mostly waiting (visibility timeout, outage): overlaps with the other waiting tests
	if testing.Short() {
		t.Skip("30 s outage")
	}
	us := users("outage", 30)
	before, during := us[:20], us[20:]
	e := newEnv(t, cognitoemu.Options{Latency: 300 * time.Millisecond}, us...)
	px := newFaultProxy(t, e.moto.URL)
	p := startW(e, map[string]string{"AWS_ENDPOINT_URL_SQS": px.URL(), "WORKER_CONCURRENCY": "4", "COGNITO_MAX_RPS": "1000"})
	sendBatch(t, e, before)
	testenv.Eventually(t, 20*time.Second, "some jobs resent before the outage", func() bool { return len(e.codes()) >= 6 })
	ready := watchReady(p)

	type phase struct {
		mode proxyMode
		d    time.Duration
	}
	phases := []phase{{proxyRefuse, 10 * time.Second}, {proxyReset, 10 * time.Second}, {proxyStall, 10 * time.Second}}
	m0 := p.metrics()
	codesAtStart := len(e.codes())
	lastFwd := px.LastForward()
	t0 := time.Now()
	sendAt := lastFwd.Add(21 * time.Second)
	if sendAt.Before(t0.Add(2 * time.Second)) {
		sendAt = t0.Add(2 * time.Second)
	}
	sent := false
	at := t0
	type phaseStat struct {
		mode     proxyMode
		conns    int64
		receives float64
		sqsCalls float64
	}
	var stats []phaseStat
	for _, ph := range phases {
		px.SetMode(ph.mode)
		c0, mStart := px.Accepted(), p.metrics()
		end := at.Add(ph.d)
		for time.Now().Before(end) {
			if !sent && !time.Now().Before(sendAt) {
				sendBatch(t, e, during) // straight to moto, not through the proxy
				sent = true
				continue
			}
			next := end
			if !sent && sendAt.Before(next) {
				next = sendAt
			}
			sleepUntil(next)
		}
		mEnd := p.metrics()
		stats = append(stats, phaseStat{ph.mode, px.Accepted() - c0,
			mEnd[sqsOp("ReceiveMessage")] - mStart[sqsOp("ReceiveMessage")], sqsCalls(mEnd) - sqsCalls(mStart)})
		at = end
	}
	if !sent {
		t.Fatal("the jobs for during the outage were not sent")
	}
	mOut := p.metrics()
	px.SetMode(proxyUp)
	t1 := time.Now()
	if p.exited() {
		t.Fatalf("worker exited during the outage with %d", p.exitCode)
	}
	testenv.Eventually(t, 30*time.Second, "/readyz 200 after the outage", func() bool { return p.get("/readyz") == http.StatusOK })
	toReady := time.Since(t1)
	testenv.Eventually(t, 60*time.Second, "every job resent", func() bool { return len(e.codes()) == len(us) })
	toDone := time.Since(t1)
	testenv.Eventually(t, 60*time.Second, "the queue to empty", func() bool { return e.moto.QueueCounts(t, e.queueURL).Total() == 0 })
	toEmpty := time.Since(t1)
	ready.end()
	m := p.metrics()
	p.stop(25 * time.Second)

	receives := mOut[sqsOp("ReceiveMessage")] - m0[sqsOp("ReceiveMessage")]
	for _, s := range stats {
		t.Logf("outage phase %-6s: %3d connections at the proxy, %3.0f ReceiveMessage calls, %3.0f SQS calls in all", s.mode, s.conns, s.receives, s.sqsCalls)
	}
	statuses := ready.between(t0, t1)
	t.Logf("SQS outage 30s: %d jobs resent before it, %.0f ReceiveMessage calls during it (%.2f/s); /readyz during it %v; "+
		"ready %s after, all resent %s after, queue empty %s after; %.0f redeliveries deduplicated; lost 0",
		codesAtStart, receives, receives/30, statuses, toReady.Round(100*time.Millisecond), toDone.Round(100*time.Millisecond),
		toEmpty.Round(100*time.Millisecond), metric(m, outcome("deduplicated")))

	// Backs off: a hot loop would make hundreds of calls in 30 s. The
	// receive backoff (100 ms ×1.5 up to 10 s, jittered) makes ~12; the SDK
	// retries each call up to 3 times.
	if receives > 30 {
		t.Errorf("%.0f ReceiveMessage calls in a 30 s outage, want at most 30 (backoff)", receives)
	}
	for _, s := range stats {
		if s.mode == proxyReset && s.conns > 60 {
			t.Errorf("%d connections in 10 s of resets, want at most 60 (no hot loop)", s.conns)
		}
	}
	if statuses[http.StatusServiceUnavailable] == 0 {
		t.Errorf("/readyz never reported 503 during the outage: %v", statuses)
	}
	if last := ready.between(t0.Add(10*time.Second), t1); last[http.StatusOK] > 0 {
		t.Errorf("/readyz reported ready %d times 10-30 s into the outage", last[http.StatusOK])
	}
	if toReady > 20*time.Second {
		t.Errorf("ready again %s after the outage, want within 20 s (receive backoff is at most 10 s)", toReady)
	}
	codes := e.codes()
	if d := twice(codes); len(d) > 0 {
		t.Errorf("%d users got two codes: %v", len(d), d)
	}
	if c := e.moto.QueueCounts(t, e.dlqURL); c.Total() != 0 {
		t.Errorf("DLQ holds %+v, want nothing dead-lettered", c)
	}
}

func sqsCalls(m map[string]float64) float64 {
	return devenv.SumMetrics(m, "resend_sqs_requests_total{")
}

// A Cognito outage (every call failing) is integration/outage_test.go's:
// the worker holds its jobs and probes instead of requeueing them.

// TestDLQUnavailable: permanent failures and invalid jobs arrive while the
// DLQ does not exist. Nothing leaves the job queue; once the DLQ exists each
// job is dead-lettered exactly once.
func TestDLQUnavailable(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{})
	var bodies []string
	ghosts := map[string]bool{}
	for i := range 8 {
		u := fmt.Sprintf("dlq-ghost-%02d@example.com", i)
		ghosts[u] = true
		e.pii = append(e.pii, u)
		bodies = append(bodies, jobBody(u))
	}
	bodies = append(bodies, `{"username": 42}`, `not json`, `[]`, `{}`)
	// The DLQ goes away once the worker has started (it checks its queues
	// at start); the worker is pointed at its URL all along.
	start := time.Now()
	p := startW(e, map[string]string{"REQUEUE_DELAY": "1s", "MAX_RECEIVES": "50"})
	dlqName := e.dlqURL[strings.LastIndex(e.dlqURL, "/")+1:]
	if _, err := e.moto.SQS().DeleteQueue(ctx(), &sqs.DeleteQueueInput{QueueUrl: aws.String(e.dlqURL)}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, b := range bodies {
		ids[b] = e.moto.Send(t, e.queueURL, b)[0]
	}
	n := len(bodies)
	// Every job tried and put back at least twice while the DLQ is missing.
	testenv.Eventually(t, 30*time.Second, "every job requeued twice", func() bool {
		per := map[any]int{}
		for _, l := range p.logLines("job") {
			if l["outcome"] == "requeued" && l["dlq_error"] != nil {
				per[l["msg_id"]]++
			}
		}
		for _, id := range ids {
			if per[id] < 2 {
				return false
			}
		}
		return true
	})
	m := p.metrics()
	if c := e.moto.QueueCounts(t, e.queueURL); c.Total() != n {
		t.Errorf("job queue holds %+v with the DLQ missing, want all %d", c, n)
	}
	if got := m[outcome("dead_lettered")]; got != 0 {
		t.Errorf("%.0f dead-lettered with no DLQ", got)
	}
	if url, err := e.moto.Moto.CreateQueue(ctx(), dlqName); err != nil || url != e.dlqURL {
		t.Fatalf("recreate the DLQ: %v (url %s, want %s)", err, url, e.dlqURL)
	}
	back := time.Now()
	testenv.Eventually(t, 30*time.Second, "every job dead-lettered", func() bool {
		return e.moto.QueueCounts(t, e.dlqURL).Total() >= n && e.moto.QueueCounts(t, e.queueURL).Total() == 0
	})
	toDLQ := time.Since(back)
	m = p.metrics()
	p.stop(25 * time.Second)
	dead := e.moto.Drain(t, e.dlqURL)
	seen := map[string]int{}
	for _, d := range dead {
		seen[aws.ToString(d.Body)]++
	}
	t.Logf("DLQ missing: %.0f requeues while it was gone, 0 deleted; all %d dead-lettered %s after it came back; DLQ copies %d (duplicates %d)",
		m[outcome("requeued")], n, toDLQ.Round(100*time.Millisecond), len(dead), len(dead)-len(seen))
	if len(dead) != n {
		t.Errorf("DLQ holds %d copies, want exactly %d", len(dead), n)
	}
	for _, d := range dead {
		b := aws.ToString(d.Body)
		if seen[b] != 1 {
			t.Errorf("body %q dead-lettered %d times", b, seen[b])
			continue
		}
		var j struct {
			Username string `json:"username"`
		}
		want := dlqWant{code: "InvalidJob", kind: "invalid", attempts: 0}
		if jsonUnmarshal(b, &j) == nil && ghosts[j.Username] {
			want = dlqWant{code: "UserNotFoundException", kind: "permanent", attempts: 1}
		}
		want.receiveCount = attrInt(d, "ReceiveCount")
		if want.receiveCount < 3 {
			t.Errorf("%q: ReceiveCount %d, want at least 3 (2 failed DLQ sends first)", b, want.receiveCount)
		}
		checkDLQMessage(t, d, b, ids[b], want, e.pii, start)
	}
	for b := range ids {
		if seen[b] == 0 {
			t.Errorf("lost: %q is not in the DLQ", b)
		}
	}
}

// TestHeartbeatLongJob: a job whose receive lasts ~34 s (four 8.5 s Cognito
// calls, the first three failing) outlives the 30 s visibility timeout; the
// heartbeat keeps it invisible, a second worker on the queue never gets it,
// and the user gets one code.
func TestHeartbeatLongJob(t *testing.T) {
	t.Parallel() // mostly waiting (visibility timeout, outage): overlaps with the other waiting tests
	if testing.Short() {
		t.Skip("34 s job")
	}
	const name = "slowpoke@example.com"
	e := newEnv(t, cognitoemu.Options{Latency: 8500 * time.Millisecond}, user{name: name, email: name})
	must(t, e.cognito.AddFault(cognitoemu.Fault{Username: name, Count: 3, Code: "InternalErrorException"}))
	e.moto.Send(t, e.queueURL, jobBody(name))
	cfg := map[string]string{"RETRY_INITIAL_INTERVAL": "100ms", "RETRY_MAX_INTERVAL": "200ms", "RETRY_MAX_ELAPSED": "60s", "WORKER_CONCURRENCY": "2"}
	p1 := startW(e, cfg)
	testenv.Eventually(t, 20*time.Second, "the job in flight", func() bool { return p1.metrics()["resend_inflight_jobs"] == 1 })
	p2 := startW(e, cfg)
	p1.waitJobs(1, 70*time.Second)
	e.waitEmpty(e.queueURL)
	m1, m2 := p1.metrics(), p2.metrics()
	p1.stop(25 * time.Second)
	p2.stop(25 * time.Second)
	done2 := m2[outcome("resent")] + m2[outcome("deduplicated")] + m2[outcome("requeued")] + m2[outcome("dead_lettered")] + m2[outcome("already_confirmed")]
	lines := p1.logLines("job")
	if len(lines) != 1 {
		t.Fatalf("worker 1 logged %d job lines, want 1", len(lines))
	}
	l := lines[0]
	hb := m1[sqsOp("ChangeMessageVisibilityBatch")]
	t.Logf("long job: %v ms, %v attempts, receive %v; %.0f heartbeat ChangeMessageVisibilityBatch calls; worker 2 jobs %.0f, Cognito calls %d, codes %d",
		l["duration_ms"], l["attempts"], l["receive_count"], hb, done2, len(e.callsFor(name)), e.cognito.DeliveriesFor(name))
	if l["outcome"] != "resent" || l["attempts"] != 4.0 || l["receive_count"] != 1.0 {
		t.Errorf("job line %v: want resent after 4 attempts on receive 1", l)
	}
	if d := l["duration_ms"].(float64); d <= 30000 {
		t.Errorf("the job took %.0f ms: the scenario needs more than the 30 s visibility timeout", d)
	}
	if hb < 1 {
		t.Errorf("no ChangeMessageVisibilityBatch from worker 1: the heartbeat did not run")
	}
	if done2 != 0 || m2[`resend_cognito_requests_total{code="OK"}`] != 0 {
		t.Errorf("worker 2 finished %.0f jobs, want 0: the message became visible", done2)
	}
	if got := len(e.callsFor(name)); got != 4 {
		t.Errorf("%d Cognito calls, want 4", got)
	}
	if got := e.cognito.DeliveriesFor(name); got != 1 {
		t.Errorf("%d codes, want 1", got)
	}
}
