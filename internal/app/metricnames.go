package app

import (
	"flag"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.uber.org/zap"

	"github.com/resend-worker/resend-worker/internal/config"
	"github.com/resend-worker/resend-worker/internal/metrics"
)

// MetricFamilies lists every metric family `worker run` exports: it wires a
// worker as runCommand does into a fresh registry (nothing is called: the
// SDK clients connect lazily) and describes what was registered. Every
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
	if _, err := NewWorker(cfg, aws.Config{Region: "us-east-1"}, rec, zap.NewNop()); err != nil {
		return nil, err
	}
	return rec.Families()
}
