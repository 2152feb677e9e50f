package breaker

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// step is one event fed to the machine at an offset from t0.
type step struct {
	at     time.Duration
	ev     Evidence
	probe  bool    // a probe's result (else a call made while closed)
	jitter float64 // the draw for this step
	job    string  // the job that made the call
}

func calls(from time.Duration, every time.Duration, evs ...Evidence) []step {
	out := make([]step, len(evs))
	for i, ev := range evs {
		out[i] = step{at: from + time.Duration(i)*every, ev: ev, job: fmt.Sprint("job-", i%4)}
	}
	return out
}

func repeat(ev Evidence, n int) []Evidence {
	out := make([]Evidence, n)
	for i := range out {
		out[i] = ev
	}
	return out
}

// run feeds steps to a fresh machine and returns the changes and the
// machine.
func run(t *testing.T, cfg Config, steps []step) ([]Change, *machine) {
	t.Helper()
	m := newMachine(cfg.WithDefaults())
	var out []Change
	for _, s := range steps {
		now := t0.Add(s.at)
		var c *Change
		if s.probe {
			if due, _ := m.probeDue(now); !due {
				t.Fatalf("probe at %s not due (next %s)", s.at, m.nextProbe.Sub(t0))
			}
			m.startProbe()
			c = m.probeResult(now, s.ev, s.jitter)
		} else {
			c = m.record(now, Result{Evidence: s.ev, Code: "InternalErrorException", Job: s.job}, s.jitter)
		}
		if c != nil {
			out = append(out, *c)
		}
	}
	return out, m
}

// oneSuccessIn is n calls, one in k a success, the rest outage errors.
func oneSuccessIn(k, n int) []Evidence {
	out := make([]Evidence, n)
	for i := range out {
		out[i] = Down
		if i%k == 0 {
			out[i] = Up
		}
	}
	return out
}

func onlyJob(steps []step, job string) []step {
	for i := range steps {
		steps[i].job = job
	}
	return steps
}

func alternate(steps []step, jobs int) []step {
	for i := range steps {
		steps[i].job = fmt.Sprint("job-", i%jobs)
	}
	return steps
}

func TestMachineTrip(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name     string
		steps    []step
		wantDown bool
		failures int
		calls    int
	}{
		{"nine outage errors are too few", calls(0, 50*ms, repeat(Down, 9)...), false, 0, 0},
		{"ten outage errors trip it", calls(0, 50*ms, repeat(Down, 10)...), true, 10, 10},
		{"9 of 10 failing trips it", calls(0, 50*ms, append([]Evidence{Up}, repeat(Down, 9)...)...), true, 9, 10},
		{"8 of 10 failing does not", calls(0, 50*ms, append([]Evidence{Up, Up}, repeat(Down, 8)...)...), false, 0, 0},
		{"throttles say nothing", calls(0, 50*ms, append(repeat(Neutral, 30), repeat(Down, 9)...)...), false, 0, 0},
		{"throttles between outage errors do not dilute them", calls(0, 50*ms, append(repeat(Down, 5), append(repeat(Neutral, 20), repeat(Down, 5)...)...)...), true, 10, 10},
		{"one success in four keeps it closed", calls(0, 50*ms, oneSuccessIn(4, 60)...), false, 0, 0},
		// The window is the last 40 calls: with the odd success between
		// outage errors (no run of 20), 34 of 40 trips it once the
		// earlier successes have left the window.
		{"the odd success does not stop it", calls(0, 10*ms, append(repeat(Up, 20), oneSuccessIn(7, 40)...)...), true, 34, 40},
		// Successes from before the incident do not delay the judgement:
		// 20 outage errors in a row trip it.
		{"a run of 20 after many successes", calls(0, 10*ms, append(repeat(Up, 30), repeat(Down, 20)...)...), true, 20, 40},
		{"a run of 19 after many successes", calls(0, 10*ms, append(repeat(Up, 30), repeat(Down, 19)...)...), false, 0, 0},
		// One job failing over and over, nothing else running: a poison
		// message, not an outage.
		{"one job's failures are not an outage", onlyJob(calls(0, 50*ms, repeat(Down, 30)...), "poison"), false, 0, 0},
		{"two jobs' failures are not either", alternate(calls(0, 50*ms, repeat(Down, 30)...), 2), false, 0, 0},
		// Calls older than MaxAge leave the window.
		{"outage errors spread thinly over time", calls(0, 4*time.Second, repeat(Down, 12)...), false, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, m := run(t, Config{MaxAge: 30 * time.Second}, tc.steps)
			if m.down != tc.wantDown {
				t.Fatalf("down = %v, want %v (changes %+v)", m.down, tc.wantDown, got)
			}
			if !tc.wantDown {
				if len(got) != 0 {
					t.Fatalf("changes %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || !got[0].Down || got[0].Failures != tc.failures || got[0].Calls != tc.calls || got[0].Code != "InternalErrorException" {
				t.Fatalf("changes %+v, want one trip judged by %d of %d", got, tc.failures, tc.calls)
			}
		})
	}
}

func TestMachineProbes(t *testing.T) {
	trip := calls(0, 10*time.Millisecond, repeat(Down, 10)...) // trips at 90ms
	tripAt := 90 * time.Millisecond
	t.Run("intervals double to the cap, with jitter shortening them", func(t *testing.T) {
		_, m := run(t, Config{}, trip)
		now := t0.Add(tripAt)
		var waits []time.Duration
		for i := 0; i < 7; i++ {
			due, wait := m.probeDue(now)
			if due {
				t.Fatalf("probe %d due at once", i)
			}
			waits = append(waits, wait)
			now = now.Add(wait)
			if due, _ := m.probeDue(now); !due {
				t.Fatalf("probe %d not due after its wait", i)
			}
			m.startProbe()
			if due, w := m.probeDue(now); due || w != 0 {
				t.Fatalf("a second probe allowed while one is out")
			}
			jitter := 0.0
			if i == 3 {
				jitter = 1 // this wait is 20 % shorter
			}
			if c := m.probeResult(now, Down, jitter); c != nil {
				t.Fatalf("failed probe changed state: %+v", c)
			}
		}
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
		// waits[i] is the wait before probe i; the jitter of probe 3's
		// result shortened the wait before probe 4 (16 s capped at 10 s: 8 s).
		for i := range want {
			if waits[i] != want[i] {
				t.Fatalf("waits = %v, want %v", waits, want)
			}
		}
	})
	t.Run("two successful probes in a row close it", func(t *testing.T) {
		steps := append(trip,
			step{at: tripAt + time.Second, ev: Down, probe: true},
			step{at: tripAt + 3*time.Second, ev: Up, probe: true},
			step{at: tripAt + 3*time.Second, ev: Down, probe: true}, // success then failure: start again
			step{at: tripAt + 7*time.Second, ev: Up, probe: true},
			step{at: tripAt + 7*time.Second, ev: Up, probe: true}, // the second may go at once
		)
		got, m := run(t, Config{}, steps)
		if m.down || len(got) != 2 || got[1].Down || got[1].Probes != 5 || got[1].Duration != 7*time.Second {
			t.Fatalf("changes %+v, down %v; want a trip then back up after 5 probes, 7s", got, m.down)
		}
		if len(m.window) != 0 {
			t.Fatalf("window not emptied on closing")
		}
	})
	t.Run("a neutral probe keeps the interval", func(t *testing.T) {
		steps := append(trip,
			step{at: tripAt + time.Second, ev: Down, probe: true},      // interval 2s
			step{at: tripAt + 3*time.Second, ev: Neutral, probe: true}, // still 2s
			step{at: tripAt + 5*time.Second, ev: Down, probe: true},    // now 4s
		)
		_, m := run(t, Config{}, steps)
		if m.interval != 4*time.Second || m.nextProbe != t0.Add(tripAt+9*time.Second) {
			t.Fatalf("interval %s next %s", m.interval, m.nextProbe.Sub(t0))
		}
	})
	t.Run("calls made while closed after a trip say nothing", func(t *testing.T) {
		m := newMachine(Config{}.WithDefaults())
		for i := 0; i < 10; i++ {
			m.record(t0, Result{Evidence: Down, Code: "X", Job: fmt.Sprint(i)}, 0)
		}
		if c := m.record(t0, Result{Evidence: Up}, 0); c != nil || !m.down {
			t.Fatalf("a call while down changed the state")
		}
	})
}

// TestMachineBrownOut: 30 % of calls failing, over a long run with windows
// restarting, never trips it.
func TestMachineBrownOut(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := newMachine(Config{}.WithDefaults())
	now := t0
	for i := 0; i < 200_000; i++ {
		now = now.Add(50 * time.Millisecond)
		if i%5000 == 0 {
			now = now.Add(time.Minute) // idle: the window empties
		}
		ev := Up
		if rng.Float64() < 0.3 {
			ev = Down
		}
		if c := m.record(now, Result{Evidence: ev, Code: "InternalErrorException", Job: fmt.Sprint(i % 16)}, rng.Float64()); c != nil {
			t.Fatalf("a 30%% brown-out tripped it after %d calls: %+v", i, c)
		}
	}
}

func TestMachineSuspect(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name  string
		steps []step
		at    time.Duration
		want  bool
	}{
		{"half of 20 failing, from several jobs", calls(0, 10*ms, append(repeat(Up, 10), repeat(Down, 10)...)...), time.Second, true},
		{"a third failing", calls(0, 10*ms, append(repeat(Up, 20), repeat(Down, 10)...)...), time.Second, false},
		{"too few calls", calls(0, 10*ms, repeat(Down, 6)...), time.Second, false},
		{"one job failing", onlyJob(calls(0, 10*ms, append(repeat(Up, 5), repeat(Down, 8)...)...), "poison"), time.Second, false},
		{"old failures forgotten", calls(0, 10*ms, append(repeat(Up, 10), repeat(Down, 9)...)...), time.Minute, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, m := run(t, Config{}, tc.steps)
			if m.down {
				t.Fatal("tripped")
			}
			if got := m.suspect(t0.Add(tc.at)); got != tc.want {
				t.Fatalf("suspect = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{Window: 5, MinCalls: 10, ProbeInterval: time.Minute}.WithDefaults()
	if c.MinCalls != 5 || c.MaxProbeInterval != time.Minute || c.TripShare != 0.85 || c.SuspectShare != 0.5 || c.CloseAfter != 2 || c.MinJobs != 3 {
		t.Fatalf("defaults: %+v", c)
	}
}
