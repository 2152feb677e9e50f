package sqsemu

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestConcurrentSendReceiveDelete: 4 senders and 4 receivers through the
// SDK over HTTP, 2,000 messages. Each is delivered exactly once (the
// visibility timeout, 60 s, outlasts the test, so a second delivery would be
// a message handed out twice while hidden), none is lost, and the queue ends
// empty.
func TestConcurrentSendReceiveDelete(t *testing.T) {
	c, _ := newClient(t)
	url := createQueue(t, c, "jobs", map[string]string{"VisibilityTimeout": "60"})
	const senders, receivers, perSender = 4, 4, 500
	const total = senders * perSender
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var mu sync.Mutex
	delivered := map[string]int{} // body → deliveries
	errs := make(chan error, senders+receivers)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := 0; i < perSender; i += 10 {
				var entries []types.SendMessageBatchRequestEntry
				for j := i; j < i+10; j++ {
					entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String("m" + strconv.Itoa(j)),
						MessageBody: aws.String(fmt.Sprintf("s%d-%d", s, j))})
				}
				out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
				if err == nil && len(out.Failed) > 0 {
					err = fmt.Errorf("send failed: %+v", out.Failed)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(delivered) == total
	}
	for range receivers {
		wg.Go(func() {
			for !done() {
				out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
				if err != nil {
					errs <- err
					return
				}
				if len(out.Messages) == 0 {
					continue
				}
				var del []types.DeleteMessageBatchRequestEntry
				mu.Lock()
				for i, m := range out.Messages {
					delivered[aws.ToString(m.Body)]++
					del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
				}
				mu.Unlock()
				res, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del})
				if err == nil && len(res.Failed) > 0 {
					err = fmt.Errorf("delete failed: %+v", res.Failed)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for body, n := range delivered {
		if n != 1 {
			t.Errorf("%s delivered %d times", body, n)
		}
	}
	if len(delivered) != total {
		t.Errorf("delivered %d distinct messages, want %d", len(delivered), total)
	}
	if v, nv, d := counts(t, c, url); v+nv+d != 0 {
		t.Errorf("left in the queue: %d visible, %d in flight, %d delayed", v, nv, d)
	}
}

// BenchmarkReceive is one ReceiveMessage of 10 (over HTTP, through the SDK)
// from a queue of n messages that stays at n: the queue's visibility
// timeout is 0, so every message received is visible again at once.
func BenchmarkReceive(b *testing.B) {
	for _, n := range []int{1200, 100000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			c, _ := newClient(b)
			ctx := context.Background()
			out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q"), Attributes: map[string]string{"VisibilityTimeout": "0"}})
			if err != nil {
				b.Fatal(err)
			}
			url := out.QueueUrl
			for i := 0; i < n; i += 10 {
				var entries []types.SendMessageBatchRequestEntry
				for j := range 10 {
					entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(j)), MessageBody: aws.String(`{"username":"u"}`)})
				}
				if _, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url, Entries: entries}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10})
				if err != nil || len(got.Messages) != 10 {
					b.Fatalf("receive: %d messages, %v", len(got.Messages), err)
				}
			}
		})
	}
}
