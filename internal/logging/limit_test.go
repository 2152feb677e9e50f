package logging

import (
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestLimited(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	l := NewLimited(zap.New(core), time.Minute)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }

	if !l.Warn("delete", "batch failed", zap.String("error_code", "X")) {
		t.Error("first line of a kind not written")
	}
	for range 5 {
		if l.Warn("delete", "batch failed") {
			t.Error("line within the interval written")
		}
	}
	if !l.Error("heartbeat", "renewal failed") {
		t.Error("another kind is limited separately")
	}
	now = now.Add(time.Minute)
	if !l.Warn("delete", "batch failed") {
		t.Error("line after the interval not written")
	}
	l.Warn("delete", "batch failed")
	l.Flush()

	entries := logs.AllUntimed()
	if len(entries) != 4 {
		t.Fatalf("%d lines, want 4: %v", len(entries), entries)
	}
	if _, ok := entries[0].ContextMap()["suppressed"]; ok {
		t.Error("first line says lines were suppressed")
	}
	if got := entries[2].ContextMap()["suppressed"]; got != int64(5) {
		t.Errorf("suppressed = %v, want 5", got)
	}
	if entries[3].Message != "log lines suppressed" || entries[3].ContextMap()["suppressed"] != int64(1) || entries[3].ContextMap()["kind"] != "delete" {
		t.Errorf("flush line %v %v", entries[3].Message, entries[3].ContextMap())
	}
}

func TestLimitedDisabledLevel(t *testing.T) {
	core, logs := observer.New(zap.ErrorLevel)
	l := NewLimited(zap.New(core), time.Minute)
	if l.Warn("k", "m") || logs.Len() != 0 {
		t.Error("wrote below the logger's level")
	}
}
