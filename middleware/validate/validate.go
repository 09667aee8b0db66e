// Package validate is Tyk's ValidateJSON: request bodies on validate_json
// paths are checked against a JSON Schema (draft-04). Schemas are compiled
// when the chain is built; failures are reported the way Tyk's
// gojsonschema reports them, each "<field>: <description>", joined by "; ".
package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/paths"
)

// Messages, as Tyk words them.
const (
	MsgUnsupported = "unsupported schema, unable to validate"
	MsgNoSchema    = "no schemas to validate against"
	msgParsePrefix = "JSON parsing error: "
)

// draft4 is the only $schema Tyk accepts, spelled exactly so.
const draft4 = "http://json-schema.org/draft-04/schema#"

var (
	errUnsupported = chain.Fail(http.StatusInternalServerError, MsgUnsupported)
	errNoSchema    = chain.Fail(http.StatusInternalServerError, MsgNoSchema)
)

// Stage validates request bodies.
type Stage struct {
	rules *paths.PathRules[*entry]
}

// entry is one validate_json path: its compiled schema, or the refusal
// every request on it gets when the schema cannot be used.
type entry struct {
	schema *jsonschema.Schema
	code   int
	broken *chain.Error
}

// New applies when a version has validate_json entries (with
// use_extended_paths). A schema that does not compile is logged and its
// path answers 500; the rest of the API still loads.
func New(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	rules, err := paths.BuildRules(def, env, "validate_json", func(v apidef.VersionInfo) ([]paths.Entry[*entry], error) {
		var out []paths.Entry[*entry]
		for _, e := range v.ExtendedPaths.ValidateJSON {
			if e.Disabled {
				continue
			}
			en := compile(e)
			if en.broken == errUnsupported && env != nil && env.Log != nil {
				env.Log.Warn("validate_json schema cannot be used; its path answers 500",
					"api_id", def.APIID, "path", e.Path, "method", e.Method)
			}
			out = append(out, paths.Entry[*entry]{Path: e.Path, Method: e.Method, Value: en})
		}
		return out, nil
	})
	if err != nil || rules == nil {
		return nil, err
	}
	return &Stage{rules: rules}, nil
}

// compile prepares one entry: no schema → Tyk's 500 "no schemas"; a
// $schema other than draft-04, or a schema that does not compile → 500
// "unsupported schema".
func compile(e apidef.ValidateJSON) *entry {
	en := &entry{code: e.ErrorResponseCode}
	if en.code == 0 {
		en.code = http.StatusUnprocessableEntity
	}
	if e.Schema == nil {
		en.broken = errNoSchema
		return en
	}
	if s, ok := e.Schema["$schema"]; ok && s != draft4 {
		en.broken = errUnsupported
		return en
	}
	sch, err := Compile(e.Schema)
	if err != nil {
		en.broken = errUnsupported
		return en
	}
	en.schema = sch
	return en
}

// Compile compiles a draft-04 schema. Nothing is fetched: a $ref must
// point inside the schema.
func Compile(schema map[string]any) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.UseLoader(noLoader{})
	const loc = "tollgate:///validate_json.json"
	if err := c.AddResource(loc, schema); err != nil {
		return nil, err
	}
	return c.Compile(loc)
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, errors.New("schema " + url + " is not part of the definition")
}

func (*Stage) Name() string { return "ValidateJSON" }

// ProcessRequest validates the body of a request on a validate_json path.
// The body is read and put back for the upstream.
func (s *Stage) ProcessRequest(_ http.ResponseWriter, r *http.Request, req *chain.Request) error {
	en, ok := s.rules.Match(r.Method, r.URL.Path, req)
	if !ok {
		return nil
	}
	if en.broken != nil {
		return en.broken
	}
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return chain.Fail(http.StatusBadRequest, err.Error())
	}
	if f := Check(en.schema, body); f != nil {
		if f.Parse {
			return chain.Fail(http.StatusBadRequest, f.Message)
		}
		return chain.Fail(en.code, f.Message)
	}
	return nil
}

// Failure is why a body did not validate.
type Failure struct {
	// Parse is set when the body is not JSON; Message is then Tyk's
	// "JSON parsing error: <parser message>".
	Parse bool
	// Message is the text of Tyk's error body.
	Message string
}

// Check validates body against schema; nil means valid. Schema failures
// are the joined "<field>: <description>" messages.
func Check(schema *jsonschema.Schema, body []byte) *Failure {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	// Like gojsonschema, only the first JSON value is read.
	if err := dec.Decode(&doc); err != nil {
		return &Failure{Parse: true, Message: msgParsePrefix + err.Error()}
	}
	err := schema.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &Failure{Message: err.Error()}
	}
	return &Failure{Message: Describe(ve, doc)}
}
