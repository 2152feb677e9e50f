package integration

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/devenv"
	"github.com/resend-worker/resend-worker/internal/testenv"
)

// dlqWant is what a dead-lettered copy must say.
type dlqWant struct {
	code, kind   string
	attempts     int
	receiveCount int
}

// checkDLQMessage asserts the body and every contract attribute of m.
func checkDLQMessage(t *testing.T, m types.Message, body, sourceID string, want dlqWant, pii []string, since time.Time) {
	t.Helper()
	if got := aws.ToString(m.Body); got != body {
		t.Errorf("DLQ body = %q, want the original %q byte for byte", got, body)
	}
	attr := func(name, dataType string) string {
		a, ok := m.MessageAttributes[name]
		if !ok {
			t.Errorf("DLQ message has no %s attribute", name)
			return ""
		}
		if aws.ToString(a.DataType) != dataType {
			t.Errorf("%s DataType = %s, want %s", name, aws.ToString(a.DataType), dataType)
		}
		return aws.ToString(a.StringValue)
	}
	if got := attr("ErrorCode", "String"); got != want.code {
		t.Errorf("ErrorCode = %q, want %q", got, want.code)
	}
	if got := attr("FailureKind", "String"); got != want.kind {
		t.Errorf("FailureKind = %q, want %q", got, want.kind)
	}
	if got := attr("SourceMessageId", "String"); got != sourceID {
		t.Errorf("SourceMessageId = %q, want %q", got, sourceID)
	}
	msg := attr("ErrorMessage", "String")
	if msg == "" || len([]rune(msg)) > 256 {
		t.Errorf("ErrorMessage = %q: want 1 to 256 characters", msg)
	}
	for _, s := range pii {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("ErrorMessage %q holds personal data", msg)
		}
	}
	failedAt, err := time.Parse(time.RFC3339, attr("FailedAt", "String"))
	if err != nil || failedAt.Location() != time.UTC || failedAt.Before(since.Add(-time.Second).Truncate(time.Second)) || failedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("FailedAt = %v (%v): want RFC 3339 UTC during the test", failedAt, err)
	}
	if got := attr("Attempts", "Number"); got != strconv.Itoa(want.attempts) {
		t.Errorf("Attempts = %s, want %d", got, want.attempts)
	}
	if got := attr("ReceiveCount", "Number"); got != strconv.Itoa(want.receiveCount) {
		t.Errorf("ReceiveCount = %s, want %d", got, want.receiveCount)
	}
}

// TestOutcomeTable sends one job per row of the contract's outcome table to
// one worker and checks, per job, the Cognito calls made, the queue and the
// DLQ.
func TestOutcomeTable(t *testing.T) {
	permanent := []string{
		"NotAuthorizedException", "ResourceNotFoundException", "InvalidParameterException",
		"ForbiddenException", "InvalidEmailRoleAccessPolicyException", "InvalidSmsRoleAccessPolicyException",
		"InvalidSmsRoleTrustRelationshipException", "InvalidLambdaResponseException",
		"UserLambdaValidationException", "OperationNotEnabledException", "LimitExceededException",
	}
	us := []user{
		{name: "ok-user", email: "ok@example.com"},
		{name: "confirmed-user", email: "confirmed@example.com", confirmed: true},
	}
	for i, code := range permanent {
		us = append(us, user{name: fmt.Sprintf("perm-%02d", i), email: fmt.Sprintf("perm%02d@example.com", i)})
		_ = code
	}
	e := newEnv(t, cognitoemu.Options{}, us...)
	e.pii = append(e.pii, "ghost-user")
	for i, code := range permanent {
		if err := e.cognito.AddFault(cognitoemu.Fault{Username: fmt.Sprintf("perm-%02d", i), Count: 1, Code: code, Message: "injected " + code}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	type row struct {
		username, body string
		calls          int
		deliveries     int
		dlq            *dlqWant
	}
	rows := []row{
		{username: "ok-user", calls: 1, deliveries: 1},
		{username: "confirmed-user", calls: 1},
		{username: "ghost-user", calls: 1, dlq: &dlqWant{code: "UserNotFoundException", kind: "permanent", attempts: 1, receiveCount: 1}},
		{username: "", body: `{"user": "nobody"}`, dlq: &dlqWant{code: "InvalidJob", kind: "invalid", attempts: 0, receiveCount: 1}},
		{username: "", body: `not json at all`, dlq: &dlqWant{code: "InvalidJob", kind: "invalid", attempts: 0, receiveCount: 1}},
	}
	for i, code := range permanent {
		rows = append(rows, row{username: fmt.Sprintf("perm-%02d", i), calls: 1, dlq: &dlqWant{code: code, kind: "permanent", attempts: 1, receiveCount: 1}})
	}
	ids := map[string]string{} // body → message id
	for i := range rows {
		if rows[i].body == "" {
			rows[i].body = jobBody(rows[i].username)
		}
		ids[rows[i].body] = e.moto.Send(t, e.queueURL, rows[i].body)[0]
	}

	p := e.start(nil)
	p.waitJobs(len(rows), 60*time.Second)
	dead := e.moto.Drain(t, e.dlqURL)
	metrics := p.metrics()
	p.stop(25 * time.Second)

	// Every metric of the contract, with the values this batch implies.
	for name, want := range map[string]float64{
		`resend_jobs_total{outcome="resent"}`:                             1,
		`resend_jobs_total{outcome="already_confirmed"}`:                  1,
		`resend_jobs_total{outcome="dead_lettered"}`:                      float64(len(rows) - 2),
		`resend_cognito_requests_total{code="OK"}`:                        1,
		`resend_cognito_requests_total{code="UserNotFoundException"}`:     1,
		`resend_cognito_requests_total{code="InvalidParameterException"}`: 2,
		`resend_sqs_requests_total{op="SendMessage"}`:                     float64(len(rows) - 2),
		`resend_inflight_jobs`:                                            0,
		`resend_cognito_rate_limit`:                                       20,
		`resend_cognito_request_duration_seconds_count`:                   float64(len(rows) - 2),
	} {
		if got, ok := metrics[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if metrics[`resend_sqs_requests_total{op="ReceiveMessage"}`] < 1 || metrics[`resend_sqs_requests_total{op="DeleteMessageBatch"}`] < 1 {
		t.Errorf("SQS requests not counted by operation: %v", metrics)
	}

	byBody := map[string]types.Message{}
	for _, m := range dead {
		byBody[aws.ToString(m.Body)] = m
	}
	wantDLQ := 0
	for _, r := range rows {
		name := r.username
		if name == "" {
			name = r.body
		}
		t.Run(name, func(t *testing.T) {
			if r.username != "" {
				if got := len(e.callsFor(r.username)); got != r.calls {
					t.Errorf("Cognito calls = %d, want %d", got, r.calls)
				}
				if got := e.cognito.DeliveriesFor(r.username); got != r.deliveries {
					t.Errorf("codes delivered = %d, want %d", got, r.deliveries)
				}
			}
			m, inDLQ := byBody[r.body]
			if r.dlq == nil {
				if inDLQ {
					t.Errorf("dead-lettered, want deleted")
				}
				return
			}
			if !inDLQ {
				t.Fatalf("not in the DLQ")
			}
			checkDLQMessage(t, m, r.body, ids[r.body], *r.dlq, e.pii, start)
		})
		if r.dlq != nil {
			wantDLQ++
		}
	}
	if len(dead) != wantDLQ {
		t.Errorf("DLQ holds %d messages, want %d", len(dead), wantDLQ)
	}
	if c := e.moto.QueueCounts(t, e.queueURL); c.Total() != 0 {
		t.Errorf("job queue still holds %+v, want empty", c)
	}
	if total := len(e.cognito.Calls()); total != len(rows)-2 {
		t.Errorf("Cognito calls in all = %d, want %d (one per valid job)", total, len(rows)-2)
	}
	// One outcome line per job with the contract's fields.
	lines := p.logLines("job")
	if len(lines) != len(rows) {
		t.Errorf("%d job log lines, want %d", len(lines), len(rows))
	}
	for _, l := range lines {
		for _, k := range []string{"msg_id", "outcome", "error_code", "attempts", "receive_count", "duration_ms", "user"} {
			if _, ok := l[k]; !ok {
				t.Errorf("job log line lacks %q: %v", k, l)
			}
		}
	}
}

// TestOriginalAttributesKept: a job's own message attributes travel to the
// DLQ while the total stays within 10.
func TestOriginalAttributesKept(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{})
	attrs := map[string]types.MessageAttributeValue{}
	for _, n := range []string{"a", "b", "c", "d", "ReplayCount"} {
		attrs[n] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String("v-" + n)}
	}
	attrs["ReplayCount"] = types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String("2")}
	if _, err := e.moto.SQS().SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: aws.String(e.queueURL), MessageBody: aws.String("[]"), MessageAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
	p := e.start(nil)
	p.waitJobs(1, 30*time.Second)
	dead := e.moto.Drain(t, e.dlqURL)
	p.stop(25 * time.Second)
	if len(dead) != 1 {
		t.Fatalf("DLQ holds %d messages, want 1", len(dead))
	}
	got := dead[0].MessageAttributes
	if len(got) != 10 {
		t.Errorf("%d attributes, want 10 (7 of the contract + 3 originals)", len(got))
	}
	for _, n := range []string{"ReplayCount", "a", "b"} {
		if _, ok := got[n]; !ok {
			t.Errorf("original attribute %s not kept", n)
		}
	}
	if v := aws.ToString(got["ReplayCount"].StringValue); v != "2" {
		t.Errorf("ReplayCount = %s, want 2", v)
	}
}

// TestTransientThatClears: throttled twice, then success → one code, nothing
// dead-lettered, three calls in one receive.
func TestTransientThatClears(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{}, user{name: "flaky", email: "flaky@example.com"}, user{name: "flaky2", email: "flaky2@example.com"})
	must(t, e.cognito.AddFault(cognitoemu.Fault{Username: "flaky", Count: 2, Code: "TooManyRequestsException"}))
	must(t, e.cognito.AddFault(cognitoemu.Fault{Username: "flaky2", Count: 2, Code: "InternalErrorException"}))
	e.moto.Send(t, e.queueURL, jobBody("flaky"), jobBody("flaky2"))
	p := e.start(map[string]string{"RETRY_INITIAL_INTERVAL": "50ms"})
	p.waitJobs(2, 30*time.Second)
	p.stop(25 * time.Second)
	for _, u := range []string{"flaky", "flaky2"} {
		if got := len(e.callsFor(u)); got != 3 {
			t.Errorf("%s: %d calls, want 3", u, got)
		}
		if got := e.cognito.DeliveriesFor(u); got != 1 {
			t.Errorf("%s: %d codes, want 1", u, got)
		}
	}
	if c := e.moto.QueueCounts(t, e.dlqURL); c.Total() != 0 {
		t.Errorf("DLQ holds %+v, want empty", c)
	}
	if c := e.moto.QueueCounts(t, e.queueURL); c.Total() != 0 {
		t.Errorf("queue holds %+v, want empty", c)
	}
	for _, l := range p.logLines("job") {
		if l["outcome"] != "resent" || l["attempts"] != 3.0 {
			t.Errorf("job line %v: want outcome resent after 3 attempts", l)
		}
	}
}

// TestTransientExhausted: an error that never clears is retried within the
// budget, requeued with the doubling delay, and dead-lettered as exhausted
// on receive MAX_RECEIVES.
func TestTransientExhausted(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{}, user{name: "doomed", email: "doomed@example.com"})
	must(t, e.cognito.AddFault(cognitoemu.Fault{Username: "doomed", UntilCleared: true, Code: "InternalErrorException"}))
	body := jobBody("doomed")
	id := e.moto.Send(t, e.queueURL, body)[0]
	start := time.Now()
	p := e.start(map[string]string{
		"RETRY_INITIAL_INTERVAL": "100ms", "RETRY_MAX_INTERVAL": "200ms", "RETRY_MAX_ELAPSED": "500ms",
		"REQUEUE_DELAY": "1s", "MAX_RECEIVES": "3",
	})
	p.waitJobs(3, 60*time.Second)
	dead := e.moto.Drain(t, e.dlqURL)
	p.stop(25 * time.Second)

	lines := p.logLines("job")
	if len(lines) != 3 {
		t.Fatalf("%d job lines, want 3 (requeued, requeued, dead_lettered)", len(lines))
	}
	for i, want := range []string{"requeued", "requeued", "dead_lettered"} {
		if lines[i]["outcome"] != want || lines[i]["receive_count"] != float64(i+1) || lines[i]["error_code"] != "InternalErrorException" {
			t.Errorf("line %d = %v, want outcome %s on receive %d", i, lines[i], want, i+1)
		}
	}
	// REQUEUE_DELAY respected: receive 2 starts ≥ 1s after receive 1 ended,
	// receive 3 ≥ 2s after receive 2.
	calls := e.callsFor("doomed")
	var receiveStarts []time.Time
	attemptsIn := []int{}
	for i, c := range calls {
		if i == 0 || c.Time.Sub(calls[i-1].Time) > 900*time.Millisecond {
			receiveStarts = append(receiveStarts, c.Time)
			attemptsIn = append(attemptsIn, 0)
		}
		attemptsIn[len(attemptsIn)-1]++
	}
	if len(receiveStarts) != 3 {
		t.Fatalf("calls fall into %d receives, want 3: %v", len(receiveStarts), calls)
	}
	for i, wantGap := range []time.Duration{time.Second, 2 * time.Second} {
		if gap := receiveStarts[i+1].Sub(receiveStarts[i]); gap < wantGap {
			t.Errorf("receive %d came %s after receive %d, want at least %s", i+2, gap, i+1, wantGap)
		}
	}
	if len(dead) != 1 {
		t.Fatalf("DLQ holds %d, want 1", len(dead))
	}
	checkDLQMessage(t, dead[0], body, id, dlqWant{code: "InternalErrorException", kind: "exhausted", attempts: attemptsIn[2], receiveCount: 3}, e.pii, start)
	if c := e.moto.QueueCounts(t, e.queueURL); c.Total() != 0 {
		t.Errorf("queue holds %+v, want empty", c)
	}
}

// TestDLQSendFails: with a DLQ that no longer exists (deleted after the
// worker started), a permanent failure stays on the job queue and the error
// is logged.
func TestDLQSendFails(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{})
	e.pii = append(e.pii, "nobody-here")
	p := e.start(map[string]string{"REQUEUE_DELAY": "10m"})
	if _, err := e.moto.SQS().DeleteQueue(ctx(), &sqs.DeleteQueueInput{QueueUrl: aws.String(e.dlqURL)}); err != nil {
		t.Fatal(err)
	}
	e.moto.Send(t, e.queueURL, jobBody("nobody-here"))
	p.waitJobs(1, 30*time.Second)
	p.stop(25 * time.Second)
	if c := e.moto.QueueCounts(t, e.queueURL); c.Total() != 1 {
		t.Errorf("job queue holds %+v, want the job still there", c)
	}
	lines := p.logLines("job")
	if len(lines) != 1 || lines[0]["outcome"] != "requeued" || lines[0]["level"] != "error" || lines[0]["dlq_error"] == nil {
		t.Errorf("job lines = %v, want one error line, outcome requeued, with dlq_error", lines)
	}
}

// TestSIGTERMInFlight: jobs in flight at SIGTERM are released (visible at
// once), the worker exits 0 within SHUTDOWN_TIMEOUT, nothing is lost.
func TestSIGTERMInFlight(t *testing.T) {
	us := users("slow", 8)
	e := newEnv(t, cognitoemu.Options{Latency: 4 * time.Second}, us...)
	for _, u := range us {
		e.moto.Send(t, e.queueURL, jobBody(u.name))
	}
	p := e.start(map[string]string{"WORKER_CONCURRENCY": "4", "SHUTDOWN_TIMEOUT": "2s"})
	testenv.Eventually(t, 20*time.Second, "4 jobs in flight", func() bool {
		return p.metrics()["resend_inflight_jobs"] == 4
	})
	took := p.stop(10 * time.Second)
	t.Logf("shutdown with 4 jobs in flight took %s", took)
	if p.exitCode != 0 {
		t.Errorf("exit code %d, want 0", p.exitCode)
	}
	if took > 2500*time.Millisecond {
		t.Errorf("shutdown took %s, want within SHUTDOWN_TIMEOUT 2s", took)
	}
	c := e.moto.QueueCounts(t, e.queueURL)
	if c.Visible != 8 || c.NotVisible != 0 {
		t.Errorf("queue after shutdown = %+v, want all 8 visible at once", c)
	}
}

// TestBurst500: 500 jobs with concurrency 16 are all processed, each user
// gets exactly one code, and the test reports SQS requests per job.
func TestBurst500(t *testing.T) {
	const n = 500
	us := users("burst", n)
	e := newEnv(t, cognitoemu.Options{}, us...)
	sendBatch(t, e, us)
	start := time.Now()
	p := e.start(map[string]string{"WORKER_CONCURRENCY": "16", "COGNITO_MAX_RPS": "1000", "LOG_LEVEL": "info"})
	p.waitJobs(n, 120*time.Second)
	took := time.Since(start)
	e.waitEmpty(e.queueURL)
	m := p.metrics()
	p.stop(25 * time.Second)
	sqsReqs := devenv.SumMetrics(m, "resend_sqs_requests_total{")
	resent, dedup := m[`resend_jobs_total{outcome="resent"}`], m[`resend_jobs_total{outcome="deduplicated"}`]
	t.Logf("burst: %d jobs in %s (%.0f jobs/s on moto); %.0f SQS requests = %.3f per job; %.0f duplicate deliveries deduplicated",
		n, took.Round(time.Millisecond), n/took.Seconds(), sqsReqs, sqsReqs/n, dedup)
	if resent != n {
		t.Errorf("resent = %.0f, want %d", resent, n)
	}
	for _, u := range us {
		if got := e.cognito.DeliveriesFor(u.name); got != 1 {
			t.Errorf("%s got %d codes, want 1", u.name, got)
		}
	}
	if c := e.moto.QueueCounts(t, e.dlqURL); c.Total() != 0 {
		t.Errorf("DLQ holds %+v, want empty", c)
	}
}

func sendBatch(t *testing.T, e *env, us []user) {
	t.Helper()
	bodies := make([]string, len(us))
	for i, u := range us {
		bodies[i] = jobBody(u.name)
	}
	sendBodies(t, e, bodies)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
