// Package dlq writes dead-lettered jobs to the dead-letter queue, with the
// reason as message attributes, and moves them back for replay.
package dlq

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
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

// Writer sends dead-lettered copies to one DLQ.
type Writer struct {
	API    SendAPI
	DLQURL string
}

// Write sends body, byte for byte, with the failure's attributes and as many
// of the original attributes as fit. It returns nil only when SQS accepted the
// message; the caller deletes the source message only then.
func (w *Writer) Write(ctx context.Context, body string, original map[string]types.MessageAttributeValue, f Failure) error {
	_, err := w.API.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(w.DLQURL),
		MessageBody:       aws.String(body),
		MessageAttributes: Attributes(original, f),
	})
	if err != nil {
		return fmt.Errorf("dlq: send: %w", err)
	}
	return nil
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
