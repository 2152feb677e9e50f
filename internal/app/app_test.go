package app

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

const (
	testQueue = "http://127.0.0.1:1/000000000000/jobs"
	testDLQ   = "http://127.0.0.1:1/000000000000/jobs-dlq"
	testBulk  = "http://127.0.0.1:1/000000000000/jobs-bulk"
)

// fullEnv is every variable `run` requires.
func fullEnv() map[string]string {
	return map[string]string{"RESEND_QUEUE_URL": testQueue, "RESEND_DLQ_URL": testDLQ, "COGNITO_CLIENT_ID": "client-1"}
}

// noAWS makes the SDK's own chain find no region, so that a command which
// got past its configuration stops at AWS_REGION, before any network call.
func noAWS(t *testing.T) {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
}

type result struct {
	code           int
	stdout, stderr string
}

func runMain(env map[string]string, args ...string) result {
	var out, errOut bytes.Buffer
	io := IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Env: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}}
	code := Main(args, io, Build{Version: "v1.2.3", Commit: "abc123"})
	return result{code, out.String(), errOut.String()}
}

func with(env map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "-" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// TestMainErrors: every usage or configuration error exits 2 with exactly
// one line on stderr naming the variable, flag or argument, and prints
// nothing on stdout; what is not the operator's fault exits 1.
func TestMainErrors(t *testing.T) {
	noAWS(t)
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		naming string
	}{
		// stray arguments
		{"run extra argument", fullEnv(), []string{"run", "extra-arg"}, 2, `arguments: unexpected "extra-arg"`},
		{"run argument after flags", fullEnv(), []string{"run", "--concurrency", "3", "now"}, 2, `unexpected "now"`},
		{"replay extra argument", fullEnv(), []string{"replay", "--dry-run", "all"}, 2, `unexpected "all"`},
		{"enqueue extra argument", fullEnv(), []string{"enqueue", "--username", "a", "b"}, 2, `unexpected "b"`},
		{"dlq stats extra argument", fullEnv(), []string{"dlq", "stats", "--json", "x"}, 2, `unexpected "x"`},
		{"healthcheck extra argument", nil, []string{"healthcheck", "x"}, 2, `unexpected "x"`},
		{"version extra argument", nil, []string{"version", "x"}, 2, `unexpected "x"`},
		{"help of a subcommand with an argument", nil, []string{"help", "run", "x"}, 2, `unexpected "x"`},
		{"help of help with an argument", nil, []string{"help", "help", "x"}, 2, `unexpected "x"`},

		// unknown commands and flags
		{"unknown command", nil, []string{"frobnicate"}, 2, `command: unknown command "frobnicate"`},
		{"help of an unknown command", nil, []string{"help", "frobnicate"}, 2, `unknown command "frobnicate"`},
		{"dlq without a subcommand", nil, []string{"dlq"}, 2, "worker dlq needs a subcommand: stats"},
		{"dlq with a flag only", nil, []string{"dlq", "--json"}, 2, "worker dlq needs a subcommand"},
		{"dlq unknown subcommand", nil, []string{"dlq", "purge"}, 2, `unknown command "dlq purge"`},
		{"unknown flag", fullEnv(), []string{"run", "--nope"}, 2, "-nope"},
		{"unknown flag without a subcommand", fullEnv(), []string{"--nope"}, 2, "-nope"},
		{"run's flag given to replay", fullEnv(), []string{"replay", "--concurrency", "3"}, 2, "-concurrency"},
		{"bad flag value", fullEnv(), []string{"run", "--max-rps", "fast"}, 2, "--max-rps"},
		{"flag needs a value", fullEnv(), []string{"replay", "--max"}, 2, "-max"},

		// each subcommand requires what it uses
		{"run without the queue", with(fullEnv(), "RESEND_QUEUE_URL", "-"), []string{"run"}, 2, "RESEND_QUEUE_URL: is required"},
		{"run without the DLQ", with(fullEnv(), "RESEND_DLQ_URL", "-"), nil, 2, "RESEND_DLQ_URL: is required"},
		{"run without the client id", with(fullEnv(), "COGNITO_CLIENT_ID", "-"), nil, 2, "COGNITO_CLIENT_ID: is required"},
		{"replay without the queue", map[string]string{"RESEND_DLQ_URL": testDLQ}, []string{"replay"}, 2, "RESEND_QUEUE_URL: is required"},
		{"replay without the DLQ", map[string]string{"RESEND_QUEUE_URL": testQueue}, []string{"replay"}, 2, "RESEND_DLQ_URL: is required"},
		{"enqueue without the queue", map[string]string{"RESEND_DLQ_URL": testDLQ}, []string{"enqueue", "--username", "a"}, 2, "RESEND_QUEUE_URL: is required"},
		{"enqueue without a job", map[string]string{"RESEND_QUEUE_URL": testQueue}, []string{"enqueue"}, 2, "--username: is required"},
		{"dlq stats without the DLQ", map[string]string{"RESEND_QUEUE_URL": testQueue}, []string{"dlq", "stats"}, 2, "RESEND_DLQ_URL: is required"},
		{"healthcheck without an admin endpoint", map[string]string{"ADMIN_ADDR": ""}, []string{"healthcheck"}, 2, "ADMIN_ADDR: is empty"},

		// ... and nothing more: past its configuration, each stops at the SDK's region
		{"replay needs no client id", map[string]string{"RESEND_QUEUE_URL": testQueue, "RESEND_DLQ_URL": testDLQ}, []string{"replay"}, 2, "AWS_REGION: is required"},
		{"enqueue needs no DLQ", map[string]string{"RESEND_QUEUE_URL": testQueue}, []string{"enqueue", "--username", "a"}, 2, "AWS_REGION: is required"},
		{"dlq stats needs no job queue", map[string]string{"RESEND_DLQ_URL": testDLQ}, []string{"dlq", "stats"}, 2, "AWS_REGION: is required"},
		{"run with everything it needs", fullEnv(), []string{"run"}, 2, "AWS_REGION: is required"},
		{"enqueue ignores run's settings", map[string]string{"RESEND_QUEUE_URL": testQueue, "WORKER_CONCURRENCY": "lots"}, []string{"enqueue", "--username", "a"}, 2, "AWS_REGION: is required"},

		// FIFO queues are refused, naming the variable or flag
		{"run FIFO queue", with(fullEnv(), "RESEND_QUEUE_URL", testQueue+".fifo"), []string{"run"}, 2, "RESEND_QUEUE_URL: " + `"` + testQueue + `.fifo" is a FIFO queue`},
		{"run FIFO DLQ", with(fullEnv(), "RESEND_DLQ_URL", testDLQ+".fifo"), []string{"run"}, 2, "RESEND_DLQ_URL: "},
		{"run FIFO bulk queue", with(fullEnv(), "RESEND_BULK_QUEUE_URL", testBulk+".fifo"), []string{"run"}, 2, "RESEND_BULK_QUEUE_URL: "},
		{"run FIFO queue by flag", fullEnv(), []string{"run", "--queue-url", testQueue + ".fifo"}, 2, "--queue-url: "},
		{"replay FIFO queue", with(fullEnv(), "RESEND_QUEUE_URL", testQueue+".fifo"), []string{"replay"}, 2, "RESEND_QUEUE_URL: "},
		{"replay FIFO bulk queue", with(fullEnv(), "RESEND_BULK_QUEUE_URL", testBulk+".fifo"), []string{"replay"}, 2, "RESEND_BULK_QUEUE_URL: "},
		{"enqueue FIFO queue", with(fullEnv(), "RESEND_QUEUE_URL", testQueue+".fifo"), []string{"enqueue", "--username", "a"}, 2, "RESEND_QUEUE_URL: "},
		{"dlq stats FIFO DLQ", with(fullEnv(), "RESEND_DLQ_URL", testDLQ+".fifo"), []string{"dlq", "stats"}, 2, "RESEND_DLQ_URL: "},

		// values
		{"bad concurrency", with(fullEnv(), "WORKER_CONCURRENCY", "0"), []string{"run"}, 2, "WORKER_CONCURRENCY: "},
		{"replay negative max", fullEnv(), []string{"replay", "--max", "-1"}, 2, "--max: "},
		{"enqueue bad metadata", map[string]string{"RESEND_QUEUE_URL": testQueue}, []string{"enqueue", "--username", "a", "--client-metadata", "nokv"}, 2, "--client-metadata: "},
		{"enqueue missing file", map[string]string{"RESEND_QUEUE_URL": testQueue}, []string{"enqueue", "--file", "/nonexistent/jobs.txt"}, 2, "--file: "},
		{"healthcheck nothing listening", map[string]string{"ADMIN_ADDR": "127.0.0.1:1"}, []string{"healthcheck"}, 1, "healthcheck: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runMain(tt.env, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tt.code, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "worker: ") || !strings.Contains(r.stderr, tt.naming) {
				t.Errorf("stderr %q: want one line starting worker: and holding %q", r.stderr, tt.naming)
			}
		})
	}
}

// flagLine is a flag's line in a help page: "  --name ARG" or
// "  ENV, --name ARG"; the line after it says what it is and ends with its
// default.
var flagLine = regexp.MustCompile(`^  (?:([A-Z][A-Z0-9_]+), )?--([a-z-]+)`)

// pageFlags checks that every flag in a help page is followed by a line
// ending with its default (or "required") and returns the flags with their
// environment variable ("" for a flag of the command's own).
func pageFlags(t *testing.T, page string) map[string]string {
	t.Helper()
	lines := strings.Split(page, "\n")
	flags := map[string]string{}
	for i, l := range lines {
		m := flagLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		flags[m[2]] = m[1]
		if i+1 >= len(lines) || !regexp.MustCompile(`\((default .+|required)\)$`).MatchString(lines[i+1]) {
			t.Errorf("flag --%s: the line after it does not end with its default:\n%s", m[2], strings.Join(lines[i:min(i+2, len(lines))], "\n"))
		}
	}
	return flags
}

// TestHelp: every way of asking for help prints a usage text on stdout,
// nothing on stderr, and exits 0. Every flag shows its default; each
// setting shows its environment variable.
func TestHelp(t *testing.T) {
	runSettings := map[string]string{
		"queue-url": "RESEND_QUEUE_URL", "dlq-url": "RESEND_DLQ_URL", "bulk-queue-url": "RESEND_BULK_QUEUE_URL",
		"client-id": "COGNITO_CLIENT_ID", "concurrency": "WORKER_CONCURRENCY", "max-rps": "COGNITO_MAX_RPS",
		"retry-initial-interval": "RETRY_INITIAL_INTERVAL", "retry-max-interval": "RETRY_MAX_INTERVAL",
		"retry-max-elapsed": "RETRY_MAX_ELAPSED", "requeue-delay": "REQUEUE_DELAY", "max-receives": "MAX_RECEIVES",
		"user-cooldown": "USER_COOLDOWN", "shutdown-timeout": "SHUTDOWN_TIMEOUT", "admin-addr": "ADMIN_ADDR",
		"log-level": "LOG_LEVEL", "log-format": "LOG_FORMAT",
	}
	pages := []struct {
		name  string
		args  [][]string
		usage string
		flags map[string]string // at least these, with their variable
		text  []string
	}{
		{"run", [][]string{{"run", "-h"}, {"run", "--help"}, {"run", "-help"}, {"help", "run"}, {"--concurrency", "2", "--help"}},
			"usage: worker run [flags]", runSettings, []string{"COGNITO_CLIENT_SECRET", "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"}},
		{"replay", [][]string{{"replay", "-h"}, {"replay", "--help"}, {"help", "replay"}},
			"usage: worker replay", map[string]string{"dry-run": "", "max": "", "error-code": "", "max-replays": "",
				"queue-url": "RESEND_QUEUE_URL", "dlq-url": "RESEND_DLQ_URL", "bulk-queue-url": "RESEND_BULK_QUEUE_URL"}, []string{"AWS_ENDPOINT_URL_SQS"}},
		{"enqueue", [][]string{{"enqueue", "-h"}, {"enqueue", "--help"}, {"help", "enqueue"}},
			"usage: worker enqueue", map[string]string{"username": "", "client-metadata": "", "file": "", "interactive": "",
				"queue-url": "RESEND_QUEUE_URL", "bulk-queue-url": "RESEND_BULK_QUEUE_URL"}, nil},
		{"dlq stats", [][]string{{"dlq", "stats", "-h"}, {"dlq", "stats", "--help"}, {"help", "dlq", "stats"}},
			"usage: worker dlq stats", map[string]string{"json": "", "dlq-url": "RESEND_DLQ_URL"}, nil},
		{"dlq", [][]string{{"dlq", "-h"}, {"dlq", "--help"}, {"help", "dlq"}},
			"usage: worker dlq SUBCOMMAND", map[string]string{}, []string{"worker dlq stats"}},
		{"healthcheck", [][]string{{"healthcheck", "-h"}, {"healthcheck", "--help"}, {"help", "healthcheck"}},
			"usage: worker healthcheck", map[string]string{"admin-addr": "ADMIN_ADDR"}, nil},
		{"version", [][]string{{"version", "-h"}, {"version", "--help"}, {"help", "version"}},
			"usage: worker version", map[string]string{}, nil},
		{"help", [][]string{{"help", "help"}, {"help", "--help"}},
			"usage: worker help [SUBCOMMAND]", map[string]string{}, nil},
	}
	for _, p := range pages {
		for _, args := range p.args {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				// Help works whatever the environment holds.
				r := runMain(with(fullEnv(), "WORKER_CONCURRENCY", "lots", "RESEND_DLQ_URL", "x.fifo"), args...)
				if r.code != 0 || r.stderr != "" {
					t.Fatalf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
				}
				if !strings.HasPrefix(r.stdout, p.usage) {
					t.Errorf("page starts %q, want %q", firstLine(r.stdout), p.usage)
				}
				got := pageFlags(t, r.stdout)
				for f, env := range p.flags {
					if e, ok := got[f]; !ok || e != env {
						t.Errorf("--%s: listed %v with variable %q, want %q", f, ok, e, env)
					}
				}
				for _, s := range p.text {
					if !strings.Contains(r.stdout, s) {
						t.Errorf("page lacks %q", s)
					}
				}
				if t.Failed() {
					t.Log(r.stdout)
				}
			})
		}
	}
}

// TestHelpOverview: worker -h, --help and help print the subcommands, the
// exit statuses and every subcommand's flags.
func TestHelpOverview(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runMain(nil, args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			for _, c := range commands() {
				if !strings.Contains(r.stdout, "  "+c.name+"  ") {
					t.Errorf("overview does not list %q", c.name)
				}
				if c.run != nil && !strings.Contains(r.stdout, "usage: "+c.synopsis) {
					t.Errorf("overview lacks the page of %q", c.name)
				}
			}
			flags := pageFlags(t, r.stdout)
			for _, f := range []string{"concurrency", "dry-run", "error-code", "username", "json", "admin-addr"} {
				if _, ok := flags[f]; !ok {
					t.Errorf("overview lacks --%s", f)
				}
			}
			if !strings.Contains(r.stdout, "exit status: 0") {
				t.Errorf("overview does not give the exit statuses")
			}
		})
	}
}

func TestVersion(t *testing.T) {
	r := runMain(nil, "version")
	if r.code != 0 || r.stdout != "worker v1.2.3 (commit abc123)\n" || r.stderr != "" {
		t.Fatalf("version: %+v", r)
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
