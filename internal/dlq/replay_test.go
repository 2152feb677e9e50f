package dlq_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/resend-worker/resend-worker/internal/dlq"
	"github.com/resend-worker/resend-worker/internal/sqsbatch"
)

func TestParseReplayCount(t *testing.T) {
	tests := []struct {
		in     string
		want   int
		wantOK bool
	}{
		{"", 0, true}, {"0", 0, true}, {"3", 3, true}, {"1000000", 1000000, true},
		{"1000001", 0, false}, {"-1", 0, false}, {"-1000000", 0, false},
		{"9223372036854775807", 0, false}, {"99999999999999999999", 0, false},
		{"1.0", 0, false}, {"1e3", 0, false}, {"+3", 0, false}, {" 3", 0, false}, {"3 ", 0, false},
		{"abc", 0, false}, {"0x10", 0, false}, {"٣", 0, false},
	}
	for _, tt := range tests {
		n, ok := dlq.ParseReplayCount(tt.in)
		if n != tt.want || ok != tt.wantOK {
			t.Errorf("ParseReplayCount(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.want, tt.wantOK)
		}
	}
}

func replayer(f *fakeQueues) *dlq.Replayer {
	return &dlq.Replayer{API: f, QueueURL: jobsURL, DLQURL: dlqURL, MaxSize: f.maxSize}
}

// A ReplayCount the worker cannot have written counts as over any
// --max-replays: left in the DLQ, reported as skipped and untrusted.
func TestReplayForgedReplayCount(t *testing.T) {
	f := newFakeQueues()
	forged := []string{"-1000000", "9223372036854775807", "1.0", "garbage", "1000001"}
	for i, v := range forged {
		f.deadLetter(fmt.Sprintf("forged%d", i), "UserNotFoundException", map[string]types.MessageAttributeValue{"ReplayCount": num(v)})
	}
	f.deadLetter("tooOften", "UserNotFoundException", map[string]types.MessageAttributeValue{"ReplayCount": num("3")})
	f.deadLetter("twice", "UserNotFoundException", map[string]types.MessageAttributeValue{"ReplayCount": num("2")})
	f.deadLetter("never", "UserNotFoundException", nil)
	rep, err := replayer(f).Replay(context.Background(), dlq.ReplayOptions{MaxReplays: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := dlq.Total(rep.Moved); got != 2 {
		t.Errorf("moved %d, want 2 (twice, never)", got)
	}
	if got := dlq.Total(rep.Skipped); got != len(forged)+1 || rep.Untrusted != len(forged) {
		t.Errorf("skipped %d (untrusted %d), want %d (%d)", got, rep.Untrusted, len(forged)+1, len(forged))
	}
	counts := map[string]string{}
	for _, m := range f.live(jobsURL) {
		counts[m.body] = aws.ToString(m.attrs["ReplayCount"].StringValue)
	}
	if counts[`{"username":"twice"}`] != "3" || counts[`{"username":"never"}`] != "1" {
		t.Errorf("ReplayCounts on the job queue: %v", counts)
	}
	if n := len(f.live(dlqURL)); n != len(forged)+1 {
		t.Errorf("%d messages left in the DLQ, want %d", n, len(forged)+1)
	}
	if n := f.hidden(dlqURL); n != 0 {
		t.Errorf("%d DLQ messages left hidden", n)
	}
}

// Replay in passes: a pass ends before its hold expires and releases what
// it left; the next goes on with messages not yet examined. Every selected
// message is moved once, and nothing is left hidden.
func TestReplayPasses(t *testing.T) {
	f := newFakeQueues()
	var clock atomic.Int64 // the fake's time, moved 1 s per receive
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	f.now = now
	f.onReceive = func() { clock.Add(int64(time.Second)) }
	for i := range 400 {
		code := "UserNotFoundException"
		if i%4 == 0 {
			code = "NotAuthorizedException"
		}
		f.deadLetter(fmt.Sprintf("u%03d", i), code, nil)
	}
	rep, err := replayer(f).Replay(context.Background(), dlq.ReplayOptions{
		Filter: dlq.Filter{ErrorCodes: []string{"UserNotFoundException"}},
		Limits: dlq.ScanLimits{Hold: 20 * time.Second, Clock: now}, // a pass reads for 15 s: 15 receives
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passes < 2 || rep.Incomplete != "" {
		t.Errorf("%d passes, incomplete %q; want several, complete", rep.Passes, rep.Incomplete)
	}
	if rep.Moved["UserNotFoundException"] != 300 || rep.NotSelected["NotAuthorizedException"] != 100 {
		t.Errorf("moved %v, not selected %v", rep.Moved, rep.NotSelected)
	}
	if len(f.live(jobsURL)) != 300 || len(f.live(dlqURL)) != 100 || f.hidden(dlqURL) != 0 {
		t.Errorf("jobs %d, DLQ %d (%d hidden)", len(f.live(jobsURL)), len(f.live(dlqURL)), f.hidden(dlqURL))
	}
	if f.expiredWhileHeld > 0 {
		t.Errorf("%d holds expired during the replay", f.expiredWhileHeld)
	}
	if rep.Requests == 0 || rep.PeakHeld == 0 {
		t.Errorf("requests %d, peak held %d: not counted", rep.Requests, rep.PeakHeld)
	}
}

// The bound: a replay never holds more than MaxHeld messages; when what it
// leaves fills the bound it stops and says so, leaving nothing hidden.
func TestReplayBound(t *testing.T) {
	f := newFakeQueues()
	for i := range 50 {
		f.deadLetter(fmt.Sprintf("moved%03d", i), "UserNotFoundException", nil)
	}
	for i := range 250 {
		f.deadLetter(fmt.Sprintf("left%03d", i), "NotAuthorizedException", nil)
	}
	f.deadLetter("unreached", "UserNotFoundException", nil)
	const maxHeld = 100
	rep, err := replayer(f).Replay(context.Background(), dlq.ReplayOptions{
		Filter: dlq.Filter{ErrorCodes: []string{"UserNotFoundException"}},
		Limits: dlq.ScanLimits{MaxHeld: maxHeld},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.PeakHeld > maxHeld || f.peakHidden > maxHeld {
		t.Errorf("peak held %d (SQS saw %d in flight), bound %d", rep.PeakHeld, f.peakHidden, maxHeld)
	}
	if rep.Moved["UserNotFoundException"] != 50 || !strings.Contains(rep.Incomplete, "bound") {
		t.Errorf("moved %v, incomplete %q", rep.Moved, rep.Incomplete)
	}
	if f.hidden(dlqURL) != 0 {
		t.Errorf("%d left hidden", f.hidden(dlqURL))
	}
}

// Sizes: replay batches by size and never sends a batch SQS refuses; a
// message that cannot fit the job queue is reported as failed, not moved.
func TestReplayBySize(t *testing.T) {
	f := newFakeQueues()
	f.maxSize = 262144
	for i := range 10 {
		f.put(dlqURL, fmt.Sprintf(`{"username":"u%d","clientMetadata":{"pad":%q}}`, i, strings.Repeat("x", 100<<10)), map[string]types.MessageAttributeValue{"ErrorCode": str("X")})
	}
	huge := f.put(dlqURL, strings.Repeat("y", 262144-5), map[string]types.MessageAttributeValue{"ErrorCode": str("Y")})
	rep, err := replayer(f).Replay(context.Background(), dlq.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Moved["X"] != 10 || rep.Failed["Y"] != 1 {
		t.Errorf("moved %v, failed %v", rep.Moved, rep.Failed)
	}
	left := f.live(dlqURL)
	if len(left) != 1 || left[0].id != huge || f.hidden(dlqURL) != 0 {
		t.Errorf("DLQ left with %d messages", len(left))
	}
}

// An operator's Ctrl-C does not cancel the delete of what was sent; a delete
// that fails is reported as "sent, not deleted", apart from "failed".
func TestReplayDelete(t *testing.T) {
	t.Run("cancelled during the send", func(t *testing.T) {
		f := newFakeQueues()
		f.deadLetter("a", "X", nil)
		ctx, cancel := context.WithCancel(context.Background())
		f.sendFail = func(string) bool { cancel(); return false }
		f.deleteErr = func(ctx context.Context) error { return ctx.Err() }
		rep, err := replayer(f).Replay(ctx, dlq.ReplayOptions{})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want cancelled", err)
		}
		if rep.Moved["X"] != 1 || len(f.live(dlqURL)) != 0 || len(f.live(jobsURL)) != 1 {
			t.Errorf("moved %v; DLQ %d, jobs %d", rep.Moved, len(f.live(dlqURL)), len(f.live(jobsURL)))
		}
	})
	t.Run("delete fails", func(t *testing.T) {
		f := newFakeQueues()
		f.deadLetter("a", "X", nil)
		f.deadLetter("b", "X", nil)
		f.sendFail = func(body string) bool { return strings.Contains(body, `"b"`) }
		f.deleteErr = func(context.Context) error { return errors.New("ServiceUnavailable") }
		rep, err := replayer(f).Replay(context.Background(), dlq.ReplayOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.SentNotDeleted["X"] != 1 || rep.Failed["X"] != 1 || dlq.Total(rep.Moved) != 0 {
			t.Errorf("sent-not-deleted %v, failed %v, moved %v", rep.SentNotDeleted, rep.Failed, rep.Moved)
		}
		if f.hidden(dlqURL) != 0 {
			t.Error("messages left hidden")
		}
	})
}

// The dead-lettered copy always fits: the original's attributes go first
// (ReplayCount last), then ErrorMessage is shortened; a body that cannot
// fit even then is ErrTooLarge and nothing is sent.
func TestFit(t *testing.T) {
	orig := map[string]types.MessageAttributeValue{"ReplayCount": num("2"), "trace": str(strings.Repeat("t", 100)), "zone": str("z")}
	long := failure
	long.ErrorMessage = strings.Repeat("é", 200) // 400 bytes
	full := dlq.Attributes(orig, long)
	base := sqsbatch.MessageSize("", dlq.Attributes(nil, long))
	const body = 1000
	tests := []struct {
		name      string
		max       int
		wantKept  []string // originals kept
		wantMsgLe int      // ErrorMessage at most this many bytes
		wantErr   bool
	}{
		{name: "all fits", max: body + sqsbatch.MessageSize("", full), wantKept: []string{"ReplayCount", "trace", "zone"}, wantMsgLe: 400},
		{name: "drops zone first", max: body + sqsbatch.MessageSize("", full) - 1, wantKept: []string{"ReplayCount", "trace"}, wantMsgLe: 400},
		{name: "ReplayCount last", max: body + base + 30, wantKept: []string{"ReplayCount"}, wantMsgLe: 400},
		{name: "then ErrorMessage shortened", max: body + base - 101, wantMsgLe: 299},
		{name: "down to one character", max: body + base - 399, wantMsgLe: 1},
		{name: "cannot fit", max: body + base - 400, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := strings.Repeat("b", body)
			got, err := dlq.Fit(b, full, tt.max)
			if tt.wantErr {
				if !errors.Is(err, dlq.ErrTooLarge) {
					t.Fatalf("err = %v, want ErrTooLarge", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if size := sqsbatch.MessageSize(b, got); size > tt.max {
				t.Errorf("size %d over %d", size, tt.max)
			}
			for _, n := range dlq.FailureAttributes {
				if _, in := full[n]; !in {
					continue // SourceQueue: only with a bulk lane
				}
				if _, ok := got[n]; !ok {
					t.Errorf("%s dropped", n)
				}
			}
			var kept []string
			for _, n := range []string{"ReplayCount", "trace", "zone"} {
				if _, ok := got[n]; ok {
					kept = append(kept, n)
				}
			}
			if fmt.Sprint(kept) != fmt.Sprint(tt.wantKept) {
				t.Errorf("kept %v, want %v", kept, tt.wantKept)
			}
			msg := aws.ToString(got["ErrorMessage"].StringValue)
			if len(msg) > tt.wantMsgLe || msg == "" || !strings.HasPrefix(long.ErrorMessage, msg) && msg != "-" {
				t.Errorf("ErrorMessage %d bytes %q…, want a prefix of at most %d", len(msg), firstN(msg, 10), tt.wantMsgLe)
			}
			if len(full) != 10 || aws.ToString(full["ErrorMessage"].StringValue) != long.ErrorMessage {
				t.Error("Fit changed its input")
			}
		})
	}
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// A body near the DLQ's limit is dead-lettered intact; one that cannot fit
// is refused with ErrTooLarge before any send.
func TestWriterSizes(t *testing.T) {
	const limit = 4096
	api := &fakeSend{}
	w := &dlq.Writer{API: api, DLQURL: dlqURL, MaxSize: limit}
	near := strings.Repeat("n", limit-300)
	if err := w.Write(context.Background(), near, originals("trace", "ReplayCount"), failure); err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(api.in.MessageBody); got != near {
		t.Error("body not intact")
	}
	if size := sqsbatch.MessageSize(near, api.in.MessageAttributes); size > limit {
		t.Errorf("copy of %d bytes over the %d limit", size, limit)
	}
	api.in = nil
	err := w.Write(context.Background(), strings.Repeat("n", limit), nil, failure)
	if !errors.Is(err, dlq.ErrTooLarge) || api.in != nil {
		t.Errorf("err = %v, sent: %v", err, api.in != nil)
	}
}
