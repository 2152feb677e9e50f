package main

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"gonum.org/v1/plot/plotter"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/devenv"
	"github.com/resend-worker/resend-worker/internal/testenv"
)

func TestBinCalls(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int, outcome string) cognitoemu.Call {
		return cognitoemu.Call{Time: start.Add(time.Duration(ms) * time.Millisecond), Outcome: outcome}
	}
	cases := []struct {
		name           string
		calls          []cognitoemu.Call
		length, bin    time.Duration
		all, throttled []float64
	}{
		{"empty row", nil, 2 * time.Second, time.Second, []float64{0, 0}, []float64{0, 0}},
		{"per bin", []cognitoemu.Call{at(0, "OK"), at(999, "TooManyRequestsException"), at(1000, "OK"), at(2500, "OK")},
			3 * time.Second, time.Second, []float64{2, 1, 1}, []float64{1, 0, 0}},
		{"half-second bins count double", []cognitoemu.Call{at(100, "OK"), at(200, "TooManyRequestsException")},
			time.Second, 500 * time.Millisecond, []float64{4, 0}, []float64{2, 0}},
		{"outside the row", []cognitoemu.Call{at(-1, "OK"), at(1000, "OK")}, time.Second, time.Second, []float64{0}, []float64{0}},
		{"partial last bin", []cognitoemu.Call{at(1200, "UserNotFoundException")}, 1300 * time.Millisecond, time.Second, []float64{0, 1}, []float64{0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			all, thr := binCalls(c.calls, start, c.length, c.bin)
			check := func(what string, got plotter.XYs, want []float64) {
				if len(got) != len(want) {
					t.Fatalf("%s: %d bins, want %d", what, len(got), len(want))
				}
				for i := range want {
					mid := (time.Duration(i)*c.bin + c.bin/2).Seconds()
					if got[i].Y != want[i] || got[i].X != mid {
						t.Errorf("%s bin %d = (%g, %g), want (%g, %g)", what, i, got[i].X, got[i].Y, mid, want[i])
					}
				}
			}
			check("calls", all, c.all)
			check("throttled", thr, c.throttled)
		})
	}
}

func TestChartFile(t *testing.T) {
	for name, want := range map[string]string{
		"(a) worker, MAX_RPS=Q":          "a-worker-max-rps-q.svg",
		"(c) 3 workers, MAX_RPS=Q each":  "c-3-workers-max-rps-q-each.svg",
		"(e) worker, unlimited stand-in": "e-worker-unlimited-stand-in.svg",
		"—":                              "row.svg",
	} {
		if got := chartFile(name); got != want {
			t.Errorf("chartFile(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestChartRow samples two fake worker /metrics (and one without the gauge)
// and a real stand-in taking real SDK calls over its quota, then checks the
// SVG written: it parses as
// XML with an <svg> root and draws every series, named in the legend.
func TestChartRow(t *testing.T) {
	metrics := func(gauge bool) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, "# TYPE resend_cognito_rate_limit gauge")
			if gauge {
				fmt.Fprintln(w, "resend_cognito_rate_limit 12.5")
			}
			fmt.Fprintln(w, `resend_jobs_total{outcome="resent"} 3`)
		}))
	}
	w1, w2 := metrics(true), metrics(true)
	defer w1.Close()
	defer w2.Close()
	w3 := metrics(false) // a process without a limiter (the naive loop): no series
	defer w3.Close()

	cog, err := devenv.StartCognito(cognitoemu.Options{Quota: 5, ResendLimitPerHour: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cog.Stop()
	const clientID = "chartclient000000001"
	pool := cognitoemu.SeedPool{ID: "us-east-1_Chart", Name: "chart", Clients: []cognitoemu.SeedClient{{ClientID: clientID}}}
	for i := range 20 {
		pool.Users = append(pool.Users, cognitoemu.SeedUser{Username: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i)})
	}
	if err := cog.Server.Seed(cognitoemu.SeedSpec{Pools: []cognitoemu.SeedPool{pool}}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	b := &bench{o: options{chartDir: filepath.Join(dir, "charts"), chartEvery: 10 * time.Millisecond}}
	addr := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	stop := b.chartRow("(x) test row, MAX_RPS=Q", cog, []string{addr(w1), addr(w2), addr(w3)})

	// 20 calls at once against a quota of 5/s and its burst of 1: most are
	// throttled. The SDK's own retries are off, as in the worker.
	client := cip.NewFromConfig(devenv.AWSConfig(), func(o *cip.Options) {
		o.BaseEndpoint = aws.String(cog.URL)
		o.RetryMaxAttempts = 1
	})
	throttled := 0
	for i := range 20 {
		_, err := client.ResendConfirmationCode(context.Background(), &cip.ResendConfirmationCodeInput{ClientId: aws.String(clientID), Username: aws.String(fmt.Sprintf("u%d", i))})
		var tooMany interface{ ErrorCode() string }
		if errors.As(err, &tooMany) && tooMany.ErrorCode() == "TooManyRequestsException" {
			throttled++
		} else if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if throttled == 0 {
		t.Fatal("no call was throttled: the chart would not show a throttle")
	}
	stop()
	stop() // idempotent

	path := filepath.Join(dir, "charts", "x-test-row-max-rps-q.svg")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("chart not written: %v", err)
	}
	defer f.Close()
	root, texts, paths := parseSVG(t, f)
	if root != "svg" {
		t.Fatalf("root element <%s>, want <svg>", root)
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"(x) test row, MAX_RPS=Q", "Cognito calls/s", "throttled/s", "limiter rate, process 1", "limiter rate, process 2", "limiter rates, sum", "quota", "seconds since the worker started"} {
		if !strings.Contains(all, want) {
			t.Errorf("the SVG's text lacks %q; it has %q", want, texts)
		}
	}
	if strings.Contains(all, "process 3") {
		t.Errorf("a series for the process without a limiter rate: %q", texts)
	}
	// Each series is one <path>; the grid, axes and ticks add more.
	if paths < 5 {
		t.Errorf("%d <path> elements, want at least the 5 series", paths)
	}
}

// TestSampler follows a limiter's rate as it changes, leaves out a process
// that serves no rate, and reads the stand-in's quota.
func TestSampler(t *testing.T) {
	var rate atomic.Int64
	rate.Store(40)
	w1 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "resend_cognito_rate_limit %d\n", rate.Load())
	}))
	defer w1.Close()
	w2 := httptest.NewServer(http.NotFoundHandler())
	defer w2.Close()
	cog := cognitoemu.New(cognitoemu.Options{Quota: 7})
	s := startSampler(cog, []string{strings.TrimPrefix(w1.URL, "http://"), strings.TrimPrefix(w2.URL, "http://")}, 5*time.Millisecond)
	saw := func(v float64) func() bool {
		return func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, tk := range s.ticks {
				if tk.rates[0] == v {
					return true
				}
			}
			return false
		}
	}
	waitFor(t, 5*time.Second, "a sample of rate 40", saw(40))
	rate.Store(20)
	cog.SetQuota(3)
	waitFor(t, 5*time.Second, "a sample of rate 20", saw(20))
	ticks, length := s.stop()
	if length <= 0 || len(ticks) < 2 {
		t.Fatalf("%d ticks over %s", len(ticks), length)
	}
	last := ticks[len(ticks)-1]
	if last.rates[0] != 20 || !math.IsNaN(last.rates[1]) || last.quota != 3 {
		t.Errorf("last tick %+v: want rate 20, NaN for the process without the gauge, quota 3", last)
	}
	for i := 1; i < len(ticks); i++ {
		if ticks[i].at < ticks[i-1].at || ticks[i].at > length.Seconds() {
			t.Fatalf("tick %d at %gs after %gs (row %s)", i, ticks[i].at, ticks[i-1].at, length)
		}
	}
}

func TestSumSeries(t *testing.T) {
	a := plotter.XYs{{X: 0, Y: 1}, {X: 1, Y: 2}, {X: 2, Y: 3}}
	b := plotter.XYs{{X: 0, Y: 10}, {X: 2, Y: 30}} // missed the tick at 1
	got := sumSeries([]plotter.XYs{b, a})
	want := plotter.XYs{{X: 0, Y: 11}, {X: 2, Y: 33}}
	if len(got) != len(want) {
		t.Fatalf("sum %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sum %v, want %v (in time order, ticks a process missed left out)", got, want)
		}
	}
	if got := sumSeries([]plotter.XYs{a, nil}); len(got) != 0 {
		t.Errorf("sum with a process that never answered: %v, want none", got)
	}
}

func TestNiceCeil(t *testing.T) {
	for v, want := range map[float64]float64{0: 1, 0.25: 0.3, 1: 1, 1.2: 2, 19: 20, 20: 20, 21: 30, 44: 50, 61: 80, 90: 100, 140: 200} {
		if got := niceCeil(v); math.Abs(got-want) > 1e-9*want {
			t.Errorf("niceCeil(%g) = %g, want %g", v, got, want)
		}
	}
}

func TestChartRowOff(t *testing.T) {
	b := &bench{o: options{chartDir: ""}}
	b.chartRow("(a) row", nil, nil)() // nothing to sample, nothing written, no panic
}

// TestNewChart checks the samples turn into series: NaN (no answer)
// leaves a gap, the quota is left out when unlimited throughout.
func TestNewChart(t *testing.T) {
	start := time.Now()
	nan := math.NaN()
	ticks := []tick{{at: 0, rates: []float64{10, nan, nan}, quota: 0}, {at: 1, rates: []float64{nan, nan, 4}, quota: 0}}
	c := newChart("t", start, 2*time.Second, nil, ticks)
	if len(c.rates) != 2 || len(c.rates[0]) != 1 || len(c.rates[1]) != 1 || c.rates[1][0] != (plotter.XY{X: 1, Y: 4}) {
		t.Errorf("rates %v: want a point each for processes 1 and 3 (NaN left out)", c.rates)
	}
	if c.nprocs != 3 || !slices.Equal(c.procs, []int{1, 3}) {
		t.Errorf("processes %v of %d, want 1 and 3 of 3 (2 never served a rate)", c.procs, c.nprocs)
	}
	if c.quota != nil {
		t.Errorf("quota %v for an unlimited stand-in, want none", c.quota)
	}
	ticks[1].quota = 20
	if c := newChart("t", start, 2*time.Second, nil, ticks); len(c.quota) != 2 {
		t.Errorf("quota %v, want both samples once it was limited", c.quota)
	}
}

// parseSVG decodes the whole document and returns its root element's name,
// its text content and how many <path> elements it has.
func parseSVG(t *testing.T, r io.Reader) (root string, texts []string, paths int) {
	t.Helper()
	d := xml.NewDecoder(r)
	depth := 0
	inText := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				root = e.Name.Local
			}
			depth++
			switch e.Name.Local {
			case "path":
				paths++
			case "text":
				inText++
			}
		case xml.EndElement:
			depth--
			if e.Name.Local == "text" {
				inText--
			}
		case xml.CharData:
			if inText > 0 && strings.TrimSpace(string(e)) != "" {
				texts = append(texts, string(e))
			}
		}
	}
	return root, texts, paths
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !waitUntil(timeout, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestBenchWritesCharts runs a small row (b) of the real bench: the worker
// built and run as a process against the stand-in and SQS on moto_server,
// then on the SQS stand-in (-sqs standin). Its chart must be written and
// show the worker's limiter rate.
func TestBenchWritesCharts(t *testing.T) {
	for _, sqs := range []string{"moto", "standin"} {
		t.Run(sqs, func(t *testing.T) { testBenchWritesCharts(t, sqs) })
	}
}

func testBenchWritesCharts(t *testing.T, sqs string) {
	if testing.Short() {
		t.Skip("builds and runs the worker against moto_server")
	}
	if _, err := devenv.MotoPath(); err != nil {
		testenv.Unavailable(t, "moto_server: %v", err)
	}
	dir := t.TempDir()
	t.Chdir(filepath.Join("..", "..")) // run builds ./cmd/worker from the module root
	o := options{n: 40, q: 20, latency: 10 * time.Millisecond, concurrency: 8, rows: "b", workers: 1,
		timeout: time.Minute, chartDir: dir, chartEvery: 100 * time.Millisecond, sqs: sqs}
	if err := run(o); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "b-worker-max-rps-2q.svg"))
	if err != nil {
		t.Fatalf("row (b)'s chart not written: %v", err)
	}
	defer f.Close()
	root, texts, _ := parseSVG(t, f)
	all := strings.Join(texts, "|")
	if root != "svg" || !strings.Contains(all, "Cognito calls/s") || !strings.Contains(all, "limiter rate") || !strings.Contains(all, "quota") {
		t.Fatalf("root <%s>, text %q: want an <svg> with the calls, the worker's limiter rate and the quota", root, texts)
	}
}
