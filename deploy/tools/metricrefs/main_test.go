package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testList = `{"metrics": [
 {"name": "resend_jobs_total", "type": "counter", "labels": ["lane", "outcome"], "series": ["resend_jobs_total"]},
 {"name": "resend_cognito_outage", "type": "gauge", "labels": [], "series": ["resend_cognito_outage"], "pending": true},
 {"name": "resend_call_seconds", "type": "histogram", "labels": ["lane"], "series": ["resend_call_seconds_bucket", "resend_call_seconds_count", "resend_call_seconds_sum"]},
 {"name": "go_goroutines", "type": "gauge", "labels": [], "series": ["go_goroutines"]}
]}`

func testIndex(t *testing.T) list {
	t.Helper()
	l, err := readList(strings.NewReader(testList))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestCheckExpr(t *testing.T) {
	l := testIndex(t)
	tests := []struct {
		expr    string
		problem string // "" for none
	}{
		{expr: `sum by (outcome) (rate(resend_jobs_total{outcome="resent", job="w"}[$__rate_interval]))`},
		{expr: `histogram_quantile(0.9, sum by (le, lane) (rate(resend_call_seconds_bucket[5m])))`},
		{expr: `max(resend_cognito_outage) == 1`},
		{expr: `up{job="resend-worker"} == 0`},
		{expr: `up{code="x"} == 0`, problem: `up has no label "code"`},
		{expr: `sum(rate(resend_call_seconds_sum[5m])) / sum(rate(resend_call_seconds_count[5m]))`},
		{expr: `rate(resend_jobs_totl[5m])`, problem: "resend_jobs_totl is not a sample"},
		{expr: `rate(resend_jobs_total{code="x"}[5m])`, problem: `has no label "code"`},
		{expr: `sum by (code) (rate(resend_jobs_total[5m]))`, problem: `groups by "code"`},
		{expr: `resend_call_seconds{le="1"}`, problem: "resend_call_seconds is not a sample"},
		{expr: `rate(resend_jobs_total[5m]`, problem: "does not parse"},
		{expr: `{__name__=~"resend_.*"}`, problem: "without a metric name"},
	}
	for _, tt := range tests {
		problems, _ := l.checkExpr("t", tt.expr)
		got := strings.Join(problems, "\n")
		if tt.problem == "" && got != "" || tt.problem != "" && !strings.Contains(got, tt.problem) {
			t.Errorf("checkExpr(%q) = %q, want %q", tt.expr, got, tt.problem)
		}
	}
}

const goodCollector = `
receivers:
  prometheus:
    config:
      scrape_configs:
        - job_name: w
          static_configs:
            - targets: ['localhost:${admin_port}']
              labels:
                ServiceName: '${service_name}'
          metric_relabel_configs:
            - source_labels: [__name__]
              regex: 'resend_.*'
              action: keep
exporters:
  awsemf:
    metric_declarations:
      - dimensions: [[ServiceName], [ServiceName, outcome]]
        metric_name_selectors: ['^resend_jobs_total\z']
      - dimensions: [[ServiceName]]
        metric_name_selectors: ['^resend_cognito_outage\z']
      - dimensions: [[ServiceName], [ServiceName, lane]]
        metric_name_selectors: ['^resend_call_seconds\z']
`

func TestCheckCollector(t *testing.T) {
	l := testIndex(t)
	if p := l.checkCollector("c", []byte(goodCollector)); len(p) != 0 {
		t.Fatalf("good config: %v", p)
	}
	tests := []struct{ name, from, to, problem string }{
		{"unknown metric", `'^resend_jobs_total\z'`, `'^resend_job_total\z'`, "matches 0 exported families"},
		{"selector too wide", `'^resend_jobs_total\z'`, `'^resend_'`, "matches 3 exported families"},
		{"unknown label", `[ServiceName, outcome]`, `[ServiceName, code]`, `has no label "code"`},
		{"label of another family", `[ServiceName], [ServiceName, lane]]`, `[ServiceName], [ServiceName, outcome]]`, `resend_call_seconds has no label "outcome"`},
		{"no ServiceName", `[[ServiceName], [ServiceName, outcome]]`, `[[outcome]]`, "has no ServiceName"},
		{"family left out", `['^resend_cognito_outage\z']`, `[]`, "resend_cognito_outage is exported but no metric declaration selects it"},
		{"label on a family without it", `[[ServiceName]]
        metric_name_selectors: ['^resend_cognito_outage`, `[[ServiceName, lane]]
        metric_name_selectors: ['^resend_cognito_outage`, `resend_cognito_outage has no label "lane"`},
		{"keep too wide", `regex: 'resend_.*'`, `regex: '.*'`, "keep rule keeps go_goroutines"},
		{"no keep", `action: keep`, `action: drop`, "no keep rule"},
		{"no ServiceName label", `ServiceName: '${service_name}'`, `Service: x`, "label its samples with ServiceName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := strings.Replace(goodCollector, tt.from, tt.to, 1)
			if bad == goodCollector {
				t.Fatalf("%q not in the config", tt.from)
			}
			got := strings.Join(l.checkCollector("c", []byte(bad)), "\n")
			if !strings.Contains(got, tt.problem) {
				t.Errorf("problems = %q, want %q", got, tt.problem)
			}
		})
	}
}

func TestCollectorPrometheus(t *testing.T) {
	out, err := collectorPrometheus([]byte(goodCollector))
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{"scrape_configs:", "localhost:9090", "ServiceName: sample", "regex: resend_.*"} {
		if !strings.Contains(got, want) {
			t.Errorf("prometheus config lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "${") || strings.Contains(got, "awsemf") {
		t.Errorf("placeholders left or more than the receiver's config:\n%s", got)
	}
	if _, err := collectorPrometheus([]byte("receivers: {}\n")); err == nil {
		t.Error("no error without a prometheus receiver config")
	}
}

func TestCheckGrafanaAndRules(t *testing.T) {
	l := testIndex(t)
	dash := `{"uid": "u", "title": "t", "panels": [
	  {"type": "row", "title": "r", "panels": [{"title": "jobs", "targets": [{"refId": "A", "expr": "sum by (outcome) (rate(resend_jobs_total[$__rate_interval]))"}]}]},
	  {"title": "outage", "targets": [{"refId": "A", "expr": "max(resend_cognito_outage)"}]}
	]}`
	problems, exprs := l.checkGrafana("d", []byte(dash), []string{"resend_jobs_total", "resend_cognito_outage"})
	if len(problems) != 0 || len(exprs) != 2 {
		t.Fatalf("problems %v, exprs %v", problems, exprs)
	}
	problems, _ = l.checkGrafana("d", []byte(dash), []string{"resend_call_seconds"})
	if got := strings.Join(problems, "\n"); !strings.Contains(got, "no panel shows resend_call_seconds") {
		t.Errorf("problems = %q, want a missing panel", got)
	}
	problems, _ = l.checkGrafana("d", []byte(strings.Replace(dash, "resend_cognito_outage", "resend_outage", 1)), nil)
	if got := strings.Join(problems, "\n"); !strings.Contains(got, `panel "outage" A: resend_outage is not a sample`) {
		t.Errorf("problems = %q, want the unknown sample named with its panel", got)
	}

	rules := "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: max(resend_cognito_outage) > 0\n  - record: r\n    expr: sum(rate(resend_jobs_total{outcome=\"x\"}[5m]))\n"
	if p := l.checkRules("r", []byte(rules)); len(p) != 0 {
		t.Errorf("good rules: %v", p)
	}
	if got := strings.Join(l.checkRules("r", []byte(strings.Replace(rules, "outcome=", "code=", 1))), "\n"); !strings.Contains(got, `r: r: resend_jobs_total has no label "code"`) {
		t.Errorf("problems = %q", got)
	}
	if got := strings.Join(l.checkRules("r", []byte("groups: []\n")), "\n"); !strings.Contains(got, "no rules") {
		t.Errorf("problems = %q, want no rules", got)
	}

	out, err := grafanaRules(exprs)
	if err != nil || !strings.Contains(string(out), "grafana:panel_expr_1") || strings.Contains(string(out), "$__rate_interval") {
		t.Errorf("grafanaRules = %s, %v", out, err)
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	listFile := write("list.json", testList)
	col := write("c.yaml", goodCollector)
	var out, errb bytes.Buffer
	if rc := run([]string{"-list", listFile, "-collector", col, "-require", "resend_jobs_total"}, &out, &errb); rc != 0 {
		t.Fatalf("rc %d: %s%s", rc, out.String(), errb.String())
	}
	out.Reset()
	if rc := run([]string{"-list", listFile, "-require", "resend_nothing"}, &out, &errb); rc != 1 || !strings.Contains(out.String(), "resend_nothing is not exported") {
		t.Errorf("rc %d, out %q: want a failure for an unknown required family", rc, out.String())
	}
	if rc := run([]string{"-collector", col}, &out, &errb); rc != 2 {
		t.Errorf("rc %d without -list, want 2", rc)
	}
}
