package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
)

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
