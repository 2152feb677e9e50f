package dlq

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/resend-worker/resend-worker/internal/sqsbatch"
)

// QueueAPI is what scanning and replaying a DLQ needs from SQS.
type QueueAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Entry is a dead-lettered message as read from the DLQ.
type Entry struct {
	MessageID       string
	ReceiptHandle   string
	Body            string
	Attributes      map[string]types.MessageAttributeValue
	ErrorCode       string    // "" if the message carries none (redriven by SQS itself)
	FailureKind     string    // likewise
	SourceMessageID string    // the job queue's message id, as the worker logged it
	FailedAt        time.Time // zero if absent or unparsable
	Attempts        int       // -1 if absent
	ReceiveCount    int       // the dead-lettered copy's attribute; -1 if absent
	DLQReceives     int       // ApproximateReceiveCount in the DLQ
	// ReplayCount is the message's ReplayCount when ReplayTrusted; a value
	// the worker cannot have written (see ParseReplayCount) leaves it 0
	// and ReplayTrusted false, and RawReplayCount says what it was.
	ReplayCount    int
	ReplayTrusted  bool
	RawReplayCount string
}

// MaxReplayCount is the largest ReplayCount replay trusts.
const MaxReplayCount = 1_000_000

var wholeNumber = regexp.MustCompile(`^[0-9]{1,7}$`)

// ParseReplayCount reads a ReplayCount attribute: absent ("") is 0; only a
// whole number from 0 to MaxReplayCount, in plain digits, is trusted.
// Anything else (negative, larger, "1.0", "1e3", garbage) was not written by
// the worker: ok is false and replay counts it as over any --max-replays.
func ParseReplayCount(v string) (n int, ok bool) {
	if v == "" {
		return 0, true
	}
	if !wholeNumber.MatchString(v) {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n > MaxReplayCount {
		return 0, false
	}
	return n, true
}

func toEntry(m types.Message) Entry {
	a := m.MessageAttributes
	e := Entry{
		MessageID:       aws.ToString(m.MessageId),
		ReceiptHandle:   aws.ToString(m.ReceiptHandle),
		Body:            aws.ToString(m.Body),
		Attributes:      a,
		ErrorCode:       stringValue(a, AttrErrorCode),
		FailureKind:     stringValue(a, AttrFailureKind),
		SourceMessageID: stringValue(a, AttrSourceMessageID),
		Attempts:        intValue(stringValue(a, AttrAttempts)),
		ReceiveCount:    intValue(stringValue(a, AttrReceiveCount)),
		DLQReceives:     intValue(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]),
		RawReplayCount:  stringValue(a, AttrReplayCount),
	}
	if t, err := time.Parse(time.RFC3339, stringValue(a, AttrFailedAt)); err == nil {
		e.FailedAt = t
	}
	e.ReplayCount, e.ReplayTrusted = ParseReplayCount(e.RawReplayCount)
	return e
}

func intValue(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

func stringValue(attrs map[string]types.MessageAttributeValue, name string) string {
	if a, ok := attrs[name]; ok {
		return aws.ToString(a.StringValue)
	}
	return ""
}

// Scan bounds. A scan hides what it reads (so that one pass sees each
// message once) and must give it back before the hold runs out and before
// SQS's limit of 120,000 messages in flight per queue.
const (
	// ScanHold is the visibility timeout a scan asks for on receive.
	ScanHold = 10 * time.Minute
	// DefaultMaxHeld is the most messages a scan holds at once.
	DefaultMaxHeld = 100_000
)

// ScanLimits bound a scan; zero fields take the defaults.
type ScanLimits struct {
	Hold    time.Duration // visibility of what a pass reads; default ScanHold, at least 10s
	MaxHeld int           // most messages held at once; default DefaultMaxHeld
	// Clock is the time (default time.Now); a test's fake SQS may share it.
	Clock func() time.Time
}

func (l ScanLimits) withDefaults() ScanLimits {
	if l.Hold <= 0 {
		l.Hold = ScanHold
	}
	l.Hold = max(l.Hold, 10*time.Second)
	if l.MaxHeld <= 0 {
		l.MaxHeld = DefaultMaxHeld
	}
	if l.Clock == nil {
		l.Clock = time.Now
	}
	return l
}

// passTime is how long a pass may read: it ends with a margin (a tenth of
// the hold, at least 5 s) to release what it holds before the hold expires.
func (l ScanLimits) passTime() time.Duration { return l.Hold - max(l.Hold/10, 5*time.Second) }

// scanner reads a queue batch by batch in passes, holding (by receipt
// handle, bodies are not kept) what it read until it deletes or releases it.
type scanner struct {
	api      QueueAPI
	queueURL string
	limits   ScanLimits

	held      map[string]bool // receipt handles read and neither deleted nor released
	peak      int
	passStart time.Time
	empties   int
	requests  atomic.Int64 // SQS calls made
}

func newScanner(api QueueAPI, queueURL string, l ScanLimits) *scanner {
	l = l.withDefaults()
	return &scanner{api: api, queueURL: queueURL, limits: l, held: map[string]bool{}, passStart: l.Clock()}
}

// passOver reports why the current pass must end: "" while it may go on.
// full says the bound of messages held is reached.
func (s *scanner) passOver() (why string, full bool) {
	switch {
	case len(s.held)+sqsbatch.MaxEntries > s.limits.MaxHeld:
		return fmt.Sprintf("holding %d messages, the bound of %d", len(s.held), s.limits.MaxHeld), true
	case s.limits.Clock().Sub(s.passStart) >= s.limits.passTime():
		return fmt.Sprintf("pass time %s used (the hold is %s)", s.limits.passTime().Round(time.Second), s.limits.Hold), false
	}
	return "", false
}

// next returns the next batch, or nil when the queue has nothing more to
// give (two empty receives in a row).
func (s *scanner) next(ctx context.Context) ([]Entry, error) {
	for s.empties < 2 {
		s.requests.Add(1)
		out, err := s.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(s.queueURL),
			MaxNumberOfMessages:         sqsbatch.MaxEntries,
			WaitTimeSeconds:             1,
			VisibilityTimeout:           int32(s.limits.Hold / time.Second),
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			return nil, fmt.Errorf("receive from %s: %w", s.queueURL, err)
		}
		if len(out.Messages) == 0 {
			s.empties++
			continue
		}
		s.empties = 0
		batch := make([]Entry, len(out.Messages))
		for i, m := range out.Messages {
			batch[i] = toEntry(m)
			s.held[batch[i].ReceiptHandle] = true
		}
		s.peak = max(s.peak, len(s.held))
		return batch, nil
	}
	return nil, nil
}

// forget drops a deleted message from the held set.
func (s *scanner) forget(receiptHandle string) { delete(s.held, receiptHandle) }

// counted wraps op so that each request counts in s.requests.
func counted[E any](s *scanner, op sqsbatch.Op[E]) sqsbatch.Op[E] {
	call := op.Call
	op.Call = func(ctx context.Context, es []E) (sqsbatch.Result, error) {
		s.requests.Add(1)
		return call(ctx, es)
	}
	return op
}

// release makes every held message visible again at once and starts a new
// pass. It uses its own context so that an interrupted scan still gives its
// messages back.
func (s *scanner) release() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, 0, len(s.held))
	for h := range s.held {
		entries = append(entries, types.ChangeMessageVisibilityBatchRequestEntry{ReceiptHandle: aws.String(h), VisibilityTimeout: 0})
	}
	s.held = map[string]bool{}
	s.passStart, s.empties = s.limits.Clock(), 0
	failed := 0
	var firstErr error
	for _, o := range sqsbatch.Do(ctx, counted(s, sqsbatch.ChangeVisibility(s.api, s.queueURL)), entries, sqsbatch.Config{Tries: 3, Parallel: 2}) {
		if o.Err != nil {
			failed++
			if firstErr == nil {
				firstErr = o.Err
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("release: %d messages not released (they become visible after %s): %w", failed, s.limits.Hold, firstErr)
	}
	return nil
}

func over(s *scanner) bool { why, _ := s.passOver(); return why != "" }
