package dlq_test

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

	"github.com/resend-worker/resend-worker/internal/sqsbatch"
)

const (
	jobsURL = "https://sqs.example/1/jobs"
	dlqURL  = "https://sqs.example/1/dlq"
)

// fakeQueues is SQS for two queues, as far as the DLQ code relies on it:
// receive hides what it returns for the visibility timeout asked for,
// receipt handles change per receive, batch calls answer per entry, and
// sends over maxSize (per message and per request) are refused as SQS
// does. It counts messages in flight, to check the scan's bound.
type fakeQueues struct {
	mu      sync.Mutex
	seq     int
	queues  map[string][]*fakeMsg
	maxSize int // 0: 262144
	now     func() time.Time

	sendFail   func(body string) bool // refuse this entry (InternalError)
	deleteErr  func(ctx context.Context) error
	onReceive  func() // at the start of each receive
	calls      map[string]int
	peakHidden int
	// expiredWhileHeld counts messages received again by the scan while
	// a handle from an earlier receive was never released or deleted
	// (its hold ran out).
	expiredWhileHeld int
}

type fakeMsg struct {
	id, body, handle string
	attrs            map[string]types.MessageAttributeValue
	visibleAt        time.Time
	deleted          bool
	receives         int
	held             bool // the last receive's handle is neither released nor deleted
}

func newFakeQueues() *fakeQueues {
	return &fakeQueues{queues: map[string][]*fakeMsg{}, calls: map[string]int{}, now: time.Now}
}

func (f *fakeQueues) put(url, body string, attrs map[string]types.MessageAttributeValue) string {
	f.seq++
	id := fmt.Sprintf("m%d", f.seq)
	f.queues[url] = append(f.queues[url], &fakeMsg{id: id, body: body, attrs: attrs})
	return id
}

func (f *fakeQueues) live(url string) []*fakeMsg {
	var out []*fakeMsg
	for _, m := range f.queues[url] {
		if !m.deleted {
			out = append(out, m)
		}
	}
	return out
}

func (f *fakeQueues) hidden(url string) int {
	n := 0
	for _, m := range f.live(url) {
		if m.visibleAt.After(f.now()) {
			n++
		}
	}
	return n
}

func (f *fakeQueues) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if f.onReceive != nil {
		f.onReceive()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["receive"]++
	url := aws.ToString(in.QueueUrl)
	out := &sqs.ReceiveMessageOutput{}
	for _, m := range f.live(url) {
		if len(out.Messages) == int(in.MaxNumberOfMessages) {
			break
		}
		if m.visibleAt.After(f.now()) {
			continue
		}
		if m.held {
			f.expiredWhileHeld++
		}
		m.held = true
		f.seq++
		m.handle = fmt.Sprintf("h%d-%s", f.seq, m.id)
		m.receives++
		m.visibleAt = f.now().Add(time.Duration(in.VisibilityTimeout) * time.Second)
		out.Messages = append(out.Messages, types.Message{MessageId: aws.String(m.id), ReceiptHandle: aws.String(m.handle), Body: aws.String(m.body),
			MessageAttributes: m.attrs, Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.receives)}})
	}
	f.peakHidden = max(f.peakHidden, f.hidden(url))
	return out, nil
}

func (f *fakeQueues) byHandle(url, h string) *fakeMsg {
	for _, m := range f.live(url) {
		if m.handle == h {
			return m
		}
	}
	return nil
}

func (f *fakeQueues) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["send"]++
	limit := f.maxSize
	if limit == 0 {
		limit = sqsbatch.DefaultMaxBytes
	}
	total := 0
	for _, e := range in.Entries {
		total += sqsbatch.MessageSize(aws.ToString(e.MessageBody), e.MessageAttributes)
	}
	if len(in.Entries) > 10 || total > limit {
		return nil, errors.New("BatchRequestTooLong")
	}
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		body := aws.ToString(e.MessageBody)
		if f.sendFail != nil && f.sendFail(body) {
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError")})
			continue
		}
		id := f.put(aws.ToString(in.QueueUrl), body, e.MessageAttributes)
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String(id)})
	}
	return out, nil
}

func (f *fakeQueues) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["delete"]++
	if f.deleteErr != nil {
		if err := f.deleteErr(ctx); err != nil {
			return nil, err
		}
	}
	out := &sqs.DeleteMessageBatchOutput{}
	for _, e := range in.Entries {
		m := f.byHandle(aws.ToString(in.QueueUrl), aws.ToString(e.ReceiptHandle))
		if m == nil {
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("ReceiptHandleIsInvalid"), SenderFault: true})
			continue
		}
		m.deleted = true
		out.Successful = append(out.Successful, types.DeleteMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

func (f *fakeQueues) ChangeMessageVisibilityBatch(_ context.Context, in *sqs.ChangeMessageVisibilityBatchInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["visibility"]++
	out := &sqs.ChangeMessageVisibilityBatchOutput{}
	for _, e := range in.Entries {
		m := f.byHandle(aws.ToString(in.QueueUrl), aws.ToString(e.ReceiptHandle))
		if m == nil {
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("ReceiptHandleIsInvalid"), SenderFault: true})
			continue
		}
		m.visibleAt = f.now().Add(time.Duration(e.VisibilityTimeout) * time.Second)
		m.held = m.held && e.VisibilityTimeout > 0
		out.Successful = append(out.Successful, types.ChangeMessageVisibilityBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

func (f *fakeQueues) GetQueueAttributes(_ context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["attributes"]++
	url := aws.ToString(in.QueueUrl)
	hidden := f.hidden(url)
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{
		"ApproximateNumberOfMessages":           strconv.Itoa(len(f.live(url)) - hidden),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(hidden),
		"ApproximateNumberOfMessagesDelayed":    "0",
	}}, nil
}

// deadLetter puts a dead-lettered copy of a job on the DLQ.
func (f *fakeQueues) deadLetter(username, code string, extra map[string]types.MessageAttributeValue) string {
	attrs := map[string]types.MessageAttributeValue{
		"ErrorCode": str(code), "FailureKind": str("permanent"), "ErrorMessage": str("m"),
		"SourceMessageId": str("src-" + username), "FailedAt": str("2024-05-06T05:08:09Z"),
		"Attempts": num("1"), "ReceiveCount": num("2"),
	}
	for k, v := range extra {
		attrs[k] = v
	}
	return f.put(dlqURL, fmt.Sprintf(`{"username":%q}`, username), attrs)
}
