package cognitoemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// A Fault makes ResendConfirmationCode calls fail on purpose. Faults are
// checked after the quota and before Cognito's rules, in the order they
// were added; the first that fires decides the call.
//
// Exactly one mode must be set:
//   - Count: the next Count matching calls fail, then the fault is removed;
//   - Percent: each matching call fails with that probability (0 < Percent
//     <= 100), drawn from the source seeded by Options.RandSeed;
//   - UntilCleared: every matching call fails until ClearFaults or Reset;
//   - For: every matching call fails for this long from when the fault was
//     added, then the fault is removed. With no Username it is an outage of
//     the whole service (see Outage).
//
// A call matches when Username is "" or equals the call's Username.
type Fault struct {
	Username     string   `json:"username,omitempty"`
	Count        int      `json:"count,omitempty"`
	Percent      float64  `json:"percent,omitempty"`
	UntilCleared bool     `json:"untilCleared,omitempty"`
	For          Duration `json:"for,omitempty"`

	// Code is the exception name returned, e.g. "InternalErrorException".
	// If Code is "", the response is a bare HTTP Status with a non-JSON
	// body, as from a proxy or load balancer.
	Code string `json:"code,omitempty"`
	// Status is the HTTP status; 0 means Cognito's for Code (500 for
	// InternalErrorException, 400 for the rest).
	Status int `json:"status,omitempty"`
	// Message is the error message; "" means a default for Code.
	Message string `json:"message,omitempty"`

	until time.Time // For: when it ends
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("60s", "1m30s").
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"60s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// defaultFaultMessages are Cognito's usual messages for common codes.
var defaultFaultMessages = map[string]string{
	"InternalErrorException":       "Internal server error.",
	"TooManyRequestsException":     "Rate exceeded",
	"LimitExceededException":       "Attempt limit exceeded, please try after some time.",
	"CodeDeliveryFailureException": "Unable to deliver the code.",
	"InvalidParameterException":    AlreadyConfirmedMessage,
	"UserNotFoundException":        "Username/client id combination not found.",
}

// validate checks the fault and fills in Status and Message defaults.
func (f *Fault) validate() error {
	modes := 0
	for _, set := range []bool{f.Count != 0, f.Percent != 0, f.UntilCleared, f.For != 0} {
		if set {
			modes++
		}
	}
	switch {
	case modes != 1:
		return errors.New("fault: set exactly one of count, percent, untilCleared, for")
	case f.Count < 0:
		return errors.New("fault: count must be positive")
	case f.For < 0:
		return errors.New("fault: for must be positive")
	case f.Percent < 0 || f.Percent > 100:
		return errors.New("fault: percent must be in (0, 100]")
	case f.Code == "" && f.Status == 0:
		return errors.New("fault: set code, status or both")
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return errors.New("fault: status must be an HTTP error status (400-599)")
	}
	if f.Status == 0 {
		f.Status = statusFor(f.Code)
	}
	if f.Message == "" {
		f.Message = defaultFaultMessages[f.Code]
		if f.Message == "" && f.Code != "" {
			f.Message = "Injected fault."
		}
	}
	return nil
}

// apiError is the error the fault returns.
func (f *Fault) apiError() *apiError {
	return &apiError{Code: f.Code, Status: f.Status, Message: f.Message}
}

// AddFault adds a fault after the existing ones. It returns an error, and
// adds nothing, if the fault is not valid.
func (s *Server) AddFault(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.For > 0 {
		f.until = s.now().Add(time.Duration(f.For))
	}
	s.faults = append(s.faults, &f)
	return nil
}

// Outage makes every ResendConfirmationCode call fail with code (HTTP 500
// InternalErrorException if code is "") for d from now: the whole service
// down, as in a regional incident. It is AddFault of a Fault with For.
func (s *Server) Outage(d time.Duration, code string) error {
	if code == "" {
		code = "InternalErrorException"
	}
	return s.AddFault(Fault{For: Duration(d), Code: code})
}

// Faults returns the active faults; Count is what remains of each.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireFaultsLocked()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	return out
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// matchFaultLocked returns the fault that fires for a call by username,
// using up one of a Count fault's calls, or nil.
func (s *Server) matchFaultLocked(username string) *Fault {
	s.expireFaultsLocked()
	for i, f := range s.faults {
		if f.Username != "" && f.Username != username {
			continue
		}
		switch {
		case f.Count > 0:
			f.Count--
			if f.Count == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			return f
		case f.Percent > 0:
			if s.rng.Float64()*100 < f.Percent {
				return f
			}
		case f.UntilCleared, f.For > 0:
			return f
		}
	}
	return nil
}

// expireFaultsLocked removes the For faults whose time is up.
func (s *Server) expireFaultsLocked() {
	now := s.now()
	s.faults = slices.DeleteFunc(s.faults, func(f *Fault) bool { return f.For > 0 && !now.Before(f.until) })
}

// writeRawFault writes a fault with no Code: a bare status, not AWS JSON.
func writeRawFault(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(e.Status)
	_, _ = fmt.Fprintf(w, "%d %s\n", e.Status, http.StatusText(e.Status))
}
