package cognitoemu

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
)

func TestFaultNextNForUser(t *testing.T) {
	e := newEmu(t, Options{})
	err := e.AddFault(Fault{Username: alice, Count: 2, Code: "CodeDeliveryFailureException", Message: "boom"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		_, err := e.resend(t, publicClient, alice)
		wantErr[*types.CodeDeliveryFailureException](t, err, "boom", "")
		if i == 0 {
			if _, err := e.resend(t, publicClient, dave); err != nil {
				t.Fatalf("another user must not be affected: %v", err)
			}
		}
	}
	if f := e.Faults(); len(f) != 0 {
		t.Errorf("spent fault still active: %+v", f)
	}
	if _, err := e.resend(t, publicClient, alice); err != nil {
		t.Fatalf("third call: %v", err)
	}
	var outcomes []string
	for _, c := range e.Calls() {
		outcomes = append(outcomes, c.Outcome)
		if c.Injected != (c.Outcome == "CodeDeliveryFailureException") {
			t.Errorf("call %+v: Injected wrong", c)
		}
	}
	want := []string{"CodeDeliveryFailureException", "OK", "CodeDeliveryFailureException", "OK"}
	if !slices.Equal(outcomes, want) {
		t.Errorf("outcomes = %v, want %v", outcomes, want)
	}
	if n := e.DeliveriesFor(alice); n != 1 {
		t.Errorf("faulted calls delivered codes: %d", n)
	}
}

// percentRun makes n resends against a fresh emulator with a 30% fault.
func percentRun(t *testing.T, seed uint64, n int) []string {
	e := newEmu(t, Options{RandSeed: seed, ResendLimitPerHour: -1})
	if err := e.AddFault(Fault{Percent: 30, Code: "InternalErrorException"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range n {
		_, err := e.resend(t, publicClient, alice)
		got = append(got, errorCode(err))
	}
	return got
}

func TestFaultPercentIsSeeded(t *testing.T) {
	const n = 200
	a, b := percentRun(t, 7, n), percentRun(t, 7, n)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave different outcomes")
	}
	if c := percentRun(t, 8, n); slices.Equal(a, c) {
		t.Error("different seeds gave the same outcomes")
	}
	failed := 0
	for _, code := range a {
		switch code {
		case "InternalErrorException":
			failed++
		case "OK":
		default:
			t.Fatalf("unexpected outcome %s", code)
		}
	}
	// 30% of 200 = 60; ±5 standard deviations (σ≈6.5).
	if failed < 28 || failed > 92 {
		t.Errorf("%d of %d failed, want about 60", failed, n)
	}
}

func TestFaultUntilClearedAndStatus500(t *testing.T) {
	e := newEmu(t, Options{})
	if err := e.AddFault(Fault{UntilCleared: true, Code: "InternalErrorException"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{alice, bob, nobody} { // before the rules: even bob and nobody
		_, err := e.resend(t, publicClient, u)
		wantErr[*types.InternalErrorException](t, err, "Internal server error.", u)
		if got := httpStatus(t, err); got != http.StatusInternalServerError {
			t.Errorf("InternalErrorException status = %d, want 500", got)
		}
	}
	e.ClearFaults()
	if _, err := e.resend(t, publicClient, alice); err != nil {
		t.Fatal(err)
	}
}

func TestFaultCustomStatusAndRaw(t *testing.T) {
	e := newEmu(t, Options{})
	_ = e.AddFault(Fault{Count: 1, Code: "TooManyRequestsException"})
	_ = e.AddFault(Fault{Count: 1, Code: "InternalErrorException", Status: 503})
	_ = e.AddFault(Fault{Count: 1, Status: 502})

	_, err := e.resend(t, publicClient, alice)
	wantErr[*types.TooManyRequestsException](t, err, "Rate exceeded", "")

	_, err = e.resend(t, publicClient, alice)
	wantErr[*types.InternalErrorException](t, err, "", "")
	if got := httpStatus(t, err); got != 503 {
		t.Errorf("status = %d, want 503", got)
	}

	_, err = e.resend(t, publicClient, alice)
	if got := httpStatus(t, err); got != 502 {
		t.Errorf("raw fault status = %d, want 502", got)
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "InternalErrorException" {
		t.Errorf("raw fault parsed as a typed error: %v", err)
	}
	if c := e.Calls()[2]; c.Outcome != "HTTP502" || !c.Injected {
		t.Errorf("raw fault call = %+v", c)
	}
}

func TestQuotaBeforeFaults(t *testing.T) {
	clock := newFakeClock()
	e := newEmu(t, Options{Quota: 1, Clock: clock.Now})
	_ = e.AddFault(Fault{UntilCleared: true, Code: "CodeDeliveryFailureException"})
	_, err := e.resend(t, publicClient, alice)
	wantErr[*types.CodeDeliveryFailureException](t, err, "", "")
	_, err = e.resend(t, publicClient, alice)
	wantErr[*types.TooManyRequestsException](t, err, "Rate exceeded", "")
}

func TestFaultsInOrder(t *testing.T) {
	e := newEmu(t, Options{})
	_ = e.AddFault(Fault{Username: dave, UntilCleared: true, Code: "UserLambdaValidationException"})
	_ = e.AddFault(Fault{Count: 1, Code: "InternalErrorException"})
	_, err := e.resend(t, publicClient, dave)
	wantErr[*types.UserLambdaValidationException](t, err, "Injected fault.", "")
	_, err = e.resend(t, publicClient, alice)
	wantErr[*types.InternalErrorException](t, err, "", "")
	if _, err := e.resend(t, publicClient, alice); err != nil {
		t.Fatal(err)
	}
}

func TestAddFaultValidation(t *testing.T) {
	s := New(Options{})
	for _, f := range []Fault{
		{Code: "InternalErrorException"},                                  // no mode
		{Count: 1, Percent: 10, Code: "InternalErrorException"},           // two modes
		{Count: -1, Code: "InternalErrorException"},                       // negative
		{Percent: 101, Code: "InternalErrorException"},                    // > 100
		{UntilCleared: true},                                              // no code or status
		{UntilCleared: true, Code: "InternalErrorException", Status: 200}, // not an error status
	} {
		if err := s.AddFault(f); err == nil {
			t.Errorf("AddFault(%+v) accepted", f)
		}
	}
	if len(s.Faults()) != 0 {
		t.Error("invalid faults were added")
	}
	if err := s.AddFault(Fault{Count: 3, Code: "LimitExceededException"}); err != nil {
		t.Fatal(err)
	}
	f := s.Faults()[0]
	if f.Status != 400 || f.Message != "Attempt limit exceeded, please try after some time." || f.Count != 3 {
		t.Errorf("defaults not filled: %+v", f)
	}
}
