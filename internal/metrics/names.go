package metrics

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// RegisterRuntime registers the Go runtime and process collectors `worker
// run` exports next to its own metrics.
func RegisterRuntime(reg prometheus.Registerer) {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Family is one metric family as the worker exports it: the list that
// dashboards, alert rules and the collector configuration are checked
// against (cmd/metricnames prints it).
type Family struct {
	Name string `json:"name"`
	// Type is counter, gauge, histogram, summary or untyped.
	Type string `json:"type"`
	Help string `json:"help,omitempty"`
	// Labels are the variable label names, sorted (without le or quantile).
	Labels []string `json:"labels"`
	// Series are the sample names in the text exposition: the name itself,
	// or name_bucket, name_count and name_sum for a histogram.
	Series []string `json:"series"`
	// Pending marks a family another branch adds (deploy/metrics-pending.txt);
	// PendingLabels are labels such a branch adds to an exported family.
	Pending       bool     `json:"pending,omitempty"`
	PendingLabels []string `json:"pending_labels,omitempty"`
}

// ErrPending is returned by MergePending for a pending line that is wrong or
// no longer pending.
var ErrPending = errors.New("metrics-pending")

// Recorder is a prometheus.Registerer that registers into its own registry
// and remembers the collectors, so Families can describe label vectors that
// have no series yet (a registry's Gather does not show them).
type Recorder struct {
	Registry   *prometheus.Registry
	collectors []prometheus.Collector
}

// NewRecorder returns a Recorder with a fresh registry.
func NewRecorder() *Recorder { return &Recorder{Registry: prometheus.NewRegistry()} }

// Register implements prometheus.Registerer.
func (r *Recorder) Register(c prometheus.Collector) error {
	if err := r.Registry.Register(c); err != nil {
		return err
	}
	r.collectors = append(r.collectors, c)
	return nil
}

// MustRegister implements prometheus.Registerer.
func (r *Recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// Unregister implements prometheus.Registerer.
func (r *Recorder) Unregister(c prometheus.Collector) bool {
	r.collectors = slices.DeleteFunc(r.collectors, func(x prometheus.Collector) bool { return x == c })
	return r.Registry.Unregister(c)
}

// Families lists every family registered through r, sorted by name: those
// with series from Gather, the label vectors without series from their
// descriptors.
func (r *Recorder) Families() ([]Family, error) {
	mfs, err := r.Registry.Gather()
	if err != nil {
		return nil, err
	}
	byName := map[string]*Family{}
	for _, mf := range mfs {
		f := &Family{Name: mf.GetName(), Type: typeName(mf.GetType()), Help: mf.GetHelp()}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				f.Labels = append(f.Labels, lp.GetName())
			}
		}
		byName[f.Name] = f
	}
	for _, c := range r.collectors {
		for _, d := range describe(c) {
			name, help, labels, err := parseDesc(d.String())
			if err != nil {
				return nil, err
			}
			f, ok := byName[name]
			if !ok {
				typ := vecType(c)
				if typ == "" {
					return nil, fmt.Errorf("metrics: %s has no series and its collector (%T) has no known type", name, c)
				}
				f = &Family{Name: name, Type: typ, Help: help}
				byName[name] = f
			}
			f.Labels = append(f.Labels, labels...)
		}
	}
	out := make([]Family, 0, len(byName))
	for _, f := range byName {
		f.Labels = sortedSet(f.Labels)
		f.Series = seriesNames(f.Name, f.Type)
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b Family) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func describe(c prometheus.Collector) []*prometheus.Desc {
	ch := make(chan *prometheus.Desc)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	var ds []*prometheus.Desc
	for d := range ch {
		ds = append(ds, d)
	}
	return ds
}

// vecType is the type of a label vector (the collectors Gather cannot show
// before their first series).
func vecType(c prometheus.Collector) string {
	switch c.(type) {
	case *prometheus.CounterVec:
		return "counter"
	case *prometheus.GaugeVec:
		return "gauge"
	case *prometheus.HistogramVec:
		return "histogram"
	case *prometheus.SummaryVec:
		return "summary"
	}
	return ""
}

// typeName is the exposition's type of a gathered family.
func typeName(t fmt.Stringer) string {
	switch s := strings.ToLower(t.String()); s {
	case "counter", "gauge", "histogram", "summary":
		return s
	case "gauge_histogram":
		return "histogram"
	}
	return "untyped"
}

func seriesNames(name, typ string) []string {
	switch typ {
	case "histogram":
		return []string{name + "_bucket", name + "_count", name + "_sum"}
	case "summary":
		return []string{name, name + "_count", name + "_sum"}
	}
	return []string{name}
}

func sortedSet(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	s = slices.Compact(s)
	// le and quantile belong to the _bucket and summary samples, not the family.
	s = slices.DeleteFunc(s, func(l string) bool { return l == "le" || l == "quantile" })
	if s == nil {
		s = []string{}
	}
	return s
}

// parseDesc reads a *prometheus.Desc's String():
// Desc{fqName: "n", help: "h", unit: "u", constLabels: {a="b"}, variableLabels: {x,c(y)}}
// (client_golang has no accessor for these).
func parseDesc(s string) (name, help string, labels []string, err error) {
	bad := func(why string) error { return fmt.Errorf("metrics: cannot read descriptor %s: %s", s, why) }
	rest, ok := strings.CutPrefix(s, "Desc{fqName: ")
	if !ok {
		return "", "", nil, bad("no fqName")
	}
	if name, rest, err = quoted(rest); err != nil {
		return "", "", nil, bad("fqName")
	}
	if rest, ok = strings.CutPrefix(rest, ", help: "); !ok {
		return "", "", nil, bad("no help")
	}
	if help, rest, err = quoted(rest); err != nil {
		return "", "", nil, bad("help")
	}
	if rest, ok = strings.CutPrefix(rest, ", unit: "); ok {
		if _, rest, err = quoted(rest); err != nil {
			return "", "", nil, bad("unit")
		}
	}
	if rest, ok = strings.CutPrefix(rest, ", constLabels: {"); !ok {
		return "", "", nil, bad("no constLabels")
	}
	// const labels: a="b",c="d"
	for !strings.HasPrefix(rest, "}") {
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			return "", "", nil, bad("constLabels")
		}
		labels = append(labels, rest[:eq])
		if _, rest, err = quoted(rest[eq+1:]); err != nil {
			return "", "", nil, bad("constLabels value")
		}
		rest = strings.TrimPrefix(rest, ",")
	}
	vars, ok := strings.CutPrefix(rest, "}, variableLabels: {")
	if !ok {
		return "", "", nil, bad("no variableLabels")
	}
	vars, ok = strings.CutSuffix(vars, "}}")
	if !ok {
		return "", "", nil, bad("variableLabels")
	}
	for v := range strings.SplitSeq(vars, ",") {
		if v == "" {
			continue
		}
		if inner, ok := strings.CutPrefix(v, "c("); ok { // a constrained label
			v = strings.TrimSuffix(inner, ")")
		}
		labels = append(labels, v)
	}
	return name, help, labels, nil
}

func quoted(s string) (value, rest string, err error) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", err
	}
	value, err = strconv.Unquote(q)
	return value, s[len(q):], err
}

// ReadPending reads deploy/metrics-pending.txt: one family a line, "NAME
// TYPE [LABEL,LABEL...]", # comments.
func ReadPending(r io.Reader) ([]Family, error) {
	var out []Family
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) > 3 {
			return nil, fmt.Errorf("%w: line %d: want NAME TYPE [LABEL,...], got %q", ErrPending, n, sc.Text())
		}
		f := Family{Name: fields[0], Labels: []string{}}
		if len(fields) > 1 {
			f.Type = fields[1]
		}
		switch f.Type {
		case "counter", "gauge", "histogram", "summary":
		default:
			return nil, fmt.Errorf("%w: line %d: type must be counter, gauge, histogram or summary, got %q", ErrPending, n, f.Type)
		}
		if len(fields) == 3 {
			f.Labels = sortedSet(strings.Split(fields[2], ","))
		}
		f.Series = seriesNames(f.Name, f.Type)
		out = append(out, f)
	}
	return out, sc.Err()
}

// MergePending adds the pending families and labels to the exported ones.
// A pending line that the code already exports in full, or whose type
// differs from the exported family's, is an error: the list stays strict.
func MergePending(exported, pending []Family) ([]Family, error) {
	out := slices.Clone(exported)
	for _, p := range pending {
		i := slices.IndexFunc(out, func(f Family) bool { return f.Name == p.Name })
		if i < 0 {
			p.Pending = true
			out = append(out, p)
			continue
		}
		f := &out[i]
		if f.Type != p.Type {
			return nil, fmt.Errorf("%w: %s is a %s, the pending line says %s", ErrPending, p.Name, f.Type, p.Type)
		}
		var missing []string
		for _, l := range p.Labels {
			if !slices.Contains(f.Labels, l) {
				missing = append(missing, l)
			}
		}
		if len(missing) == 0 {
			return nil, fmt.Errorf("%w: %s is exported now with its labels: delete its line from the pending list", ErrPending, p.Name)
		}
		f.PendingLabels = missing
		f.Labels = sortedSet(append(slices.Clone(f.Labels), missing...))
	}
	slices.SortFunc(out, func(a, b Family) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
