package admin

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
