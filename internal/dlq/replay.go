package dlq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/resend-worker/resend-worker/internal/sqsbatch"
)

// Filter selects dead jobs; the zero Filter selects all.
type Filter struct {
	ErrorCodes []string  // only these ErrorCodes; empty: all
	OlderThan  time.Time // only those that failed before this; zero: no bound
	NewerThan  time.Time // only those that failed after this; zero: no bound
}

// Selects reports whether the filter selects e.
func (f Filter) Selects(e Entry) bool {
	if len(f.ErrorCodes) > 0 && !slices.Contains(f.ErrorCodes, e.ErrorCode) {
		return false
	}
	if !f.OlderThan.IsZero() && (e.FailedAt.IsZero() || !e.FailedAt.Before(f.OlderThan)) {
		return false
	}
	if !f.NewerThan.IsZero() && (e.FailedAt.IsZero() || !e.FailedAt.After(f.NewerThan)) {
		return false
	}
	return true
}

// ReplayOptions selects what a replay moves.
type ReplayOptions struct {
	Filter
	Max        int  // move at most this many; 0: no limit
	MaxReplays int  // skip messages already replayed this many times; 0: default 3
	DryRun     bool // change nothing; report what would move
	Limits     ScanLimits
	// Progress, if set, is called after each batch.
	Progress func(ReplayReport)
	// Moved, if set, is called for each message moved (or, dry, that would be).
	Moved func(Entry)
}

// DefaultMaxReplays is the loop guard's default.
const DefaultMaxReplays = 3

// deleteTimeout bounds the delete from the DLQ of what was sent: it runs
// on after ctx is cancelled (an operator's Ctrl-C), so that a message sent
// to the job queue does not stay in the DLQ too.
const deleteTimeout = 30 * time.Second

// ReplayReport counts a replay by ErrorCode.
type ReplayReport struct {
	Moved       map[string]int // sent to the job queue and deleted from the DLQ (or would be, dry)
	Skipped     map[string]int // selected, but replayed MaxReplays times already, or with a ReplayCount not trusted: left in the DLQ
	NotSelected map[string]int // left in the DLQ
	Failed      map[string]int // send failed: left in the DLQ
	// SentNotDeleted: sent to the job queue but not deleted from the DLQ
	// (it is in both queues; a rerun would send it again).
	SentNotDeleted map[string]int
	Untrusted      int // of Skipped: ReplayCount not a whole number from 0 to 1,000,000
	Started        time.Time
	Passes         int    // passes over the DLQ
	PeakHeld       int    // most DLQ messages held (in flight) at once
	Requests       int64  // SQS calls made
	Incomplete     string // why messages may be left unexamined; "" if the DLQ was read to the end (or --max reached)
}

// Total sums one of the report's maps.
func Total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Codes is every ErrorCode in the report, sorted.
func (r ReplayReport) Codes() []string {
	set := map[string]bool{}
	for _, m := range []map[string]int{r.Moved, r.Skipped, r.NotSelected, r.Failed, r.SentNotDeleted} {
		for k := range m {
			set[k] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Replayer moves dead-lettered jobs back to the job queue.
type Replayer struct {
	API      QueueAPI
	QueueURL string // the job queue
	DLQURL   string
	// MaxSize is the job queue's MaximumMessageSize (sqsbatch.MaxMessageSize);
	// sends are batched under it. 0: SQS's default, 262144.
	MaxSize int
}

// Replay reads the DLQ in passes. Each selected message is sent to the job
// queue at once, with its body unchanged, without the failure attributes and
// with ReplayCount one higher, and deleted from the DLQ only after that send
// succeeded; so the replay holds (keeps in flight) what it is about to move,
// plus, by receipt handle only, what it examined and left, so that a pass
// sees each message once. A pass ends when the DLQ gives nothing more, when
// it holds Limits.MaxHeld messages, or before its hold expires; it then
// makes what it left visible again at once, and the next pass goes on with
// messages not yet examined. Everything left is made visible again also when
// Replay ends with an error or ctx is cancelled.
func (r *Replayer) Replay(ctx context.Context, o ReplayOptions) (rep ReplayReport, err error) {
	if o.MaxReplays <= 0 {
		o.MaxReplays = DefaultMaxReplays
	}
	rep = ReplayReport{Moved: map[string]int{}, Skipped: map[string]int{}, NotSelected: map[string]int{}, Failed: map[string]int{},
		SentNotDeleted: map[string]int{}, Started: time.Now()}
	sc := newScanner(r.API, r.DLQURL, o.Limits)
	defer func() {
		if rerr := sc.release(); rerr != nil && err == nil {
			err = rerr
		}
		rep.PeakHeld, rep.Requests = sc.peak, sc.requests.Load()
	}()
	seen := map[string]bool{} // message ids examined, in any pass
	for {
		rep.Passes++
		fresh, over, full, done, err := r.pass(ctx, sc, o, seen, &rep)
		if err != nil || done {
			return rep, err
		}
		if full {
			// What is left cannot be reached without holding more: SQS
			// hands out the messages this replay leaves again first.
			rep.Incomplete = fmt.Sprintf("pass %d ended %s: messages past those were not examined", rep.Passes, over)
			return rep, nil
		}
		if err := sc.release(); err != nil {
			return rep, err
		}
		if fresh == 0 {
			rep.Incomplete = fmt.Sprintf("pass %d ended (%s) without finding a message not yet examined", rep.Passes, over)
			return rep, nil
		}
	}
}

// pass reads until the DLQ is exhausted or --max reached (done), or the
// pass must end (over says why; full: by the bound of messages held). fresh
// counts messages examined for the first time.
func (r *Replayer) pass(ctx context.Context, sc *scanner, o ReplayOptions, seen map[string]bool, rep *ReplayReport) (fresh int, over string, full, done bool, err error) {
	for {
		if o.Max > 0 && Total(rep.Moved) >= o.Max {
			return fresh, "", false, true, nil
		}
		if err := ctx.Err(); err != nil {
			return fresh, "", false, true, err
		}
		if over, full = sc.passOver(); over != "" {
			return fresh, over, full, false, nil
		}
		batch, err := sc.next(ctx)
		if err != nil || batch == nil {
			return fresh, "", false, true, err
		}
		var selected []Entry
		for _, e := range batch {
			if seen[e.MessageID] {
				continue // examined in an earlier pass: held until this one ends
			}
			seen[e.MessageID] = true
			fresh++
			code := codeKey(e)
			switch {
			case !o.Selects(e):
				rep.NotSelected[code]++
			case !e.ReplayTrusted:
				rep.Skipped[code]++
				rep.Untrusted++
			case e.ReplayCount >= o.MaxReplays:
				rep.Skipped[code]++
			case o.Max > 0 && Total(rep.Moved)+len(selected) >= o.Max:
				rep.NotSelected[code]++
			default:
				selected = append(selected, e)
			}
		}
		if o.DryRun {
			for _, e := range selected {
				rep.Moved[codeKey(e)]++
				if o.Moved != nil {
					o.Moved(e)
				}
			}
		} else {
			r.move(ctx, sc, selected, rep, o.Moved)
		}
		if o.Progress != nil {
			o.Progress(*rep)
		}
	}
}

func codeKey(e Entry) string {
	if e.ErrorCode == "" {
		return "(none)"
	}
	return e.ErrorCode
}

// move sends selected entries to the job queue, then deletes from the DLQ
// those whose send succeeded, with a context ctx's cancellation does not
// end (bounded by deleteTimeout).
func (r *Replayer) move(ctx context.Context, sc *scanner, selected []Entry, rep *ReplayReport, moved func(Entry)) {
	var toSend []Entry
	var entries []types.SendMessageBatchRequestEntry
	for _, e := range selected {
		attrs, err := Fit(e.Body, ReplayAttributes(e.Attributes, e.ReplayCount), r.MaxSize)
		if err == nil && attrs[AttrReplayCount].StringValue == nil {
			err = ErrTooLarge // without its ReplayCount it could loop
		}
		if err != nil {
			rep.Failed[codeKey(e)]++
			continue
		}
		toSend = append(toSend, e)
		entries = append(entries, types.SendMessageBatchRequestEntry{MessageBody: aws.String(e.Body), MessageAttributes: attrs})
	}
	if len(entries) == 0 {
		return
	}
	var sent []Entry
	var del []types.DeleteMessageBatchRequestEntry
	for i, out := range sqsbatch.Do(ctx, counted(sc, sqsbatch.Send(r.API, r.QueueURL)), entries, sqsbatch.Config{MaxBytes: r.MaxSize, Tries: 3}) {
		if out.Err != nil {
			rep.Failed[codeKey(toSend[i])]++
			continue
		}
		sent = append(sent, toSend[i])
		del = append(del, types.DeleteMessageBatchRequestEntry{ReceiptHandle: aws.String(toSend[i].ReceiptHandle)})
	}
	if len(del) == 0 {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
	defer cancel()
	for i, out := range sqsbatch.Do(dctx, counted(sc, sqsbatch.Delete(r.API, r.DLQURL)), del, sqsbatch.Config{Tries: 3}) {
		e := sent[i]
		if out.Err != nil {
			rep.SentNotDeleted[codeKey(e)]++
			if errors.Is(out.Err, sqsbatch.ErrRefused) {
				sc.forget(e.ReceiptHandle) // the handle is no longer valid: nothing to release
			}
			continue
		}
		sc.forget(e.ReceiptHandle)
		rep.Moved[codeKey(e)]++
		if moved != nil {
			moved(e)
		}
	}
}

// ReplayAttributes is a replayed message's attributes: the dead-lettered
// ones without the failure attributes, with ReplayCount one higher; the
// others by name while the total stays within MaxAttributes (a message SQS
// redrove itself may carry ten of its own).
func ReplayAttributes(attrs map[string]types.MessageAttributeValue, replayCount int) map[string]types.MessageAttributeValue {
	out := map[string]types.MessageAttributeValue{AttrReplayCount: NumberAttr(replayCount + 1)}
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		if k != AttrReplayCount && !slices.Contains(FailureAttributes, k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		if len(out) >= MaxAttributes {
			break
		}
		out[k] = attrs[k]
	}
	return out
}
