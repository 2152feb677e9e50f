package integration

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/dlq"
	"github.com/resend-worker/resend-worker/internal/testenv"
	"github.com/resend-worker/resend-worker/job"
)

// cli runs a worker subcommand to completion against e's back ends.
func (e *env) cli(stdin string, args ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	code, stdout, stderr = runCLI(e.t, e.target("", map[string]string{"ADMIN_ADDR": "-"}).Env(), stdin, args...)
	for _, s := range e.pii {
		if s != "" && strings.Contains(stderr, s) {
			e.t.Errorf("stderr of %v holds personal data %q", args, s)
		}
	}
	return code, stdout, stderr
}

// deadLetter puts a message on e's DLQ as the worker would.
func (e *env) deadLetter(body, code string, failedAt time.Time, replayCount int) {
	e.t.Helper()
	orig := map[string]types.MessageAttributeValue{}
	if replayCount > 0 {
		orig[dlq.AttrReplayCount] = dlq.NumberAttr(replayCount)
	}
	w := &dlq.Writer{API: e.moto.SQS(), DLQURL: e.dlqURL}
	kind := dlq.KindPermanent
	if code == "InvalidJob" {
		kind = dlq.KindInvalid
	}
	if err := w.Write(context.Background(), body, orig, dlq.Failure{ErrorCode: code, ErrorMessage: "m", Kind: kind, SourceMessageID: "src", FailedAt: failedAt, Attempts: 1, ReceiveCount: 1}); err != nil {
		e.t.Fatal(err)
	}
}

func attrInt(m types.Message, name string) int {
	n, _ := strconv.Atoi(aws.ToString(m.MessageAttributes[name].StringValue))
	return n
}

// TestReplayByErrorCode: only the selected code moves; its body is
// unchanged, the failure attributes are gone, ReplayCount is one higher;
// the others stay in the DLQ, visible at once.
func TestReplayByErrorCode(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{})
	now := time.Now()
	for i := 0; i < 12; i++ {
		e.deadLetter(jobBody("u"+strconv.Itoa(i)), "UserNotFoundException", now, 0)
	}
	e.deadLetter(jobBody("x"), "NotAuthorizedException", now, 1)
	e.deadLetter(`{bad`, "InvalidJob", now, 0)

	code, out, stderr := e.cli("", "replay", "--error-code", "UserNotFoundException")
	if code != 0 {
		t.Fatalf("replay exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "UserNotFoundException") || !strings.Contains(out, "total") {
		t.Errorf("summary lacks the count by ErrorCode:\n%s", out)
	}
	if c := e.moto.QueueCounts(t, e.dlqURL); c.Visible != 2 || c.NotVisible != 0 {
		t.Errorf("DLQ after replay = %+v, want the 2 others visible at once", c)
	}
	moved := e.moto.Drain(t, e.queueURL)
	if len(moved) != 12 {
		t.Fatalf("job queue holds %d, want 12", len(moved))
	}
	for _, m := range moved {
		if !strings.HasPrefix(aws.ToString(m.Body), `{"username":"u`) {
			t.Errorf("body changed: %q", aws.ToString(m.Body))
		}
		for _, a := range dlq.FailureAttributes {
			if _, ok := m.MessageAttributes[a]; ok {
				t.Errorf("replayed message still has %s", a)
			}
		}
		if got := attrInt(m, dlq.AttrReplayCount); got != 1 {
			t.Errorf("ReplayCount = %d, want 1", got)
		}
	}
	left := e.moto.Drain(t, e.dlqURL)
	for _, m := range left {
		if aws.ToString(m.MessageAttributes[dlq.AttrErrorCode].StringValue) == "UserNotFoundException" {
			t.Errorf("a selected message stayed in the DLQ")
		}
	}
}

// TestReplayDryRunChangesNothing: --dry-run lists what it would move and
// leaves both queues as they were, everything visible.
func TestReplayDryRunChangesNothing(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{})
	old := time.Now().Add(-48 * time.Hour)
	e.deadLetter(jobBody("a"), "UserNotFoundException", old, 0)
	e.deadLetter(jobBody("b"), "UserNotFoundException", time.Now(), 0)
	code, out, stderr := e.cli("", "replay", "--dry-run", "--older-than", "24h")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := strings.Count("\n"+out, "\nwould move "); n != 1 {
		t.Errorf("dry run listed %d messages, want 1 (only the one older than 24h):\n%s", n, out)
	}
	if c := e.moto.QueueCounts(t, e.dlqURL); c.Visible != 2 || c.NotVisible != 0 {
		t.Errorf("DLQ after dry run = %+v, want 2 visible", c)
	}
	if c := e.moto.QueueCounts(t, e.queueURL); c.Total() != 0 {
		t.Errorf("job queue after dry run = %+v, want empty", c)
	}
}

// TestReplayLoopGuardAndMax: messages replayed --max-replays times are
// skipped and reported; --max bounds what moves.
func TestReplayLoopGuardAndMax(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{})
	for i := 0; i < 5; i++ {
		e.deadLetter(jobBody("fresh"+strconv.Itoa(i)), "UserNotFoundException", time.Now(), 0)
	}
	e.deadLetter(jobBody("poison"), "UserNotFoundException", time.Now(), 3)
	code, out, stderr := e.cli("", "replay", "--max", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if c := e.moto.QueueCounts(t, e.queueURL); c.Visible != 3 {
		t.Errorf("job queue holds %+v, want 3 (--max 3)", c)
	}
	if c := e.moto.QueueCounts(t, e.dlqURL); c.Visible != 3 {
		t.Errorf("DLQ holds %+v, want 3 visible (2 fresh, the poison one)", c)
	}
	// Without --max, the fresh ones move and the poison one is skipped.
	code, out, stderr = e.cli("", "replay")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	fields := strings.Fields(lastLine(out))
	if len(fields) < 3 || fields[0] != "total" || fields[1] != "2" || fields[2] != "1" {
		t.Errorf("summary total line = %q, want 2 moved and 1 skipped:\n%s", lastLine(out), out)
	}
	left := e.moto.Drain(t, e.dlqURL)
	if len(left) != 1 || aws.ToString(left[0].Body) != jobBody("poison") {
		t.Errorf("DLQ holds %d messages, want only the poison job", len(left))
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestReplayAfterUserCreated: a job dead-lettered as UserNotFoundException is
// resent by the worker once the user exists and the job is replayed.
func TestReplayAfterUserCreated(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{})
	e.pii = append(e.pii, "late-user", "late@example.com")
	e.moto.Send(t, e.queueURL, jobBody("late-user"))
	p := e.start(nil)
	p.waitJobs(1, 30*time.Second)
	testenv.Eventually(t, 10*time.Second, "the job in the DLQ", func() bool { return e.moto.QueueCounts(t, e.dlqURL).Visible == 1 })

	must(t, e.cognito.Seed(cognitoemu.SeedSpec{Pools: []cognitoemu.SeedPool{{ID: testPoolID, Users: []cognitoemu.SeedUser{{Username: "late-user", Email: "late@example.com"}}}}}))
	if code, _, stderr := e.cli("", "replay", "--error-code", "UserNotFoundException"); code != 0 {
		t.Fatalf("replay exit %d: %s", code, stderr)
	}
	p.waitJobs(2, 40*time.Second)
	p.stop(25 * time.Second)
	if got := e.cognito.DeliveriesFor("late-user"); got != 1 {
		t.Errorf("late-user got %d codes, want 1", got)
	}
	if c := e.moto.QueueCounts(t, e.dlqURL); c.Total() != 0 {
		t.Errorf("DLQ = %+v, want empty", c)
	}
}

// TestDLQStats counts by ErrorCode and FailureKind and leaves the DLQ as it
// was, every message visible.
func TestDLQStats(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{})
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e.deadLetter(jobBody("a"), "UserNotFoundException", t0, 0)
	e.deadLetter(jobBody("b"), "UserNotFoundException", t0.Add(time.Hour), 2)
	e.deadLetter(`nope`, "InvalidJob", t0.Add(2*time.Hour), 0)
	code, out, stderr := e.cli("", "dlq", "stats", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{`"total": 3`, `"UserNotFoundException": 2`, `"InvalidJob": 1`, `"permanent": 2`, `"invalid": 1`,
		`"oldestFailedAt": "2026-01-02T03:04:05Z"`, `"newestFailedAt": "2026-01-02T05:04:05Z"`, `"maxReplayCount": 2`} {
		if !strings.Contains(out, want) {
			t.Errorf("stats lack %s:\n%s", want, out)
		}
	}
	if c := e.moto.QueueCounts(t, e.dlqURL); c.Visible != 3 || c.NotVisible != 0 {
		t.Errorf("DLQ after stats = %+v, want 3 visible", c)
	}
}

// TestEnqueueFromFile: a bad line is reported by number and the rest are sent.
func TestEnqueueFromFile(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{})
	e.pii = append(e.pii, "file-user-1", "file-user-2", "file-user-3")
	file := filepath.Join(t.TempDir(), "jobs.txt")
	content := "file-user-1\n# a comment\n{\"username\":\"file-user-2\",\"clientMetadata\":{\"source\":\"import\"}}\n{\"username\": 7}\n\nfile-user-3\n"
	must(t, os.WriteFile(file, []byte(content), 0o600))
	code, out, stderr := e.cli("", "enqueue", "--file", file, "--client-metadata", "batch=42")
	if code != 1 {
		t.Errorf("exit %d, want 1 (one bad line)", code)
	}
	if !strings.Contains(stderr, "line 4:") {
		t.Errorf("stderr %q does not name line 4", stderr)
	}
	if n := len(strings.Fields(out)); n != 3 {
		t.Errorf("printed %d message ids, want 3:\n%s", n, out)
	}
	msgs := e.moto.Drain(t, e.queueURL)
	if len(msgs) != 3 {
		t.Fatalf("queue holds %d, want 3", len(msgs))
	}
	meta := map[string]string{}
	for _, m := range msgs {
		j, err := job.Parse([]byte(aws.ToString(m.Body)))
		if err != nil {
			t.Fatalf("sent body is no valid job: %v", err)
		}
		meta[j.Username] = j.ClientMetadata["batch"] + j.ClientMetadata["source"]
	}
	if meta["file-user-1"] != "42" || meta["file-user-2"] != "import" || meta["file-user-3"] != "42" {
		t.Errorf("client metadata = %v: want --client-metadata on plain lines, the job's own on JSON lines", meta)
	}
	// stdin too
	code, out, _ = e.cli("stdin-user\n", "enqueue", "--file", "-")
	e.pii = append(e.pii, "stdin-user")
	if code != 0 || len(strings.Fields(out)) != 1 {
		t.Errorf("enqueue from stdin: exit %d, out %q", code, out)
	}
}

var _ = sqs.SendMessageInput{}

// TestHealthcheckAndVersion: `worker healthcheck` exits 0 against a running
// worker's ADMIN_ADDR and 1 when nothing answers; `worker version` prints.
func TestHealthcheckAndVersion(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{})
	p := e.start(nil)
	check := func(addr string) (int, string) {
		code, stdout, stderr := runCLI(t, []string{"ADMIN_ADDR=" + addr}, "", "healthcheck")
		return code, stdout + stderr
	}
	if code, out := check(p.adminAddr); code != 0 {
		t.Errorf("healthcheck of a running worker: exit %d %q, want 0", code, out)
	}
	// The port the worker listens on, as ":port" (how containers set it).
	if code, out := check(p.adminAddr[strings.LastIndex(p.adminAddr, ":"):]); code != 0 {
		t.Errorf("healthcheck with ADMIN_ADDR=:port: exit %d %q, want 0", code, out)
	}
	p.stop(25 * time.Second)
	if code, _ := check(p.adminAddr); code != 1 {
		t.Errorf("healthcheck with nothing listening: exit %d, want 1", code)
	}
	if code, out, _ := runCLI(t, nil, "", "version"); code != 0 || !strings.HasPrefix(out, "worker ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}
