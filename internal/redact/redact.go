// Package redact keeps personal data out of logs and dead-letter attributes:
// a keyed hash stands for a username, and free text is scrubbed of the
// username, email addresses and phone numbers.
package redact

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Hasher turns usernames into stable, unguessable tokens for logs.
type Hasher struct{ key []byte }

// NewHasher returns a Hasher with key; an empty key draws a random one, so
// tokens correlate within one process only.
func NewHasher(key []byte) *Hasher {
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			panic("redact: no randomness: " + err.Error())
		}
	}
	return &Hasher{key: key}
}

// User is the first 16 hex digits of HMAC-SHA256(key, username).
func (h *Hasher) User(username string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(username))
	return hex.EncodeToString(m.Sum(nil))[:16]
}

var (
	emailRe = regexp.MustCompile(`[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+`)
	phoneRe = regexp.MustCompile(`\+?\d[\d\s().-]{6,}\d`)
)

// Text returns s without any of secrets (the username, the client secret…),
// email address or phone number, cut to at most max characters (0: no cut).
func Text(s string, max int, secrets ...string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	s = emailRe.ReplaceAllString(s, "[email]")
	s = phoneRe.ReplaceAllString(s, "[phone]")
	if max > 0 && utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max-1]) + "…"
	}
	return s
}
