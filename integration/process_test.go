package integration

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
)

// offlineEnv is a complete environment whose queues are on a port nothing
// listens on: enough for what a subcommand checks before calling AWS.
func offlineEnv(set map[string]string) []string {
	vars := map[string]string{
		"RESEND_QUEUE_URL":            "http://127.0.0.1:1/000000000000/q",
		"RESEND_DLQ_URL":              "http://127.0.0.1:1/000000000000/dlq",
		"COGNITO_CLIENT_ID":           "c",
		"COGNITO_CLIENT_SECRET":       "topsecret-value",
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_CONFIG_FILE":             "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"ADMIN_ADDR":                  "",
	}
	for k, v := range set {
		if v == "-" {
			delete(vars, k)
		} else {
			vars[k] = v
		}
	}
	var environ []string
	for k, v := range vars {
		environ = append(environ, k+"="+v)
	}
	return environ
}

// TestHelpOutput: the real binary prints help on stdout, nothing on stderr,
// and exits 0, for every way of asking; each flag line is followed by its
// default.
func TestHelpOutput(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"usage: worker [SUBCOMMAND]", "WORKER_CONCURRENCY, --concurrency N", "--dry-run", "--username"}},
		{[]string{"--help"}, []string{"usage: worker [SUBCOMMAND]"}},
		{[]string{"help"}, []string{"usage: worker [SUBCOMMAND]"}},
		{[]string{"help", "replay"}, []string{"usage: worker replay", "--error-code", "RESEND_DLQ_URL, --dlq-url URL"}},
		{[]string{"run", "-h"}, []string{"usage: worker run", "REQUEUE_DELAY, --requeue-delay DURATION", "(default 30s)", "COGNITO_CLIENT_SECRET"}},
		{[]string{"replay", "--help"}, []string{"usage: worker replay"}},
		{[]string{"enqueue", "--help"}, []string{"usage: worker enqueue", "--client-metadata"}},
		{[]string{"dlq", "stats", "-h"}, []string{"usage: worker dlq stats", "--json"}},
		{[]string{"healthcheck", "-h"}, []string{"usage: worker healthcheck", "ADMIN_ADDR, --admin-addr ADDR", "(default :9090)"}},
		{[]string{"version", "--help"}, []string{"usage: worker version"}},
	}
	flagLine := regexp.MustCompile(`^  (?:[A-Z_]+, )?--[a-z-]+`)
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			// With nothing configured: help needs no variable.
			code, stdout, stderr := runCLI(t, offlineEnv(map[string]string{"RESEND_QUEUE_URL": "-", "RESEND_DLQ_URL": "-", "COGNITO_CLIENT_ID": "-"}), "", tc.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("help lacks %q:\n%s", w, stdout)
				}
			}
			lines := strings.Split(stdout, "\n")
			for i, l := range lines {
				if flagLine.MatchString(l) && (i+1 == len(lines) || !regexp.MustCompile(`\((default .+|required)\)$`).MatchString(lines[i+1])) {
					t.Errorf("flag %q has no default", l)
				}
			}
		})
	}
}

// TestUsageErrorsExit2: stray arguments, FIFO queues and missing variables
// exit 2 with one line on stderr naming what is wrong, before any AWS call.
func TestUsageErrorsExit2(t *testing.T) {
	cases := []struct {
		name   string
		set    map[string]string
		args   []string
		naming string
	}{
		{"run stray argument", nil, []string{"run", "extra-arg"}, `unexpected "extra-arg"`},
		{"replay stray argument", nil, []string{"replay", "--dry-run", "now"}, `unexpected "now"`},
		{"dlq stats stray argument", nil, []string{"dlq", "stats", "x"}, `unexpected "x"`},
		{"version stray argument", nil, []string{"version", "x"}, `unexpected "x"`},
		{"FIFO job queue", map[string]string{"RESEND_QUEUE_URL": "http://127.0.0.1:1/000000000000/q.fifo"}, []string{"run"}, "RESEND_QUEUE_URL: "},
		{"FIFO DLQ", map[string]string{"RESEND_DLQ_URL": "http://127.0.0.1:1/000000000000/dlq.fifo"}, []string{"run"}, "RESEND_DLQ_URL: "},
		{"FIFO bulk queue", map[string]string{"RESEND_BULK_QUEUE_URL": "http://127.0.0.1:1/000000000000/bulk.fifo"}, []string{"run"}, "RESEND_BULK_QUEUE_URL: "},
		{"FIFO job queue for replay", map[string]string{"RESEND_QUEUE_URL": "http://127.0.0.1:1/000000000000/q.fifo"}, []string{"replay"}, "RESEND_QUEUE_URL: "},
		{"FIFO job queue for enqueue", map[string]string{"RESEND_QUEUE_URL": "http://127.0.0.1:1/000000000000/q.fifo"}, []string{"enqueue", "--username", "u"}, "RESEND_QUEUE_URL: "},
		{"FIFO DLQ for dlq stats", map[string]string{"RESEND_DLQ_URL": "http://127.0.0.1:1/000000000000/dlq.fifo"}, []string{"dlq", "stats"}, "RESEND_DLQ_URL: "},
		{"dlq stats without the DLQ", map[string]string{"RESEND_DLQ_URL": "-"}, []string{"dlq", "stats"}, "RESEND_DLQ_URL: is required"},
		{"enqueue without the queue", map[string]string{"RESEND_QUEUE_URL": "-"}, []string{"enqueue", "--username", "u"}, "RESEND_QUEUE_URL: is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, offlineEnv(tc.set), "", tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.naming) || stdout != "" {
				t.Errorf("stdout %q, stderr %q: want nothing and one line naming %q", stdout, stderr, tc.naming)
			}
			if strings.Contains(stderr, "topsecret-value") {
				t.Errorf("stderr holds the client secret")
			}
		})
	}
}

// TestMissingQueueExit1: run exits 1 at start with one line naming the
// queue that does not exist (instead of logging NonExistentQueue forever).
func TestMissingQueueExit1(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{})
	for _, name := range []string{"RESEND_QUEUE_URL", "RESEND_DLQ_URL", "RESEND_BULK_QUEUE_URL"} {
		t.Run(name, func(t *testing.T) {
			missing := e.queueURL + "-gone"
			tg := e.target("", map[string]string{"ADMIN_ADDR": "-", name: missing})
			code, _, stderr := runCLI(t, tg.Env(), "", "run")
			if code != 1 {
				t.Errorf("exit %d, want 1 (stderr %q)", code, stderr)
			}
			want := "worker: " + name + ": queue " + missing + " does not exist\n"
			if stderr != want {
				t.Errorf("stderr %q, want %q", stderr, want)
			}
		})
	}
}

// TestStartAndStopLines: "worker starting" names the queues and endpoints
// in use (never the secret); on SIGTERM "shutdown requested" comes before
// anything the stop logs, and "worker stopped" is the last line.
func TestStartAndStopLines(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{})
	p := e.start(nil)
	p.stop(25 * time.Second)
	if p.exitCode != 0 {
		t.Fatalf("exit %d", p.exitCode)
	}
	starting := p.logLines("worker starting")
	if len(starting) != 1 {
		t.Fatalf("%d worker starting lines", len(starting))
	}
	for k, want := range map[string]string{"queue_url": e.queueURL, "dlq_url": e.dlqURL, "bulk_queue_url": "",
		"sqs_endpoint": e.moto.URL, "cognito_endpoint": e.cogURL, "region": "us-east-1"} {
		if got, _ := starting[0][k].(string); got != want {
			t.Errorf("worker starting %s = %q, want %q", k, got, want)
		}
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(p.out.String()), "\n") {
		if m := regexp.MustCompile(`"msg":"([^"]*)"`).FindStringSubmatch(line); m != nil {
			msgs = append(msgs, m[1])
		} else {
			t.Errorf("not a JSON log line: %q", line)
		}
	}
	requested, stopping := -1, -1
	for i, m := range msgs {
		switch {
		case m == "shutdown requested":
			requested = i
		case strings.HasPrefix(m, "stopping"):
			stopping = i
		}
	}
	if requested < 0 || stopping < 0 || requested > stopping {
		t.Errorf("log lines %q: want shutdown requested before stopping…", msgs)
	}
	if len(msgs) == 0 || msgs[len(msgs)-1] != "worker stopped" {
		t.Errorf("log lines %q: want worker stopped last", msgs)
	}
}

// TestConfigErrorsExit2: bad configuration exits 2 with one line on stderr
// naming the variable.
func TestConfigErrorsExit2(t *testing.T) {
	base := map[string]string{
		"RESEND_QUEUE_URL":      "http://127.0.0.1:1/000000000000/q",
		"RESEND_DLQ_URL":        "http://127.0.0.1:1/000000000000/dlq",
		"COGNITO_CLIENT_ID":     "c",
		"COGNITO_CLIENT_SECRET": "topsecret-value",
		"AWS_REGION":            "us-east-1",
		"AWS_CONFIG_FILE":       "/dev/null",
		"ADMIN_ADDR":            "",
	}
	cases := []struct {
		name   string
		set    map[string]string
		args   []string
		naming string
	}{
		{"queue missing", map[string]string{"RESEND_QUEUE_URL": "-"}, nil, "RESEND_QUEUE_URL"},
		{"dlq garbage", map[string]string{"RESEND_DLQ_URL": "not a url"}, nil, "RESEND_DLQ_URL"},
		{"client id missing", map[string]string{"COGNITO_CLIENT_ID": "-"}, nil, "COGNITO_CLIENT_ID"},
		{"negative concurrency", map[string]string{"WORKER_CONCURRENCY": "-3"}, nil, "WORKER_CONCURRENCY"},
		{"zero rps", map[string]string{"COGNITO_MAX_RPS": "0"}, nil, "COGNITO_MAX_RPS"},
		{"zero interval", map[string]string{"RETRY_INITIAL_INTERVAL": "0s"}, nil, "RETRY_INITIAL_INTERVAL"},
		{"bad duration", map[string]string{"SHUTDOWN_TIMEOUT": "soon"}, nil, "SHUTDOWN_TIMEOUT"},
		{"max receives 0", map[string]string{"MAX_RECEIVES": "0"}, nil, "MAX_RECEIVES"},
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, nil, "LOG_LEVEL"},
		{"region missing", map[string]string{"AWS_REGION": "-"}, nil, "AWS_REGION"},
		{"flag overrides env", nil, []string{"--concurrency", "0"}, "--concurrency"},
		{"unknown command", nil, []string{"frobnicate"}, "command"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range base {
				vars[k] = v
			}
			for k, v := range tc.set {
				if v == "-" {
					delete(vars, k)
				} else {
					vars[k] = v
				}
			}
			args := append([]string{"run"}, tc.args...)
			if len(tc.args) > 0 && tc.args[0] == "frobnicate" {
				args = tc.args
			}
			var environ []string
			for k, v := range vars {
				environ = append(environ, k+"="+v)
			}
			p := startProc(t, environ, []string{"topsecret-value"}, args...)
			select {
			case <-p.done:
			case <-time.After(20 * time.Second):
				t.Fatal("worker did not exit")
			}
			if p.exitCode != 2 {
				t.Errorf("exit code %d, want 2; output:\n%s", p.exitCode, p.out.String())
			}
			lines := strings.Split(strings.TrimSpace(p.out.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.naming) {
				t.Errorf("output %q: want one line naming %s", p.out.String(), tc.naming)
			}
		})
	}
}

// TestUserCooldown: two jobs for one user inside USER_COOLDOWN → one call;
// after the window → a second call.
func TestUserCooldown(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{}, user{name: "twice", email: "twice@example.com"})
	const window = 5 * time.Second
	p := e.start(map[string]string{"USER_COOLDOWN": window.String()})
	e.moto.Send(t, e.queueURL, jobBody("twice"))
	p.waitJobs(1, 30*time.Second)
	first := time.Now()
	e.moto.Send(t, e.queueURL, jobBody("twice"))
	p.waitJobs(2, 30*time.Second)
	if took := time.Since(first); took >= window {
		t.Fatalf("the second job took %s, longer than the window: the test cannot tell", took)
	}
	if got := len(e.callsFor("twice")); got != 1 {
		t.Errorf("inside the cooldown: %d calls, want 1", got)
	}
	// The window is time itself: wait it out, then send again.
	time.Sleep(window - time.Since(first) + 100*time.Millisecond)
	e.moto.Send(t, e.queueURL, jobBody("twice"))
	p.waitJobs(3, 30*time.Second)
	m := p.metrics()
	p.stop(25 * time.Second)
	if got := len(e.callsFor("twice")); got != 2 {
		t.Errorf("after the window: %d calls in all, want 2", got)
	}
	if got := m[`resend_jobs_total{outcome="deduplicated"}`]; got != 1 {
		t.Errorf("deduplicated = %.0f, want 1", got)
	}
}

// TestEnqueueToBulkLane: with RESEND_BULK_QUEUE_URL set, `enqueue --file`
// sends to the bulk queue (a backfill), `--interactive` and `--username`
// to the job queue.
func TestEnqueueToBulkLane(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{})
	bulk := e.moto.CreateQueue(t, e.queueURL[strings.LastIndex(e.queueURL, "/")+1:]+"-bulk")
	environ := e.target("", map[string]string{"ADMIN_ADDR": "-", "RESEND_BULK_QUEUE_URL": bulk}).Env()
	run := func(stdin string, args ...string) []string {
		t.Helper()
		code, stdout, stderr := runCLI(t, environ, stdin, args...)
		if code != 0 {
			t.Fatalf("enqueue %v: exit %d, stderr %q", args, code, stderr)
		}
		return strings.Fields(stdout)
	}
	fileIDs := run("a@example.com\nb@example.com\n", "enqueue", "--file", "-")
	userIDs := run("", "enqueue", "--username", "c@example.com")
	interactiveIDs := run("d@example.com\n", "enqueue", "--file", "-", "--interactive")
	e.pii = append(e.pii, "a@example.com", "b@example.com", "c@example.com", "d@example.com")
	ids := func(url string) map[string]bool {
		out := map[string]bool{}
		for _, m := range e.moto.Drain(t, url) {
			out[*m.MessageId] = true
		}
		return out
	}
	onBulk, onQueue := ids(bulk), ids(e.queueURL)
	if len(fileIDs) != 2 || len(onBulk) != 2 || !onBulk[fileIDs[0]] || !onBulk[fileIDs[1]] {
		t.Errorf("--file sent %v; the bulk queue holds %v", fileIDs, onBulk)
	}
	if len(onQueue) != 2 || len(userIDs) != 1 || len(interactiveIDs) != 1 || !onQueue[userIDs[0]] || !onQueue[interactiveIDs[0]] {
		t.Errorf("--username sent %v, --interactive %v; the job queue holds %v", userIDs, interactiveIDs, onQueue)
	}
}
