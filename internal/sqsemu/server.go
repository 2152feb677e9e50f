package sqsemu

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	// Region and AccountID make the queues' ARNs and URLs; defaults
	// us-east-1 and 000000000000.
	Region, AccountID string
	// BaseURL is the scheme and host of the queue URLs, e.g.
	// http://127.0.0.1:9324; "" takes them from each CreateQueue request.
	BaseURL string
}

// Server is the SQS stand-in: an http.Handler.
type Server struct {
	opts   Options
	mu     sync.Mutex
	queues map[string]*queue // by name
}

// New returns a Server with no queues.
func New(opts Options) *Server {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	return &Server{opts: opts, queues: map[string]*queue{}}
}

const (
	targetPrefix = "AmazonSQS."
	jsonType     = "application/x-amz-json-1.0"
	maxBody      = 4 << 20
)

// apiError is an SQS error: its JSON __type (the shape's name), the
// query-protocol code of x-amzn-query-error, and a message.
type apiError struct {
	shape, query, message string
	status                int
}

func (e *apiError) Error() string { return e.shape + ": " + e.message }

// sqsError is a client-side error whose query code is the shape's name.
func sqsError(shape, format string, args ...any) *apiError {
	return &apiError{shape: shape, query: shape, message: fmt.Sprintf(format, args...), status: http.StatusBadRequest}
}

// legacyError is a client-side error whose query code has SQS's old
// AWS.SimpleQueueService. prefix.
func legacyError(shape, legacy, format string, args ...any) *apiError {
	e := sqsError(shape, format, args...)
	e.query = "AWS.SimpleQueueService." + legacy
	return e
}

func errNoQueue() *apiError {
	return legacyError("QueueDoesNotExist", "NonExistentQueue", "The specified queue does not exist.")
}

func errInvalid(format string, args ...any) *apiError {
	return sqsError("InvalidParameterValue", format, args...)
}

func errUnsupported(what string) *apiError {
	return legacyError("UnsupportedOperation", "UnsupportedOperation", "sqsemu does not implement %s", what)
}

// ServeHTTP serves the SQS JSON 1.0 API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out, err := s.serve(r)
	w.Header().Set("x-amzn-RequestId", newID())
	w.Header().Set("Content-Type", jsonType)
	status := http.StatusOK
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{shape: "InternalError", query: "InternalError", message: err.Error(), status: http.StatusInternalServerError}
		}
		fault := "Sender"
		if ae.status >= 500 {
			fault = "Receiver"
		}
		w.Header().Set("x-amzn-query-error", ae.query+";"+fault)
		status = ae.status
		out = map[string]string{"__type": "com.amazonaws.sqs#" + ae.shape, "message": ae.message}
	}
	b, merr := json.Marshal(out)
	if merr != nil {
		status, b = http.StatusInternalServerError, []byte(`{"__type":"com.amazonaws.sqs#InternalError","message":"response encoding failed"}`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// serve decodes and runs one call.
func (s *Server) serve(r *http.Request) (any, error) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if !ok || r.Method != http.MethodPost {
		return nil, errUnsupported(fmt.Sprintf("%s %s with X-Amz-Target %q (AWS JSON 1.0 only)", r.Method, r.URL.Path, r.Header.Get("X-Amz-Target")))
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, errInvalid("the request body could not be read: %v", err)
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	decode := func(v any) error {
		if err := json.Unmarshal(body, v); err != nil {
			return errInvalid("%s: the request body is not valid JSON for it: %v", op, err)
		}
		return nil
	}
	switch op {
	case "CreateQueue":
		return call(decode, func(in *createQueueIn) (any, error) { return s.createQueue(r, in) })
	case "GetQueueUrl":
		return call(decode, s.getQueueURL)
	case "GetQueueAttributes":
		return call(decode, s.getQueueAttributes)
	case "SendMessage":
		return call(decode, s.sendMessage)
	case "SendMessageBatch":
		return call(decode, s.sendMessageBatch)
	case "ReceiveMessage":
		return call(decode, func(in *receiveIn) (any, error) { return s.receiveMessage(r, in) })
	case "DeleteMessage":
		return call(decode, s.deleteMessage)
	case "DeleteMessageBatch":
		return call(decode, s.deleteMessageBatch)
	case "ChangeMessageVisibility":
		return call(decode, s.changeVisibility)
	case "ChangeMessageVisibilityBatch":
		return call(decode, s.changeVisibilityBatch)
	}
	return nil, errUnsupported(op)
}

// call decodes the input of an operation and runs it.
func call[In any](decode func(any) error, fn func(*In) (any, error)) (any, error) {
	in := new(In)
	if err := decode(in); err != nil {
		return nil, err
	}
	return fn(in)
}

// queueOf finds the queue of a QueueUrl by its last path segment (as moto
// does, so any host reaching this server works).
func (s *Server) queueOf(url string) (*queue, error) {
	if url == "" {
		return nil, sqsError("MissingParameter", "The request must contain the parameter QueueUrl.")
	}
	name := url[strings.LastIndexByte(url, '/')+1:]
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		return nil, errNoQueue()
	}
	return q, nil
}

// newID is a random version 4 UUID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// millis is a time as SQS's attribute values carry it: epoch milliseconds.
func millis(t time.Time) string { return fmt.Sprint(t.UnixMilli()) }
