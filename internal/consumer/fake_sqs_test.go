package consumer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// fakeSQS is an in-memory queue with SQS's receive, batch delete and batch
// visibility semantics, as far as the consumer relies on them: receipt
// handles change on every receive, a received message is invisible for the
// visibility timeout, long polls wait for a message or the deadline. It
// records every call, in order.
type fakeSQS struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	seq     int
	msgs    []*fakeMsg
	calls   []*call
	tries   map[string]int // op+handle → entry attempts

	// Hooks, set before use. receiveErr fails the n-th ReceiveMessage call
	// (1-based); batchErr fails the n-th call of op ("delete", "visibility");
	// entryFailure makes SQS refuse one entry on its try-th attempt.
	// onReceive runs at the start of each ReceiveMessage call, unlocked.
	receiveErr   func(n int) error
	batchErr     func(op string, n int) error
	entryFailure func(op, handle string, try int) *types.BatchResultErrorEntry
	onReceive    func(in *sqs.ReceiveMessageInput)
}

type fakeMsg struct {
	id, body  string
	handle    string // the current receipt handle
	visibleAt time.Time
	receives  int
	deleted   bool
}

// call is one recorded API call.
type call struct {
	seq  int
	op   string // "receive", "delete", "visibility"
	at   time.Time
	err  error
	max  int32 // receive
	wait int32 // receive
	vis  int32 // receive
	got  []string
	// batch calls
	entries []entry
}

type entry struct {
	id, handle string
	secs       int32
	failed     bool
	code       string
}

func newFakeSQS(bodies ...string) *fakeSQS {
	f := &fakeSQS{changed: make(chan struct{}), tries: map[string]int{}}
	for _, b := range bodies {
		f.addLocked(b)
	}
	return f
}

// add puts a message on the queue, visible at once, and returns its id.
func (f *fakeSQS) add(body string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.addLocked(body)
	f.notifyLocked()
	return id
}

func (f *fakeSQS) addLocked(body string) string {
	id := fmt.Sprintf("m%d", len(f.msgs)+1)
	f.msgs = append(f.msgs, &fakeMsg{id: id, body: body})
	return id
}

func (f *fakeSQS) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeSQS) record(c *call) *call {
	f.seq++
	c.seq, c.at = f.seq, time.Now()
	f.calls = append(f.calls, c)
	f.notifyLocked()
	return c
}

func (f *fakeSQS) count(op string) int {
	n := 0
	for _, c := range f.calls {
		if c.op == op {
			n++
		}
	}
	return n
}

func (f *fakeSQS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if f.onReceive != nil {
		f.onReceive(in)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.record(&call{op: "receive", max: in.MaxNumberOfMessages, wait: in.WaitTimeSeconds, vis: in.VisibilityTimeout})
	if f.receiveErr != nil {
		if c.err = f.receiveErr(f.count("receive")); c.err != nil {
			return nil, c.err
		}
	}
	if in.MaxNumberOfMessages < 1 || in.MaxNumberOfMessages > 10 {
		c.err = fmt.Errorf("InvalidParameterValue: MaxNumberOfMessages %d", in.MaxNumberOfMessages)
		return nil, c.err
	}
	deadline := c.at.Add(time.Duration(in.WaitTimeSeconds) * time.Second)
	for {
		if err := ctx.Err(); err != nil {
			c.err = err
			f.notifyLocked()
			return nil, err
		}
		now := time.Now()
		out := &sqs.ReceiveMessageOutput{}
		var wake time.Time
		for _, m := range f.msgs {
			if m.deleted {
				continue
			}
			if m.visibleAt.After(now) {
				if wake.IsZero() || m.visibleAt.Before(wake) {
					wake = m.visibleAt
				}
				continue
			}
			if len(out.Messages) == int(in.MaxNumberOfMessages) {
				continue
			}
			m.receives++
			m.handle = fmt.Sprintf("rh-%s-%d", m.id, m.receives)
			m.visibleAt = now.Add(time.Duration(in.VisibilityTimeout) * time.Second)
			c.got = append(c.got, m.id)
			out.Messages = append(out.Messages, types.Message{
				MessageId:     aws.String(m.id),
				ReceiptHandle: aws.String(m.handle),
				Body:          aws.String(m.body),
				Attributes: map[string]string{
					"ApproximateReceiveCount": strconv.Itoa(m.receives),
					"SentTimestamp":           "1700000000000",
				},
				MessageAttributes: map[string]types.MessageAttributeValue{"trace": {DataType: aws.String("String"), StringValue: aws.String("t-" + m.id)}},
			})
		}
		if len(out.Messages) > 0 || !now.Before(deadline) {
			f.notifyLocked()
			return out, nil
		}
		if wake.IsZero() || wake.After(deadline) {
			wake = deadline
		}
		ch := f.changed
		f.mu.Unlock()
		timer := time.NewTimer(time.Until(wake))
		select {
		case <-ctx.Done():
		case <-ch:
		case <-timer.C:
		}
		timer.Stop()
		f.mu.Lock()
	}
}

// batch runs the common part of the batch calls: validation, whole-call
// failures, entry failures; apply does the entry's work and reports whether
// the handle was valid.
func (f *fakeSQS) batch(op string, ids, handles []string, secs []int32, apply func(m *fakeMsg, i int)) ([]types.BatchResultErrorEntry, []string, error) {
	c := f.record(&call{op: op})
	seen := map[string]bool{}
	for i := range ids {
		if seen[ids[i]] {
			c.err = errors.New("BatchEntryIdsNotDistinct")
		}
		seen[ids[i]] = true
		c.entries = append(c.entries, entry{id: ids[i], handle: handles[i], secs: secs[i]})
	}
	switch {
	case len(ids) == 0:
		c.err = errors.New("EmptyBatchRequest")
	case len(ids) > 10:
		c.err = errors.New("TooManyEntriesInBatchRequest")
	}
	if c.err == nil && f.batchErr != nil {
		c.err = f.batchErr(op, f.count(op))
	}
	if c.err != nil {
		return nil, nil, c.err
	}
	var failed []types.BatchResultErrorEntry
	var ok []string
	for i, h := range handles {
		f.tries[op+h]++
		var fail *types.BatchResultErrorEntry
		if f.entryFailure != nil {
			fail = f.entryFailure(op, h, f.tries[op+h])
		}
		var m *fakeMsg
		for _, x := range f.msgs {
			if x.handle == h && !x.deleted {
				m = x
			}
		}
		if fail == nil && m == nil {
			fail = &types.BatchResultErrorEntry{Code: aws.String("ReceiptHandleIsInvalid"), SenderFault: true}
		}
		if fail != nil {
			fail.Id = aws.String(ids[i])
			failed = append(failed, *fail)
			c.entries[i].failed, c.entries[i].code = true, aws.ToString(fail.Code)
			continue
		}
		apply(m, i)
		ok = append(ok, ids[i])
	}
	return failed, ok, nil
}

func (f *fakeSQS) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids, handles []string
	for _, e := range in.Entries {
		ids, handles = append(ids, aws.ToString(e.Id)), append(handles, aws.ToString(e.ReceiptHandle))
	}
	failed, ok, err := f.batch("delete", ids, handles, make([]int32, len(ids)), func(m *fakeMsg, _ int) { m.deleted = true })
	if err != nil {
		return nil, err
	}
	out := &sqs.DeleteMessageBatchOutput{Failed: failed}
	for _, id := range ok {
		out.Successful = append(out.Successful, types.DeleteMessageBatchResultEntry{Id: aws.String(id)})
	}
	return out, nil
}

func (f *fakeSQS) ChangeMessageVisibilityBatch(_ context.Context, in *sqs.ChangeMessageVisibilityBatchInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids, handles []string
	var secs []int32
	for _, e := range in.Entries {
		ids, handles, secs = append(ids, aws.ToString(e.Id)), append(handles, aws.ToString(e.ReceiptHandle)), append(secs, e.VisibilityTimeout)
	}
	now := time.Now()
	failed, ok, err := f.batch("visibility", ids, handles, secs, func(m *fakeMsg, i int) {
		m.visibleAt = now.Add(time.Duration(secs[i]) * time.Second)
	})
	if err != nil {
		return nil, err
	}
	out := &sqs.ChangeMessageVisibilityBatchOutput{Failed: failed}
	for _, id := range ok {
		out.Successful = append(out.Successful, types.ChangeMessageVisibilityBatchResultEntry{Id: aws.String(id)})
	}
	return out, nil
}

// await waits until cond, called with f locked, holds; false on timeout.
func (f *fakeSQS) await(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		ok := cond()
		ch := f.changed
		f.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return false
		}
	}
}

func (f *fakeSQS) mustAwait(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !f.await(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s; calls:\n%s", timeout, what, f.dump())
	}
}

// Helpers below are called with f locked (from await) or after Run returned.

func (f *fakeSQS) msg(id string) *fakeMsg {
	for _, m := range f.msgs {
		if m.id == id {
			return m
		}
	}
	return nil
}

func (f *fakeSQS) deleted(ids ...string) bool {
	for _, id := range ids {
		if m := f.msg(id); m == nil || !m.deleted {
			return false
		}
	}
	return true
}

func (f *fakeSQS) allDeleted() bool {
	for _, m := range f.msgs {
		if !m.deleted {
			return false
		}
	}
	return true
}

// entriesFor is every entry of op calls that named a handle of message id,
// with the call's sequence number.
func (f *fakeSQS) entriesFor(op, id string) (out []struct {
	seq int
	entry
}) {
	prefix := "rh-" + id + "-"
	for _, c := range f.calls {
		if c.op != op {
			continue
		}
		for _, e := range c.entries {
			if len(e.handle) > len(prefix) && e.handle[:len(prefix)] == prefix {
				out = append(out, struct {
					seq int
					entry
				}{c.seq, e})
			}
		}
	}
	return out
}

func (f *fakeSQS) callsOf(op string) []*call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*call
	for _, c := range f.calls {
		if c.op == op {
			cp := *c
			out = append(out, &cp)
		}
	}
	return out
}

func (f *fakeSQS) locked(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *fakeSQS) dump() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := ""
	for _, c := range f.calls {
		s += fmt.Sprintf("  #%d %s max=%d wait=%d got=%v entries=%+v err=%v\n", c.seq, c.op, c.max, c.wait, c.got, c.entries, c.err)
	}
	return s
}
