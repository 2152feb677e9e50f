// Command cognito-emulator serves a local stand-in for Amazon Cognito user
// pools (package cognitoemu) that the real AWS SDKs can talk to, with the
// test controls under /_emu/.
//
// Usage:
//
//	cognito-emulator [-addr :9229] [-quota 0] [-latency 0s] [-resend-limit 5] [-seed FILE]
//	cognito-emulator -healthcheck [-addr :9229]
//
// Every flag falls back to an environment variable: EMU_ADDR, EMU_QUOTA,
// EMU_LATENCY, EMU_RESEND_LIMIT, EMU_SEED. It logs one line per request to
// stderr (operation, outcome, duration; never usernames) and shuts down
// cleanly on SIGTERM or SIGINT. Bad flags exit 2; -healthcheck exits 0 when
// the emulator at -addr answers /_emu/health, else 1.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
)

const name = "cognito-emulator"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

// config is the parsed command line.
type config struct {
	addr        string
	quota       float64
	latency     time.Duration
	resendLimit int // 0 = disabled
	seed        string
	healthcheck bool
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := parseArgs(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	if cfg.healthcheck {
		if err := healthcheck(cfg.addr); err != nil {
			fmt.Fprintf(stderr, "%s: healthcheck: %v\n", name, err)
			return 1
		}
		return 0
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	srv, err := newServer(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := serve(ctx, ln, srv, log); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// parseArgs reads the flags, each defaulting to its environment variable.
func parseArgs(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var cfg config
	var err error
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	if cfg.quota, err = strconv.ParseFloat(env("EMU_QUOTA", "0"), 64); err != nil {
		return cfg, fmt.Errorf("EMU_QUOTA: %q is not a number", getenv("EMU_QUOTA"))
	}
	if cfg.latency, err = time.ParseDuration(env("EMU_LATENCY", "0s")); err != nil {
		return cfg, fmt.Errorf("EMU_LATENCY: %q is not a duration", getenv("EMU_LATENCY"))
	}
	if cfg.resendLimit, err = strconv.Atoi(env("EMU_RESEND_LIMIT", "5")); err != nil {
		return cfg, fmt.Errorf("EMU_RESEND_LIMIT: %q is not an integer", getenv("EMU_RESEND_LIMIT"))
	}

	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported on one line by run
	fs.StringVar(&cfg.addr, "addr", env("EMU_ADDR", ":9229"), "listen address (EMU_ADDR)")
	fs.Float64Var(&cfg.quota, "quota", cfg.quota, "ResendConfirmationCode requests per second, 0 = unlimited (EMU_QUOTA)")
	fs.DurationVar(&cfg.latency, "latency", cfg.latency, "latency added to each ResendConfirmationCode (EMU_LATENCY)")
	fs.IntVar(&cfg.resendLimit, "resend-limit", cfg.resendLimit, "resends per user per hour, 0 = no limit (EMU_RESEND_LIMIT)")
	fs.StringVar(&cfg.seed, "seed", env("EMU_SEED", ""), "JSON SeedSpec file applied at start (EMU_SEED)")
	fs.BoolVar(&cfg.healthcheck, "healthcheck", false, "check the emulator at -addr is healthy and exit 0 or 1")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
		}
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.addr == "":
		return cfg, errors.New("-addr must not be empty")
	case cfg.quota < 0 || math.IsNaN(cfg.quota) || math.IsInf(cfg.quota, 0):
		return cfg, errors.New("-quota must be a finite number >= 0")
	case cfg.latency < 0:
		return cfg, errors.New("-latency must not be negative")
	case cfg.resendLimit < 0:
		return cfg, errors.New("-resend-limit must not be negative")
	}
	return cfg, nil
}

// newServer builds the emulator and applies the seed file.
func newServer(cfg config, log *slog.Logger) (*cognitoemu.Server, error) {
	limit := cfg.resendLimit
	if limit == 0 {
		limit = -1 // Options: negative disables, 0 means the default
	}
	s := cognitoemu.New(cognitoemu.Options{
		Quota:              cfg.quota,
		Latency:            cfg.latency,
		ResendLimitPerHour: limit,
		OnRequest: func(i cognitoemu.RequestInfo) {
			log.Info("request", "op", i.Op, "code", i.Code, "status", i.Status, "dur", i.Duration)
		},
	})
	if cfg.seed == "" {
		return s, nil
	}
	raw, err := os.ReadFile(cfg.seed)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	var spec cognitoemu.SeedSpec
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return nil, fmt.Errorf("seed %s: %w", cfg.seed, err)
	}
	if err := s.Seed(spec); err != nil {
		return nil, fmt.Errorf("seed %s: %w", cfg.seed, err)
	}
	log.Info("seeded", "file", cfg.seed, "pools", len(spec.Pools))
	return s, nil
}

// serve serves h on ln until ctx is done, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// healthcheck GETs /_emu/health from the emulator listening on addr,
// reaching a wildcard address through the loopback interface.
func healthcheck(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + "/_emu/health")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
