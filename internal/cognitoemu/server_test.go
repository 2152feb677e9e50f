package cognitoemu

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"
)

// post sends a raw AWS JSON 1.1 request.
func post(t *testing.T, url, target, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("body %q is not JSON: %v", raw, err)
	}
	return resp, out
}

func TestWireSuccess(t *testing.T) {
	e := newEmu(t, Options{})
	resp, body := post(t, e.url, targetPrefix+"ResendConfirmationCode", `{"ClientId":"publicclient","Username":"alice"}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
		resp.Header.Get("x-amzn-RequestId") == "" {
		t.Fatalf("response %d %v", resp.StatusCode, resp.Header)
	}
	want := map[string]any{"AttributeName": "email", "DeliveryMedium": "EMAIL", "Destination": aliceMasked}
	got, _ := body["CodeDeliveryDetails"].(map[string]any)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("CodeDeliveryDetails = %v, want %v", body, want)
		}
	}
}

func TestWireErrors(t *testing.T) {
	e := newEmu(t, Options{})
	for _, tc := range []struct {
		name, target, body, code string
		status                   int
	}{
		{"unknown op", targetPrefix + "DeleteEverything", `{}`, "UnknownOperationException", 400},
		{"no target", "", `{}`, "UnknownOperationException", 400},
		{"other service", "AmazonSQS.SendMessage", `{}`, "UnknownOperationException", 400},
		{"bad json", targetPrefix + "ResendConfirmationCode", `{"ClientId":`, "SerializationException", 400},
		{"missing username", targetPrefix + "ResendConfirmationCode", `{"ClientId":"publicclient"}`, "InvalidParameterException", 400},
		{"user not found", targetPrefix + "ResendConfirmationCode", `{"ClientId":"publicclient","Username":"zed"}`, "UserNotFoundException", 400},
	} {
		resp, body := post(t, e.url, tc.target, tc.body)
		if resp.StatusCode != tc.status || resp.Header.Get("x-amzn-ErrorType") != tc.code || body["__type"] != tc.code ||
			resp.Header.Get("x-amzn-RequestId") == "" {
			t.Errorf("%s: %d %q %v", tc.name, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body)
		}
		if tc.code == "UserNotFoundException" && body["message"] != "Username/client id combination not found." {
			t.Errorf("%s: message %v", tc.name, body["message"])
		}
	}

	resp, err := http.Get(e.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("x-amzn-ErrorType") != "UnknownOperationException" {
		t.Errorf("GET / = %d %v", resp.StatusCode, resp.Header)
	}
}

func TestSDKUnknownOperation(t *testing.T) {
	e := newEmu(t, Options{})
	_, err := e.cip.DeleteUserPool(ctx(t), &cip.DeleteUserPoolInput{UserPoolId: aws.String(testPool)})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnknownOperationException" || httpStatus(t, err) != 400 {
		t.Fatalf("err = %v", err)
	}
}

func TestOnRequestHasNoUsernames(t *testing.T) {
	var mu sync.Mutex
	var infos []RequestInfo
	e := newEmu(t, Options{OnRequest: func(i RequestInfo) {
		mu.Lock()
		defer mu.Unlock()
		infos = append(infos, i)
	}})
	_, _ = e.resend(t, publicClient, alice)
	_, _ = e.resend(t, publicClient, nobody)
	resp, err := http.Get(e.url + "/_emu/deliveries?username=" + alice)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	mu.Lock()
	defer mu.Unlock()
	want := []RequestInfo{
		{Op: "ResendConfirmationCode", Code: "OK", Status: 200},
		{Op: "ResendConfirmationCode", Code: "UserNotFoundException", Status: 400},
		{Op: "_emu GET /_emu/deliveries", Code: "OK", Status: 200},
	}
	if len(infos) != len(want) {
		t.Fatalf("infos = %+v", infos)
	}
	for i, w := range want {
		got := infos[i]
		if got.Op != w.Op || got.Code != w.Code || got.Status != w.Status || got.Duration <= 0 {
			t.Errorf("info %d = %+v, want %+v", i, got, w)
		}
		if strings.Contains(got.Op+got.Code, alice) || strings.Contains(got.Op+got.Code, nobody) {
			t.Errorf("info %d mentions a username: %+v", i, got)
		}
	}
}

// TestEnvEndpoint points a client made by config.LoadDefaultConfig at the
// emulator the way deployments do: with AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER.
func TestEnvEndpoint(t *testing.T) {
	e := newEmu(t, Options{})
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": e.url,
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "x",
		"AWS_SECRET_ACCESS_KEY":       "x",
		"AWS_CONFIG_FILE":             dir + "/config",
		"AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials",
		"AWS_PROFILE":                 "",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(ctx(t), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	c := cip.NewFromConfig(cfg)
	if _, err := c.ResendConfirmationCode(ctx(t), &cip.ResendConfirmationCodeInput{
		ClientId: aws.String(publicClient), Username: aws.String(alice),
	}); err != nil {
		t.Fatal(err)
	}
	if e.DeliveriesFor(alice) != 1 {
		t.Error("no delivery")
	}
}
