// Package resend makes one Cognito ResendConfirmationCode call for a job and
// classifies the answer into the closed set the worker acts on.
package resend

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/resend-worker/resend-worker/job"
)

// CognitoAPI is the one Cognito operation the worker uses.
type CognitoAPI interface {
	ResendConfirmationCode(ctx context.Context, in *cip.ResendConfirmationCodeInput, optFns ...func(*cip.Options)) (*cip.ResendConfirmationCodeOutput, error)
}

// Outcome is what a call that needs no retry achieved.
type Outcome int

const (
	// Resent: Cognito accepted the call and sent a code.
	Resent Outcome = iota + 1
	// AlreadyConfirmed: the user is confirmed; there is nothing to resend.
	AlreadyConfirmed
)

// Client calls ResendConfirmationCode for one app client.
type Client struct {
	API          CognitoAPI
	ClientID     string
	ClientSecret string // empty: the app client has no secret and no SecretHash is sent
}

// Send makes exactly one call. A nil error comes with Resent or
// AlreadyConfirmed; any other answer is an *Error of a Class.
func (c *Client) Send(ctx context.Context, j job.Job) (Outcome, error) {
	_, err := c.API.ResendConfirmationCode(ctx, c.input(j))
	if err == nil {
		return Resent, nil
	}
	e := Classify(err)
	if e.Class == AlreadyConfirmedClass {
		return AlreadyConfirmed, nil
	}
	return 0, e
}

func (c *Client) input(j job.Job) *cip.ResendConfirmationCodeInput {
	in := &cip.ResendConfirmationCodeInput{
		ClientId:       aws.String(c.ClientID),
		Username:       aws.String(j.Username),
		ClientMetadata: j.ClientMetadata,
	}
	if c.ClientSecret != "" {
		in.SecretHash = aws.String(SecretHash(c.ClientSecret, j.Username, c.ClientID))
	}
	if u := j.UserContextData; u != nil && (u.IPAddress != "" || u.EncodedData != "") {
		in.UserContextData = &types.UserContextDataType{}
		if u.IPAddress != "" {
			in.UserContextData.IpAddress = aws.String(u.IPAddress)
		}
		if u.EncodedData != "" {
			in.UserContextData.EncodedData = aws.String(u.EncodedData)
		}
	}
	if j.AnalyticsEndpointID != "" {
		in.AnalyticsMetadata = &types.AnalyticsMetadataType{AnalyticsEndpointId: aws.String(j.AnalyticsEndpointID)}
	}
	return in
}

// SecretHash is Base64(HMAC-SHA256(key=clientSecret, msg=username+clientID)).
func SecretHash(clientSecret, username, clientID string) string {
	m := hmac.New(sha256.New, []byte(clientSecret))
	m.Write([]byte(username + clientID))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
