// Package chain is the request pipeline of one API: an ordered list of
// named stages built once when definitions load, and the single place that
// turns a stage's refusal into Tyk's error body.
//
// A stage either passes the request on (returns nil), refuses it (returns
// an *Error carrying status and message), or answers it itself (writes the
// response and returns ErrHandled). Stages never write error bodies.
package chain

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/tollgate/tollgate/gateway/session"
)

// Error is a stage's refusal: the status and message of Tyk's error body.
type Error struct {
	Status  int
	Message string
	// Header holds extra response headers (WWW-Authenticate, ...).
	Header http.Header
}

func (e *Error) Error() string { return e.Message }

// Fail builds a refusal.
func Fail(status int, message string) *Error { return &Error{Status: status, Message: message} }

// ErrHandled means the stage wrote the response itself (a mock reply, a
// virtual endpoint, a plugin's direct answer); the chain stops silently.
var ErrHandled = errors.New("chain: response already written")

// Stage is one step of an API's request pipeline.
type Stage interface {
	Name() string
	ProcessRequest(w http.ResponseWriter, r *http.Request, req *Request) error
}

// ResponseStage is one step of the response pipeline, run after the
// upstream answered and before the response is sent.
type ResponseStage interface {
	Name() string
	ProcessResponse(resp *http.Response, req *Request) error
}

// Request is the state the stages of one request share. The chain takes it
// from a pool, so stages must not keep it after the request.
type Request struct {
	API *API
	// Method and Path are the request's as the client sent them (stages
	// may rewrite the request; response stages match on these).
	Method, Path string
	// Version is the version name the version check resolved.
	Version string
	// Ignored is set when the path matched an ignored rule: auth, access
	// checks, rate limits and quotas are skipped.
	Ignored bool
	// Token is the credential as presented (Bearer prefix removed).
	Token string
	// Session is the key's session with policies applied; nil when keyless.
	Session *session.State
	// StoredKey is the name the session is stored under (key ID or hash);
	// counters are keyed by it.
	StoredKey string
	// SessionChanged asks the chain to write the session back.
	SessionChanged bool
	// Quota is reported in X-Ratelimit-* headers on success.
	Quota QuotaReport
	// UpstreamTimeout, when set, bounds the upstream call (hard_timeouts).
	UpstreamTimeout int
	// Target, when set, replaces the API's target for this request (a URL
	// rewrite to another host); the request's path and query are used as
	// they stand.
	Target *url.URL
	// Cache, when Key is set, asks the response stages to store the
	// upstream's answer under Key.
	Cache CacheDirective
}

// CacheDirective says how to cache this request's response.
type CacheDirective struct {
	Key   string
	TTL   time.Duration
	Codes []int // cacheable statuses; empty = any
	// UpstreamDecides: store only if the upstream asks for it
	// (enable_upstream_cache_control on a path not otherwise cached).
	UpstreamDecides bool
}

// QuotaReport is what the X-Ratelimit-* headers carry: Tyk reports the
// quota there, not the rate limit.
type QuotaReport struct {
	Limit, Remaining, Reset int64
	Set                     bool
}

func (r *Request) reset(api *API, in *http.Request) {
	*r = Request{API: api, Method: in.Method, Path: in.URL.Path}
}
