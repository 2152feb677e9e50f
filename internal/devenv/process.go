package devenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// ProcessSpec is a program to run as a child process: the worker binary,
// or the benchmark's naive loop.
type ProcessSpec struct {
	Path string   // the program
	Args []string // its arguments, without the program's name
	Env  []string // its whole environment (Target.Env for a worker)
	// Stdin is the process's standard input; nil reads nothing.
	Stdin io.Reader
	// AdminAddr is the host:port of its admin endpoint (ADMIN_ADDR), for
	// Metrics, Get and WaitHTTP; "" if it has none.
	AdminAddr string
	// Output, if set, also receives everything the process writes to stdout
	// and stderr (a log file, a Lines writer); Process keeps it either way.
	Output io.Writer
}

// Process is a running child process whose output is kept.
type Process struct {
	Cmd       *exec.Cmd
	AdminAddr string

	out, stdout, stderr Buffer
	done                chan struct{} // closed once the process has exited
	exitCode            int

	stopOnce sync.Once
	stopTook time.Duration
}

// StartProcess starts spec's program.
func StartProcess(spec ProcessSpec) (*Process, error) {
	p := &Process{Cmd: exec.Command(spec.Path, spec.Args...), AdminAddr: spec.AdminAddr, done: make(chan struct{})}
	p.Cmd.Env, p.Cmd.Stdin = spec.Env, spec.Stdin
	var stdout, stderr io.Writer = io.MultiWriter(&p.out, &p.stdout), io.MultiWriter(&p.out, &p.stderr)
	if spec.Output != nil {
		stdout, stderr = io.MultiWriter(stdout, spec.Output), io.MultiWriter(stderr, spec.Output)
	}
	p.Cmd.Stdout, p.Cmd.Stderr = stdout, stderr
	// A grandchild holding the output open must not keep Wait (and Done)
	// from returning once the process itself has exited.
	p.Cmd.WaitDelay = 5 * time.Second
	if err := p.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Path, err)
	}
	go func() {
		_ = p.Cmd.Wait()
		p.exitCode = p.Cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	return p, nil
}

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitCode is the exit status once Done is closed (-1 if a signal ended it).
func (p *Process) ExitCode() int {
	<-p.done
	return p.exitCode
}

// Wait waits up to timeout for the process to exit and reports whether it
// did.
func (p *Process) Wait(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// Output is everything the process wrote so far, stdout and stderr
// interleaved.
func (p *Process) Output() string { return p.out.String() }

// Stdout is what the process wrote to stdout so far.
func (p *Process) Stdout() string { return p.stdout.String() }

// Stderr is what the process wrote to stderr so far.
func (p *Process) Stderr() string { return p.stderr.String() }

// Stop sends SIGTERM and waits for the exit, killing the process after
// timeout. It returns how long the stop took and whether SIGTERM sufficed.
// Only the first call acts; later calls return its result.
func (p *Process) Stop(timeout time.Duration) (took time.Duration, clean bool) {
	p.stopOnce.Do(func() {
		start := time.Now()
		if p.Exited() {
			return
		}
		_ = p.Cmd.Process.Signal(syscall.SIGTERM)
		if !p.Wait(timeout) {
			p.Kill()
		}
		p.stopTook = time.Since(start)
	})
	<-p.done
	return p.stopTook, p.exitCode >= 0
}

// Kill ends the process with SIGKILL, if it still runs, and waits for it.
func (p *Process) Kill() {
	if !p.Exited() {
		_ = p.Cmd.Process.Kill()
	}
	<-p.done
}

// Usage is the CPU time and peak resident memory (bytes) of the exited
// process, from its rusage.
func (p *Process) Usage() (cpu time.Duration, maxRSS int64) {
	<-p.done
	if ru, ok := p.Cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		maxRSS = ru.Maxrss * 1024 // KiB on Linux
	}
	return cpu, maxRSS
}

// Metrics scrapes the process's /metrics (see ScrapeMetrics).
func (p *Process) Metrics() (map[string]float64, error) { return ScrapeMetrics(p.AdminAddr) }

// Get GETs path on the admin endpoint and returns the status code, 0 if it
// does not answer.
func (p *Process) Get(path string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.AdminAddr+path, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// WaitHTTP waits until path on the admin endpoint answers 200. It fails at
// once if the process exits, and when timeout passes.
func (p *Process) WaitHTTP(path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if p.Exited() { // whatever answers now is not this process
			return fmt.Errorf("%s exited with %d before %s answered", p.Cmd.Path, p.exitCode, path)
		}
		if p.Get(path) == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within %s", path, timeout)
		}
		select {
		case <-p.done:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Buffer is an output buffer safe for concurrent writes and reads.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Lines returns a writer that calls line for every complete line written
// to it, without its newline.
func Lines(line func(string)) io.Writer { return &lineWriter{line: line} }

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
