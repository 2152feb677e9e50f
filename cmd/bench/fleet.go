package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/resend-worker/resend-worker/internal/devenv"
	"github.com/resend-worker/resend-worker/internal/ledger"
)

// fleetRow is a row of real worker processes sharing one quota through a
// COOLDOWN_TABLE on moto.
type fleetRow struct {
	name                 string
	burst                int // the stand-in's bucket, in calls
	workers              int // at the start
	scaleOut, scaleIn    bool
	drain, ideal         time.Duration
	calls, throttled     int
	dups                 int
	jobOps, heartbeats   float64 // ledger requests per job; heartbeats per task-second
	done                 bool
	slotWait, ledgerCost time.Duration
	steady               float64 // OK calls per second over the middle half of the calls ÷ Q
}

// fleetRows runs 3 workers with the stand-in's bucket at 1 s and at 100 ms
// of the quota, and the same with a scale-out (a 4th worker at a third of
// the drain) and a scale-in (one SIGTERMed at two thirds).
func (b *bench) fleetRows(ctx context.Context, w io.Writer) error {
	q := b.o.q
	var rows []fleetRow
	for _, burst := range []int{int(q), max(1, int(q/10))} {
		for _, scale := range []bool{false, true} {
			r := fleetRow{burst: burst, workers: 3, scaleOut: scale, scaleIn: scale}
			r.name = fmt.Sprintf("3 workers, burst %d (%s)", burst, time.Duration(float64(burst)/q*float64(time.Second)))
			if scale {
				r.name = fmt.Sprintf("3 +1 −1 workers, burst %d (%s)", burst, time.Duration(float64(burst)/q*float64(time.Second)))
			}
			if err := b.runFleetRow(ctx, &r); err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			fmt.Fprintf(os.Stderr, "%s: drain %s\n", r.name, r.drain.Round(time.Millisecond))
			rows = append(rows, r)
		}
	}
	cost, err := b.ledgerLatency(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nFleet of worker processes sharing Q=%g/s through COOLDOWN_TABLE (moto), COGNITO_MAX_RPS=Q each, L=%s, N=%d, SQS: %s\n\n", q, b.o.latency, b.o.n, sqsLabel(b.o.sqs))
	fmt.Fprintln(w, "| row | drain | ÷ N/Q | Cognito calls | throttled | users with >1 code | DynamoDB req/job | heartbeats/task/s | added latency/job | middle half's rate ÷ Q |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		drain := fmt.Sprintf("%.2f s", r.drain.Seconds())
		if !r.done {
			drain = "> " + drain
		}
		fmt.Fprintf(w, "| %s | %s | %.3f | %d | %.2f %% | %d | %.2f | %.2f | %.1f ms ledger + %.0f ms slot | %.3f |\n",
			r.name, drain, r.drain.Seconds()/r.ideal.Seconds(), r.calls, 100*float64(r.throttled)/float64(max(r.calls, 1)),
			r.dups, r.jobOps, r.heartbeats, float64(cost)/float64(time.Millisecond), float64(r.slotWait)/float64(time.Millisecond), r.steady)
	}
	return nil
}

func (b *bench) runFleetRow(ctx context.Context, r *fleetRow) error {
	n, q := b.o.n, b.o.q
	r.ideal = time.Duration(float64(n) / q * float64(time.Second))
	usernames := make([]string, n)
	for i := range usernames {
		usernames[i] = fmt.Sprintf("fleet-%d-%05d@example.com", rowSeq+1, i)
	}
	b.burst = r.burst
	be, err := b.newBackends(ctx, q, usernames)
	b.burst = 0
	if err != nil {
		return err
	}
	defer be.cog.Stop()
	table := fmt.Sprintf("bench-ledger-%d-%d", os.Getpid(), rowSeq)
	if err := b.moto.CreateLedgerTable(ctx, table); err != nil {
		return err
	}
	if err := b.enqueue(ctx, be.queueURL, usernames); err != nil {
		return err
	}
	var procs []*proc
	final := map[*proc]map[string]float64{} // metrics of a process just before it stopped
	defer func() { killAll(procs) }()
	startWorker := func() error {
		port, err := devenv.FreePort()
		if err != nil {
			return err
		}
		admin := fmt.Sprintf("127.0.0.1:%d", port)
		tg := b.target(be, admin, q)
		tg.Extra["COOLDOWN_TABLE"] = table
		tg.Extra["AWS_ENDPOINT_URL_DYNAMODB"] = b.moto.URL
		tg.Extra["LOG_USER_HASH_KEY"] = "bench"
		p, err := b.start([]string{b.bin, "run"}, tg.Env(), admin, fmt.Sprintf("fleet-%d-%d.log", rowSeq, len(procs)))
		if err == nil {
			procs = append(procs, p)
		}
		return err
	}
	start := time.Now()
	for range r.workers {
		if err := startWorker(); err != nil {
			return err
		}
	}
	resent := func() int {
		ok := map[string]bool{}
		for _, c := range be.cog.Server.Calls() {
			if c.Outcome == "OK" {
				ok[c.Username] = true
			}
		}
		return len(ok)
	}
	outAt, inAt := start.Add(r.ideal/3), start.Add(2*r.ideal/3)
	deadline := start.Add(b.o.timeout)
	var samples []fleetSample
	nextSample := start
	for resent() < n && time.Now().Before(deadline) {
		if b.o.trace > 0 && !time.Now().Before(nextSample) {
			nextSample = nextSample.Add(b.o.trace)
			s := fleetSample{at: time.Since(start)}
			for _, p := range procs {
				m, ok := final[p]
				rate := -1.0
				if !ok {
					m = p.metrics()
					rate = m["resend_cognito_rate_limit"]
				}
				s.rate, s.done = append(s.rate, rate), append(s.done, devenv.SumMetrics(m, "resend_jobs_total{"))
			}
			samples = append(samples, s)
		}
		if r.scaleOut && time.Now().After(outAt) {
			r.scaleOut = false
			if err := startWorker(); err != nil {
				return err
			}
		}
		if r.scaleIn && time.Now().After(inAt) {
			r.scaleIn = false
			final[procs[0]] = procs[0].metrics()
			go procs[0].stop()
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.drain = time.Since(start)
	r.done = resent() >= n
	waitUntil(10*time.Second, func() bool {
		c, err := b.queues.QueueCounts(ctx, be.queueURL)
		return err == nil && c.Total() == 0
	})
	var taskSeconds float64
	for _, p := range procs {
		m, ok := final[p]
		if !ok {
			m = p.metrics()
		}
		for _, op := range []string{"claim", "sent", "release", "renew"} {
			r.jobOps += devenv.SumMetrics(m, `resend_ledger_requests_total{op="`+op+`"`)
		}
		r.heartbeats += devenv.SumMetrics(m, `resend_ledger_requests_total{op="heartbeat"`)
	}
	taskSeconds = r.drain.Seconds() * float64(len(procs)) // an upper bound: the scaled rows' tasks ran less
	r.jobOps /= float64(n)
	r.heartbeats /= taskSeconds
	calls := be.cog.Server.Calls()
	if b.o.trace > 0 {
		writeFleetTrace(os.Stderr, r.name, calls, start, b.o.trace, samples)
	}
	var okAt []time.Time
	for _, c := range calls {
		if c.Outcome == "OK" {
			okAt = append(okAt, c.Time)
		}
	}
	if a, z := len(okAt)/4, 3*len(okAt)/4; z > a+1 {
		r.steady = float64(z-a) / okAt[z].Sub(okAt[a]).Seconds() / q
	}
	for _, c := range calls {
		r.calls++
		if c.Outcome == "TooManyRequestsException" {
			r.throttled++
		}
	}
	for _, u := range usernames {
		if be.cog.Server.DeliveriesFor(u) > 1 {
			r.dups++
		}
	}
	r.slotWait = time.Duration(float64(time.Second) * float64(r.workers) / q / 2) // half a period on average
	for _, p := range procs {
		if !p.Exited() {
			p.stop()
		}
	}
	return nil
}

// ledgerLatency is the time a job spends in the ledger when it resends:
// a claim and a sent-mark, each one DynamoDB round trip (moto on loopback
// here; DynamoDB in-region is typically 3–10 ms each). The median of 200.
func (b *bench) ledgerLatency(ctx context.Context) (time.Duration, error) {
	table := fmt.Sprintf("bench-latency-%d", os.Getpid())
	if err := b.moto.CreateLedgerTable(ctx, table); err != nil {
		return 0, err
	}
	d, err := ledger.NewDynamo(b.moto.DynamoDB(), ledger.DynamoConfig{Table: table, Cooldown: time.Minute})
	if err != nil {
		return 0, err
	}
	var ds []time.Duration
	for i := range 200 {
		t0 := time.Now()
		c, err := d.Claim(ctx, ledger.UserKey("bench", "", strconv.Itoa(i)))
		if err != nil || c.Status != ledger.Claimed {
			return 0, fmt.Errorf("claim: %v %v", c.Status, err)
		}
		d.Sent(ctx, c)
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

// killAll kills the processes still running and waits for them.
func killAll(procs []*proc) {
	for _, p := range procs {
		p.Kill()
	}
}
