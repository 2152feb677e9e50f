package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/resend-worker/resend-worker/internal/config"
	"github.com/resend-worker/resend-worker/internal/dlq"
	"github.com/resend-worker/resend-worker/internal/sqsbatch"
)

// replayCommand moves dead-lettered jobs back to the job queue.
func replayCommand(ctx context.Context, args []string, io IO) error {
	fs := newFlagSet("replay", io.Stderr)
	var codes multiFlag
	var olderThan, newerThan timeFlag
	dry := fs.Bool("dry-run", false, "change nothing; print what would move")
	maxN := fs.Int("max", 0, "move at most N messages (0: all)")
	maxReplays := fs.Int("max-replays", dlq.DefaultMaxReplays, "skip messages already replayed this many times")
	hold := fs.Duration("hold", dlq.ScanHold, "how long a pass hides what it read; a pass ends a tenth earlier and gives back what it left")
	maxHeld := maxHeldFlag(fs)
	fs.Var(&codes, "error-code", "move only messages with this ErrorCode (repeatable)")
	fs.Var(&olderThan, "older-than", "move only messages that failed before this (RFC 3339 time, or a duration ago such as 24h)")
	fs.Var(&newerThan, "newer-than", "move only messages that failed after this (RFC 3339 time, or a duration ago)")
	interactive := interactiveFlag(fs)
	cfg, err := config.Load(fs, args, io.Env, config.NeedQueues)
	if err != nil {
		return err
	}
	switch {
	case *maxN < 0:
		return &config.Error{Name: "--max", Reason: "must not be negative"}
	case *maxReplays < 1:
		return &config.Error{Name: "--max-replays", Reason: "must be at least 1"}
	case *hold < 10*time.Second || *hold > 12*time.Hour:
		return &config.Error{Name: "--hold", Reason: "must be from 10s to 12h (SQS's visibility timeout range)"}
	case *maxHeld < 20 || *maxHeld > 120000:
		return maxHeldError
	}
	awsCfg, err := loadAWS(ctx, io.Env, 4)
	if err != nil {
		return err
	}
	api := sqs.NewFromConfig(awsCfg)
	target := sendQueue(cfg, !*interactive)
	maxSize, err := sqsbatch.MaxMessageSize(ctx, api, target)
	if err != nil {
		return err
	}
	r := &dlq.Replayer{API: api, QueueURL: target, DLQURL: cfg.DLQURL, MaxSize: maxSize}
	progress := newProgress(io.Stderr, *dry)
	opts := dlq.ReplayOptions{
		Filter: dlq.Filter{ErrorCodes: codes, OlderThan: olderThan.t, NewerThan: newerThan.t},
		Max:    *maxN, MaxReplays: *maxReplays, DryRun: *dry, Progress: progress.update,
		Limits: dlq.ScanLimits{Hold: *hold, MaxHeld: *maxHeld},
	}
	if *dry {
		opts.Moved = func(e dlq.Entry) {
			fmt.Fprintf(io.Stdout, "would move %s (DLQ message %s) ErrorCode=%s FailedAt=%s ReplayCount=%d\n",
				orDash(e.SourceMessageID), e.MessageID, e.ErrorCode, formatTime(e.FailedAt), e.ReplayCount)
		}
	}
	start := time.Now()
	rep, err := r.Replay(ctx, opts)
	progress.done()
	fmt.Fprintf(io.Stdout, "%d passes, %d SQS requests, at most %d messages held, %s\n",
		rep.Passes, rep.Requests, rep.PeakHeld, time.Since(start).Round(time.Millisecond))
	if rep.Untrusted > 0 {
		fmt.Fprintf(io.Stdout, "%d skipped with a ReplayCount the worker did not write (not a whole number from 0 to 1,000,000): counted as over --max-replays\n", rep.Untrusted)
	}
	if rep.Incomplete != "" {
		fmt.Fprintf(io.Stdout, "not every message was examined: %s; run replay again once this one's messages are back\n", rep.Incomplete)
	}
	printReplayReport(io.Stdout, rep, *dry) // last: the contract's closing count by ErrorCode
	warnUnknownCodes(io.Stderr, codes, rep.Codes())
	if err == nil && dlq.Total(rep.Failed)+dlq.Total(rep.SentNotDeleted) > 0 {
		err = fmt.Errorf("replay: %d failed (left in the DLQ), %d sent but not deleted from the DLQ (now in both queues)",
			dlq.Total(rep.Failed), dlq.Total(rep.SentNotDeleted))
	}
	return err
}

// warnUnknownCodes warns about each --error-code no dead job read carries,
// with the codes that are there (a wrong case selects nothing).
func warnUnknownCodes(w io.Writer, requested, present []string) {
	for _, c := range requested {
		if !slices.Contains(present, c) {
			fmt.Fprintf(w, "warning: no dead job read carries ErrorCode %q; the codes there: %s\n", c, strings.Join(orNone(present), ", "))
		}
	}
}

func orNone(s []string) []string {
	if len(s) == 0 {
		return []string{"(none: the DLQ is empty)"}
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printReplayReport(w io.Writer, rep dlq.ReplayReport, dry bool) {
	verb := "moved"
	if dry {
		verb = "would move"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ErrorCode\t%s\tskipped (replayed too often)\tnot selected\tfailed\tsent, not deleted\n", verb)
	for _, c := range rep.Codes() {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", c, rep.Moved[c], rep.Skipped[c], rep.NotSelected[c], rep.Failed[c], rep.SentNotDeleted[c])
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\n", dlq.Total(rep.Moved), dlq.Total(rep.Skipped), dlq.Total(rep.NotSelected), dlq.Total(rep.Failed), dlq.Total(rep.SentNotDeleted))
	tw.Flush()
}

// progress prints a rewriting line on a terminal, plain lines otherwise.
type progress struct {
	w        io.Writer
	verb     string // "moved", or "would move" for a dry run
	terminal bool
	start    time.Time
	last     time.Time
	wrote    bool
}

func newProgress(w io.Writer, dry bool) *progress {
	verb := "moved"
	if dry {
		verb = "would move"
	}
	return &progress{w: w, verb: verb, terminal: isTerminal(w), start: time.Now()}
}

func (p *progress) update(rep dlq.ReplayReport) {
	now := time.Now()
	if !p.terminal && now.Sub(p.last) < 5*time.Second {
		return
	}
	p.last = now
	moved := dlq.Total(rep.Moved)
	rate := float64(moved) / max(now.Sub(p.start).Seconds(), 0.001)
	var parts []string
	for _, c := range rep.Codes() {
		if rep.Moved[c] > 0 {
			parts = append(parts, c+"="+strconv.Itoa(rep.Moved[c]))
		}
	}
	line := fmt.Sprintf("replay: %d %s (%.0f/s), %d skipped, %d left; %s", moved, p.verb, rate,
		dlq.Total(rep.Skipped), dlq.Total(rep.NotSelected), strings.Join(parts, " "))
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.wrote = true
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) done() {
	if p.wrote {
		fmt.Fprintln(p.w)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// timeFlag takes an RFC 3339 time or a duration meaning "that long ago".
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string { return formatTime(f.t) }
func (f *timeFlag) Set(v string) error {
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return fmt.Errorf("%q: a duration ago must not be negative", v)
		}
		f.t = time.Now().Add(-d)
		return nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return fmt.Errorf("%q is neither an RFC 3339 time nor a duration", v)
	}
	f.t = t
	return nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
