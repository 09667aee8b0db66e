// Package method applies a version's method_transforms: a request on a
// matching path and method goes upstream with another method.
package method

import (
	"fmt"
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
	listen   string
	versions *paths.ByVersion[[]paths.Rule[string]]
}

// New applies when a version has method_transforms (with use_extended_paths).
func New(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	ignoreCase := paths.IgnoreCase(env)
	vs, err := paths.Build(def, func(v apidef.VersionInfo) (*[]paths.Rule[string], error) {
		if !v.UseExtendedPaths {
			return nil, nil
		}
		var rules []paths.Rule[string]
		for _, e := range v.ExtendedPaths.MethodTransforms {
			if e.Disabled {
				continue
			}
			re, err := paths.Compile(e.Path, ignoreCase)
			if err != nil {
				return nil, fmt.Errorf("method_transforms: %w", err)
			}
			rules = append(rules, paths.Rule[string]{Re: re, Method: e.Method, Value: strings.ToUpper(e.ToMethod)})
		}
		if len(rules) == 0 {
			return nil, nil
		}
		return &rules, nil
	})
	if err != nil || vs == nil {
		return nil, err
	}
	return &Stage{listen: def.Proxy.ListenPath, versions: vs}, nil
}

func (*Stage) Name() string { return "TransformMethod" }

func (s *Stage) ProcessRequest(_ http.ResponseWriter, r *http.Request, req *chain.Request) error {
	rules := s.versions.For(req)
	if rules == nil {
		return nil
	}
	to, ok := paths.First(*rules, r.Method, paths.Strip(s.listen, r.URL.Path))
	if !ok {
		return nil
	}
	if !supported[to] {
		return chain.Fail(http.StatusMethodNotAllowed, MsgNotAllowed)
	}
	r.Method = to
	return nil
}
