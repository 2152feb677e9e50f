package job_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/resend-worker/resend-worker/job"
)

// secretUser is a username that must never show up in an error message.
const secretUser = "alice.secret@example.com"

func TestParse(t *testing.T) {
	long := strings.Repeat("a", job.MaxUsernameLength)
	multiByte := strings.Repeat("é", job.MaxUsernameLength) // 2 bytes each: 256 bytes, 128 characters
	tests := []struct {
		name    string
		body    string
		want    job.Job
		wantErr string // a part of the error message; empty: no error
	}{
		{name: "minimal", body: `{"username":"alice"}`, want: job.Job{Username: "alice"}},
		{
			name: "all fields",
			body: `{"username":"alice@example.com","clientMetadata":{"source":"signup-page","lang":"fr"},` +
				`"userContextData":{"ipAddress":"203.0.113.7","encodedData":"abc=="},"analyticsEndpointId":"ep-1"}`,
			want: job.Job{
				Username:            "alice@example.com",
				ClientMetadata:      map[string]string{"source": "signup-page", "lang": "fr"},
				UserContextData:     &job.UserContextData{IPAddress: "203.0.113.7", EncodedData: "abc=="},
				AnalyticsEndpointID: "ep-1",
			},
		},
		{name: "unknown fields ignored", body: `{"username":"bob","extra":{"deep":[1,2,3]},"n":1}`, want: job.Job{Username: "bob"}},
		{name: "white space around the object", body: " \n\t{\"username\":\"bob\"}\r\n ", want: job.Job{Username: "bob"}},
		{name: "optional fields null", body: `{"username":"bob","clientMetadata":null,"userContextData":null,"analyticsEndpointId":null}`, want: job.Job{Username: "bob"}},
		{name: "userContextData partial", body: `{"username":"bob","userContextData":{"ipAddress":"198.51.100.1"}}`,
			want: job.Job{Username: "bob", UserContextData: &job.UserContextData{IPAddress: "198.51.100.1"}}},
		{name: "128 ASCII characters", body: `{"username":"` + long + `"}`, want: job.Job{Username: long}},
		{name: "128 multi-byte characters", body: `{"username":"` + multiByte + `"}`, want: job.Job{Username: multiByte}},
		{name: "escaped username", body: `{"username":"caf\u00e9"}`, want: job.Job{Username: "café"}},

		{name: "exact-case keys: Username is not username", body: `{"Username":"` + secretUser + `"}`, wantErr: "username: is required"},
		{name: "exact-case keys: USERNAME", body: `{"USERNAME":"` + secretUser + `"}`, wantErr: "username: is required"},
		{name: "exact-case keys: ClientMetadata ignored", body: `{"username":"bob","ClientMetadata":5}`, want: job.Job{Username: "bob"}},
		{name: "username missing", body: `{"clientMetadata":{"a":"b"}}`, wantErr: "username: is required"},
		{name: "username empty", body: `{"username":""}`, wantErr: "username: is required"},
		{name: "username null", body: `{"username":null}`, wantErr: "username: is required"},
		{name: "username number", body: `{"username":42}`, wantErr: "username: has the wrong type"},
		{name: "username bool", body: `{"username":true}`, wantErr: "username: has the wrong type"},
		{name: "username object", body: `{"username":{"name":"` + secretUser + `"}}`, wantErr: "username: has the wrong type"},
		{name: "username array", body: `{"username":["` + secretUser + `"]}`, wantErr: "username: has the wrong type"},
		{name: "username 129 characters", body: `{"username":"` + secretUser + strings.Repeat("x", 129-len(secretUser)) + `"}`, wantErr: "username: has 129 characters"},
		{name: "username 129 multi-byte characters", body: `{"username":"` + multiByte + `é"}`, wantErr: "username: has 129 characters"},

		{name: "not JSON", body: `username=` + secretUser, wantErr: "not a JSON object"},
		{name: "empty body", body: ``, wantErr: "not a JSON object"},
		{name: "truncated JSON", body: `{"username":"` + secretUser, wantErr: "not a JSON object"},
		{name: "JSON array", body: `[{"username":"` + secretUser + `"}]`, wantErr: "not a JSON object"},
		{name: "JSON string", body: `"` + secretUser + `"`, wantErr: "not a JSON object"},
		{name: "JSON number", body: `12`, wantErr: "not a JSON object"},
		{name: "JSON null", body: `null`, wantErr: "not a JSON object"},
		{name: "JSON true", body: `true`, wantErr: "not a JSON object"},
		{name: "trailing object", body: `{"username":"` + secretUser + `"}{"username":"x"}`, wantErr: "not a JSON object"},
		{name: "trailing garbage", body: `{"username":"` + secretUser + `"} x`, wantErr: "not a JSON object"},
		{name: "trailing closing brace", body: `{"username":"` + secretUser + `"}}`, wantErr: "not a JSON object"},
		{name: "trailing closing bracket", body: `{"username":"` + secretUser + `"}]`, wantErr: "not a JSON object"},
		{name: "invalid UTF-8 in a string", body: "{\"username\":\"" + secretUser + "\xff\"}", wantErr: "not valid UTF-8"},
		{name: "invalid UTF-8 in an unknown field", body: "{\"username\":\"bob\",\"x\":\"\xc3\x28\"}", wantErr: "not valid UTF-8"},

		{name: "clientMetadata string", body: `{"username":"` + secretUser + `","clientMetadata":"a=b"}`, wantErr: "clientMetadata: has the wrong type"},
		{name: "clientMetadata array", body: `{"username":"` + secretUser + `","clientMetadata":["a"]}`, wantErr: "clientMetadata: has the wrong type"},
		{name: "clientMetadata number value", body: `{"username":"` + secretUser + `","clientMetadata":{"a":1}}`, wantErr: "clientMetadata: values must be strings"},
		{name: "clientMetadata null value", body: `{"username":"` + secretUser + `","clientMetadata":{"a":null}}`, wantErr: "clientMetadata: values must be strings"},
		{name: "clientMetadata bool value", body: `{"username":"` + secretUser + `","clientMetadata":{"a":"b","c":false}}`, wantErr: "clientMetadata: values must be strings"},
		{name: "clientMetadata object value", body: `{"username":"` + secretUser + `","clientMetadata":{"a":{"b":"c"}}}`, wantErr: "clientMetadata: values must be strings"},
		{name: "clientMetadata empty object", body: `{"username":"bob","clientMetadata":{}}`, want: job.Job{Username: "bob", ClientMetadata: map[string]string{}}},
		{name: "userContextData string", body: `{"username":"` + secretUser + `","userContextData":"203.0.113.7"}`, wantErr: "userContextData: must be an object"},
		{name: "userContextData array", body: `{"username":"` + secretUser + `","userContextData":[]}`, wantErr: "userContextData: must be an object"},
		{name: "userContextData number", body: `{"username":"` + secretUser + `","userContextData":7}`, wantErr: "userContextData: must be an object"},
		{name: "userContextData.ipAddress number", body: `{"username":"` + secretUser + `","userContextData":{"ipAddress":1}}`, wantErr: "userContextData.ipAddress: has the wrong type"},
		{name: "userContextData.encodedData object", body: `{"username":"` + secretUser + `","userContextData":{"encodedData":{}}}`, wantErr: "userContextData.encodedData: has the wrong type"},
		{name: "analyticsEndpointId number", body: `{"username":"` + secretUser + `","analyticsEndpointId":3}`, wantErr: "analyticsEndpointId: has the wrong type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := job.Parse([]byte(tt.body))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse: unexpected error %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Parse = %#v, want %#v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse = %#v, want an error containing %q", got, tt.wantErr)
			}
			if !errors.Is(err, job.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			var ie *job.InvalidError
			if !errors.As(err, &ie) {
				t.Errorf("error %T is not an *InvalidError", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secretUser) || strings.Contains(err.Error(), "alice") {
				t.Errorf("error %q contains the username", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		job     job.Job
		wantErr bool
	}{
		{"valid", job.Job{Username: "bob"}, false},
		{"empty username", job.Job{}, true},
		{"128 characters", job.Job{Username: strings.Repeat("界", 128)}, false},
		{"129 characters", job.Job{Username: strings.Repeat("界", 129)}, true},
		{"invalid UTF-8 username", job.Job{Username: "bob\xff"}, true},
		{"invalid UTF-8 metadata key", job.Job{Username: "bob", ClientMetadata: map[string]string{"\xff": "v"}}, true},
		{"invalid UTF-8 metadata value", job.Job{Username: "bob", ClientMetadata: map[string]string{"k": "\xfe"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.job.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate = %v, want error: %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, job.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			if err != nil && tt.job.Username != "" && strings.Contains(err.Error(), tt.job.Username) {
				t.Errorf("error %q contains the username", err)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	j := job.Job{
		Username:            "ünïcode <user>&",
		ClientMetadata:      map[string]string{"k": "v"},
		UserContextData:     &job.UserContextData{EncodedData: "e"},
		AnalyticsEndpointID: "a",
	}
	body, err := j.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// The wire names are the contract's.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"username", "clientMetadata", "userContextData", "analyticsEndpointId"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("Marshal output %s lacks %q", body, k)
		}
	}
	got, err := job.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, j) {
		t.Fatalf("Parse(Marshal(j)) = %#v, want %#v", got, j)
	}
	if _, err := (job.Job{}).Marshal(); !errors.Is(err, job.ErrInvalid) {
		t.Errorf("Marshal of an invalid job: err = %v, want ErrInvalid", err)
	}
	// Optional fields are left out when empty.
	body, err = job.Job{Username: "bob"}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != `{"username":"bob"}` {
		t.Errorf("Marshal = %s, want only the username", body)
	}
}

// FuzzParse: Parse never panics, rejects only with ErrInvalid, and whatever it
// accepts survives Marshal and Parse unchanged.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"username":"alice"}`,
		`{"username":"alice@example.com","clientMetadata":{"source":"signup"},"userContextData":{"ipAddress":"203.0.113.7","encodedData":"x"},"analyticsEndpointId":"e"}`,
		`{"username":"a","clientMetadata":{}}`,
		`{"username":"a","userContextData":{}}`,
		`{"Username":"a"}`,
		`{"username":"\u0000\ud800"}`,
		`{"username":"a"} `,
		`{"username":"a"}}`,
		`[]`, `null`, `"x"`, `1`, ``, "\xff",
		`{"username":"a","clientMetadata":{"k":null}}`,
		`{"username":"a","username":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		j, err := job.Parse(body)
		if err != nil {
			if !errors.Is(err, job.ErrInvalid) {
				t.Fatalf("Parse(%q): error %v does not wrap ErrInvalid", body, err)
			}
			return
		}
		if err := j.Validate(); err != nil {
			t.Fatalf("Parse(%q) accepted a job Validate rejects: %v", body, err)
		}
		again, err := j.Marshal()
		if err != nil {
			t.Fatalf("Marshal(%#v): %v", j, err)
		}
		j2, err := job.Parse(again)
		if err != nil {
			t.Fatalf("Parse(Marshal(Parse(%q))) = %v", body, err)
		}
		if !reflect.DeepEqual(normalize(j), normalize(j2)) {
			t.Fatalf("round trip of %q: %#v, then %#v", body, j, j2)
		}
	})
}

// normalize treats an empty clientMetadata as absent: Marshal leaves an empty
// map out (omitempty), which means the same to Cognito.
func normalize(j job.Job) job.Job {
	if len(j.ClientMetadata) == 0 {
		j.ClientMetadata = nil
	}
	return j
}
