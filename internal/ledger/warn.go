package ledger

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// Warner logs a failed ledger request at most once per Interval, with how
// many it left out since the last line: when the table is down every job
// would otherwise log.
type Warner struct {
	Log      *zap.Logger
	Interval time.Duration // default 30s
	Now      func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// Warn is a DynamoConfig.OnError.
func (w *Warner) Warn(op string, err error) {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	interval := w.Interval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	w.mu.Lock()
	t := now()
	if !w.last.IsZero() && t.Sub(w.last) < interval {
		w.suppressed++
		w.mu.Unlock()
		return
	}
	n := w.suppressed
	w.last, w.suppressed = t, 0
	w.mu.Unlock()
	w.Log.Warn("ledger table unreachable: jobs proceed without the fleet's claims",
		zap.String("op", op), zap.Error(err), zap.Int("suppressed", n), zap.Duration("interval", interval))
}
