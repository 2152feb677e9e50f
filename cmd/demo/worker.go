package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/resend-worker/resend-worker/internal/devenv"
)

// worker is a running `worker run` process whose log lines are echoed as
// "worker | ..." and read for each job's outcome.
type worker struct {
	cmd       *exec.Cmd
	adminAddr string
	done      chan struct{} // closed when the process has exited
	exitCode  int

	mu   sync.Mutex
	last map[string]string // msg_id → outcome of its latest "job" log line

	stopOnce sync.Once
	took     time.Duration
}

func startWorker(bin string, env []string, adminAddr string) (*worker, error) {
	w := &worker{cmd: exec.Command(bin, "run"), adminAddr: adminAddr, done: make(chan struct{}), last: map[string]string{}}
	w.cmd.Env = env
	out := &lineWriter{line: w.logLine}
	w.cmd.Stdout, w.cmd.Stderr = out, out
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the worker: %w", err)
	}
	go func() {
		_ = w.cmd.Wait()
		w.exitCode = w.cmd.ProcessState.ExitCode()
		close(w.done)
	}()
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
		select {
		case <-w.done:
			return fmt.Errorf("the worker exited early with status %d", w.exitCode)
		default:
		}
		done = w.jobsDone(ctx)
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
func (w *worker) jobsDone(ctx context.Context) float64 {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+w.adminAddr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && strings.HasPrefix(name, "resend_jobs_total{") {
			v, _ := strconv.ParseFloat(value, 64)
			sum += v
		}
	}
	return sum
}

// stop sends SIGTERM and waits for the exit (killing the worker after 30 s);
// it returns the exit status and how long the shutdown took. Only the first
// call acts.
func (w *worker) stop() (int, time.Duration) {
	w.stopOnce.Do(func() {
		start := time.Now()
		select {
		case <-w.done: // already gone, e.g. Ctrl-C reached it too
			return
		default:
		}
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(30 * time.Second):
			fmt.Fprintln(os.Stderr, "demo: the worker did not exit 30s after SIGTERM; killing it")
			_ = w.cmd.Process.Kill()
			<-w.done
		}
		w.took = time.Since(start)
	})
	<-w.done
	return w.exitCode, w.took
}

// lineWriter calls line for every complete line written to it.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	line func(string)
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.line(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
}
