package cognitoemu

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// SeedSpec describes pools, app clients and users to create with fixed ids,
// for docker-compose set-ups and demos. In JSON:
//
//	{"pools": [{"id": "us-east-1_demo", "name": "demo",
//	  "clients": [{"clientId": "democlient", "clientSecret": "demosecret"}],
//	  "users": [{"username": "alice", "email": "alice@example.com", "confirmed": false}]}]}
type SeedSpec struct {
	Pools []SeedPool `json:"pools"`
}

// SeedPool is a user pool to seed. An existing pool with the same ID is
// kept and its clients and users are added to or replaced.
type SeedPool struct {
	ID   string `json:"id"`             // "<region>_<alphanumerics>", e.g. "us-east-1_demo"
	Name string `json:"name,omitempty"` // default: ID
	// AutoVerifiedAttributes are the attributes codes are sent to:
	// "email" and/or "phone_number". Default ["email"].
	AutoVerifiedAttributes []string     `json:"autoVerifiedAttributes,omitempty"`
	Clients                []SeedClient `json:"clients,omitempty"`
	Users                  []SeedUser   `json:"users,omitempty"`
}

// SeedClient is an app client to seed; ClientSecret "" means no secret.
type SeedClient struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret,omitempty"`
	Name         string `json:"name,omitempty"` // default: ClientID
}

// SeedUser is a user to seed, UNCONFIRMED unless Confirmed.
type SeedUser struct {
	Username    string            `json:"username"`
	Email       string            `json:"email,omitempty"`
	PhoneNumber string            `json:"phoneNumber,omitempty"`
	Confirmed   bool              `json:"confirmed"`
	Password    string            `json:"password,omitempty"`
	Sub         string            `json:"sub,omitempty"`        // default: a random UUID
	Attributes  map[string]string `json:"attributes,omitempty"` // other attributes
}

// Seed creates the pools, clients and users of spec. It checks the whole
// spec first and changes nothing if it is invalid. Reset re-applies every
// spec seeded so far.
func (s *Server) Seed(spec SeedSpec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.validateSeedLocked(spec); err != nil {
		return err
	}
	s.applySeedLocked(spec)
	s.seeds = append(s.seeds, spec)
	return nil
}

func (s *Server) validateSeedLocked(spec SeedSpec) error {
	clientPool := map[string]string{} // client id → pool id, in this spec
	for i, p := range spec.Pools {
		where := fmt.Sprintf("seed: pools[%d]", i)
		if !poolIDPattern.MatchString(p.ID) {
			return fmt.Errorf("%s: id %q is not <region>_<alphanumerics>", where, p.ID)
		}
		for _, a := range p.AutoVerifiedAttributes {
			if a != attrEmail && a != attrPhone {
				return fmt.Errorf("%s: autoVerifiedAttributes may only hold email and phone_number", where)
			}
		}
		for j, c := range p.Clients {
			if !clientIDPattern.MatchString(c.ClientID) {
				return fmt.Errorf("%s.clients[%d]: clientId %q must match [\\w+]+", where, j, c.ClientID)
			}
			owner, seen := clientPool[c.ClientID]
			if existing := s.clients[c.ClientID]; !seen && existing != nil {
				owner, seen = existing.poolID, true
			}
			if seen && owner != p.ID {
				return fmt.Errorf("%s.clients[%d]: clientId %q belongs to another pool", where, j, c.ClientID)
			}
			clientPool[c.ClientID] = p.ID
		}
		names := map[string]bool{}
		for j, u := range p.Users {
			uw := fmt.Sprintf("%s.users[%d]", where, j)
			if u.Username == "" {
				return errors.New(uw + ": username is required")
			}
			if names[u.Username] {
				return errors.New(uw + ": username repeated")
			}
			names[u.Username] = true
			if err := validateAttributes(u.attributes()); err != nil {
				return fmt.Errorf("%s: %s", uw, err.(*apiError).Message)
			}
		}
	}
	return nil
}

// applySeedLocked applies a validated spec.
func (s *Server) applySeedLocked(spec SeedSpec) {
	now := s.now()
	for _, sp := range spec.Pools {
		p := s.pools[sp.ID]
		if p == nil {
			region, _, _ := strings.Cut(sp.ID, "_")
			p = newPool(sp.ID, sp.ID, region, now)
			p.autoVerified = []string{attrEmail}
			s.pools[sp.ID] = p
		}
		if sp.Name != "" {
			p.name = sp.Name
		}
		if sp.AutoVerifiedAttributes != nil {
			p.autoVerified = slices.Clone(sp.AutoVerifiedAttributes)
		}
		for _, sc := range sp.Clients {
			name := sc.Name
			if name == "" {
				name = sc.ClientID
			}
			s.clients[sc.ClientID] = &client{id: sc.ClientID, name: name, secret: sc.ClientSecret, poolID: p.id, created: now}
		}
		for _, su := range sp.Users {
			status := statusUnconfirmed
			if su.Confirmed {
				status = statusConfirmed
			}
			u := p.addUser(su.Username, status, su.attributes(), now)
			u.password = su.Password
			if su.Sub != "" {
				u.sub = su.Sub
			}
			if su.Confirmed && su.Email != "" {
				u.attrs["email_verified"] = "true"
			}
		}
	}
}

// attributes merges the user's named and other attributes.
func (u SeedUser) attributes() map[string]string {
	attrs := maps.Clone(u.Attributes)
	if attrs == nil {
		attrs = map[string]string{}
	}
	if u.Email != "" {
		attrs[attrEmail] = u.Email
	}
	if u.PhoneNumber != "" {
		attrs[attrPhone] = u.PhoneNumber
	}
	return attrs
}
