// Package timeout applies a version's hard_timeouts: the first entry whose
// path (listen path removed) and method match sets the upstream deadline,
// which the proxy enforces with Tyk's 504.
package timeout

import (
	"fmt"
	"net/http"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/paths"
)

// Stage sets chain.Request.UpstreamTimeout.
type Stage struct {
	listen   string
	versions *paths.ByVersion[[]paths.Rule[int]]
}

// New applies when a version has hard_timeouts (with use_extended_paths).
func New(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	ignoreCase := paths.IgnoreCase(env)
	vs, err := paths.Build(def, func(v apidef.VersionInfo) (*[]paths.Rule[int], error) {
		if !v.UseExtendedPaths {
			return nil, nil
		}
		var rules []paths.Rule[int]
		for _, e := range v.ExtendedPaths.HardTimeouts {
			if e.Disabled || e.TimeOut <= 0 {
				continue
			}
			re, err := paths.Compile(e.Path, ignoreCase)
			if err != nil {
				return nil, fmt.Errorf("hard_timeouts: %w", err)
			}
			rules = append(rules, paths.Rule[int]{Re: re, Method: e.Method, Value: e.TimeOut})
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

func (*Stage) Name() string { return "HardTimeout" }

func (s *Stage) ProcessRequest(_ http.ResponseWriter, r *http.Request, req *chain.Request) error {
	rules := s.versions.For(req)
	if rules == nil {
		return nil
	}
	if secs, ok := paths.First(*rules, r.Method, paths.Strip(s.listen, r.URL.Path)); ok {
		req.UpstreamTimeout = secs
	}
	return nil
}
