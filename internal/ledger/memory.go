package ledger

import (
	"context"
	"sync"
	"time"
)

// Memory is the in-process ledger: claims and sent-marks of this process
// only. A second claim of a user held by a job of this process waits for
// that job's outcome: AlreadySent after a send, Claimed after a release. It
// is safe for concurrent use.
type Memory struct {
	window time.Duration
	now    clock

	mu        sync.Mutex
	entries   map[Key]*entry
	lastPrune time.Time
}

// entry is a held claim (done open) or a sent-mark (done nil, sentAt set).
type entry struct {
	done   chan struct{} // closed when the claim ends
	sentAt time.Time
}

// NewMemory returns a ledger whose sent-marks last window (USER_COOLDOWN);
// with a window of 0 nothing is deduplicated and claims are not held. now
// may be nil for time.Now.
func NewMemory(window time.Duration, now func() time.Time) *Memory {
	return &Memory{window: window, now: now, entries: map[Key]*entry{}}
}

// Claim takes key, or waits until the job holding it ends.
func (m *Memory) Claim(ctx context.Context, key Key) (Claim, error) {
	if m.window <= 0 {
		return Claim{Status: Claimed, Key: key}, nil
	}
	for {
		m.mu.Lock()
		now := m.now.now()
		e := m.entries[key]
		switch {
		case e == nil || (e.done == nil && now.Sub(e.sentAt) >= m.window):
			m.entries[key] = &entry{done: make(chan struct{})}
			m.pruneLocked(now)
			m.mu.Unlock()
			return Claim{Status: Claimed, Key: key}, nil
		case e.done == nil:
			m.mu.Unlock()
			return Claim{Status: AlreadySent, Key: key}, nil
		}
		done := e.done
		m.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return Claim{Key: key}, ctx.Err()
		}
	}
}

// Sent turns the claim into a sent-mark and wakes the jobs waiting for it.
func (m *Memory) Sent(_ context.Context, c Claim) {
	m.end(c.Key, true)
}

// Release drops the claim and wakes the jobs waiting for it.
func (m *Memory) Release(_ context.Context, c Claim) {
	m.end(c.Key, false)
}

func (m *Memory) end(key Key, sent bool) {
	if m.window <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[key]
	if e == nil || e.done == nil {
		return // not held (a double end): nothing to do
	}
	close(e.done)
	if sent {
		m.entries[key] = &entry{sentAt: m.now.now()}
	} else {
		delete(m.entries, key)
	}
}

// pruneLocked drops expired sent-marks once per window.
func (m *Memory) pruneLocked(now time.Time) {
	if now.Sub(m.lastPrune) < m.window {
		return
	}
	for k, e := range m.entries {
		if e.done == nil && now.Sub(e.sentAt) >= m.window {
			delete(m.entries, k)
		}
	}
	m.lastPrune = now
}

// Len is the number of claims and sent-marks held, expired ones included
// until pruned.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}
