// Package sqsbatch is the one place that speaks SQS's batch API: it cuts
// entries into requests of at most 10 entries and at most a payload size,
// gives each entry its index in the request as Id, maps per-entry failures
// back to the caller's entries and retries what may still succeed, with a
// doubling pause and a bound on tries. Every batch call of the project goes
// through Do: deletes and visibility changes of the consumer, the
// heartbeat's renewals, the DLQ scan's releases, replay's sends and deletes,
// job enqueueing and the bench.
package sqsbatch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// MaxEntries is SQS's most entries per batch request (and messages per
// receive).
const MaxEntries = 10

// DefaultMaxBytes is SQS's default MaximumMessageSize and the payload limit
// a batch request is kept under when the caller knows no better.
const DefaultMaxBytes = 262144

// The closed set of entry errors; an entry's error matches one of them with
// errors.Is and is an *EntryError (errors.As) with the details.
var (
	// ErrRefused: SQS refused the entry for good (a sender fault such as
	// ReceiptHandleIsInvalid, or an invalid message); it was not retried.
	ErrRefused = errors.New("refused by SQS")
	// ErrFailed: the entry failed on every try (the call failed, SQS's own
	// fault, or no answer for the entry), or ctx ended first.
	ErrFailed = errors.New("failed")
	// ErrTooLarge: the entry alone is larger than a request may carry; it
	// was not sent.
	ErrTooLarge = errors.New("larger than a request may carry")
)

// EntryError is why one entry was not done.
type EntryError struct {
	Op      string // Op.Name
	Code    string // SQS's error code for the entry, or "" when the call itself failed
	Message string
	Tries   int   // requests that carried the entry
	Err     error // the call's error, when the call failed
	kind    error // ErrRefused, ErrFailed or ErrTooLarge
}

func (e *EntryError) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("sqs %s: %v after %d tries: %v", e.Op, e.kind, e.Tries, e.Err)
	case e.Code != "":
		return fmt.Sprintf("sqs %s: %v after %d tries: %s: %s", e.Op, e.kind, e.Tries, e.Code, e.Message)
	}
	return fmt.Sprintf("sqs %s: %v", e.Op, e.kind)
}

// Is matches the error's kind.
func (e *EntryError) Is(target error) bool { return target == e.kind }

// Unwrap is the call's error, if the call failed.
func (e *EntryError) Unwrap() error { return e.Err }

// Result is one batch request's answer: the Ids that succeeded (with the
// MessageId of a send) and the per-entry failures.
type Result struct {
	Successful map[string]string
	Failed     []types.BatchResultErrorEntry
}

// Op is one SQS batch operation over entries of type E.
type Op[E any] struct {
	Name  string                                                 // for errors and logs: "delete", "change_visibility", "send"
	Call  func(ctx context.Context, entries []E) (Result, error) // one request
	SetID func(e *E, id string)
	Size  func(e E) int // payload bytes of an entry; nil: entries are small
}

// Config bounds and paces Do. Zero fields take the documented defaults.
type Config struct {
	MaxBytes    int           // payload per request; default DefaultMaxBytes
	Tries       int           // requests an entry may be part of; default 1 (no retry)
	Pause       time.Duration // before the first retry, doubling per retry; default 200ms
	MaxPause    time.Duration // longest pause; default 5s
	CallTimeout time.Duration // per request; default 10s
	Parallel    int           // requests in flight at once; default 1
	// OnRetry, if set, is told of each round of retries: how many entries
	// are tried again and the first error met.
	OnRetry func(op string, entries int, err error)
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Tries <= 0 {
		c.Tries = 1
	}
	if c.Pause <= 0 {
		c.Pause = 200 * time.Millisecond
	}
	if c.MaxPause <= 0 {
		c.MaxPause = 5 * time.Second
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 10 * time.Second
	}
	if c.Parallel <= 0 {
		c.Parallel = 1
	}
	return c
}

// Outcome is what became of one entry: Err is nil when SQS accepted it.
type Outcome struct {
	MessageID string // of a send
	Err       error  // nil, or an *EntryError
}

// Do sends entries in as few requests as the limits allow and returns one
// Outcome per entry, in order. It retries entries whose request failed or
// that SQS failed on its side, up to cfg.Tries requests each, pausing
// between rounds; it returns when every entry is done or given up, or ctx
// ends (the pause ends with it). Entries' Ids are overwritten.
func Do[E any](ctx context.Context, op Op[E], entries []E, cfg Config) []Outcome {
	cfg = cfg.WithDefaults()
	out := make([]Outcome, len(entries))
	tries := make([]int, len(entries))
	pending := make([]int, 0, len(entries))
	for i, e := range entries {
		if op.Size != nil && op.Size(e) > cfg.MaxBytes {
			out[i].Err = &EntryError{Op: op.Name, kind: ErrTooLarge}
			continue
		}
		pending = append(pending, i)
	}
	pause := cfg.Pause
	for len(pending) > 0 {
		var mu sync.Mutex
		var again []int
		var firstErr error
		sem := make(chan struct{}, cfg.Parallel)
		var wg sync.WaitGroup
		for _, chunk := range Chunks(pending, func(i int) int { return size(op, entries[i]) }, cfg.MaxBytes) {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				retry, err := send(ctx, op, entries, chunk, tries, out, cfg)
				mu.Lock()
				again = append(again, retry...)
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(again) == 0 {
			break
		}
		if cfg.OnRetry != nil {
			cfg.OnRetry(op.Name, len(again), firstErr)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			for _, i := range again {
				out[i].Err = &EntryError{Op: op.Name, Tries: tries[i], Err: ctx.Err(), kind: ErrFailed}
			}
			return out
		case <-t.C:
		}
		pause = min(pause*2, cfg.MaxPause)
		pending = again
	}
	return out
}

func size[E any](op Op[E], e E) int {
	if op.Size == nil {
		return 0
	}
	return op.Size(e)
}

// send makes one request of the entries at idx and records their outcomes;
// it returns the indexes to try again (with tries left) and the error met.
func send[E any](ctx context.Context, op Op[E], entries []E, idx []int, tries []int, out []Outcome, cfg Config) ([]int, error) {
	batch := make([]E, len(idx))
	for k, i := range idx {
		batch[k] = entries[i]
		op.SetID(&batch[k], strconv.Itoa(k))
		tries[i]++
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.CallTimeout)
	res, err := op.Call(cctx, batch)
	cancel()
	var again []int
	fail := func(i int, e *EntryError) {
		e.Op, e.Tries = op.Name, tries[i]
		if errors.Is(e, ErrFailed) && tries[i] < cfg.Tries && ctx.Err() == nil {
			again = append(again, i)
			return
		}
		out[i].Err = e
	}
	if err != nil {
		for _, i := range idx {
			fail(i, &EntryError{Err: err, kind: ErrFailed})
		}
		return again, err
	}
	answered := make([]bool, len(idx))
	for _, f := range res.Failed {
		k, ok := index(f.Id, len(idx))
		if !ok || answered[k] {
			continue
		}
		answered[k] = true
		e := &EntryError{Code: aws.ToString(f.Code), Message: aws.ToString(f.Message), kind: ErrFailed}
		if f.SenderFault && !retryableCode(e.Code) {
			e.kind = ErrRefused
		}
		fail(idx[k], e)
		if err == nil {
			err = e
		}
	}
	for id, msgID := range res.Successful {
		if k, ok := index(&id, len(idx)); ok && !answered[k] {
			answered[k] = true
			out[idx[k]] = Outcome{MessageID: msgID}
		}
	}
	for k, i := range idx {
		if !answered[k] {
			fail(i, &EntryError{Code: "Unanswered", Message: "SQS reported neither success nor failure for this entry", kind: ErrFailed})
		}
	}
	return again, err
}

// retryableCode is a sender-fault code that may still succeed later.
func retryableCode(code string) bool {
	switch code {
	case "InternalError", "ServiceUnavailable", "RequestThrottled", "ThrottlingException":
		return true
	}
	return false
}

func index(id *string, n int) (int, bool) {
	k, err := strconv.Atoi(aws.ToString(id))
	return k, err == nil && k >= 0 && k < n
}

// Chunks cuts items into runs of at most MaxEntries whose sizes sum to at
// most maxBytes, in order. An item larger than maxBytes alone gets a chunk
// of its own.
func Chunks[T any](items []T, sizeOf func(T) int, maxBytes int) [][]T {
	var chunks [][]T
	var cur []T
	total := 0
	for _, it := range items {
		s := sizeOf(it)
		if len(cur) > 0 && (len(cur) == MaxEntries || total+s > maxBytes) {
			chunks = append(chunks, cur)
			cur, total = nil, 0
		}
		cur = append(cur, it)
		total += s
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// MessageSize is the size SQS counts for a message: the body's bytes plus,
// for each message attribute, its name, data type and value.
func MessageSize(body string, attrs map[string]types.MessageAttributeValue) int {
	n := len(body)
	for name, a := range attrs {
		n += AttributeSize(name, a)
	}
	return n
}

// AttributeSize is one message attribute's share of a message's size.
func AttributeSize(name string, a types.MessageAttributeValue) int {
	return len(name) + len(aws.ToString(a.DataType)) + len(aws.ToString(a.StringValue)) + len(a.BinaryValue)
}

// The SQS calls each Op needs; *sqs.Client has them all.
type (
	DeleteAPI interface {
		DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	}
	VisibilityAPI interface {
		ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	}
	SendAPI interface {
		SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	}
	AttributesAPI interface {
		GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	}
)

// Delete deletes messages by receipt handle.
func Delete(api DeleteAPI, queueURL string) Op[types.DeleteMessageBatchRequestEntry] {
	return Op[types.DeleteMessageBatchRequestEntry]{
		Name:  "delete",
		SetID: func(e *types.DeleteMessageBatchRequestEntry, id string) { e.Id = aws.String(id) },
		Call: func(ctx context.Context, es []types.DeleteMessageBatchRequestEntry) (Result, error) {
			out, err := api.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: es})
			if err != nil {
				return Result{}, err
			}
			return result(out.Successful, out.Failed, func(s types.DeleteMessageBatchResultEntry) (*string, *string) { return s.Id, nil }), nil
		},
	}
}

// ChangeVisibility changes messages' visibility timeouts.
func ChangeVisibility(api VisibilityAPI, queueURL string) Op[types.ChangeMessageVisibilityBatchRequestEntry] {
	return Op[types.ChangeMessageVisibilityBatchRequestEntry]{
		Name:  "change_visibility",
		SetID: func(e *types.ChangeMessageVisibilityBatchRequestEntry, id string) { e.Id = aws.String(id) },
		Call: func(ctx context.Context, es []types.ChangeMessageVisibilityBatchRequestEntry) (Result, error) {
			out, err := api.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(queueURL), Entries: es})
			if err != nil {
				return Result{}, err
			}
			return result(out.Successful, out.Failed, func(s types.ChangeMessageVisibilityBatchResultEntry) (*string, *string) { return s.Id, nil }), nil
		},
	}
}

// Send sends messages; their size counts toward MaxBytes.
func Send(api SendAPI, queueURL string) Op[types.SendMessageBatchRequestEntry] {
	return Op[types.SendMessageBatchRequestEntry]{
		Name:  "send",
		SetID: func(e *types.SendMessageBatchRequestEntry, id string) { e.Id = aws.String(id) },
		Size: func(e types.SendMessageBatchRequestEntry) int {
			return MessageSize(aws.ToString(e.MessageBody), e.MessageAttributes)
		},
		Call: func(ctx context.Context, es []types.SendMessageBatchRequestEntry) (Result, error) {
			out, err := api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: es})
			if err != nil {
				return Result{}, err
			}
			return result(out.Successful, out.Failed, func(s types.SendMessageBatchResultEntry) (*string, *string) { return s.Id, s.MessageId }), nil
		},
	}
}

// result maps a batch answer's successful entries (Id, MessageId) and
// failures into a Result.
func result[S any](ok []S, failed []types.BatchResultErrorEntry, ids func(S) (id, msgID *string)) Result {
	r := Result{Successful: make(map[string]string, len(ok)), Failed: failed}
	for _, s := range ok {
		id, msgID := ids(s)
		r.Successful[aws.ToString(id)] = aws.ToString(msgID)
	}
	return r
}

// MaxMessageSize reads a queue's MaximumMessageSize (bytes).
func MaxMessageSize(ctx context.Context, api AttributesAPI, queueURL string) (int, error) {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameMaximumMessageSize},
	})
	if err != nil {
		return 0, fmt.Errorf("read MaximumMessageSize of %s: %w", queueURL, err)
	}
	v := out.Attributes[string(types.QueueAttributeNameMaximumMessageSize)]
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("read MaximumMessageSize of %s: %q is no size", queueURL, v)
	}
	return n, nil
}
