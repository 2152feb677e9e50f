package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const repoRoot = "../../.."

func writeFile(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOperationsComeFromTheClientTypes(t *testing.T) {
	sqsOps := operations(services[0].client)
	for _, op := range []string{"ReceiveMessage", "SendMessageBatch", "ChangeMessageVisibilityBatch", "GetQueueAttributes", "PurgeQueue"} {
		if !sqsOps[op] {
			t.Errorf("sqs operation %s not found by reflection", op)
		}
	}
	if sqsOps["Options"] {
		t.Error("Options is a client method, not an API operation")
	}
	ddbOps := operations(services[1].client)
	for _, op := range []string{"GetItem", "PutItem", "UpdateItem", "DeleteItem"} {
		if !ddbOps[op] {
			t.Errorf("dynamodb operation %s not found by reflection", op)
		}
	}
	if ddbOps["ReceiveMessage"] || sqsOps["GetItem"] {
		t.Error("operations leaked between services")
	}
}

// compareWorker compares the repository's worker, plus extra files, with
// the repository's worker-iam-actions.json.
func compareWorker(t *testing.T, extra ...string) Report {
	t.Helper()
	files, err := goFiles(repoRoot, "./cmd/worker")
	if err != nil {
		t.Fatal(err)
	}
	calls, err := FindCalls(append(files, extra...))
	if err != nil {
		t.Fatal(err)
	}
	g, err := LoadGranted(filepath.Join(repoRoot, "deploy/terraform/worker-iam-actions.json"))
	if err != nil {
		t.Fatal(err)
	}
	return Compare(calls, g)
}

// The repository's worker as it is: its calls match the task role.
func TestWorkerMatchesTaskRole(t *testing.T) {
	r := compareWorker(t)
	if !r.OK() {
		t.Errorf("task role and code differ: missing %v, unused %v", r.Missing, r.Unused)
	}
	if !slices.Contains(r.Called, "sqs:ReceiveMessage") {
		t.Errorf("the worker's ReceiveMessage calls were not found: %v", r.Called)
	}
}

// A new SQS call without its permission fails the check, naming the action
// and the call site.
func TestNewSQSCallWithoutPermissionFails(t *testing.T) {
	dir := t.TempDir()
	extra := writeFile(t, dir, "purge.go", `package extra

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func purge(ctx context.Context, api *sqs.Client, url string) error {
	_, err := api.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: &url})
	return err
}
`)
	r := compareWorker(t, extra)
	if r.OK() {
		t.Fatal("a PurgeQueue call without sqs:PurgeQueue passed the check")
	}
	sites := r.Missing["sqs:PurgeQueue"]
	if len(sites) != 1 || filepath.Base(sites[0][len("PurgeQueue at "):]) != "purge.go:10:16" {
		t.Errorf("missing sqs:PurgeQueue should name purge.go:10:16, got %v", r.Missing)
	}
}

func TestBatchOperationsAndMethodValues(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.go", `package p

import "github.com/aws/aws-sdk-go-v2/service/sqs"

type api interface{ DeleteMessageBatch() }

var _ *sqs.Client
`)
	// b.go does not import sqs itself; its package does.
	b := writeFile(t, dir, "b.go", `package p

func wire(c client) {
	run(c.ChangeMessageVisibilityBatch)
	c.SendMessageBatch(nil, nil)
}
`)
	calls, err := FindCalls([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range calls {
		got = append(got, c.Op+"="+c.Action)
	}
	want := []string{"ChangeMessageVisibilityBatch=sqs:ChangeMessageVisibility", "SendMessageBatch=sqs:SendMessage"}
	if !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v (the interface declaration is no call)", got, want)
	}
}

func TestPackagesWithoutTheSDKAreIgnored(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "own.go", `package own

func f(q queue) { q.ReceiveMessage() }
`)
	calls, err := FindCalls([]string{f})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 {
		t.Errorf("a package that does not use the SDK has no AWS calls, got %v", calls)
	}
}

func TestTransactionsNeedAHandMapping(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "tx.go", `package tx

import "github.com/aws/aws-sdk-go-v2/service/dynamodb"

func f(c *dynamodb.Client) { c.TransactWriteItems(nil, nil) }
`)
	if _, err := FindCalls([]string{f}); !errors.Is(err, errNoAction) {
		t.Errorf("TransactWriteItems: err = %v, want errNoAction", err)
	}
}

func TestCompare(t *testing.T) {
	calls := []Call{{Action: "sqs:ReceiveMessage", Op: "ReceiveMessage", Pos: "a.go:1:1"}, {Action: "dynamodb:GetItem", Op: "GetItem", Pos: "b.go:1:1"}}
	tests := []struct {
		name    string
		granted Granted
		ok      bool
		check   func(Report) bool
	}{
		{"exact", Granted{Lists: map[string][]string{"q": {"sqs:ReceiveMessage"}, "t": {"dynamodb:GetItem"}}}, true,
			func(r Report) bool { return len(r.Awaiting) == 0 }},
		{"granted but never called", Granted{Lists: map[string][]string{"q": {"sqs:ReceiveMessage", "sqs:PurgeQueue"}, "t": {"dynamodb:GetItem"}}}, false,
			func(r Report) bool { return slices.Equal(r.Unused, []string{"sqs:PurgeQueue"}) }},
		{"called but not granted", Granted{Lists: map[string][]string{"q": {"sqs:ReceiveMessage"}}}, false,
			func(r Report) bool { return len(r.Missing["dynamodb:GetItem"]) == 1 }},
		{"awaiting code is only noted", Granted{Lists: map[string][]string{"q": {"sqs:ReceiveMessage", "sqs:GetQueueAttributes"}, "t": {"dynamodb:GetItem"}}, AwaitingCode: []string{"sqs:GetQueueAttributes"}}, true,
			func(r Report) bool { return slices.Equal(r.Awaiting, []string{"sqs:GetQueueAttributes"}) }},
		{"awaiting and now called", Granted{Lists: map[string][]string{"q": {"sqs:ReceiveMessage"}, "t": {"dynamodb:GetItem"}}, AwaitingCode: []string{"dynamodb:GetItem"}}, true,
			func(r Report) bool { return slices.Equal(r.NowUsed, []string{"dynamodb:GetItem"}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Compare(calls, tt.granted)
			if r.OK() != tt.ok || !tt.check(r) {
				t.Errorf("report %+v, want ok=%v", r, tt.ok)
			}
		})
	}
}
