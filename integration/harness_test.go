// Package integration runs the real worker binary against moto_server (SQS)
// and the Cognito stand-in, both talking HTTP to the real AWS SDK.
package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/config"
	"github.com/resend-worker/resend-worker/internal/devenv"
	"github.com/resend-worker/resend-worker/internal/testenv"
)

var workerBin string

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "resend-worker-it-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		workerBin = filepath.Join(dir, "worker")
		build := exec.Command("go", "build", "-race", "-o", workerBin, "../cmd/worker")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building the worker:", err)
			return 1
		}
		defer testenv.Shutdown()
		return m.Run()
	}()
	os.Exit(code)
}

// env is one test's back ends: fresh queues on the shared moto, and a
// Cognito stand-in of its own with a pool, a secret client and users.
type env struct {
	t        *testing.T
	moto     *testenv.Moto
	cognito  *cognitoemu.Server
	cogURL   string
	queueURL string
	dlqURL   string
	clientID string
	secret   string
	// pii is every username, email and phone number of the pool, and the
	// client secret: none may appear in any log line.
	pii []string
	// extra is environment every worker process of the test gets (a
	// process's own extra wins).
	extra map[string]string
}

const (
	testPoolID = "us-east-1_TestPool"
	testClient = "testclient0123456789"
)

type user struct {
	name, email string
	confirmed   bool
}

func newEnv(t *testing.T, opts cognitoemu.Options, users ...user) *env {
	t.Helper()
	m := testenv.StartMoto(t)
	e := &env{t: t, moto: m, clientID: testClient, secret: "s3cr3t-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	e.queueURL, e.dlqURL = m.Queues(t)
	opts.RandSeed = 1
	e.cognito = cognitoemu.New(opts)
	srv := httptest.NewServer(e.cognito)
	t.Cleanup(srv.Close)
	e.cogURL = srv.URL
	spec := cognitoemu.SeedSpec{Pools: []cognitoemu.SeedPool{{
		ID: testPoolID, Name: "test",
		Clients: []cognitoemu.SeedClient{{ClientID: testClient, ClientSecret: e.secret}},
	}}}
	e.pii = append(e.pii, e.secret)
	for _, u := range users {
		spec.Pools[0].Users = append(spec.Pools[0].Users, cognitoemu.SeedUser{Username: u.name, Email: u.email, Confirmed: u.confirmed})
		e.pii = append(e.pii, u.name, u.email)
	}
	if err := e.cognito.Seed(spec); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return e
}

// redeliveryBound is how long a message the worker finished can still sit
// on a queue: one visibility timeout, plus a receive and a delete.
const redeliveryBound = config.VisibilityTimeout + 15*time.Second

// waitEmpty waits, once the worker has logged every job, for the queues at
// urls to hold nothing. A finished message can come back once, and that is
// not the worker's fault: real SQS may deliver a message again, and moto
// 5.2.1 loses a delete when two DeleteMessageBatch calls overlap
// (Queue.delete_message rebuilds its message list and assigns it without a
// lock, so one call puts back what the other removed). Such a message
// reappears when its visibility timeout ends and the worker handles it
// again: a resent job is deduplicated (the tests' per-user code counts
// check that), a dead-lettered one gets a second DLQ copy with a higher
// ReceiveCount (TestHostileBodies checks that). So the bound is
// redeliveryBound, not a guess; a failure names the counts.
func (e *env) waitEmpty(urls ...string) {
	e.t.Helper()
	start := time.Now()
	counts := make([]devenv.Counts, len(urls))
	defer func() {
		if e.t.Failed() {
			e.t.Logf("queue counts at the end of the wait: %+v (queues %v)", counts, urls)
		}
	}()
	testenv.Eventually(e.t, redeliveryBound, "the queues to empty", func() bool {
		total := 0
		for i, u := range urls {
			counts[i] = e.moto.QueueCounts(e.t, u)
			total += counts[i].Total()
		}
		return total == 0
	})
	if took := time.Since(start); took > 5*time.Second {
		e.t.Logf("the queues emptied %s after the last job line, far longer than a delete batch takes: most likely a message came back after its visibility timeout", took.Round(time.Millisecond))
	}
}

// users makes n unconfirmed users named prefix-i with matching emails.
func users(prefix string, n int) []user {
	out := make([]user, n)
	for i := range out {
		name := fmt.Sprintf("%s-%03d@example.com", prefix, i)
		out[i] = user{name: name, email: name}
	}
	return out
}

func jobBody(username string) string {
	b, _ := json.Marshal(map[string]string{"username": username})
	return string(b)
}

// proc is a running worker binary. done is closed, and exitCode set, once
// it has exited; out is its stdout and stderr.
type proc struct {
	*devenv.Process
	t         *testing.T
	cmd       *exec.Cmd
	out       *devenv.Buffer
	adminAddr string
	done      chan struct{}
	exitCode  int
	pii       []string
}

// target is the worker's view of e's back ends.
func (e *env) target(adminAddr string, extra map[string]string) devenv.Target {
	if extra == nil {
		extra = map[string]string{}
	}
	for k, v := range e.extra {
		if _, ok := extra[k]; !ok {
			extra[k] = v
		}
	}
	if _, ok := extra["LOG_LEVEL"]; !ok {
		extra["LOG_LEVEL"] = "debug"
	}
	return devenv.Target{SQSURL: e.moto.URL, CognitoURL: e.cogURL, QueueURL: e.queueURL, DLQURL: e.dlqURL,
		ClientID: e.clientID, Secret: e.secret, AdminAddr: adminAddr, Extra: extra}
}

// start runs `worker run` with e's environment plus extra (a value of "-"
// removes a variable).
func (e *env) start(extra map[string]string) *proc {
	e.t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		e.t.Fatal(err)
	}
	tg := e.target(fmt.Sprintf("127.0.0.1:%d", port), extra)
	p := startProc(e.t, tg.Env(), e.pii, "run")
	p.adminAddr = tg.AdminAddr
	p.AdminAddr = tg.AdminAddr
	if err := p.WaitHTTP("/readyz", 20*time.Second); err != nil {
		e.t.Fatalf("the worker's /readyz: %v; output:\n%s", err, p.out.String())
	}
	return p
}

func startProc(t *testing.T, environ []string, pii []string, args ...string) *proc {
	t.Helper()
	out := &devenv.Buffer{}
	dp, err := devenv.StartProcess(devenv.ProcessSpec{
		Path: workerBin, Args: args, Output: out,
		// The race runtime sleeps a second at exit by default; that is not
		// the worker's shutdown time.
		Env: append([]string{"GORACE=atexit_sleep_ms=0 halt_on_error=1"}, environ...),
	})
	if err != nil {
		t.Fatalf("start worker: %v", err)
	}
	p := &proc{Process: dp, t: t, cmd: dp.Cmd, out: out, done: make(chan struct{}), pii: pii}
	go func() {
		p.exitCode = dp.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		dp.Kill()
		<-p.done
		p.checkNoPII()
		if t.Failed() {
			t.Logf("worker output:\n%s", p.out.String())
		}
	})
	return p
}

// runCLI runs the worker binary with args to completion (within a minute)
// and returns its exit status, stdout and stderr.
func runCLI(t *testing.T, environ []string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p, err := devenv.StartProcess(devenv.ProcessSpec{Path: workerBin, Args: args, Stdin: strings.NewReader(stdin),
		Env: append([]string{"GORACE=atexit_sleep_ms=0 halt_on_error=1"}, environ...)})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Wait(60 * time.Second) {
		p.Kill()
		t.Fatalf("worker %v did not finish within a minute; output:\n%s", args, p.Output())
	}
	return p.ExitCode(), p.Stdout(), p.Stderr()
}

// exited reports whether the worker has exited (then exitCode is set).
func (p *proc) exited() bool {
	if !p.Exited() {
		return false
	}
	<-p.done // closed right after the exit, once exitCode is set
	return true
}

// stop sends SIGTERM and waits for the exit; it returns how long that took.
func (p *proc) stop(timeout time.Duration) time.Duration {
	p.t.Helper()
	took, clean := p.Stop(timeout)
	<-p.done
	if !clean {
		p.t.Fatalf("worker still running %s after SIGTERM (killed)", timeout)
	}
	return took
}

func (p *proc) get(path string) int { return p.Get(path) }

// metrics scrapes /metrics into "name{labels}" → value.
func (p *proc) metrics() map[string]float64 {
	p.t.Helper()
	m, err := p.Metrics()
	if err != nil {
		p.t.Fatal(err)
	}
	return m
}

// jobsDone is the sum of resend_jobs_total over outcomes.
func (p *proc) jobsDone() float64 { return devenv.SumMetrics(p.metrics(), "resend_jobs_total{") }

// waitJobs waits until n job outcomes were counted. stall bounds the wait
// for the next outcome, not for all n: the pace of a large drain is moto's
// (its receive scans the whole queue), so a stuck worker fails the test
// while a slow machine does not. The whole wait is capped at 10 minutes.
func (p *proc) waitJobs(n int, stall time.Duration) {
	p.t.Helper()
	testenv.Progressing(p.t, stall, 10*time.Minute, fmt.Sprintf("%d job outcomes", n), func() (float64, bool) {
		if p.exited() {
			p.t.Fatalf("worker exited with %d", p.exitCode)
		}
		done := p.jobsDone()
		return done, done >= float64(n)
	})
}

// logLines returns the JSON log lines whose msg is msg.
func (p *proc) logLines(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(p.out.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// checkNoPII fails the test if any output line holds a username, an email
// address, a phone number or the client secret.
func (p *proc) checkNoPII() {
	out := p.out.String()
	for _, s := range p.pii {
		if s != "" && strings.Contains(out, s) {
			p.t.Errorf("worker output contains personal data or the secret %q", s)
		}
	}
	if m := regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}`).FindString(out); m != "" {
		p.t.Errorf("worker output contains an email address: %q", m)
	}
}

// callsFor counts the stand-in's ResendConfirmationCode calls for username.
func (e *env) callsFor(username string) []cognitoemu.Call {
	var out []cognitoemu.Call
	for _, c := range e.cognito.Calls() {
		if c.Username == username {
			out = append(out, c)
		}
	}
	return out
}

func ctx() context.Context { return context.Background() }
