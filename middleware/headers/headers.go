// Package headers injects and removes headers: a version's global request
// and response headers and the per-path transform_headers and
// transform_response_headers. Path entries apply first, then the global
// ones (Tyk's order). Values may name session metadata ($tyk_meta.<key>)
// and a few request values ($tyk_context.<name>: remote_addr, path,
// request_id, token, and headers_<Header_Name>).
package headers

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/paths"
)

// change is one set of header edits.
type change struct {
	remove []string
	add    [][2]string // name, value template; order kept for stable output
}

// config is one version's edits for one direction.
type config struct {
	path   []paths.Rule[change]
	global *change
}

func compile(entries []apidef.HeaderInjectionMeta, global map[string]string, globalRemove []string, globalOff bool, ignoreCase bool) (*config, error) {
	var c config
	for _, e := range entries {
		if e.Disabled {
			continue
		}
		re, err := paths.Compile(e.Path, ignoreCase)
		if err != nil {
			return nil, fmt.Errorf("header transform: %w", err)
		}
		c.path = append(c.path, paths.Rule[change]{Re: re, Method: e.Method, Value: makeChange(e.AddHeaders, e.DeleteHeaders)})
	}
	if !globalOff && (len(global) > 0 || len(globalRemove) > 0) {
		g := makeChange(global, globalRemove)
		c.global = &g
	}
	if len(c.path) == 0 && c.global == nil {
		return nil, nil
	}
	return &c, nil
}

func makeChange(add map[string]string, remove []string) change {
	c := change{remove: remove}
	for k, v := range add {
		c.add = append(c.add, [2]string{k, v})
	}
	return c
}

// apply edits h; expand fills in $tyk_meta and $tyk_context references.
func (c *change) apply(h http.Header, expand func(string) string) {
	for _, name := range c.remove {
		h.Del(name)
	}
	for _, kv := range c.add {
		h.Set(kv[0], expand(kv[1]))
	}
}

// edits is one direction's header edits for every version of an API.
type edits struct {
	listen   string
	versions *paths.ByVersion[config]
}

// section picks a version's entries and global settings for one direction.
type section func(v apidef.VersionInfo) (entries []apidef.HeaderInjectionMeta, add map[string]string, remove []string, off bool)

// build compiles one direction's edits; nil when no version has any.
func build(def *apidef.Definition, env *chain.Env, pick section) (*edits, error) {
	ignoreCase := paths.IgnoreCase(env)
	vs, err := paths.Build(def, func(v apidef.VersionInfo) (*config, error) {
		entries, add, remove, off := pick(v)
		if !v.UseExtendedPaths {
			entries = nil
		}
		return compile(entries, add, remove, off, ignoreCase)
	})
	if err != nil || vs == nil {
		return nil, err
	}
	return &edits{listen: def.Proxy.ListenPath, versions: vs}, nil
}

// apply makes the path edits, then the global ones, on h.
func (e *edits) apply(h http.Header, method, path string, r *http.Request, req *chain.Request) {
	c := e.versions.For(req)
	if c == nil {
		return
	}
	expand := expander(r, req)
	if ch, ok := paths.First(c.path, method, paths.Strip(e.listen, path)); ok {
		ch.apply(h, expand)
	}
	if c.global != nil {
		c.global.apply(h, expand)
	}
}

// Request is the request-side stage.
type Request struct{ edits *edits }

// New applies when a version has global headers or transform_headers.
func New(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	e, err := build(def, env, func(v apidef.VersionInfo) ([]apidef.HeaderInjectionMeta, map[string]string, []string, bool) {
		return v.ExtendedPaths.TransformHeader, v.GlobalHeaders, v.GlobalHeadersRemove, v.GlobalHeadersDisabled
	})
	if err != nil || e == nil {
		return nil, err
	}
	return &Request{edits: e}, nil
}

func (*Request) Name() string { return "TransformHeaders" }

func (s *Request) ProcessRequest(_ http.ResponseWriter, r *http.Request, req *chain.Request) error {
	s.edits.apply(r.Header, r.Method, r.URL.Path, r, req)
	return nil
}

// Response is the response-side stage (the header injector). It matches
// on the request as the client sent it.
type Response struct{ edits *edits }

// NewResponse applies when a version has global response headers or
// transform_response_headers.
func NewResponse(def *apidef.Definition, env *chain.Env) (chain.ResponseStage, error) {
	e, err := build(def, env, func(v apidef.VersionInfo) ([]apidef.HeaderInjectionMeta, map[string]string, []string, bool) {
		return v.ExtendedPaths.TransformResponseHeader, v.GlobalResponseHeaders, v.GlobalResponseHeadersRemove, v.GlobalResponseHeadersDisabled
	})
	if err != nil || e == nil {
		return nil, err
	}
	return &Response{edits: e}, nil
}

func (*Response) Name() string { return "HeaderInjector" }

func (s *Response) ProcessResponse(resp *http.Response, req *chain.Request) error {
	if req != nil {
		s.edits.apply(resp.Header, req.Method, req.Path, resp.Request, req)
	}
	return nil
}

// expander binds Expand to one request.
func expander(r *http.Request, req *chain.Request) func(string) string {
	return func(v string) string { return Expand(v, r, req) }
}

// Expand resolves $tyk_meta.<key> from the session's metadata and a few
// $tyk_context values in v; unknown references are left as written.
func Expand(v string, r *http.Request, req *chain.Request) string {
	if !strings.Contains(v, "$tyk_") {
		return v
	}
	return refs.ReplaceAllStringFunc(v, func(ref string) string {
		kind, name, _ := strings.Cut(strings.TrimPrefix(ref, "$tyk_"), ".")
		if got, ok := lookup(kind, name, r, req); ok {
			return got
		}
		return ref
	})
}

func lookup(kind, name string, r *http.Request, req *chain.Request) (string, bool) {
	switch kind {
	case "meta":
		if req.Session == nil {
			return "", false
		}
		v, ok := req.Session.MetaData[name]
		if !ok {
			return "", false
		}
		if s, isString := v.(string); isString {
			return s, true
		}
		return fmt.Sprint(v), true
	case "context":
		switch {
		case name == "remote_addr":
			host := r.RemoteAddr
			if i := strings.LastIndexByte(host, ':'); i > 0 {
				host = host[:i]
			}
			return host, true
		case name == "path":
			return r.URL.Path, true
		case name == "token":
			return req.Token, req.Token != ""
		case name == "request_id":
			id := r.Header.Get("X-Request-Id")
			return id, id != ""
		case strings.HasPrefix(name, "headers_"):
			h := strings.ReplaceAll(strings.TrimPrefix(name, "headers_"), "_", "-")
			v := r.Header.Get(h)
			return v, v != ""
		}
	}
	return "", false
}
