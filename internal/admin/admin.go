// Package admin serves the worker's operational HTTP endpoints: /metrics
// (Prometheus), /healthz (the process is alive and its loops run: 503 only
// when one of them has been silent for StuckAfter) and /readyz
// (SQS answered the latest receive and Cognito is not judged down).
//
// /healthz never fails because AWS is unreachable: an orchestrator restarts
// a task whose health check fails, and a restart cannot fix Cognito or SQS.
package admin

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health is the state /healthz and /readyz report. It is safe for
// concurrent use; its zero value is alive and not ready.
type Health struct {
	stopping    atomic.Bool
	ready       atomic.Bool
	cognitoDown atomic.Bool
	failures    atomic.Int64 // consecutive failed receives

	// Now is the clock of the liveness check; nil means time.Now.
	Now   func() time.Time
	loops sync.Map // loop name → *atomic.Int64, UnixNano of its last Beat
}

// StuckAfter is how long a loop that has beaten once may stay silent
// before /healthz reports it stuck: well above the longest legitimate
// silence (a receiver's 20 s long poll plus its 10 s call timeout, or a
// receive backoff of 10 s).
const StuckAfter = 2 * time.Minute

func (h *Health) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Beat records that a loop of the process ran just now
// (consumer.Config.Alive).
func (h *Health) Beat(loop string) {
	v, ok := h.loops.Load(loop)
	if !ok {
		v, _ = h.loops.LoadOrStore(loop, new(atomic.Int64))
	}
	v.(*atomic.Int64).Store(h.now().UnixNano())
}

// stuck lists the loops silent for longer than StuckAfter, with how long.
// While stopping nothing is stuck: the loops end then.
func (h *Health) stuck() []string {
	if h.stopping.Load() {
		return nil
	}
	now := h.now()
	var out []string
	h.loops.Range(func(k, v any) bool {
		if d := now.Sub(time.Unix(0, v.(*atomic.Int64).Load())); d > StuckAfter {
			out = append(out, fmt.Sprintf("%s silent for %s", k, d.Round(time.Second)))
		}
		return true
	})
	sort.Strings(out)
	return out
}

// Alive reports whether every loop that has beaten is still beating.
func (h *Health) Alive() bool { return len(h.stuck()) == 0 }

// NotReadyAfter is the number of consecutive failed receives after which
// /readyz reports not ready.
const NotReadyAfter = 3

// Received records the result of a receive.
func (h *Health) Received(_ int, err error) {
	if err != nil {
		if h.failures.Add(1) >= NotReadyAfter {
			h.ready.Store(false)
		}
		return
	}
	h.failures.Store(0)
	h.ready.Store(true)
}

// Stopping marks the worker as shutting down: no longer ready.
func (h *Health) Stopping() { h.stopping.Store(true); h.ready.Store(false) }

// CognitoDown records whether Cognito is judged down: not ready while it is
// (the worker holds its jobs and receives none), alive all the same.
func (h *Health) CognitoDown(down bool) { h.cognitoDown.Store(down) }

// Ready reports readiness.
func (h *Health) Ready() bool { return h.readiness() == "" }

// readiness is "" when ready, else why not.
func (h *Health) readiness() string {
	switch {
	case h.stopping.Load():
		return "stopping"
	case h.cognitoDown.Load():
		return "cognito down"
	case !h.ready.Load():
		return "sqs not answering"
	}
	return ""
}

// Handler returns the mux of the three endpoints.
func Handler(h *Health, g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if stuck := h.stuck(); len(stuck) > 0 {
			http.Error(w, "stuck: "+strings.Join(stuck, ", "), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if why := h.readiness(); why != "" {
			http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	return mux
}

// Server is a started admin server.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Start listens on addr and serves handler in the background.
func Start(addr string, handler http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	// A scraper or a probe that stalls must not hold a connection (and a
	// goroutine) for ever: bounded reads, writes (a /metrics answer is
	// small) and idle keep-alives.
	s := &Server{srv: &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}, ln: ln}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // Serve fails only when the listener does; Close reports it
		}
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server at once: it runs last, as the process exits, and a
// scraper's idle keep-alive connection must not hold the exit up.
func (s *Server) Close() error { return s.srv.Close() }
