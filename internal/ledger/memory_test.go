package ledger_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resend-worker/resend-worker/internal/ledger"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func mustClaim(t *testing.T, l ledger.Ledger, key ledger.Key, want ledger.Status) ledger.Claim {
	t.Helper()
	c, err := l.Claim(context.Background(), key)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if c.Status != want {
		t.Fatalf("Claim = %v, want %v", c.Status, want)
	}
	return c
}

func TestUserKeyHidesTheUsername(t *testing.T) {
	// Known answers, computed apart from this code (Python's hmac and
	// hashlib over "resend-worker ledger\0client\0alice@example.com").
	const (
		plain = "u#03529985f3cd00f7e8d64aa8a6f1b99bc128b5a5e4e7957f3102925f3591d68a"
		keyed = "k#2d887fa263c65d251fc614976b4535fe5d4f29e60062ed4e7718f140fb2a6326"
	)
	if k := ledger.UserKey("client", "", "alice@example.com"); k != plain {
		t.Errorf("UserKey without a secret = %q, want %q", k, plain)
	}
	if k := ledger.UserKey("client", "s3cret", "alice@example.com"); k != keyed {
		t.Errorf("UserKey with a secret = %q, want %q", k, keyed)
	}
	keys := map[ledger.Key]string{}
	for _, c := range []struct{ client, secret, user string }{
		{"client", "", "alice@example.com"},
		{"other", "", "alice@example.com"},
		{"client", "", "bob@example.com"},
		{"client", "s3cret", "alice@example.com"},
		{"client", "rotated", "alice@example.com"},
		{"other", "s3cret", "alice@example.com"},
		{"client", "s3cret", "bob@example.com"},
	} {
		k := ledger.UserKey(c.client, c.secret, c.user)
		if strings.Contains(string(k), c.user) || (c.secret != "" && strings.Contains(string(k), c.secret)) {
			t.Errorf("key %q shows the username or the secret", k)
		}
		if prev, dup := keys[k]; dup {
			t.Errorf("%+v and %s share the key %q", c, prev, k)
		}
		keys[k] = fmt.Sprintf("%+v", c)
	}
}

// The keyed ledger key is never the user's SecretHash (the same HMAC key
// over username+clientId), so the table holds nothing a caller could send
// to Cognito as that user's SecretHash.
func TestUserKeyIsNoSecretHash(t *testing.T) {
	const client, secret, user = "client", "s3cret", "alice@example.com"
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(user + client))
	secretHash := mac.Sum(nil)
	k := ledger.UserKey(client, secret, user)
	if strings.Contains(string(k), hex.EncodeToString(secretHash)) || strings.Contains(string(k), base64.StdEncoding.EncodeToString(secretHash)) {
		t.Errorf("ledger key %q holds the SecretHash", k)
	}
}

func TestMemorySentThenDeduplicatedUntilTheWindowEnds(t *testing.T) {
	clock := newClock()
	m := ledger.NewMemory(time.Minute, clock.Now)
	c := mustClaim(t, m, "a", ledger.Claimed)
	m.Sent(context.Background(), c)
	mustClaim(t, m, "a", ledger.AlreadySent)
	mustClaim(t, m, "b", ledger.Claimed)
	clock.Advance(time.Minute)
	mustClaim(t, m, "a", ledger.Claimed)
}

func TestMemoryReleaseLetsTheNextJobClaim(t *testing.T) {
	m := ledger.NewMemory(time.Minute, nil)
	c := mustClaim(t, m, "a", ledger.Claimed)
	m.Release(context.Background(), c)
	mustClaim(t, m, "a", ledger.Claimed)
}

// A concurrent job for a user held by this process waits for the outcome.
func TestMemoryConcurrentClaimWaitsForTheOutcome(t *testing.T) {
	for _, tc := range []struct {
		name string
		sent bool
		want ledger.Status
	}{{"sent", true, ledger.AlreadySent}, {"released", false, ledger.Claimed}} {
		t.Run(tc.name, func(t *testing.T) {
			m := ledger.NewMemory(time.Minute, nil)
			first := mustClaim(t, m, "a", ledger.Claimed)
			got := make(chan ledger.Status, 1)
			go func() {
				c, err := m.Claim(context.Background(), "a")
				if err != nil {
					t.Error(err)
				}
				got <- c.Status
			}()
			select {
			case s := <-got:
				t.Fatalf("second claim answered %v while the first was held", s)
			case <-time.After(50 * time.Millisecond): // it must still be waiting
			}
			if tc.sent {
				m.Sent(context.Background(), first)
			} else {
				m.Release(context.Background(), first)
			}
			if s := <-got; s != tc.want {
				t.Errorf("waiting claim = %v, want %v", s, tc.want)
			}
		})
	}
}

// Many jobs for one user at once: exactly one claims, the rest see the send.
func TestMemoryOneClaimAmongMany(t *testing.T) {
	m := ledger.NewMemory(time.Minute, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[ledger.Status]int{}
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := m.Claim(context.Background(), "a")
			if err != nil {
				t.Error(err)
				return
			}
			if c.Status == ledger.Claimed {
				m.Sent(context.Background(), c)
			}
			mu.Lock()
			counts[c.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts[ledger.Claimed] != 1 || counts[ledger.AlreadySent] != 49 {
		t.Errorf("claims = %v, want 1 claimed and 49 already sent", counts)
	}
}

func TestMemoryWaitEndsWithContext(t *testing.T) {
	m := ledger.NewMemory(time.Minute, nil)
	mustClaim(t, m, "a", ledger.Claimed)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := m.Claim(ctx, "a"); err == nil {
		t.Error("Claim on a held key returned without error after its context ended")
	}
}

func TestMemoryZeroWindowDeduplicatesNothing(t *testing.T) {
	m := ledger.NewMemory(0, nil)
	c := mustClaim(t, m, "a", ledger.Claimed)
	mustClaim(t, m, "a", ledger.Claimed)
	m.Sent(context.Background(), c)
	mustClaim(t, m, "a", ledger.Claimed)
	if m.Len() != 0 {
		t.Errorf("Len = %d with a zero window, want 0", m.Len())
	}
}

func TestMemoryPrunesExpiredMarks(t *testing.T) {
	clock := newClock()
	m := ledger.NewMemory(time.Minute, clock.Now)
	for _, k := range []ledger.Key{"a", "b", "c"} {
		m.Sent(context.Background(), mustClaim(t, m, k, ledger.Claimed))
	}
	clock.Advance(2 * time.Minute)
	mustClaim(t, m, "d", ledger.Claimed)
	if m.Len() != 1 {
		t.Errorf("Len = %d after the window, want 1 (the new claim)", m.Len())
	}
}
