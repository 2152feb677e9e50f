package app

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/resend-worker/resend-worker/internal/config"
	"github.com/resend-worker/resend-worker/internal/dlq"
	"github.com/resend-worker/resend-worker/internal/redact"
	"github.com/resend-worker/resend-worker/job"
)

// dlqCommand is `worker dlq stats|list ...`.
func dlqCommand(ctx context.Context, args []string, io IO) error {
	if len(args) > 0 {
		switch args[0] {
		case "stats":
			return dlqStatsCommand(ctx, args[1:], io)
		case "list":
			return dlqListCommand(ctx, args[1:], io)
		}
	}
	return &config.Error{Name: "command", Reason: "usage: worker dlq stats [--json] [--sample N] | worker dlq list [--error-code C]... [--older-than D] [--limit N] [--json] [--show-body]"}
}

// dlqStatsCommand is `worker dlq stats [--json] [--sample N]`.
func dlqStatsCommand(ctx context.Context, args []string, io IO) error {
	fs := newFlagSet("dlq stats", io.Stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	sample := fs.Int("sample", dlq.DefaultSample, "read about this many messages for the breakdown by ErrorCode and FailureKind (counts come from the queue's attributes)")
	cfg, err := config.Load(fs, args, io.Env, config.NeedDLQ)
	if err != nil {
		return err
	}
	if *sample < 1 || *sample > dlq.DefaultMaxHeld {
		return &config.Error{Name: "--sample", Reason: fmt.Sprintf("must be from 1 to %d", dlq.DefaultMaxHeld)}
	}
	awsCfg, err := loadAWS(ctx, io.Env, 4)
	if err != nil {
		return err
	}
	st, err := dlq.ReadStats(ctx, sqs.NewFromConfig(awsCfg), cfg.DLQURL, *sample)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(io.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	tw := tabwriter.NewWriter(io.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "messages\t%d\t(SQS's approximate counts: %d visible, %d in flight, %d delayed)\n", st.Total, st.Visible, st.InFlight, st.Delayed)
	fmt.Fprintf(tw, "sampled\t%d\t(the lines below are from this sample, not from every message)\n", st.Sampled)
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
	if st.Untrusted > 0 {
		fmt.Fprintf(tw, "ReplayCount not trusted\t%d\t(not a whole number from 0 to 1,000,000: replay skips them)\n", st.Untrusted)
	}
	return tw.Flush()
}

// deadJob is one line of `dlq list --json`.
type deadJob struct {
	MessageID       string  `json:"messageId"`
	SourceMessageID string  `json:"sourceMessageId"`
	ErrorCode       string  `json:"errorCode"`
	ErrorMessage    string  `json:"errorMessage"`
	FailureKind     string  `json:"failureKind"`
	FailedAt        string  `json:"failedAt"` // RFC 3339, "" if absent
	Attempts        *int    `json:"attempts"`
	ReceiveCount    *int    `json:"receiveCount"`
	ReplayCount     *int    `json:"replayCount"`              // null when not trusted
	ReplayCountRaw  string  `json:"replayCountRaw,omitempty"` // the attribute as found, when not trusted
	User            string  `json:"user"`                     // keyed hash of the username; "" if the body is no job
	Body            *string `json:"body,omitempty"`           // only with --show-body
}

// toDeadJob is e as listed; the user hash comes from h.
func toDeadJob(e dlq.Entry, h *redact.Hasher, showBody bool) deadJob {
	d := deadJob{MessageID: e.MessageID, SourceMessageID: e.SourceMessageID, ErrorCode: e.ErrorCode, FailureKind: e.FailureKind,
		ErrorMessage: attrString(e, dlq.AttrErrorMessage)}
	if !e.FailedAt.IsZero() {
		d.FailedAt = formatTime(e.FailedAt)
	}
	count := func(n int) *int {
		if n < 0 {
			return nil
		}
		return &n
	}
	d.Attempts, d.ReceiveCount = count(e.Attempts), count(e.ReceiveCount)
	if e.ReplayTrusted {
		d.ReplayCount = count(e.ReplayCount)
	} else {
		d.ReplayCountRaw = e.RawReplayCount
	}
	if j, err := job.Parse([]byte(e.Body)); err == nil {
		d.User = h.User(j.Username)
	}
	if showBody {
		d.Body = &e.Body
	}
	return d
}

func attrString(e dlq.Entry, name string) string {
	if a, ok := e.Attributes[name]; ok && a.StringValue != nil {
		return *a.StringValue
	}
	return ""
}

// dlqListCommand is `worker dlq list`: one line per dead job, no bodies
// unless --show-body; every message it read is visible again when it ends.
func dlqListCommand(ctx context.Context, args []string, io IO) error {
	fs := newFlagSet("dlq list", io.Stderr)
	var codes multiFlag
	var olderThan timeFlag
	fs.Var(&codes, "error-code", "list only dead jobs with this ErrorCode (repeatable)")
	fs.Var(&olderThan, "older-than", "list only dead jobs that failed before this (RFC 3339 time, or a duration ago such as 24h)")
	limit := fs.Int("limit", 100, "list at most N dead jobs (0: all the scan reaches)")
	asJSON := fs.Bool("json", false, "print one JSON object a line")
	showBody := fs.Bool("show-body", false, "include each job's body (it holds the username: personal data)")
	maxHeld := maxHeldFlag(fs)
	cfg, err := config.Load(fs, args, io.Env, config.NeedDLQ)
	if err != nil {
		return err
	}
	switch {
	case *limit < 0:
		return &config.Error{Name: "--limit", Reason: "must not be negative"}
	case *maxHeld < 20 || *maxHeld > 120000:
		return maxHeldError
	}
	awsCfg, err := loadAWS(ctx, io.Env, 4)
	if err != nil {
		return err
	}
	rep, err := listDeadJobs(ctx, sqs.NewFromConfig(awsCfg), cfg.DLQURL, dlq.ListOptions{
		Filter: dlq.Filter{ErrorCodes: codes, OlderThan: olderThan.t},
		Limit:  *limit, Limits: dlq.ScanLimits{MaxHeld: *maxHeld},
	}, redact.NewHasher([]byte(cfg.LogUserHashKey)), *asJSON, *showBody, io.Stdout)
	if rep.Read > 0 || err == nil {
		fmt.Fprintf(io.Stderr, "dlq list: %d listed of %d read; every message read is visible again\n", rep.Listed, rep.Read)
	}
	if rep.Incomplete != "" {
		fmt.Fprintf(io.Stderr, "dlq list: stopped before the end of the DLQ: %s\n", rep.Incomplete)
	}
	present := sortedKeys(rep.Codes)
	if rep.Incomplete == "" && (*limit == 0 || rep.Listed < *limit) {
		warnUnknownCodes(io.Stderr, codes, present)
	}
	return err
}

// listDeadJobs writes the dead jobs dlq.List selects to w, as a table or
// JSON lines, hashing usernames with h.
func listDeadJobs(ctx context.Context, api dlq.QueueAPI, dlqURL string, o dlq.ListOptions, h *redact.Hasher, asJSON, showBody bool, w io.Writer) (dlq.ListReport, error) {
	enc := json.NewEncoder(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "MESSAGE ID\tERROR CODE\tFAILURE KIND\tFAILED AT\tATTEMPTS\tRECEIVES\tREPLAYS\tUSER")
	}
	rep, err := dlq.List(ctx, api, dlqURL, o, func(e dlq.Entry) {
		d := toDeadJob(e, h, showBody)
		if asJSON {
			_ = enc.Encode(d)
			return
		}
		replays := intOrDash(d.ReplayCount)
		if d.ReplayCount == nil {
			replays = strconv.Quote(d.ReplayCountRaw) + " (untrusted)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.MessageID, orDash(d.ErrorCode), orDash(d.FailureKind), orDash(d.FailedAt),
			intOrDash(d.Attempts), intOrDash(d.ReceiveCount), replays, orDash(d.User))
		if d.Body != nil {
			fmt.Fprintf(tw, "\tbody: %s\n", strconv.Quote(*d.Body))
		}
	})
	if !asJSON {
		tw.Flush()
	}
	return rep, err
}

func intOrDash(n *int) string {
	if n == nil {
		return "-"
	}
	return strconv.Itoa(*n)
}

// maxHeldFlag is the --max-held flag of the commands that scan the DLQ.
func maxHeldFlag(fs *flag.FlagSet) *int {
	return fs.Int("max-held", dlq.DefaultMaxHeld, "most DLQ messages held at once (SQS allows 120,000 in flight per queue)")
}

var maxHeldError = &config.Error{Name: "--max-held", Reason: "must be from 20 to 120000"}
