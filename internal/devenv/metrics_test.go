package devenv

import "testing"

func TestWithoutLane(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`resend_jobs_total{lane="bulk",outcome="resent"}`, `resend_jobs_total{outcome="resent"}`},
		{`resend_inflight_jobs{lane="interactive"}`, `resend_inflight_jobs`},
		{`resend_enqueue_to_call_seconds_bucket{lane="bulk",le="0.5"}`, `resend_enqueue_to_call_seconds_bucket{le="0.5"}`},
		{`x{a="1",lane="bulk"}`, `x{a="1"}`},
		{`resend_cognito_requests_total{code="OK"}`, `resend_cognito_requests_total{code="OK"}`},
		{`resend_cognito_rate_limit`, `resend_cognito_rate_limit`},
	} {
		if got := withoutLane(tt.in); got != tt.want {
			t.Errorf("withoutLane(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
