package dlq

import (
	"testing"
	"time"
)

// A pass ends before its hold expires, with a margin to release what it
// holds, and before it holds more than the bound.
func TestPassOver(t *testing.T) {
	tests := []struct {
		hold     time.Duration
		wantPass time.Duration
	}{
		{ScanHold, 9 * time.Minute},
		{30 * time.Second, 25 * time.Second},
		{time.Second, 5 * time.Second}, // raised to 10 s
	}
	for _, tt := range tests {
		l := ScanLimits{Hold: tt.hold}.withDefaults()
		if got := l.passTime(); got != tt.wantPass {
			t.Errorf("hold %v: pass time %v, want %v", tt.hold, got, tt.wantPass)
		}
		if l.passTime() >= l.Hold {
			t.Errorf("hold %v: a pass may outlast its hold", tt.hold)
		}
	}

	clock := time.Unix(0, 0)
	s := newScanner(nil, "q", ScanLimits{Hold: time.Minute, MaxHeld: 25, Clock: func() time.Time { return clock }})
	if r, _ := s.passOver(); r != "" {
		t.Errorf("a fresh pass is over: %s", r)
	}
	clock = clock.Add(53 * time.Second)
	if r, _ := s.passOver(); r != "" {
		t.Errorf("over after 53 s of a 1 min hold: %s", r)
	}
	clock = clock.Add(time.Second)
	if r, _ := s.passOver(); r == "" {
		t.Error("not over 54 s into a 1 min hold")
	}
	s.passStart = clock
	for i := range 16 {
		s.held[string(rune('a'+i))] = true
	}
	if r, _ := s.passOver(); r == "" {
		t.Error("not over holding 16 of 25 with a batch of 10 to come")
	}
}
