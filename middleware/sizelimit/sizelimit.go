// Package sizelimit is Tyk's RequestSizeLimitMiddleware: a version's
// global_size_limit and its per-path size_limits, checked against the
// request's Content-Length before the body is read.
package sizelimit

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/paths"
)

// Messages, as Tyk words them.
const (
	MsgLengthRequired = "Content length is required for this request"
	MsgInvalidLength  = "content length is not a valid Integer"
	MsgTooLarge       = "Request is too large"
)

var (
	errLengthRequired = chain.Fail(http.StatusLengthRequired, MsgLengthRequired)
	errInvalidLength  = chain.Fail(http.StatusBadRequest, MsgInvalidLength)
	errTooLarge       = chain.Fail(http.StatusBadRequest, MsgTooLarge)
)

// Stage checks request sizes.
type Stage struct {
	listen   string
	versions *paths.ByVersion[limits]
}

type limits struct {
	global int64
	paths  []paths.Rule[int64]
}

// New applies when a version has a global_size_limit or size_limits.
// Per-path limits match the path without the listen path, and only with
// use_extended_paths, as in Tyk.
func New(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	ignoreCase := paths.IgnoreCase(env)
	vs, err := paths.Build(def, func(v apidef.VersionInfo) (*limits, error) {
		l := &limits{global: v.GlobalSizeLimit}
		if v.UseExtendedPaths {
			for _, e := range v.ExtendedPaths.SizeLimit {
				if e.Disabled {
					continue
				}
				re, err := paths.Compile(e.Path, ignoreCase)
				if err != nil {
					return nil, fmt.Errorf("size_limits: %w", err)
				}
				l.paths = append(l.paths, paths.Rule[int64]{Re: re, Method: e.Method, Value: e.SizeLimit})
			}
		}
		if l.global <= 0 && len(l.paths) == 0 {
			return nil, nil
		}
		return l, nil
	})
	if err != nil || vs == nil {
		return nil, err
	}
	return &Stage{listen: def.Proxy.ListenPath, versions: vs}, nil
}

func (*Stage) Name() string { return "RequestSizeLimitMiddleware" }

// ProcessRequest applies the global limit, then the first matching path
// limit.
func (s *Stage) ProcessRequest(_ http.ResponseWriter, r *http.Request, req *chain.Request) error {
	l := s.versions.For(req)
	if l == nil {
		return nil
	}
	if l.global > 0 {
		if err := check(r, l.global); err != nil {
			return err
		}
	}
	if len(l.paths) == 0 {
		return nil
	}
	if limit, ok := paths.First(l.paths, r.Method, paths.Strip(s.listen, r.URL.Path)); ok {
		return check(r, limit)
	}
	return nil
}

// check compares the stated size (Content-Length, or the body length the
// server worked out if larger) with limit.
func check(r *http.Request, limit int64) error {
	var stated string
	if v := r.Header["Content-Length"]; len(v) > 0 {
		stated = v[0]
	}
	if stated == "" {
		if withoutBody(r) {
			return nil
		}
		return errLengthRequired
	}
	size, err := strconv.ParseInt(stated, 0, 64)
	if err != nil {
		return errInvalidLength
	}
	if r.ContentLength > size {
		size = r.ContentLength
	}
	if size > limit {
		return errTooLarge
	}
	return nil
}

// withoutBody reports a request that carries no body and whose method
// gives a body no meaning (GET, HEAD, DELETE, OPTIONS, TRACE): it has
// nothing to measure, so the missing Content-Length is not refused. Tyk
// 5.4 answers 411 to these as well.
func withoutBody(r *http.Request) bool {
	if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}
