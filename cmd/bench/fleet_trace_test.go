package main

import (
	"slices"
	"testing"
	"time"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
)

func TestCallTimeline(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	at := func(ms int64, outcome string) cognitoemu.Call {
		return cognitoemu.Call{Time: start.Add(time.Duration(ms) * time.Millisecond), Outcome: outcome}
	}
	for _, tc := range []struct {
		name  string
		calls []cognitoemu.Call
		want  []callBin
	}{
		{"none", nil, nil},
		{"one bin", []cognitoemu.Call{at(0, "OK"), at(499, "TooManyRequestsException")}, []callBin{{1, 1}}},
		{"a gap stays an empty bin", []cognitoemu.Call{at(100, "OK"), at(1200, "OK")}, []callBin{{1, 0}, {}, {1, 0}}},
		{"before the start: the first bin", []cognitoemu.Call{at(-30, "OK")}, []callBin{{1, 0}}},
		{"other outcomes counted in neither", []cognitoemu.Call{at(10, "LimitExceededException")}, []callBin{{}}},
	} {
		if got := callTimeline(tc.calls, start, 500*time.Millisecond); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
