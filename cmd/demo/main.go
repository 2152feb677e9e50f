// Command demo runs the worker end to end on this machine, with nothing but
// moto_server installed: it starts moto (SQS) and the Cognito stand-in,
// creates the job queue and its DLQ, seeds a user pool, enqueues a mixed
// batch of jobs, runs the real worker binary on them, takes Cognito down for
// a few seconds under a second batch (the outage, the probes, the recovery),
// and prints what happened to each job and what the DLQ holds. It exits 0
// when every job had the outcome the contract promises, else 1 with what
// differed.
//
//	make demo                      # builds bin/worker, then:
//	go run ./cmd/demo -bin bin [-timeout 90s]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/devenv"
	"github.com/resend-worker/resend-worker/job"
)

// The demo's user pool: fixed ids, an app client with a secret.
const (
	poolID   = "us-east-1_DemoPool"
	clientID = "demoappclient0000001"
	secret   = "demo-client-secret-not-for-production"
)

// expectation is one job of the batch and the outcome the contract promises
// for it.
type expectation struct {
	user      string // "" for the invalid body
	body      string // sent raw when set; otherwise job.Enqueue{Username: user}
	outcome   string // the worker's outcome log field
	calls     int    // ResendConfirmationCode calls for the user
	delivered int    // codes delivered to the user
	dlqCode   string // DLQ ErrorCode; "" means not dead-lettered
	dlqKind   string // DLQ FailureKind
	msgID     string // filled in when sent
}

func main() { os.Exit(run()) }

func run() int {
	bin := flag.String("bin", "bin", "directory holding the built worker binary")
	timeout := flag.Duration("timeout", 90*time.Second, "how long to wait for every job's outcome")
	flag.Parse()
	began := time.Now()

	workerBin := filepath.Join(*bin, "worker")
	if _, err := os.Stat(workerBin); err != nil {
		fmt.Fprintf(os.Stderr, "demo: no worker binary at %s (run `make build` first): %v\n", workerBin, err)
		return 1
	}

	// Ctrl-C (or SIGTERM) ends the demo early; the defers still stop everything.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	step(1, "Starting moto_server (SQS) and the Cognito stand-in")
	moto, err := devenv.StartMoto(ctx)
	if ctx.Err() != nil {
		return fail(ctx.Err())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: cannot start moto_server: %v\n", err)
		return 1
	}
	defer moto.Stop()
	cognito, err := devenv.StartCognito(cognitoemu.Options{RandSeed: 1})
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: cannot start the Cognito stand-in: %v\n", err)
		return 1
	}
	defer cognito.Stop()
	fmt.Printf("   moto_server  %s (log %s)\n   cognito      %s (in-process)\n", moto.URL, moto.LogFile, cognito.URL)

	step(2, "Creating the queues and seeding the user pool")
	queueURL, err := moto.CreateQueue(ctx, "resend-jobs")
	if err != nil {
		return fail(err)
	}
	dlqURL, err := moto.CreateQueue(ctx, "resend-jobs-dlq")
	if err != nil {
		return fail(err)
	}
	seed := cognitoemu.SeedPool{ID: poolID, Name: "demo",
		Clients: []cognitoemu.SeedClient{{ClientID: clientID, ClientSecret: secret}}}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		seed.Users = append(seed.Users, cognitoemu.SeedUser{Username: u, Email: u + "@example.com", Confirmed: u == "dave"})
	}
	for _, u := range outageUsers() {
		seed.Users = append(seed.Users, cognitoemu.SeedUser{Username: u, Email: u + "@example.com"})
	}
	if err := cognito.Server.Seed(cognitoemu.SeedSpec{Pools: []cognitoemu.SeedPool{seed}}); err != nil {
		return fail(fmt.Errorf("seed the stand-in: %w", err))
	}
	fmt.Printf("   queue %s\n   dlq   %s\n", queueURL, dlqURL)
	fmt.Printf("   pool %s, app client %s (with a secret)\n", poolID, clientID)
	fmt.Println("   users alice, bob, carol (unconfirmed), dave (confirmed)")
	fmt.Printf("   users user01..user%02d (unconfirmed) for the outage in step 5\n", outageJobs)

	step(3, "Enqueueing a mixed batch")
	jobs := []*expectation{
		{user: "alice", outcome: "resent", calls: 1, delivered: 1},
		{user: "bob", outcome: "resent", calls: 1, delivered: 1},
		{user: "carol", outcome: "resent", calls: 3, delivered: 1},
		{user: "dave", outcome: "already_confirmed", calls: 1},
		{user: "mallory", outcome: "dead_lettered", calls: 1, dlqCode: "UserNotFoundException", dlqKind: "permanent"},
		{body: `{"user":"oops"}`, outcome: "dead_lettered", dlqCode: "InvalidJob", dlqKind: "invalid"},
	}
	fault := cognitoemu.Fault{Username: "carol", Count: 2, Code: "TooManyRequestsException"}
	if err := cognito.Server.AddFault(fault); err != nil {
		return fail(fmt.Errorf("add fault: %w", err))
	}
	fmt.Println("   fault: carol's first 2 calls fail with TooManyRequestsException")
	if err := enqueue(ctx, moto.SQS(), queueURL, jobs); err != nil {
		return fail(err)
	}
	for _, j := range jobs {
		fmt.Printf("   %s  %s\n", j.msgID, label(j))
	}

	step(4, "Running the worker: "+workerBin+" run")
	port, err := devenv.FreePort()
	if err != nil {
		return fail(err)
	}
	target := devenv.Target{SQSURL: moto.URL, CognitoURL: cognito.URL, QueueURL: queueURL, DLQURL: dlqURL,
		ClientID: clientID, Secret: secret, AdminAddr: fmt.Sprintf("127.0.0.1:%d", port),
		Extra: map[string]string{"LOG_FORMAT": "console"}}
	w, err := startWorker(workerBin, target.Env(), target.AdminAddr)
	if err != nil {
		return fail(err)
	}
	defer w.stop() // a no-op once step 6 stopped it
	waitStart := time.Now()
	// On a timeout the demo goes on to show what did happen, then fails.
	waitErr := w.waitAll(ctx, moto, queueURL, jobs, *timeout)
	if ctx.Err() != nil {
		return fail(ctx.Err())
	}
	if waitErr != nil {
		fmt.Printf("   %v\n", waitErr)
	} else {
		fmt.Printf("   all %d jobs have an outcome and the queue is empty after %s\n", len(jobs), since(waitStart))
	}

	step(5, fmt.Sprintf("A Cognito outage: the stand-in fails every call for %s while %d jobs wait", outageFor, outageJobs))
	outage, err := runOutage(ctx, cognito, moto, queueURL, target.AdminAddr, *timeout)
	if err != nil {
		return fail(err)
	}
	printOutage(outage)

	step(6, "What happened to each job")
	dead, err := drain(ctx, moto.SQS(), dlqURL)
	if err != nil {
		return fail(err)
	}
	printTable(jobs, w.outcomes(), cognito.Server.Calls(), cognito.Server.Deliveries())
	fmt.Printf("\n   DLQ: %d message(s)\n", len(dead))
	for _, m := range dead {
		printDead(m)
	}

	step(7, "Stopping the worker (SIGTERM) and the back ends")
	code, took := w.stop()
	fmt.Printf("   worker exited with %d, %s after SIGTERM\n", code, took.Round(time.Millisecond))

	var diffs []string
	if waitErr != nil {
		diffs = append(diffs, waitErr.Error())
	}
	diffs = append(diffs, check(jobs, w.outcomes(), cognito.Server.Calls(), cognito.Server.Deliveries(), dead)...)
	diffs = append(diffs, outage.check()...)
	if code != 0 {
		diffs = append(diffs, fmt.Sprintf("worker exit status %d after SIGTERM, want 0", code))
	}
	if len(diffs) > 0 {
		fmt.Printf("\nFAIL: %d difference(s) from the expected outcomes:\n", len(diffs))
		for _, d := range diffs {
			fmt.Println("   - " + d)
		}
		return 1
	}
	fmt.Printf("\nPASS: every job had its expected outcome (demo took %s)\n", since(began))
	return 0
}

// step prints a step's header line.
func step(n int, title string) { fmt.Printf("\n== %d. %s\n", n, title) }

// fail prints err and returns the demo's failure status.
func fail(err error) int {
	if errors.Is(err, context.Canceled) {
		err = errors.New("interrupted")
	}
	fmt.Fprintf(os.Stderr, "\nFAIL: %v\n", err)
	return 1
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }

// label names a job for the demo's output (demo data, not the worker's log).
func label(j *expectation) string {
	if j.user == "" {
		return "(invalid body " + j.body + ")"
	}
	return j.user
}

// enqueue sends the jobs: the valid ones with job.Enqueue, raw bodies with
// SendMessage; it fills in their message ids.
func enqueue(ctx context.Context, client *sqs.Client, queueURL string, jobs []*expectation) error {
	var valid []job.Job
	var sent []*expectation
	for _, j := range jobs {
		if j.body != "" {
			out, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(j.body)})
			if err != nil {
				return fmt.Errorf("send the invalid body: %w", err)
			}
			j.msgID = aws.ToString(out.MessageId)
			continue
		}
		valid = append(valid, job.Job{Username: j.user, ClientMetadata: map[string]string{"source": "make-demo"}})
		sent = append(sent, j)
	}
	results, err := job.Enqueue(ctx, client, queueURL, valid...)
	if err != nil {
		return err
	}
	for i, r := range results {
		sent[i].msgID = r.MessageID
	}
	return nil
}

// check compares what happened with what the contract promises; it returns
// one line per difference.
func check(jobs []*expectation, outcomes map[string]string, calls []cognitoemu.Call, deliveries []cognitoemu.Delivery, dead []deadLetter) []string {
	var diffs []string
	bySource := map[string]deadLetter{}
	for _, d := range dead {
		bySource[d.attrs["SourceMessageId"]] = d
	}
	for _, j := range jobs {
		name := label(j)
		if got := outcomes[j.msgID]; got != j.outcome {
			diffs = append(diffs, fmt.Sprintf("%s: outcome %s, want %s", name, or(got, "none logged"), j.outcome))
		}
		if j.user != "" {
			if got := len(callsFor(calls, j.user)); got != j.calls {
				diffs = append(diffs, fmt.Sprintf("%s: %d Cognito call(s), want %d", name, got, j.calls))
			}
			if got := len(deliveriesFor(deliveries, j.user)); got != j.delivered {
				diffs = append(diffs, fmt.Sprintf("%s: %d code(s) delivered, want %d", name, got, j.delivered))
			}
		}
		d, inDLQ := bySource[j.msgID]
		switch {
		case j.dlqCode == "" && inDLQ:
			diffs = append(diffs, fmt.Sprintf("%s: dead-lettered (%s), want no DLQ message", name, d.attrs["ErrorCode"]))
		case j.dlqCode != "" && !inDLQ:
			diffs = append(diffs, fmt.Sprintf("%s: not in the DLQ, want ErrorCode %s", name, j.dlqCode))
		case inDLQ:
			if d.attrs["ErrorCode"] != j.dlqCode || d.attrs["FailureKind"] != j.dlqKind {
				diffs = append(diffs, fmt.Sprintf("%s: DLQ ErrorCode=%s FailureKind=%s, want %s %s",
					name, d.attrs["ErrorCode"], d.attrs["FailureKind"], j.dlqCode, j.dlqKind))
			}
			if j.body != "" && d.body != j.body {
				diffs = append(diffs, fmt.Sprintf("%s: DLQ body %q, want the original byte for byte", name, d.body))
			}
		}
	}
	if len(dead) != len(bySource) || len(dead) != countDLQ(jobs) {
		diffs = append(diffs, fmt.Sprintf("DLQ holds %d message(s), want %d", len(dead), countDLQ(jobs)))
	}
	return diffs
}

func countDLQ(jobs []*expectation) int {
	n := 0
	for _, j := range jobs {
		if j.dlqCode != "" {
			n++
		}
	}
	return n
}

func callsFor(calls []cognitoemu.Call, user string) []cognitoemu.Call {
	var out []cognitoemu.Call
	for _, c := range calls {
		if c.Username == user {
			out = append(out, c)
		}
	}
	return out
}

func deliveriesFor(ds []cognitoemu.Delivery, user string) []cognitoemu.Delivery {
	var out []cognitoemu.Delivery
	for _, d := range ds {
		if d.Username == user {
			out = append(out, d)
		}
	}
	return out
}

// summarizeCalls is a user's call outcomes, runs collapsed: "TooManyRequestsException ×2, OK".
func summarizeCalls(calls []cognitoemu.Call) string {
	if len(calls) == 0 {
		return "-"
	}
	var parts []string
	for i := 0; i < len(calls); {
		n := 1
		for i+n < len(calls) && calls[i+n].Outcome == calls[i].Outcome {
			n++
		}
		p := calls[i].Outcome
		if n > 1 {
			p += fmt.Sprintf(" ×%d", n)
		}
		parts = append(parts, p)
		i += n
	}
	return strings.Join(parts, ", ")
}
