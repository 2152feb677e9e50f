package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/resend-worker/resend-worker/internal/config"
	"github.com/resend-worker/resend-worker/internal/dlq"
)

// replayCommand moves dead-lettered jobs back to the job queue.
func replayCommand(ctx context.Context, args []string, io IO) error {
	fs := newFlagSet("replay", io.Stderr)
	var codes multiFlag
	var olderThan, newerThan timeFlag
	dry := fs.Bool("dry-run", false, "change nothing; print what would move")
	maxN := fs.Int("max", 0, "move at most N messages (0: all)")
	maxReplays := fs.Int("max-replays", dlq.DefaultMaxReplays, "skip messages already replayed this many times")
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
	}
	awsCfg, err := loadAWS(ctx, io.Env, 4)
	if err != nil {
		return err
	}
	r := &dlq.Replayer{API: sqs.NewFromConfig(awsCfg), QueueURL: sendQueue(cfg, !*interactive), DLQURL: cfg.DLQURL}
	progress := newProgress(io.Stderr)
	opts := dlq.ReplayOptions{
		ErrorCodes: codes, OlderThan: olderThan.t, NewerThan: newerThan.t,
		Max: *maxN, MaxReplays: *maxReplays, DryRun: *dry, Progress: progress.update,
	}
	if *dry {
		opts.Moved = func(e dlq.Entry) {
			fmt.Fprintf(io.Stdout, "would move %s ErrorCode=%s FailedAt=%s ReplayCount=%d\n",
				e.MessageID, e.ErrorCode, formatTime(e.FailedAt), e.ReplayCount)
		}
	}
	rep, err := r.Replay(ctx, opts)
	progress.done()
	printReplayReport(io.Stdout, rep, *dry)
	return err
}

func printReplayReport(w io.Writer, rep dlq.ReplayReport, dry bool) {
	verb := "moved"
	if dry {
		verb = "would move"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ErrorCode\t%s\tskipped (replayed too often)\tnot selected\tfailed\n", verb)
	for _, c := range rep.Codes() {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", c, rep.Moved[c], rep.Skipped[c], rep.NotSelected[c], rep.Failed[c])
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\n", dlq.Total(rep.Moved), dlq.Total(rep.Skipped), dlq.Total(rep.NotSelected), dlq.Total(rep.Failed))
	tw.Flush()
}

// progress prints a rewriting line on a terminal, plain lines otherwise.
type progress struct {
	w        io.Writer
	terminal bool
	start    time.Time
	last     time.Time
	wrote    bool
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, terminal: isTerminal(w), start: time.Now()}
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
	line := fmt.Sprintf("replay: %d moved (%.0f/s), %d skipped, %d left; %s", moved, rate,
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

// dlqCommand is `worker dlq stats [--json]`.
func dlqCommand(ctx context.Context, args []string, io IO) error {
	if len(args) == 0 || args[0] != "stats" {
		return &config.Error{Name: "command", Reason: "usage: worker dlq stats [--json]"}
	}
	fs := newFlagSet("dlq stats", io.Stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	cfg, err := config.Load(fs, args[1:], io.Env, config.NeedDLQ)
	if err != nil {
		return err
	}
	awsCfg, err := loadAWS(ctx, io.Env, 4)
	if err != nil {
		return err
	}
	st, err := dlq.ReadStats(ctx, sqs.NewFromConfig(awsCfg), cfg.DLQURL)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(io.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	tw := tabwriter.NewWriter(io.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "messages\t%d\n", st.Total)
	for _, k := range sortedKeys(st.ByErrorCode) {
		fmt.Fprintf(tw, "ErrorCode %s\t%d\n", k, st.ByErrorCode[k])
	}
	for _, k := range sortedKeys(st.ByFailureKind) {
		fmt.Fprintf(tw, "FailureKind %s\t%d\n", k, st.ByFailureKind[k])
	}
	oldest, newest := "-", "-"
	if st.OldestFailedAt != nil {
		oldest, newest = formatTime(*st.OldestFailedAt), formatTime(*st.NewestFailedAt)
	}
	fmt.Fprintf(tw, "oldest FailedAt\t%s\nnewest FailedAt\t%s\nmost replays\t%d\n", oldest, newest, st.MaxReplayCount)
	return tw.Flush()
}
