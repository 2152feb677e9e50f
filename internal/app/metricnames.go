package app

import (
	"context"
	"flag"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"go.uber.org/zap"

	"github.com/resend-worker/resend-worker/internal/config"
	"github.com/resend-worker/resend-worker/internal/metrics"
)

// MetricFamilies lists every metric family `worker run` exports: it wires a
// worker as runCommand does into a fresh registry (the start-up queue check
// is answered by offlineAWS: nothing leaves the process) and describes what
// was registered. Every
// optional part is on (the bulk lane, the shared ledger table), so every
// family is listed; settings this build does not know are ignored.
func MetricFamilies() ([]metrics.Family, error) {
	env := map[string]string{
		"RESEND_QUEUE_URL":      "https://sqs.us-east-1.amazonaws.com/000000000000/metricnames",
		"RESEND_DLQ_URL":        "https://sqs.us-east-1.amazonaws.com/000000000000/metricnames-dlq",
		"RESEND_BULK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/metricnames-bulk",
		"COGNITO_CLIENT_ID":     "metricnames",
		"COOLDOWN_TABLE":        "metricnames-ledger",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := config.Load(flag.NewFlagSet("metricnames", flag.ContinueOnError), nil, lookup, config.NeedAll)
	if err != nil {
		return nil, err
	}
	rec := metrics.NewRecorder()
	metrics.RegisterRuntime(rec)
	awsCfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("metricnames", "metricnames", ""),
		HTTPClient:  offlineAWS{},
	}
	if _, err := NewWorker(context.Background(), cfg, awsCfg, rec, zap.NewNop()); err != nil {
		return nil, err
	}
	return rec.Families()
}

// offlineAWS answers every AWS call in process: SQS GetQueueAttributes with
// a MaximumMessageSize (NewWorker checks the queues), anything else with an
// empty JSON object.
type offlineAWS struct{}

func (offlineAWS) Do(r *http.Request) (*http.Response, error) {
	body := `{}`
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".GetQueueAttributes") {
		body = `{"Attributes":{"MaximumMessageSize":"262144"}}`
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    r,
	}, nil
}
