// Package config reads the worker's settings from the environment, lets flags
// override them, applies the contract's defaults and validates the result.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of the contract. The zero value is not usable: build
// one with Load, or call WithDefaults and Validate.
type Config struct {
	QueueURL string // RESEND_QUEUE_URL, required
	DLQURL   string // RESEND_DLQ_URL, required

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

	CooldownTable  string // COOLDOWN_TABLE, empty: claims and the cooldown are this process's
	LogUserHashKey string // LOG_USER_HASH_KEY, empty: a random key per process

	AdminAddr string // ADMIN_ADDR, default ":9090", empty disables
	LogLevel  string // LOG_LEVEL, default info
	LogFormat string // LOG_FORMAT, default json
}

// Defaults of the contract.
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

	// MaxRequeueDelay caps the doubling requeue delay.
	MaxRequeueDelay = 15 * time.Minute
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

// Requirement says which settings a subcommand needs.
type Requirement int

const (
	// NeedQueues: RESEND_QUEUE_URL and RESEND_DLQ_URL (replay, enqueue).
	NeedQueues Requirement = iota
	// NeedAll: the queues and COGNITO_CLIENT_ID (run).
	NeedAll
	// NeedNone: nothing is required (healthcheck).
	NeedNone
)

type setting struct {
	env, flag, usage string
	set              func(c *Config, v string) error
}

func settings() []setting {
	str := func(f func(*Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error { *f(c) = v; return nil }
	}
	lower := func(f func(*Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error { *f(c) = strings.ToLower(v); return nil }
	}
	dur := func(f func(*Config) *time.Duration) func(*Config, string) error {
		return func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%q is not a duration (e.g. 200ms, 5s, 1m)", v)
			}
			*f(c) = d
			return nil
		}
	}
	integer := func(f func(*Config) *int) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			*f(c) = n
			return nil
		}
	}
	return []setting{
		{"RESEND_QUEUE_URL", "queue-url", "SQS URL of the job queue", str(func(c *Config) *string { return &c.QueueURL })},
		{"RESEND_DLQ_URL", "dlq-url", "SQS URL of the dead-letter queue", str(func(c *Config) *string { return &c.DLQURL })},
		{"COGNITO_CLIENT_ID", "client-id", "Cognito app client id", str(func(c *Config) *string { return &c.ClientID })},
		{"COGNITO_CLIENT_SECRET", "", "", str(func(c *Config) *string { return &c.ClientSecret })},
		{"WORKER_CONCURRENCY", "concurrency", "most jobs in flight", integer(func(c *Config) *int { return &c.Concurrency })},
		{"COGNITO_MAX_RPS", "max-rps", "most Cognito calls per second", func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%q is not a number", v)
			}
			c.MaxRPS = f
			return nil
		}},
		{"RETRY_INITIAL_INTERVAL", "retry-initial-interval", "first backoff", dur(func(c *Config) *time.Duration { return &c.RetryInitialInterval })},
		{"RETRY_MAX_INTERVAL", "retry-max-interval", "largest backoff", dur(func(c *Config) *time.Duration { return &c.RetryMaxInterval })},
		{"RETRY_MAX_ELAPSED", "retry-max-elapsed", "in-process retry budget per receive", dur(func(c *Config) *time.Duration { return &c.RetryMaxElapsed })},
		{"REQUEUE_DELAY", "requeue-delay", "visibility delay when a job goes back", dur(func(c *Config) *time.Duration { return &c.RequeueDelay })},
		{"MAX_RECEIVES", "max-receives", "receive on which a failing job is dead-lettered", integer(func(c *Config) *int { return &c.MaxReceives })},
		{"USER_COOLDOWN", "user-cooldown", "window in which a second job for a user is deduplicated", dur(func(c *Config) *time.Duration { return &c.UserCooldown })},
		{"COOLDOWN_TABLE", "cooldown-table", "DynamoDB table of the fleet's claims and sent-marks; empty: this process's", str(func(c *Config) *string { return &c.CooldownTable })},
		{"LOG_USER_HASH_KEY", "", "", str(func(c *Config) *string { return &c.LogUserHashKey })},
		{"SHUTDOWN_TIMEOUT", "shutdown-timeout", "time to finish in-flight jobs after SIGTERM", dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
		{"ADMIN_ADDR", "admin-addr", "address of /metrics, /healthz, /readyz; empty disables", str(func(c *Config) *string { return &c.AdminAddr })},
		{"LOG_LEVEL", "log-level", "debug, info, warn, error", lower(func(c *Config) *string { return &c.LogLevel })},
		{"LOG_FORMAT", "log-format", "json or console", lower(func(c *Config) *string { return &c.LogFormat })},
	}
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
// override it, and validates the result for what req needs. Flags are
// registered on fs, which the caller may have filled with flags of its own.
func Load(fs *flag.FlagSet, args []string, lookupEnv func(string) (string, bool), req Requirement) (Config, error) {
	c := Default()
	all := settings()
	for _, s := range all {
		if v, ok := lookup(lookupEnv, s.env); ok {
			if err := s.set(&c, v); err != nil {
				return c, &Error{Name: s.env, Reason: err.Error()}
			}
		}
	}
	flagErrs := map[string]error{}
	byFlag := map[string]string{} // env name → flag name, for flags given
	for _, s := range all {
		if s.flag == "" {
			continue // the secret is never taken from a flag: it would show in ps
		}
		fs.Func(s.flag, s.usage+" (overrides "+s.env+")", func(v string) error {
			if err := s.set(&c, v); err != nil {
				flagErrs[s.flag] = err
				return err
			}
			byFlag[s.env] = "--" + s.flag
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		for name, ferr := range flagErrs {
			return c, &Error{Name: "--" + name, Reason: ferr.Error()}
		}
		return c, &Error{Name: "flags", Reason: err.Error()}
	}
	err := c.Validate(req)
	var ce *Error
	if errors.As(err, &ce) && byFlag[ce.Name] != "" {
		ce.Name = byFlag[ce.Name] // the value came from the flag: name it
	}
	return c, err
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
func (c Config) Validate(req Requirement) error {
	if req != NeedNone {
		if err := checkQueueURL("RESEND_QUEUE_URL", c.QueueURL); err != nil {
			return err
		}
		if err := checkQueueURL("RESEND_DLQ_URL", c.DLQURL); err != nil {
			return err
		}
		if c.QueueURL == c.DLQURL {
			return &Error{"RESEND_DLQ_URL", "must differ from RESEND_QUEUE_URL"}
		}
	}
	if req == NeedAll && c.ClientID == "" {
		return &Error{"COGNITO_CLIENT_ID", "is required"}
	}
	switch {
	case c.Concurrency < 1 || c.Concurrency > 1000:
		return &Error{"WORKER_CONCURRENCY", fmt.Sprintf("must be 1 to 1000, got %d", c.Concurrency)}
	case !(c.MaxRPS > 0) || c.MaxRPS > 10000:
		return &Error{"COGNITO_MAX_RPS", fmt.Sprintf("must be above 0 and at most 10000, got %g", c.MaxRPS)}
	case c.RetryInitialInterval <= 0:
		return &Error{"RETRY_INITIAL_INTERVAL", "must be positive"}
	case c.RetryMaxInterval < c.RetryInitialInterval:
		return &Error{"RETRY_MAX_INTERVAL", "must be at least RETRY_INITIAL_INTERVAL"}
	case c.RetryMaxElapsed <= 0:
		return &Error{"RETRY_MAX_ELAPSED", "must be positive"}
	case c.RequeueDelay < 0 || c.RequeueDelay > MaxRequeueDelay:
		return &Error{"REQUEUE_DELAY", "must be 0 to 15m"}
	case c.MaxReceives < 1:
		return &Error{"MAX_RECEIVES", fmt.Sprintf("must be at least 1, got %d", c.MaxReceives)}
	case c.UserCooldown < 0:
		return &Error{"USER_COOLDOWN", "must not be negative"}
	case c.ShutdownTimeout <= 0:
		return &Error{"SHUTDOWN_TIMEOUT", "must be positive"}
	case c.CooldownTable != "" && !tableName.MatchString(c.CooldownTable):
		return &Error{"COOLDOWN_TABLE", fmt.Sprintf("%q is not a DynamoDB table name (3 to 255 of a-z A-Z 0-9 _ - .)", c.CooldownTable)}
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

var tableName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

func checkQueueURL(name, v string) error {
	if v == "" {
		return &Error{name, "is required"}
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return &Error{name, fmt.Sprintf("%q is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)", v)}
	}
	return nil
}

// LookupEnv is os.LookupEnv, for Load.
var LookupEnv = os.LookupEnv
