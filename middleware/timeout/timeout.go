// Package timeout applies a version's hard_timeouts: the first entry whose
// path (listen path removed) and method match sets the upstream deadline,
// which the proxy enforces with Tyk's 504.
package timeout

import (
	"net/http"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/paths"
)

// Stage sets chain.Request.UpstreamTimeout.
type Stage struct {
	rules *paths.PathRules[int]
}

// New applies when a version has hard_timeouts (with use_extended_paths).
func New(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	rules, err := paths.BuildRules(def, env, "hard_timeouts", func(v apidef.VersionInfo) ([]paths.Entry[int], error) {
		var out []paths.Entry[int]
		for _, e := range v.ExtendedPaths.HardTimeouts {
			if !e.Disabled && e.TimeOut > 0 {
				out = append(out, paths.Entry[int]{Path: e.Path, Method: e.Method, Value: e.TimeOut})
			}
		}
		return out, nil
	})
	if err != nil || rules == nil {
		return nil, err
	}
	return &Stage{rules: rules}, nil
}

func (*Stage) Name() string { return "HardTimeout" }

func (s *Stage) ProcessRequest(_ http.ResponseWriter, r *http.Request, req *chain.Request) error {
	if secs, ok := s.rules.Match(r.Method, r.URL.Path, req); ok {
		req.UpstreamTimeout = secs
	}
	return nil
}
