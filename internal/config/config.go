// Package config reads the worker's settings from the environment, lets flags
// override them, applies the contract's defaults and validates the result.
//
// It is the one source of the worker's defaults: the Default* constants
// below are what `worker run` uses and what `worker help` prints, and the
// packages with defaults of their own for callers that build a Config in code
// (retry, processor, consumer) take them from here. Change a default here.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of the contract. The zero value is not usable: build
// one with Load, or call WithDefaults and Validate.
type Config struct {
	QueueURL     string // RESEND_QUEUE_URL, required by run, replay, enqueue
	DLQURL       string // RESEND_DLQ_URL, required by run, replay, dlq
	BulkQueueURL string // RESEND_BULK_QUEUE_URL, optional: the bulk lane

	ClientID     string // COGNITO_CLIENT_ID, required for run
	ClientSecret string // COGNITO_CLIENT_SECRET, empty: no SecretHash

	Concurrency int     // WORKER_CONCURRENCY, default 16
	MaxRPS      float64 // COGNITO_MAX_RPS, default 20

	RetryInitialInterval time.Duration // RETRY_INITIAL_INTERVAL, default 200ms
	RetryMaxInterval     time.Duration // RETRY_MAX_INTERVAL, default 5s
	RetryMaxElapsed      time.Duration // RETRY_MAX_ELAPSED, default 20s
	RequeueDelay         time.Duration // REQUEUE_DELAY, default 30s
	MaxReceives          int           // MAX_RECEIVES, default 5
	UserCooldown         time.Duration // USER_COOLDOWN, default 60s, 0 disables
	ShutdownTimeout      time.Duration // SHUTDOWN_TIMEOUT, default 20s

	AdminAddr string // ADMIN_ADDR, default ":9090", empty disables
	LogLevel  string // LOG_LEVEL, default info
	LogFormat string // LOG_FORMAT, default json
}

// Defaults of the contract, and the limits the worker adds to it.
const (
	DefaultConcurrency          = 16
	DefaultMaxRPS               = 20
	DefaultRetryInitialInterval = 200 * time.Millisecond
	DefaultRetryMaxInterval     = 5 * time.Second
	DefaultRetryMaxElapsed      = 20 * time.Second
	DefaultRequeueDelay         = 30 * time.Second
	DefaultMaxReceives          = 5
	DefaultUserCooldown         = 60 * time.Second
	DefaultShutdownTimeout      = 20 * time.Second
	DefaultAdminAddr            = ":9090"
	DefaultLogLevel             = "info"
	DefaultLogFormat            = "json"

	// VisibilityTimeout is asked for on each receive and renewed by the
	// heartbeat while a job runs, so the queue's own setting does not matter.
	VisibilityTimeout = 30 * time.Second

	// MaxRequeueDelay caps the doubling requeue delay (and REQUEUE_DELAY):
	// SQS's largest visibility timeout change is 12 h, the contract's 15m.
	MaxRequeueDelay = 15 * time.Minute
	// MaxConcurrency is the largest WORKER_CONCURRENCY.
	MaxConcurrency = 1000
	// MaxMaxRPS is the largest COGNITO_MAX_RPS.
	MaxMaxRPS = 10000
)

// Error is a configuration error: it names the variable (or flag) at fault.
// The worker prints it on one line and exits 2.
type Error struct {
	Name   string // the environment variable or flag, e.g. WORKER_CONCURRENCY
	Reason string
}

func (e *Error) Error() string { return e.Name + ": " + e.Reason }

// ErrUsage is wrapped by every *Error, for errors.Is.
var ErrUsage = errors.New("configuration error")

// Is makes errors.Is(err, ErrUsage) true.
func (e *Error) Is(target error) bool { return target == ErrUsage }

// Help is returned by Load for -h, -help or --help: Usage is the text to
// print (on stdout, exit 0). It is not a *Error.
type Help struct {
	Usage string
}

func (h *Help) Error() string { return "help requested" }

// Requirement says which settings a subcommand reads and which of them it
// requires. A subcommand reads, checks and offers flags for only the
// settings it uses.
type Requirement int

const (
	// NeedQueues is replay: RESEND_QUEUE_URL and RESEND_DLQ_URL required,
	// RESEND_BULK_QUEUE_URL read.
	NeedQueues Requirement = iota
	// NeedAll is run: the queues and COGNITO_CLIENT_ID required, every
	// setting read.
	NeedAll
	// NeedNone is healthcheck: nothing required, ADMIN_ADDR read.
	NeedNone
	// NeedQueue is enqueue: RESEND_QUEUE_URL required, RESEND_BULK_QUEUE_URL
	// read.
	NeedQueue
	// NeedDLQ is the dlq subcommands: RESEND_DLQ_URL required.
	NeedDLQ
)

// scope is the set of subcommands a setting serves.
type scope uint8

const (
	forRun scope = 1 << iota
	forReplay
	forEnqueue
	forDLQ
	forHealthcheck
)

func (r Requirement) scope() scope {
	switch r {
	case NeedAll:
		return forRun
	case NeedNone:
		return forHealthcheck
	case NeedQueue:
		return forEnqueue
	case NeedDLQ:
		return forDLQ
	default:
		return forReplay
	}
}

// requires reports whether r needs the variable env set.
func (r Requirement) requires(env string) bool {
	switch env {
	case "RESEND_QUEUE_URL":
		return r == NeedAll || r == NeedQueues || r == NeedQueue
	case "RESEND_DLQ_URL":
		return r == NeedAll || r == NeedQueues || r == NeedDLQ
	case "COGNITO_CLIENT_ID":
		return r == NeedAll
	}
	return false
}

type setting struct {
	env, flag string
	arg       string // the flag's value placeholder in usage, e.g. N
	usage     string
	scope     scope
	codec
}

// codec reads a setting's value into a Config and prints it back.
type codec struct {
	set func(c *Config, v string) error
	get func(c Config) string // the value, for usage's default
}

func settings() []setting {
	str := func(f func(*Config) *string) codec {
		return codec{func(c *Config, v string) error { *f(c) = v; return nil }, func(c Config) string { return *f(&c) }}
	}
	lower := func(f func(*Config) *string) codec {
		return codec{func(c *Config, v string) error { *f(c) = strings.ToLower(v); return nil }, func(c Config) string { return *f(&c) }}
	}
	dur := func(f func(*Config) *time.Duration) codec {
		return codec{func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%q is not a duration (e.g. 200ms, 5s, 1m)", v)
			}
			*f(c) = d
			return nil
		}, func(c Config) string { return FormatDuration(*f(&c)) }}
	}
	integer := func(f func(*Config) *int) codec {
		return codec{func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			*f(c) = n
			return nil
		}, func(c Config) string { return strconv.Itoa(*f(&c)) }}
	}
	number := func(f func(*Config) *float64) codec {
		return codec{func(c *Config, v string) error {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%q is not a number", v)
			}
			*f(c) = n
			return nil
		}, func(c Config) string { return strconv.FormatFloat(*f(&c), 'g', -1, 64) }}
	}
	const queues = forRun | forReplay | forEnqueue
	return []setting{
		{"RESEND_QUEUE_URL", "queue-url", "URL", "SQS URL of the job queue (interactive jobs); a FIFO queue (.fifo) is refused", queues, str(func(c *Config) *string { return &c.QueueURL })},
		{"RESEND_DLQ_URL", "dlq-url", "URL", "SQS URL of the dead-letter queue; the worker writes to it itself", forRun | forReplay | forDLQ, str(func(c *Config) *string { return &c.DLQURL })},
		{"RESEND_BULK_QUEUE_URL", "bulk-queue-url", "URL", "SQS URL of the bulk queue (replays, backfills): its jobs use only the capacity interactive jobs leave", queues, str(func(c *Config) *string { return &c.BulkQueueURL })},
		{"COGNITO_CLIENT_ID", "client-id", "ID", "Cognito app client id", forRun, str(func(c *Config) *string { return &c.ClientID })},
		{"COGNITO_CLIENT_SECRET", "", "", "app client secret; when set every call carries SecretHash (no flag: it would show in ps)", forRun, str(func(c *Config) *string { return &c.ClientSecret })},
		{"WORKER_CONCURRENCY", "concurrency", "N", fmt.Sprintf("most jobs in flight in this process, 1 to %d", MaxConcurrency), forRun, integer(func(c *Config) *int { return &c.Concurrency })},
		{"COGNITO_MAX_RPS", "max-rps", "N", "most Cognito calls per second from this process; adapts below this on throttling", forRun, number(func(c *Config) *float64 { return &c.MaxRPS })},
		{"RETRY_INITIAL_INTERVAL", "retry-initial-interval", "DURATION", "first in-process backoff for a transient error", forRun, dur(func(c *Config) *time.Duration { return &c.RetryInitialInterval })},
		{"RETRY_MAX_INTERVAL", "retry-max-interval", "DURATION", "largest single backoff", forRun, dur(func(c *Config) *time.Duration { return &c.RetryMaxInterval })},
		{"RETRY_MAX_ELAPSED", "retry-max-elapsed", "DURATION", "in-process retry budget for one receive; then the job goes back to the queue", forRun, dur(func(c *Config) *time.Duration { return &c.RetryMaxElapsed })},
		{"REQUEUE_DELAY", "requeue-delay", "DURATION", "visibility delay when a job goes back to the queue; doubles each receive, capped at " + FormatDuration(MaxRequeueDelay), forRun, dur(func(c *Config) *time.Duration { return &c.RequeueDelay })},
		{"MAX_RECEIVES", "max-receives", "N", "a job still failing transiently on this receive is dead-lettered (exhausted)", forRun, integer(func(c *Config) *int { return &c.MaxReceives })},
		{"USER_COOLDOWN", "user-cooldown", "DURATION", "a second job for a user sent a code within this window completes without a call; 0 disables", forRun, dur(func(c *Config) *time.Duration { return &c.UserCooldown })},
		{"SHUTDOWN_TIMEOUT", "shutdown-timeout", "DURATION", "after SIGTERM: finish or release in-flight jobs within this", forRun, dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
		{"ADMIN_ADDR", "admin-addr", "ADDR", "address of /metrics, /healthz, /readyz; empty disables", forRun | forHealthcheck, str(func(c *Config) *string { return &c.AdminAddr })},
		{"LOG_LEVEL", "log-level", "LEVEL", "debug, info, warn or error", forRun, lower(func(c *Config) *string { return &c.LogLevel })},
		{"LOG_FORMAT", "log-format", "FORMAT", "json (one object a line) or console", forRun, lower(func(c *Config) *string { return &c.LogFormat })},
	}
}

// FormatDuration prints d as the contract writes durations: whole minutes
// from 2 on as "15m", other whole seconds as "30s" or "60s", anything else as
// time.Duration does ("200ms").
func FormatDuration(d time.Duration) string {
	if d >= 2*time.Minute && d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	if d != 0 && d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// WithDefaults returns c with every unset field at the contract's default.
// Durations and numbers are "unset" only when the variable was absent, so Load
// applies defaults before reading; WithDefaults serves callers that build a
// Config in code.
func (c Config) WithDefaults() Config {
	d := Default()
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	if c.MaxRPS == 0 {
		c.MaxRPS = d.MaxRPS
	}
	if c.RetryInitialInterval == 0 {
		c.RetryInitialInterval = d.RetryInitialInterval
	}
	if c.RetryMaxInterval == 0 {
		c.RetryMaxInterval = d.RetryMaxInterval
	}
	if c.RetryMaxElapsed == 0 {
		c.RetryMaxElapsed = d.RetryMaxElapsed
	}
	if c.RequeueDelay == 0 {
		c.RequeueDelay = d.RequeueDelay
	}
	if c.MaxReceives == 0 {
		c.MaxReceives = d.MaxReceives
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = d.ShutdownTimeout
	}
	if c.LogLevel == "" {
		c.LogLevel = d.LogLevel
	}
	if c.LogFormat == "" {
		c.LogFormat = d.LogFormat
	}
	return c
}

// Default is the contract's defaults with nothing required set.
func Default() Config {
	return Config{
		Concurrency:          DefaultConcurrency,
		MaxRPS:               DefaultMaxRPS,
		RetryInitialInterval: DefaultRetryInitialInterval,
		RetryMaxInterval:     DefaultRetryMaxInterval,
		RetryMaxElapsed:      DefaultRetryMaxElapsed,
		RequeueDelay:         DefaultRequeueDelay,
		MaxReceives:          DefaultMaxReceives,
		UserCooldown:         DefaultUserCooldown,
		ShutdownTimeout:      DefaultShutdownTimeout,
		AdminAddr:            DefaultAdminAddr,
		LogLevel:             DefaultLogLevel,
		LogFormat:            DefaultLogFormat,
	}
}

// Load reads the environment (through lookupEnv), then the flags in args, which
// override it, and validates the result for what req needs. It reads only the
// settings req uses, and registers a flag for each of them on fs, which the
// caller may have filled with flags of its own. Arguments left after the flags
// are refused. For -h, -help or --help it returns a *Help with the usage text.
func Load(fs *flag.FlagSet, args []string, lookupEnv func(string) (string, bool), req Requirement) (Config, error) {
	c := Default()
	var used []setting
	for _, s := range settings() {
		if s.scope&req.scope() != 0 {
			used = append(used, s)
		}
	}
	var envErr error // reported after the flags: help works whatever the environment holds
	for _, s := range used {
		if v, ok := lookup(lookupEnv, s.env); ok {
			if err := s.set(&c, v); err != nil && envErr == nil {
				envErr = &Error{Name: s.env, Reason: err.Error()}
			}
		}
	}
	flagErrs := map[string]error{}
	byFlag := map[string]string{} // env name → flag name, for flags given
	for _, s := range used {
		if s.flag == "" {
			continue // the secret is never taken from a flag: it would show in ps
		}
		fs.Func(s.flag, s.usage, func(v string) error {
			if err := s.set(&c, v); err != nil {
				flagErrs[s.flag] = err
				return err
			}
			byFlag[s.env] = "--" + s.flag
			return nil
		})
	}
	if err := Parse(fs, args); err != nil {
		var h *Help
		if errors.As(err, &h) {
			h.Usage = usage(fs, used, req)
			return c, h
		}
		if envErr != nil {
			return c, envErr
		}
		for name, ferr := range flagErrs {
			return c, &Error{Name: "--" + name, Reason: ferr.Error()}
		}
		return c, err
	}
	if envErr != nil {
		return c, envErr
	}
	err := c.Validate(req)
	var ce *Error
	if errors.As(err, &ce) && byFlag[ce.Name] != "" {
		ce.Name = byFlag[ce.Name] // the value came from the flag: name it
	}
	return c, err
}

// Parse parses args into fs, for a subcommand that takes flags only: it
// returns a *Help with fs's usage for -h, -help or --help, a *Error naming
// the flag for a bad flag, and a *Error for any argument left after the
// flags.
func Parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(discard{})
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &Help{Usage: usage(fs, nil, NeedNone)}
		}
		return &Error{Name: "flags", Reason: err.Error() + " (see worker help " + fs.Name() + ")"}
	}
	if fs.NArg() > 0 {
		return &Error{Name: "arguments", Reason: fmt.Sprintf("unexpected %q: worker %s takes flags only (see worker help %s)", fs.Arg(0), fs.Name(), fs.Name())}
	}
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// usage is the flag part of a subcommand's help: the caller's own flags, then
// the settings req uses with their variable and default.
func usage(fs *flag.FlagSet, used []setting, req Requirement) string {
	var b strings.Builder
	isSetting := map[string]bool{}
	for _, s := range used {
		isSetting[s.flag] = true
	}
	var own []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if !isSetting[f.Name] {
			own = append(own, f)
		}
	})
	sort.Slice(own, func(i, j int) bool { return own[i].Name < own[j].Name })
	if len(own) > 0 {
		b.WriteString("flags:\n")
		for _, f := range own {
			arg, text := flag.UnquoteUsage(f)
			switch arg {
			case "int", "uint", "float":
				arg = "N"
			default:
				arg = strings.ToUpper(arg)
			}
			def := f.DefValue
			if def == "" || def == "[]" || def == "-" {
				def = "none"
			}
			fmt.Fprintf(&b, "  --%s\n        %s (default %s)\n", strings.TrimSpace(f.Name+" "+arg), text, def)
		}
		b.WriteString("\n")
	}
	if len(used) > 0 {
		b.WriteString("settings (environment variable; a flag of the same meaning overrides it):\n")
		d := Default()
		for _, s := range used {
			head := s.env
			if s.flag != "" {
				head = fmt.Sprintf("%s, --%s %s", s.env, s.flag, s.arg)
			}
			def := s.get(d)
			switch {
			case req.requires(s.env):
				def = "required"
			case def == "":
				def = "default empty"
			default:
				def = "default " + def
			}
			fmt.Fprintf(&b, "  %s\n        %s (%s)\n", head, s.usage, def)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// lookup treats a variable set to the empty string as unset, except
// ADMIN_ADDR, where empty means "no admin endpoint".
func lookup(lookupEnv func(string) (string, bool), name string) (string, bool) {
	v, ok := lookupEnv(name)
	v = strings.TrimSpace(v)
	if name == "ADMIN_ADDR" {
		return v, ok
	}
	return v, v != ""
}

// Validate checks every setting; the error names the variable at fault.
// Queue URLs are checked when set, and required when req needs them.
func (c Config) Validate(req Requirement) error {
	queues := []struct{ env, url string }{
		{"RESEND_QUEUE_URL", c.QueueURL}, {"RESEND_DLQ_URL", c.DLQURL}, {"RESEND_BULK_QUEUE_URL", c.BulkQueueURL},
	}
	for i, q := range queues {
		if q.url == "" {
			if req.requires(q.env) {
				return &Error{q.env, "is required"}
			}
			continue
		}
		if err := checkQueueURL(q.env, q.url); err != nil {
			return err
		}
		for _, p := range queues[:i] {
			if p.url == q.url {
				return &Error{q.env, "must differ from " + p.env}
			}
		}
	}
	if c.BulkQueueURL != "" && c.Concurrency < 2 {
		return &Error{"WORKER_CONCURRENCY", "must be at least 2 with RESEND_BULK_QUEUE_URL (the bulk lane runs beside a reserve for interactive jobs)"}
	}
	if req.requires("COGNITO_CLIENT_ID") && c.ClientID == "" {
		return &Error{"COGNITO_CLIENT_ID", "is required"}
	}
	switch {
	case c.Concurrency < 1 || c.Concurrency > MaxConcurrency:
		return &Error{"WORKER_CONCURRENCY", fmt.Sprintf("must be 1 to %d, got %d", MaxConcurrency, c.Concurrency)}
	case !(c.MaxRPS > 0) || c.MaxRPS > MaxMaxRPS:
		return &Error{"COGNITO_MAX_RPS", fmt.Sprintf("must be above 0 and at most %d, got %g", MaxMaxRPS, c.MaxRPS)}
	case c.RetryInitialInterval <= 0:
		return &Error{"RETRY_INITIAL_INTERVAL", "must be positive"}
	case c.RetryMaxInterval < c.RetryInitialInterval:
		return &Error{"RETRY_MAX_INTERVAL", "must be at least RETRY_INITIAL_INTERVAL"}
	case c.RetryMaxElapsed <= 0:
		return &Error{"RETRY_MAX_ELAPSED", "must be positive"}
	case c.RequeueDelay < 0 || c.RequeueDelay > MaxRequeueDelay:
		return &Error{"REQUEUE_DELAY", "must be 0 to " + FormatDuration(MaxRequeueDelay)}
	case c.MaxReceives < 1:
		return &Error{"MAX_RECEIVES", fmt.Sprintf("must be at least 1, got %d", c.MaxReceives)}
	case c.UserCooldown < 0:
		return &Error{"USER_COOLDOWN", "must not be negative"}
	case c.ShutdownTimeout <= 0:
		return &Error{"SHUTDOWN_TIMEOUT", "must be positive"}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return &Error{"LOG_LEVEL", fmt.Sprintf("must be debug, info, warn or error, got %q", c.LogLevel)}
	}
	switch c.LogFormat {
	case "json", "console":
	default:
		return &Error{"LOG_FORMAT", fmt.Sprintf("must be json or console, got %q", c.LogFormat)}
	}
	return nil
}

// checkQueueURL checks that v looks like a standard SQS queue URL.
func checkQueueURL(name, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return &Error{name, fmt.Sprintf("%q is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)", v)}
	}
	if strings.HasSuffix(strings.TrimRight(u.Path, "/"), ".fifo") {
		return &Error{name, fmt.Sprintf("%q is a FIFO queue: the worker supports standard queues only (every send would lack MessageGroupId)", v)}
	}
	return nil
}

// LookupEnv is os.LookupEnv, for Load.
var LookupEnv = os.LookupEnv
