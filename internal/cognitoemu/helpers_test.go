package cognitoemu

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"
)

// The fixture seeded by newEmu.
const (
	testPool       = "us-east-1_test"
	secretClient   = "secretclient"
	clientSecret   = "s3cr3t"
	publicClient   = "publicclient"
	smsPool        = "us-east-1_sms"
	smsClient      = "smsclient"
	alice          = "alice"         // unconfirmed, email
	bob            = "bob"           // confirmed, email
	dave           = "dave"          // unconfirmed, email
	nobody         = "nobody-at-all" // does not exist
	carol          = "carol"         // in smsPool: unconfirmed, email and phone
	aliceEmail     = "alice@example.com"
	carolPhone     = "+15555550123"
	carolEmail     = "carol@example.org"
	aliceMasked    = "a***@e***"
	carolMasked    = "+*******0123"
	requestTimeout = 10 * time.Second
)

func fixture() SeedSpec {
	return SeedSpec{Pools: []SeedPool{
		{
			ID: testPool, Name: "test",
			Clients: []SeedClient{{ClientID: secretClient, ClientSecret: clientSecret}, {ClientID: publicClient}},
			Users: []SeedUser{
				{Username: alice, Email: aliceEmail},
				{Username: bob, Email: "bob@example.com", Confirmed: true},
				{Username: dave, Email: "dave@example.com"},
			},
		},
		{
			ID: smsPool, AutoVerifiedAttributes: []string{"email", "phone_number"},
			Clients: []SeedClient{{ClientID: smsClient}},
			Users:   []SeedUser{{Username: carol, Email: carolEmail, PhoneNumber: carolPhone}},
		},
	}}
}

// emu is a seeded emulator behind an httptest server, with a real SDK client.
type emu struct {
	*Server
	url string
	cip *cip.Client
}

func newEmu(t *testing.T, opts Options) *emu {
	t.Helper()
	s := New(opts)
	if err := s.Seed(fixture()); err != nil {
		t.Fatal(err)
	}
	return newEmuFor(t, s)
}

// newEmuFor serves s with httptest and connects an SDK client to it.
func newEmuFor(t *testing.T, s *Server) *emu {
	t.Helper()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &emu{Server: s, url: ts.URL, cip: sdkClient(ts.URL, "us-east-1")}
}

func sdkClient(url, region string) *cip.Client {
	cfg := aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider("x", "x", ""),
		RetryMaxAttempts: 1,
	}
	return cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(url) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), requestTimeout)
	t.Cleanup(cancel)
	return c
}

// resend calls ResendConfirmationCode; a secret client gets the right hash.
func (e *emu) resend(t *testing.T, clientID, username string) (*cip.ResendConfirmationCodeOutput, error) {
	in := &cip.ResendConfirmationCodeInput{ClientId: aws.String(clientID), Username: aws.String(username)}
	if clientID == secretClient {
		in.SecretHash = aws.String(SecretHash(secretClient, clientSecret, username))
	}
	return e.cip.ResendConfirmationCode(ctx(t), in)
}

// wantErr asserts err is the SDK's typed error T with the given message
// ("" = any) that does not echo username, and returns it.
func wantErr[T error](t *testing.T, err error, msg, username string) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error = %v (%T), want %T", err, err, target)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not a smithy.APIError", err)
	}
	if msg != "" && apiErr.ErrorMessage() != msg {
		t.Errorf("message = %q, want %q", apiErr.ErrorMessage(), msg)
	}
	if username != "" && strings.Contains(apiErr.ErrorMessage(), username) {
		t.Errorf("message %q echoes the username", apiErr.ErrorMessage())
	}
	return target
}

// httpStatus is the HTTP status the SDK saw for a failed call.
func httpStatus(t *testing.T, err error) int {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v carries no HTTP response", err)
	}
	return re.HTTPStatusCode()
}

// errorCode is the exception name of err, or "OK" for nil.
func errorCode(err error) string {
	if err == nil {
		return "OK"
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return err.Error()
}

// fakeClock is a settable Options.Clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
