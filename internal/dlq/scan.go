package dlq

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// QueueAPI is what scanning and replaying a DLQ needs from SQS.
type QueueAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

// Entry is a dead-lettered message as read from the DLQ.
type Entry struct {
	MessageID     string
	ReceiptHandle string
	Body          string
	Attributes    map[string]types.MessageAttributeValue
	ErrorCode     string    // "" if the message carries none (redriven by SQS itself)
	FailureKind   string    // likewise
	FailedAt      time.Time // zero if absent or unparsable
	ReplayCount   int
}

// ScanHold is how long a scan keeps the messages it has read invisible, so
// that one pass sees each message once; they are released (visible again at
// once) when the scan ends.
const ScanHold = 10 * time.Minute

// scanner reads a queue message by message, holding what it read.
type scanner struct {
	api      QueueAPI
	queueURL string
	held     []Entry // read and not yet deleted or released
	empties  int
}

// next returns the next batch, or nil when the queue has nothing more to give.
func (s *scanner) next(ctx context.Context) ([]Entry, error) {
	for s.empties < 2 {
		out, err := s.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(s.queueURL),
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             1,
			VisibilityTimeout:           int32(ScanHold / time.Second),
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
		}
		s.held = append(s.held, batch...)
		return batch, nil
	}
	return nil, nil
}

func toEntry(m types.Message) Entry {
	e := Entry{
		MessageID:     aws.ToString(m.MessageId),
		ReceiptHandle: aws.ToString(m.ReceiptHandle),
		Body:          aws.ToString(m.Body),
		Attributes:    m.MessageAttributes,
		ErrorCode:     stringValue(m.MessageAttributes, AttrErrorCode),
		FailureKind:   stringValue(m.MessageAttributes, AttrFailureKind),
	}
	if t, err := time.Parse(time.RFC3339, stringValue(m.MessageAttributes, AttrFailedAt)); err == nil {
		e.FailedAt = t
	}
	if n, err := strconv.Atoi(stringValue(m.MessageAttributes, AttrReplayCount)); err == nil {
		e.ReplayCount = n
	}
	return e
}

func stringValue(attrs map[string]types.MessageAttributeValue, name string) string {
	if a, ok := attrs[name]; ok {
		return aws.ToString(a.StringValue)
	}
	return ""
}

// forget drops entries from the held set (they were deleted).
func (s *scanner) forget(handles map[string]bool) {
	kept := s.held[:0]
	for _, e := range s.held {
		if !handles[e.ReceiptHandle] {
			kept = append(kept, e)
		}
	}
	s.held = kept
}

// release makes every held message visible again at once. It uses its own
// context so that an interrupted scan still gives its messages back.
func (s *scanner) release() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var firstErr error
	for len(s.held) > 0 {
		n := min(len(s.held), 10)
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, n)
		for i, e := range s.held[:n] {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(e.ReceiptHandle), VisibilityTimeout: 0}
		}
		out, err := s.api.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(s.queueURL), Entries: entries})
		if err == nil && len(out.Failed) > 0 {
			err = fmt.Errorf("%d messages not released: %s", len(out.Failed), aws.ToString(out.Failed[0].Code))
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("release: %w (they become visible after %s)", err, ScanHold)
		}
		s.held = s.held[n:]
	}
	return firstErr
}
