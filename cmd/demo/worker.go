package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/resend-worker/resend-worker/internal/devenv"
)

// worker is a running `worker run` process whose log lines are echoed as
// "worker | ..." and read for each job's outcome.
type worker struct {
	proc   *devenv.Process
	killed bool // reported already

	mu   sync.Mutex
	last map[string]string // msg_id → outcome of its latest "job" log line
}

func startWorker(bin string, env []string, adminAddr string) (*worker, error) {
	w := &worker{last: map[string]string{}}
	p, err := devenv.StartProcess(devenv.ProcessSpec{Path: bin, Args: []string{"run"}, Env: env, AdminAddr: adminAddr, Output: devenv.Lines(w.logLine)})
	if err != nil {
		return nil, fmt.Errorf("start the worker: %w", err)
	}
	w.proc = p
	return w, nil
}

// logLine echoes one log line and notes a job outcome. A console line is
// "time<TAB>level<TAB>msg<TAB>{fields as JSON}".
func (w *worker) logLine(line string) {
	fmt.Println("worker | " + line)
	parts := strings.SplitN(line, "\t", 4)
	if len(parts) < 4 || parts[2] != "job" {
		return
	}
	var f struct {
		MsgID   string `json:"msg_id"`
		Outcome string `json:"outcome"`
	}
	if json.Unmarshal([]byte(parts[3]), &f) == nil && f.MsgID != "" {
		w.mu.Lock()
		w.last[f.MsgID] = f.Outcome
		w.mu.Unlock()
	}
}

// outcomes is each message's latest logged outcome.
func (w *worker) outcomes() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]string, len(w.last))
	for k, v := range w.last {
		out[k] = v
	}
	return out
}

// waitAll waits until the worker's /metrics count an outcome for every job,
// the job queue is empty and every job's final outcome was logged.
func (w *worker) waitAll(ctx context.Context, moto *devenv.Moto, queueURL string, jobs []*expectation, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var done float64
	queued := "unknown"
	for {
		if w.proc.Exited() {
			return fmt.Errorf("the worker exited early with status %d", w.proc.ExitCode())
		}
		done = w.jobsDone()
		empty := false
		if c, err := moto.QueueCounts(ctx, queueURL); err == nil {
			queued, empty = strconv.Itoa(c.Total()), c.Total() == 0
		}
		if done >= float64(len(jobs)) && empty && w.allLogged(jobs) {
			return nil
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("timed out after %s: %v job outcome(s) counted of %d, %s message(s) on the queue", timeout, done, len(jobs), queued)
			}
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// allLogged is true when every job's latest log line is a final outcome.
func (w *worker) allLogged(jobs []*expectation) bool {
	got := w.outcomes()
	for _, j := range jobs {
		if o := got[j.msgID]; o == "" || o == "requeued" {
			return false
		}
	}
	return true
}

// jobsDone is the sum of resend_jobs_total on the worker's /metrics; 0 while
// the admin endpoint does not answer yet.
func (w *worker) jobsDone() float64 {
	m, err := w.proc.Metrics()
	if err != nil {
		return 0
	}
	return devenv.SumMetrics(m, "resend_jobs_total{")
}

// stop sends SIGTERM and waits for the exit (killing the worker after 30 s);
// it returns the exit status and how long the shutdown took. Only the first
// call acts.
func (w *worker) stop() (int, time.Duration) {
	took, clean := w.proc.Stop(30 * time.Second)
	if !clean && !w.killed {
		w.killed = true
		fmt.Fprintln(os.Stderr, "demo: the worker did not exit 30s after SIGTERM; killed it")
	}
	return w.proc.ExitCode(), took
}
