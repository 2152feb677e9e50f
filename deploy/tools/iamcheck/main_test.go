package main

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

const repoRoot = "../../.."

// fixture loads a package under testdata (type-checked against this module's SDK).
func fixture(t *testing.T, name string) []*packages.Package {
	t.Helper()
	pkgs, err := packages.Load(&packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo,
	}, "./testdata/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
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

// compareWorker compares the repository's worker, plus extra packages, with
// the repository's worker-iam-actions.json.
func compareWorker(t *testing.T, extra ...*packages.Package) Report {
	t.Helper()
	pkgs, err := loadWorker(repoRoot, "./cmd/worker")
	if err != nil {
		t.Fatal(err)
	}
	calls, err := FindCalls(append(pkgs, extra...))
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
	r := compareWorker(t, fixture(t, "purge")...)
	if r.OK() {
		t.Fatal("a PurgeQueue call without sqs:PurgeQueue passed the check")
	}
	sites := r.Missing["sqs:PurgeQueue"]
	if len(sites) != 1 || !strings.HasSuffix(sites[0], filepath.Join("testdata", "purge", "purge.go")+":11:16") {
		t.Errorf("missing sqs:PurgeQueue should name purge.go:11:16, got %v", r.Missing)
	}
}

// Interface calls, method values and batch operations count; interface
// declarations and methods that only share an operation's name do not.
func TestWhatCountsAsACall(t *testing.T) {
	calls, err := FindCalls(fixture(t, "shapes"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range calls {
		got = append(got, c.Op+"="+c.Action)
	}
	want := []string{"ChangeMessageVisibilityBatch=sqs:ChangeMessageVisibility", "SendMessageBatch=sqs:SendMessage"}
	if !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}

func TestTransactionsNeedAHandMapping(t *testing.T) {
	if _, err := FindCalls(fixture(t, "tx")); !errors.Is(err, errNoAction) {
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
