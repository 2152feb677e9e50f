package redact_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/resend-worker/resend-worker/internal/redact"
)

func TestText(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		secrets []string
		want    string
	}{
		{name: "nothing to hide", in: "Attempt limit exceeded, please try after some time.", want: "Attempt limit exceeded, please try after some time."},
		{name: "username", in: "User jdoe42 does not exist", secrets: []string{"jdoe42"}, want: "User [redacted] does not exist"},
		{name: "username every time", in: "jdoe42/jdoe42", secrets: []string{"jdoe42"}, want: "[redacted]/[redacted]"},
		{name: "client secret", in: "hash for key s3cr3tK3y failed", secrets: []string{"jdoe", "s3cr3tK3y"}, want: "hash for key [redacted] failed"},
		{name: "empty secret ignored", in: "abc", secrets: []string{""}, want: "abc"},
		{name: "username with regexp characters", in: "user a.b+c(d)* gone", secrets: []string{"a.b+c(d)*"}, want: "user [redacted] gone"},
		{name: "email", in: "Cannot deliver to alice.smith+tag@example.co.uk now", want: "Cannot deliver to [email] now"},
		{name: "email in quotes", in: `Value 'bob@example.com' at 'username'`, want: `Value '[email]' at 'username'`},
		{name: "email username is redacted first", in: "no user alice@example.com", secrets: []string{"alice@example.com"}, want: "no user [redacted]"},
		{name: "phone E.164", in: "SMS to +14155552671 failed", want: "SMS to [phone] failed"},
		{name: "phone with separators", in: "call (415) 555-2671 now", want: "call ([phone] now"},
		{name: "phone with spaces", in: "SMS +44 20 7946 0958 failed", want: "SMS [phone] failed"},
		{name: "short numbers kept", in: "1 validation error; retry in 30 seconds", want: "1 validation error; retry in 30 seconds"},
		{name: "truncated", in: "abcdefghij", max: 5, want: "abcd…"},
		{name: "exactly max kept", in: "abcde", max: 5, want: "abcde"},
		{name: "truncated by characters", in: "éééééé", max: 4, want: "ééé…"},
		{name: "no cut with max 0", in: strings.Repeat("x", 1000), max: 0, want: strings.Repeat("x", 1000)},
		{name: "redacted before the cut", in: "user alice@example.com " + strings.Repeat("z", 50), max: 20, want: "user [email] zzzzzz…"},
		{name: "invalid UTF-8 made valid", in: "bad \xff\xfe byte", want: "bad ? byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redact.Text(tt.in, tt.max, tt.secrets...)
			if got != tt.want {
				t.Fatalf("Text(%q, %d, %q) = %q, want %q", tt.in, tt.max, tt.secrets, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("result %q is not valid UTF-8", got)
			}
			if tt.max > 0 && utf8.RuneCountInString(got) > tt.max {
				t.Errorf("result has %d characters, max %d", utf8.RuneCountInString(got), tt.max)
			}
		})
	}
}

// TestTextNeverLeaks runs realistic Cognito messages through Text with the
// worker's arguments: nothing personal survives.
func TestTextNeverLeaks(t *testing.T) {
	user, secret := "carol+signup@example.org", "1example23456789abcdefghijklmnopqrstuvwxyz0123456789"
	msgs := []string{
		"1 validation error detected: Value '" + user + "' at 'username' failed to satisfy constraint",
		"User " + user + " not found; phone +33612345678 on file",
		"Unable to verify secret hash for client with secret " + secret,
		strings.Repeat("padding ", 40) + user,
	}
	for _, m := range msgs {
		got := redact.Text(m, 256, user, secret)
		for _, leak := range []string{user, secret, "@", "+33612345678", "612345678"} {
			if strings.Contains(got, leak) {
				t.Errorf("Text(%q) = %q still holds %q", m, got, leak)
			}
		}
	}
}

func TestHasher(t *testing.T) {
	hexRe := regexp.MustCompile(`^[0-9a-f]{16}$`)
	h1 := redact.NewHasher([]byte("key-1"))
	h1again := redact.NewHasher([]byte("key-1"))
	h2 := redact.NewHasher([]byte("key-2"))
	users := []string{"alice@example.com", "+14155552671", "bob", "ünïcode", "deadbeef", ""}
	seen := map[string]string{}
	for _, u := range users {
		a := h1.User(u)
		if !hexRe.MatchString(a) {
			t.Errorf("User(%q) = %q, want 16 hex digits", u, a)
		}
		if a != h1.User(u) || a != h1again.User(u) {
			t.Errorf("User(%q) not stable for one key", u)
		}
		if a == h2.User(u) {
			t.Errorf("User(%q) the same under two keys", u)
		}
		if u != "" && strings.Contains(a, u) {
			t.Errorf("User(%q) = %q contains the username", u, a)
		}
		if prev, dup := seen[a]; dup {
			t.Errorf("User(%q) = User(%q) = %q", u, prev, a)
		}
		seen[a] = u
	}
	// Without a key each Hasher draws its own.
	r1, r2 := redact.NewHasher(nil), redact.NewHasher(nil)
	if r1.User("alice") == r2.User("alice") {
		t.Errorf("two random-key Hashers agree")
	}
	if r1.User("alice") != r1.User("alice") {
		t.Errorf("a random-key Hasher is not stable")
	}
}
