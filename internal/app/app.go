// Package app is the worker binary: it parses the subcommand, loads and
// validates configuration, builds the SDK clients from the SDK's default
// chain and wires the pieces into a running worker.
package app

import (
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

const usage = `usage: worker [run] | replay [--dry-run] [--max N] [--error-code CODE]... [--older-than T] [--newer-than T] [--max-replays N] | dlq stats [--json] [--sample N] | dlq list [--error-code C]... [--older-than D] [--limit N] [--json] [--show-body] | enqueue (--username U... | --file F) [--client-metadata k=v]... | healthcheck | version`

// Main runs the subcommand in args and returns the exit status.
func Main(args []string, io IO, b Build) int {
	cmd, rest := "run", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, rest = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var err error
	switch cmd {
	case "run":
		err = runCommand(ctx, rest, io)
	case "enqueue":
		err = enqueueCommand(ctx, rest, io)
	case "replay":
		err = replayCommand(ctx, rest, io)
	case "dlq":
		err = dlqCommand(ctx, rest, io)
	case "healthcheck":
		err = healthcheckCommand(ctx, rest, io)
	case "version":
		fmt.Fprintf(io.Stdout, "worker %s (commit %s)\n", b.Version, b.Commit)
		return ExitOK
	case "help", "-h", "--help":
		fmt.Fprintln(io.Stdout, usage)
		return ExitOK
	default:
		err = &config.Error{Name: "command", Reason: fmt.Sprintf("unknown command %q; %s", cmd, usage)}
	}
	return exitStatus(err, io.Stderr)
}

func exitStatus(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if errors.Is(err, config.ErrUsage) || errors.Is(err, flag.ErrHelp) {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "worker: "+msg)
		}
		return ExitUsage
	}
	fmt.Fprintln(stderr, "worker: "+msg)
	return ExitError
}

// newFlagSet returns a FlagSet whose errors come back to the caller, with
// usage text on stderr.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_ = stderr
	return fs
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
