package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/resend-worker/resend-worker/internal/metrics"
)

func decode(t *testing.T, b []byte) map[string]metrics.Family {
	t.Helper()
	var l List
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatalf("output is not the JSON list: %v\n%s", err, b)
	}
	m := map[string]metrics.Family{}
	for _, f := range l.Metrics {
		m[f.Name] = f
	}
	return m
}

// The list holds what the wired worker registers: every family of
// metrics.New and the runtime collectors, none of them pending.
func TestListsWhatTheWorkerRegisters(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, ""); err != nil {
		t.Fatal(err)
	}
	got := decode(t, out.Bytes())
	rec := metrics.NewRecorder()
	metrics.New(rec)
	metrics.RegisterRuntime(rec)
	want, err := rec.Families()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		g, ok := got[w.Name]
		if !ok {
			t.Errorf("%s missing", w.Name)
			continue
		}
		if g.Type != w.Type || !slices.Equal(g.Labels, w.Labels) || g.Pending {
			t.Errorf("%s = %+v, want %+v", w.Name, g, w)
		}
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("the runtime collectors are missing")
	}
}

func TestPendingFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pending.txt")
	if err := os.WriteFile(file, []byte("x_test_outage gauge\nresend_jobs_total counter x_test_lane\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(&out, file); err != nil {
		t.Fatal(err)
	}
	got := decode(t, out.Bytes())
	if !got["x_test_outage"].Pending {
		t.Errorf("x_test_outage = %+v, want pending", got["x_test_outage"])
	}
	if j := got["resend_jobs_total"]; !slices.Equal(j.PendingLabels, []string{"x_test_lane"}) || !slices.Contains(j.Labels, "outcome") {
		t.Errorf("resend_jobs_total = %+v", j)
	}

	// A line the code exports already is an error, and so is a missing file.
	if err := os.WriteFile(file, []byte("resend_jobs_total counter outcome\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(&bytes.Buffer{}, file); err == nil {
		t.Error("no error for a pending line the code exports")
	}
	if err := run(&bytes.Buffer{}, filepath.Join(dir, "missing.txt")); err == nil {
		t.Error("no error for a missing pending file")
	}
}

// The repository's pending list must read and merge (a stale line fails).
func TestRepositoryPendingList(t *testing.T) {
	file := filepath.Join("..", "..", "deploy", "metrics-pending.txt")
	if _, err := os.Stat(file); os.IsNotExist(err) {
		t.Skip("no deploy/metrics-pending.txt: nothing is pending")
	}
	if err := run(&bytes.Buffer{}, file); err != nil {
		t.Fatal(err)
	}
}
