package hooks

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/tollgate/tollgate/gateway/apidef"
)

// extractor pulls the value custom-auth results are cached by
// (custom_middleware.id_extractor).
type extractor struct {
	from     string // header, form, body
	header   string
	param    string
	re       *regexp.Regexp
	reIndex  int
	useRegex bool
}

var errNoID = errors.New("no value to extract an ID from")

// newExtractor builds the ID extractor of an API, or nil when it has none.
func newExtractor(def *apidef.Definition) (*extractor, error) {
	cfg := def.CustomMiddleware.IdExtractor
	if cfg.Disabled || cfg.ExtractFrom == "" || !(def.CustomPluginAuth || def.EnableCoprocessAuth) {
		return nil, nil
	}
	str := func(k string) string { s, _ := cfg.ExtractorConfig[k].(string); return s }
	e := &extractor{from: cfg.ExtractFrom, header: str("header_name"), param: str("param_name")}
	switch cfg.ExtractFrom {
	case "header", "form", "body":
	default:
		return nil, fmt.Errorf("id_extractor.extract_from %q is not one of header, form, body", cfg.ExtractFrom)
	}
	switch cfg.ExtractWith {
	case "value":
		if cfg.ExtractFrom == "body" {
			return nil, errors.New(`id_extractor: extract_with "value" does not apply to the body (use "regex")`)
		}
	case "regex":
		re, err := regexp.Compile(str("regex_expression"))
		if err != nil {
			return nil, fmt.Errorf("id_extractor.extractor_config.regex_expression: %w", err)
		}
		e.re, e.useRegex = re, true
		if n, ok := cfg.ExtractorConfig["regex_match_index"].(float64); ok {
			e.reIndex = int(n)
		}
	case "xpath":
		return nil, errors.New(`id_extractor: extract_with "xpath" is not supported by Tollgate (use "regex")`)
	default:
		return nil, fmt.Errorf("id_extractor.extract_with %q is not one of value, regex", cfg.ExtractWith)
	}
	if cfg.ExtractFrom == "header" && e.header == "" {
		return nil, errors.New("id_extractor.extractor_config.header_name is empty")
	}
	if cfg.ExtractFrom == "form" && e.param == "" {
		return nil, errors.New("id_extractor.extractor_config.param_name is empty")
	}
	return e, nil
}

// extract returns the ID value of a request; the body stays readable.
func (e *extractor) extract(r *http.Request) (string, error) {
	var v string
	switch e.from {
	case "header":
		v = r.Header.Get(e.header)
	case "body", "form":
		body, err := readBody(r)
		if err != nil {
			return "", err
		}
		if e.from == "body" {
			v = string(body)
			break
		}
		vals := formValues(r, body)
		v = strings.Join(vals[e.param], "")
	}
	if e.useRegex {
		all := e.re.FindAllString(v, -1)
		if e.reIndex < 0 || e.reIndex >= len(all) {
			return "", errNoID
		}
		v = all[e.reIndex]
	}
	if v == "" {
		return "", errNoID
	}
	return v, nil
}

// formValues parses the query and a URL-encoded body without consuming
// the request body.
func formValues(r *http.Request, body []byte) url.Values {
	vals := r.URL.Query()
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		if bv, err := url.ParseQuery(string(bytes.TrimSpace(body))); err == nil {
			for k, vs := range bv {
				vals[k] = append(vs, vals[k]...)
			}
		}
	}
	return vals
}
