package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/resend-worker/resend-worker/internal/devenv"
)

// lanesResult is one setup of the lanes row: a backlog of bulk jobs drains
// while people, one every gap, send a job each to the interactive queue.
type lanesResult struct {
	name       string
	backlog    int
	people     int
	p50, p99   time.Duration // a person's send to the stand-in's OK call
	drain      time.Duration // worker start to every job resolved
	ideal      time.Duration // (backlog+people)/Q
	unanswered int           // people with no OK call when the row gave up
	dups       int           // users sent more than one code
}

// lanesRow runs the backlog-plus-people scenario of issue 13 twice: with one
// queue (the backlog ahead of the people) and with the backlog on
// RESEND_BULK_QUEUE_URL.
func (b *bench) lanesRow(ctx context.Context) ([]lanesResult, error) {
	var out []lanesResult
	for _, bulk := range []bool{false, true} {
		r, err := b.lanesSetup(ctx, bulk)
		if err != nil {
			return out, err
		}
		fmt.Fprintf(os.Stderr, "%s: people p50 %s p99 %s, drain %s\n", r.name, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.drain.Round(time.Millisecond))
		out = append(out, r)
	}
	return out, nil
}

func (b *bench) lanesSetup(ctx context.Context, bulk bool) (lanesResult, error) {
	n, people := b.o.n, b.o.idleJobs
	r := lanesResult{name: "one queue", backlog: n, people: people,
		ideal: time.Duration(float64(n+people) / b.o.q * float64(time.Second))}
	if bulk {
		r.name = "bulk lane"
	}
	usernames := make([]string, n+people)
	for i := range usernames {
		usernames[i] = fmt.Sprintf("lanes-%d-%05d@example.com", rowSeq+1, i)
	}
	be, err := b.newBackends(ctx, b.o.q, usernames)
	if err != nil {
		return r, err
	}
	defer be.cog.Stop()
	backlogURL := be.queueURL
	port, err := devenv.FreePort()
	if err != nil {
		return r, err
	}
	admin := fmt.Sprintf("127.0.0.1:%d", port)
	tg := b.target(be, admin, b.o.q)
	if bulk {
		if backlogURL, err = b.queues.CreateQueue(ctx, fmt.Sprintf("bench-%d-%d-bulk", os.Getpid(), rowSeq)); err != nil {
			return r, err
		}
		tg.Extra["RESEND_BULK_QUEUE_URL"] = backlogURL
	}
	fmt.Fprintf(os.Stderr, "lanes (%s): enqueueing %d jobs…\n", r.name, n)
	if err := b.enqueue(ctx, backlogURL, usernames[:n]); err != nil {
		return r, err
	}
	start := time.Now()
	p, err := b.start([]string{b.bin, "run"}, tg.Env(), admin, fmt.Sprintf("lanes-%d.log", rowSeq))
	if err != nil {
		return r, err
	}
	defer p.stop()

	// The people come once a sixth of the backlog is done: the drain is
	// under way, and it lasts well beyond their last job.
	resolved := func() map[string]time.Time {
		ok := map[string]time.Time{}
		for _, c := range be.cog.Server.Calls() {
			if _, seen := ok[c.Username]; !seen && c.Outcome == "OK" {
				ok[c.Username] = c.Time
			}
		}
		return ok
	}
	if !waitUntil(b.o.timeout, func() bool { return len(resolved()) >= n/6 }) {
		return r, fmt.Errorf("lanes (%s): the backlog did not start draining; log %s", r.name, p.log)
	}
	sent := map[string]time.Time{}
	for i, u := range usernames[n:] {
		if i > 0 {
			time.Sleep(b.o.lanesGap)
		}
		sent[u] = time.Now()
		if _, err := b.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(be.queueURL), MessageBody: aws.String(jobBody(u))}); err != nil {
			return r, err
		}
	}
	var ok map[string]time.Time
	waitUntil(b.o.timeout-time.Since(start), func() bool { ok = resolved(); return len(ok) >= n+people })
	r.drain = time.Since(start)
	var lat []time.Duration
	for u, t := range sent {
		if at, found := ok[u]; found {
			lat = append(lat, at.Sub(t))
		} else {
			r.unanswered++
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		r.p50, r.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
	}
	for _, u := range usernames {
		if be.cog.Server.DeliveriesFor(u) > 1 {
			r.dups++
		}
	}
	return r, nil
}

func printLanes(w io.Writer, o options, rs []lanesResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nLanes: a backlog of %d jobs drains at Q=%g/s while %d people send a job each, %s apart, to RESEND_QUEUE_URL (WORKER_CONCURRENCY=%d, SQS: %s)\n\n",
		o.n, o.q, o.idleJobs, o.lanesGap, o.concurrency, sqsLabel(o.sqs))
	fmt.Fprintln(w, "| setup | people's send → code p50 | p99 | drain of backlog + people | ÷ N/Q |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %.0f ms | %.0f ms | %.2f s | %.3f |\n", r.name,
			float64(r.p50)/float64(time.Millisecond), float64(r.p99)/float64(time.Millisecond), r.drain.Seconds(), r.drain.Seconds()/r.ideal.Seconds())
	}
	for _, r := range rs {
		if r.unanswered > 0 || r.dups > 0 {
			fmt.Fprintf(w, "\n%s: %d people without a code, %d users sent more than one", r.name, r.unanswered, r.dups)
		}
	}
	fmt.Fprintln(w)
}
