package app

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	zapobs "go.uber.org/zap/zaptest/observer"

	"github.com/resend-worker/resend-worker/internal/admin"
	"github.com/resend-worker/resend-worker/internal/breaker"
	"github.com/resend-worker/resend-worker/internal/metrics"
	"github.com/resend-worker/resend-worker/internal/ratelimit"
)

// TestOutageSignals: a trip and a recovery of the breaker each give one
// log line (warn with the code and numbers, then info), the gauge and
// readiness follow, and the limits the receivers work with are the
// breaker's while it is down.
func TestOutageSignals(t *testing.T) {
	core, logs := zapobs.New(zap.DebugLevel)
	health := &admin.Health{}
	health.Received(0, nil)
	m := metrics.New(prometheus.NewRegistry())
	brk := breaker.New(breaker.Config{ProbeInterval: time.Millisecond, OnChange: outageSignals(zap.New(core), health, m)})
	lim := ratelimit.New(ratelimit.Config{Max: 20})
	limit := receiveLimit(lim, brk)
	var held atomic.Int64
	gate := receiveGate(brk, &held)

	if got := limit(0); got != 40 {
		t.Fatalf("receive limit while up = %d, want 40 (2 s at 20/s)", got)
	}
	for i := 0; !brk.Down(); i++ {
		p, _ := brk.Allow(context.Background())
		brk.Report(p, breaker.Result{Evidence: breaker.Down, Code: "HTTP503", Job: fmt.Sprint(i % 5)})
	}
	if gauge(m.CognitoOutage) != 1 || health.Ready() || !health.Alive() {
		t.Fatalf("down: gauge %v, ready %v, alive %v; want 1, false, true", gauge(m.CognitoOutage), health.Ready(), health.Alive())
	}
	if got := limit(0); got != 1 {
		t.Errorf("receive limit while down with nothing held = %d, want 1 (the probe's job)", got)
	}
	if got := limit(3); got > 0 {
		t.Errorf("receive limit while down with jobs held = %d, want none", got)
	}
	held.Store(0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := gate(ctx); err != nil {
		t.Fatalf("gate with nothing held and a probe due: %v", err)
	}
	for i := 0; i < 2; i++ {
		p, err := brk.Allow(ctx)
		if err != nil || !p.Probe() {
			t.Fatalf("probe %d: %v %v", i, p, err)
		}
		brk.Report(p, breaker.Result{Evidence: breaker.Up})
	}
	if gauge(m.CognitoOutage) != 0 || !health.Ready() {
		t.Fatalf("back: gauge %v, ready %v; want 0, true", gauge(m.CognitoOutage), health.Ready())
	}
	down := logs.FilterMessage("cognito down: holding jobs, receiving none, probing").All()
	back := logs.FilterMessage("cognito back: resuming").All()
	if len(down) != 1 || len(back) != 1 || logs.Len() != 2 {
		t.Fatalf("%d down, %d back, %d lines in all; want one of each and nothing else", len(down), len(back), logs.Len())
	}
	f := down[0].ContextMap()
	if down[0].Level != zap.WarnLevel || f["error_code"] != "HTTP503" || f["failures"] != int64(10) || f["calls"] != int64(10) {
		t.Errorf("down line %v %v: want warn with the code that tripped it and the numbers", down[0].Level, f)
	}
	if back[0].Level != zap.InfoLevel || back[0].ContextMap()["probes"] != int64(2) {
		t.Errorf("back line %v %v", back[0].Level, back[0].ContextMap())
	}
}

func gauge(g prometheus.Gauge) float64 {
	var d dto.Metric
	if err := g.Write(&d); err != nil {
		return -1
	}
	return d.GetGauge().GetValue()
}
