// Package breaker judges whether Cognito is down and, while it is, lets one
// probe call through at a time at a slow, growing interval.
//
// Evidence comes from every call: an outage error (HTTP 5xx,
// InternalErrorException, a timeout, a connection refused, reset or not
// resolved) counts against Cognito; a success or a permanent error (Cognito
// answered) counts for it; a throttle, a call we cancelled ourselves and other
// per-request failures say nothing (Neutral). Cognito is judged down when,
// over the recent calls (at least MinCalls of the last Window within MaxAge),
// the share of outage errors reaches TripShare, or the last TripRun calls
// were all outage errors (so that successes from before the incident do not
// delay the judgement), and they came from at least
// MinJobs different jobs (one job whose calls keep failing, a poison
// message, is not an outage, however quiet the rest of the queue). While down, callers wait in
// Allow; one of them at a time becomes the probe, first ProbeInterval after
// the trip, then at an interval doubled after each failed probe up to
// MaxProbeInterval, with jitter. CloseAfter successful probes in a row close
// it again.
//
// Hysteresis: the bar to trip is high (TripShare of at least MinCalls calls),
// the bar to close is separate (CloseAfter probes in a row), and the window
// starts empty after each change of state, so a brown-out (30 % of calls
// failing) never trips it and a flickering service does not flap it.
//
// Why not github.com/sony/gobreaker/v2 (v2.4.0, read before deciding): its
// rolling window (BucketPeriod), IsExcluded and ReadyToTrip would judge the
// window well, but its open state lasts a fixed Timeout (no interval that
// grows after each failed probe, no jitter), a half-open breaker rejects
// callers beyond MaxRequests instead of letting a waiting job take the next
// probe slot (every held job would poll), and its clock cannot be replaced,
// so its timing could only be tested with real sleeps. The decision part here
// is a pure state machine (machine) tested with a fake clock; Breaker adds
// the lock and the waiting.
package breaker

import "time"

// Evidence is what one call says about Cognito's health.
type Evidence int

const (
	// Neutral says nothing: a throttle, our own cancellation, a per-request
	// transient error, or a call that was never made.
	Neutral Evidence = iota
	// Up: Cognito answered (success or a permanent error).
	Up
	// Down: an outage error (5xx, timeout, connection error).
	Down
)

// Config tunes the judgement; the zero value of each field means its
// default.
type Config struct {
	// MinJobs is the fewest different jobs whose calls failed among the
	// outage errors judged; default 3.
	MinJobs int
	// Window is how many of the most recent calls are judged; default 40.
	Window int
	// MaxAge drops calls older than this from the window; default 30s.
	MaxAge time.Duration
	// MinCalls is the fewest calls in the window to judge by; default 10.
	MinCalls int
	// TripShare is the share of outage errors among them that trips the
	// breaker; default 0.85. With MinCalls 10 a 30 % brown-out trips it with
	// odds of 1 in 7,000 over its first ten calls (9 of 10 failing) and far
	// less once the window holds more.
	TripShare float64
	// TripRun is a run of outage errors in a row (no success or permanent
	// error between them) that trips the breaker whatever came before it;
	// default 20. A 30 % brown-out makes such a run with odds of 1 in 10^10
	// per call.
	TripRun int
	// SuspectShare is the share of outage errors (over at least MinCalls
	// calls, from at least MinJobs jobs) at which Cognito is suspected down
	// before the window is damning enough to trip: a job whose retry
	// budget ends then is held (Suspect) rather than put back, so that no
	// receive is spent on the outage while it is being judged; default
	// 0.5, above a brown-out's share.
	SuspectShare float64
	// ProbeInterval is the wait before the first probe; default 1s.
	ProbeInterval time.Duration
	// MaxProbeInterval caps the interval, doubled after each failed probe;
	// default 10s. It bounds how long a recovery goes unseen, against one
	// call per interval while down: 10 s costs 0.1 calls per second.
	MaxProbeInterval time.Duration
	// Jitter spreads each interval d over [d(1-Jitter), d]; default 0.2.
	Jitter float64
	// CloseAfter is how many probes in a row must succeed to close; default 2.
	CloseAfter int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Rand is uniform in [0, 1); default math/rand/v2.Float64.
	Rand func() float64
	// OnChange, if set, is called (outside the lock) on every change of state.
	OnChange func(Change)
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Window <= 0 {
		c.Window = 40
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 30 * time.Second
	}
	if c.MinCalls <= 0 {
		c.MinCalls = 10
	}
	c.MinCalls = min(c.MinCalls, c.Window)
	if c.MinJobs <= 0 {
		c.MinJobs = 3
	}
	if c.TripShare <= 0 || c.TripShare > 1 {
		c.TripShare = 0.85
	}
	if c.TripRun <= 0 {
		c.TripRun = 20
	}
	if c.SuspectShare <= 0 || c.SuspectShare > c.TripShare {
		c.SuspectShare = min(0.5, c.TripShare)
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = time.Second
	}
	if c.MaxProbeInterval <= 0 {
		c.MaxProbeInterval = 10 * time.Second
	}
	c.MaxProbeInterval = max(c.MaxProbeInterval, c.ProbeInterval)
	if c.Jitter <= 0 || c.Jitter >= 1 {
		c.Jitter = 0.2
	}
	if c.CloseAfter <= 0 {
		c.CloseAfter = 2
	}
	return c
}

// Change is a change of state, with what it was judged by.
type Change struct {
	Down bool // true: Cognito judged down; false: back up
	// When down: the error code of the call that tripped it, and the window
	// judged (outage errors among calls, and their share).
	Code            string
	Failures, Calls int
	Share           float64
	// When back up: how long it was down and how many probes were made.
	Duration time.Duration
	Probes   int
}

// sample is one call in the window.
type sample struct {
	at   time.Time
	down bool
	job  string
}

// Result is what one call said, for Report.
type Result struct {
	Evidence Evidence
	Code     string // the error code ("" for a success)
	Job      string // which job made the call (its message id)
}

// machine is the breaker's state and its pure decisions: every method takes
// the time (and the jitter) as arguments and touches nothing else.
type machine struct {
	cfg    Config
	down   bool
	gen    uint64   // changes with each change of state
	window []sample // closed: recent calls, oldest first

	// While down.
	since     time.Time     // when it tripped
	interval  time.Duration // the current probe interval
	nextProbe time.Time     // the earliest start of the next probe
	probing   bool          // a probe is out
	successes int           // probes in a row that succeeded
	probes    int           // probes made
}

func newMachine(cfg Config) *machine { return &machine{cfg: cfg} }

// wait returns the jittered interval d: uniform in [d(1-Jitter), d].
func (m *machine) wait(d time.Duration, jitter float64) time.Duration {
	return time.Duration(float64(d) * (1 - m.cfg.Jitter*jitter))
}

// suspect says whether Cognito is down or suspected down at now: the
// window's calls since MaxAge ago reach SuspectShare of outage errors.
func (m *machine) suspect(now time.Time) bool {
	if m.down {
		return true
	}
	i := 0
	for i < len(m.window) && now.Sub(m.window[i].at) > m.cfg.MaxAge {
		i++
	}
	calls, failures, jobs := 0, 0, map[string]bool{}
	for _, s := range m.window[i:] {
		calls++
		if s.down {
			failures++
			jobs[s.job] = true
		}
	}
	return calls >= m.cfg.MinCalls && len(jobs) >= m.cfg.MinJobs && float64(failures) >= m.cfg.SuspectShare*float64(calls)
}

// judge says whether the window, ending with an outage error, trips the
// breaker, and the numbers it judged by.
func (m *machine) judge() (trip bool, failures, calls int, share float64) {
	calls = len(m.window)
	jobs := map[string]bool{}
	for _, s := range m.window {
		if s.down {
			failures++
			jobs[s.job] = true
		}
	}
	if calls == 0 {
		return false, 0, 0, 0
	}
	share = float64(failures) / float64(calls)
	if calls >= m.cfg.MinCalls && share >= m.cfg.TripShare && len(jobs) >= m.cfg.MinJobs {
		return true, failures, calls, share
	}
	// A run of outage errors at the window's end.
	run, runJobs := 0, map[string]bool{}
	for i := len(m.window) - 1; i >= 0 && m.window[i].down; i-- {
		run++
		runJobs[m.window[i].job] = true
	}
	if run >= m.cfg.TripRun && len(runJobs) >= m.cfg.MinJobs {
		return true, failures, calls, share
	}
	return false, failures, calls, share
}

// record adds the evidence of a call made while closed and trips the
// breaker when the window says so.
func (m *machine) record(now time.Time, r Result, jitter float64) *Change {
	if m.down || r.Evidence == Neutral {
		return nil
	}
	m.window = append(m.window, sample{at: now, down: r.Evidence == Down, job: r.Job})
	drop := max(len(m.window)-m.cfg.Window, 0)
	for drop < len(m.window) && now.Sub(m.window[drop].at) > m.cfg.MaxAge {
		drop++
	}
	m.window = append(m.window[:0], m.window[drop:]...)
	if r.Evidence != Down {
		return nil
	}
	trip, failures, calls, share := m.judge()
	if !trip {
		return nil
	}
	m.down, m.gen, m.window = true, m.gen+1, m.window[:0]
	m.since, m.interval, m.probing, m.successes, m.probes = now, m.cfg.ProbeInterval, false, 0, 0
	m.nextProbe = now.Add(m.wait(m.interval, jitter))
	return &Change{Down: true, Code: r.Code, Failures: failures, Calls: calls, Share: share}
}

// probeDue says whether a probe may start now, and if not, how long until
// one may (0 while a probe is out: wait for its result).
func (m *machine) probeDue(now time.Time) (bool, time.Duration) {
	if m.probing {
		return false, 0
	}
	if d := m.nextProbe.Sub(now); d > 0 {
		return false, d
	}
	return true, 0
}

// startProbe marks a probe as out.
func (m *machine) startProbe() { m.probing, m.probes = true, m.probes+1 }

// probeResult takes a probe's evidence: an outage error doubles the
// interval, CloseAfter successes in a row close the breaker, a neutral
// answer (a throttle, a probe never made) keeps the interval.
func (m *machine) probeResult(now time.Time, ev Evidence, jitter float64) *Change {
	m.probing = false
	switch ev {
	case Down:
		m.successes = 0
		m.interval = min(m.interval*2, m.cfg.MaxProbeInterval)
		m.nextProbe = now.Add(m.wait(m.interval, jitter))
	case Up:
		m.successes++
		if m.successes >= m.cfg.CloseAfter {
			c := &Change{Down: false, Duration: now.Sub(m.since), Probes: m.probes}
			m.down, m.gen, m.window = false, m.gen+1, m.window[:0]
			return c
		}
		m.nextProbe = now // confirm at once: recovery should be quick
	default:
		m.nextProbe = now.Add(m.wait(m.interval, jitter))
	}
	return nil
}
