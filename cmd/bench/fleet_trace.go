package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
)

// callBin is one bin of a row's call timeline: the stand-in's OK and
// throttled answers whose call arrived in it.
type callBin struct{ ok, throttled int }

// callTimeline bins calls by arrival, from start in steps of bin (bin > 0).
// Calls before start land in the first bin.
func callTimeline(calls []cognitoemu.Call, start time.Time, bin time.Duration) []callBin {
	var out []callBin
	for _, c := range calls {
		i := max(0, int(c.Time.Sub(start)/bin))
		for len(out) <= i {
			out = append(out, callBin{})
		}
		switch c.Outcome {
		case "OK":
			out[i].ok++
		case "TooManyRequestsException":
			out[i].throttled++
		}
	}
	return out
}

// fleetSample is one process's state at one moment of a fleet row.
type fleetSample struct {
	at         time.Duration // since the row's start
	rate, done []float64     // per process, in start order; -1 once stopped
}

// writeFleetTrace prints a fleet row's timeline (stderr with -trace): the
// first call after start, the calls per bin, and each process's limiter
// rate and jobs done as sampled.
func writeFleetTrace(w io.Writer, name string, calls []cognitoemu.Call, start time.Time, bin time.Duration, samples []fleetSample) {
	if len(calls) > 0 {
		fmt.Fprintf(w, "%s: first call %.3f s after the start, last %.3f s\n", name, calls[0].Time.Sub(start).Seconds(), calls[len(calls)-1].Time.Sub(start).Seconds())
	}
	for i, b := range callTimeline(calls, start, bin) {
		fmt.Fprintf(w, "%s: calls %6.2fs ok %3d throttled %2d\n", name, (time.Duration(i) * bin).Seconds(), b.ok, b.throttled)
	}
	for _, s := range samples {
		var line strings.Builder
		for i := range s.rate {
			fmt.Fprintf(&line, "  [%d] rate %5.2f done %4.0f", i, s.rate[i], s.done[i])
		}
		fmt.Fprintf(w, "%s: tasks %6.2fs%s\n", name, s.at.Seconds(), line.String())
	}
}
