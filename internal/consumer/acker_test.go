package consumer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"go.uber.org/zap"
)

// receiveAll takes every message of f and returns them as the consumer
// would see them.
func receiveAll(t *testing.T, f *fakeSQS) []*Message {
	t.Helper()
	var out []*Message
	for {
		res, err := f.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{MaxNumberOfMessages: 10, VisibilityTimeout: 300})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			return out
		}
		for _, m := range res.Messages {
			out = append(out, toMessage(m, time.Now()))
		}
	}
}

// TestAckerStopFlushesEverything: ops still queued when the stop comes (many
// jobs released at once when the shutdown timeout cancels them) all go out,
// in batches of 10, however many there are.
func TestAckerStopFlushesEverything(t *testing.T) {
	tests := []struct {
		name              string
		deletes, releases int
	}{
		{"a few", 3, 2},
		{"more than three batches of deletes", 45, 0},
		{"more than three batches of releases", 0, 37},
		{"both", 64, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSQS(bodies(tt.deletes + tt.releases)...)
			msgs := receiveAll(t, f)
			a := newAcker(f, queueURL, time.Hour, zap.NewNop())
			for i, m := range msgs {
				if i < tt.deletes {
					a.delete(m, nil)
				} else {
					a.changeVisibility(m, 0)
				}
			}
			done := make(chan struct{})
			go func() { defer close(done); a.run(context.Background()) }()
			if !a.stop(waitLong) {
				t.Errorf("stop reported ops left unsent")
			}
			<-done
			dels, vis := 0, 0
			for _, c := range f.callsOf("delete") {
				if len(c.entries) > 10 {
					t.Errorf("batch of %d", len(c.entries))
				}
				dels += len(c.entries)
			}
			for _, c := range f.callsOf("visibility") {
				if len(c.entries) > 10 {
					t.Errorf("batch of %d", len(c.entries))
				}
				vis += len(c.entries)
			}
			if dels != tt.deletes || vis != tt.releases {
				t.Errorf("sent %d deletes, %d releases; want %d, %d", dels, vis, tt.deletes, tt.releases)
			}
		})
	}
}

// TestAckerFlushInterval: a lone op goes out after FlushInterval, not
// before a batch fills.
func TestAckerFlushInterval(t *testing.T) {
	f := newFakeSQS(bodies(1)...)
	msgs := receiveAll(t, f)
	a := newAcker(f, queueURL, 20*time.Millisecond, zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); a.run(ctx) }()
	start := time.Now()
	a.delete(msgs[0], nil)
	f.mustAwait(t, waitLong, "the delete", func() bool { return f.deleted(msgs[0].ID) })
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("sent after %v, before the 20ms FlushInterval", d)
	}
	if !a.stop(waitLong) {
		t.Error("stop: unsent ops")
	}
	<-done
}

// TestAckerGivesUpOnStop: entries that keep failing do not hold the stop
// forever, and stop says they were not sent.
func TestAckerGivesUpOnStop(t *testing.T) {
	f := newFakeSQS(bodies(25)...)
	msgs := receiveAll(t, f)
	f.batchErr = func(string, int) error { return fmt.Errorf("ServiceUnavailable") }
	a := newAcker(f, queueURL, time.Hour, zap.NewNop())
	for _, m := range msgs {
		a.delete(m, nil)
	}
	done := make(chan struct{})
	go func() { defer close(done); a.run(context.Background()) }()
	a.stop(waitLong)
	<-done
	tries := map[string]int{}
	for _, c := range f.callsOf("delete") {
		for _, e := range c.entries {
			tries[e.handle]++
		}
	}
	for _, m := range msgs {
		if tries[m.ReceiptHandle] != maxAckTrys {
			t.Errorf("%s tried %d times, want %d", m.ID, tries[m.ReceiptHandle], maxAckTrys)
		}
	}
}
