// Package app is the worker binary: it parses the subcommand, loads and
// validates configuration, builds the SDK clients from the SDK's default
// chain and wires the pieces into a running worker.
package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/resend-worker/resend-worker/internal/config"
)

// Exit codes of the contract.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Env looks up an environment variable (os.LookupEnv in the binary).
type Env func(string) (string, bool)

// IO is where a command reads and writes.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Env            Env
}

// Build identifies the binary.
type Build struct{ Version, Commit string }

// command is a subcommand of the binary.
type command struct {
	name     string // "run", "dlq stats"
	synopsis string // the usage line after "usage: "
	summary  string // one line, for the overview
	about    string // what it does, for its help page
	aws      bool   // reads the AWS SDK's settings
	run      func(ctx context.Context, args []string, io IO, b Build) error
}

// commands are the subcommands, in the order the overview lists them.
func commands() []command {
	return []command{
		{name: "run", synopsis: "worker run [flags]", aws: true,
			summary: "consume jobs until SIGTERM or SIGINT (also: worker with no subcommand)",
			about: "Consumes jobs from RESEND_QUEUE_URL (and RESEND_BULK_QUEUE_URL when set) until SIGTERM or SIGINT,\n" +
				"then stops within SHUTDOWN_TIMEOUT. It exits 1 at start if a queue does not exist.",
			run: func(ctx context.Context, args []string, io IO, _ Build) error { return runCommand(ctx, args, io) }},
		{name: "replay", synopsis: "worker replay [--dry-run] [--max N] [--error-code CODE]... [flags]", aws: true,
			summary: "move dead-lettered jobs from the DLQ back to the job queue",
			about: "Moves dead-lettered jobs from RESEND_DLQ_URL back to RESEND_QUEUE_URL (to RESEND_BULK_QUEUE_URL when set),\n" +
				"body unchanged, ReplayCount one higher; ends with a count by ErrorCode.",
			run: func(ctx context.Context, args []string, io IO, _ Build) error { return replayCommand(ctx, args, io) }},
		{name: "enqueue", synopsis: "worker enqueue (--username U... | --file F) [--client-metadata k=v]... [flags]", aws: true,
			summary: "send jobs (ops, smoke tests)",
			about: "Sends one job per --username to RESEND_QUEUE_URL, and one per line of --file to RESEND_BULK_QUEUE_URL when\n" +
				"that is set (to RESEND_QUEUE_URL otherwise, or with --interactive); prints each message id.",
			run: func(ctx context.Context, args []string, io IO, _ Build) error { return enqueueCommand(ctx, args, io) }},
		{name: "dlq stats", synopsis: "worker dlq stats [--json] [--sample N] [flags]", aws: true,
			summary: "counts of dead jobs by ErrorCode and FailureKind; changes nothing",
			about: "Counts the dead jobs on RESEND_DLQ_URL (from SQS's queue attributes) and breaks a bounded sample of them\n" +
				"down by ErrorCode and FailureKind (the output says how many it sampled); changes nothing.",
			run: func(ctx context.Context, args []string, io IO, _ Build) error {
				return dlqCommand(ctx, append([]string{"stats"}, args...), io)
			}},
		{name: "dlq list", synopsis: "worker dlq list [--error-code C]... [--older-than D] [--limit N] [--json] [--show-body] [flags]", aws: true,
			summary: "one line per dead job with its reasons; leaves every message visible",
			about: "Lists the dead jobs on RESEND_DLQ_URL, one line each (message id, ErrorCode, FailureKind, FailedAt, Attempts,\n" +
				"ReceiveCount, ReplayCount, the user hash), without bodies unless --show-body; every message it read is visible again at the end.",
			run: func(ctx context.Context, args []string, io IO, _ Build) error {
				return dlqCommand(ctx, append([]string{"list"}, args...), io)
			}},
		{name: "healthcheck", synopsis: "worker healthcheck [flags]",
			summary: "exit 0 if the running worker's admin endpoint reports healthy",
			about:   "Exits 0 if the worker at ADMIN_ADDR answers /healthz with 200 (container health checks in an image with no shell).",
			run: func(ctx context.Context, args []string, io IO, _ Build) error {
				return healthcheckCommand(ctx, args, io)
			}},
		{name: "version", synopsis: "worker version",
			summary: "print the version",
			about:   "Prints the version and commit the binary was built from.",
			run:     versionCommand},
		{name: "help", synopsis: "worker help [SUBCOMMAND]",
			summary: "print this, or a subcommand's usage",
			about:   "Prints the usage of the worker, or of one subcommand, with every flag, its default and its environment variable."},
	}
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "--h"
}

// Main runs the subcommand in args and returns the exit status.
func Main(args []string, io IO, b Build) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	name, rest := "run", args
	switch {
	case len(args) > 0 && isHelpFlag(args[0]):
		name, rest = "help", args[1:]
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		name, rest = args[0], args[1:]
	}
	if name == "help" {
		return helpCommand(ctx, rest, io, b)
	}
	cmd, rest, err := resolve(name, rest)
	if err == nil {
		err = cmd.run(ctx, rest, io, b)
	}
	return exitStatus(cmd, err, io)
}

// resolve finds the command named by name and, for a group such as dlq,
// the subcommand in rest.
func resolve(name string, rest []string) (command, []string, error) {
	if cmd, ok := findCommand(name); ok {
		return cmd, rest, nil
	}
	var subs []string
	for _, c := range commands() {
		if group, sub, ok := strings.Cut(c.name, " "); ok && group == name {
			subs = append(subs, sub)
		}
	}
	if len(subs) == 0 {
		return command{}, nil, &config.Error{Name: "command", Reason: fmt.Sprintf("unknown command %q (see worker help)", name)}
	}
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		if cmd, ok := findCommand(name + " " + rest[0]); ok {
			return cmd, rest[1:], nil
		}
		return command{}, nil, &config.Error{Name: "command", Reason: fmt.Sprintf("unknown command \"%s %s\": worker %s takes %s (see worker help %s)", name, rest[0], name, strings.Join(subs, ", "), name)}
	}
	if len(rest) > 0 && isHelpFlag(rest[0]) {
		return command{name: name}, nil, &config.Help{}
	}
	return command{}, nil, &config.Error{Name: "command", Reason: fmt.Sprintf("worker %s needs a subcommand: %s (see worker help %s)", name, strings.Join(subs, ", "), name)}
}

// helpCommand is `worker help [SUBCOMMAND...]`: the overview, or the
// subcommand's own help (as SUBCOMMAND --help).
func helpCommand(ctx context.Context, args []string, io IO, b Build) int {
	if len(args) == 0 {
		fmt.Fprint(io.Stdout, overview(ctx, b))
		return ExitOK
	}
	if isHelpFlag(args[0]) {
		help, _ := findCommand("help")
		return exitStatus(help, &config.Help{}, io)
	}
	cmd, rest, err := resolve(args[0], append(args[1:], "--help"))
	switch {
	case err != nil:
	case cmd.run == nil: // worker help help
		if len(rest) > 1 {
			err = &config.Error{Name: "arguments", Reason: fmt.Sprintf("unexpected %q (see worker help)", rest[0])}
		} else {
			err = &config.Help{}
		}
	default:
		err = cmd.run(ctx, rest, io, b)
	}
	return exitStatus(cmd, err, io)
}

// overview is `worker help`: the subcommands, the exit statuses, then every
// subcommand's usage.
func overview(ctx context.Context, b Build) string {
	var s strings.Builder
	s.WriteString("worker drains SQS jobs \"resend the Cognito confirmation code to this user\" into Cognito's\n" +
		"ResendConfirmationCode, retries, dead-letters with reasons and replays the DLQ.\n\n" +
		"usage: worker [SUBCOMMAND] [flags]\n\nsubcommands:\n")
	tw := tabwriter.NewWriter(&s, 0, 0, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	s.WriteString("\nexit status: 0 after a clean run or shutdown; 2 for bad configuration or usage (one line on\n" +
		"stderr naming the variable or flag); 1 for anything else.\n" +
		"Settings are environment variables; a flag of the same meaning overrides one, never replaces it.\n" +
		"Each subcommand reads and requires only what it uses. FIFO queues (.fifo) are refused.\n")
	for _, c := range commands() {
		if c.run == nil {
			continue
		}
		var out bytes.Buffer
		if err := c.run(ctx, []string{"--help"}, IO{Stdout: &out, Stderr: &out, Env: func(string) (string, bool) { return "", false }}, b); err != nil {
			var h *config.Help
			if errors.As(err, &h) {
				s.WriteString("\n" + strings.Repeat("-", 72) + "\n")
				s.WriteString(helpPage(c, h.Usage))
			}
		}
	}
	return s.String()
}

// helpPage is a subcommand's help: usage line, what it does, its flags and
// settings.
func helpPage(c command, flags string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "usage: %s\n\n%s\n", c.synopsis, c.about)
	if c.synopsis == "" { // a group such as dlq
		s.Reset()
		fmt.Fprintf(&s, "usage: worker %s SUBCOMMAND [flags]\n\nsubcommands:\n", c.name)
		for _, sub := range commands() {
			if group, _, ok := strings.Cut(sub.name, " "); ok && group == c.name {
				fmt.Fprintf(&s, "  %s: %s\n", sub.synopsis, sub.summary)
			}
		}
		fmt.Fprintf(&s, "\nworker help %s SUBCOMMAND prints a subcommand's flags.\n", c.name)
	}
	if flags != "" {
		s.WriteString("\n" + flags)
	}
	if c.aws {
		s.WriteString("\nAWS settings come from the SDK's own chain: AWS_REGION, credentials (environment, shared\n" +
			"config, ECS task role), AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SQS")
		if c.name == "run" {
			s.WriteString(", AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
		}
		s.WriteString(".\n")
	}
	return s.String()
}

// exitStatus prints err as the contract says and returns the exit status:
// help on stdout and 0; a configuration or usage error on one stderr line
// and 2; anything else on one stderr line and 1.
func exitStatus(cmd command, err error, io IO) int {
	if err == nil {
		return ExitOK
	}
	var h *config.Help
	if errors.As(err, &h) {
		fmt.Fprint(io.Stdout, helpPage(cmd, h.Usage))
		return ExitOK
	}
	fmt.Fprintln(io.Stderr, "worker: "+strings.ReplaceAll(err.Error(), "\n", " "))
	if errors.Is(err, config.ErrUsage) {
		return ExitUsage
	}
	return ExitError
}

// newFlagSet returns a FlagSet for a subcommand; config.Load and
// config.Parse report its errors and help.
func newFlagSet(name string, _ io.Writer) *flag.FlagSet {
	return flag.NewFlagSet(name, flag.ContinueOnError)
}

// versionCommand is `worker version`.
func versionCommand(_ context.Context, args []string, io IO, b Build) error {
	if err := config.Parse(newFlagSet("version", io.Stderr), args); err != nil {
		return err
	}
	fmt.Fprintf(io.Stdout, "worker %s (commit %s)\n", b.Version, b.Commit)
	return nil
}

// healthcheckCommand GETs the local admin endpoint's /healthz.
func healthcheckCommand(ctx context.Context, args []string, io IO) error {
	fs := newFlagSet("healthcheck", io.Stderr)
	cfg, err := config.Load(fs, args, io.Env, config.NeedNone)
	if err != nil {
		return err
	}
	if cfg.AdminAddr == "" {
		return &config.Error{Name: "ADMIN_ADDR", Reason: "is empty: the admin endpoint is disabled, nothing to check"}
	}
	host, port, ok := strings.Cut(cfg.AdminAddr, ":")
	if !ok {
		return &config.Error{Name: "ADMIN_ADDR", Reason: fmt.Sprintf("%q has no port", cfg.AdminAddr)}
	}
	if host == "" || host == "0.0.0.0" || host == "[::]" {
		host = "127.0.0.1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+":"+port+"/healthz", nil)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 3e9}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %s", resp.Status)
	}
	return nil
}

// lookupEnv is the environment of the binary.
func lookupEnv(name string) (string, bool) { return os.LookupEnv(name) }

// OSIO is the process's own standard streams and environment.
func OSIO() IO { return IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Env: lookupEnv} }

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
