// Package method applies a version's method_transforms: a request on a
// matching path and method goes upstream with another method.
package method

import (
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/paths"
)

// MsgNotAllowed is Tyk's answer for a transform to a method it does not do.
const MsgNotAllowed = "Method not allowed"

// supported are the methods Tyk transforms to.
var supported = map[string]bool{
	http.MethodGet: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodDelete: true, http.MethodOptions: true, http.MethodPatch: true,
}

// Stage changes request methods.
type Stage struct {
	rules *paths.PathRules[string]
}

// New applies when a version has method_transforms (with use_extended_paths).
func New(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	rules, err := paths.BuildRules(def, env, "method_transforms", func(v apidef.VersionInfo) ([]paths.Entry[string], error) {
		var out []paths.Entry[string]
		for _, e := range v.ExtendedPaths.MethodTransforms {
			if !e.Disabled {
				out = append(out, paths.Entry[string]{Path: e.Path, Method: e.Method, Value: strings.ToUpper(e.ToMethod)})
			}
		}
		return out, nil
	})
	if err != nil || rules == nil {
		return nil, err
	}
	return &Stage{rules: rules}, nil
}

func (*Stage) Name() string { return "TransformMethod" }

func (s *Stage) ProcessRequest(_ http.ResponseWriter, r *http.Request, req *chain.Request) error {
	to, ok := s.rules.Match(r.Method, r.URL.Path, req)
	if !ok {
		return nil
	}
	if !supported[to] {
		return chain.Fail(http.StatusMethodNotAllowed, MsgNotAllowed)
	}
	r.Method = to
	return nil
}
