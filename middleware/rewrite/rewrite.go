// Package rewrite applies a version's url_rewrites: on a matching path and
// method, match_pattern runs on the request URI as received (path with the
// listen path, and the raw query) and rewrite_to, with $1..$n replaced by
// its captures and $tyk_meta / $tyk_context references filled in, becomes
// the request's new path and query. A result with its own scheme and host
// sends this request to that host instead of the API's target.
package rewrite

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/headers"
	"github.com/tollgate/tollgate/middleware/paths"
)

// MsgLooping refuses tyk:// targets, which Tollgate does not serve yet.
const MsgLooping = "Looping to another API (tyk://) is not supported"

type rule struct {
	match *regexp.Regexp
	to    string
}

// Stage rewrites request URLs.
type Stage struct {
	rules *paths.PathRules[rule]
}

// New applies when a version has url_rewrites (with use_extended_paths).
func New(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	rules, err := paths.BuildRules(def, env, "url_rewrites", func(v apidef.VersionInfo) ([]paths.Entry[rule], error) {
		var out []paths.Entry[rule]
		for _, e := range v.ExtendedPaths.URLRewrites {
			if e.Disabled {
				continue
			}
			m, err := regexp.Compile(e.MatchPattern)
			if err != nil {
				return nil, fmt.Errorf("match_pattern %q: %v", e.MatchPattern, err)
			}
			if len(e.Triggers) > 0 && env.Log != nil {
				env.Log.Warn("url_rewrites triggers are not supported yet; the plain rewrite applies",
					slog.String("api_id", def.APIID), slog.String("path", e.Path))
			}
			out = append(out, paths.Entry[rule]{Path: e.Path, Method: e.Method, Value: rule{match: m, to: e.RewriteTo}})
		}
		return out, nil
	})
	if err != nil || rules == nil {
		return nil, err
	}
	return &Stage{rules: rules}, nil
}

func (*Stage) Name() string { return "URLRewriteMiddleware" }

func (s *Stage) ProcessRequest(_ http.ResponseWriter, r *http.Request, req *chain.Request) error {
	rl, ok := s.rules.Match(r.Method, r.URL.Path, req)
	if !ok {
		return nil
	}
	uri := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		uri += "?" + r.URL.RawQuery
	}
	m := rl.match.FindStringSubmatch(uri)
	if m == nil {
		return nil
	}
	out := headers.Expand(captures(rl.to, m), r, req)
	u, err := url.Parse(out)
	if err != nil {
		return chain.Fail(http.StatusInternalServerError, "URL rewrite produced an invalid URL")
	}
	switch {
	case u.Scheme == "tyk":
		return chain.Fail(http.StatusInternalServerError, MsgLooping)
	case u.Scheme != "" && u.Host != "":
		req.Target = u
	default:
		r.URL.Path, r.URL.RawPath, r.URL.RawQuery = u.Path, u.RawPath, u.RawQuery
	}
	return nil
}

// captures replaces $1..$n (not $tyk_... references) with the matches.
func captures(to string, m []string) string {
	if !strings.Contains(to, "$") {
		return to
	}
	var b strings.Builder
	for i := 0; i < len(to); i++ {
		if to[i] != '$' {
			b.WriteByte(to[i])
			continue
		}
		j := i + 1
		for j < len(to) && to[j] >= '0' && to[j] <= '9' {
			j++
		}
		if j == i+1 {
			b.WriteByte('$')
			continue
		}
		if n, err := strconv.Atoi(to[i+1 : j]); err == nil && n < len(m) {
			b.WriteString(m[n])
		}
		i = j - 1
	}
	return b.String()
}
