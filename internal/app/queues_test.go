package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/resend-worker/resend-worker/internal/config"
)

// fakeAttrs answers GetQueueAttributes from a map of URL → MaximumMessageSize
// (or error), and records the calls.
type fakeAttrs struct {
	sizes map[string]string
	errs  map[string]error
	calls []string
}

func (f *fakeAttrs) GetQueueAttributes(_ context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	url := aws.ToString(in.QueueUrl)
	f.calls = append(f.calls, url)
	if len(in.AttributeNames) != 1 || in.AttributeNames[0] != types.QueueAttributeNameMaximumMessageSize {
		return nil, errors.New("asked for " + string(in.AttributeNames[0]))
	}
	if err := f.errs[url]; err != nil {
		return nil, err
	}
	size, ok := f.sizes[url]
	if !ok {
		return nil, &types.QueueDoesNotExist{Message: aws.String("The specified queue does not exist.")}
	}
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{"MaximumMessageSize": size}}, nil
}

func TestCheckQueues(t *testing.T) {
	cfg := config.Config{QueueURL: testQueue, DLQURL: testDLQ}
	withBulk := cfg
	withBulk.BulkQueueURL = testBulk
	sizes := map[string]string{testQueue: "262144", testDLQ: "1048576", testBulk: "65536"}
	tests := []struct {
		name    string
		cfg     config.Config
		sizes   map[string]string
		errs    map[string]error
		want    Queues
		wantErr string // the one line the worker prints after "worker: "
		missing bool
	}{
		{name: "both queues", cfg: cfg, sizes: sizes, want: Queues{
			Job: Queue{"RESEND_QUEUE_URL", testQueue, 262144}, DLQ: Queue{"RESEND_DLQ_URL", testDLQ, 1048576}, Bulk: Queue{Var: "RESEND_BULK_QUEUE_URL"}}},
		{name: "with the bulk queue", cfg: withBulk, sizes: sizes, want: Queues{
			Job: Queue{"RESEND_QUEUE_URL", testQueue, 262144}, DLQ: Queue{"RESEND_DLQ_URL", testDLQ, 1048576}, Bulk: Queue{"RESEND_BULK_QUEUE_URL", testBulk, 65536}}},
		{name: "job queue missing", cfg: cfg, sizes: map[string]string{testDLQ: "1024"},
			wantErr: "RESEND_QUEUE_URL: queue " + testQueue + " does not exist", missing: true},
		{name: "DLQ missing", cfg: cfg, sizes: map[string]string{testQueue: "1024"},
			wantErr: "RESEND_DLQ_URL: queue " + testDLQ + " does not exist", missing: true},
		{name: "bulk queue missing", cfg: withBulk, sizes: map[string]string{testQueue: "1024", testDLQ: "1024"},
			wantErr: "RESEND_BULK_QUEUE_URL: queue " + testBulk + " does not exist", missing: true},
		{name: "missing, query protocol's code", cfg: cfg, sizes: sizes,
			errs:    map[string]error{testDLQ: &smithy.GenericAPIError{Code: "AWS.SimpleQueueService.NonExistentQueue", Message: "gone"}},
			wantErr: "RESEND_DLQ_URL: queue " + testDLQ + " does not exist", missing: true},
		{name: "access denied", cfg: cfg, sizes: sizes,
			errs:    map[string]error{testQueue: &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}},
			wantErr: "RESEND_QUEUE_URL: cannot read queue " + testQueue + ": api error AccessDenied: no"},
		{name: "size not a number", cfg: cfg, sizes: map[string]string{testQueue: "big", testDLQ: "1024"},
			wantErr: `RESEND_QUEUE_URL: cannot read queue ` + testQueue + `: MaximumMessageSize "big" is not a size`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeAttrs{sizes: tt.sizes, errs: tt.errs}
			got, err := CheckQueues(context.Background(), api, tt.cfg)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("CheckQueues = %+v, %v; want %+v", got, err, tt.want)
				}
				wantCalls := 2
				if tt.cfg.BulkQueueURL != "" {
					wantCalls = 3
				}
				if len(api.calls) != wantCalls {
					t.Errorf("calls %v: want one per configured queue", api.calls)
				}
				return
			}
			var qe *QueueError
			if !errors.As(err, &qe) || err.Error() != tt.wantErr || qe.Missing != tt.missing {
				t.Fatalf("err = %v (%T), want %q, missing %v", err, err, tt.wantErr, tt.missing)
			}
			if errors.Is(err, config.ErrUsage) {
				t.Errorf("a queue error is not a configuration error: it exits 1")
			}
			if code := exitStatus(command{}, err, IO{Stderr: &strings.Builder{}}); code != ExitError {
				t.Errorf("exit %d, want 1", code)
			}
		})
	}
}

func TestEndpointForLog(t *testing.T) {
	for in, want := range map[string]string{
		"":                                    "default",
		"http://127.0.0.1:5000":               "http://127.0.0.1:5000",
		"https://user:pass@sqs.example/x?k=v": "https://sqs.example/x",
	} {
		p := &in
		if in == "" {
			p = nil
		}
		if got := endpointForLog(p); got != want {
			t.Errorf("endpointForLog(%q) = %q, want %q", in, got, want)
		}
	}
}
