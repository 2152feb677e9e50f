// Package schema holds job.schema.json, the JSON Schema of a job for
// producers in other languages; its test keeps it in step with job.Parse.
package schema

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/resend-worker/resend-worker/job"
)

// TestSchemaAgreesWithGo: the schema accepts a body exactly when job.Parse does.
func TestSchemaAgreesWithGo(t *testing.T) {
	raw, err := os.ReadFile("job.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("job.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("job.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 128)
	cases := []struct {
		body  string
		valid bool
	}{
		{`{"username":"alice"}`, true},
		{`{"username":"alice@example.com","clientMetadata":{"source":"signup"},"userContextData":{"ipAddress":"203.0.113.7","encodedData":"x"},"analyticsEndpointId":"e"}`, true},
		{`{"username":"a","unknown":[1,2,{"x":null}]}`, true},
		{`{"username":"` + long + `"}`, true},
		{`{"username":"` + long + `e"}`, false},
		{`{"username":"a","clientMetadata":null,"userContextData":null,"analyticsEndpointId":null}`, true},
		{`{"username":"a","userContextData":{}}`, true},
		{`{"username":"a","clientMetadata":{}}`, true},
		{`{}`, false},
		{`{"username":""}`, false},
		{`{"username":null}`, false},
		{`{"username":42}`, false},
		{`{"username":["a"]}`, false},
		{`{"Username":"a"}`, false},
		{`{"username":"a","clientMetadata":{"k":1}}`, false},
		{`{"username":"a","clientMetadata":{"k":null}}`, false},
		{`{"username":"a","clientMetadata":["k"]}`, false},
		{`{"username":"a","clientMetadata":"k=v"}`, false},
		{`{"username":"a","userContextData":"x"}`, false},
		{`{"username":"a","userContextData":{"ipAddress":7}}`, false},
		{`{"username":"a","analyticsEndpointId":5}`, false},
		{`[{"username":"a"}]`, false},
		{`"alice"`, false},
		{`null`, false},
		{`17`, false},
	}
	for _, tc := range cases {
		_, goErr := job.Parse([]byte(tc.body))
		var inst any
		schemaErr := json.Unmarshal([]byte(tc.body), &inst)
		if schemaErr == nil {
			schemaErr = sch.Validate(inst)
		}
		if (goErr == nil) != tc.valid {
			t.Errorf("Go: %s: valid=%v, want %v (%v)", tc.body, goErr == nil, tc.valid, goErr)
		}
		if (schemaErr == nil) != tc.valid {
			t.Errorf("schema: %s: valid=%v, want %v (%v)", tc.body, schemaErr == nil, tc.valid, schemaErr)
		}
	}
}
