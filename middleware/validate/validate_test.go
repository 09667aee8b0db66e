package validate_test

import (
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/internal/stagetest"
	"github.com/tollgate/tollgate/middleware/validate"
)

func definition(t *testing.T, entries string) *apidef.Definition {
	t.Helper()
	d, err := apidef.Parse([]byte(`{"api_id":"a","proxy":{"listen_path":"/keyed/"},
	 "version_data":{"not_versioned":true,"versions":{"Default":{"use_extended_paths":true,"extended_paths":{"validate_json":` + entries + `}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return &d
}

// vector18 is the keyed API's validate_json entry.
const vector18 = `[{"path":"/validate","method":"POST","schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}}]`

func TestVector18(t *testing.T) {
	d := definition(t, vector18)
	st, err := validate.New(d, nil)
	if err != nil || st == nil {
		t.Fatal(st, err)
	}
	a, seen := stagetest.API(t, d, st)
	cases := []struct {
		name, path, body string
		status           int
		msg              string
	}{
		{"a missing required property", "/keyed/validate", `{"x":1}`, 422, "name: name is required"},
		{"a wrong type", "/keyed/validate", `{"name":1}`, 422, "name: Invalid type. Expected: string, given: integer"},
		{"not JSON", "/keyed/validate", `notjson`, 400, "JSON parsing error: invalid character 'o' in literal null (expecting 'u')"},
		{"an empty body", "/keyed/validate", ``, 400, "JSON parsing error: EOF"},
		{"valid", "/keyed/validate", `{"name":"n"}`, 200, ""},
		{"another path", "/keyed/other", `notjson`, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := stagetest.Do(a, seen, httptest.NewRequest("POST", c.path, strings.NewReader(c.body)))
			if r.Status != c.status {
				t.Fatalf("got %d %q", r.Status, r.Body)
			}
			if c.msg != "" {
				var e struct{ Error string }
				if err := json.Unmarshal([]byte(r.Body), &e); err != nil {
					t.Fatalf("the error body is not JSON: %v: %s", err, r.Body)
				}
				if e.Error != c.msg {
					t.Fatalf("message %q, want %q", e.Error, c.msg)
				}
			}
			if c.status == 200 && r.Seen.Body != c.body {
				t.Fatalf("the upstream got %q", r.Seen.Body)
			}
		})
	}
	t.Run("a GET is not validated", func(t *testing.T) {
		if r := stagetest.Do(a, seen, httptest.NewRequest("GET", "/keyed/validate", strings.NewReader("x"))); r.Status != 200 {
			t.Fatalf("got %d", r.Status)
		}
	})
}

func TestEntries(t *testing.T) {
	cases := []struct {
		name, entries, body string
		status              int
		msg                 string
	}{
		{"error_response_code", `[{"path":"/v","method":"POST","error_response_code":400,"schema":{"required":["a"]}}]`, `{}`, 400, "a: a is required"},
		{"the draft-04 $schema", `[{"path":"/v","method":"POST","schema":{"$schema":"http://json-schema.org/draft-04/schema#","required":["a"]}}]`, `{}`, 422, "a: a is required"},
		{"another $schema", `[{"path":"/v","method":"POST","schema":{"$schema":"http://json-schema.org/draft-07/schema#"}}]`, `{}`, 500, validate.MsgUnsupported},
		{"no schema", `[{"path":"/v","method":"POST"}]`, `{}`, 500, validate.MsgNoSchema},
		{"a schema that does not compile", `[{"path":"/v","method":"POST","schema":{"type":12}}]`, `{}`, 500, validate.MsgUnsupported},
		{"a remote $ref is not fetched", `[{"path":"/v","method":"POST","schema":{"$ref":"http://example.com/s.json"}}]`, `{}`, 500, validate.MsgUnsupported},
		{"a local $ref", `[{"path":"/v","method":"POST","schema":{"properties":{"p":{"$ref":"#/definitions/s"}},"definitions":{"s":{"type":"string","pattern":"^a$"}}}}]`, `{"p":"b"}`, 422, "p: Does not match pattern '^a$'"},
		{"a disabled entry", `[{"path":"/v","method":"POST","disabled":true,"schema":{"required":["a"]}},{"path":"/zzz","method":"POST","schema":{}}]`, `{}`, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := definition(t, c.entries)
			st, err := validate.New(d, nil)
			if err != nil || st == nil {
				t.Fatal(st, err)
			}
			a, seen := stagetest.API(t, d, st)
			r := stagetest.Do(a, seen, httptest.NewRequest("POST", "/keyed/v", strings.NewReader(c.body)))
			if r.Status != c.status || (c.msg != "" && r.Body != stagetest.Error(c.msg)) {
				t.Fatalf("got %d %q", r.Status, r.Body)
			}
		})
	}
}

// Messages in gojsonschema's words, as Tyk sends them.
func TestMessages(t *testing.T) {
	cases := []struct{ schema, doc, want string }{
		{`{"required":["a","b"]}`, `{}`, "a: a is required; b: b is required"},
		{`{"properties":{"n":{"type":"integer"}}}`, `{"n":1.5}`, "n: Invalid type. Expected: integer, given: number"},
		{`{"properties":{"n":{"type":["string","null"]}}}`, `{"n":true}`, "n: Invalid type. Expected: [null,string], given: boolean"},
		{`{"type":"object"}`, `[1]`, "(root): Invalid type. Expected: object, given: array"},
		{`{"properties":{"a":{"properties":{"b":{"type":"string"}}}}}`, `{"a":{"b":2}}`, "a.b: Invalid type. Expected: string, given: integer"},
		{`{"items":{"type":"string"}}`, `["x",3]`, "1: Invalid type. Expected: string, given: integer"},
		{`{"additionalProperties":false,"properties":{"a":{}}}`, `{"a":1,"z":2}`, "z: Additional property z is not allowed"},
		{`{"properties":{"c":{"enum":["red","green"]}}}`, `{"c":"blue"}`, `c: c must be one of the following: "red", "green"`},
		{`{"properties":{"s":{"minLength":3,"maxLength":1}}}`, `{"s":"ab"}`, "s: String length must be greater than or equal to 3; s: String length must be less than or equal to 1"},
		{`{"properties":{"n":{"minimum":3,"maximum":1}}}`, `{"n":2}`, "n: Must be greater than or equal to 3; n: Must be less than or equal to 1"},
		{`{"properties":{"n":{"minimum":3,"exclusiveMinimum":true}}}`, `{"n":3}`, "n: Must be greater than 3"},
		{`{"properties":{"n":{"multipleOf":2.5}}}`, `{"n":3}`, "n: Must be a multiple of 2.5"},
		{`{"minItems":2}`, `[1]`, "(root): Array must have at least 2 items"},
		{`{"maxItems":1}`, `[1,2]`, "(root): Array must have at most 1 items"},
		{`{"uniqueItems":true}`, `[1,1]`, "(root): array items must be unique"},
		{`{"minProperties":1}`, `{}`, "(root): Must have at least 1 properties"},
		{`{"properties":{"e":{"format":"email"}}}`, `{"e":"nope"}`, "e: Does not match format 'email'"},
		{`{"anyOf":[{"type":"string"},{"type":"object","required":["a"]}]}`, `{}`, "(root): Must validate at least one schema (anyOf); a: a is required"},
		{`{"oneOf":[{"type":"string"},{"type":"boolean"}]}`, `1`, "(root): Must validate one and only one schema (oneOf); (root): Invalid type. Expected: string, given: integer"},
		{`{"allOf":[{"required":["a"]},{"required":["b"]}]}`, `{}`, "a: a is required; b: b is required; (root): Must validate all the schemas (allOf)"},
		{`{"not":{"type":"string"}}`, `"s"`, "(root): Must not validate the schema (not)"},
		{`{"dependencies":{"a":["b"]}}`, `{"a":1}`, "(root): Has a dependency on b"},
	}
	for i, c := range cases {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal([]byte(c.schema), &m); err != nil {
				t.Fatal(err)
			}
			sch, err := validate.Compile(m)
			if err != nil {
				t.Fatal(err)
			}
			f := validate.Check(sch, []byte(c.doc))
			if f == nil || f.Parse || f.Message != c.want {
				t.Fatalf("%s on %s:\n got %+v\nwant %q", c.schema, c.doc, f, c.want)
			}
		})
	}
}
