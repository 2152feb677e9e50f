package cognitoemu

import (
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// userType is the UserType of AdminCreateUser and ListUsers.
type userType struct {
	Username             string          `json:"Username"`
	Attributes           []attributeType `json:"Attributes"`
	UserCreateDate       epoch           `json:"UserCreateDate"`
	UserLastModifiedDate epoch           `json:"UserLastModifiedDate"`
	Enabled              bool            `json:"Enabled"`
	UserStatus           string          `json:"UserStatus"`
}

func (u *user) wire() userType {
	return userType{
		Username: u.username, Attributes: u.attributeList(),
		UserCreateDate: epoch(u.created), UserLastModifiedDate: epoch(u.modified),
		Enabled: u.enabled, UserStatus: u.status,
	}
}

// errUserNotFoundForClient is the message of the client-side operations,
// which must not reveal whether the username exists elsewhere.
func errUserNotFoundForClient() error {
	return newError("UserNotFoundException", "Username/client id combination not found.")
}

func errUserDoesNotExist() error {
	return newError("UserNotFoundException", "User does not exist.")
}

// SignUp

type signUpInput struct {
	ClientId          string             `json:"ClientId"`
	SecretHash        string             `json:"SecretHash"`
	Username          string             `json:"Username"`
	Password          string             `json:"Password"`
	UserAttributes    []attributeType    `json:"UserAttributes"`
	ValidationData    []attributeType    `json:"ValidationData"`
	ClientMetadata    map[string]string  `json:"ClientMetadata"`
	UserContextData   *userContextData   `json:"UserContextData"`
	AnalyticsMetadata *analyticsMetadata `json:"AnalyticsMetadata"`
}

type signUpOutput struct {
	UserConfirmed       bool                 `json:"UserConfirmed"`
	UserSub             string               `json:"UserSub"`
	CodeDeliveryDetails *codeDeliveryDetails `json:"CodeDeliveryDetails,omitempty"`
}

func (s *Server) signUp(_ *http.Request, in *signUpInput) (any, error) {
	if err := firstErr(required("clientId", in.ClientId), required("username", in.Username)); err != nil {
		return nil, err
	}
	attrs := attributeMap(in.UserAttributes)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, p, err := s.clientLocked(in.ClientId)
	if err != nil {
		return nil, err
	}
	if err := c.checkSecretHash(in.Username, in.SecretHash); err != nil {
		return nil, err
	}
	if in.Password != "" && len(in.Password) < p.minPasswordLength {
		return nil, newError("InvalidPasswordException", "Password did not conform with policy: Password not long enough")
	}
	if err := validateAttributes(attrs); err != nil {
		return nil, err
	}
	if p.user(in.Username) != nil {
		return nil, newError("UsernameExistsException", "User already exists")
	}
	u := p.addUser(in.Username, statusUnconfirmed, attrs, s.now())
	u.password = in.Password
	out := signUpOutput{UserSub: u.sub}
	if attr, ok := p.deliveryTarget(u); ok {
		d := s.deliverCodeLocked(p, u, attr, "SignUp")
		out.CodeDeliveryDetails = &d
	}
	return out, nil
}

// ConfirmSignUp

type confirmSignUpInput struct {
	ClientId         string `json:"ClientId"`
	SecretHash       string `json:"SecretHash"`
	Username         string `json:"Username"`
	ConfirmationCode string `json:"ConfirmationCode"`
}

func (s *Server) confirmSignUp(_ *http.Request, in *confirmSignUpInput) (any, error) {
	if err := firstErr(required("clientId", in.ClientId), required("username", in.Username),
		required("confirmationCode", in.ConfirmationCode)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, p, err := s.clientLocked(in.ClientId)
	if err != nil {
		return nil, err
	}
	if err := c.checkSecretHash(in.Username, in.SecretHash); err != nil {
		return nil, err
	}
	u := p.user(in.Username)
	if u == nil {
		return nil, errUserNotFoundForClient()
	}
	if u.status != statusUnconfirmed {
		return nil, newError("NotAuthorizedException", "User cannot be confirmed. Current status is %s", u.status)
	}
	if u.code == "" || in.ConfirmationCode != u.code {
		return nil, newError("CodeMismatchException", "Invalid verification code provided, please try again.")
	}
	now := s.now()
	if now.Sub(u.codeSent) > codeLifetime {
		return nil, newError("ExpiredCodeException", "Invalid code provided, please request a code again.")
	}
	u.status, u.modified, u.code = statusConfirmed, now, ""
	u.attrs[u.codeAttr+"_verified"] = "true"
	return struct{}{}, nil
}

// AdminCreateUser

type adminCreateUserInput struct {
	UserPoolId        string            `json:"UserPoolId"`
	Username          string            `json:"Username"`
	UserAttributes    []attributeType   `json:"UserAttributes"`
	TemporaryPassword string            `json:"TemporaryPassword"`
	MessageAction     string            `json:"MessageAction"`
	ClientMetadata    map[string]string `json:"ClientMetadata"`
}

func (s *Server) adminCreateUser(_ *http.Request, in *adminCreateUserInput) (any, error) {
	if err := firstErr(required("userPoolId", in.UserPoolId), required("username", in.Username)); err != nil {
		return nil, err
	}
	if in.MessageAction != "" && in.MessageAction != "SUPPRESS" && in.MessageAction != "RESEND" {
		return nil, newError("InvalidParameterException",
			"1 validation error detected: Value at 'messageAction' failed to satisfy constraint: Member must satisfy enum value set: [RESEND, SUPPRESS]")
	}
	attrs := attributeMap(in.UserAttributes)
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.poolLocked(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	if u := p.user(in.Username); u != nil {
		if in.MessageAction == "RESEND" {
			return map[string]any{"User": u.wire()}, nil
		}
		return nil, newError("UsernameExistsException", "User account already exists")
	}
	if in.MessageAction == "RESEND" {
		return nil, errUserDoesNotExist()
	}
	if err := validateAttributes(attrs); err != nil {
		return nil, err
	}
	u := p.addUser(in.Username, statusForceChangePassword, attrs, s.now())
	u.password = in.TemporaryPassword
	return map[string]any{"User": u.wire()}, nil
}

// AdminConfirmSignUp and AdminGetUser

type adminUserInput struct {
	UserPoolId string `json:"UserPoolId"`
	Username   string `json:"Username"`
}

// adminUserLocked finds the user of an admin operation.
func (s *Server) adminUserLocked(in *adminUserInput) (*user, error) {
	if err := firstErr(required("userPoolId", in.UserPoolId), required("username", in.Username)); err != nil {
		return nil, err
	}
	p, err := s.poolLocked(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	u := p.user(in.Username)
	if u == nil {
		return nil, errUserDoesNotExist()
	}
	return u, nil
}

func (s *Server) adminConfirmSignUp(_ *http.Request, in *adminUserInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.adminUserLocked(in)
	if err != nil {
		return nil, err
	}
	if u.status != statusUnconfirmed {
		return nil, newError("NotAuthorizedException", "User cannot be confirmed. Current status is %s", u.status)
	}
	u.status, u.modified, u.code = statusConfirmed, s.now(), ""
	return struct{}{}, nil
}

type adminGetUserOutput struct {
	Username             string          `json:"Username"`
	UserAttributes       []attributeType `json:"UserAttributes"`
	UserCreateDate       epoch           `json:"UserCreateDate"`
	UserLastModifiedDate epoch           `json:"UserLastModifiedDate"`
	Enabled              bool            `json:"Enabled"`
	UserStatus           string          `json:"UserStatus"`
}

func (s *Server) adminGetUser(_ *http.Request, in *adminUserInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.adminUserLocked(in)
	if err != nil {
		return nil, err
	}
	w := u.wire()
	return adminGetUserOutput{
		Username: w.Username, UserAttributes: w.Attributes,
		UserCreateDate: w.UserCreateDate, UserLastModifiedDate: w.UserLastModifiedDate,
		Enabled: w.Enabled, UserStatus: w.UserStatus,
	}, nil
}

// ListUsers

type listUsersInput struct {
	UserPoolId      string   `json:"UserPoolId"`
	AttributesToGet []string `json:"AttributesToGet"`
	Limit           int      `json:"Limit"`
	PaginationToken string   `json:"PaginationToken"`
	Filter          string   `json:"Filter"`
}

type listUsersOutput struct {
	Users           []userType `json:"Users"`
	PaginationToken string     `json:"PaginationToken,omitempty"`
}

// filterPattern matches ListUsers filters: name = "value" or name ^= "prefix".
var filterPattern = regexp.MustCompile(`^\s*([\w:]+)\s*(\^?=)\s*"(.*)"\s*$`)

func (s *Server) listUsers(_ *http.Request, in *listUsersInput) (any, error) {
	if err := required("userPoolId", in.UserPoolId); err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit == 0 {
		limit = 60
	}
	if limit < 0 || limit > 60 {
		return nil, newError("InvalidParameterException",
			"1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value less than or equal to 60")
	}
	match := func(*user) bool { return true }
	if in.Filter != "" {
		m := filterPattern.FindStringSubmatch(in.Filter)
		if m == nil {
			return nil, newError("InvalidParameterException", "Error while parsing filter.")
		}
		name, prefix, value := m[1], m[2] == "^=", m[3]
		match = func(u *user) bool {
			got := u.filterValue(name)
			if prefix {
				return strings.HasPrefix(got, value)
			}
			return got == value
		}
	}
	start := 0
	if in.PaginationToken != "" {
		n, err := strconv.Atoi(in.PaginationToken)
		if err != nil || n < 0 {
			return nil, newError("InvalidParameterException", "Invalid pagination token.")
		}
		start = n
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.poolLocked(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	var matched []*user
	for _, u := range p.users {
		if match(u) {
			matched = append(matched, u)
		}
	}
	slices.SortFunc(matched, func(a, b *user) int { return strings.Compare(a.username, b.username) })
	out := listUsersOutput{Users: []userType{}}
	for i := start; i < len(matched) && len(out.Users) < limit; i++ {
		w := matched[i].wire()
		if len(in.AttributesToGet) > 0 {
			w.Attributes = slices.DeleteFunc(w.Attributes, func(a attributeType) bool {
				return !slices.Contains(in.AttributesToGet, a.Name)
			})
		}
		out.Users = append(out.Users, w)
		if len(out.Users) == limit && i+1 < len(matched) {
			out.PaginationToken = strconv.Itoa(i + 1)
		}
	}
	return out, nil
}

// filterValue is the value a ListUsers filter compares for name.
func (u *user) filterValue(name string) string {
	switch name {
	case "username":
		return u.username
	case "sub":
		return u.sub
	case "cognito:user_status":
		return u.status
	case "status":
		if u.enabled {
			return "Enabled"
		}
		return "Disabled"
	}
	return u.attrs[name]
}
