package integration

import (
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// proxyMode is how the fault proxy treats connections.
type proxyMode int

const (
	// proxyUp forwards every connection to the target.
	proxyUp proxyMode = iota
	// proxyRefuse closes the listener: connects are refused.
	proxyRefuse
	// proxyReset accepts each connection and resets it at once (RST).
	proxyReset
	// proxyStall accepts each connection, reads and discards what comes,
	// and never answers (a black hole that still ACKs).
	proxyStall
)

func (m proxyMode) String() string {
	return [...]string{"up", "refuse", "reset", "stall"}[m]
}

// faultProxy is a TCP proxy in front of one address whose behaviour a test
// switches at run time. Entering any fault mode resets the connections open
// at that moment; leaving stall closes the stalled ones.
type faultProxy struct {
	t      *testing.T
	addr   string // 127.0.0.1:port the proxy listens on
	target string // host:port it forwards to

	mu    sync.Mutex
	mode  proxyMode
	ln    net.Listener
	conns map[net.Conn]struct{} // every open client or upstream connection

	accepted    atomic.Int64 // connections accepted, in any mode
	lastForward atomic.Int64 // unix nanos of the last bytes sent upstream
}

// newFaultProxy starts a proxy, in mode up, in front of targetURL
// (http://host:port).
func newFaultProxy(t *testing.T, targetURL string) *faultProxy {
	t.Helper()
	u, err := url.Parse(targetURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, addr: ln.Addr().String(), target: u.Host, conns: map[net.Conn]struct{}{}}
	p.ln = ln
	go p.serve(ln)
	t.Cleanup(func() {
		p.mu.Lock()
		if p.ln != nil {
			p.ln.Close()
			p.ln = nil
		}
		p.mode = proxyRefuse
		p.closeAllLocked(false)
		p.mu.Unlock()
	})
	return p
}

// URL is the proxy's address as an endpoint URL.
func (p *faultProxy) URL() string { return "http://" + p.addr }

// Accepted is the number of connections accepted so far.
func (p *faultProxy) Accepted() int64 { return p.accepted.Load() }

// LastForward is when bytes last went to the target.
func (p *faultProxy) LastForward() time.Time { return time.Unix(0, p.lastForward.Load()) }

// Mode is the current mode.
func (p *faultProxy) Mode() proxyMode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// SetMode switches the proxy's behaviour.
func (p *faultProxy) SetMode(m proxyMode) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if m == p.mode {
		return
	}
	prev := p.mode
	p.mode = m
	switch {
	case m == proxyRefuse:
		if p.ln != nil {
			p.ln.Close()
			p.ln = nil
		}
	case p.ln == nil:
		// Listen again on the same port (Go sets SO_REUSEADDR).
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			p.t.Errorf("fault proxy: listen again on %s: %v", p.addr, err)
			return
		}
		p.ln = ln
		go p.serve(ln)
	}
	// Entering a fault resets what is open (a partition breaks live
	// connections too); leaving stall closes the stalled connections.
	if m != proxyUp || prev == proxyStall {
		p.closeAllLocked(true)
	}
}

func (p *faultProxy) closeAllLocked(rst bool) {
	for c := range p.conns {
		if rst {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
		}
		c.Close()
	}
	clear(p.conns)
}

// track adds an upstream connection; it reports false (and closes up) when
// the client side was closed meanwhile by a mode switch.
func (p *faultProxy) track(client, up net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.conns[client]; !ok {
		up.Close()
		return false
	}
	p.conns[up] = struct{}{}
	return true
}

func (p *faultProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *faultProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		// Decide and track under the lock, so that a mode switch either
		// sees this connection or this connection sees the new mode.
		p.mu.Lock()
		mode := p.mode
		if mode == proxyUp || mode == proxyStall {
			p.conns[c] = struct{}{}
		}
		p.mu.Unlock()
		switch mode {
		case proxyReset, proxyRefuse:
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			c.Close()
		case proxyStall:
			go func() {
				_, _ = io.Copy(io.Discard, c)
				p.untrack(c)
			}()
		default:
			go p.pipe(c)
		}
	}
}

// pipe forwards c to the target until either side closes.
func (p *faultProxy) pipe(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.untrack(c)
		return
	}
	if !p.track(c, up) {
		return
	}
	var once sync.Once
	done := func() { once.Do(func() { p.untrack(c); p.untrack(up) }) }
	go func() {
		defer done()
		_, _ = io.Copy(up, stampReader{c, &p.lastForward})
	}()
	go func() {
		defer done()
		_, _ = io.Copy(c, up)
	}()
}

// stampReader records when it last read something.
type stampReader struct {
	r  io.Reader
	at *atomic.Int64
}

func (s stampReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	if n > 0 {
		s.at.Store(time.Now().UnixNano())
	}
	return n, err
}
