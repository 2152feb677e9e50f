package main

import "testing"

func TestCheckSQS(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{{"moto", true}, {"standin", true}, {"", false}, {"Moto", false}, {"localstack", false}} {
		if err := checkSQS(tc.v); (err == nil) != tc.ok {
			t.Errorf("checkSQS(%q) = %v, want ok %v", tc.v, err, tc.ok)
		}
	}
	if got := sqsLabel("standin"); got == sqsLabel("moto") {
		t.Errorf("the tables name both SQS back ends %q", got)
	}
}
