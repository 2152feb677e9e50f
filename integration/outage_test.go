package integration

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/testenv"
)

// The operator settings for a Cognito incident.
var incidentSettings = map[string]string{
	"WORKER_CONCURRENCY": "16", "COGNITO_MAX_RPS": "20",
	"RETRY_MAX_ELAPSED": "2s", "REQUEUE_DELAY": "2s", "MAX_RECEIVES": "5",
}

func (e *env) callsBetween(from, to time.Time) int {
	n := 0
	for _, c := range e.cognito.Calls() {
		if !c.Time.Before(from) && c.Time.Before(to) {
			n++
		}
	}
	return n
}

func transitions(p *proc) (down, back int) {
	return len(p.logLines("cognito down: holding jobs, receiving none, probing")), len(p.logLines("cognito back: resuming"))
}

// checkOneCodeEach fails unless every user got exactly one code and
// nothing was dead-lettered.
// m is the worker's metrics before it stopped.
func checkOneCodeEach(t *testing.T, e *env, us []user, m map[string]float64) {
	t.Helper()
	codes := e.codes()
	for _, u := range us {
		if codes[u.name] != 1 {
			t.Errorf("user %s got %d codes, want exactly 1", u.name, codes[u.name])
		}
	}
	if got := m[outcome("dead_lettered")]; got != 0 {
		t.Errorf("%.0f jobs dead-lettered, want none", got)
	}
	if c := e.moto.QueueCounts(t, e.dlqURL); c.Total() != 0 {
		t.Errorf("DLQ holds %+v, want nothing", c)
	}
}

// TestCognitoOutage60s is the incident: 300 jobs, the issue's
// settings, and Cognito answering every call with HTTP 500 for 60 s once
// the worker is under way. Nothing is dead-lettered, the worker makes at
// most 2 calls a second while Cognito is down (probes), /healthz stays 200
// and /readyz is 503, one log line marks each change of state, and the
// queue drains within 30 s of recovery, one code per user.
func TestCognitoOutage60s(t *testing.T) {
	t.Parallel() // mostly waiting for the outage to end
	if testing.Short() {
		t.Skip("60 s Cognito outage")
	}
	const n = 300
	const outage = 60 * time.Second
	us := users("outage", n)
	e := newEnv(t, cognitoemu.Options{}, us...)
	sendBatch(t, e, us)
	p := startW(e, incidentSettings)
	testenv.Eventually(t, 60*time.Second, "40 codes sent before the outage", func() bool { return len(e.codes()) >= 40 })
	start := time.Now()
	must(t, e.cognito.Outage(outage, "InternalErrorException"))
	end := start.Add(outage)

	testenv.Eventually(t, 15*time.Second, "the worker to judge Cognito down", func() bool {
		return p.metrics()["resend_cognito_outage"] == 1
	})
	tripped := time.Since(start)
	if code := p.get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d during the outage, want 200", code)
	}
	if code := p.get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d during the outage, want 503", code)
	}
	sleepUntil(end.Add(-5 * time.Second))
	mid := p.metrics()
	if mid["resend_cognito_outage"] != 1 || mid["resend_inflight_jobs"] == 0 {
		t.Errorf("near the outage's end: outage gauge %.0f, jobs held %.0f; want 1 and some", mid["resend_cognito_outage"], mid["resend_inflight_jobs"])
	}
	sleepUntil(end)

	testenv.Eventually(t, 60*time.Second, "every user sent a code after the outage", func() bool { return len(e.codes()) == n })
	// Recovery is when the last user got a code; the queue's emptying can
	// trail that by one visibility timeout if moto loses a delete (waitEmpty).
	served := time.Since(end)
	e.waitEmpty(e.queueURL)
	drained := time.Since(end)
	callsDuring := e.callsBetween(start, end)
	m := p.metrics()
	down, back := transitions(p)
	var probes any
	if l := p.logLines("cognito back: resuming"); len(l) > 0 {
		probes = l[0]["probes"]
	}
	t.Logf("60 s outage: tripped after %s; %d Cognito calls during it (%.2f/s; %v probes); dead-lettered %.0f; requeued %.0f; every user served %s and the queue empty %s after recovery; transitions %d down, %d back",
		tripped.Round(time.Millisecond), callsDuring, float64(callsDuring)/outage.Seconds(), probes, m[outcome("dead_lettered")], m[outcome("requeued")],
		served.Round(100*time.Millisecond), drained.Round(100*time.Millisecond), down, back)
	p.stop(25 * time.Second)

	if callsDuring > int(2*outage.Seconds()) {
		t.Errorf("%d calls during the %s outage, want at most 2 a second", callsDuring, outage)
	}
	if served > 30*time.Second {
		t.Errorf("every user served %s after recovery, want within 30s", served)
	}
	if down != 1 || back != 1 {
		t.Errorf("%d down and %d back log lines, want one each", down, back)
	}
	for _, l := range p.logLines("cognito down: holding jobs, receiving none, probing") {
		if l["error_code"] != "InternalErrorException" || l["failures"] == nil || l["calls"] == nil {
			t.Errorf("down line %v: want the error code and the numbers judged by", l)
		}
	}
	checkOneCodeEach(t, e, us, m)
}

// restartable serves a handler on a fixed loopback port that can be
// stopped (connections refused) and started again on the same port.
type restartable struct {
	h    http.Handler
	addr string
	mu   sync.Mutex
	srv  *http.Server
}

func newRestartable(t *testing.T, h http.Handler) *restartable {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &restartable{h: h, addr: ln.Addr().String()}
	r.serve(ln)
	t.Cleanup(r.stop)
	return r
}

func (r *restartable) serve(ln net.Listener) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.srv = &http.Server{Handler: r.h, ReadHeaderTimeout: 5 * time.Second}
	srv := r.srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
}

// stop closes the listener and every connection: calls are refused.
func (r *restartable) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		_ = r.srv.Close()
		r.srv = nil
	}
}

// start listens on the same port again.
func (r *restartable) start(t *testing.T) {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", r.addr, err)
	}
	r.serve(ln)
}

// TestCognitoConnectionRefused: the stand-in stops (connections refused)
// for 20 s and comes back on the same port. The worker judges Cognito down
// on connection errors, holds its jobs, and drains the queue once it is
// back; nothing is dead-lettered, one code per user.
func TestCognitoConnectionRefused(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("20 s of connections refused")
	}
	const n = 120
	us := users("refused", n)
	e := newEnv(t, cognitoemu.Options{}, us...)
	srv := newRestartable(t, e.cognito)
	e.cogURL = "http://" + srv.addr
	sendBatch(t, e, us)
	p := startW(e, incidentSettings)
	testenv.Eventually(t, 60*time.Second, "20 codes sent before the stop", func() bool { return len(e.codes()) >= 20 })
	srv.stop()
	stopped := time.Now()
	testenv.Eventually(t, 15*time.Second, "the worker to judge Cognito down", func() bool {
		return p.metrics()["resend_cognito_outage"] == 1
	})
	sleepUntil(stopped.Add(20 * time.Second))
	srv.start(t)
	back := time.Now()
	testenv.Eventually(t, 60*time.Second, "every user sent a code after the restart", func() bool { return len(e.codes()) == n })
	e.waitEmpty(e.queueURL)
	drained := time.Since(back)
	down, up := transitions(p)
	m := p.metrics()
	t.Logf("connections refused for 20 s: queue drained %s after the restart; transitions %d down, %d back", drained.Round(100*time.Millisecond), down, up)
	p.stop(25 * time.Second)
	if down != 1 || up != 1 {
		t.Errorf("%d down and %d back log lines, want one each", down, up)
	}
	for _, l := range p.logLines("cognito down: holding jobs, receiving none, probing") {
		if l["error_code"] != "ConnectionError" {
			t.Errorf("tripped by %v, want ConnectionError", l["error_code"])
		}
	}
	checkOneCodeEach(t, e, us, m)
}

// TestCognitoBrownOut: 30 % of calls fail with HTTP 500 throughout. The
// worker keeps working (per-job backoff) and never judges Cognito down:
// at most one transition each way is tolerated, none is expected.
func TestCognitoBrownOut(t *testing.T) {
	if testing.Short() {
		t.Skip("brown-out drain")
	}
	const n = 200
	us := users("brownout", n)
	e := newEnv(t, cognitoemu.Options{}, us...)
	must(t, e.cognito.AddFault(cognitoemu.Fault{Percent: 30, Code: "InternalErrorException"}))
	sendBatch(t, e, us)
	p := startW(e, map[string]string{"WORKER_CONCURRENCY": "16", "COGNITO_MAX_RPS": "20"})
	testenv.Eventually(t, 120*time.Second, "every user sent a code", func() bool { return len(e.codes()) == n })
	e.waitEmpty(e.queueURL)
	failed := 0
	for _, c := range e.cognito.Calls() {
		if c.Injected {
			failed++
		}
	}
	down, back := transitions(p)
	m := p.metrics()
	t.Logf("30%% brown-out: %d of %d calls failed; transitions %d down, %d back", failed, len(e.cognito.Calls()), down, back)
	p.stop(25 * time.Second)
	if down > 1 || back > 1 {
		t.Errorf("%d down and %d back transitions in a 30%% brown-out, want at most one each (ideally none)", down, back)
	}
	if down != 0 {
		t.Logf("note: the brown-out tripped the breaker %d time(s)", down)
	}
	checkOneCodeEach(t, e, us, m)
}

// TestCognitoOutageSIGTERM: SIGTERM while Cognito is down: the worker exits
// 0 at once (well within SHUTDOWN_TIMEOUT), every job it held is visible
// again right away, and nothing is dead-lettered.
func TestCognitoOutageSIGTERM(t *testing.T) {
	t.Parallel()
	const n = 60
	us := users("outterm", n)
	e := newEnv(t, cognitoemu.Options{}, us...)
	must(t, e.cognito.Outage(10*time.Minute, "InternalErrorException"))
	sendBatch(t, e, us)
	p := startW(e, incidentSettings)
	testenv.Eventually(t, 30*time.Second, "the worker to judge Cognito down and hold jobs", func() bool {
		m := p.metrics()
		return m["resend_cognito_outage"] == 1 && m["resend_inflight_jobs"] > 0
	})
	held := p.metrics()["resend_inflight_jobs"]
	took := p.stop(20 * time.Second)
	c := e.moto.QueueCounts(t, e.queueURL)
	t.Logf("SIGTERM during an outage: %0.f jobs held; exit %d after %s; queue right after %+v", held, p.exitCode, took.Round(time.Millisecond), c)
	if p.exitCode != 0 {
		t.Errorf("exit code %d, want 0", p.exitCode)
	}
	if took > 5*time.Second {
		t.Errorf("shutdown took %s, want at once (held jobs have no call on the wire)", took)
	}
	if c.NotVisible != 0 || c.Delayed != 0 || c.Visible != n {
		t.Errorf("queue after shutdown = %+v: want all %d jobs visible at once", c, n)
	}
	if cd := e.moto.QueueCounts(t, e.dlqURL); cd.Total() != 0 {
		t.Errorf("DLQ holds %+v, want nothing", cd)
	}
	for _, l := range p.logLines("job") {
		if l["outcome"] != "requeued" || l["released"] != "shutdown" {
			t.Errorf("job line %v: want requeued, released at shutdown", l)
		}
	}
}
