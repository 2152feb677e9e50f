package main

// Charts: while a row runs, a sampler reads each process's limiter rate
// (resend_cognito_rate_limit on /metrics) and the stand-in's quota at a fixed
// interval; when the row ends, the stand-in's own call records give the calls
// and throttles per second, and the row's chart is written as SVG with
// gonum.org/v1/plot. A row charts itself with one call:
//
//	defer b.chartRow(name, be.cog, admins)()

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/devenv"
)

// rateMetric is the worker's gauge of the limiter's rate.
const rateMetric = "resend_cognito_rate_limit"

// chartBin is the width of the bins that calls and throttles are counted in.
const chartBin = time.Second

// tick is one sample of a running row.
type tick struct {
	at    float64   // seconds since the row's start
	rates []float64 // limiter rate per process, in the order of the addresses; NaN when it did not answer
	quota float64   // the stand-in's quota; 0 = unlimited
}

// sampler samples a row's limiter rates and quota until stopped.
type sampler struct {
	start  time.Time
	admins []string
	cog    *cognitoemu.Server
	every  time.Duration

	mu    sync.Mutex
	ticks []tick

	quit chan struct{}
	done chan struct{}
}

func startSampler(cog *cognitoemu.Server, admins []string, every time.Duration) *sampler {
	s := &sampler{start: time.Now(), admins: admins, cog: cog, every: every,
		quit: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *sampler) loop() {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		s.sample()
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
	}
}

func (s *sampler) sample() {
	tk := tick{at: time.Since(s.start).Seconds(), quota: s.cog.Config().Quota, rates: make([]float64, len(s.admins))}
	for i, a := range s.admins {
		tk.rates[i] = math.NaN()
		if m, err := devenv.ScrapeMetrics(a); err == nil {
			if v, ok := m[rateMetric]; ok {
				tk.rates[i] = v
			}
		}
	}
	s.mu.Lock()
	s.ticks = append(s.ticks, tk)
	s.mu.Unlock()
}

// stop ends the sampling (taking one last sample) and returns the samples
// and the row's length.
func (s *sampler) stop() ([]tick, time.Duration) {
	close(s.quit)
	<-s.done
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ticks, time.Since(s.start)
}

// chartRow starts sampling the row name, whose processes serve /metrics on
// admins and which calls the stand-in cog. The func it returns (call it
// once or more; only the first call counts) stops the sampling and writes
// the chart to -charts; a failure is printed, the row goes on. With -charts
// "" it does nothing.
func (b *bench) chartRow(name string, cog *devenv.Cognito, admins []string) (stop func()) {
	if b.o.chartDir == "" {
		return func() {}
	}
	s := startSampler(cog.Server, admins, b.o.chartEvery)
	var once sync.Once
	return func() {
		once.Do(func() {
			ticks, length := s.stop()
			path := filepath.Join(b.o.chartDir, chartFile(name))
			c := newChart(name, s.start, length, cog.Server.Calls(), ticks)
			if err := c.write(path); err != nil {
				fmt.Fprintf(os.Stderr, "%s: chart: %v\n", name, err)
				return
			}
			fmt.Fprintf(os.Stderr, "%s: chart %s\n", name, path)
		})
	}
}

// chartFile is the file name of a row's chart: "(c) 3 workers, MAX_RPS=Q
// each" → "c-3-workers-max-rps-q-each.svg".
func chartFile(name string) string {
	var sb strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && sb.Len() > 0 {
				sb.WriteByte('-')
			}
			sb.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	if sb.Len() == 0 {
		sb.WriteString("row")
	}
	return sb.String() + ".svg"
}

// chart is what one row's SVG shows, every series against seconds since
// the row's start.
type chart struct {
	title     string
	calls     plotter.XYs   // Cognito calls per second (every answer)
	throttled plotter.XYs   // of which TooManyRequestsException
	rates     []plotter.XYs // the limiter's rate, per process that served it
	procs     []int         // the number (from 1) of each rate's process
	nprocs    int           // processes sampled
	length    float64       // the row's length, seconds
	quota     plotter.XYs   // the stand-in's quota; empty when unlimited
}

func newChart(title string, start time.Time, length time.Duration, calls []cognitoemu.Call, ticks []tick) chart {
	c := chart{title: title, length: length.Seconds()}
	c.calls, c.throttled = binCalls(calls, start, length, chartBin)
	var rates []plotter.XYs
	if len(ticks) > 0 {
		c.nprocs = len(ticks[0].rates)
		rates = make([]plotter.XYs, c.nprocs)
	}
	limited := false
	for _, tk := range ticks {
		for i, r := range tk.rates {
			if i < len(rates) && !math.IsNaN(r) {
				rates[i] = append(rates[i], plotter.XY{X: tk.at, Y: r})
			}
		}
		c.quota = append(c.quota, plotter.XY{X: tk.at, Y: tk.quota})
		limited = limited || tk.quota > 0
	}
	// A process that never served the gauge (the naive loop) has no series.
	for i, r := range rates {
		if len(r) > 0 {
			c.rates, c.procs = append(c.rates, r), append(c.procs, i+1)
		}
	}
	if !limited {
		c.quota = nil
	}
	return c
}

// binCalls counts the calls made in [start, start+length) per bin, as
// rates per second at each bin's middle: every call, and the throttled ones.
func binCalls(calls []cognitoemu.Call, start time.Time, length, bin time.Duration) (all, throttled plotter.XYs) {
	n := int((length + bin - 1) / bin)
	all, throttled = make(plotter.XYs, n), make(plotter.XYs, n)
	for i := range n {
		mid := (time.Duration(i)*bin + bin/2).Seconds()
		all[i].X, throttled[i].X = mid, mid
	}
	per := 1 / bin.Seconds()
	for _, c := range calls {
		d := c.Time.Sub(start)
		if d < 0 || d >= length {
			continue
		}
		i := int(d / bin)
		all[i].Y += per
		if c.Outcome == "TooManyRequestsException" {
			throttled[i].Y += per
		}
	}
	return all, throttled
}

var (
	colorCalls     = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colorThrottled = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colorRate      = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	colorQuota     = color.RGBA{A: 0xff}
	colorProcs     = []color.RGBA{
		{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
		{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
		{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
		{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff},
	}
)

// sumSeries adds the series up at the points in time of the first that has
// a value there from each series (samples are taken together, so a tick's
// points share their X; a tick a process missed is left out).
func sumSeries(ss []plotter.XYs) plotter.XYs {
	at := map[float64][]float64{}
	for _, s := range ss {
		for _, p := range s {
			at[p.X] = append(at[p.X], p.Y)
		}
	}
	var out plotter.XYs
	for x, ys := range at {
		if len(ys) == len(ss) {
			sum := 0.0
			for _, y := range ys {
				sum += y
			}
			out = append(out, plotter.XY{X: x, Y: sum})
		}
	}
	slices.SortFunc(out, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
	return out
}

// niceCeil rounds v up to 1, 2, 3, 4, 5, 6 or 8 times a power of ten, for axis ends
// with round ticks.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 3, 4, 5, 6, 8, 10} {
		if v <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// write draws the chart into path (its directory is made) as SVG.
func (c chart) write(path string) error {
	p := plot.New()
	p.Title.Text = c.title
	p.X.Label.Text = "seconds since the worker started"
	p.Y.Label.Text = "per second"
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(8)

	entries, ymax := 0, 0.0
	add := func(label string, xys plotter.XYs, col color.Color, width vg.Length, dashes ...vg.Length) error {
		if len(xys) == 0 {
			return nil
		}
		entries++
		for _, p := range xys {
			ymax = max(ymax, p.Y)
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		l.Color, l.Width, l.Dashes = col, width, dashes
		p.Add(l)
		p.Legend.Add(label, l)
		return nil
	}
	if err := add("Cognito calls/s", c.calls, colorCalls, vg.Points(1.5)); err != nil {
		return err
	}
	if err := add("throttled/s", c.throttled, colorThrottled, vg.Points(1.5)); err != nil {
		return err
	}
	for i, r := range c.rates {
		label := "limiter rate"
		if c.nprocs > 1 {
			label = fmt.Sprintf("limiter rate, process %d", c.procs[i])
		}
		col, width := colorRate, vg.Points(1.5)
		if len(c.rates) > 1 {
			col, width = colorProcs[i%len(colorProcs)], vg.Points(1)
		}
		if err := add(label, r, col, width, vg.Points(4), vg.Points(2)); err != nil {
			return err
		}
	}
	if len(c.rates) > 1 {
		if err := add("limiter rates, sum", sumSeries(c.rates), colorRate, vg.Points(1.5)); err != nil {
			return err
		}
	}
	if err := add("quota", c.quota, colorQuota, vg.Points(1), vg.Points(1), vg.Points(3)); err != nil {
		return err
	}
	// Room above the data for the legend: about 4.5 % of the height a line.
	p.Y.Max = niceCeil(max(ymax, 1) / max(0.3, 1-0.03-0.045*float64(entries)))
	p.X.Min, p.X.Max = 0, c.length
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	p.Legend.Padding = vg.Points(2)
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Legend.ThumbnailWidth = vg.Points(24)
	p.Title.TextStyle.Font.Size = vg.Points(11)
	return p.Save(8*vg.Inch, 4*vg.Inch, path)
}
