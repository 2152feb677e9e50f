package devenv

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestProcessStopAndOutput: a child that exits on SIGTERM is stopped
// cleanly; its stdout and stderr are kept apart and together, and a Lines
// writer sees each line.
func TestProcessStopAndOutput(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	p, err := StartProcess(ProcessSpec{
		Path: "/bin/sh",
		Args: []string{"-c", `trap 'echo bye; exit 3' TERM; echo hello; echo oops >&2; while :; do sleep 0.05; done`},
		Output: Lines(func(l string) {
			mu.Lock()
			lines = append(lines, l)
			mu.Unlock()
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Output(), "oops") {
		if time.Now().After(deadline) {
			t.Fatalf("no output after 10s: %q", p.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p.Exited() {
		t.Fatal("exited before SIGTERM")
	}
	took, clean := p.Stop(10 * time.Second)
	if !clean || p.ExitCode() != 3 || took <= 0 {
		t.Fatalf("Stop = %s, %v; exit %d; want a clean exit 3", took, clean, p.ExitCode())
	}
	if again, _ := p.Stop(time.Second); again != took {
		t.Errorf("a second Stop acted again (%s, first %s)", again, took)
	}
	if p.Stdout() != "hello\nbye\n" || p.Stderr() != "oops\n" {
		t.Errorf("stdout %q, stderr %q", p.Stdout(), p.Stderr())
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(lines, ",") != "hello,oops,bye" && strings.Join(lines, ",") != "oops,hello,bye" {
		t.Errorf("lines %q", lines)
	}
	if cpu, _ := p.Usage(); cpu < 0 {
		t.Errorf("cpu %s", cpu)
	}
}

// TestProcessKilledAfterTimeout: a child that ignores SIGTERM is killed
// after the timeout and Stop says so.
func TestProcessKilledAfterTimeout(t *testing.T) {
	p, err := StartProcess(ProcessSpec{Path: "/bin/sh", Args: []string{"-c", `trap '' TERM; echo ready; while :; do sleep 0.05; done`}})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.Output(), "ready"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the child never got ready")
		}
	}
	if _, clean := p.Stop(200 * time.Millisecond); clean || p.ExitCode() != -1 {
		t.Fatalf("clean %v, exit %d: want killed", clean, p.ExitCode())
	}
}

// TestProcessWaitHTTP: WaitHTTP waits for a 200 and fails at once when the
// process exits first.
func TestProcessWaitHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-ready:
			fmt.Fprintln(w, "resend_jobs_total{outcome=\"resent\"} 2")
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	p, err := StartProcess(ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "exec sleep 30"}, AdminAddr: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	if err := p.WaitHTTP("/metrics", 100*time.Millisecond); err == nil {
		t.Fatal("WaitHTTP succeeded on a 503")
	}
	close(ready)
	if err := p.WaitHTTP("/metrics", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if m, err := p.Metrics(); err != nil || SumMetrics(m, "resend_jobs_total{") != 2 {
		t.Fatalf("Metrics = %v, %v", m, err)
	}
	p.Kill()
	if err := p.WaitHTTP("/nothing", 10*time.Second); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("WaitHTTP after exit = %v, want an exit error", err)
	}
}
