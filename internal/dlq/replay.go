package dlq

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// ReplayOptions selects what a replay moves.
type ReplayOptions struct {
	ErrorCodes []string  // move only these ErrorCodes; empty: all
	OlderThan  time.Time // move only those that failed before this; zero: no bound
	NewerThan  time.Time // move only those that failed after this; zero: no bound
	Max        int       // move at most this many; 0: no limit
	MaxReplays int       // skip messages already replayed this many times; 0: default 3
	DryRun     bool      // change nothing; report what would move
	// Progress, if set, is called after each batch.
	Progress func(ReplayReport)
	// Moved, if set, is called for each message moved (or, dry, that would be).
	Moved func(Entry)
}

// DefaultMaxReplays is the loop guard's default.
const DefaultMaxReplays = 3

// ReplayReport counts a replay by ErrorCode.
type ReplayReport struct {
	Moved       map[string]int // sent to the job queue and deleted from the DLQ (or would be, dry)
	Skipped     map[string]int // selected, but replayed MaxReplays times already: left in the DLQ
	NotSelected map[string]int // left in the DLQ
	Failed      map[string]int // send or delete failed: left in the DLQ
	Started     time.Time
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
	for _, m := range []map[string]int{r.Moved, r.Skipped, r.NotSelected, r.Failed} {
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
}

// Replay scans the DLQ once. Each selected message is sent to the job queue
// with its body unchanged, without the failure attributes and with
// ReplayCount one higher, and deleted from the DLQ only after that send
// succeeded. Everything else is made visible again at once when the scan
// ends (also when it ends with an error or ctx is cancelled).
func (r *Replayer) Replay(ctx context.Context, o ReplayOptions) (rep ReplayReport, err error) {
	if o.MaxReplays <= 0 {
		o.MaxReplays = DefaultMaxReplays
	}
	rep = ReplayReport{Moved: map[string]int{}, Skipped: map[string]int{}, NotSelected: map[string]int{}, Failed: map[string]int{}, Started: time.Now()}
	sc := &scanner{api: r.API, queueURL: r.DLQURL}
	defer func() {
		if rerr := sc.release(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	for o.Max == 0 || Total(rep.Moved) < o.Max {
		batch, err := sc.next(ctx)
		if err != nil {
			return rep, err
		}
		if batch == nil {
			break
		}
		var selected []Entry
		for _, e := range batch {
			code := codeKey(e)
			switch {
			case !o.selects(e):
				rep.NotSelected[code]++
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
		} else if err := r.move(ctx, sc, selected, &rep, o.Moved); err != nil {
			return rep, err
		}
		if o.Progress != nil {
			o.Progress(rep)
		}
	}
	return rep, nil
}

func (o ReplayOptions) selects(e Entry) bool {
	if len(o.ErrorCodes) > 0 && !slices.Contains(o.ErrorCodes, e.ErrorCode) {
		return false
	}
	if !o.OlderThan.IsZero() && (e.FailedAt.IsZero() || !e.FailedAt.Before(o.OlderThan)) {
		return false
	}
	if !o.NewerThan.IsZero() && (e.FailedAt.IsZero() || !e.FailedAt.After(o.NewerThan)) {
		return false
	}
	return true
}

func codeKey(e Entry) string {
	if e.ErrorCode == "" {
		return "(none)"
	}
	return e.ErrorCode
}

// move sends selected entries in one batch, then deletes from the DLQ those
// whose send succeeded.
func (r *Replayer) move(ctx context.Context, sc *scanner, selected []Entry, rep *ReplayReport, moved func(Entry)) error {
	if len(selected) == 0 {
		return nil
	}
	entries := make([]types.SendMessageBatchRequestEntry, len(selected))
	for i, e := range selected {
		entries[i] = types.SendMessageBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(i)),
			MessageBody:       aws.String(e.Body),
			MessageAttributes: ReplayAttributes(e.Attributes, e.ReplayCount),
		}
	}
	out, err := r.API.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(r.QueueURL), Entries: entries})
	if err != nil {
		return fmt.Errorf("send to %s: %w", r.QueueURL, err)
	}
	var sent []Entry
	for _, s := range out.Successful {
		if i, err := strconv.Atoi(aws.ToString(s.Id)); err == nil && i >= 0 && i < len(selected) {
			sent = append(sent, selected[i])
		}
	}
	for _, f := range out.Failed {
		if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i >= 0 && i < len(selected) {
			rep.Failed[codeKey(selected[i])]++
		}
	}
	if len(sent) == 0 {
		return nil
	}
	del := make([]types.DeleteMessageBatchRequestEntry, len(sent))
	for i, e := range sent {
		del[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(e.ReceiptHandle)}
	}
	dout, err := r.API.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(r.DLQURL), Entries: del})
	if err != nil {
		// Sent but not deleted: the job is in both queues; the worker's
		// cooldown and Cognito's per-user cap bound the harm. Say so.
		return fmt.Errorf("delete from the DLQ after sending %d messages (they are now in both queues): %w", len(sent), err)
	}
	deleted := map[string]bool{}
	failed := map[string]bool{}
	for _, f := range dout.Failed {
		failed[aws.ToString(f.Id)] = true
	}
	for i, e := range sent {
		if failed[strconv.Itoa(i)] {
			rep.Failed[codeKey(e)]++
			continue
		}
		deleted[e.ReceiptHandle] = true
		rep.Moved[codeKey(e)]++
		if moved != nil {
			moved(e)
		}
	}
	sc.forget(deleted)
	return nil
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
