package metrics

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func family(t *testing.T, fams []Family, name string) Family {
	t.Helper()
	i := slices.IndexFunc(fams, func(f Family) bool { return f.Name == name })
	if i < 0 {
		t.Fatalf("%s not listed", name)
	}
	return fams[i]
}

func TestFamiliesListsVectorsWithoutSeries(t *testing.T) {
	rec := NewRecorder()
	New(rec)
	fams, err := rec.Families()
	if err != nil {
		t.Fatal(err)
	}
	// resend_cognito_requests_total and resend_sqs_requests_total have no
	// series before the first call: Gather alone would not show them.
	for _, want := range []Family{
		{Name: "resend_cognito_requests_total", Type: "counter", Labels: []string{"code"}, Series: []string{"resend_cognito_requests_total"}},
		{Name: "resend_sqs_requests_total", Type: "counter", Labels: []string{"op"}, Series: []string{"resend_sqs_requests_total"}},
		{Name: "resend_cognito_request_duration_seconds", Type: "histogram", Labels: []string{},
			Series: []string{"resend_cognito_request_duration_seconds_bucket", "resend_cognito_request_duration_seconds_count", "resend_cognito_request_duration_seconds_sum"}},
	} {
		got := family(t, fams, want.Name)
		if got.Type != want.Type || !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Series, want.Series) || got.Help == "" {
			t.Errorf("%s = %+v, want type %s labels %v series %v and a help text", want.Name, got, want.Type, want.Labels, want.Series)
		}
	}
	// Labels of a vector with series come from Gather.
	if j := family(t, fams, "resend_jobs_total"); j.Type != "counter" || !slices.Contains(j.Labels, "outcome") {
		t.Errorf("resend_jobs_total = %+v, want a counter with an outcome label", j)
	}
	if !slices.IsSortedFunc(fams, func(a, b Family) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("families are not sorted by name")
	}
}

func TestFamiliesOfEachVectorType(t *testing.T) {
	rec := NewRecorder()
	cl := prometheus.Labels{"tier": "a,b}\"c"} // a value that would trip a naive parser
	rec.MustRegister(
		prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "x_gauge", Help: "g", ConstLabels: cl}, []string{"lane"}),
		prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "x_seconds", Help: "h {x}"}, []string{"lane", "op"}),
		prometheus.NewSummaryVec(prometheus.SummaryOpts{Name: "x_summary", Help: "s"}, []string{"op"}),
		prometheus.V2.NewCounterVec(prometheus.CounterVecOpts{
			CounterOpts:    prometheus.CounterOpts{Name: "x_total", Help: "c"},
			VariableLabels: prometheus.ConstrainedLabels{{Name: "code", Constraint: strings.ToLower}},
		}),
	)
	fams, err := rec.Families()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []Family{
		{Name: "x_gauge", Type: "gauge", Labels: []string{"lane", "tier"}, Series: []string{"x_gauge"}},
		{Name: "x_seconds", Type: "histogram", Labels: []string{"lane", "op"}, Series: []string{"x_seconds_bucket", "x_seconds_count", "x_seconds_sum"}},
		{Name: "x_summary", Type: "summary", Labels: []string{"op"}, Series: []string{"x_summary", "x_summary_count", "x_summary_sum"}},
		{Name: "x_total", Type: "counter", Labels: []string{"code"}, Series: []string{"x_total"}},
	} {
		got := family(t, fams, want.Name)
		if got.Type != want.Type || !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Series, want.Series) {
			t.Errorf("%s = %+v, want type %s labels %v series %v", want.Name, got, want.Type, want.Labels, want.Series)
		}
	}
	if h := family(t, fams, "x_seconds").Help; h != "h {x}" {
		t.Errorf("help = %q", h)
	}
}

// silent describes a metric but never collects one, and is no known vector.
type silent struct{ d *prometheus.Desc }

func (s silent) Describe(ch chan<- *prometheus.Desc) { ch <- s.d }
func (silent) Collect(chan<- prometheus.Metric)      {}

func TestFamiliesRefusesAnUnknownEmptyCollector(t *testing.T) {
	rec := NewRecorder()
	rec.MustRegister(silent{prometheus.NewDesc("x_custom", "c", []string{"a"}, nil)})
	if _, err := rec.Families(); err == nil || !strings.Contains(err.Error(), "x_custom") {
		t.Fatalf("err = %v, want one naming x_custom", err)
	}
}

func TestUnregisterForgetsTheCollector(t *testing.T) {
	rec := NewRecorder()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "x_gone", Help: "g"}, []string{"a"})
	rec.MustRegister(g)
	if !rec.Unregister(g) {
		t.Fatal("Unregister = false")
	}
	fams, err := rec.Families()
	if err != nil {
		t.Fatal(err)
	}
	if len(fams) != 0 {
		t.Fatalf("families = %+v, want none", fams)
	}
}

func TestReadPending(t *testing.T) {
	got, err := ReadPending(strings.NewReader("# comment\n\nx_outage gauge\nx_seconds histogram lane,op # trailing\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Family{
		{Name: "x_outage", Type: "gauge", Labels: []string{}, Series: []string{"x_outage"}},
		{Name: "x_seconds", Type: "histogram", Labels: []string{"lane", "op"}, Series: []string{"x_seconds_bucket", "x_seconds_count", "x_seconds_sum"}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Type != want[i].Type || !slices.Equal(got[i].Labels, want[i].Labels) || !slices.Equal(got[i].Series, want[i].Series) {
			t.Errorf("line %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"x_total\n", "x_total countr\n", "x_total counter a b\n"} {
		if _, err := ReadPending(strings.NewReader(bad)); !errors.Is(err, ErrPending) {
			t.Errorf("ReadPending(%q) err = %v, want ErrPending", bad, err)
		}
	}
}

func TestMergePending(t *testing.T) {
	exported := []Family{{Name: "x_total", Type: "counter", Labels: []string{"outcome"}, Series: []string{"x_total"}}}
	tests := []struct {
		name    string
		pending string
		check   func(t *testing.T, got []Family)
		wantErr bool
	}{
		{name: "new family", pending: "x_outage gauge", check: func(t *testing.T, got []Family) {
			if f := family(t, got, "x_outage"); !f.Pending {
				t.Errorf("x_outage not marked pending: %+v", f)
			}
			if f := family(t, got, "x_total"); f.Pending || f.PendingLabels != nil {
				t.Errorf("x_total changed: %+v", f)
			}
		}},
		{name: "new label", pending: "x_total counter lane", check: func(t *testing.T, got []Family) {
			f := family(t, got, "x_total")
			if !slices.Equal(f.Labels, []string{"lane", "outcome"}) || !slices.Equal(f.PendingLabels, []string{"lane"}) || f.Pending {
				t.Errorf("x_total = %+v, want labels lane,outcome with lane pending", f)
			}
		}},
		{name: "already exported", pending: "x_total counter outcome", wantErr: true},
		{name: "already exported, no labels", pending: "x_total counter", wantErr: true},
		{name: "other type", pending: "x_total gauge lane", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ReadPending(strings.NewReader(tt.pending))
			if err != nil {
				t.Fatal(err)
			}
			got, err := MergePending(exported, p)
			if tt.wantErr {
				if !errors.Is(err, ErrPending) {
					t.Fatalf("err = %v, want ErrPending", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
			if len(exported[0].Labels) != 1 {
				t.Error("MergePending changed its input")
			}
		})
	}
}
