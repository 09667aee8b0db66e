package openapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	yaml "go.yaml.in/yaml/v3"
)

// referencePath is Tyk's published Gateway API document, relative to this
// package's directory (the repository root is one level up, and the shared
// reference folder sits next to the repository).
const referencePath = "../../shared/reference/tyk-gateway-5.4.0.oas.yml"

// pathFixes maps reference paths to the path our document uses for the same
// operation. Keep in sync with the corrections listed in info.description.
var pathFixes = map[string]string{
	"/tyk/hello": "/hello",
}

// httpMethods are the operation keys of an OpenAPI path item, in the order
// operations are compared and reported.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Expected size of the reference document.
const (
	referenceOperations = 51
	referenceSchemas    = 78
)

// TestDocumentValidates loads gateway.yml with kin-openapi and validates it.
func TestDocumentValidates(t *testing.T) {
	onDisk, err := os.ReadFile("gateway.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, Document) {
		t.Fatal("embedded Document differs from gateway.yml")
	}

	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromFile("gateway.yml")
	if err != nil {
		t.Fatalf("load gateway.yml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate gateway.yml: %v", err)
	}
	if got := len(doc.Paths.Map()); got == 0 {
		t.Fatal("no paths loaded")
	}
}

// TestDocumentProse checks that every part of the document that should carry
// prose does, and that no placeholder is left.
func TestDocumentProse(t *testing.T) {
	doc := mustParse(t, Document)
	var missing []string
	need := func(where string, m map[string]any, key string) {
		s, _ := m[key].(string)
		if strings.TrimSpace(s) == "" || strings.Contains(s, "TODO") {
			missing = append(missing, where+": "+key)
		}
	}

	need("info", asMap(doc["info"]), "description")
	for _, tag := range asSlice(doc["tags"]) {
		tm := asMap(tag)
		need("tag "+str(tm["name"]), tm, "description")
	}
	paths := asMap(doc["paths"])
	for _, p := range sortedKeys(paths) {
		item := asMap(paths[p])
		for _, prm := range asSlice(item["parameters"]) {
			if pm := asMap(prm); pm["$ref"] == nil {
				need(p+" parameter "+str(pm["name"]), pm, "description")
			}
		}
		for _, m := range httpMethods {
			op := asMap(item[m])
			if op == nil {
				continue
			}
			where := strings.ToUpper(m) + " " + p
			need(where, op, "summary")
			need(where, op, "description")
			for _, prm := range asSlice(op["parameters"]) {
				if pm := asMap(prm); pm["$ref"] == nil {
					need(where+" parameter "+str(pm["name"]), pm, "description")
				}
			}
			responses := asMap(op["responses"])
			for _, code := range sortedKeys(responses) {
				need(where+" response "+code, asMap(responses[code]), "description")
			}
		}
	}
	components := asMap(doc["components"])
	for kind, section := range map[string]string{"schema": "schemas", "parameter": "parameters", "response": "responses"} {
		entries := asMap(components[section])
		for _, name := range sortedKeys(entries) {
			need(kind+" "+name, asMap(entries[name]), "description")
		}
	}

	slices.Sort(missing)
	for _, m := range missing {
		t.Errorf("no prose: %s", m)
	}
}

// TestMatchesReference compares the structure of gateway.yml with Tyk's
// published document, which is read as plain YAML so that its https $refs are
// never fetched.
func TestMatchesReference(t *testing.T) {
	raw, err := os.ReadFile(referencePath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("reference document not present at %s", referencePath)
	}
	if err != nil {
		t.Fatal(err)
	}
	ref := mustParse(t, raw)
	ours := mustParse(t, Document)

	c := compareDocuments(ref, ours)
	t.Logf("%s", c.summary())
	for _, p := range c.Problems {
		t.Errorf("%s", p)
	}
	if c.Operations.total != referenceOperations {
		t.Errorf("reference has %d operations, expected %d", c.Operations.total, referenceOperations)
	}
	if c.Schemas.total != referenceSchemas {
		t.Errorf("reference has %d schemas, expected %d", c.Schemas.total, referenceSchemas)
	}
	for _, k := range []struct {
		name string
		n    tally
	}{{"operations", c.Operations}, {"parameters", c.Parameters}, {"schemas", c.Schemas}, {"properties", c.Properties}} {
		if k.n.matched != k.n.total {
			t.Errorf("%s: only %d of %d match", k.name, k.n.matched, k.n.total)
		}
	}
}

// TestCompareDetectsBreakage feeds deliberately broken copies of our document
// to the comparison (with our own document as the reference) and checks that
// exactly the damage done is reported.
func TestCompareDetectsBreakage(t *testing.T) {
	base := mustParse(t, Document)
	baseline := compareDocuments(base, mustParse(t, Document))
	if len(baseline.Problems) != 0 {
		t.Fatalf("document compared with itself: %q", baseline.Problems)
	}

	schema := func(doc map[string]any, name string) map[string]any {
		return asMap(asMap(asMap(doc["components"])["schemas"])[name])
	}
	props := func(doc map[string]any, name string) map[string]any {
		return asMap(schema(doc, name)["properties"])
	}
	pathItem := func(doc map[string]any, p string) map[string]any {
		return asMap(asMap(doc["paths"])[p])
	}

	tests := []struct {
		name       string
		break_     func(doc map[string]any)
		want       []string
		lostOps    int
		lostParams int
		lostProps  int
	}{
		{
			name:   "unchanged",
			break_: func(map[string]any) {},
		},
		{
			name:    "drop one operation",
			break_:  func(doc map[string]any) { delete(pathItem(doc, "/tyk/keys"), "get") },
			want:    []string{"operation GET /tyk/keys (listKeys): missing"},
			lostOps: 1,
			// our listKeys documents the filter query parameter
			lostParams: 1,
		},
		{
			name: "drop the fixed health path",
			break_: func(doc map[string]any) {
				delete(asMap(doc["paths"]), "/hello")
			},
			want:    []string{"operation GET /hello (hello): missing"},
			lostOps: 1,
		},
		{
			name: "rename one property",
			break_: func(doc map[string]any) {
				p := props(doc, "SessionState")
				p["quota_maximum"] = p["quota_max"]
				delete(p, "quota_max")
			},
			want:      []string{"schema SessionState: property quota_max missing"},
			lostProps: 1,
		},
		{
			name:      "change a property type",
			break_:    func(doc map[string]any) { asMap(props(doc, "SessionState")["quota_max"])["type"] = "string" },
			want:      []string{"schema SessionState: property quota_max: type integer, ours string"},
			lostProps: 1,
		},
		{
			name:      "change a property format",
			break_:    func(doc map[string]any) { asMap(props(doc, "APILimit")["rate"])["format"] = "float" },
			want:      []string{"schema APILimit: property rate: format double, ours float"},
			lostProps: 1,
		},
		{
			name: "drop a nested inline property",
			break_: func(doc map[string]any) {
				delete(asMap(asMap(props(doc, "APIDefinition")["proxy"])["properties"]), "listen_path")
			},
			want:      []string{"schema APIDefinition: property proxy.listen_path missing"},
			lostProps: 1,
		},
		{
			name: "change an item type",
			break_: func(doc map[string]any) {
				asMap(asMap(props(doc, "SessionState")["tags"])["items"])["type"] = "integer"
			},
			want: []string{"schema SessionState: property tags[]: type string, ours integer"},
		},
		{
			name:   "drop one schema",
			break_: func(doc map[string]any) { delete(asMap(asMap(doc["components"])["schemas"]), "Regexp") },
			want:   []string{"schema Regexp missing"},
			// Regexp has one property, FromCache.
			lostProps: 1,
		},
		{
			name: "change an operationId",
			break_: func(doc map[string]any) {
				asMap(pathItem(doc, "/tyk/policies")["post"])["operationId"] = "createPolicy"
			},
			want:    []string{"operation POST /tyk/policies: operationId addPolicy, ours createPolicy"},
			lostOps: 1,
		},
		{
			name: "drop a path-level parameter",
			break_: func(doc map[string]any) {
				item := pathItem(doc, "/tyk/keys/{keyID}")
				var kept []any
				for _, p := range asSlice(item["parameters"]) {
					if asMap(p)["name"] != "hashed" {
						kept = append(kept, p)
					}
				}
				item["parameters"] = kept
			},
			want: []string{
				"operation GET /tyk/keys/{keyID}: parameter hashed (query) missing",
				"operation PUT /tyk/keys/{keyID}: parameter hashed (query) missing",
				"operation POST /tyk/keys/{keyID}: parameter hashed (query) missing",
				"operation DELETE /tyk/keys/{keyID}: parameter hashed (query) missing",
			},
			lostParams: 4,
		},
		{
			name: "drop a shared component parameter",
			break_: func(doc map[string]any) {
				delete(asMap(asMap(doc["components"])["parameters"]), "SearchText")
			},
			want: []string{
				"operation GET /tyk/apis/oas/{apiID}/versions: parameter searchText (query) missing",
				"operation GET /tyk/apis/{apiID}/versions: parameter searchText (query) missing",
			},
			lostParams: 2,
		},
		{
			name: "move a parameter to the header",
			break_: func(doc map[string]any) {
				for _, p := range asSlice(asMap(pathItem(doc, "/tyk/reload/")["get"])["parameters"]) {
					if pm := asMap(p); pm["name"] == "block" {
						pm["in"] = "header"
					}
				}
			},
			want:       []string{"operation GET /tyk/reload/: parameter block (query) missing"},
			lostParams: 1,
		},
		{
			name: "drop one operation and rename one property",
			break_: func(doc map[string]any) {
				delete(pathItem(doc, "/tyk/policies/{polID}"), "delete")
				p := props(doc, "Policy")
				p["quota"] = p["quota_max"]
				delete(p, "quota_max")
			},
			want: []string{
				"operation DELETE /tyk/policies/{polID} (deletePolicy): missing",
				"schema Policy: property quota_max missing",
			},
			lostOps:    1,
			lostParams: 1, // the path-level polID of the dropped operation
			lostProps:  1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broken := mustParse(t, Document)
			tt.break_(broken)
			c := compareDocuments(base, broken)
			if !slices.Equal(c.Problems, tt.want) {
				t.Errorf("problems:\n got  %q\n want %q", c.Problems, tt.want)
			}
			checks := []struct {
				name       string
				got, total tally
				lost       int
			}{
				{"operations", c.Operations, baseline.Operations, tt.lostOps},
				{"parameters", c.Parameters, baseline.Parameters, tt.lostParams},
				{"properties", c.Properties, baseline.Properties, tt.lostProps},
			}
			for _, k := range checks {
				if k.got.total != k.total.total || k.got.matched != k.total.total-k.lost {
					t.Errorf("%s: %s, want %d/%d", k.name, k.got, k.total.total-k.lost, k.total.total)
				}
			}
		})
	}
}

// tally counts how many reference items were found in our document.
type tally struct{ matched, total int }

func (n tally) String() string { return fmt.Sprintf("%d/%d", n.matched, n.total) }

// comparison is the result of compareDocuments.
type comparison struct {
	Operations, Parameters, Schemas, Properties tally
	// Problems names every reference item that our document lacks or
	// describes differently, in a stable order.
	Problems []string
}

func (c *comparison) problem(format string, args ...any) {
	c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
}

func (c *comparison) summary() string {
	return fmt.Sprintf("operations %s, parameters %s, schemas %s, properties %s",
		c.Operations, c.Parameters, c.Schemas, c.Properties)
}

// compareDocuments checks that everything ref declares is present in ours:
// operations (same method, path after pathFixes, and operationId), their
// parameters (by name and location, including path-level and
// #/components/parameters references), component schemas, and schema
// properties (recursively through inline objects, items and
// additionalProperties) with the same type, format and $ref. Extra things in
// ours are not reported. Both documents are plain decoded YAML.
func compareDocuments(ref, ours map[string]any) *comparison {
	c := &comparison{}
	refPaths, ourPaths := asMap(ref["paths"]), asMap(ours["paths"])
	for _, p := range sortedKeys(refPaths) {
		refItem := asMap(refPaths[p])
		ourPath, fixed := pathFixes[p]
		if !fixed {
			ourPath = p
		}
		ourItem := asMap(ourPaths[ourPath])
		for _, m := range httpMethods {
			refOp := asMap(refItem[m])
			if refOp == nil {
				continue
			}
			where := strings.ToUpper(m) + " " + p
			c.Operations.total++
			refParams := effectiveParameters(ref, refItem, refOp)
			c.Parameters.total += len(refParams)
			ourOp := asMap(ourItem[m])
			if ourOp == nil {
				label := fmt.Sprintf("operation %s (%s)", where, str(refOp["operationId"]))
				if fixed {
					label = fmt.Sprintf("operation %s (%s, ours at %s)", where, str(refOp["operationId"]), ourPath)
				}
				c.problem("%s: missing", label)
				continue
			}
			if a, b := str(refOp["operationId"]), str(ourOp["operationId"]); a != b {
				c.problem("operation %s: operationId %s, ours %s", where, a, b)
			} else {
				c.Operations.matched++
			}
			ourParams := effectiveParameters(ours, ourItem, ourOp)
			for _, key := range sortedKeys(refParams) {
				ourParam, ok := ourParams[key]
				if !ok {
					c.problem("operation %s: parameter %s missing", where, key)
					continue
				}
				refType := describeType(ref, asMap(refParams[key]["schema"]))
				ourType := describeType(ours, asMap(ourParam["schema"]))
				if refType != ourType {
					c.problem("operation %s: parameter %s: schema %s, ours %s", where, key, refType, ourType)
					continue
				}
				c.Parameters.matched++
			}
		}
	}

	refSchemas := asMap(asMap(ref["components"])["schemas"])
	ourSchemas := asMap(asMap(ours["components"])["schemas"])
	for _, name := range sortedKeys(refSchemas) {
		refSchema := asMap(refSchemas[name])
		c.Schemas.total++
		ourSchema, ok := ourSchemas[name]
		if !ok {
			c.problem("schema %s missing", name)
			c.Properties.total += countProperties(refSchema)
			continue
		}
		if d := typeDifference(refSchema, asMap(ourSchema)); d != "" {
			c.problem("schema %s: %s", name, d)
		} else {
			c.Schemas.matched++
		}
		c.compareSchema(name, "", refSchema, asMap(ourSchema))
	}
	return c
}

// compareSchema compares the properties, items and additionalProperties of
// ref and ours; path is the dotted property path of ref within schema name.
func (c *comparison) compareSchema(name, path string, ref, ours map[string]any) {
	refProps, ourProps := asMap(ref["properties"]), asMap(ours["properties"])
	for _, p := range sortedKeys(refProps) {
		full := p
		if path != "" {
			full = path + "." + p
		}
		refProp := asMap(refProps[p])
		c.Properties.total++
		ourProp, ok := ourProps[p]
		if !ok {
			c.problem("schema %s: property %s missing", name, full)
			c.Properties.total += countProperties(refProp)
			continue
		}
		if d := typeDifference(refProp, asMap(ourProp)); d != "" {
			c.problem("schema %s: property %s: %s", name, full, d)
		} else {
			c.Properties.matched++
		}
		c.compareSchema(name, full, refProp, asMap(ourProp))
	}
	for _, sub := range []struct{ key, suffix string }{{"items", "[]"}, {"additionalProperties", "{}"}} {
		refSub := asMap(ref[sub.key])
		if refSub == nil {
			continue
		}
		subPath := path + sub.suffix
		ourSub := asMap(ours[sub.key])
		if ourSub == nil {
			c.problem("schema %s: property %s missing", name, subPath)
			c.Properties.total += countProperties(refSub)
			continue
		}
		if d := typeDifference(refSub, ourSub); d != "" && !(sub.key == "additionalProperties" && anyValueFix(refSub, ourSub)) {
			c.problem("schema %s: property %s: %s", name, subPath, d)
		}
		c.compareSchema(name, subPath, refSub, ourSub)
	}
}

// anyValueFix recognises a documented correction: the reference restricts
// the values of free-form maps (meta_data, config_data, ...) to objects,
// although Tyk stores any JSON value there; ours accepts any value ({}).
func anyValueFix(ref, ours map[string]any) bool {
	return len(ref) == 1 && str(ref["type"]) == "object" && len(ours) == 0
}

// countProperties counts the properties below schema, the way compareSchema
// counts them.
func countProperties(schema map[string]any) int {
	n := 0
	props := asMap(schema["properties"])
	for _, p := range props {
		n += 1 + countProperties(asMap(p))
	}
	for _, key := range []string{"items", "additionalProperties"} {
		if sub := asMap(schema[key]); sub != nil {
			n += countProperties(sub)
		}
	}
	return n
}

// typeDifference describes how ours differs from ref in type, format or
// $ref, or returns "" when they agree. Only what ref declares is checked.
func typeDifference(ref, ours map[string]any) string {
	var diffs []string
	for _, key := range []string{"type", "format", "$ref"} {
		want, ok := ref[key]
		if !ok {
			continue
		}
		got, ok := ours[key]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s %s, ours none", key, str(want)))
		} else if str(got) != str(want) {
			diffs = append(diffs, fmt.Sprintf("%s %s, ours %s", key, str(want), str(got)))
		}
	}
	return strings.Join(diffs, "; ")
}

// describeType names the type of a parameter schema, following one local
// $ref to a component schema.
func describeType(doc map[string]any, schema map[string]any) string {
	if ref := str(schema["$ref"]); ref != "" {
		if target := resolveLocal(doc, ref); target != nil {
			schema = target
		}
	}
	s := str(schema["type"])
	if f := str(schema["format"]); f != "" {
		s += "/" + f
	}
	if s == "" {
		s = "untyped"
	}
	return s
}

// effectiveParameters returns the parameters of an operation, keyed by
// "name (location)": the path item's parameters overridden by the
// operation's own, with #/components/parameters references resolved.
// References that do not resolve are left out.
func effectiveParameters(doc, item, op map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, list := range [][]any{asSlice(item["parameters"]), asSlice(op["parameters"])} {
		for _, p := range list {
			pm := asMap(p)
			if ref := str(pm["$ref"]); ref != "" {
				pm = resolveLocal(doc, ref)
			}
			if pm == nil {
				continue
			}
			out[fmt.Sprintf("%s (%s)", str(pm["name"]), str(pm["in"]))] = pm
		}
	}
	return out
}

// resolveLocal follows a JSON pointer reference inside doc ("#/a/b/c"). It
// returns nil for references to other documents or to missing nodes.
func resolveLocal(doc map[string]any, ref string) map[string]any {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	node := doc
	for _, part := range strings.Split(rest, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		node = asMap(node[part])
		if node == nil {
			return nil
		}
	}
	return node
}

func mustParse(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse YAML: %v", err)
	}
	return doc
}

// asMap returns v as a string-keyed map. YAML mappings with non-string keys
// (such as an unquoted response code 500) decode as map[any]any; their keys
// are converted with fmt.Sprint.
func asMap(v any) map[string]any {
	switch m := v.(type) {
	case map[string]any:
		return m
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out
	}
	return nil
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
