package ratelimit

import (
	"math"
	"testing"
	"time"
)

func TestSetMaxScalesTheRateWithTheShare(t *testing.T) {
	now := time.Unix(0, 0)
	var seen float64
	cfg := Tuned(30)
	cfg.Now = func() time.Time { return now }
	cfg.OnChange = func(r float64) { seen = r }
	l := New(cfg)
	l.SetMax(10) // a third of the quota: two more tasks joined
	if l.Max() != 10 || l.Rate() != 10 || seen != 10 {
		t.Errorf("after SetMax(10): max %v, rate %v, gauge %v; want 10", l.Max(), l.Rate(), seen)
	}
	l.Throttled() // another caller of the quota: cut to 9
	cut := l.Rate()
	if cut >= 10 {
		t.Fatalf("rate after a throttle = %v, want below 10", cut)
	}
	l.SetMax(15) // a task left: its share is taken back at once, the cut kept
	if got, want := l.Rate(), cut*1.5; math.Abs(got-want) > 1e-9 || l.Max() != 15 {
		t.Errorf("after SetMax(15): rate %v, max %v; want %v, 15", got, l.Max(), want)
	}
	l.SetMax(0) // ignored
	l.SetMax(math.NaN())
	if l.Max() != 15 {
		t.Errorf("SetMax(0 or NaN) changed the cap to %v", l.Max())
	}
	for range 10000 {
		l.Succeeded()
	}
	if l.Rate() != 15 {
		t.Errorf("rate after successes = %v, want the new cap 15", l.Rate())
	}
}
