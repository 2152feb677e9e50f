package integration

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/devenv"
	"github.com/resend-worker/resend-worker/internal/ledger"
	"github.com/resend-worker/resend-worker/internal/testenv"
)

// ledgerEnv is e with a fresh COOLDOWN_TABLE on moto, and the worker
// environment that uses it: the fleet-wide user hash key, a 2-minute
// cooldown, and a 1 s requeue delay so that a job requeued as busy comes
// back soon.
func ledgerEnv(t *testing.T, e *env) map[string]string {
	t.Helper()
	table := fmt.Sprintf("ledger-%d", time.Now().UnixNano())
	must(t, e.moto.CreateLedgerTable(ctx(), table))
	return map[string]string{
		"COOLDOWN_TABLE":            table,
		"AWS_ENDPOINT_URL_DYNAMODB": e.moto.URL,
		"LOG_USER_HASH_KEY":         "fleet-key",
		"USER_COOLDOWN":             "120s",
		"REQUEUE_DELAY":             "1s",
		"LOG_LEVEL":                 "info",
	}
}

func withEnv(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// enqueueRepeated sends each user's job 2 or 3 times, shuffled.
func enqueueRepeated(t *testing.T, e *env, us []user) int {
	var jobs []user
	for i, u := range us {
		for range 2 + i%2 {
			jobs = append(jobs, u)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
	sendBatch(t, e, jobs)
	return len(jobs)
}

// waitDrained waits until the job queue holds nothing (requeued jobs count
// while delayed or in flight).
func waitDrained(t *testing.T, e *env, timeout time.Duration, ps ...*proc) {
	t.Helper()
	testenv.Eventually(t, timeout, "the job queue to empty", func() bool {
		for _, p := range ps {
			if p.exited() {
				t.Fatalf("a worker exited with %d", p.exitCode)
			}
		}
		return e.moto.QueueCounts(t, e.queueURL).Total() == 0
	})
}

// codesPerUser counts users by how many codes they got: more than one is
// a duplicate, none is a miss.
func codesPerUser(t *testing.T, e *env, us []user) (duplicated, missed []string) {
	t.Helper()
	for _, u := range us {
		switch n := e.cognito.DeliveriesFor(u.name); {
		case n == 0:
			missed = append(missed, u.name)
		case n > 1:
			duplicated = append(duplicated, fmt.Sprintf("%s×%d", u.name, n))
		}
	}
	return duplicated, missed
}

// ledgerRequests sums resend_ledger_requests_total of the job's ops (not the
// fleet's heartbeats) over the workers.
func ledgerRequests(ms ...map[string]float64) (jobOps, all float64) {
	for _, m := range ms {
		all += devenv.SumMetrics(m, "resend_ledger_requests_total{")
		for _, op := range []string{"claim", "sent", "release", "renew"} {
			jobOps += devenv.SumMetrics(m, `resend_ledger_requests_total{op="`+op+`"`)
		}
	}
	return jobOps, all
}

// 3 workers, each user's job enqueued 2 or 3 times: exactly one code each.
func TestLedgerOneCodePerUserAcrossWorkers(t *testing.T) {
	us := users("fleet", 60)
	e := newEnv(t, cognitoemu.Options{Quota: 40, Latency: 20 * time.Millisecond}, us...)
	extra := ledgerEnv(t, e)
	jobs := enqueueRepeated(t, e, us)
	var ps []*proc
	for range 3 {
		ps = append(ps, e.start(withEnv(extra, "COGNITO_MAX_RPS", "40", "WORKER_CONCURRENCY", "16")))
	}
	waitDrained(t, e, 2*time.Minute, ps...)
	var ms []map[string]float64
	resent, dedup := 0.0, 0.0
	for _, p := range ps {
		m := p.metrics()
		ms = append(ms, m)
		resent += m[`resend_jobs_total{outcome="resent"}`]
		dedup += m[`resend_jobs_total{outcome="deduplicated"}`]
	}
	duplicated, missed := codesPerUser(t, e, us)
	jobOps, _ := ledgerRequests(ms...)
	t.Logf("%d users, %d jobs: %d users with more than one code, %d with none; resent %.0f, deduplicated %.0f; %.2f DynamoDB requests per job",
		len(us), jobs, len(duplicated), len(missed), resent, dedup, jobOps/float64(jobs))
	if len(duplicated) != 0 || len(missed) != 0 {
		t.Errorf("users with more than one code: %v; with none: %v", duplicated, missed)
	}
	if int(resent) != len(us) || int(resent+dedup) < jobs {
		t.Errorf("resent %.0f (want %d), deduplicated %.0f: %d jobs", resent, len(us), dedup, jobs)
	}
	if r := jobOps / float64(resent+dedup); r > 2 {
		t.Errorf("%.2f DynamoDB requests per finished job, want at most 2", r)
	}
	for _, p := range ps {
		p.stop(25 * time.Second)
	}
	checkLedgerTable(t, e, extra["COOLDOWN_TABLE"], us)
}

// checkLedgerTable reads the whole table: each user has a sent-mark under
// the key keyed by the client secret, and no item holds a username or the
// secret in any attribute.
func checkLedgerTable(t *testing.T, e *env, table string, us []user) {
	t.Helper()
	out, err := e.moto.DynamoDB().Scan(ctx(), &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("scan %s: %v", table, err)
	}
	state := map[string]string{}
	for _, item := range out.Items {
		pk, _ := scalar(item["pk"])
		state[pk], _ = scalar(item["state"])
		var text strings.Builder
		for name, v := range item {
			value, ok := scalar(v)
			if !ok {
				t.Errorf("ledger item %s: attribute %s is a %T, which the ledger never writes", pk, name, v)
			}
			text.WriteString(name + "=" + value + "\n")
		}
		for _, u := range us {
			if strings.Contains(text.String(), u.name) {
				t.Errorf("ledger item %s holds a username", pk)
			}
		}
		if strings.Contains(text.String(), e.secret) {
			t.Errorf("ledger item %s holds the client secret", pk)
		}
	}
	for _, u := range us {
		k := string(ledger.UserKey(e.clientID, e.secret, u.name))
		if !strings.HasPrefix(k, "k#") || state[k] != "sent" {
			t.Errorf("user %s: item %q in state %q, want a sent-mark under the secret-keyed hash", u.name, k, state[k])
		}
	}
	t.Logf("ledger table: %d items, %d users' sent-marks under HMAC keys", len(out.Items), len(us))
}

// scalar is the value of a String or Number attribute, the only types the
// ledger writes; ok is false for any other.
func scalar(v ddbtypes.AttributeValue) (value string, ok bool) {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return v.Value, true
	case *ddbtypes.AttributeValueMemberN:
		return v.Value, true
	}
	return "", false
}

// Two jobs for one user in one receive batch of one worker: one code, and
// the second job never reaches the table (the in-process claim answers).
func TestLedgerTwoJobsInOneBatch(t *testing.T) {
	us := users("batch", 25)
	e := newEnv(t, cognitoemu.Options{Latency: 100 * time.Millisecond}, us...)
	extra := ledgerEnv(t, e)
	var jobs []user
	for _, u := range us {
		jobs = append(jobs, u, u) // adjacent: the same batch of 10 on send and, on moto, on receive
	}
	sendBatch(t, e, jobs)
	p := e.start(withEnv(extra, "WORKER_CONCURRENCY", "32", "COGNITO_MAX_RPS", "50"))
	waitDrained(t, e, time.Minute, p)
	m := p.metrics()
	duplicated, missed := codesPerUser(t, e, us)
	if len(duplicated) != 0 || len(missed) != 0 {
		t.Errorf("users with more than one code: %v; with none: %v", duplicated, missed)
	}
	if got := m[`resend_jobs_total{outcome="deduplicated"}`]; int(got) != len(us) {
		t.Errorf("deduplicated = %.0f, want %d", got, len(us))
	}
	claims := devenv.SumMetrics(m, `resend_ledger_requests_total{op="claim"`)
	if int(claims) != len(us) {
		t.Errorf("%.0f claims in the table for %d users: the second job of a user should be answered in process", claims, len(us))
	}
	p.stop(25 * time.Second)
}

// kill -9 of one of 3 workers mid-drain: every user is resent (the dead
// worker's claims expire, its messages come back), and the only duplicates
// are of jobs it had in flight.
func TestLedgerKillOneWorkerMidDrain(t *testing.T) {
	us := users("kill", 90)
	e := newEnv(t, cognitoemu.Options{Quota: 30, Latency: 200 * time.Millisecond}, us...)
	extra := withEnv(ledgerEnv(t, e), "COGNITO_MAX_RPS", "30", "WORKER_CONCURRENCY", "8")
	sendBatch(t, e, us)
	var ps []*proc
	for range 3 {
		ps = append(ps, e.start(extra))
	}
	victim := ps[0]
	testenv.Eventually(t, time.Minute, "a third of the users resent", func() bool { return len(e.cognito.Deliveries()) >= len(us)/3 })
	inflight := victim.metrics()["resend_inflight_jobs"]
	must(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	<-victim.done
	waitDrained(t, e, 3*time.Minute, ps[1:]...)
	duplicated, missed := codesPerUser(t, e, us)
	t.Logf("killed a worker with %.0f jobs in flight: %d users with more than one code %v, %d with none",
		inflight, len(duplicated), duplicated, len(missed))
	if len(missed) != 0 {
		t.Errorf("users never resent: %v", missed)
	}
	if float64(len(duplicated)) > inflight {
		t.Errorf("%d users with more than one code, more than the %.0f jobs the killed worker had in flight", len(duplicated), inflight)
	}
	for _, p := range ps[1:] {
		p.stop(25 * time.Second)
	}
}

// The table cannot be reached: every job is still resent, and the warning
// is logged once per interval, not once per job.
func TestLedgerTableUnreachable(t *testing.T) {
	us := users("down", 30)
	e := newEnv(t, cognitoemu.Options{}, us...)
	port, err := testenv.FreePort() // nothing listens there
	must(t, err)
	extra := withEnv(ledgerEnv(t, e), "AWS_ENDPOINT_URL_DYNAMODB", fmt.Sprintf("http://127.0.0.1:%d", port))
	sendBatch(t, e, us)
	p := e.start(extra)
	waitDrained(t, e, time.Minute, p)
	m := p.metrics()
	duplicated, missed := codesPerUser(t, e, us)
	if len(duplicated) != 0 || len(missed) != 0 {
		t.Errorf("users with more than one code: %v; with none: %v", duplicated, missed)
	}
	if got := m[`resend_ledger_requests_total{op="claim",result="error"}`]; int(got) != len(us) {
		t.Errorf("claim errors = %.0f, want %d", got, len(us))
	}
	var warnings int
	for _, line := range strings.Split(p.out.String(), "\n") {
		if strings.Contains(line, "ledger table unreachable") {
			warnings++
		}
	}
	if warnings < 1 || warnings > 2 {
		t.Errorf("%d unreachable-table warnings for %d failed requests, want 1 or 2 (rate-limited)", warnings, len(us))
	}
	p.stop(25 * time.Second)
}

// With COOLDOWN_TABLE the workers of a fleet split COGNITO_MAX_RPS: three
// cap themselves at a third; when one stops, the others take its share.
func TestFleetSharesTheQuota(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{})
	extra := withEnv(ledgerEnv(t, e), "COGNITO_MAX_RPS", "30")
	var ps []*proc
	for range 3 {
		ps = append(ps, e.start(extra))
	}
	capOf := func(p *proc) float64 { return p.metrics()["resend_cognito_rate_limit"] }
	for i, p := range ps {
		testenv.Eventually(t, 15*time.Second, fmt.Sprintf("worker %d capped at a third of 30/s", i), func() bool {
			return capOf(p) > 9.99 && capOf(p) < 10.01
		})
	}
	ps[2].stop(25 * time.Second)
	for i, p := range ps[:2] {
		testenv.Eventually(t, 15*time.Second, fmt.Sprintf("worker %d at half of 30/s", i), func() bool {
			return capOf(p) > 14.99 && capOf(p) < 15.01
		})
	}
	for _, p := range ps[:2] {
		if got := len(p.logLines("fleet share")); got < 2 {
			t.Errorf("%d fleet share lines, want one per change (at least 2)", got)
		}
		if hb := p.metrics()[`resend_ledger_requests_total{op="heartbeat",result="ok"}`]; hb < 2 {
			t.Errorf("%.0f heartbeats counted", hb)
		}
		p.stop(25 * time.Second)
	}
}
