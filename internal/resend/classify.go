package resend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Class is the closed set of answers the worker branches on.
type Class int

const (
	// AlreadyConfirmedClass: InvalidParameterException "User is already confirmed.".
	AlreadyConfirmedClass Class = iota + 1
	// PermanentClass: retrying cannot help; dead-letter at once.
	PermanentClass
	// TransientClass: may succeed later; retry with backoff, then requeue.
	TransientClass
	// ThrottledClass: the account's request quota is exceeded; a transient
	// error that slows the rate limiter instead of sleeping.
	ThrottledClass
)

func (c Class) String() string {
	switch c {
	case AlreadyConfirmedClass:
		return "already_confirmed"
	case PermanentClass:
		return "permanent"
	case TransientClass:
		return "transient"
	case ThrottledClass:
		return "throttled"
	}
	return "unknown"
}

// Sentinels for errors.Is on an *Error.
var (
	ErrPermanent = errors.New("permanent Cognito error")
	ErrTransient = errors.New("transient Cognito error")
	ErrThrottled = errors.New("Cognito throttled the call")
)

// Error is a classified failure of one call.
type Error struct {
	Class   Class
	Code    string // the exception name, or RequestTimeout, ConnectionError, HTTP<status>
	Message string // Cognito's message or a short description; may echo input: scrub before storing
	Err     error  // the SDK's error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e's class. Throttled errors are transient too.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrPermanent:
		return e.Class == PermanentClass
	case ErrTransient:
		return e.Class == TransientClass || e.Class == ThrottledClass
	case ErrThrottled:
		return e.Class == ThrottledClass
	}
	return false
}

// AlreadyConfirmedMessage is Cognito's message for a confirmed user.
const AlreadyConfirmedMessage = "User is already confirmed."

var permanentCodes = map[string]bool{
	"UserNotFoundException":                    true,
	"NotAuthorizedException":                   true,
	"ResourceNotFoundException":                true,
	"InvalidParameterException":                true,
	"ForbiddenException":                       true,
	"InvalidEmailRoleAccessPolicyException":    true,
	"InvalidSmsRoleAccessPolicyException":      true,
	"InvalidSmsRoleTrustRelationshipException": true,
	"InvalidLambdaResponseException":           true,
	"UserLambdaValidationException":            true,
	"OperationNotEnabledException":             true,
	"LimitExceededException":                   true,
}

// Classify maps any error from a ResendConfirmationCode call to an *Error.
// Anything not known to be permanent is transient: an unknown code may be a
// new server-side failure, and retrying it costs little.
func Classify(err error) *Error {
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() != "" && !isGenericCode(apiErr.ErrorCode()) {
		code, msg := apiErr.ErrorCode(), apiErr.ErrorMessage()
		switch {
		case code == "InvalidParameterException" && strings.TrimSpace(msg) == AlreadyConfirmedMessage:
			return &Error{Class: AlreadyConfirmedClass, Code: code, Message: msg, Err: err}
		case permanentCodes[code]:
			return &Error{Class: PermanentClass, Code: code, Message: msg, Err: err}
		case code == "TooManyRequestsException":
			return &Error{Class: ThrottledClass, Code: code, Message: msg, Err: err}
		default:
			return &Error{Class: TransientClass, Code: code, Message: msg, Err: err}
		}
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return &Error{Class: TransientClass, Code: fmt.Sprintf("HTTP%d", respErr.HTTPStatusCode()), Message: "server error", Err: err}
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Class: TransientClass, Code: "Cancelled", Message: "the call was cancelled", Err: err}
	}
	if isTimeout(err) {
		return &Error{Class: TransientClass, Code: "RequestTimeout", Message: "the call timed out", Err: err}
	}
	var netErr net.Error
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.As(err, &netErr) || isConnectionError(err) {
		return &Error{Class: TransientClass, Code: "ConnectionError", Message: "could not reach Cognito", Err: err}
	}
	if respErr != nil {
		return &Error{Class: TransientClass, Code: fmt.Sprintf("HTTP%d", respErr.HTTPStatusCode()), Message: "unexpected response", Err: err}
	}
	return &Error{Class: TransientClass, Code: "UnknownError", Message: "unclassified error", Err: err}
}

// isGenericCode is true for the codes smithy invents when a response carries
// none; the HTTP status says more then.
func isGenericCode(code string) bool {
	return code == "UnknownError"
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func isConnectionError(err error) bool {
	var re interface{ ConnectionError() bool }
	if errors.As(err, &re) && re.ConnectionError() {
		return true
	}
	return retry.IsErrorRetryables{retry.RetryableConnectionError{}}.IsErrorRetryable(err).Bool()
}
