// Package ledger makes "one code per request" an atomic claim instead of a
// check-then-act: the first job for a user claims it (in progress), a
// concurrent job for the same user waits for that outcome or is told the user
// is busy, and the claim is released on failure or turned into a sent-mark
// lasting USER_COOLDOWN on success.
//
// Two implementations share the Ledger interface: Memory (this process) and
// Dynamo (one DynamoDB table for a whole fleet, COOLDOWN_TABLE). Layered puts
// Memory in front of Dynamo, so that jobs for one user inside one process
// never cost a DynamoDB request and the process keeps deduplicating its own
// jobs while the table cannot be reached.
package ledger

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Key names a user of an app client in the ledger: a hash of the client id
// and the username, never the username itself.
type Key string

// UserKey is the ledger key of username under clientID. With the app
// client's secret it is an HMAC-SHA256 keyed by that secret ("k#" and 64 hex
// digits): every task of a fleet shares the secret, and a table reader who
// lacks it cannot test guessed addresses against the keys. A public client
// (no secret) gets a plain SHA-256 ("u#"): no plaintext username, but an
// address can be confirmed by hashing a guess. The message is
// "resend-worker ledger", client id and username separated by NUL bytes, so
// it never equals the username+clientId message of Cognito's SecretHash
// under the same key: a key in the table is no SecretHash for anyone.
// Rotating the secret changes every key: for one USER_COOLDOWN after the
// change (and while tasks with the old and the new secret run side by side)
// a user may get a second code.
func UserKey(clientID, clientSecret, username string) Key {
	msg := "resend-worker ledger\x00" + clientID + "\x00" + username
	if clientSecret == "" {
		sum := sha256.Sum256([]byte(msg))
		return Key("u#" + hex.EncodeToString(sum[:]))
	}
	mac := hmac.New(sha256.New, []byte(clientSecret))
	mac.Write([]byte(msg))
	return Key("k#" + hex.EncodeToString(mac.Sum(nil)))
}

// Status is the answer to a claim.
type Status int

const (
	// Claimed: this job holds the user; it must end the claim with Sent or
	// Release.
	Claimed Status = iota + 1
	// AlreadySent: the user was sent a code within the cooldown; the job
	// completes without a call (deduplicated).
	AlreadySent
	// Busy: a job of another worker holds the user right now; the job goes
	// back to the queue and is tried again once that one has ended.
	Busy
	// Unguarded: the shared ledger could not be reached; the job proceeds
	// (a missed code is worse than a second one). Sent and Release still
	// apply to whatever part of the ledger did answer.
	Unguarded
)

func (s Status) String() string {
	switch s {
	case Claimed:
		return "claimed"
	case AlreadySent:
		return "already_sent"
	case Busy:
		return "busy"
	case Unguarded:
		return "unguarded"
	}
	return "unknown"
}

// Proceed reports whether the job should call Cognito.
func (s Status) Proceed() bool { return s == Claimed || s == Unguarded }

// Claim is the result of Ledger.Claim; pass it back to Sent or Release.
type Claim struct {
	Status Status
	Key    Key
	shared *held // the DynamoDB claim, nil if none
}

// Ledger is what the processor needs of claims.
type Ledger interface {
	// Claim takes key for one send. Its error is only ctx's: the job was
	// not claimed and should go back to the queue.
	Claim(ctx context.Context, key Key) (Claim, error)
	// Sent turns a proceeding claim into a sent-mark lasting the cooldown.
	// It must be called even when ctx has ended (it does not use ctx's
	// cancellation).
	Sent(ctx context.Context, c Claim)
	// Release gives a proceeding claim up without a sent-mark.
	Release(ctx context.Context, c Claim)
}

// Observer counts ledger requests by purpose (claim, sent, release, renew,
// heartbeat, leave) and result (ok, conditional_failed, error).
type Observer interface {
	Request(op, result string)
}

// Results of Observer.Request.
const (
	ResultOK                = "ok"
	ResultConditionalFailed = "conditional_failed"
	ResultError             = "error"
)

// NopObserver counts nothing.
type NopObserver struct{}

// Request does nothing.
func (NopObserver) Request(string, string) {}

// clock is a time source; nil means time.Now.
type clock func() time.Time

func (c clock) now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}
