package sqsbatch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// fakeSend is SendMessageBatch with scripted answers: answer decides each
// entry's fate by its body and the number of times that body was sent.
type fakeSend struct {
	mu       sync.Mutex
	requests [][]types.SendMessageBatchRequestEntry
	tries    map[string]int
	callErr  func(n int) error                                               // n: 1-based request number
	answer   func(body string, try int) (*types.BatchResultErrorEntry, bool) // failure, or (nil, true) success, (nil, false) unanswered
}

func (f *fakeSend) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tries == nil {
		f.tries = map[string]int{}
	}
	f.requests = append(f.requests, in.Entries)
	if f.callErr != nil {
		if err := f.callErr(len(f.requests)); err != nil {
			return nil, err
		}
	}
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		body := aws.ToString(e.MessageBody)
		f.tries[body]++
		fe, ok := (*types.BatchResultErrorEntry)(nil), true
		if f.answer != nil {
			fe, ok = f.answer(body, f.tries[body])
		}
		switch {
		case fe != nil:
			fe.Id = e.Id
			out.Failed = append(out.Failed, *fe)
		case ok:
			out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String("id-" + body)})
		}
	}
	return out, nil
}

func sends(bodies ...string) []types.SendMessageBatchRequestEntry {
	out := make([]types.SendMessageBatchRequestEntry, len(bodies))
	for i, b := range bodies {
		out[i] = types.SendMessageBatchRequestEntry{MessageBody: aws.String(b)}
	}
	return out
}

func numbered(n, size int) []string {
	out := make([]string, n)
	for i := range out {
		p := fmt.Sprintf("b%04d-", i)
		out[i] = p + strings.Repeat("x", max(size-len(p), 0))
	}
	return out
}

var fast = Config{Pause: time.Millisecond, MaxPause: 4 * time.Millisecond}

func TestChunks(t *testing.T) {
	tests := []struct {
		name  string
		sizes []int
		max   int
		want  []int // chunk lengths
	}{
		{"none", nil, 100, nil},
		{"by count", make([]int, 25), 100, []int{10, 10, 5}},
		{"exactly ten", make([]int, 10), 100, []int{10}},
		{"by size", []int{40, 40, 40, 40, 40}, 100, []int{2, 2, 1}},
		{"size exactly the limit", []int{50, 50, 50, 50}, 100, []int{2, 2}},
		{"one too large alone", []int{10, 150, 10}, 100, []int{1, 1, 1}},
		{"count before size", []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 100, []int{10, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks := Chunks(tt.sizes, func(s int) int { return s }, tt.max)
			var got []int
			for _, c := range chunks {
				got = append(got, len(c))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("chunk lengths %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDoChunksByCountAndSize: requests never exceed 10 entries nor the byte
// limit, Ids are indexes in the request, every entry gets its MessageId.
func TestDoChunksByCountAndSize(t *testing.T) {
	tests := []struct {
		name              string
		n, size, maxBytes int
		wantRequests      int
	}{
		{"small", 25, 10, 0, 3},
		{"large bodies", 12, 100 << 10, 0, 6}, // 2 of 100 KiB fit 256 KiB
		{"1 MiB limit", 12, 100 << 10, 1 << 20, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSend{}
			bodies := numbered(tt.n, tt.size)
			cfg := fast
			cfg.MaxBytes = tt.maxBytes
			out := Do(context.Background(), Send(f, "q"), sends(bodies...), cfg)
			limit := cfg.WithDefaults().MaxBytes
			for _, r := range f.requests {
				total := 0
				for k, e := range r {
					total += len(aws.ToString(e.MessageBody))
					if aws.ToString(e.Id) != strconv.Itoa(k) {
						t.Errorf("entry %d has Id %q", k, aws.ToString(e.Id))
					}
				}
				if len(r) > MaxEntries || total > limit {
					t.Errorf("request of %d entries, %d bytes (limit %d)", len(r), total, limit)
				}
			}
			if len(f.requests) != tt.wantRequests {
				t.Errorf("%d requests, want %d", len(f.requests), tt.wantRequests)
			}
			for i, o := range out {
				if o.Err != nil || o.MessageID != "id-"+bodies[i] {
					t.Errorf("entry %d: %+v", i, o)
				}
			}
		})
	}
}

// TestDoPartialFailures: per-entry failures land on the right entries;
// refusals are not retried, SQS's own faults and unanswered entries are,
// within Tries.
func TestDoPartialFailures(t *testing.T) {
	f := &fakeSend{answer: func(body string, try int) (*types.BatchResultErrorEntry, bool) {
		switch {
		case strings.HasPrefix(body, "refuse"):
			return &types.BatchResultErrorEntry{Code: aws.String("InvalidMessageContents"), SenderFault: true}, false
		case strings.HasPrefix(body, "flaky") && try < 3:
			return &types.BatchResultErrorEntry{Code: aws.String("InternalError"), SenderFault: false}, false
		case strings.HasPrefix(body, "throttled") && try < 2:
			return &types.BatchResultErrorEntry{Code: aws.String("RequestThrottled"), SenderFault: true}, false
		case strings.HasPrefix(body, "broken"):
			return &types.BatchResultErrorEntry{Code: aws.String("InternalError")}, false
		case strings.HasPrefix(body, "silent") && try < 2:
			return nil, false
		}
		return nil, true
	}}
	bodies := []string{"ok1", "refuse1", "flaky1", "ok2", "throttled1", "broken1", "silent1", "ok3"}
	cfg := fast
	cfg.Tries = 4
	var retries []int
	cfg.OnRetry = func(_ string, n int, _ error) { retries = append(retries, n) }
	out := Do(context.Background(), Send(f, "q"), sends(bodies...), cfg)
	want := map[string]error{"refuse1": ErrRefused, "broken1": ErrFailed}
	for i, b := range bodies {
		if w := want[b]; w != nil {
			var ee *EntryError
			if !errors.Is(out[i].Err, w) || !errors.As(out[i].Err, &ee) {
				t.Errorf("%s: err %v, want %v", b, out[i].Err, w)
			}
			continue
		}
		if out[i].Err != nil || out[i].MessageID != "id-"+b {
			t.Errorf("%s: %+v, want sent", b, out[i])
		}
	}
	wantTries := map[string]int{"refuse1": 1, "flaky1": 3, "throttled1": 2, "broken1": 4, "silent1": 2, "ok1": 1}
	for b, n := range wantTries {
		if f.tries[b] != n {
			t.Errorf("%s sent %d times, want %d", b, f.tries[b], n)
		}
	}
	if fmt.Sprint(retries) != "[4 2 1]" {
		t.Errorf("retry rounds %v, want [4 2 1]", retries)
	}
}

// TestDoCallErrors: a failed request fails all of its entries; they are
// retried with a doubling pause and given up after Tries.
func TestDoCallErrors(t *testing.T) {
	boom := errors.New("connection reset")
	f := &fakeSend{callErr: func(int) error { return boom }}
	cfg := Config{Tries: 3, Pause: 10 * time.Millisecond, MaxPause: time.Second}
	start := time.Now()
	out := Do(context.Background(), Send(f, "q"), sends(numbered(12, 5)...), cfg)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("gave up after %v: want the pauses 10ms+20ms", d)
	}
	if len(f.requests) != 6 {
		t.Errorf("%d requests, want 2 chunks × 3 tries", len(f.requests))
	}
	for i, o := range out {
		if !errors.Is(o.Err, ErrFailed) || !errors.Is(o.Err, boom) {
			t.Errorf("entry %d: %v", i, o.Err)
		}
	}

	// Recovering on the second request: everything sent, nothing twice
	// more than needed.
	f = &fakeSend{callErr: func(n int) error {
		if n == 1 {
			return boom
		}
		return nil
	}}
	out = Do(context.Background(), Send(f, "q"), sends(numbered(5, 5)...), cfg)
	for i, o := range out {
		if o.Err != nil {
			t.Errorf("entry %d: %v", i, o.Err)
		}
	}
}

// TestDoContextEndsPause: a cancelled ctx ends the pause between tries.
func TestDoContextEndsPause(t *testing.T) {
	f := &fakeSend{callErr: func(int) error { return errors.New("down") }}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	out := Do(ctx, Send(f, "q"), sends("a"), Config{Tries: 5, Pause: time.Hour})
	if time.Since(start) > 10*time.Second {
		t.Fatal("pause outlived ctx")
	}
	if !errors.Is(out[0].Err, ErrFailed) || !errors.Is(out[0].Err, context.Canceled) {
		t.Errorf("err %v", out[0].Err)
	}
}

// TestDoTooLarge: an entry no request can carry is not sent; the rest are.
func TestDoTooLarge(t *testing.T) {
	f := &fakeSend{}
	out := Do(context.Background(), Send(f, "q"), sends("small", strings.Repeat("x", 101)), Config{MaxBytes: 100})
	if out[0].Err != nil || !errors.Is(out[1].Err, ErrTooLarge) {
		t.Errorf("outcomes %+v", out)
	}
	if len(f.requests) != 1 || len(f.requests[0]) != 1 {
		t.Errorf("requests %v", f.requests)
	}
}

// TestDoParallel: with Parallel > 1 requests overlap.
func TestDoParallel(t *testing.T) {
	var mu sync.Mutex
	inFlight, peak := 0, 0
	op := Op[int]{Name: "test", SetID: func(*int, string) {}, Call: func(ctx context.Context, es []int) (Result, error) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		r := Result{Successful: map[string]string{}}
		for k := range es {
			r.Successful[strconv.Itoa(k)] = ""
		}
		return r, nil
	}}
	out := Do(context.Background(), op, make([]int, 40), Config{Parallel: 4})
	for _, o := range out {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
	}
	if peak < 2 || peak > 4 {
		t.Errorf("peak %d requests at once, want 2..4", peak)
	}
}

func TestMessageSize(t *testing.T) {
	attrs := map[string]types.MessageAttributeValue{
		"ErrorCode": {DataType: aws.String("String"), StringValue: aws.String("Boom")},
		"Blob":      {DataType: aws.String("Binary"), BinaryValue: []byte{1, 2, 3}},
	}
	want := len("body") + len("ErrorCode") + len("String") + len("Boom") + len("Blob") + len("Binary") + 3
	if got := MessageSize("body", attrs); got != want {
		t.Errorf("MessageSize %d, want %d", got, want)
	}
}

type fakeAttrs map[string]string

func (f fakeAttrs) GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	if f == nil {
		return nil, errors.New("AWS.SimpleQueueService.NonExistentQueue")
	}
	return &sqs.GetQueueAttributesOutput{Attributes: f}, nil
}

func TestMaxMessageSize(t *testing.T) {
	if n, err := MaxMessageSize(context.Background(), fakeAttrs{"MaximumMessageSize": "1048576"}, "q"); err != nil || n != 1<<20 {
		t.Errorf("got %d, %v", n, err)
	}
	for _, f := range []fakeAttrs{nil, {"MaximumMessageSize": "big"}, {}} {
		if _, err := MaxMessageSize(context.Background(), f, "q"); err == nil {
			t.Errorf("%v: no error", f)
		}
	}
}
