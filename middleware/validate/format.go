package validate

import (
	"encoding/json"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var english = message.NewPrinter(language.English)

// Describe renders a validation failure as Tyk does with gojsonschema:
// one "<field>: <description>" per error, joined by "; ". The field is the
// property for required and additional-property errors, else the dotted
// path of the value ("(root)" for the document itself).
func Describe(ve *jsonschema.ValidationError, doc any) string {
	var out []string
	describe(ve, doc, &out)
	return strings.Join(out, "; ")
}

func describe(e *jsonschema.ValidationError, doc any, out *[]string) {
	add := func(field, desc string) { *out = append(*out, field+": "+desc) }
	field := fieldOf(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.Reference:
		// The validator visits properties in map order; sorting by
		// location makes the message stable (an object's own errors first).
		causes := append([]*jsonschema.ValidationError(nil), e.Causes...)
		sort.SliceStable(causes, func(i, j int) bool {
			return slices.Compare(causes[i].InstanceLocation, causes[j].InstanceLocation) < 0
		})
		for _, c := range causes {
			describe(c, doc, out)
		}
	case *kind.AllOf:
		for _, c := range e.Causes {
			describe(c, doc, out)
		}
		add(field, "Must validate all the schemas (allOf)")
	case *kind.AnyOf:
		add(field, "Must validate at least one schema (anyOf)")
		if c := closest(e); c != nil {
			describe(c, doc, out)
		}
	case *kind.OneOf:
		add(field, "Must validate one and only one schema (oneOf)")
		if len(k.Subschemas) == 0 {
			if c := closest(e); c != nil {
				describe(c, doc, out)
			}
		}
	case *kind.Not:
		add(field, "Must not validate the schema (not)")
	case *kind.Required:
		for _, p := range k.Missing {
			add(p, p+" is required")
		}
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			add(p, "Additional property "+p+" is not allowed")
		}
	case *kind.Dependency:
		for _, p := range k.Missing {
			add(field, "Has a dependency on "+p)
		}
	case *kind.Type:
		add(field, "Invalid type. Expected: "+expected(k.Want)+", given: "+given(at(doc, e.InstanceLocation)))
	case *kind.Enum:
		vals := make([]string, len(k.Want))
		for i, v := range k.Want {
			vals[i] = jsonText(v)
		}
		add(field, field+" must be one of the following: "+strings.Join(vals, ", "))
	case *kind.Const:
		add(field, field+" does not match: "+jsonText(k.Want))
	case *kind.Pattern:
		add(field, "Does not match pattern '"+k.Want+"'")
	case *kind.Format:
		add(field, "Does not match format '"+k.Want+"'")
	case *kind.MinLength:
		add(field, "String length must be greater than or equal to "+strconv.Itoa(k.Want))
	case *kind.MaxLength:
		add(field, "String length must be less than or equal to "+strconv.Itoa(k.Want))
	case *kind.Minimum:
		add(field, "Must be greater than or equal to "+number(k.Want))
	case *kind.ExclusiveMinimum:
		add(field, "Must be greater than "+number(k.Want))
	case *kind.Maximum:
		add(field, "Must be less than or equal to "+number(k.Want))
	case *kind.ExclusiveMaximum:
		add(field, "Must be less than "+number(k.Want))
	case *kind.MultipleOf:
		add(field, "Must be a multiple of "+number(k.Want))
	case *kind.MinItems:
		add(field, "Array must have at least "+strconv.Itoa(k.Want)+" items")
	case *kind.MaxItems:
		add(field, "Array must have at most "+strconv.Itoa(k.Want)+" items")
	case *kind.UniqueItems:
		add(field, "array items must be unique")
	case *kind.AdditionalItems:
		add(field, "No additional items allowed on array")
	case *kind.MinProperties:
		add(field, "Must have at least "+strconv.Itoa(k.Want)+" properties")
	case *kind.MaxProperties:
		add(field, "Must have at most "+strconv.Itoa(k.Want)+" properties")
	case *kind.FalseSchema:
		add(field, "False always fails validation")
	default:
		add(field, e.ErrorKind.LocalizedString(english))
	}
}

// closest picks the failed branch of anyOf/oneOf the document came
// nearest to, as gojsonschema does: the one with fewest errors, and not one
// that failed on the value's type.
func closest(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	var best *jsonschema.ValidationError
	bestScore := 0
	for _, c := range e.Causes {
		score := leaves(c)
		if _, ok := c.ErrorKind.(*kind.Type); ok {
			score += 1 << 20
		}
		if best == nil || score < bestScore {
			best, bestScore = c, score
		}
	}
	return best
}

func leaves(e *jsonschema.ValidationError) int {
	if len(e.Causes) == 0 {
		return 1
	}
	n := 0
	for _, c := range e.Causes {
		n += leaves(c)
	}
	return n
}

func fieldOf(loc []string) string {
	if len(loc) == 0 {
		return "(root)"
	}
	return strings.Join(loc, ".")
}

// at finds the value at loc in doc.
func at(doc any, loc []string) any {
	for _, p := range loc {
		switch v := doc.(type) {
		case map[string]any:
			doc = v[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(v) {
				return nil
			}
			doc = v[i]
		default:
			return nil
		}
	}
	return doc
}

// given names a value's JSON type as gojsonschema does: whole numbers are
// "integer".
func given(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		if r, ok := new(big.Rat).SetString(string(v)); ok && r.IsInt() {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func expected(types []string) string {
	if len(types) == 1 {
		return types[0]
	}
	return "[" + strings.Join(types, ",") + "]"
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

func number(r *big.Rat) string {
	if r == nil {
		return "0"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}
