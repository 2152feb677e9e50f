package cognitoemu

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// AlreadyConfirmedMessage is the message of the InvalidParameterException
// ResendConfirmationCode returns for a user who is not UNCONFIRMED.
const AlreadyConfirmedMessage = "User is already confirmed."

// resendWindow is the sliding window of the per-user resend limit.
const resendWindow = time.Hour

type resendInput struct {
	ClientId          string             `json:"ClientId"`
	SecretHash        string             `json:"SecretHash"`
	Username          string             `json:"Username"`
	ClientMetadata    map[string]string  `json:"ClientMetadata"`
	UserContextData   *userContextData   `json:"UserContextData"`
	AnalyticsMetadata *analyticsMetadata `json:"AnalyticsMetadata"`
}

type resendOutput struct {
	CodeDeliveryDetails codeDeliveryDetails `json:"CodeDeliveryDetails"`
}

// resendConfirmationCode decides the call's outcome, records it, then waits
// out the configured latency before answering.
func (s *Server) resendConfirmationCode(r *http.Request, in *resendInput) (any, error) {
	out, latency, err := s.resend(in)
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	return out, err
}

// resend runs and records one call, returning the latency to add.
func (s *Server) resend(in *resendInput) (any, time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	call := Call{
		Time:              now,
		Username:          in.Username,
		ClientID:          in.ClientId,
		ClientMetadata:    in.ClientMetadata,
		SecretHashPresent: in.SecretHash != "",
		Outcome:           "OK",
	}
	if d := in.UserContextData; d != nil {
		call.IPAddress, call.EncodedData = d.IpAddress, d.EncodedData
	}
	if m := in.AnalyticsMetadata; m != nil {
		call.AnalyticsEndpointID = m.AnalyticsEndpointId
	}
	if c := s.clients[in.ClientId]; c != nil {
		call.PoolID = c.poolID
		call.SecretHashValid = c.secretHashValid(in.Username, in.SecretHash)
	}

	out, injected, err := s.resendLocked(in, now)
	if err != nil {
		var ae *apiError
		switch {
		case errors.As(err, &ae) && ae.Code != "":
			call.Outcome = ae.Code
		case ae != nil: // a Fault with only a status
			call.Outcome = fmt.Sprintf("HTTP%d", ae.Status)
		default:
			call.Outcome = "InternalErrorException"
		}
	}
	call.Injected = injected
	s.calls = append(s.calls, call)
	return out, s.latency, err
}

// resendLocked applies the quota, then the faults, then Cognito's rules.
func (s *Server) resendLocked(in *resendInput, now time.Time) (out any, injected bool, err error) {
	if !s.bucket.allow(now) {
		return nil, false, newError("TooManyRequestsException", "Rate exceeded")
	}
	if f := s.matchFaultLocked(in.Username); f != nil {
		return nil, true, f.apiError()
	}
	if err := firstErr(required("clientId", in.ClientId), required("username", in.Username)); err != nil {
		return nil, false, err
	}
	c, p, err := s.clientLocked(in.ClientId)
	if err != nil {
		return nil, false, err
	}
	if err := c.checkSecretHash(in.Username, in.SecretHash); err != nil {
		return nil, false, err
	}
	u := p.user(in.Username)
	if u == nil {
		return nil, false, errUserNotFoundForClient()
	}
	if u.status != statusUnconfirmed {
		return nil, false, newError("InvalidParameterException", AlreadyConfirmedMessage)
	}
	if s.resendLimit > 0 {
		u.resends = pruneBefore(u.resends, now.Add(-resendWindow))
		if len(u.resends) >= s.resendLimit {
			return nil, false, newError("LimitExceededException", "Attempt limit exceeded, please try after some time.")
		}
	}
	if len(p.autoVerified) == 0 {
		return nil, false, newError("InvalidParameterException", "Cannot resend codes. Auto verification not turned on.")
	}
	attr, ok := p.deliveryTarget(u)
	if !ok {
		return nil, false, newError("InvalidParameterException", "Cannot resend codes. No attribute to deliver the code to.")
	}
	d := s.deliverCodeLocked(p, u, attr, "ResendConfirmationCode")
	u.resends = append(u.resends, now)
	return resendOutput{CodeDeliveryDetails: d}, false, nil
}

// pruneBefore drops the times before cutoff from a sorted slice.
func pruneBefore(times []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(times) && times[i].Before(cutoff) {
		i++
	}
	return times[i:]
}
