// Package dlq writes dead-lettered jobs to the dead-letter queue, with the
// reason as message attributes, and moves them back for replay.
package dlq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/resend-worker/resend-worker/internal/sqsbatch"
)

// The contract's attribute names.
const (
	AttrErrorCode       = "ErrorCode"
	AttrErrorMessage    = "ErrorMessage"
	AttrFailureKind     = "FailureKind"
	AttrSourceMessageID = "SourceMessageId"
	AttrFailedAt        = "FailedAt"
	AttrAttempts        = "Attempts"
	AttrReceiveCount    = "ReceiveCount"
	AttrReplayCount     = "ReplayCount"
	// AttrSourceQueue is the lane a job was dead-lettered from, interactive
	// or bulk; written only when the worker runs a bulk lane.
	AttrSourceQueue = "SourceQueue"

	// MaxAttributes is SQS's limit of message attributes per message.
	MaxAttributes = 10
	// MaxErrorMessage is the longest ErrorMessage, in characters.
	MaxErrorMessage = 256
)

// FailureAttributes are the attributes dead-lettering adds and replay removes.
var FailureAttributes = []string{AttrErrorCode, AttrErrorMessage, AttrFailureKind, AttrSourceMessageID, AttrFailedAt, AttrAttempts, AttrReceiveCount, AttrSourceQueue}

// Kind is the contract's FailureKind.
type Kind string

const (
	KindPermanent Kind = "permanent" // Cognito refused for good
	KindExhausted Kind = "exhausted" // still failing transiently on the last allowed receive
	KindInvalid   Kind = "invalid"   // the body is no valid job
)

// Failure is why a job is dead-lettered. ErrorMessage must already be free of
// personal data; it is cut to MaxErrorMessage characters here.
type Failure struct {
	ErrorCode       string
	ErrorMessage    string
	Kind            Kind
	SourceMessageID string
	FailedAt        time.Time
	Attempts        int    // Cognito calls in the receive that dead-lettered the job
	ReceiveCount    int    // SQS's ApproximateReceiveCount then
	SourceQueue     string // the lane (interactive, bulk); "" writes no SourceQueue
}

// SendAPI is the SQS call the Writer needs.
type SendAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// ErrTooLarge: the body is so large that no copy with the contract's seven
// attributes fits the DLQ's MaximumMessageSize, even with ErrorMessage cut
// to one character. No copy is sent. The processor leaves such a job on the
// queue at the longest requeue delay; SQS's own redrive policy (the
// Terraform module's backstop at MAX_RECEIVES+5 receives) then moves it to
// the DLQ unchanged, without attributes (ErrorCode "(none)" in dlq list and
// stats). It happens only when the DLQ's MaximumMessageSize is within about
// 200 bytes of the job queue's, or smaller.
var ErrTooLarge = errors.New("too large for the DLQ even with the failure attributes alone")

// Writer sends dead-lettered copies to one DLQ.
type Writer struct {
	API    SendAPI
	DLQURL string
	// MaxSize is the DLQ's MaximumMessageSize in bytes, read at start
	// (sqsbatch.MaxMessageSize); 0: SQS's default, 262144.
	MaxSize int
}

// Write sends body, byte for byte, with the failure's attributes and as many
// of the original attributes as fit (see Fit). It returns nil only when SQS
// accepted the message; the caller deletes the source message only then.
func (w *Writer) Write(ctx context.Context, body string, original map[string]types.MessageAttributeValue, f Failure) error {
	attrs, err := Fit(body, Attributes(original, f), w.MaxSize)
	if err != nil {
		return fmt.Errorf("dlq: %d-byte body: %w", len(body), err)
	}
	_, err = w.API.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(w.DLQURL),
		MessageBody:       aws.String(body),
		MessageAttributes: attrs,
	})
	if err != nil {
		return fmt.Errorf("dlq: send: %w", err)
	}
	return nil
}

// Reserve is the room a job's body must leave in the DLQ's
// MaximumMessageSize for the failure attributes: the contract's seven take
// about 230 bytes with a one-character ErrorMessage, so a body that leaves
// Reserve has room for a useful ErrorMessage too.
const Reserve = 512

// Fits reports whether a job's body leaves Reserve bytes for the failure
// attributes. A body that does not is no job the worker takes: the processor
// dead-letters it as invalid without calling Cognito; Write then fits that
// copy if the body leaves room for the short attributes, and returns
// ErrTooLarge if not.
func (w *Writer) Fits(body string) bool {
	return len(body)+Reserve <= cmp.Or(w.MaxSize, sqsbatch.DefaultMaxBytes)
}

// Fit makes a dead-lettered copy (body and the attributes Attributes built)
// fit maxSize bytes (0: 262144) as SQS counts them: the original's own
// attributes are dropped first (ReplayCount, the loop guard, last), then
// ErrorMessage is shortened, down to one character. It returns ErrTooLarge
// when even that does not fit. attrs is not changed.
func Fit(body string, attrs map[string]types.MessageAttributeValue, maxSize int) (map[string]types.MessageAttributeValue, error) {
	maxSize = cmp.Or(max(maxSize, 0), sqsbatch.DefaultMaxBytes)
	out := make(map[string]types.MessageAttributeValue, len(attrs))
	var extra []string
	for k, v := range attrs {
		out[k] = v
		if !slices.Contains(FailureAttributes, k) {
			extra = append(extra, k)
		}
	}
	// Drop order: by name, descending, ReplayCount last.
	sort.Slice(extra, func(i, j int) bool {
		if (extra[i] == AttrReplayCount) != (extra[j] == AttrReplayCount) {
			return extra[j] == AttrReplayCount
		}
		return extra[i] > extra[j]
	})
	size := sqsbatch.MessageSize(body, out)
	for _, k := range extra {
		if size <= maxSize {
			return out, nil
		}
		size -= sqsbatch.AttributeSize(k, out[k])
		delete(out, k)
	}
	if size <= maxSize {
		return out, nil
	}
	msg := aws.ToString(out[AttrErrorMessage].StringValue)
	room := len(msg) - (size - maxSize) // bytes ErrorMessage may keep
	if room < 1 {
		return nil, ErrTooLarge
	}
	out[AttrErrorMessage] = stringAttr(truncateBytes(msg, room))
	return out, nil
}

// truncateBytes cuts s to at most n bytes on a character boundary, keeping
// at least one character ("-" if the first is longer than n).
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := 0
	for cut < len(s) {
		_, size := utf8.DecodeRuneInString(s[cut:])
		if cut+size > n {
			break
		}
		cut += size
	}
	if cut == 0 {
		return "-"
	}
	return s[:cut]
}

// Attributes builds the dead-lettered message's attributes: the contract's
// seven (and SourceQueue with a bulk lane), then original ones while the total stays within MaxAttributes
// (ReplayCount first, so replay's loop guard survives; then by name).
func Attributes(original map[string]types.MessageAttributeValue, f Failure) map[string]types.MessageAttributeValue {
	code := sqsText(f.ErrorCode)
	msg := truncate(nonEmpty(sqsText(f.ErrorMessage), code), MaxErrorMessage)
	attrs := map[string]types.MessageAttributeValue{
		AttrErrorCode:       stringAttr(nonEmpty(code, "Unknown")),
		AttrErrorMessage:    stringAttr(nonEmpty(msg, "-")),
		AttrFailureKind:     stringAttr(string(f.Kind)),
		AttrSourceMessageID: stringAttr(nonEmpty(sqsText(f.SourceMessageID), "-")),
		AttrFailedAt:        stringAttr(f.FailedAt.UTC().Format(time.RFC3339)),
		AttrAttempts:        NumberAttr(f.Attempts),
		AttrReceiveCount:    NumberAttr(f.ReceiveCount),
	}
	if f.SourceQueue != "" {
		attrs[AttrSourceQueue] = stringAttr(f.SourceQueue)
	}
	names := make([]string, 0, len(original))
	for name := range original {
		if _, taken := attrs[name]; !taken {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == AttrReplayCount) != (names[j] == AttrReplayCount) {
			return names[i] == AttrReplayCount
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		if len(attrs) >= MaxAttributes {
			break
		}
		attrs[name] = original[name]
	}
	return attrs
}

func stringAttr(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

// NumberAttr is an SQS Number attribute holding n.
func NumberAttr(n int) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(n))}
}

func nonEmpty(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// sqsText replaces what SQS refuses in a message (invalid UTF-8, and
// characters outside #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF)
// with U+FFFD: a Cognito message may echo control characters from a job, and
// SQS would refuse the whole dead-lettered copy.
func sqsText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD,
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return utf8.RuneError
	}, s)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
