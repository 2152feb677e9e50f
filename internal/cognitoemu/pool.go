package cognitoemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// accountID is the AWS account in emulated ARNs.
const accountID = "123456789012"

// codeLifetime is how long a confirmation code stays valid, as in Cognito.
const codeLifetime = 24 * time.Hour

// defaultMinPasswordLength is Cognito's default password policy length.
const defaultMinPasswordLength = 8

// User statuses, as in AdminGetUser's UserStatus.
const (
	statusUnconfirmed         = "UNCONFIRMED"
	statusConfirmed           = "CONFIRMED"
	statusForceChangePassword = "FORCE_CHANGE_PASSWORD"
)

// Attribute names that receive confirmation codes.
const (
	attrEmail = "email"
	attrPhone = "phone_number"
)

var (
	poolIDPattern   = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)
	clientIDPattern = regexp.MustCompile(`^[\w+]+$`)
	phonePattern    = regexp.MustCompile(`^\+[0-9]{4,15}$`)
)

type pool struct {
	id, name, arn     string
	created           time.Time
	autoVerified      []string // "email" and/or "phone_number"
	caseSensitive     bool     // usernames; Cognito's API default is true
	minPasswordLength int
	users             map[string]*user // by key(username)
}

type client struct {
	id, name, secret, poolID string
	created                  time.Time
}

type user struct {
	username          string
	sub               string
	attrs             map[string]string
	status            string
	enabled           bool
	password          string
	created, modified time.Time

	code     string    // the pending confirmation code, "" if none
	codeAttr string    // the attribute the code was sent to
	codeSent time.Time // when the code was sent
	resends  []time.Time
}

func newPool(id, name, region string, now time.Time) *pool {
	return &pool{
		id:                id,
		name:              name,
		arn:               fmt.Sprintf("arn:aws:cognito-idp:%s:%s:userpool/%s", region, accountID, id),
		created:           now,
		caseSensitive:     true,
		minPasswordLength: defaultMinPasswordLength,
		users:             map[string]*user{},
	}
}

// key is the map key of a username, folded when the pool is case-insensitive.
func (p *pool) key(username string) string {
	if p.caseSensitive {
		return username
	}
	return strings.ToLower(username)
}

func (p *pool) user(username string) *user { return p.users[p.key(username)] }

// addUser creates a user with the given status and attributes.
func (p *pool) addUser(username, status string, attrs map[string]string, now time.Time) *user {
	u := &user{
		username: username,
		sub:      newUUID(),
		attrs:    map[string]string{},
		status:   status,
		enabled:  true,
		created:  now,
		modified: now,
	}
	for name, value := range attrs {
		if name != "sub" {
			u.attrs[name] = value
		}
	}
	p.users[p.key(username)] = u
	return u
}

// deliveryTarget picks the attribute Cognito sends u's confirmation code to:
// the phone number if phone_number is auto-verified and u has one (Cognito
// prefers SMS when both are), else the email if email is auto-verified and
// u has one.
func (p *pool) deliveryTarget(u *user) (attr string, ok bool) {
	for _, a := range []string{attrPhone, attrEmail} {
		if slices.Contains(p.autoVerified, a) && u.attrs[a] != "" {
			return a, true
		}
	}
	return "", false
}

// poolLocked looks up a pool by id.
func (s *Server) poolLocked(id string) (*pool, error) {
	if p := s.pools[id]; p != nil {
		return p, nil
	}
	return nil, newError("ResourceNotFoundException", "User pool %s does not exist.", id)
}

// clientLocked looks up an app client and its pool by client id.
func (s *Server) clientLocked(id string) (*client, *pool, error) {
	c := s.clients[id]
	if c == nil {
		return nil, nil, newError("ResourceNotFoundException", "User pool client %s does not exist.", id)
	}
	return c, s.pools[c.poolID], nil
}

// SecretHash returns Base64(HMAC-SHA256(key=clientSecret, msg=username+clientID)),
// the SecretHash that clients with a secret must send.
func SecretHash(clientID, clientSecret, username string) string {
	mac := hmac.New(sha256.New, []byte(clientSecret))
	mac.Write([]byte(username + clientID))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// secretHashValid reports whether hash is right for c and username.
func (c *client) secretHashValid(username, hash string) bool {
	return c.secret != "" && hash != "" &&
		hmac.Equal([]byte(hash), []byte(SecretHash(c.id, c.secret, username)))
}

// checkSecretHash applies Cognito's rule for clients with a secret. A
// SecretHash sent for a client without a secret is ignored.
func (c *client) checkSecretHash(username, hash string) error {
	switch {
	case c.secret == "":
		return nil
	case hash == "":
		return newError("NotAuthorizedException", "Client %s is configured with secret but SECRET_HASH was not received", c.id)
	case !c.secretHashValid(username, hash):
		return newError("NotAuthorizedException", "Unable to verify secret hash for client %s", c.id)
	}
	return nil
}

// required reports a missing request member the way AWS validation does.
func required(member, value string) error {
	if value == "" {
		return newError("InvalidParameterException",
			"1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
	}
	return nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// maskDestination hides a code's destination as Cognito does:
// "alice@example.com" → "a***@e***", "+15555550123" → "+*******0123".
func maskDestination(attr, value string) string {
	if attr == attrEmail {
		local, domain, _ := strings.Cut(value, "@")
		return firstChar(local) + "***@" + firstChar(domain) + "***"
	}
	digits := strings.TrimPrefix(value, "+")
	if len(digits) <= 4 {
		return "+" + digits
	}
	return "+" + strings.Repeat("*", len(digits)-4) + digits[len(digits)-4:]
}

func firstChar(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

// mediumFor is the DeliveryMedium of an attribute.
func mediumFor(attr string) string {
	if attr == attrPhone {
		return "SMS"
	}
	return "EMAIL"
}

// validateAttributes checks the formats Cognito checks for built-in attributes.
func validateAttributes(attrs map[string]string) error {
	if email, ok := attrs[attrEmail]; ok {
		local, domain, found := strings.Cut(email, "@")
		if !found || local == "" || domain == "" || strings.ContainsAny(email, " \t\n") {
			return newError("InvalidParameterException", "Invalid email address format.")
		}
	}
	if phone, ok := attrs[attrPhone]; ok && !phonePattern.MatchString(phone) {
		return newError("InvalidParameterException", "Invalid phone number format.")
	}
	return nil
}

const (
	alnum      = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
)

func randString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	hi, lo := rand.Uint64(), rand.Uint64()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x",
		hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

// newCode returns a six-digit confirmation code.
func newCode() string { return fmt.Sprintf("%06d", rand.IntN(1_000_000)) }

// Wire shapes shared by several operations.

type attributeType struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type codeDeliveryDetails struct {
	AttributeName  string `json:"AttributeName"`
	DeliveryMedium string `json:"DeliveryMedium"`
	Destination    string `json:"Destination"`
}

type userContextData struct {
	IpAddress   string `json:"IpAddress"`
	EncodedData string `json:"EncodedData"`
}

type analyticsMetadata struct {
	AnalyticsEndpointId string `json:"AnalyticsEndpointId"`
}

// attributeMap turns a request's attribute list into a map.
func attributeMap(list []attributeType) map[string]string {
	m := make(map[string]string, len(list))
	for _, a := range list {
		m[a.Name] = a.Value
	}
	return m
}

// attributeList lists u's attributes, sub first, then by name.
func (u *user) attributeList() []attributeType {
	list := []attributeType{{Name: "sub", Value: u.sub}}
	names := make([]string, 0, len(u.attrs))
	for name := range u.attrs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		list = append(list, attributeType{Name: name, Value: u.attrs[name]})
	}
	return list
}

// CreateUserPool

type createUserPoolInput struct {
	PoolName               string   `json:"PoolName"`
	AutoVerifiedAttributes []string `json:"AutoVerifiedAttributes"`
	UsernameConfiguration  *struct {
		CaseSensitive *bool `json:"CaseSensitive"`
	} `json:"UsernameConfiguration"`
	Policies *struct {
		PasswordPolicy *struct {
			MinimumLength int `json:"MinimumLength"`
		} `json:"PasswordPolicy"`
	} `json:"Policies"`
}

type userPoolType struct {
	Id                     string   `json:"Id"`
	Name                   string   `json:"Name"`
	Arn                    string   `json:"Arn"`
	CreationDate           epoch    `json:"CreationDate"`
	LastModifiedDate       epoch    `json:"LastModifiedDate"`
	AutoVerifiedAttributes []string `json:"AutoVerifiedAttributes,omitempty"`
	UsernameConfiguration  struct {
		CaseSensitive bool `json:"CaseSensitive"`
	} `json:"UsernameConfiguration"`
	EstimatedNumberOfUsers int `json:"EstimatedNumberOfUsers"`
}

func (s *Server) createUserPool(r *http.Request, in *createUserPoolInput) (any, error) {
	if err := required("poolName", in.PoolName); err != nil {
		return nil, err
	}
	for _, a := range in.AutoVerifiedAttributes {
		if a != attrEmail && a != attrPhone {
			return nil, newError("InvalidParameterException", "AutoVerifiedAttributes may only contain email and phone_number.")
		}
	}
	region := s.regionOf(r)

	s.mu.Lock()
	defer s.mu.Unlock()
	id := region + "_" + randString(9, alnum)
	for s.pools[id] != nil {
		id = region + "_" + randString(9, alnum)
	}
	p := newPool(id, in.PoolName, region, s.now())
	p.autoVerified = slices.Clone(in.AutoVerifiedAttributes)
	if c := in.UsernameConfiguration; c != nil && c.CaseSensitive != nil {
		p.caseSensitive = *c.CaseSensitive
	}
	if pol := in.Policies; pol != nil && pol.PasswordPolicy != nil && pol.PasswordPolicy.MinimumLength > 0 {
		p.minPasswordLength = pol.PasswordPolicy.MinimumLength
	}
	s.pools[id] = p

	out := userPoolType{
		Id: p.id, Name: p.name, Arn: p.arn,
		CreationDate: epoch(p.created), LastModifiedDate: epoch(p.created),
		AutoVerifiedAttributes: p.autoVerified,
	}
	out.UsernameConfiguration.CaseSensitive = p.caseSensitive
	return map[string]any{"UserPool": out}, nil
}

// CreateUserPoolClient and DescribeUserPoolClient

type createUserPoolClientInput struct {
	UserPoolId     string `json:"UserPoolId"`
	ClientName     string `json:"ClientName"`
	GenerateSecret bool   `json:"GenerateSecret"`
}

type userPoolClientType struct {
	UserPoolId       string `json:"UserPoolId"`
	ClientName       string `json:"ClientName"`
	ClientId         string `json:"ClientId"`
	ClientSecret     string `json:"ClientSecret,omitempty"`
	CreationDate     epoch  `json:"CreationDate"`
	LastModifiedDate epoch  `json:"LastModifiedDate"`
}

func (c *client) wire() map[string]any {
	return map[string]any{"UserPoolClient": userPoolClientType{
		UserPoolId: c.poolID, ClientName: c.name, ClientId: c.id, ClientSecret: c.secret,
		CreationDate: epoch(c.created), LastModifiedDate: epoch(c.created),
	}}
}

func (s *Server) createUserPoolClient(_ *http.Request, in *createUserPoolClientInput) (any, error) {
	if err := firstErr(required("userPoolId", in.UserPoolId), required("clientName", in.ClientName)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.poolLocked(in.UserPoolId); err != nil {
		return nil, err
	}
	c := &client{id: randString(26, lowerAlnum), name: in.ClientName, poolID: in.UserPoolId, created: s.now()}
	if in.GenerateSecret {
		c.secret = randString(51, lowerAlnum)
	}
	s.clients[c.id] = c
	return c.wire(), nil
}

type describeUserPoolClientInput struct {
	UserPoolId string `json:"UserPoolId"`
	ClientId   string `json:"ClientId"`
}

func (s *Server) describeUserPoolClient(_ *http.Request, in *describeUserPoolClientInput) (any, error) {
	if err := firstErr(required("userPoolId", in.UserPoolId), required("clientId", in.ClientId)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.poolLocked(in.UserPoolId); err != nil {
		return nil, err
	}
	c := s.clients[in.ClientId]
	if c == nil || c.poolID != in.UserPoolId {
		return nil, newError("ResourceNotFoundException", "User pool client %s does not exist.", in.ClientId)
	}
	return c.wire(), nil
}
