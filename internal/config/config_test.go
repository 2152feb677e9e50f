package config_test

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/resend-worker/resend-worker/internal/config"
)

const (
	queueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/resend-jobs"
	dlqURL   = "https://sqs.us-east-1.amazonaws.com/123456789012/resend-jobs-dlq"
)

// env is a fake environment.
type env map[string]string

func (e env) lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

// base is the least environment `run` accepts.
func base() env {
	return env{"RESEND_QUEUE_URL": queueURL, "RESEND_DLQ_URL": dlqURL, "COGNITO_CLIENT_ID": "client-1"}
}

func with(e env, kv ...string) env {
	out := env{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func without(e env, names ...string) env {
	out := with(e)
	for _, n := range names {
		delete(out, n)
	}
	return out
}

func load(e env, args []string, req config.Requirement) (config.Config, error) {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return config.Load(fs, args, e.lookup, req)
}

func TestLoadDefaults(t *testing.T) {
	c, err := load(base(), nil, config.NeedAll)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Config{
		QueueURL: queueURL, DLQURL: dlqURL, ClientID: "client-1",
		Concurrency: 16, MaxRPS: 20,
		RetryInitialInterval: 200 * time.Millisecond, RetryMaxInterval: 5 * time.Second, RetryMaxElapsed: 20 * time.Second,
		RequeueDelay: 30 * time.Second, MaxReceives: 5, UserCooldown: 60 * time.Second, ShutdownTimeout: 20 * time.Second,
		AdminAddr: ":9090", LogLevel: "info", LogFormat: "json",
	}
	if c != want {
		t.Fatalf("Load = %+v\nwant %+v", c, want)
	}
	if d := config.Default(); d.WithDefaults() != d {
		t.Errorf("Default().WithDefaults() changed Default()")
	}
	if got := (config.Config{QueueURL: queueURL}).WithDefaults(); got.Concurrency != 16 || got.LogFormat != "json" || got.UserCooldown != 0 || got.AdminAddr != "" {
		t.Errorf("WithDefaults = %+v: numbers and levels filled, cooldown and admin left as set", got)
	}
}

func TestLoadEach(t *testing.T) {
	tests := []struct {
		name  string
		env   env
		args  []string
		check func(c config.Config) bool
	}{
		{"COGNITO_CLIENT_SECRET", with(base(), "COGNITO_CLIENT_SECRET", "sekrit"), nil, func(c config.Config) bool { return c.ClientSecret == "sekrit" }},
		{"WORKER_CONCURRENCY", with(base(), "WORKER_CONCURRENCY", "64"), nil, func(c config.Config) bool { return c.Concurrency == 64 }},
		{"COGNITO_MAX_RPS fraction", with(base(), "COGNITO_MAX_RPS", "2.5"), nil, func(c config.Config) bool { return c.MaxRPS == 2.5 }},
		{"RETRY_INITIAL_INTERVAL", with(base(), "RETRY_INITIAL_INTERVAL", "50ms"), nil, func(c config.Config) bool { return c.RetryInitialInterval == 50*time.Millisecond }},
		{"RETRY_MAX_INTERVAL", with(base(), "RETRY_MAX_INTERVAL", "1m"), nil, func(c config.Config) bool { return c.RetryMaxInterval == time.Minute }},
		{"RETRY_MAX_ELAPSED", with(base(), "RETRY_MAX_ELAPSED", "90s"), nil, func(c config.Config) bool { return c.RetryMaxElapsed == 90*time.Second }},
		{"REQUEUE_DELAY", with(base(), "REQUEUE_DELAY", "2m"), nil, func(c config.Config) bool { return c.RequeueDelay == 2*time.Minute }},
		{"REQUEUE_DELAY zero", with(base(), "REQUEUE_DELAY", "0s"), nil, func(c config.Config) bool { return c.RequeueDelay == 0 }},
		{"MAX_RECEIVES", with(base(), "MAX_RECEIVES", "9"), nil, func(c config.Config) bool { return c.MaxReceives == 9 }},
		{"USER_COOLDOWN", with(base(), "USER_COOLDOWN", "5m"), nil, func(c config.Config) bool { return c.UserCooldown == 5*time.Minute }},
		{"USER_COOLDOWN 0 disables", with(base(), "USER_COOLDOWN", "0"), nil, func(c config.Config) bool { return c.UserCooldown == 0 }},
		{"SHUTDOWN_TIMEOUT", with(base(), "SHUTDOWN_TIMEOUT", "45s"), nil, func(c config.Config) bool { return c.ShutdownTimeout == 45*time.Second }},
		{"ADMIN_ADDR", with(base(), "ADMIN_ADDR", "127.0.0.1:8081"), nil, func(c config.Config) bool { return c.AdminAddr == "127.0.0.1:8081" }},
		{"ADMIN_ADDR set but empty disables", with(base(), "ADMIN_ADDR", ""), nil, func(c config.Config) bool { return c.AdminAddr == "" }},
		{"ADMIN_ADDR blank disables", with(base(), "ADMIN_ADDR", "  "), nil, func(c config.Config) bool { return c.AdminAddr == "" }},
		{"ADMIN_ADDR unset: default", without(base(), "ADMIN_ADDR"), nil, func(c config.Config) bool { return c.AdminAddr == ":9090" }},
		{"LOG_LEVEL", with(base(), "LOG_LEVEL", "debug"), nil, func(c config.Config) bool { return c.LogLevel == "debug" }},
		{"LOG_FORMAT", with(base(), "LOG_FORMAT", "console"), nil, func(c config.Config) bool { return c.LogFormat == "console" }},
		{"empty variable counts as unset", with(base(), "WORKER_CONCURRENCY", "", "LOG_LEVEL", ""), nil, func(c config.Config) bool { return c.Concurrency == 16 && c.LogLevel == "info" }},
		{"white space trimmed", with(base(), "WORKER_CONCURRENCY", " 8 \n"), nil, func(c config.Config) bool { return c.Concurrency == 8 }},
		{"http queue URLs (LocalStack)", with(base(), "RESEND_QUEUE_URL", "http://localhost:4566/000000000000/jobs", "RESEND_DLQ_URL", "http://localhost:4566/000000000000/dlq"), nil,
			func(c config.Config) bool { return c.QueueURL == "http://localhost:4566/000000000000/jobs" }},

		{"RESEND_BULK_QUEUE_URL", with(base(), "RESEND_BULK_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/bulk"), nil, func(c config.Config) bool { return c.BulkQueueURL == "https://sqs.us-east-1.amazonaws.com/1/bulk" }},
		{"no RESEND_BULK_QUEUE_URL: one lane", base(), nil, func(c config.Config) bool { return c.BulkQueueURL == "" }},
		{"flag overrides env", with(base(), "WORKER_CONCURRENCY", "4"), []string{"--concurrency", "7"}, func(c config.Config) bool { return c.Concurrency == 7 }},
		{"flag sets what env lacks", base(), []string{"-max-rps=3"}, func(c config.Config) bool { return c.MaxRPS == 3 }},
		{"flag durations", base(), []string{"--retry-max-elapsed=1m", "--requeue-delay=1s", "--user-cooldown=0s", "--shutdown-timeout=3s"},
			func(c config.Config) bool {
				return c.RetryMaxElapsed == time.Minute && c.RequeueDelay == time.Second && c.UserCooldown == 0 && c.ShutdownTimeout == 3*time.Second
			}},
		{"flag queue URLs", env{"COGNITO_CLIENT_ID": "c"}, []string{"--queue-url", queueURL, "--dlq-url", dlqURL}, func(c config.Config) bool { return c.QueueURL == queueURL && c.DLQURL == dlqURL }},
		{"flag client id", without(base(), "COGNITO_CLIENT_ID"), []string{"--client-id=abc"}, func(c config.Config) bool { return c.ClientID == "abc" }},
		{"flag empty admin addr disables", base(), []string{"--admin-addr="}, func(c config.Config) bool { return c.AdminAddr == "" }},
		{"flag log settings", base(), []string{"--log-level=warn", "--log-format=console"}, func(c config.Config) bool { return c.LogLevel == "warn" && c.LogFormat == "console" }},
		{"flags leave the rest of env", with(base(), "MAX_RECEIVES", "2"), []string{"--concurrency=1"}, func(c config.Config) bool { return c.MaxReceives == 2 && c.Concurrency == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.env, tt.args, config.NeedAll)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tt.check(c) {
				t.Fatalf("Load = %+v", c)
			}
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		name     string
		env      env
		args     []string
		req      config.Requirement
		wantName string
	}{
		{"concurrency not a number", with(base(), "WORKER_CONCURRENCY", "many"), nil, config.NeedAll, "WORKER_CONCURRENCY"},
		{"concurrency negative", with(base(), "WORKER_CONCURRENCY", "-1"), nil, config.NeedAll, "WORKER_CONCURRENCY"},
		{"concurrency zero", with(base(), "WORKER_CONCURRENCY", "0"), nil, config.NeedAll, "WORKER_CONCURRENCY"},
		{"concurrency too high", with(base(), "WORKER_CONCURRENCY", "1001"), nil, config.NeedAll, "WORKER_CONCURRENCY"},
		{"concurrency fraction", with(base(), "WORKER_CONCURRENCY", "1.5"), nil, config.NeedAll, "WORKER_CONCURRENCY"},
		{"rps not a number", with(base(), "COGNITO_MAX_RPS", "fast"), nil, config.NeedAll, "COGNITO_MAX_RPS"},
		{"rps zero", with(base(), "COGNITO_MAX_RPS", "0"), nil, config.NeedAll, "COGNITO_MAX_RPS"},
		{"rps negative", with(base(), "COGNITO_MAX_RPS", "-2"), nil, config.NeedAll, "COGNITO_MAX_RPS"},
		{"rps NaN", with(base(), "COGNITO_MAX_RPS", "NaN"), nil, config.NeedAll, "COGNITO_MAX_RPS"},
		{"rps Inf", with(base(), "COGNITO_MAX_RPS", "+Inf"), nil, config.NeedAll, "COGNITO_MAX_RPS"},
		{"initial interval zero", with(base(), "RETRY_INITIAL_INTERVAL", "0s"), nil, config.NeedAll, "RETRY_INITIAL_INTERVAL"},
		{"initial interval negative", with(base(), "RETRY_INITIAL_INTERVAL", "-1s"), nil, config.NeedAll, "RETRY_INITIAL_INTERVAL"},
		{"initial interval no unit", with(base(), "RETRY_INITIAL_INTERVAL", "200"), nil, config.NeedAll, "RETRY_INITIAL_INTERVAL"},
		{"max interval zero", with(base(), "RETRY_MAX_INTERVAL", "0s"), nil, config.NeedAll, "RETRY_MAX_INTERVAL"},
		{"max interval below initial", with(base(), "RETRY_INITIAL_INTERVAL", "2s", "RETRY_MAX_INTERVAL", "1s"), nil, config.NeedAll, "RETRY_MAX_INTERVAL"},
		{"max interval garbage", with(base(), "RETRY_MAX_INTERVAL", "five seconds"), nil, config.NeedAll, "RETRY_MAX_INTERVAL"},
		{"max elapsed zero", with(base(), "RETRY_MAX_ELAPSED", "0"), nil, config.NeedAll, "RETRY_MAX_ELAPSED"},
		{"requeue delay negative", with(base(), "REQUEUE_DELAY", "-1s"), nil, config.NeedAll, "REQUEUE_DELAY"},
		{"requeue delay above 15m", with(base(), "REQUEUE_DELAY", "16m"), nil, config.NeedAll, "REQUEUE_DELAY"},
		{"max receives zero", with(base(), "MAX_RECEIVES", "0"), nil, config.NeedAll, "MAX_RECEIVES"},
		{"max receives garbage", with(base(), "MAX_RECEIVES", "five"), nil, config.NeedAll, "MAX_RECEIVES"},
		{"cooldown negative", with(base(), "USER_COOLDOWN", "-5s"), nil, config.NeedAll, "USER_COOLDOWN"},
		{"cooldown garbage", with(base(), "USER_COOLDOWN", "1 minute"), nil, config.NeedAll, "USER_COOLDOWN"},
		{"shutdown timeout zero", with(base(), "SHUTDOWN_TIMEOUT", "0s"), nil, config.NeedAll, "SHUTDOWN_TIMEOUT"},
		{"log level", with(base(), "LOG_LEVEL", "verbose"), nil, config.NeedAll, "LOG_LEVEL"},
		{"log format", with(base(), "LOG_FORMAT", "text"), nil, config.NeedAll, "LOG_FORMAT"},
		{"queue URL garbage", with(base(), "RESEND_QUEUE_URL", "not a url"), nil, config.NeedAll, "RESEND_QUEUE_URL"},
		{"queue URL no scheme", with(base(), "RESEND_QUEUE_URL", "sqs.us-east-1.amazonaws.com/1/q"), nil, config.NeedAll, "RESEND_QUEUE_URL"},
		{"queue URL ftp", with(base(), "RESEND_QUEUE_URL", "ftp://sqs.example/1/q"), nil, config.NeedAll, "RESEND_QUEUE_URL"},
		{"queue URL no path", with(base(), "RESEND_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/"), nil, config.NeedAll, "RESEND_QUEUE_URL"},
		{"queue URL no host", with(base(), "RESEND_QUEUE_URL", "https:///1/q"), nil, config.NeedAll, "RESEND_QUEUE_URL"},
		{"queue URL a queue name", with(base(), "RESEND_QUEUE_URL", "resend-jobs"), nil, config.NeedQueues, "RESEND_QUEUE_URL"},
		{"DLQ URL garbage", with(base(), "RESEND_DLQ_URL", "%zz"), nil, config.NeedAll, "RESEND_DLQ_URL"},
		{"DLQ is the queue", with(base(), "RESEND_DLQ_URL", queueURL), nil, config.NeedAll, "RESEND_DLQ_URL"},
		{"bulk queue garbage", with(base(), "RESEND_BULK_QUEUE_URL", "bulk"), nil, config.NeedAll, "RESEND_BULK_QUEUE_URL"},
		{"bulk queue FIFO", with(base(), "RESEND_BULK_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/bulk.fifo"), nil, config.NeedQueues, "RESEND_BULK_QUEUE_URL"},
		{"bulk queue is the queue", with(base(), "RESEND_BULK_QUEUE_URL", queueURL), nil, config.NeedAll, "RESEND_BULK_QUEUE_URL"},
		{"bulk queue is the DLQ", with(base(), "RESEND_BULK_QUEUE_URL", dlqURL), nil, config.NeedAll, "RESEND_BULK_QUEUE_URL"},
		{"bulk lane needs two slots", with(base(), "RESEND_BULK_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/bulk", "WORKER_CONCURRENCY", "1"), nil, config.NeedAll, "WORKER_CONCURRENCY"},
		{"flag bulk queue garbage names the flag", base(), []string{"--bulk-queue-url=nope"}, config.NeedAll, "--bulk-queue-url"},

		{"run needs the queue", without(base(), "RESEND_QUEUE_URL"), nil, config.NeedAll, "RESEND_QUEUE_URL"},
		{"run needs the DLQ", without(base(), "RESEND_DLQ_URL"), nil, config.NeedAll, "RESEND_DLQ_URL"},
		{"run needs the client id", without(base(), "COGNITO_CLIENT_ID"), nil, config.NeedAll, "COGNITO_CLIENT_ID"},
		{"blank client id is missing", with(base(), "COGNITO_CLIENT_ID", "  "), nil, config.NeedAll, "COGNITO_CLIENT_ID"},
		{"replay needs the queue", without(base(), "RESEND_QUEUE_URL", "COGNITO_CLIENT_ID"), nil, config.NeedQueues, "RESEND_QUEUE_URL"},
		{"replay needs the DLQ", without(base(), "RESEND_DLQ_URL", "COGNITO_CLIENT_ID"), nil, config.NeedQueues, "RESEND_DLQ_URL"},
		{"healthcheck refuses run's flags", env{}, []string{"--concurrency=2"}, config.NeedNone, "flags"},
		{"enqueue needs the queue", env{"RESEND_DLQ_URL": dlqURL}, nil, config.NeedQueue, "RESEND_QUEUE_URL"},
		{"dlq needs the DLQ", env{"RESEND_QUEUE_URL": queueURL}, nil, config.NeedDLQ, "RESEND_DLQ_URL"},
		{"FIFO queue", with(base(), "RESEND_QUEUE_URL", queueURL+".fifo"), nil, config.NeedAll, "RESEND_QUEUE_URL"},
		{"FIFO DLQ", with(base(), "RESEND_DLQ_URL", dlqURL+".fifo"), nil, config.NeedAll, "RESEND_DLQ_URL"},
		{"FIFO DLQ for dlq stats", env{"RESEND_DLQ_URL": dlqURL + ".fifo"}, nil, config.NeedDLQ, "RESEND_DLQ_URL"},
		{"FIFO queue for enqueue", env{"RESEND_QUEUE_URL": queueURL + ".fifo"}, nil, config.NeedQueue, "RESEND_QUEUE_URL"},
		{"FIFO bulk queue", with(base(), "RESEND_BULK_QUEUE_URL", queueURL+"-bulk.fifo"), nil, config.NeedAll, "RESEND_BULK_QUEUE_URL"},
		{"FIFO bulk queue by flag", base(), []string{"--bulk-queue-url", queueURL + "-bulk.fifo"}, config.NeedQueues, "--bulk-queue-url"},
		{"bulk queue garbage", with(base(), "RESEND_BULK_QUEUE_URL", "bulk"), nil, config.NeedQueue, "RESEND_BULK_QUEUE_URL"},
		{"bulk queue is the job queue", with(base(), "RESEND_BULK_QUEUE_URL", queueURL), nil, config.NeedAll, "RESEND_BULK_QUEUE_URL"},
		{"bulk queue is the DLQ", with(base(), "RESEND_BULK_QUEUE_URL", dlqURL), nil, config.NeedAll, "RESEND_BULK_QUEUE_URL"},
		{"stray argument", base(), []string{"extra-arg"}, config.NeedAll, "arguments"},
		{"stray argument after flags", base(), []string{"--concurrency=2", "extra"}, config.NeedAll, "arguments"},
		{"stray argument for healthcheck", env{}, []string{"now"}, config.NeedNone, "arguments"},
		{"run flag refused by replay", base(), []string{"--concurrency=2"}, config.NeedQueues, "flags"},
		{"queue flag refused by dlq", base(), []string{"--queue-url", queueURL}, config.NeedDLQ, "flags"},

		{"bad flag value", base(), []string{"--concurrency=lots"}, config.NeedAll, "--concurrency"},
		{"bad flag duration", base(), []string{"--retry-max-elapsed", "soon"}, config.NeedAll, "--retry-max-elapsed"},
		{"flag value out of range names the flag", base(), []string{"--concurrency=-3"}, config.NeedAll, "--concurrency"},
		{"env value out of range beside other flags", with(base(), "WORKER_CONCURRENCY", "0"), []string{"--max-rps=3"}, config.NeedAll, "WORKER_CONCURRENCY"},
		{"flag queue URL garbage names the flag", base(), []string{"--queue-url=nope"}, config.NeedAll, "--queue-url"},
		{"flag cannot fix a bad env value", with(base(), "WORKER_CONCURRENCY", "x"), []string{"--concurrency=3"}, config.NeedAll, "WORKER_CONCURRENCY"},
		{"unknown flag", base(), []string{"--nope"}, config.NeedAll, "flags"},
		{"no secret flag: it would show in ps", base(), []string{"--client-secret=s"}, config.NeedAll, "flags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(tt.env, tt.args, tt.req)
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load error = %v (%T), want a *config.Error", err, err)
			}
			if ce.Name != tt.wantName {
				t.Errorf("error names %q, want %q (%v)", ce.Name, tt.wantName, err)
			}
			if !errors.Is(err, config.ErrUsage) {
				t.Errorf("errors.Is(err, ErrUsage) = false")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.wantName+": ") || strings.Contains(msg, "\n") || ce.Reason == "" {
				t.Errorf("error %q is not one line naming %s", msg, tt.wantName)
			}
		})
	}
}

func TestLoadRequirements(t *testing.T) {
	tests := []struct {
		name string
		env  env
		req  config.Requirement
	}{
		{"healthcheck needs nothing", env{}, config.NeedNone},
		{"healthcheck reads no run setting", env{"LOG_LEVEL": "loud", "RESEND_QUEUE_URL": "q.fifo"}, config.NeedNone},
		{"replay needs no client id", without(base(), "COGNITO_CLIENT_ID"), config.NeedQueues},
		{"replay reads no run setting", with(without(base(), "COGNITO_CLIENT_ID"), "WORKER_CONCURRENCY", "lots"), config.NeedQueues},
		{"enqueue needs only the queue", env{"RESEND_QUEUE_URL": queueURL}, config.NeedQueue},
		{"enqueue ignores a bad DLQ", env{"RESEND_QUEUE_URL": queueURL, "RESEND_DLQ_URL": "x.fifo"}, config.NeedQueue},
		{"dlq needs only the DLQ", env{"RESEND_DLQ_URL": dlqURL}, config.NeedDLQ},
		{"dlq ignores a bad queue", env{"RESEND_DLQ_URL": dlqURL, "RESEND_QUEUE_URL": "x.fifo", "COGNITO_MAX_RPS": "0"}, config.NeedDLQ},
		{"run with everything", base(), config.NeedAll},
		{"run with a bulk queue", with(base(), "RESEND_BULK_QUEUE_URL", queueURL+"-bulk"), config.NeedAll},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := load(tt.env, nil, tt.req); err != nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}
}

// TestLoadCallerFlags: the caller's own flags live beside the settings.
func TestLoadCallerFlags(t *testing.T) {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	dry := fs.Bool("dry-run", false, "")
	c, err := config.Load(fs, []string{"--dry-run", "--queue-url", queueURL + "-2"}, base().lookup, config.NeedQueues)
	if err != nil {
		t.Fatal(err)
	}
	if !*dry || c.QueueURL != queueURL+"-2" || c.DLQURL != dlqURL {
		t.Fatalf("dry-run %v, config %+v", *dry, c)
	}
}

// TestLoadReadsOnlyWhatItUses: a subcommand leaves the settings it does not
// use at their defaults, whatever the environment says.
func TestLoadReadsOnlyWhatItUses(t *testing.T) {
	e := with(base(), "WORKER_CONCURRENCY", "3", "RESEND_BULK_QUEUE_URL", queueURL+"-bulk")
	c, err := load(e, nil, config.NeedDLQ)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	want.DLQURL = dlqURL
	if c != want {
		t.Fatalf("dlq read %+v\nwant %+v", c, want)
	}
	if c, err = load(e, nil, config.NeedQueue); err != nil || c.QueueURL != queueURL || c.BulkQueueURL != queueURL+"-bulk" || c.DLQURL != "" || c.Concurrency != config.DefaultConcurrency {
		t.Fatalf("enqueue read %+v, %v", c, err)
	}
}

// TestLoadHelp: -h, -help and --help return the usage text: the caller's
// flags and every setting the subcommand uses, each with its variable and
// default; nothing else.
func TestLoadHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help", "--h"} {
		fs := flag.NewFlagSet("replay", flag.ContinueOnError)
		fs.Int("max", 0, "move at most `N` messages")
		_, err := config.Load(fs, []string{arg}, env{}.lookup, config.NeedQueues)
		var h *config.Help
		if !errors.As(err, &h) {
			t.Fatalf("%s: err = %v, want *config.Help", arg, err)
		}
		if errors.Is(err, config.ErrUsage) {
			t.Errorf("%s: help is not a configuration error", arg)
		}
		for _, want := range []string{
			"  --max N\n        move at most N messages (default 0)\n",
			"  RESEND_QUEUE_URL, --queue-url URL\n",
			"(required)",
			"  RESEND_BULK_QUEUE_URL, --bulk-queue-url URL\n",
			"(default empty)",
		} {
			if !strings.Contains(h.Usage, want) {
				t.Errorf("%s: usage lacks %q:\n%s", arg, want, h.Usage)
			}
		}
		if strings.Contains(h.Usage, "WORKER_CONCURRENCY") {
			t.Errorf("replay's usage offers run's settings:\n%s", h.Usage)
		}
	}
}

// TestLoadHelpRun: run's usage shows every setting of the contract with its
// default as the contract writes it.
func TestLoadHelpRun(t *testing.T) {
	_, err := config.Load(flag.NewFlagSet("run", flag.ContinueOnError), []string{"--help"}, base().lookup, config.NeedAll)
	var h *config.Help
	if !errors.As(err, &h) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{
		"RESEND_QUEUE_URL, --queue-url URL", "RESEND_DLQ_URL, --dlq-url URL", "COGNITO_CLIENT_ID, --client-id ID",
		"  COGNITO_CLIENT_SECRET\n", "RESEND_BULK_QUEUE_URL, --bulk-queue-url URL",
		"WORKER_CONCURRENCY, --concurrency N", "(default 16)", "COGNITO_MAX_RPS, --max-rps N", "(default 20)",
		"RETRY_INITIAL_INTERVAL, --retry-initial-interval DURATION", "(default 200ms)",
		"RETRY_MAX_INTERVAL, --retry-max-interval DURATION", "(default 5s)",
		"RETRY_MAX_ELAPSED, --retry-max-elapsed DURATION", "(default 20s)",
		"REQUEUE_DELAY, --requeue-delay DURATION", "(default 30s)", "capped at 15m",
		"MAX_RECEIVES, --max-receives N", "(default 5)",
		"USER_COOLDOWN, --user-cooldown DURATION", "(default 60s)",
		"SHUTDOWN_TIMEOUT, --shutdown-timeout DURATION",
		"ADMIN_ADDR, --admin-addr ADDR", "(default :9090)",
		"LOG_LEVEL, --log-level LEVEL", "(default info)", "LOG_FORMAT, --log-format FORMAT", "(default json)",
	} {
		if !strings.Contains(h.Usage, want) {
			t.Errorf("usage lacks %q", want)
		}
	}
	if strings.Contains(h.Usage, "client-1") {
		t.Errorf("usage shows the environment's values, not the defaults")
	}
	if t.Failed() {
		t.Log(h.Usage)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		200 * time.Millisecond: "200ms", 5 * time.Second: "5s", 60 * time.Second: "60s", 90 * time.Second: "90s",
		15 * time.Minute: "15m", 0: "0s", 1500 * time.Millisecond: "1.5s",
	} {
		if got := config.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
