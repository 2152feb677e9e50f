package cognitoemu

import (
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// TestOutageFor: an outage fails every call, for every user, for its
// duration, then ends by itself.
func TestOutageFor(t *testing.T) {
	clk := newFakeClock()
	e := newEmu(t, Options{Clock: clk.Now})
	if err := e.Outage(5*time.Second, ""); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{alice, bob, nobody} {
		_, err := e.resend(t, publicClient, u)
		wantErr[*types.InternalErrorException](t, err, "Internal server error.", u)
		if got := httpStatus(t, err); got != http.StatusInternalServerError {
			t.Errorf("status = %d, want 500", got)
		}
	}
	clk.Advance(4999 * time.Millisecond)
	if _, err := e.resend(t, publicClient, alice); err == nil {
		t.Fatal("call succeeded before the outage's end")
	}
	clk.Advance(time.Millisecond)
	if _, err := e.resend(t, publicClient, alice); err != nil {
		t.Fatalf("call after the outage: %v", err)
	}
	if f := e.Faults(); len(f) != 0 {
		t.Errorf("ended outage still listed: %+v", f)
	}
}

// TestOutageForControl: the control API takes an outage as {"for": "60s"}
// and lists it with its duration.
func TestOutageForControl(t *testing.T) {
	e := newEmu(t, Options{})
	var faults []Fault
	if code := control(t, "POST", e.url+"/_emu/faults", `{"for":"1m30s","code":"InternalErrorException"}`, &faults); code != 200 || len(faults) != 1 || time.Duration(faults[0].For) != 90*time.Second {
		t.Fatalf("POST faults = %d %+v", code, faults)
	}
	if _, err := e.resend(t, publicClient, alice); err == nil {
		t.Fatal("call succeeded during the outage")
	}
	if code := control(t, "POST", e.url+"/_emu/faults", `{"for":"soon","code":"InternalErrorException"}`, nil); code != http.StatusBadRequest {
		t.Errorf("bad duration: %d, want 400", code)
	}
	if err := e.AddFault(Fault{For: Duration(time.Second), Count: 1, Code: "X"}); err == nil {
		t.Error("a fault with for and count accepted")
	}
}
