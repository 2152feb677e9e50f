// Command metricrefs checks that the observability files under deploy/ name
// only metrics and labels the worker exports, as listed by `go run
// ./cmd/metricnames` (JSON), and that they cover what operators need:
//
//   - the ADOT collector configuration (deploy/terraform/observability-collector.yaml.tftpl):
//     each awsemf metric_name_selector matches exactly one exported family,
//     each dimension set holds ServiceName and labels of those families only,
//     every resend_* family is selected, the scrape keeps exactly resend_*;
//   - Grafana dashboards: every target's PromQL names exported samples with
//     their labels, and the panels show the -require families;
//   - Prometheus rule files: the same for every rule's expression.
//
// -grafana-rules-out writes the dashboards' expressions as a rule file, so
// `promtool check rules` validates them with Prometheus's own parser.
//
//	go run . -list metricnames.json -collector FILE -grafana FILE -rules FILE \
//	  -require resend_jobs_total,... [-grafana-rules-out FILE]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/VictoriaMetrics/metricsql"
	"gopkg.in/yaml.v3"
)

// family is one entry of cmd/metricnames's list.
type family struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Labels  []string `json:"labels"`
	Series  []string `json:"series"`
	Pending bool     `json:"pending"`
}

// list indexes the exported families by name and by sample name.
type list struct {
	families map[string]family
	series   map[string]family
}

func readList(r io.Reader) (list, error) {
	var doc struct {
		Metrics []family `json:"metrics"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return list{}, fmt.Errorf("metric list: %w", err)
	}
	if len(doc.Metrics) == 0 {
		return list{}, errors.New("metric list: no metrics")
	}
	l := list{families: map[string]family{}, series: map[string]family{}}
	// Prometheus itself adds up{job,instance} for every target it scrapes;
	// it is no family of the worker, so only expressions may name it.
	l.series["up"] = family{Name: "up", Type: "gauge", Labels: []string{}, Series: []string{"up"}}
	for _, f := range doc.Metrics {
		l.families[f.Name] = f
		for _, s := range f.Series {
			l.series[s] = f
		}
	}
	return l, nil
}

// Labels Prometheus adds to every scraped sample (target labels).
var targetLabels = []string{"job", "instance"}

// checkExpr reports the samples and labels of a PromQL expression that the
// worker does not export, and returns the families it names.
func (l list) checkExpr(where, expr string) (problems, used []string) {
	e, err := metricsql.Parse(grafanaVars.ReplaceAllString(expr, "5m"))
	if err != nil {
		return []string{fmt.Sprintf("%s: %q does not parse: %v", where, expr, err)}, nil
	}
	var labels []string // every label the families in expr have
	metricsql.VisitAll(e, func(x metricsql.Expr) {
		me, ok := x.(*metricsql.MetricExpr)
		if !ok {
			return
		}
		for _, filters := range me.LabelFilterss {
			name := ""
			for _, f := range filters {
				if f.Label == "__name__" && !f.IsRegexp && !f.IsNegative {
					name = f.Value
				}
			}
			if name == "" {
				problems = append(problems, fmt.Sprintf("%s: a selector without a metric name in %q", where, expr))
				continue
			}
			fam, ok := l.series[name]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: %s is not a sample the worker exports", where, name))
				continue
			}
			used = append(used, fam.Name)
			allowed := sampleLabels(fam, name)
			labels = append(labels, allowed...)
			for _, f := range filters {
				if f.Label != "__name__" && !slices.Contains(allowed, f.Label) {
					problems = append(problems, fmt.Sprintf("%s: %s has no label %q", where, name, f.Label))
				}
			}
		}
	})
	metricsql.VisitAll(e, func(x metricsql.Expr) {
		if a, ok := x.(*metricsql.AggrFuncExpr); ok {
			for _, g := range a.Modifier.Args {
				if !slices.Contains(labels, g) {
					problems = append(problems, fmt.Sprintf("%s: %s (%s) groups by %q, a label none of its metrics has", where, a.Name, a.Modifier.Op, g))
				}
			}
		}
	})
	return problems, used
}

// grafanaVars are Grafana's interval variables; they stand for a duration.
var grafanaVars = regexp.MustCompile(`\$(__rate_interval|__interval|__range|\{__rate_interval\}|\{__interval\}|\{__range\})`)

func sampleLabels(f family, sample string) []string {
	labels := append(slices.Clone(f.Labels), targetLabels...)
	switch {
	case f.Type == "histogram" && sample == f.Name+"_bucket":
		labels = append(labels, "le")
	case f.Type == "summary" && sample == f.Name:
		labels = append(labels, "quantile")
	}
	return labels
}

// ------------------------------------------------------------- collector

type collectorConfig struct {
	Receivers struct {
		Prometheus struct {
			Config struct {
				ScrapeConfigs []struct {
					StaticConfigs []struct {
						Labels map[string]string `yaml:"labels"`
					} `yaml:"static_configs"`
					MetricRelabelConfigs []struct {
						SourceLabels []string `yaml:"source_labels"`
						Regex        string   `yaml:"regex"`
						Action       string   `yaml:"action"`
					} `yaml:"metric_relabel_configs"`
				} `yaml:"scrape_configs"`
			} `yaml:"config"`
		} `yaml:"prometheus"`
	} `yaml:"receivers"`
	Exporters struct {
		AWSEMF struct {
			MetricDeclarations []struct {
				Dimensions          [][]string `yaml:"dimensions"`
				MetricNameSelectors []string   `yaml:"metric_name_selectors"`
			} `yaml:"metric_declarations"`
		} `yaml:"awsemf"`
	} `yaml:"exporters"`
}

// checkCollector checks the collector template (its ${...} placeholders
// stand in string values, so it reads as YAML).
func (l list) checkCollector(where string, data []byte) []string {
	var c collectorConfig
	if p := unmarshalYAML(where, data, &c); p != nil {
		return p
	}
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, where+": "+fmt.Sprintf(format, a...)) }
	decls := c.Exporters.AWSEMF.MetricDeclarations
	if len(decls) == 0 {
		bad("no awsemf metric_declarations")
	}
	selected := map[string]bool{}
	for i, d := range decls {
		var matched []family
		for _, s := range d.MetricNameSelectors {
			re, err := regexp.Compile(s)
			if err != nil {
				bad("declaration %d: selector %q: %v", i, s, err)
				continue
			}
			var hits []family
			for _, f := range l.families {
				if re.MatchString(f.Name) {
					hits = append(hits, f)
				}
			}
			if len(hits) != 1 {
				bad("declaration %d: selector %q matches %d exported families, want exactly 1", i, s, len(hits))
			}
			matched = append(matched, hits...)
		}
		for _, f := range matched {
			selected[f.Name] = true
			for _, set := range d.Dimensions {
				if !slices.Contains(set, "ServiceName") {
					bad("declaration %d: dimension set %v has no ServiceName", i, set)
				}
				for _, dim := range set {
					if dim != "ServiceName" && !slices.Contains(f.Labels, dim) {
						bad("declaration %d: %s has no label %q (dimension set %v)", i, f.Name, dim, set)
					}
				}
			}
		}
	}
	scrapes := c.Receivers.Prometheus.Config.ScrapeConfigs
	if len(scrapes) != 1 {
		bad("want one scrape config, got %d", len(scrapes))
		return problems
	}
	if len(scrapes[0].StaticConfigs) != 1 || scrapes[0].StaticConfigs[0].Labels["ServiceName"] == "" {
		bad("the scrape must label its samples with ServiceName (the dimension of every declaration)")
	}
	var keep *regexp.Regexp
	for _, r := range scrapes[0].MetricRelabelConfigs {
		if r.Action == "keep" && slices.Equal(r.SourceLabels, []string{"__name__"}) {
			var err error
			if keep, err = regexp.Compile("^(?:" + r.Regex + ")$"); err != nil { // Prometheus anchors relabel regexes
				bad("keep regex %q: %v", r.Regex, err)
			}
		}
	}
	if keep == nil {
		bad("the scrape has no keep rule on __name__")
	}
	for _, f := range l.families {
		worker := strings.HasPrefix(f.Name, "resend_")
		if worker && !selected[f.Name] {
			bad("%s is exported but no metric declaration selects it: it would not reach CloudWatch", f.Name)
		}
		if keep != nil && keep.MatchString(f.Name) != worker {
			bad("the keep rule keeps %s = %v, want %v (exactly the resend_* families)", f.Name, !worker, worker)
		}
	}
	return problems
}

// collectorPrometheus returns the Prometheus configuration the collector's
// prometheus receiver embeds, with the template's placeholders filled with
// sample values, for `promtool check config`.
func collectorPrometheus(data []byte) ([]byte, error) {
	sample := map[string]string{"admin_port": "9090", "scrape_interval": "30"}
	filled := placeholder.ReplaceAllFunc(data, func(m []byte) []byte {
		if v, ok := sample[string(m[2:len(m)-1])]; ok {
			return []byte(v)
		}
		return []byte("sample")
	})
	var doc struct {
		Receivers struct {
			Prometheus struct {
				Config map[string]any `yaml:"config"`
			} `yaml:"prometheus"`
		} `yaml:"receivers"`
	}
	if err := yaml.Unmarshal(filled, &doc); err != nil {
		return nil, err
	}
	if doc.Receivers.Prometheus.Config == nil {
		return nil, errors.New("no receivers.prometheus.config")
	}
	return yaml.Marshal(doc.Receivers.Prometheus.Config)
}

var placeholder = regexp.MustCompile(`\$\{[a-z_]+\}`)

// --------------------------------------------------------------- grafana

type grafanaPanel struct {
	Title   string `json:"title"`
	Type    string `json:"type"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // rows
}

// checkGrafana checks a dashboard's targets and returns their expressions.
func (l list) checkGrafana(where string, data []byte, require []string) (problems, exprs []string) {
	var d struct {
		Title  string         `json:"title"`
		UID    string         `json:"uid"`
		Panels []grafanaPanel `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return []string{fmt.Sprintf("%s: %v", where, err)}, nil
	}
	if d.UID == "" || d.Title == "" {
		problems = append(problems, where+": the dashboard needs a uid and a title")
	}
	var used []string
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, t := range p.Targets {
				if t.Expr == "" {
					continue
				}
				exprs = append(exprs, t.Expr)
				pr, u := l.checkExpr(fmt.Sprintf("%s: panel %q %s", where, p.Title, t.RefID), t.Expr)
				problems = append(problems, pr...)
				used = append(used, u...)
			}
		}
	}
	walk(d.Panels)
	for _, r := range require {
		if !slices.Contains(used, r) {
			problems = append(problems, fmt.Sprintf("%s: no panel shows %s", where, r))
		}
	}
	return problems, exprs
}

// ----------------------------------------------------------------- rules

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert  string `yaml:"alert,omitempty"`
			Record string `yaml:"record,omitempty"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func (l list) checkRules(where string, data []byte) []string {
	var rf ruleFile
	if p := unmarshalYAML(where, data, &rf); p != nil {
		return p
	}
	var problems []string
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			n++
			pr, _ := l.checkExpr(fmt.Sprintf("%s: %s%s", where, r.Alert, r.Record), r.Expr)
			problems = append(problems, pr...)
		}
	}
	if n == 0 {
		problems = append(problems, where+": no rules")
	}
	return problems
}

func unmarshalYAML(where string, data []byte, v any) []string {
	if err := yaml.Unmarshal(data, v); err != nil {
		return []string{fmt.Sprintf("%s: %v", where, err)}
	}
	return nil
}

// grafanaRules renders expressions as recording rules for promtool.
func grafanaRules(exprs []string) ([]byte, error) {
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	type group struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	}
	g := group{Name: "grafana-panels"}
	for i, e := range exprs {
		g.Rules = append(g.Rules, rule{Record: fmt.Sprintf("grafana:panel_expr_%d", i), Expr: grafanaVars.ReplaceAllString(e, "5m")})
	}
	return yaml.Marshal(map[string][]group{"groups": {g}})
}

// ------------------------------------------------------------------ main

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("metricrefs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listFile := fs.String("list", "", "JSON list of exported metrics (go run ./cmd/metricnames)")
	collector := fs.String("collector", "", "ADOT collector configuration (template) to check")
	require := fs.String("require", "", "comma-separated families every Grafana dashboard must show")
	rulesOut := fs.String("grafana-rules-out", "", "write the Grafana expressions here as a Prometheus rule file")
	promOut := fs.String("collector-prometheus-out", "", "write the collector's embedded Prometheus configuration here (for promtool check config)")
	var grafana, rules multi
	fs.Var(&grafana, "grafana", "Grafana dashboard JSON to check (repeatable)")
	fs.Var(&rules, "rules", "Prometheus rule file to check (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *listFile == "" {
		fmt.Fprintln(stderr, "metricrefs: -list is required")
		return 2
	}
	f, err := os.Open(*listFile)
	if err != nil {
		fmt.Fprintln(stderr, "metricrefs:", err)
		return 1
	}
	l, err := readList(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(stderr, "metricrefs:", err)
		return 1
	}
	var problems, exprs []string
	var required []string
	if *require != "" {
		required = strings.Split(*require, ",")
	}
	for _, r := range required {
		if _, ok := l.families[r]; !ok {
			problems = append(problems, fmt.Sprintf("-require: %s is not exported", r))
		}
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(name)
		if err != nil {
			problems = append(problems, err.Error())
		}
		return b
	}
	if *collector != "" {
		if b := read(*collector); b != nil {
			problems = append(problems, l.checkCollector(*collector, b)...)
			if *promOut != "" {
				out, err := collectorPrometheus(b)
				if err == nil {
					err = os.WriteFile(*promOut, out, 0o644)
				}
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %v", *collector, err))
				}
			}
		}
	}
	for _, g := range grafana {
		if b := read(g); b != nil {
			pr, ex := l.checkGrafana(g, b, required)
			problems = append(problems, pr...)
			exprs = append(exprs, ex...)
		}
	}
	for _, r := range rules {
		if b := read(r); b != nil {
			problems = append(problems, l.checkRules(r, b)...)
		}
	}
	if *rulesOut != "" {
		b, err := grafanaRules(exprs)
		if err == nil {
			err = os.WriteFile(*rulesOut, b, 0o644)
		}
		if err != nil {
			problems = append(problems, err.Error())
		}
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, "FAIL", p)
	}
	if len(problems) > 0 {
		return 1
	}
	fmt.Fprintf(stdout, "ok: %d Grafana expressions, %d rule files, collector %q, against %d exported families\n", len(exprs), len(rules), *collector, len(l.families))
	return 0
}
