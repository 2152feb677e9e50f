package logging

import (
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Limited writes at most one line per interval for each kind of error, so
// that an outage (every SQS call failing, every entry of every batch) reads
// as one line per interval instead of a flood. The line that is let through
// after a quiet spell carries `suppressed`: how many lines of that kind were
// left out since the previous one. This is asynq's errLogLimiter idea, per
// kind.
type Limited struct {
	log      *zap.Logger
	interval time.Duration
	now      func() time.Time

	mu    sync.Mutex
	kinds map[string]*limitState
}

type limitState struct {
	last       time.Time
	suppressed int
}

// NewLimited returns a Limited writing to log; interval <= 0 means 10s.
func NewLimited(log *zap.Logger, interval time.Duration) *Limited {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	return &Limited{log: log, interval: interval, now: time.Now, kinds: map[string]*limitState{}}
}

// Warn writes msg at warn level unless a line of this kind was written less
// than an interval ago; it reports whether it wrote.
func (l *Limited) Warn(kind, msg string, fields ...zap.Field) bool {
	return l.write(zapcore.WarnLevel, kind, msg, fields)
}

// Error is Warn at error level.
func (l *Limited) Error(kind, msg string, fields ...zap.Field) bool {
	return l.write(zapcore.ErrorLevel, kind, msg, fields)
}

func (l *Limited) write(lvl zapcore.Level, kind, msg string, fields []zap.Field) bool {
	if !l.log.Core().Enabled(lvl) {
		return false
	}
	l.mu.Lock()
	st := l.kinds[kind]
	if st == nil {
		st = &limitState{}
		l.kinds[kind] = st
	}
	now := l.now()
	if !st.last.IsZero() && now.Sub(st.last) < l.interval {
		st.suppressed++
		l.mu.Unlock()
		return false
	}
	n := st.suppressed
	st.last, st.suppressed = now, 0
	l.mu.Unlock()
	if n > 0 {
		fields = append(fields, zap.Int("suppressed", n))
	}
	if ce := l.log.Check(lvl, msg); ce != nil {
		ce.Write(fields...)
	}
	return true
}

// Flush writes, for each kind with lines left out since its last line, one
// line saying how many (at warn level); call it when the component stops.
func (l *Limited) Flush() {
	l.mu.Lock()
	type left struct {
		kind string
		n    int
	}
	var out []left
	for k, st := range l.kinds {
		if st.suppressed > 0 {
			out = append(out, left{k, st.suppressed})
			st.suppressed = 0
		}
	}
	l.mu.Unlock()
	for _, o := range out {
		l.log.Warn("log lines suppressed", zap.String("kind", o.kind), zap.Int("suppressed", o.n))
	}
}
