package cognitoemu

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// control calls the control API and decodes a JSON answer into out (if not nil).
func control(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %q: %v", method, url, raw, err)
		}
	}
	return resp.StatusCode
}

func TestControlAPI(t *testing.T) {
	s := New(Options{})
	e := newEmuFor(t, s)
	u := e.url + "/_emu/"

	// health
	resp, err := http.Get(u + "health")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(raw) != "ok" {
		t.Fatalf("health = %d %q", resp.StatusCode, raw)
	}

	// seed
	const seed = `{"pools":[{"id":"us-east-1_demo","name":"demo",
		"clients":[{"clientId":"democlient","clientSecret":"demosecret"}],
		"users":[{"username":"alice","email":"alice@example.com","confirmed":false}]}]}`
	if code := control(t, "POST", u+"seed", seed, nil); code != 200 {
		t.Fatalf("seed = %d", code)
	}
	resend := func() error {
		_, err := e.cip.ResendConfirmationCode(ctx(t), &cip.ResendConfirmationCodeInput{
			ClientId: aws.String("democlient"), Username: aws.String(alice),
			SecretHash: aws.String(SecretHash("democlient", "demosecret", alice)),
		})
		return err
	}
	if err := resend(); err != nil {
		t.Fatal(err)
	}

	// faults
	var faults []Fault
	if code := control(t, "POST", u+"faults", `{"username":"alice","count":1,"code":"InternalErrorException"}`, &faults); code != 200 || len(faults) != 1 {
		t.Fatalf("POST faults = %d %+v", code, faults)
	}
	wantErr[*types.InternalErrorException](t, resend(), "", "")
	control(t, "GET", u+"faults", "", &faults)
	if len(faults) != 0 {
		t.Errorf("count fault not spent: %+v", faults)
	}
	control(t, "POST", u+"faults", `{"untilCleared":true,"code":"CodeDeliveryFailureException"}`, &faults)
	wantErr[*types.CodeDeliveryFailureException](t, resend(), "", "")
	if code := control(t, "DELETE", u+"faults", "", &faults); code != 200 || len(faults) != 0 {
		t.Fatalf("DELETE faults = %d %+v", code, faults)
	}
	var apiErr map[string]string
	if code := control(t, "POST", u+"faults", `{"code":"X"}`, &apiErr); code != 400 || apiErr["error"] == "" {
		t.Errorf("invalid fault = %d %v", code, apiErr)
	}
	if code := control(t, "POST", u+"faults", `{"count":1,"code":"X","bogus":1}`, &apiErr); code != 400 {
		t.Errorf("unknown field = %d", code)
	}

	// calls and deliveries
	var calls []Call
	control(t, "GET", u+"calls", "", &calls)
	outcomes := make([]string, len(calls))
	for i, c := range calls {
		outcomes[i] = c.Outcome
	}
	if got := strings.Join(outcomes, ","); got != "OK,InternalErrorException,CodeDeliveryFailureException" {
		t.Errorf("calls = %s", got)
	}
	if !calls[0].SecretHashValid || calls[0].ClientID != "democlient" || calls[0].Username != alice {
		t.Errorf("call = %+v", calls[0])
	}
	var ds []Delivery
	control(t, "GET", u+"deliveries?username=alice", "", &ds)
	if len(ds) != 1 || ds[0].Destination != aliceEmail || len(ds[0].Code) != 6 {
		t.Errorf("deliveries = %+v", ds)
	}
	control(t, "GET", u+"deliveries?username=zed", "", &ds)
	if len(ds) != 0 {
		t.Errorf("deliveries for zed = %+v", ds)
	}

	// config
	var cfg Config
	if code := control(t, "POST", u+"config", `{"quota":5,"latencyMs":30,"resendLimitPerHour":0}`, &cfg); code != 200 {
		t.Fatalf("config = %d", code)
	}
	if cfg != (Config{Quota: 5, Burst: 1, LatencyMs: 30, ResendLimitPerHour: 0}) {
		t.Errorf("config = %+v", cfg)
	}
	start := time.Now()
	if err := resend(); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Error("latencyMs not applied")
	}
	wantErr[*types.TooManyRequestsException](t, resend(), "Rate exceeded", "")
	control(t, "POST", u+"config", `{"burst":3}`, &cfg)
	if cfg.Burst != 3 || cfg.Quota != 5 || cfg.LatencyMs != 30 {
		t.Errorf("partial update = %+v", cfg)
	}
	if code := control(t, "POST", u+"config", `{"quota":-1}`, nil); code != 400 {
		t.Errorf("negative quota = %d", code)
	}
	control(t, "GET", u+"config", "", &cfg)
	if cfg.Burst != 3 {
		t.Errorf("GET config = %+v", cfg)
	}

	// reset: back to the Options and the seed
	if code := control(t, "POST", u+"reset", "", nil); code != 200 {
		t.Fatalf("reset = %d", code)
	}
	control(t, "GET", u+"calls", "", &calls)
	control(t, "GET", u+"config", "", &cfg)
	if len(calls) != 0 || cfg != (Config{Quota: 0, Burst: 1, ResendLimitPerHour: 5}) {
		t.Errorf("after reset: calls=%d config=%+v", len(calls), cfg)
	}
	if err := resend(); err != nil {
		t.Errorf("seeded data gone after reset: %v", err)
	}

	// errors
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "nothing", 404}, {"GET", "reset", 405}, {"PUT", "faults", 405}, {"POST", "config", 400},
	} {
		if code := control(t, tc.method, u+tc.path, "", nil); code != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, code, tc.want)
		}
	}
}

func TestSeedAndReset(t *testing.T) {
	s := New(Options{Quota: 0, Latency: 0})
	var spec SeedSpec
	if err := json.Unmarshal([]byte(`{"pools":[{"id":"us-east-1_demo","name":"demo",
		"clients":[{"clientId":"democlient","clientSecret":"demosecret"}],
		"users":[{"username":"alice","email":"alice@example.com","confirmed":false},
		         {"username":"bob","email":"bob@example.com","confirmed":true,"sub":"0000-bob"}]}]}`), &spec); err != nil {
		t.Fatal(err)
	}
	if err := s.Seed(spec); err != nil {
		t.Fatal(err)
	}
	e := newEmuFor(t, s)
	pool := aws.String("us-east-1_demo")
	got, err := e.cip.AdminGetUser(ctx(t), &cip.AdminGetUserInput{UserPoolId: pool, Username: aws.String("bob")})
	if err != nil || got.UserStatus != types.UserStatusTypeConfirmed || attr(got.UserAttributes, "sub") != "0000-bob" {
		t.Fatalf("bob = %+v, %v", got, err)
	}
	desc, err := e.cip.DescribeUserPoolClient(ctx(t), &cip.DescribeUserPoolClientInput{UserPoolId: pool, ClientId: aws.String("democlient")})
	if err != nil || aws.ToString(desc.UserPoolClient.ClientSecret) != "demosecret" {
		t.Fatalf("client = %+v, %v", desc, err)
	}

	// Change state, then Reset.
	if _, err := e.cip.AdminConfirmSignUp(ctx(t), &cip.AdminConfirmSignUpInput{UserPoolId: pool, Username: aws.String(alice)}); err != nil {
		t.Fatal(err)
	}
	_ = s.AddFault(Fault{UntilCleared: true, Code: "InternalErrorException"})
	s.SetQuota(3)
	s.SetLatency(time.Second)
	_, _ = e.cip.CreateUserPool(ctx(t), &cip.CreateUserPoolInput{PoolName: aws.String("extra")})
	s.Reset()

	if len(s.Calls()) != 0 || len(s.Faults()) != 0 || len(s.Deliveries()) != 0 ||
		s.Config() != (Config{Burst: 1, ResendLimitPerHour: 5}) || len(s.pools) != 1 {
		t.Fatalf("reset left state: calls=%d faults=%d config=%+v pools=%d", len(s.Calls()), len(s.Faults()), s.Config(), len(s.pools))
	}
	_, err = e.cip.ResendConfirmationCode(ctx(t), &cip.ResendConfirmationCodeInput{
		ClientId: aws.String("democlient"), Username: aws.String(alice),
		SecretHash: aws.String(SecretHash("democlient", "demosecret", alice)),
	})
	if err != nil {
		t.Fatalf("alice should be unconfirmed again: %v", err)
	}
}

func TestSeedValidation(t *testing.T) {
	s := New(Options{})
	if err := s.Seed(SeedSpec{Pools: []SeedPool{{ID: "us-east-1_a", Clients: []SeedClient{{ClientID: "c1"}}}}}); err != nil {
		t.Fatal(err)
	}
	for i, spec := range []SeedSpec{
		{Pools: []SeedPool{{ID: "nounderscore"}}},
		{Pools: []SeedPool{{ID: "us-east-1_b", Clients: []SeedClient{{ClientID: "bad id"}}}}},
		{Pools: []SeedPool{{ID: "us-east-1_b", Clients: []SeedClient{{ClientID: "c1"}}}}}, // c1 is pool a's
		{Pools: []SeedPool{{ID: "us-east-1_b", Users: []SeedUser{{Username: ""}}}}},
		{Pools: []SeedPool{{ID: "us-east-1_b", Users: []SeedUser{{Username: "x"}, {Username: "x"}}}}},
		{Pools: []SeedPool{{ID: "us-east-1_b", Users: []SeedUser{{Username: "x", Email: "not-an-email"}}}}},
		{Pools: []SeedPool{{ID: "us-east-1_b", AutoVerifiedAttributes: []string{"name"}}}},
		{Pools: []SeedPool{{ID: "us-east-1_b"}, {ID: "bad"}}}, // all or nothing
	} {
		if err := s.Seed(spec); err == nil {
			t.Errorf("spec %d accepted", i)
		}
	}
	if len(s.pools) != 1 || len(s.seeds) != 1 {
		t.Errorf("invalid specs changed state: %d pools", len(s.pools))
	}
	// Seeding the same pool again adds to it.
	if err := s.Seed(SeedSpec{Pools: []SeedPool{{ID: "us-east-1_a", Users: []SeedUser{{Username: "x"}}}}}); err != nil {
		t.Fatal(err)
	}
	if len(s.pools["us-east-1_a"].users) != 1 || s.clients["c1"] == nil {
		t.Error("re-seed did not merge")
	}
}

// TestConcurrentUse hammers every entry point at once; run with -race.
func TestConcurrentUse(t *testing.T) {
	e := newEmu(t, Options{Quota: 1000, ResendLimitPerHour: -1, RandSeed: 1})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				switch (g + i) % 8 {
				case 0:
					_, _ = e.resend(t, secretClient, alice)
				case 1:
					_, _ = e.cip.SignUp(ctx(t), &cip.SignUpInput{
						ClientId: aws.String(publicClient), Username: aws.String(fmt.Sprintf("u%d-%d", g, i)),
						Password:       aws.String("Passw0rd!"),
						UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("u@example.com")}},
					})
				case 2:
					_ = e.Calls()
					_ = e.Deliveries()
					_ = e.DeliveriesFor(alice)
				case 3:
					_ = e.AddFault(Fault{Percent: 10, Code: "InternalErrorException"})
				case 4:
					e.ClearFaults()
					e.SetQuota(float64(500 + i))
					e.SetLatency(0)
				case 5:
					if resp, err := http.Get(e.url + "/_emu/calls"); err == nil {
						resp.Body.Close()
					}
				case 6:
					_, _ = e.cip.ListUsers(ctx(t), &cip.ListUsersInput{UserPoolId: aws.String(testPool)})
				case 7:
					if i%10 == 0 {
						e.Reset()
					}
					_, _ = e.resend(t, publicClient, dave)
				}
			}
		})
	}
	wg.Wait()
}
