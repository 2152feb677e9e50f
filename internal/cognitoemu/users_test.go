package cognitoemu

import (
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// newPoolAndClient creates a pool that auto-verifies email and a client.
func newPoolAndClient(t *testing.T, e *emu, secret bool) (poolID, clientID, clientSecret string) {
	t.Helper()
	p, err := e.cip.CreateUserPool(ctx(t), &cip.CreateUserPoolInput{
		PoolName:               aws.String("app"),
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.cip.CreateUserPoolClient(ctx(t), &cip.CreateUserPoolClientInput{
		UserPoolId: p.UserPool.Id, ClientName: aws.String("web"), GenerateSecret: secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(p.UserPool.Id), aws.ToString(c.UserPoolClient.ClientId), aws.ToString(c.UserPoolClient.ClientSecret)
}

func TestCreateUserPoolAndClient(t *testing.T) {
	e := newEmu(t, Options{})
	p, err := e.cip.CreateUserPool(ctx(t), &cip.CreateUserPoolInput{PoolName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	up := p.UserPool
	id := aws.ToString(up.Id)
	if !regexp.MustCompile(`^us-east-1_[A-Za-z0-9]{9}$`).MatchString(id) || aws.ToString(up.Name) != "app" ||
		aws.ToString(up.Arn) != "arn:aws:cognito-idp:us-east-1:123456789012:userpool/"+id || up.CreationDate == nil {
		t.Errorf("UserPool = %+v", up)
	}

	// The region comes from the request's signature.
	eu := sdkClient(e.url, "eu-west-1")
	p2, err := eu.CreateUserPool(ctx(t), &cip.CreateUserPoolInput{PoolName: aws.String("eu")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(p2.UserPool.Id), "eu-west-1_") {
		t.Errorf("pool id %s, want an eu-west-1 one", aws.ToString(p2.UserPool.Id))
	}

	withSecret, err := e.cip.CreateUserPoolClient(ctx(t), &cip.CreateUserPoolClientInput{
		UserPoolId: up.Id, ClientName: aws.String("server"), GenerateSecret: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := withSecret.UserPoolClient
	if !regexp.MustCompile(`^[a-z0-9]{26}$`).MatchString(aws.ToString(c.ClientId)) ||
		len(aws.ToString(c.ClientSecret)) != 51 || aws.ToString(c.UserPoolId) != id {
		t.Errorf("client = %+v", c)
	}
	noSecret, err := e.cip.CreateUserPoolClient(ctx(t), &cip.CreateUserPoolClientInput{
		UserPoolId: up.Id, ClientName: aws.String("spa"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if noSecret.UserPoolClient.ClientSecret != nil {
		t.Error("a client without GenerateSecret got a secret")
	}
	desc, err := e.cip.DescribeUserPoolClient(ctx(t), &cip.DescribeUserPoolClientInput{
		UserPoolId: up.Id, ClientId: c.ClientId,
	})
	if err != nil || aws.ToString(desc.UserPoolClient.ClientSecret) != aws.ToString(c.ClientSecret) {
		t.Errorf("DescribeUserPoolClient = %+v, %v", desc, err)
	}

	_, err = e.cip.CreateUserPoolClient(ctx(t), &cip.CreateUserPoolClientInput{
		UserPoolId: aws.String("us-east-1_missing"), ClientName: aws.String("x"),
	})
	wantErr[*types.ResourceNotFoundException](t, err, "User pool us-east-1_missing does not exist.", "")
}

func TestSignUpConfirmFlow(t *testing.T) {
	e := newEmu(t, Options{})
	poolID, clientID, secret := newPoolAndClient(t, e, true)
	const user = "erin"
	hash := aws.String(SecretHash(clientID, secret, user))
	attrs := []types.AttributeType{{Name: aws.String("email"), Value: aws.String("erin@example.net")}}

	_, err := e.cip.SignUp(ctx(t), &cip.SignUpInput{
		ClientId: aws.String(clientID), Username: aws.String(user), Password: aws.String("Passw0rd!"), UserAttributes: attrs,
	})
	wantErr[*types.NotAuthorizedException](t, err, "Client "+clientID+" is configured with secret but SECRET_HASH was not received", user)
	_, err = e.cip.SignUp(ctx(t), &cip.SignUpInput{
		ClientId: aws.String(clientID), SecretHash: hash, Username: aws.String(user), Password: aws.String("short"), UserAttributes: attrs,
	})
	wantErr[*types.InvalidPasswordException](t, err, "", user)

	out, err := e.cip.SignUp(ctx(t), &cip.SignUpInput{
		ClientId: aws.String(clientID), SecretHash: hash, Username: aws.String(user), Password: aws.String("Passw0rd!"), UserAttributes: attrs,
		ClientMetadata: map[string]string{"k": "v"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.UserConfirmed || aws.ToString(out.UserSub) == "" || out.CodeDeliveryDetails == nil ||
		aws.ToString(out.CodeDeliveryDetails.Destination) != "e***@e***" {
		t.Fatalf("SignUp = %+v", out)
	}
	if ds := e.Deliveries(); len(ds) != 1 || ds[0].Trigger != "SignUp" || ds[0].Username != user {
		t.Fatalf("deliveries = %+v", ds)
	}

	_, err = e.cip.SignUp(ctx(t), &cip.SignUpInput{
		ClientId: aws.String(clientID), SecretHash: hash, Username: aws.String(user), Password: aws.String("Passw0rd!"),
	})
	wantErr[*types.UsernameExistsException](t, err, "", user)

	got, err := e.cip.AdminGetUser(ctx(t), &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String(user)})
	if err != nil {
		t.Fatal(err)
	}
	if got.UserStatus != types.UserStatusTypeUnconfirmed || !got.Enabled || aws.ToString(got.Username) != user ||
		attr(got.UserAttributes, "sub") != aws.ToString(out.UserSub) || attr(got.UserAttributes, "email") != "erin@example.net" {
		t.Fatalf("AdminGetUser = %+v", got)
	}

	// A resend gives a new code; only the latest confirms.
	if _, err := e.cip.ResendConfirmationCode(ctx(t), &cip.ResendConfirmationCodeInput{
		ClientId: aws.String(clientID), SecretHash: hash, Username: aws.String(user),
	}); err != nil {
		t.Fatal(err)
	}
	ds := e.Deliveries()
	oldCode, code := ds[0].Code, ds[1].Code
	if oldCode == code {
		oldCode = "not-a-code"
	}
	_, err = e.cip.ConfirmSignUp(ctx(t), &cip.ConfirmSignUpInput{
		ClientId: aws.String(clientID), SecretHash: hash, Username: aws.String(user), ConfirmationCode: aws.String(oldCode),
	})
	wantErr[*types.CodeMismatchException](t, err, "", user)
	if _, err := e.cip.ConfirmSignUp(ctx(t), &cip.ConfirmSignUpInput{
		ClientId: aws.String(clientID), SecretHash: hash, Username: aws.String(user), ConfirmationCode: aws.String(code),
	}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.cip.AdminGetUser(ctx(t), &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String(user)})
	if got.UserStatus != types.UserStatusTypeConfirmed || attr(got.UserAttributes, "email_verified") != "true" {
		t.Errorf("after ConfirmSignUp: %s %+v", got.UserStatus, got.UserAttributes)
	}
	_, err = e.cip.ResendConfirmationCode(ctx(t), &cip.ResendConfirmationCodeInput{
		ClientId: aws.String(clientID), SecretHash: hash, Username: aws.String(user),
	})
	wantErr[*types.InvalidParameterException](t, err, AlreadyConfirmedMessage, user)
}

func attr(list []types.AttributeType, name string) string {
	for _, a := range list {
		if aws.ToString(a.Name) == name {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

func TestAdminCreateAndConfirm(t *testing.T) {
	e := newEmu(t, Options{})
	poolID, clientID, _ := newPoolAndClient(t, e, false)
	pool := aws.String(poolID)

	created, err := e.cip.AdminCreateUser(ctx(t), &cip.AdminCreateUserInput{
		UserPoolId: pool, Username: aws.String("frank"), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("frank@example.com")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.User.UserStatus != types.UserStatusTypeForceChangePassword || aws.ToString(created.User.Username) != "frank" {
		t.Errorf("AdminCreateUser = %+v", created.User)
	}
	_, err = e.cip.AdminCreateUser(ctx(t), &cip.AdminCreateUserInput{UserPoolId: pool, Username: aws.String("frank")})
	wantErr[*types.UsernameExistsException](t, err, "", "frank")

	_, err = e.cip.ResendConfirmationCode(ctx(t), &cip.ResendConfirmationCodeInput{ClientId: aws.String(clientID), Username: aws.String("frank")})
	wantErr[*types.InvalidParameterException](t, err, AlreadyConfirmedMessage, "frank")
	_, err = e.cip.AdminConfirmSignUp(ctx(t), &cip.AdminConfirmSignUpInput{UserPoolId: pool, Username: aws.String("frank")})
	wantErr[*types.NotAuthorizedException](t, err, "User cannot be confirmed. Current status is FORCE_CHANGE_PASSWORD", "frank")

	// AdminConfirmSignUp on the seeded unconfirmed alice.
	if _, err := e.cip.AdminConfirmSignUp(ctx(t), &cip.AdminConfirmSignUpInput{UserPoolId: aws.String(testPool), Username: aws.String(alice)}); err != nil {
		t.Fatal(err)
	}
	got, err := e.cip.AdminGetUser(ctx(t), &cip.AdminGetUserInput{UserPoolId: aws.String(testPool), Username: aws.String(alice)})
	if err != nil || got.UserStatus != types.UserStatusTypeConfirmed {
		t.Fatalf("after AdminConfirmSignUp: %+v %v", got, err)
	}
	_, err = e.cip.AdminConfirmSignUp(ctx(t), &cip.AdminConfirmSignUpInput{UserPoolId: aws.String(testPool), Username: aws.String(alice)})
	wantErr[*types.NotAuthorizedException](t, err, "User cannot be confirmed. Current status is CONFIRMED", alice)
	_, err = e.resend(t, secretClient, alice)
	wantErr[*types.InvalidParameterException](t, err, AlreadyConfirmedMessage, alice)

	_, err = e.cip.AdminGetUser(ctx(t), &cip.AdminGetUserInput{UserPoolId: aws.String(testPool), Username: aws.String(nobody)})
	wantErr[*types.UserNotFoundException](t, err, "User does not exist.", nobody)
	_, err = e.cip.AdminGetUser(ctx(t), &cip.AdminGetUserInput{UserPoolId: aws.String("us-east-1_nope"), Username: aws.String(alice)})
	wantErr[*types.ResourceNotFoundException](t, err, "", alice)
}

func TestListUsers(t *testing.T) {
	e := newEmu(t, Options{})
	out, err := e.cip.ListUsers(ctx(t), &cip.ListUsersInput{UserPoolId: aws.String(testPool)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range out.Users {
		names = append(names, aws.ToString(u.Username))
	}
	if strings.Join(names, ",") != "alice,bob,dave" {
		t.Errorf("users = %v", names)
	}

	out, err = e.cip.ListUsers(ctx(t), &cip.ListUsersInput{
		UserPoolId: aws.String(testPool), Filter: aws.String(`email = "alice@example.com"`),
	})
	if err != nil || len(out.Users) != 1 || aws.ToString(out.Users[0].Username) != alice {
		t.Fatalf("filtered = %+v, %v", out, err)
	}
	out, _ = e.cip.ListUsers(ctx(t), &cip.ListUsersInput{
		UserPoolId: aws.String(testPool), Filter: aws.String(`cognito:user_status = "UNCONFIRMED"`),
	})
	if len(out.Users) != 2 {
		t.Errorf("unconfirmed = %d users", len(out.Users))
	}

	page1, _ := e.cip.ListUsers(ctx(t), &cip.ListUsersInput{UserPoolId: aws.String(testPool), Limit: aws.Int32(2)})
	page2, _ := e.cip.ListUsers(ctx(t), &cip.ListUsersInput{
		UserPoolId: aws.String(testPool), Limit: aws.Int32(2), PaginationToken: page1.PaginationToken,
	})
	if len(page1.Users) != 2 || page1.PaginationToken == nil || len(page2.Users) != 1 || page2.PaginationToken != nil {
		t.Errorf("pages: %d (%v), %d (%v)", len(page1.Users), page1.PaginationToken, len(page2.Users), page2.PaginationToken)
	}
}

func TestMaskDestination(t *testing.T) {
	for _, tc := range []struct{ attr, in, want string }{
		{"email", "alice@example.com", "a***@e***"},
		{"email", "Z@x.io", "Z***@x***"},
		{"phone_number", "+15555550123", "+*******0123"},
		{"phone_number", "+447700900123", "+********0123"},
	} {
		if got := maskDestination(tc.attr, tc.in); got != tc.want {
			t.Errorf("maskDestination(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSecretHash(t *testing.T) {
	// Base64(HMAC-SHA256(key="s3cr3t", msg="alice"+"secretclient")), computed with openssl.
	const want = "W3UOAeOxTBGc0Fxc/0f5O485yRzgKiRdVrS36C27VkA="
	if got := SecretHash(secretClient, clientSecret, alice); got != want {
		t.Errorf("SecretHash = %s, want %s", got, want)
	}
}
