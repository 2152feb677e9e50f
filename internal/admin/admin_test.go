package admin

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestReadiness(t *testing.T) {
	h := &Health{}
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"})
	reg.MustRegister(c)
	mux := Handler(h, reg)

	steps := []struct {
		do        func()
		wantReady int
	}{
		{func() {}, http.StatusServiceUnavailable},                                 // before any receive
		{func() { h.Received(0, nil) }, http.StatusOK},                             // SQS answered
		{func() { h.Received(0, errors.New("x")) }, http.StatusOK},                 // one failure is noise
		{func() { h.Received(0, errors.New("x")) }, http.StatusOK},                 // two
		{func() { h.Received(0, errors.New("x")) }, http.StatusServiceUnavailable}, // three in a row
		{func() { h.Received(3, nil) }, http.StatusOK},                             // recovered
		{func() { h.CognitoDown(true) }, http.StatusServiceUnavailable},            // Cognito judged down: alive, not ready
		{func() { h.Received(0, nil) }, http.StatusServiceUnavailable},
		{func() { h.CognitoDown(false) }, http.StatusOK},         // back
		{func() { h.Stopping() }, http.StatusServiceUnavailable}, // shutting down
		{func() { h.Received(1, nil) }, http.StatusServiceUnavailable},
	}
	for i, s := range steps {
		s.do()
		if code, _ := get(t, mux, "/readyz"); code != s.wantReady {
			t.Errorf("step %d: /readyz = %d, want %d", i, code, s.wantReady)
		}
		if code, _ := get(t, mux, "/healthz"); code != http.StatusOK {
			t.Errorf("step %d: /healthz = %d, want 200", i, code)
		}
	}
	c.Inc()
	if code, body := get(t, mux, "/metrics"); code != http.StatusOK || !strings.Contains(body, "x_total 1") {
		t.Errorf("/metrics = %d %q", code, body)
	}
}

// TestLiveness: /healthz fails only when a loop that has beaten goes silent
// for longer than StuckAfter; never while stopping.
func TestLiveness(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := &Health{Now: func() time.Time { return now }}
	mux := Handler(h, prometheus.NewRegistry())
	if code, _ := get(t, mux, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d before any loop beat, want 200", code)
	}
	h.Beat("receiver")
	h.Beat("acker")
	now = now.Add(StuckAfter)
	h.Beat("acker")
	if code, _ := get(t, mux, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d at StuckAfter, want 200", code)
	}
	now = now.Add(time.Second)
	code, body := get(t, mux, "/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "receiver silent for 2m1s") || strings.Contains(body, "acker") {
		t.Fatalf("/healthz = %d %q, want 503 naming the receiver only", code, body)
	}
	h.Beat("receiver")
	if code, _ := get(t, mux, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d after the receiver beat again, want 200", code)
	}
	now = now.Add(time.Hour)
	h.Stopping()
	if code, _ := get(t, mux, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d while stopping, want 200", code)
	}
}
