package cognitoemu

import (
	"maps"
	"slices"
	"time"
)

// Call records one ResendConfirmationCode request.
type Call struct {
	Time     time.Time `json:"time"`
	Username string    `json:"username"`
	ClientID string    `json:"clientId"`
	PoolID   string    `json:"poolId,omitempty"` // "" when the client is unknown
	// Outcome is "OK" or the exception name returned.
	Outcome string `json:"outcome"`
	// Injected is true when the outcome came from a Fault.
	Injected bool `json:"injected,omitempty"`

	ClientMetadata      map[string]string `json:"clientMetadata,omitempty"`
	IPAddress           string            `json:"ipAddress,omitempty"`   // UserContextData.IpAddress
	EncodedData         string            `json:"encodedData,omitempty"` // UserContextData.EncodedData
	AnalyticsEndpointID string            `json:"analyticsEndpointId,omitempty"`

	// SecretHashPresent is true when the request carried a SecretHash;
	// SecretHashValid when the client has a secret and the hash matches it.
	SecretHashPresent bool `json:"secretHashPresent"`
	SecretHashValid   bool `json:"secretHashValid"`
}

// Delivery records one confirmation code "sent" to a user.
type Delivery struct {
	Time     time.Time `json:"time"`
	PoolID   string    `json:"poolId"`
	Username string    `json:"username"`
	Code     string    `json:"code"`
	// AttributeName is "email" or "phone_number"; Medium "EMAIL" or "SMS".
	AttributeName string `json:"attributeName"`
	Medium        string `json:"medium"`
	// Destination is the full address or number; MaskedDestination is what
	// the API returned in CodeDeliveryDetails.
	Destination       string `json:"destination"`
	MaskedDestination string `json:"maskedDestination"`
	// Trigger is the operation that sent the code: "SignUp" or
	// "ResendConfirmationCode".
	Trigger string `json:"trigger"`
}

// Calls returns every ResendConfirmationCode call since New or Reset, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.calls)
	for i := range out {
		out[i].ClientMetadata = maps.Clone(out[i].ClientMetadata)
	}
	return out
}

// Deliveries returns every code delivered since New or Reset, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// DeliveriesFor counts the codes delivered to username (in any pool, by
// SignUp or ResendConfirmationCode) since New or Reset.
func (s *Server) DeliveriesFor(username string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range s.deliveries {
		if d.Username == username {
			n++
		}
	}
	return n
}

// deliveriesFiltered lists the deliveries to username, or all if "".
func (s *Server) deliveriesFiltered(username string) []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Delivery{}
	for _, d := range s.deliveries {
		if username == "" || d.Username == username {
			out = append(out, d)
		}
	}
	return out
}

// deliverCodeLocked gives u a new code sent to attr, records the delivery
// and returns the details the API reports.
func (s *Server) deliverCodeLocked(p *pool, u *user, attr, trigger string) codeDeliveryDetails {
	now := s.now()
	u.code, u.codeAttr, u.codeSent = newCode(), attr, now
	d := Delivery{
		Time: now, PoolID: p.id, Username: u.username, Code: u.code,
		AttributeName: attr, Medium: mediumFor(attr),
		Destination: u.attrs[attr], MaskedDestination: maskDestination(attr, u.attrs[attr]),
		Trigger: trigger,
	}
	s.deliveries = append(s.deliveries, d)
	return codeDeliveryDetails{AttributeName: attr, DeliveryMedium: d.Medium, Destination: d.MaskedDestination}
}
