package cognitoemu

import (
	"errors"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

func TestResendSuccess(t *testing.T) {
	e := newEmu(t, Options{})
	for _, clientID := range []string{secretClient, publicClient} {
		out, err := e.resend(t, clientID, alice)
		if err != nil {
			t.Fatalf("%s: %v", clientID, err)
		}
		d := out.CodeDeliveryDetails
		if aws.ToString(d.AttributeName) != "email" || d.DeliveryMedium != types.DeliveryMediumTypeEmail ||
			aws.ToString(d.Destination) != aliceMasked {
			t.Errorf("%s: CodeDeliveryDetails = {%s %s %s}", clientID,
				aws.ToString(d.AttributeName), d.DeliveryMedium, aws.ToString(d.Destination))
		}
	}

	ds := e.Deliveries()
	if len(ds) != 2 || e.DeliveriesFor(alice) != 2 || e.DeliveriesFor(bob) != 0 {
		t.Fatalf("deliveries = %+v", ds)
	}
	d := ds[1]
	if !regexp.MustCompile(`^\d{6}$`).MatchString(d.Code) || d.Destination != aliceEmail ||
		d.MaskedDestination != aliceMasked || d.Medium != "EMAIL" || d.AttributeName != "email" ||
		d.Trigger != "ResendConfirmationCode" || d.PoolID != testPool || d.Username != alice {
		t.Errorf("delivery = %+v", d)
	}
}

func TestResendSMSWhenPhoneAutoVerified(t *testing.T) {
	e := newEmu(t, Options{})
	out, err := e.resend(t, smsClient, carol)
	if err != nil {
		t.Fatal(err)
	}
	d := out.CodeDeliveryDetails
	if aws.ToString(d.AttributeName) != "phone_number" || d.DeliveryMedium != types.DeliveryMediumTypeSms ||
		aws.ToString(d.Destination) != carolMasked {
		t.Errorf("CodeDeliveryDetails = {%s %s %s}", aws.ToString(d.AttributeName), d.DeliveryMedium, aws.ToString(d.Destination))
	}
	if got := e.Deliveries()[0].Destination; got != carolPhone {
		t.Errorf("destination = %q", got)
	}
}

func TestResendRules(t *testing.T) {
	e := newEmu(t, Options{})
	call := func(clientID, username string, hash *string) error {
		_, err := e.cip.ResendConfirmationCode(ctx(t), &cip.ResendConfirmationCodeInput{
			ClientId: aws.String(clientID), Username: aws.String(username), SecretHash: hash,
		})
		return err
	}
	right := func(username string) *string { return aws.String(SecretHash(secretClient, clientSecret, username)) }
	const (
		noHash   = "Client secretclient is configured with secret but SECRET_HASH was not received"
		badHash  = "Unable to verify secret hash for client secretclient"
		notFound = "Username/client id combination not found."
	)

	t.Run("unknown client first", func(t *testing.T) {
		err := call("nosuchclient", nobody, nil)
		wantErr[*types.ResourceNotFoundException](t, err, "", nobody)
		if got := httpStatus(t, err); got != http.StatusBadRequest {
			t.Errorf("status = %d", got)
		}
	})
	t.Run("missing secret hash", func(t *testing.T) {
		wantErr[*types.NotAuthorizedException](t, call(secretClient, alice, nil), noHash, alice)
	})
	t.Run("wrong secret hash", func(t *testing.T) {
		wantErr[*types.NotAuthorizedException](t, call(secretClient, alice, aws.String("d3Jvbmc=")), badHash, alice)
	})
	t.Run("hash of another username", func(t *testing.T) {
		wantErr[*types.NotAuthorizedException](t, call(secretClient, alice, right(dave)), badHash, alice)
	})
	t.Run("secret checked before the user", func(t *testing.T) {
		wantErr[*types.NotAuthorizedException](t, call(secretClient, nobody, nil), noHash, nobody)
		wantErr[*types.NotAuthorizedException](t, call(secretClient, bob, aws.String("d3Jvbmc=")), badHash, bob)
	})
	t.Run("unknown user", func(t *testing.T) {
		wantErr[*types.UserNotFoundException](t, call(publicClient, nobody, nil), notFound, nobody)
		wantErr[*types.UserNotFoundException](t, call(secretClient, nobody, right(nobody)), notFound, nobody)
	})
	t.Run("user of another pool", func(t *testing.T) {
		wantErr[*types.UserNotFoundException](t, call(smsClient, alice, nil), notFound, alice)
	})
	t.Run("already confirmed", func(t *testing.T) {
		wantErr[*types.InvalidParameterException](t, call(publicClient, bob, nil), "User is already confirmed.", bob)
		wantErr[*types.InvalidParameterException](t, call(secretClient, bob, right(bob)), AlreadyConfirmedMessage, bob)
	})
	t.Run("secret hash ignored for a public client", func(t *testing.T) {
		if err := call(publicClient, alice, aws.String("anything")); err != nil {
			t.Fatal(err)
		}
	})
	if n := e.DeliveriesFor(alice); n != 1 {
		t.Errorf("deliveries for alice = %d, want 1", n)
	}
}

func TestResendRecordsCalls(t *testing.T) {
	e := newEmu(t, Options{})
	_, err := e.cip.ResendConfirmationCode(ctx(t), &cip.ResendConfirmationCodeInput{
		ClientId:          aws.String(secretClient),
		Username:          aws.String(alice),
		SecretHash:        aws.String(SecretHash(secretClient, clientSecret, alice)),
		ClientMetadata:    map[string]string{"source": "worker", "job": "42"},
		UserContextData:   &types.UserContextDataType{IpAddress: aws.String("192.0.2.1"), EncodedData: aws.String("enc")},
		AnalyticsMetadata: &types.AnalyticsMetadataType{AnalyticsEndpointId: aws.String("ep-1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = e.cip.ResendConfirmationCode(ctx(t), &cip.ResendConfirmationCodeInput{
		ClientId: aws.String(secretClient), Username: aws.String(alice), SecretHash: aws.String("bad="),
	})
	_, _ = e.cip.ResendConfirmationCode(ctx(t), &cip.ResendConfirmationCodeInput{
		ClientId: aws.String("ghost"), Username: aws.String(bob),
	})

	calls := e.Calls()
	if len(calls) != 3 {
		t.Fatalf("calls = %+v", calls)
	}
	c := calls[0]
	if c.Outcome != "OK" || c.Username != alice || c.ClientID != secretClient || c.PoolID != testPool ||
		!c.SecretHashPresent || !c.SecretHashValid || c.Injected ||
		c.ClientMetadata["source"] != "worker" || c.ClientMetadata["job"] != "42" ||
		c.IPAddress != "192.0.2.1" || c.EncodedData != "enc" || c.AnalyticsEndpointID != "ep-1" || c.Time.IsZero() {
		t.Errorf("call 0 = %+v", c)
	}
	if c := calls[1]; c.Outcome != "NotAuthorizedException" || !c.SecretHashPresent || c.SecretHashValid {
		t.Errorf("call 1 = %+v", c)
	}
	if c := calls[2]; c.Outcome != "ResourceNotFoundException" || c.PoolID != "" || c.SecretHashPresent {
		t.Errorf("call 2 = %+v", c)
	}
	calls[0].ClientMetadata["source"] = "mutated"
	if e.Calls()[0].ClientMetadata["source"] != "worker" {
		t.Error("Calls shares its maps with the caller")
	}
}

func TestResendLimit(t *testing.T) {
	clock := newFakeClock()
	e := newEmu(t, Options{Clock: clock.Now})
	for i := range DefaultResendLimitPerHour {
		if _, err := e.resend(t, publicClient, alice); err != nil {
			t.Fatalf("resend %d: %v", i+1, err)
		}
		clock.Advance(time.Minute)
	}
	const msg = "Attempt limit exceeded, please try after some time."
	_, err := e.resend(t, publicClient, alice)
	wantErr[*types.LimitExceededException](t, err, msg, alice)
	if got := httpStatus(t, err); got != http.StatusBadRequest {
		t.Errorf("status = %d", got)
	}
	if _, err := e.resend(t, publicClient, dave); err != nil {
		t.Errorf("the limit is per user, dave: %v", err)
	}

	// The first resend leaves the hour after 60 minutes; one more is allowed.
	clock.Advance(55*time.Minute + time.Second)
	if _, err := e.resend(t, publicClient, alice); err != nil {
		t.Fatalf("after the first left the window: %v", err)
	}
	_, err = e.resend(t, publicClient, alice)
	wantErr[*types.LimitExceededException](t, err, msg, alice)
	if n := e.DeliveriesFor(alice); n != DefaultResendLimitPerHour+1 {
		t.Errorf("deliveries = %d; refused calls must not deliver", n)
	}

	e.SetResendLimit(0)
	for range 10 {
		if _, err := e.resend(t, publicClient, alice); err != nil {
			t.Fatalf("limit disabled: %v", err)
		}
	}
}

func TestResendLimitOption(t *testing.T) {
	e := newEmu(t, Options{ResendLimitPerHour: 2})
	for i := range 2 {
		if _, err := e.resend(t, publicClient, alice); err != nil {
			t.Fatalf("resend %d: %v", i, err)
		}
	}
	_, err := e.resend(t, publicClient, alice)
	wantErr[*types.LimitExceededException](t, err, "", "")

	e = newEmu(t, Options{ResendLimitPerHour: -1})
	for range 20 {
		if _, err := e.resend(t, publicClient, alice); err != nil {
			t.Fatalf("negative limit must disable it: %v", err)
		}
	}
}

// burstOf runs n concurrent resends and counts the outcomes.
func burstOf(t *testing.T, e *emu, n int) (ok, throttled int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := e.resend(t, publicClient, alice)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
				return
			}
			// No t.Fatal off the test goroutine: check by hand.
			var tm *types.TooManyRequestsException
			var re *awshttp.ResponseError
			if !errors.As(err, &tm) || tm.ErrorMessage() != "Rate exceeded" ||
				!errors.As(err, &re) || re.HTTPStatusCode() != http.StatusBadRequest {
				t.Errorf("want TooManyRequestsException \"Rate exceeded\" with status 400, got %v", err)
			}
			throttled++
		})
	}
	wg.Wait()
	return ok, throttled
}

func TestQuotaTokenBucket(t *testing.T) {
	clock := newFakeClock()
	e := newEmu(t, Options{Quota: 10, Clock: clock.Now, ResendLimitPerHour: -1})

	// Quota 10 → burst max(1, ceil(10/10)) = 1: at one instant one call passes.
	if ok, throttled := burstOf(t, e, 40); ok != 1 || throttled != 39 {
		t.Fatalf("at one instant: ok=%d throttled=%d, want 1/39", ok, throttled)
	}
	// Every 100 ms one token comes back: one more call passes, not two.
	for i := range 10 {
		clock.Advance(100 * time.Millisecond)
		if ok, throttled := burstOf(t, e, 2); ok != 1 || throttled != 1 {
			t.Fatalf("tick %d: ok=%d throttled=%d, want 1/1", i, ok, throttled)
		}
	}
	// Idle time does not store more than the burst.
	clock.Advance(time.Hour)
	if ok, _ := burstOf(t, e, 5); ok != 1 {
		t.Fatalf("after an idle hour: ok=%d, want 1", ok)
	}

	// Quota 100 → burst 10; explicit Burst overrides.
	e.SetQuota(100)
	if ok, _ := burstOf(t, e, 40); ok != 10 {
		t.Fatalf("quota 100: ok=%d, want 10", ok)
	}
	e2 := newEmu(t, Options{Quota: 10, Burst: 4, Clock: clock.Now, ResendLimitPerHour: -1})
	if ok, _ := burstOf(t, e2, 40); ok != 4 {
		t.Fatalf("burst 4: ok=%d, want 4", ok)
	}
	e.SetQuota(0)
	if ok, _ := burstOf(t, e, 40); ok != 40 {
		t.Fatalf("quota 0 must be unlimited: ok=%d", ok)
	}
	var throttledCalls int
	for _, c := range e.Calls() {
		if c.Outcome == "TooManyRequestsException" {
			throttledCalls++
		}
	}
	if throttledCalls == 0 {
		t.Error("throttled calls are not recorded")
	}
}

// TestQuotaRealClock checks the bucket against wall time: with burst b and
// rate q, in elapsed seconds at most b + q·elapsed calls can pass, and at
// least min(n, b) do.
func TestQuotaRealClock(t *testing.T) {
	const quota, n = 10, 40
	e := newEmu(t, Options{Quota: quota, ResendLimitPerHour: -1})
	start := time.Now()
	ok, throttled := burstOf(t, e, n)
	elapsed := time.Since(start).Seconds()
	burst := burstFor(quota, 0)
	maxOK := burst + int(quota*elapsed)
	if ok < burst || ok > maxOK || ok+throttled != n {
		t.Fatalf("ok=%d throttled=%d in %.3fs, want ok in [%d, %d]", ok, throttled, elapsed, burst, maxOK)
	}
}

func TestLatency(t *testing.T) {
	e := newEmu(t, Options{Latency: 120 * time.Millisecond})
	start := time.Now()
	if _, err := e.resend(t, publicClient, alice); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 120*time.Millisecond {
		t.Errorf("success took %v, want >= 120ms", d)
	}
	// Errors wait too.
	start = time.Now()
	_, err := e.resend(t, publicClient, nobody)
	wantErr[*types.UserNotFoundException](t, err, "", "")
	if d := time.Since(start); d < 120*time.Millisecond {
		t.Errorf("error took %v, want >= 120ms", d)
	}
	e.SetLatency(0)
	start = time.Now()
	if _, err := e.resend(t, publicClient, alice); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= 120*time.Millisecond {
		t.Errorf("latency 0 still took %v", d)
	}
}

func TestTokenBucketUnit(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		burst int
		want  int
	}{{0, 0, 1}, {1, 0, 1}, {10, 0, 1}, {11, 0, 2}, {100, 0, 10}, {25, 0, 3}, {10, 7, 7}} {
		if got := burstFor(tc.rate, tc.burst); got != tc.want {
			t.Errorf("burstFor(%v, %d) = %d, want %d", tc.rate, tc.burst, got, tc.want)
		}
	}
	var b tokenBucket
	b.configure(3, 0) // burst 1, a token every 1/3 s
	now := time.Unix(0, 0)
	passed := 0
	for range 300 { // 3 s in 10 ms steps
		if b.allow(now) {
			passed++
		}
		now = now.Add(10 * time.Millisecond)
	}
	if passed < 9 || passed > 10 {
		t.Errorf("3 rps over 3 s passed %d, want 9 or 10", passed)
	}
}
