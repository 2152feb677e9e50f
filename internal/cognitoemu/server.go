package cognitoemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// targetPrefix prefixes the operation name in the X-Amz-Target header.
const targetPrefix = "AWSCognitoIdentityProviderService."

// maxBodyBytes bounds a request body; Cognito requests are small.
const maxBodyBytes = 1 << 20

// Options configures a Server. The zero value is usable.
type Options struct {
	// Region names the region in pool ids and ARNs when a request carries no
	// SigV4 credential scope to take it from. Default "us-east-1".
	Region string

	// Quota is the account-wide limit, in requests per second, for
	// ResendConfirmationCode; calls beyond it fail with
	// TooManyRequestsException "Rate exceeded" (HTTP 400). 0 means unlimited.
	// It is enforced with a token bucket refilled at Quota tokens per second
	// and holding at most Burst tokens; it starts full.
	Quota float64

	// Burst is the token bucket's capacity. 0 means max(1, ceil(Quota/10)),
	// that is a tenth of a second's worth of calls.
	Burst int

	// Latency is added to every ResendConfirmationCode response, including
	// errors and throttles. Default 0.
	Latency time.Duration

	// ResendLimitPerHour is how many successful resends one user may have in
	// any sliding hour; the next fails with LimitExceededException.
	// 0 means the default, 5; a negative value disables the limit.
	ResendLimitPerHour int

	// RandSeed seeds the random source of percentage faults, so a sequence of
	// calls fails the same way on every run. 0 picks a random seed.
	RandSeed uint64

	// Clock returns the current time; nil means time.Now. Tests use it to
	// move through the quota's seconds and the resend limit's hour.
	Clock func() time.Time

	// OnRequest, if set, is called after every request with a summary that
	// holds no usernames, for logging.
	OnRequest func(RequestInfo)
}

// DefaultResendLimitPerHour is the resend limit used when
// Options.ResendLimitPerHour is 0.
const DefaultResendLimitPerHour = 5

// RequestInfo summarises one handled request, for logs.
type RequestInfo struct {
	Op       string        // operation name, or "_emu <METHOD> <path>" for control requests
	Code     string        // "OK" or the exception name
	Status   int           // HTTP status
	Duration time.Duration // time spent handling the request
}

// Server is the emulator. It is an http.Handler; create it with New.
type Server struct {
	opts Options
	now  func() time.Time

	mu          sync.Mutex
	pools       map[string]*pool   // by pool id
	clients     map[string]*client // by client id, across pools as in Cognito
	quota       float64
	burst       int // as configured; 0 = derived from quota
	latency     time.Duration
	resendLimit int // < 0 = disabled
	bucket      tokenBucket
	faults      []*Fault
	rng         *rand.Rand
	calls       []Call
	deliveries  []Delivery
	seeds       []SeedSpec // re-applied by Reset
}

// New returns a Server configured by opts.
func New(opts Options) *Server {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.ResendLimitPerHour == 0 {
		opts.ResendLimitPerHour = DefaultResendLimitPerHour
	}
	if opts.RandSeed == 0 {
		opts.RandSeed = rand.Uint64()
	}
	s := &Server{opts: opts, now: opts.Clock}
	if s.now == nil {
		s.now = time.Now
	}
	s.resetLocked()
	return s
}

// resetLocked puts every piece of state back to what New made.
func (s *Server) resetLocked() {
	s.pools = map[string]*pool{}
	s.clients = map[string]*client{}
	s.quota = s.opts.Quota
	s.burst = s.opts.Burst
	s.latency = s.opts.Latency
	s.resendLimit = s.opts.ResendLimitPerHour
	s.bucket.configure(s.quota, s.burst)
	s.faults = nil
	s.rng = rand.New(rand.NewPCG(s.opts.RandSeed, 0x636f676e69746f))
	s.calls = nil
	s.deliveries = nil
}

// Reset returns the server to its state just after New and the Seed calls
// made so far: the pools, clients and users of those seeds (users as seeded,
// so confirmed ones become unconfirmed again), the Options' quota, latency
// and resend limit, no faults and no recorded calls or deliveries.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
	for _, spec := range s.seeds {
		s.applySeedLocked(spec) // validated when first applied
	}
}

// SetQuota sets the ResendConfirmationCode quota in requests per second
// (0 = unlimited) and refills the token bucket.
func (s *Server) SetQuota(quota float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quota = max(quota, 0)
	s.bucket.configure(s.quota, s.burst)
}

// SetLatency sets the delay added to every ResendConfirmationCode response.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(d, 0)
}

// SetResendLimit sets how many resends one user may have per hour;
// n <= 0 disables the limit.
func (s *Server) SetResendLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resendLimit = n
	if n <= 0 {
		s.resendLimit = -1
	}
}

// apiError is an AWS error response.
type apiError struct {
	Code    string
	Status  int
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// newError returns the exception code with its usual HTTP status.
func newError(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Status: statusFor(code), Message: fmt.Sprintf(format, args...)}
}

// statusFor is the HTTP status Cognito uses for an exception: 500 for its
// internal errors, 400 for everything else (TooManyRequestsException too).
func statusFor(code string) int {
	switch code {
	case "InternalErrorException", "InternalFailure":
		return http.StatusInternalServerError
	case "ServiceUnavailable":
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// handler runs one API operation on a request body.
type handler func(s *Server, r *http.Request, body []byte) (any, error)

// op adapts a typed operation to a handler that decodes its JSON input.
func op[In any](fn func(*Server, *http.Request, *In) (any, error)) handler {
	return func(s *Server, r *http.Request, body []byte) (any, error) {
		in := new(In)
		if len(body) > 0 {
			if err := json.Unmarshal(body, in); err != nil {
				return nil, newError("SerializationException", "Request body is not valid JSON for this operation.")
			}
		}
		return fn(s, r, in)
	}
}

// operations maps X-Amz-Target operation names to handlers.
var operations = map[string]handler{
	"CreateUserPool":         op((*Server).createUserPool),
	"CreateUserPoolClient":   op((*Server).createUserPoolClient),
	"DescribeUserPoolClient": op((*Server).describeUserPoolClient),
	"SignUp":                 op((*Server).signUp),
	"ConfirmSignUp":          op((*Server).confirmSignUp),
	"AdminCreateUser":        op((*Server).adminCreateUser),
	"AdminConfirmSignUp":     op((*Server).adminConfirmSignUp),
	"AdminGetUser":           op((*Server).adminGetUser),
	"ListUsers":              op((*Server).listUsers),
	"ResendConfirmationCode": op((*Server).resendConfirmationCode),
}

// ServeHTTP serves the Cognito API and, under /_emu/, the control API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if strings.HasPrefix(r.URL.Path+"/", controlPrefix) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		s.serveControl(rec, r)
		code := "OK"
		if rec.status >= 400 {
			code = fmt.Sprintf("HTTP%d", rec.status)
		}
		s.report(RequestInfo{Op: "_emu " + r.Method + " " + r.URL.Path, Code: code, Status: rec.status, Duration: time.Since(start)})
		return
	}

	opName, out, err := s.serveAPI(r)
	w.Header().Set("x-amzn-RequestId", newUUID())
	info := RequestInfo{Op: opName, Code: "OK", Status: http.StatusOK}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = newError("InternalErrorException", "Internal error.")
		}
		info.Code, info.Status = ae.Code, ae.Status
		if ae.Code == "" { // a Fault with only a status
			info.Code = fmt.Sprintf("HTTP%d", ae.Status)
			writeRawFault(w, ae)
		} else {
			writeAPIError(w, ae)
		}
	} else {
		writeJSON(w, http.StatusOK, "application/x-amz-json-1.1", out)
	}
	info.Duration = time.Since(start)
	s.report(info)
}

// serveAPI decodes and runs one API call.
func (s *Server) serveAPI(r *http.Request) (opName string, out any, err error) {
	target := r.Header.Get("X-Amz-Target")
	opName, ok := strings.CutPrefix(target, targetPrefix)
	h := operations[opName]
	if !ok || h == nil || r.Method != http.MethodPost {
		// The name is the client's text: keep it out of logs.
		return "unknown", nil, newError("UnknownOperationException", "")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		return opName, nil, newError("SerializationException", "Request body could not be read.")
	}
	out, err = h(s, r, body)
	return opName, out, err
}

func (s *Server) report(info RequestInfo) {
	if s.opts.OnRequest != nil {
		s.opts.OnRequest(info)
	}
}

// writeAPIError writes an AWS JSON 1.1 error: the exception name in the
// x-amzn-ErrorType header and the __type member, and its message.
func writeAPIError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("x-amzn-ErrorType", e.Code)
	body := map[string]string{"__type": e.Code}
	if e.Message != "" {
		body["message"] = e.Message
	}
	writeJSON(w, e.Status, "application/x-amz-json-1.1", body)
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"__type":"InternalErrorException","message":"response encoding failed"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// regionOf takes the region from the request's SigV4 credential scope
// (Credential=AKID/DATE/REGION/SERVICE/aws4_request), else the default.
func (s *Server) regionOf(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if ok {
		cred, _, _ = strings.Cut(cred, ",")
		if parts := strings.Split(cred, "/"); len(parts) == 5 && parts[2] != "" {
			return parts[2]
		}
	}
	return s.opts.Region
}

// statusRecorder remembers the status written, for RequestInfo.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// epoch marshals a time as AWS JSON epoch seconds.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", float64(time.Time(t).UnixMilli())/1000)), nil
}
