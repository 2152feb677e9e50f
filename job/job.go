// Package job is the resend job: the SQS message body that asks the worker to
// resend a Cognito confirmation code. Producers build and enqueue jobs with it;
// the worker decodes them with the same code, so the two cannot drift.
package job

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxUsernameLength is the longest username Cognito takes, in characters.
const MaxUsernameLength = 128

// Job is one request to resend a confirmation code. Only Username is required;
// the other fields are passed to Cognito as given.
type Job struct {
	Username            string            `json:"username"`
	ClientMetadata      map[string]string `json:"clientMetadata,omitempty"`
	UserContextData     *UserContextData  `json:"userContextData,omitempty"`
	AnalyticsEndpointID string            `json:"analyticsEndpointId,omitempty"`
}

// UserContextData is Cognito's advanced-security context for the request.
type UserContextData struct {
	IPAddress   string `json:"ipAddress,omitempty"`
	EncodedData string `json:"encodedData,omitempty"`
}

// ErrInvalid is wrapped by every error Parse and Validate return: callers branch
// on errors.Is(err, job.ErrInvalid).
var ErrInvalid = errors.New("invalid job")

// InvalidError says why a body is not a valid job. Its message never contains
// the body or the username.
type InvalidError struct {
	Field  string // the JSON field at fault, empty for the body as a whole
	Reason string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return "invalid job: " + e.Reason
	}
	return fmt.Sprintf("invalid job: %s: %s", e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Parse decodes and validates a message body. Field names match exactly
// (encoding/json alone would also accept "USERNAME"); unknown fields are
// ignored; wrong types, invalid UTF-8 and trailing data are errors.
func Parse(body []byte) (Job, error) {
	var j Job
	if !utf8.Valid(body) {
		return j, invalid("", "body is not valid UTF-8")
	}
	var fields map[string]json.RawMessage
	if err := strictUnmarshal(body, &fields); err != nil || fields == nil {
		return j, invalid("", "body is not a JSON object")
	}
	if err := decodeField(fields, "username", &j.Username); err != nil {
		return j, err
	}
	if err := decodeMetadata(fields, &j.ClientMetadata); err != nil {
		return j, err
	}
	if raw, ok := fields["userContextData"]; ok && !isNull(raw) {
		var u map[string]json.RawMessage
		if err := strictUnmarshal(raw, &u); err != nil || u == nil {
			return j, invalid("userContextData", "must be an object")
		}
		j.UserContextData = &UserContextData{}
		if err := decodeField(u, "ipAddress", &j.UserContextData.IPAddress); err != nil {
			return j, prefix("userContextData.", err)
		}
		if err := decodeField(u, "encodedData", &j.UserContextData.EncodedData); err != nil {
			return j, prefix("userContextData.", err)
		}
	}
	if err := decodeField(fields, "analyticsEndpointId", &j.AnalyticsEndpointID); err != nil {
		return j, err
	}
	return j, j.Validate()
}

// Validate checks what Parse checks after decoding; producers call it (through
// Enqueue) before sending.
func (j Job) Validate() error {
	n := utf8.RuneCountInString(j.Username)
	switch {
	case j.Username == "":
		return invalid("username", "is required")
	case !utf8.ValidString(j.Username):
		return invalid("username", "is not valid UTF-8")
	case n > MaxUsernameLength:
		return invalid("username", "has %d characters, at most %d allowed", n, MaxUsernameLength)
	}
	for k, v := range j.ClientMetadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return invalid("clientMetadata", "is not valid UTF-8")
		}
	}
	return nil
}

// Marshal encodes the job as a message body.
func (j Job) Marshal() ([]byte, error) {
	if err := j.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(j)
}

func decodeField(fields map[string]json.RawMessage, name string, dst any) error {
	raw, ok := fields[name]
	if !ok || isNull(raw) {
		return nil
	}
	if err := strictUnmarshal(raw, dst); err != nil {
		return invalid(name, "has the wrong type")
	}
	return nil
}

func strictUnmarshal(data []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	// dec.More reports false at EOF and at a closing bracket; make sure nothing
	// but white space follows the value.
	if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
		return errors.New("trailing data")
	}
	return nil
}

// decodeMetadata decodes clientMetadata: an object whose values are all
// strings (encoding/json alone would turn a null value into "").
func decodeMetadata(fields map[string]json.RawMessage, dst *map[string]string) error {
	var raw map[string]json.RawMessage
	if err := decodeField(fields, "clientMetadata", &raw); err != nil {
		return err
	}
	if raw == nil {
		return nil
	}
	m := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		if isNull(v) || json.Unmarshal(v, &s) != nil {
			return invalid("clientMetadata", "values must be strings")
		}
		m[k] = s
	}
	*dst = m
	return nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func prefix(p string, err error) error {
	var ie *InvalidError
	if errors.As(err, &ie) {
		return &InvalidError{Field: p + ie.Field, Reason: ie.Reason}
	}
	return err
}
