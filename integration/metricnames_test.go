package integration

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resend-worker/resend-worker/internal/app"
	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/metrics"
)

// TestMetricNamesListWhatTheWorkerServes: the list cmd/metricnames prints
// (what the dashboards, the alert rules and the collector configuration are
// checked against) is what a running worker serves: after a resent job with
// a throttled attempt and a dead-lettered one, every sample on /metrics
// belongs to a listed family and carries only its listed labels, and the
// families the dashboards read are served.
func TestMetricNamesListWhatTheWorkerServes(t *testing.T) {
	e := newEnv(t, cognitoemu.Options{}, user{name: "listed", email: "listed@example.com"})
	must(t, e.cognito.AddFault(cognitoemu.Fault{Username: "listed", Count: 1, Code: "TooManyRequestsException"}))
	e.moto.Send(t, e.queueURL, jobBody("listed"), jobBody("unlisted-user"))
	p := e.start(map[string]string{"RETRY_INITIAL_INTERVAL": "50ms"})
	p.waitJobs(2, 30*time.Second)
	served := p.metrics()
	p.stop(25 * time.Second)

	fams, err := app.MetricFamilies()
	if err != nil {
		t.Fatal(err)
	}
	bySample := map[string]metrics.Family{}
	for _, f := range fams {
		for _, s := range f.Series {
			bySample[s] = f
		}
	}
	seen := map[string]bool{}
	for key := range served {
		name, labels := splitSample(key)
		f, ok := bySample[name]
		if !ok {
			t.Errorf("%s is served but cmd/metricnames does not list it", key)
			continue
		}
		seen[f.Name] = true
		for _, l := range labels {
			extra := (l == "le" && name == f.Name+"_bucket") || (l == "quantile" && f.Type == "summary")
			if !extra && !slices.Contains(f.Labels, l) {
				t.Errorf("%s: label %q is not listed for %s (%v)", key, l, f.Name, f.Labels)
			}
		}
	}
	for _, want := range []string{"resend_jobs_total", "resend_cognito_requests_total", "resend_sqs_requests_total",
		"resend_inflight_jobs", "resend_cognito_rate_limit", "resend_cognito_request_duration_seconds", "go_goroutines"} {
		if !seen[want] {
			t.Errorf("%s is listed but the worker did not serve it", want)
		}
	}
	if served[`resend_cognito_requests_total{code="TooManyRequestsException"}`] != 1 || served[`resend_jobs_total{outcome="dead_lettered"}`] != 1 {
		t.Errorf("the throttled attempt and the dead-lettered job are not counted: %v", served)
	}
}

// splitSample splits `name{a="x",b="y"}` into the name and the label names.
func splitSample(key string) (string, []string) {
	name, rest, ok := strings.Cut(key, "{")
	if !ok {
		return key, nil
	}
	var labels []string
	rest = strings.TrimSuffix(rest, "}")
	for rest != "" {
		l, after, _ := strings.Cut(rest, `="`)
		labels = append(labels, l)
		// skip the quoted value (\" escapes a quote)
		i := 0
		for i < len(after) && after[i] != '"' {
			if after[i] == '\\' {
				i++
			}
			i++
		}
		rest = strings.TrimPrefix(after[min(i+1, len(after)):], ",")
	}
	return name, labels
}
