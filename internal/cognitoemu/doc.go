// Package cognitoemu is a local stand-in for Amazon Cognito user pools.
//
// A Server speaks the AWS JSON 1.1 wire protocol of the
// AWSCognitoIdentityProviderService API (POST / with an X-Amz-Target header),
// so the real aws-sdk-go-v2 cognitoidentityprovider client can talk to it when
// pointed at it with BaseEndpoint or AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER.
// Signatures are not verified: any credentials work.
//
// It implements CreateUserPool, CreateUserPoolClient, DescribeUserPoolClient,
// SignUp, ConfirmSignUp, AdminCreateUser, AdminConfirmSignUp, AdminGetUser,
// ListUsers and, with Cognito's rules, ResendConfirmationCode. Other
// operations answer 400 UnknownOperationException.
//
// ResendConfirmationCode is processed in this order:
//
//  1. the account-wide quota (token bucket) → TooManyRequestsException;
//  2. injected faults (see Fault), first matching fault wins;
//  3. input validation → InvalidParameterException;
//  4. unknown ClientId → ResourceNotFoundException;
//  5. secret client without a valid SecretHash → NotAuthorizedException;
//  6. unknown user → UserNotFoundException;
//  7. user not UNCONFIRMED → InvalidParameterException "User is already confirmed.";
//  8. more than ResendLimitPerHour resends in the last hour → LimitExceededException;
//  9. otherwise a new code is "delivered" (recorded, see Deliveries) and the
//     masked CodeDeliveryDetails are returned.
//
// Every ResendConfirmationCode call is recorded (see Calls), and the same
// test controls are served over HTTP under /_emu/ (see the README).
// A Server is safe for concurrent use.
package cognitoemu
