package cognitoemu

import (
	"math"
	"time"
)

// tokenBucket enforces a rate with bursts: it holds at most burst tokens,
// gains rate tokens per second, and each allowed call takes one.
// It starts full. A rate of 0 allows everything.
type tokenBucket struct {
	rate   float64 // tokens per second; <= 0 = unlimited
	burst  float64
	tokens float64
	last   time.Time // when tokens was last brought up to date
}

// burstFor is the bucket capacity: burst if set, else a tenth of a second's
// worth of calls, at least one.
func burstFor(rate float64, burst int) int {
	if burst > 0 {
		return burst
	}
	return max(1, int(math.Ceil(rate/10)))
}

// configure sets the rate and capacity and fills the bucket.
func (b *tokenBucket) configure(rate float64, burst int) {
	b.rate = rate
	b.burst = float64(burstFor(rate, burst))
	b.tokens = b.burst
	b.last = time.Time{}
}

// allow takes a token at time now if one is there.
func (b *tokenBucket) allow(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	if !b.last.IsZero() {
		if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
			b.tokens = min(b.burst, b.tokens+elapsed*b.rate)
		}
	}
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
	if b.tokens >= 1-1e-9 { // tolerate float error in the refill
		b.tokens--
		return true
	}
	return false
}
