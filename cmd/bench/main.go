// Command bench measures the worker against moto_server (SQS) and the Cognito
// stand-in with a quota: drain time against the quota's ideal, throttling,
// SQS requests per job, CPU and memory, and enqueue-to-call latency when
// idle, next to a naive baseline and moto's own ceiling. `make bench` runs
// it; see README-section.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/devenv"
	"github.com/resend-worker/resend-worker/internal/sqsbatch"
	"github.com/resend-worker/resend-worker/job"
)

type options struct {
	n, nFast    int
	q           float64
	latency     time.Duration
	concurrency int
	rows        string
	idleJobs    int
	idleGap     time.Duration
	idleWindow  time.Duration
	timeout     time.Duration
	keepLogs    bool
	env         string
	workers     int
	trace       time.Duration
	outage      time.Duration
	chartDir    string
	chartEvery  time.Duration
	lanesGap    time.Duration
	sqs         string // "moto" or "standin": where the rows' queues live
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "naive" {
		os.Exit(naiveMain(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "fleet-sim" {
		printFleetSim(os.Stdout)
		return
	}
	var o options
	flag.IntVar(&o.n, "n", 600, "jobs per drain row")
	flag.Float64Var(&o.q, "q", 20, "the stand-in's quota Q, calls per second")
	flag.DurationVar(&o.latency, "latency", 50*time.Millisecond, "the stand-in's latency L")
	flag.IntVar(&o.concurrency, "concurrency", 64, "WORKER_CONCURRENCY (and the naive loop's concurrency)")
	flag.StringVar(&o.rows, "rows", "a,b,c,d,e,f,g,h,l", "rows to run: a (MAX_RPS=Q), b (MAX_RPS=2Q), c (3 processes), d (naive), e (unlimited stand-in vs bare moto loop), f (Cognito outage mid-drain), g (fleet simulation), h (a fleet on a COOLDOWN_TABLE), l (people beside a backlog: one queue, then a bulk lane)")
	flag.DurationVar(&o.outage, "outage", 20*time.Second, "how long Cognito is down in row f")
	flag.DurationVar(&o.lanesGap, "lanes-gap", 500*time.Millisecond, "spacing of the people's jobs in row l (-idle-jobs of them)")
	flag.IntVar(&o.idleJobs, "idle-jobs", 20, "single jobs sent to the idle worker for the enqueue-to-call latency (rows a, d)")
	flag.DurationVar(&o.idleGap, "idle-gap", time.Second, "spacing of the idle jobs")
	flag.DurationVar(&o.idleWindow, "idle-window", 40*time.Second, "quiet time over which idle receives are counted (rows a, d); 0 skips")
	flag.IntVar(&o.nFast, "n-fast", 1500, "jobs for row e")
	flag.DurationVar(&o.timeout, "timeout", 4*time.Minute, "give up on a row's drain after this")
	flag.BoolVar(&o.keepLogs, "keep-logs", false, "keep the worker logs (their paths are printed)")
	flag.StringVar(&o.env, "env", "", "extra worker environment, k=v;k=v (experiments)")
	flag.IntVar(&o.workers, "c-workers", 3, "worker processes in row c")
	flag.DurationVar(&o.trace, "trace", 0, "print each process's limiter rate and jobs done at this interval (stderr)")
	flag.StringVar(&o.chartDir, "charts", "bench-out", "write each row's chart (SVG) into this directory; \"\" skips")
	flag.DurationVar(&o.chartEvery, "chart-every", 500*time.Millisecond, "how often a row's chart samples the limiter's rate")
	flag.StringVar(&o.sqs, "sqs", "moto", "SQS for the rows' queues: moto (moto_server) or standin (the in-memory internal/sqsemu, whose receive does not scan the queue); DynamoDB stays on moto")
	flag.Parse()
	if err := checkSQS(o.sqs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// result is one row of the table.
type result struct {
	name       string
	n          int
	drain      time.Duration
	ideal      time.Duration // N/Q; 0 when unlimited
	calls      int
	throttled  int
	dlq        int
	dups       int     // users sent more than one code
	sqsPerJob  float64 // from resend_sqs_requests_total
	cpuPer1000 float64 // seconds
	rssMiB     float64
	p50, p99   time.Duration
	idleRecv   float64 // receives per minute per process while idle
	done       bool
	note       string
}

func (r result) jobsPerSec() float64 {
	if r.drain <= 0 {
		return 0
	}
	return float64(r.n) / r.drain.Seconds()
}

type bench struct {
	o    options
	bin  string
	dir  string
	moto *devenv.Moto // DynamoDB, and SQS unless -sqs standin
	// queues is where the rows' queues live: moto, or a client of the SQS
	// stand-in (-sqs standin).
	queues *devenv.Moto
	sqs    *sqs.Client
	self   string
	extra  map[string]string
	burst  int // the stand-in's bucket; 0: its default (100 ms of the quota)
}

func run(o options) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "resend-bench-")
	if err != nil {
		return err
	}
	if !o.keepLogs {
		defer os.RemoveAll(dir)
	}
	b := &bench{o: o, dir: dir, bin: filepath.Join(dir, "worker"), extra: map[string]string{}}
	for _, kv := range strings.Split(o.env, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			b.extra[k] = v
		}
	}
	fmt.Fprintln(os.Stderr, "building the worker…")
	build := exec.Command("go", "build", "-trimpath", "-o", b.bin, "./cmd/worker")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/worker (run from the module root): %w", err)
	}
	if b.self, err = os.Executable(); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "starting moto_server…")
	if b.moto, err = devenv.StartMoto(ctx); err != nil {
		return err
	}
	defer b.moto.Stop()
	b.queues = b.moto
	if o.sqs == "standin" {
		st, err := devenv.StartSQS()
		if err != nil {
			return err
		}
		defer st.Stop()
		b.queues = st.API()
	}
	b.sqs = b.queues.SQS()

	q := o.q
	var results []result
	var lanes []lanesResult
	var bare float64
	for _, row := range strings.Split(o.rows, ",") {
		var r result
		var err error
		switch strings.TrimSpace(row) {
		case "a":
			r, err = b.drainRow(ctx, "(a) worker, MAX_RPS=Q", o.n, q, 1, q, false, true)
		case "b":
			r, err = b.drainRow(ctx, "(b) worker, MAX_RPS=2Q", o.n, q, 1, 2*q, false, false)
		case "c":
			r, err = b.drainRow(ctx, fmt.Sprintf("(c) %d workers, MAX_RPS=Q each", o.workers), o.n, q, o.workers, q, false, false)
		case "d":
			r, err = b.drainRow(ctx, "(d) naive loop, no limiter", o.n, q, 1, 0, true, true)
		case "e":
			r, err = b.drainRow(ctx, "(e) worker, unlimited stand-in", o.nFast, 0, 1, 10000, false, false)
			if err == nil {
				bare, err = b.bareMoto(ctx, o.nFast)
				if err == nil && bare > 0 {
					r.note = fmt.Sprintf("%.0f jobs/s = %.2f × bare loop on %s (%.0f jobs/s)", r.jobsPerSec(), r.jobsPerSec()/bare, sqsLabel(o.sqs), bare)
				}
			}
		case "f":
			or, err := b.outageRow(ctx, o.n, q, o.outage)
			if err != nil {
				return fmt.Errorf("row f: %w", err)
			}
			printOutageRow(os.Stdout, q, or)
			continue
		case "l":
			lanes, err = b.lanesRow(ctx)
			if err != nil {
				return fmt.Errorf("row l: %w", err)
			}
			continue
		case "h": // fleet.go
			if err := b.fleetRows(ctx, os.Stdout); err != nil {
				return fmt.Errorf("row h: %w", err)
			}
			continue
		case "g": // fleet_sim.go
			printFleetSim(os.Stdout)
			continue
		case "":
			continue
		default:
			return fmt.Errorf("unknown row %q", row)
		}
		if err != nil {
			return fmt.Errorf("row %s: %w", row, err)
		}
		fmt.Fprintf(os.Stderr, "%s: drain %s\n", r.name, r.drain.Round(time.Millisecond))
		results = append(results, r)
	}
	if len(results) > 0 {
		printTable(os.Stdout, o, results)
	}
	printLanes(os.Stdout, o, lanes)
	return nil
}

// backends is one row's stand-in and queues.
type backends struct {
	cog              *devenv.Cognito
	queueURL, dlqURL string
	clientID, secret string
}

var rowSeq int

func (b *bench) newBackends(ctx context.Context, quota float64, usernames []string) (*backends, error) {
	rowSeq++
	name := fmt.Sprintf("bench-%d-%d", os.Getpid(), rowSeq)
	be := &backends{clientID: "benchclient0123456789", secret: "bench-secret"}
	var err error
	if be.queueURL, err = b.queues.CreateQueue(ctx, name); err != nil {
		return nil, err
	}
	if be.dlqURL, err = b.queues.CreateQueue(ctx, name+"-dlq"); err != nil {
		return nil, err
	}
	if be.cog, err = devenv.StartCognito(cognitoemu.Options{Quota: quota, Burst: b.burst, Latency: b.o.latency, ResendLimitPerHour: -1}); err != nil {
		return nil, err
	}
	pool := cognitoemu.SeedPool{ID: "us-east-1_Bench", Name: "bench",
		Clients: []cognitoemu.SeedClient{{ClientID: be.clientID, ClientSecret: be.secret}}}
	for _, u := range usernames {
		pool.Users = append(pool.Users, cognitoemu.SeedUser{Username: u, Email: u})
	}
	if err := be.cog.Server.Seed(cognitoemu.SeedSpec{Pools: []cognitoemu.SeedPool{pool}}); err != nil {
		be.cog.Stop()
		return nil, err
	}
	return be, nil
}

func (b *bench) target(be *backends, admin string, maxRPS float64) devenv.Target {
	extra := map[string]string{
		"WORKER_CONCURRENCY": strconv.Itoa(b.o.concurrency),
		"COGNITO_MAX_RPS":    strconv.FormatFloat(maxRPS, 'g', -1, 64),
		"LOG_LEVEL":          "info",
	}
	for k, v := range b.extra {
		extra[k] = v
	}
	return devenv.Target{SQSURL: b.queues.URL, CognitoURL: be.cog.URL, QueueURL: be.queueURL, DLQURL: be.dlqURL,
		ClientID: be.clientID, Secret: be.secret, AdminAddr: admin, Extra: extra}
}

func jobBody(u string) string { return fmt.Sprintf(`{"username":%q}`, u) }

// enqueue sends a job per username.
func (b *bench) enqueue(ctx context.Context, queueURL string, usernames []string) error {
	jobs := make([]job.Job, len(usernames))
	for i, u := range usernames {
		jobs[i] = job.Job{Username: u}
	}
	_, err := job.Enqueue(ctx, b.sqs, queueURL, jobs...)
	return err
}

// proc is a running worker (or naive loop) process and its log file.
type proc struct {
	*devenv.Process
	log string
}

func (b *bench) start(args []string, env []string, admin, logName string) (*proc, error) {
	logPath := filepath.Join(b.dir, logName)
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p, err := devenv.StartProcess(devenv.ProcessSpec{Path: args[0], Args: args[1:], Env: env, AdminAddr: admin, Output: f})
	if err != nil {
		f.Close()
		return nil, err
	}
	go func() { <-p.Done(); f.Close() }() // the output is all copied once Done is closed
	return &proc{Process: p, log: logPath}, nil
}

// stop sends SIGTERM and waits; it returns CPU time and peak RSS (bytes).
func (p *proc) stop() (cpu time.Duration, rss int64) {
	p.Stop(30 * time.Second)
	return p.Usage()
}

// metrics scrapes the process's /metrics; empty if it does not answer.
func (p *proc) metrics() map[string]float64 {
	m, err := p.Metrics()
	if err != nil {
		return map[string]float64{}
	}
	return m
}

func sumAll(ps []*proc, prefix string) float64 {
	var n float64
	for _, p := range ps {
		n += devenv.SumMetrics(p.metrics(), prefix)
	}
	return n
}

// drainRow enqueues n jobs, starts `workers` processes (or the naive loop),
// and measures the drain; with idle, it then measures enqueue-to-call
// latency and idle receives.
func (b *bench) drainRow(ctx context.Context, name string, n int, quota float64, workers int, maxRPS float64, naive, idle bool) (result, error) {
	r := result{name: name, n: n}
	if quota > 0 {
		r.ideal = time.Duration(float64(n) / quota * float64(time.Second))
	}
	idleJobs := 0
	if idle {
		idleJobs = b.o.idleJobs
	}
	usernames := rowUsernames(n + idleJobs)
	be, err := b.newBackends(ctx, quota, usernames)
	if err != nil {
		return r, err
	}
	defer be.cog.Stop()
	fmt.Fprintf(os.Stderr, "%s: enqueueing %d jobs…\n", name, n)
	if err := b.enqueue(ctx, be.queueURL, usernames[:n]); err != nil {
		return r, err
	}

	var procs []*proc
	defer func() { killAll(procs) }()
	start := time.Now()
	for i := range workers {
		port, err := devenv.FreePort()
		if err != nil {
			return r, err
		}
		admin := fmt.Sprintf("127.0.0.1:%d", port)
		var p *proc
		if naive {
			p, err = b.start([]string{b.self, "naive", "-sqs", b.queues.URL, "-cognito", be.cog.URL, "-queue", be.queueURL,
				"-client", be.clientID, "-secret", be.secret, "-concurrency", strconv.Itoa(b.o.concurrency), "-admin", admin},
				os.Environ(), admin, fmt.Sprintf("naive-%d.log", rowSeq))
		} else {
			p, err = b.start([]string{b.bin, "run"}, b.target(be, admin, maxRPS).Env(), admin, fmt.Sprintf("worker-%d-%d.log", rowSeq, i))
		}
		if err != nil {
			return r, err
		}
		procs = append(procs, p)
	}

	admins := make([]string, len(procs))
	for i, p := range procs {
		admins[i] = p.AdminAddr
	}
	stopChart := b.chartRow(name, be.cog, admins)
	defer stopChart()

	// Drain: every job has an outcome (resend_jobs_total over the processes).
	// The stand-in's records are read first, as they cost the workers nothing.
	drainSet := map[string]bool{}
	for _, u := range usernames[:n] {
		drainSet[u] = true
	}
	deadline := start.Add(b.o.timeout)
	stopTrace := make(chan struct{})
	defer close(stopTrace)
	if b.o.trace > 0 {
		go func() {
			t := time.NewTicker(b.o.trace)
			defer t.Stop()
			for {
				select {
				case <-stopTrace:
					return
				case <-t.C:
				}
				line := fmt.Sprintf("%6.2fs", time.Since(start).Seconds())
				for _, p := range procs {
					m := p.metrics()
					line += fmt.Sprintf("  rate %5.2f done %4.0f infl %3.0f thr %3.0f", m["resend_cognito_rate_limit"], devenv.SumMetrics(m, "resend_jobs_total{"), m["resend_inflight_jobs"], m[`resend_cognito_requests_total{code="TooManyRequestsException"}`])
				}
				fmt.Fprintln(os.Stderr, line)
			}
		}()
	}
	for {
		ok := map[string]bool{}
		for _, c := range be.cog.Server.Calls() {
			if c.Outcome == "OK" && drainSet[c.Username] {
				ok[c.Username] = true
			}
		}
		if len(ok) >= n {
			break
		}
		if time.Now().After(deadline) {
			r.note = fmt.Sprintf("gave up after %s: %d of %d resent", b.o.timeout, len(ok), n)
			break
		}
		for _, p := range procs {
			select {
			case <-p.Done():
				return r, fmt.Errorf("a worker exited early; log %s", p.log)
			default:
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	for r.note == "" {
		if sumAll(procs, "resend_jobs_total{") >= float64(n) {
			r.drain, r.done = time.Since(start), true
			break
		}
		if time.Now().After(deadline) {
			r.note = "outcomes not all counted"
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !r.done {
		r.drain = time.Since(start)
	}
	stopChart()
	// Let the last deletes flush, then read the SQS requests.
	waitUntil(10*time.Second, func() bool {
		c, err := b.queues.QueueCounts(ctx, be.queueURL)
		return err == nil && c.Total() == 0
	})
	r.sqsPerJob = sumAll(procs, "resend_sqs_requests_total{") / float64(n)
	ops := map[string]float64{}
	for _, p := range procs {
		for k, v := range p.metrics() {
			if op, ok := strings.CutPrefix(k, "resend_sqs_requests_total{op=\""); ok {
				ops[strings.TrimSuffix(op, "\"}")] += v / float64(n)
			}
		}
	}
	fmt.Fprintf(os.Stderr, "%s: SQS requests per job by op: %v\n", name, ops)
	calls := be.cog.Server.Calls()
	r.calls = len(calls)
	for _, c := range calls {
		if c.Outcome == "TooManyRequestsException" {
			r.throttled++
		}
	}
	for _, u := range usernames[:n] {
		if be.cog.Server.DeliveriesFor(u) > 1 {
			r.dups++
		}
	}
	if idle {
		if err := b.idle(ctx, &r, be, procs, usernames[n:]); err != nil {
			return r, err
		}
	}
	if c, err := b.queues.QueueCounts(ctx, be.dlqURL); err == nil {
		r.dlq = c.Total()
	}
	if naive {
		r.dlq = int(sumAll(procs, `resend_jobs_total{outcome="dead_lettered"}`))
	}
	var cpu time.Duration
	var rss int64
	for _, p := range procs {
		c, m := p.stop()
		cpu += c
		rss = max(rss, m)
	}
	r.cpuPer1000 = cpu.Seconds() / float64(n+idleJobs) * 1000
	r.rssMiB = float64(rss) / (1 << 20)
	if b.o.keepLogs {
		for _, p := range procs {
			fmt.Fprintln(os.Stderr, "  log:", p.log)
		}
	}
	return r, nil
}

// idle sends single jobs to the idle worker, spaced apart, and measures
// SendMessage's return to the stand-in's record of the call; then it counts
// the receives of a quiet window.
func (b *bench) idle(ctx context.Context, r *result, be *backends, procs []*proc, usernames []string) error {
	time.Sleep(3 * time.Second) // the drain's tail is over; receivers settle
	sent := map[string]time.Time{}
	for _, u := range usernames {
		if _, err := b.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(be.queueURL), MessageBody: aws.String(jobBody(u))}); err != nil {
			return err
		}
		sent[u] = time.Now()
		time.Sleep(b.o.idleGap)
	}
	var lat []time.Duration
	waitUntil(30*time.Second, func() bool {
		lat = lat[:0]
		seen := map[string]bool{}
		for _, c := range be.cog.Server.Calls() {
			if t, ok := sent[c.Username]; ok && !seen[c.Username] {
				seen[c.Username] = true
				lat = append(lat, c.Time.Sub(t))
			}
		}
		return len(lat) == len(usernames)
	})
	slices.Sort(lat)
	if len(lat) > 0 {
		r.p50 = percentile(lat, 0.50)
		r.p99 = percentile(lat, 0.99)
	}
	if b.o.idleWindow > 0 {
		time.Sleep(2 * time.Second)
		before := sumAll(procs, `resend_sqs_requests_total{op="ReceiveMessage"}`)
		time.Sleep(b.o.idleWindow)
		after := sumAll(procs, `resend_sqs_requests_total{op="ReceiveMessage"}`)
		r.idleRecv = (after - before) / b.o.idleWindow.Minutes() / float64(len(procs))
	}
	return nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// bareMoto is moto's own ceiling: n jobs drained by a bare loop of
// receive(10) and DeleteMessageBatch, on 4 goroutines.
func (b *bench) bareMoto(ctx context.Context, n int) (float64, error) {
	name := fmt.Sprintf("bench-bare-%d", os.Getpid())
	url, err := b.queues.CreateQueue(ctx, name)
	if err != nil {
		return 0, err
	}
	usernames := make([]string, n)
	for i := range usernames {
		usernames[i] = fmt.Sprintf("bare-%05d", i)
	}
	fmt.Fprintf(os.Stderr, "bare moto loop: enqueueing %d jobs…\n", n)
	if err := b.enqueue(ctx, url, usernames); err != nil {
		return 0, err
	}
	var mu sync.Mutex
	deleted := 0
	var wg sync.WaitGroup
	start := time.Now()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				finished := deleted >= n
				mu.Unlock()
				if finished {
					return
				}
				out, err := b.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 30})
				if err != nil || len(out.Messages) == 0 {
					continue
				}
				entries := make([]types.DeleteMessageBatchRequestEntry, len(out.Messages))
				for i, m := range out.Messages {
					entries[i] = types.DeleteMessageBatchRequestEntry{ReceiptHandle: m.ReceiptHandle}
				}
				n := 0
				for _, o := range sqsbatch.Do(ctx, sqsbatch.Delete(b.sqs, url), entries, sqsbatch.Config{}) {
					if o.Err == nil {
						n++
					}
				}
				mu.Lock()
				deleted += n
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds(), nil
}

func printTable(w io.Writer, o options, rs []result) {
	fmt.Fprintf(w, "\nQ=%g/s  L=%s  N=%d  WORKER_CONCURRENCY=%d  (SQS: %s, Cognito stand-in burst %d)\n\n",
		o.q, o.latency, o.n, o.concurrency, sqsLabel(o.sqs), max(1, int(math.Ceil(o.q/10))))
	fmt.Fprintln(w, "| row | jobs | drain | ÷ N/Q | Cognito calls | throttled | DLQ | SQS req/job | CPU s/1000 jobs | peak RSS | idle p50 | idle p99 | idle receives/min |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		ratio := "—"
		if r.ideal > 0 {
			ratio = fmt.Sprintf("%.3f", r.drain.Seconds()/r.ideal.Seconds())
		}
		drain := fmt.Sprintf("%.2f s", r.drain.Seconds())
		if !r.done {
			drain = "> " + drain
		}
		lat := func(d time.Duration) string {
			if d == 0 {
				return "—"
			}
			return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
		}
		idle := "—"
		if r.idleRecv > 0 || r.p50 > 0 {
			idle = fmt.Sprintf("%.1f", r.idleRecv)
		}
		share := 0.0
		if r.calls > 0 {
			share = float64(r.throttled) / float64(r.calls) * 100
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %d | %.2f %% | %d | %.3f | %.2f | %.1f MiB | %s | %s | %s |\n",
			r.name, r.n, drain, ratio, r.calls, share, r.dlq, r.sqsPerJob, r.cpuPer1000, r.rssMiB, lat(r.p50), lat(r.p99), idle)
	}
	for _, r := range rs {
		if r.note != "" || r.dups > 0 {
			fmt.Fprintf(w, "\n%s: %s", r.name, r.note)
			if r.dups > 0 {
				fmt.Fprintf(w, " (%d users sent more than one code)", r.dups)
			}
		}
	}
	fmt.Fprintln(w)
}

// rowUsernames is the users of the next row: n of them, named for the row so
// that rows never share a user.
func rowUsernames(n int) []string {
	usernames := make([]string, n)
	for i := range usernames {
		usernames[i] = fmt.Sprintf("bench-%d-%05d@example.com", rowSeq+1, i)
	}
	return usernames
}

// checkSQS checks the -sqs flag.
func checkSQS(v string) error {
	if v != "moto" && v != "standin" {
		return fmt.Errorf("-sqs %q: want moto or standin", v)
	}
	return nil
}

// sqsLabel names the SQS of the rows in the tables' headings.
func sqsLabel(v string) string {
	if v == "standin" {
		return "the in-memory stand-in (internal/sqsemu)"
	}
	return "moto_server"
}
