// Package cooldown remembers, for a window, which users this process has just
// sent a code to, so that a second job for them completes without a call.
package cooldown

import (
	"sync"
	"time"
)

// Set is a set of keys that expire after a window. The zero window disables
// it. It is safe for concurrent use.
type Set struct {
	window time.Duration
	now    func() time.Time

	mu        sync.Mutex
	seen      map[string]time.Time
	lastPrune time.Time
}

// New returns a Set with the given window; now may be nil for time.Now.
func New(window time.Duration, now func() time.Time) *Set {
	if now == nil {
		now = time.Now
	}
	return &Set{window: window, now: now, seen: map[string]time.Time{}}
}

// Recent reports whether key was marked within the window.
func (s *Set) Recent(key string) bool {
	if s.window <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.seen[key]
	return ok && s.now().Sub(at) < s.window
}

// Mark records key now, and drops expired keys from time to time.
func (s *Set) Mark(key string) {
	if s.window <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.seen[key] = now
	if now.Sub(s.lastPrune) >= s.window {
		for k, at := range s.seen {
			if now.Sub(at) >= s.window {
				delete(s.seen, k)
			}
		}
		s.lastPrune = now
	}
}

// Len is the number of keys held, expired ones included until pruned.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}
