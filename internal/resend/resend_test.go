package resend_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"

	"github.com/resend-worker/resend-worker/internal/resend"
	"github.com/resend-worker/resend-worker/job"
)

// newCognito is the real SDK client pointed at url, with the SDK's retries
// off as the worker runs it.
func newCognito(url string) *cip.Client {
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "x", SecretAccessKey: "x", Source: "test"}, nil
	})
	return cip.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: creds}, func(o *cip.Options) {
		o.BaseEndpoint = aws.String(url)
		o.Retryer = aws.NopRetryer{}
	})
}

// request is what the fake Cognito received.
type request struct {
	Target string
	Body   map[string]any
	Raw    []byte
}

// cognitoServer answers every call with reply and records the requests.
type cognitoServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

func newServer(t *testing.T, reply http.HandlerFunc) *cognitoServer {
	t.Helper()
	s := &cognitoServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("request body %q is not JSON: %v", raw, err)
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, request{Target: r.Header.Get("X-Amz-Target"), Body: body, Raw: raw})
		s.mu.Unlock()
		reply(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *cognitoServer) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
}

// awsError answers as Cognito does: AWS JSON 1.1, the exception in the
// x-amzn-ErrorType header and in __type.
func awsError(status int, name, message string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("x-amzn-ErrorType", name)
		w.Header().Set("x-amzn-RequestId", "11111111-2222-3333-4444-555555555555")
		w.WriteHeader(status)
		b, _ := json.Marshal(map[string]string{"__type": name, "message": message})
		w.Write(b)
	}
}

func success(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	io.WriteString(w, `{"CodeDeliveryDetails":{"AttributeName":"email","DeliveryMedium":"EMAIL","Destination":"a***@e***"}}`)
}

const (
	permanent = resend.PermanentClass
	transient = resend.TransientClass
	throttled = resend.ThrottledClass
)

func TestSendClassification(t *testing.T) {
	tests := []struct {
		name        string
		reply       http.HandlerFunc
		wantOutcome resend.Outcome // when the call needs no retry
		wantClass   resend.Class
		wantCode    string
	}{
		{name: "success", reply: success, wantOutcome: resend.Resent},
		{name: "already confirmed", reply: awsError(400, "InvalidParameterException", "User is already confirmed."), wantOutcome: resend.AlreadyConfirmed},

		// The 16 exceptions of ResendConfirmationCode.
		{name: "CodeDeliveryFailureException", reply: awsError(400, "CodeDeliveryFailureException", "Unable to deliver"), wantClass: transient, wantCode: "CodeDeliveryFailureException"},
		{name: "ForbiddenException", reply: awsError(403, "ForbiddenException", "WAF"), wantClass: permanent, wantCode: "ForbiddenException"},
		{name: "InternalErrorException", reply: awsError(500, "InternalErrorException", "Internal error"), wantClass: transient, wantCode: "InternalErrorException"},
		{name: "InvalidEmailRoleAccessPolicyException", reply: awsError(400, "InvalidEmailRoleAccessPolicyException", "no"), wantClass: permanent, wantCode: "InvalidEmailRoleAccessPolicyException"},
		{name: "InvalidLambdaResponseException", reply: awsError(400, "InvalidLambdaResponseException", "bad lambda"), wantClass: permanent, wantCode: "InvalidLambdaResponseException"},
		{name: "InvalidParameterException (generic)", reply: awsError(400, "InvalidParameterException", "1 validation error detected"), wantClass: permanent, wantCode: "InvalidParameterException"},
		{name: "InvalidSmsRoleAccessPolicyException", reply: awsError(400, "InvalidSmsRoleAccessPolicyException", "no"), wantClass: permanent, wantCode: "InvalidSmsRoleAccessPolicyException"},
		{name: "InvalidSmsRoleTrustRelationshipException", reply: awsError(400, "InvalidSmsRoleTrustRelationshipException", "no"), wantClass: permanent, wantCode: "InvalidSmsRoleTrustRelationshipException"},
		{name: "LimitExceededException", reply: awsError(400, "LimitExceededException", "Attempt limit exceeded, please try after some time."), wantClass: permanent, wantCode: "LimitExceededException"},
		{name: "NotAuthorizedException", reply: awsError(400, "NotAuthorizedException", "Unable to verify secret hash"), wantClass: permanent, wantCode: "NotAuthorizedException"},
		{name: "OperationNotEnabledException", reply: awsError(400, "OperationNotEnabledException", "off"), wantClass: permanent, wantCode: "OperationNotEnabledException"},
		{name: "ResourceNotFoundException", reply: awsError(400, "ResourceNotFoundException", "User pool client does not exist."), wantClass: permanent, wantCode: "ResourceNotFoundException"},
		{name: "TooManyRequestsException", reply: awsError(400, "TooManyRequestsException", "Rate exceeded"), wantClass: throttled, wantCode: "TooManyRequestsException"},
		{name: "UnexpectedLambdaException", reply: awsError(400, "UnexpectedLambdaException", "boom"), wantClass: transient, wantCode: "UnexpectedLambdaException"},
		{name: "UserLambdaValidationException", reply: awsError(400, "UserLambdaValidationException", "PreSignUp failed"), wantClass: permanent, wantCode: "UserLambdaValidationException"},
		{name: "UserNotFoundException", reply: awsError(400, "UserNotFoundException", "Username/client id combination not found."), wantClass: permanent, wantCode: "UserNotFoundException"},

		// Variants of the wire format.
		{name: "already confirmed, message with spaces", reply: awsError(400, "InvalidParameterException", " User is already confirmed. "), wantOutcome: resend.AlreadyConfirmed},
		{name: "confirmed-like message is not confirmed", reply: awsError(400, "InvalidParameterException", "User is already confirmed. Or not."), wantClass: permanent, wantCode: "InvalidParameterException"},
		{name: "error type with namespace suffix", reply: awsError(400, "UserNotFoundException:http://internal.amazon.com/coral/com.amazonaws.swbup.service/", "x"), wantClass: permanent, wantCode: "UserNotFoundException"},
		{name: "unknown exception at 400", reply: awsError(400, "BrandNewException", "new"), wantClass: transient, wantCode: "BrandNewException"},
		{name: "unknown exception at 500", reply: awsError(500, "ServiceUnavailableException", "later"), wantClass: transient, wantCode: "ServiceUnavailableException"},
		{name: "503 with an empty body", reply: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }, wantClass: transient, wantCode: "HTTP503"},
		{name: "502 with an HTML body", reply: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			io.WriteString(w, "<html><body>Bad Gateway</body></html>")
		}, wantClass: transient, wantCode: "HTTP502"},
		{name: "400 with no error code", reply: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(400) }, wantClass: transient, wantCode: "HTTP400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.reply)
			c := &resend.Client{API: newCognito(srv.URL), ClientID: "cid"}
			outcome, err := c.Send(context.Background(), job.Job{Username: "u"})
			if n := len(srv.requests()); n != 1 {
				t.Errorf("%d requests, want exactly 1 (SDK retries must be off)", n)
			}
			checkResult(t, outcome, err, tt.wantOutcome, tt.wantClass, tt.wantCode)
		})
	}
}

func checkResult(t *testing.T, outcome resend.Outcome, err error, wantOutcome resend.Outcome, wantClass resend.Class, wantCode string) {
	t.Helper()
	if wantOutcome != 0 {
		if err != nil || outcome != wantOutcome {
			t.Fatalf("Send = %v, %v; want %v, nil", outcome, err, wantOutcome)
		}
		return
	}
	var e *resend.Error
	if !errors.As(err, &e) {
		t.Fatalf("Send = %v, %v (%T); want a *resend.Error", outcome, err, err)
	}
	if outcome != 0 {
		t.Errorf("outcome = %v with an error", outcome)
	}
	if e.Class != wantClass || e.Code != wantCode {
		t.Errorf("Class, Code = %v, %q; want %v, %q (err %v)", e.Class, e.Code, wantClass, wantCode, err)
	}
	if e.Err == nil || !errors.Is(err, e.Err) {
		t.Errorf("the SDK's error is not kept: %v", e.Err)
	}
	sentinels := map[error]bool{
		resend.ErrPermanent: wantClass == permanent,
		resend.ErrTransient: wantClass == transient || wantClass == throttled,
		resend.ErrThrottled: wantClass == throttled,
	}
	for s, want := range sentinels {
		if errors.Is(err, s) != want {
			t.Errorf("errors.Is(err, %v) = %v, want %v", s, !want, want)
		}
	}
	if want := wantCode + ": " + e.Message; e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select { // answer only after the client gave up
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release) // before srv.Close, which waits for the handler
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c := &resend.Client{API: newCognito(srv.URL), ClientID: "cid"}
	outcome, err := c.Send(ctx, job.Job{Username: "u"})
	checkResult(t, outcome, err, 0, transient, "RequestTimeout")
}

func TestSendCancelled(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	c := &resend.Client{API: newCognito(srv.URL), ClientID: "cid"}
	outcome, err := c.Send(ctx, job.Job{Username: "u"})
	checkResult(t, outcome, err, 0, transient, "Cancelled")
}

func TestSendConnectionError(t *testing.T) {
	tests := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"closed server", func(t *testing.T) string {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			return srv.URL
		}},
		{"refused port", func(t *testing.T) string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			return "http://" + addr
		}},
		{"connection dropped mid-request", func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &resend.Client{API: newCognito(tt.url(t)), ClientID: "cid"}
			outcome, err := c.Send(context.Background(), job.Job{Username: "u"})
			checkResult(t, outcome, err, 0, transient, "ConnectionError")
		})
	}
}

// hash is SecretHash computed here, independently of the package.
func hash(secret, username, clientID string) string {
	m := hmac.New(sha256.New, []byte(secret))
	io.WriteString(m, username)
	io.WriteString(m, clientID)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestSendRequest(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		job    job.Job
		want   map[string]any // the request body, as JSON decodes it
	}{
		{
			name: "minimal, no secret",
			job:  job.Job{Username: "alice@example.com"},
			want: map[string]any{"ClientId": "cid-1", "Username": "alice@example.com"},
		},
		{
			name:   "with secret",
			secret: "s3cr3t",
			job:    job.Job{Username: "alice@example.com"},
			want:   map[string]any{"ClientId": "cid-1", "Username": "alice@example.com", "SecretHash": hash("s3cr3t", "alice@example.com", "cid-1")},
		},
		{
			name:   "all fields",
			secret: "k",
			job: job.Job{
				Username:            "ünï",
				ClientMetadata:      map[string]string{"source": "signup-page", "lang": "fr"},
				UserContextData:     &job.UserContextData{IPAddress: "203.0.113.7", EncodedData: "enc=="},
				AnalyticsEndpointID: "ep-9",
			},
			want: map[string]any{
				"ClientId":          "cid-1",
				"Username":          "ünï",
				"SecretHash":        hash("k", "ünï", "cid-1"),
				"ClientMetadata":    map[string]any{"source": "signup-page", "lang": "fr"},
				"UserContextData":   map[string]any{"IpAddress": "203.0.113.7", "EncodedData": "enc=="},
				"AnalyticsMetadata": map[string]any{"AnalyticsEndpointId": "ep-9"},
			},
		},
		{
			name: "userContextData with only an IP",
			job:  job.Job{Username: "bob", UserContextData: &job.UserContextData{IPAddress: "198.51.100.1"}},
			want: map[string]any{"ClientId": "cid-1", "Username": "bob", "UserContextData": map[string]any{"IpAddress": "198.51.100.1"}},
		},
		{
			name: "empty userContextData is left out",
			job:  job.Job{Username: "bob", UserContextData: &job.UserContextData{}},
			want: map[string]any{"ClientId": "cid-1", "Username": "bob"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, success)
			c := &resend.Client{API: newCognito(srv.URL), ClientID: "cid-1", ClientSecret: tt.secret}
			if outcome, err := c.Send(context.Background(), tt.job); err != nil || outcome != resend.Resent {
				t.Fatalf("Send = %v, %v", outcome, err)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			if reqs[0].Target != "AWSCognitoIdentityProviderService.ResendConfirmationCode" {
				t.Errorf("X-Amz-Target = %q", reqs[0].Target)
			}
			if !reflect.DeepEqual(reqs[0].Body, tt.want) {
				t.Errorf("request body = %s\nwant %v", reqs[0].Raw, tt.want)
			}
		})
	}
}

func TestSecretHash(t *testing.T) {
	tests := []struct{ secret, username, clientID, want string }{
		// Known answers: Base64(HMAC-SHA256(key=secret, msg=username+clientId));
		// the second is the classic HMAC-SHA256 test vector f7bc83f4…3cd8.
		{"secret", "user", "client", "wvW87lzZoI+qQCVGmWVBJLlucdJ65huAVP1z+0MgA6E="},
		{"key", "The quick brown fox jumps over the lazy ", "dog", "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="},
	}
	for _, tt := range tests {
		got := resend.SecretHash(tt.secret, tt.username, tt.clientID)
		if got != tt.want {
			t.Errorf("SecretHash(%q, %q, %q) = %q, want %q", tt.secret, tt.username, tt.clientID, got, tt.want)
		}
		if got != hash(tt.secret, tt.username, tt.clientID) {
			t.Errorf("SecretHash disagrees with the reference HMAC")
		}
	}
}

// TestClassify covers errors that do not come from the SDK's wire path.
func TestClassify(t *testing.T) {
	already := &resend.Error{Class: permanent, Code: "X", Message: "m"}
	tests := []struct {
		name      string
		err       error
		wantClass resend.Class
		wantCode  string
	}{
		{"already classified", already, permanent, "X"},
		{"wrapped classified", errors.Join(errors.New("ctx"), already), permanent, "X"},
		{"generic API error", &smithy.GenericAPIError{Code: "UserNotFoundException", Message: "m"}, permanent, "UserNotFoundException"},
		{"generic already confirmed", &smithy.GenericAPIError{Code: "InvalidParameterException", Message: resend.AlreadyConfirmedMessage}, resend.AlreadyConfirmedClass, "InvalidParameterException"},
		{"deadline", context.DeadlineExceeded, transient, "RequestTimeout"},
		{"cancelled", context.Canceled, transient, "Cancelled"},
		{"net error", &net.OpError{Op: "dial", Err: errors.New("refused")}, transient, "ConnectionError"},
		{"anything else", errors.New("weird"), transient, "UnknownError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := resend.Classify(tt.err)
			if e.Class != tt.wantClass || e.Code != tt.wantCode {
				t.Errorf("Classify = %v %q, want %v %q", e.Class, e.Code, tt.wantClass, tt.wantCode)
			}
		})
	}
	if resend.Classify(already) != already {
		t.Errorf("Classify of an *Error is not the same *Error")
	}
}
