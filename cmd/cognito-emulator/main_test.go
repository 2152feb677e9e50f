package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resend-worker/resend-worker/internal/devenv"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseArgs(t *testing.T) {
	cfg, err := parseArgs(nil, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg != (config{addr: ":9229", resendLimit: 5}) {
		t.Errorf("defaults = %+v", cfg)
	}

	env := envOf(map[string]string{"EMU_ADDR": ":1", "EMU_QUOTA": "2.5", "EMU_LATENCY": "20ms", "EMU_RESEND_LIMIT": "0", "EMU_SEED": "s.json"})
	cfg, err = parseArgs(nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg != (config{addr: ":1", quota: 2.5, latency: 20 * time.Millisecond, resendLimit: 0, seed: "s.json"}) {
		t.Errorf("from env = %+v", cfg)
	}
	cfg, err = parseArgs([]string{"-addr", ":2", "-quota", "7", "-latency", "1s", "-resend-limit", "3", "-seed", "x.json"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg != (config{addr: ":2", quota: 7, latency: time.Second, resendLimit: 3, seed: "x.json"}) {
		t.Errorf("flags over env = %+v", cfg)
	}
}

func TestBadFlagsExit2WithOneLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"-nope"}, nil},
		{[]string{"-quota", "abc"}, nil},
		{[]string{"-quota", "-1"}, nil},
		{[]string{"-latency", "-1s"}, nil},
		{[]string{"-resend-limit", "-2"}, nil},
		{[]string{"extra"}, nil},
		{nil, map[string]string{"EMU_QUOTA": "lots"}},
		{nil, map[string]string{"EMU_LATENCY": "5"}},
		{nil, map[string]string{"EMU_RESEND_LIMIT": "x"}},
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, envOf(tc.env), &stderr); code != 2 {
			t.Errorf("%v %v: exit %d, want 2", tc.args, tc.env, code)
		}
		if out := stderr.String(); strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "cognito-emulator: ") {
			t.Errorf("%v %v: stderr %q, want one line", tc.args, tc.env, out)
		}
	}
}

func TestHealthcheck(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_emu/health" {
			_, _ = w.Write([]byte("ok"))
			return
		}
		http.NotFound(w, r)
	}))
	addr := strings.TrimPrefix(ts.URL, "http://")
	_, port, _ := net.SplitHostPort(addr)
	for _, a := range []string{addr, ":" + port, "0.0.0.0:" + port} {
		if code := run([]string{"-healthcheck", "-addr", a}, envOf(nil), io.Discard); code != 0 {
			t.Errorf("healthcheck %s = %d, want 0", a, code)
		}
	}
	ts.Close()
	var stderr bytes.Buffer
	if code := run([]string{"-healthcheck", "-addr", addr}, envOf(nil), &stderr); code != 1 {
		t.Errorf("healthcheck of a closed server = %d, want 1", code)
	}
	if strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("stderr = %q", stderr.String())
	}
}

func TestServeSeedLogAndShutdown(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "seed.json")
	spec := `{"pools":[{"id":"us-east-1_demo","name":"demo","clients":[{"clientId":"democlient"}],
		"users":[{"username":"alice","email":"alice@example.com"}]}]}`
	if err := os.WriteFile(seed, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs devenv.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	srv, err := newServer(config{seed: seed, resendLimit: 5}, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, srv, log) }()

	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/",
		strings.NewReader(`{"ClientId":"democlient","Username":"alice"}`))
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.ResendConfirmationCode")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("seeded resend = %d", resp.StatusCode)
	}
	if code := run([]string{"-healthcheck", "-addr", ln.Addr().String()}, envOf(nil), io.Discard); code != 0 {
		t.Errorf("healthcheck = %d", code)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no shutdown")
	}
	out := logs.String()
	if !strings.Contains(out, "op=ResendConfirmationCode code=OK status=200") || strings.Contains(out, "alice") {
		t.Errorf("logs:\n%s", out)
	}
}

func TestBadSeedFile(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "seed.json")
	_ = os.WriteFile(seed, []byte(`{"pools":[{"id":"no-underscore"}]}`), 0o600)
	if _, err := newServer(config{seed: seed}, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Error("invalid seed accepted")
	}
	if _, err := newServer(config{seed: seed + ".missing"}, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Error("missing seed file accepted")
	}
}
