// Package proxy forwards a request that passed its API's stages to the
// upstream: Tyk's path joining and query merging, Host handling,
// X-Forwarded-For, streamed bodies, WebSocket upgrades, and upstream
// failures answered with Tyk's status and message.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
)

// Upstream failure messages, as Tyk words them.
const (
	MsgProxyError   = "There was a problem proxying the request"
	MsgLookupFailed = "Upstream host lookup failed"
	MsgTimeout      = "Upstream service reached hard timeout."
	MsgClientClosed = "Client closed request"
)

// userAgent is sent when the client sent none, as Tyk does.
const userAgent = "Tyk/v5.4.0"

// Proxy is the upstream of one API.
type Proxy struct {
	def     *apidef.Definition
	targets []*url.URL
	next    atomic.Uint64
	rp      *httputil.ReverseProxy
	errors  *chain.ErrorWriter
	respond []chain.ResponseStage
}

type ctxKey struct{}

// New builds the proxy of def. transport is shared by every API so that
// upstream connections are pooled once per process.
func New(def *apidef.Definition, transport http.RoundTripper, errs *chain.ErrorWriter, respond []chain.ResponseStage) (*Proxy, error) {
	raw := []string{def.Proxy.TargetURL}
	if def.Proxy.EnableLoadBalancing && len(def.Proxy.Targets) > 0 {
		raw = def.Proxy.Targets
	}
	p := &Proxy{def: def, errors: errs, respond: respond}
	for _, s := range raw {
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("proxy.target_url %q is not an absolute URL", s)
		}
		p.targets = append(p.targets, u)
	}
	p.rp = &httputil.ReverseProxy{
		Director:     p.direct,
		Transport:    transport,
		ErrorHandler: p.fail,
		// No periodic flushing, as Tyk with flush_interval 0. ReverseProxy
		// still flushes every write of SSE and of bodies without a
		// Content-Length (streams, chunked long polls). A negative value
		// here would cost a timer goroutine and a separate header write
		// per request.
		FlushInterval: 0,
		BufferPool:    bufferPool{},
	}
	if len(respond) > 0 {
		p.rp.ModifyResponse = p.modify
	}
	return p, nil
}

// Serve forwards r. Headers the stages set on w (X-Ratelimit-*) are kept;
// the upstream's own headers are added to them.
func (p *Proxy) Serve(w http.ResponseWriter, r *http.Request, req *chain.Request) {
	if req.Quota.Set {
		h := w.Header()
		h["X-Ratelimit-Limit"] = []string{strconv.FormatInt(req.Quota.Limit, 10)}
		h["X-Ratelimit-Remaining"] = []string{strconv.FormatInt(req.Quota.Remaining, 10)}
		h["X-Ratelimit-Reset"] = []string{strconv.FormatInt(req.Quota.Reset, 10)}
	}
	if req.UpstreamTimeout > 0 || len(p.respond) > 0 || req.Target != nil {
		ctx := r.Context()
		if req.UpstreamTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Duration(req.UpstreamTimeout)*time.Second)
			defer cancel()
		}
		if len(p.respond) > 0 || req.Target != nil {
			ctx = context.WithValue(ctx, ctxKey{}, req)
		}
		r = r.WithContext(ctx)
	}
	p.rp.ServeHTTP(w, r)
}

// direct rewrites the outbound request: target scheme and host, the joined
// path, the merged query and the Host header.
func (p *Proxy) direct(out *http.Request) {
	if req, _ := out.Context().Value(ctxKey{}).(*chain.Request); req != nil && req.Target != nil {
		p.directTo(out, req.Target)
		return
	}
	target := p.targets[0]
	if len(p.targets) > 1 {
		target = p.targets[(p.next.Add(1)-1)%uint64(len(p.targets))]
	}
	path, rawPath := out.URL.Path, out.URL.RawPath
	if p.def.Proxy.StripListenPath {
		path = StripListenPath(path, p.def.Proxy.ListenPath)
		if rawPath != "" {
			rawPath = StripListenPath(rawPath, p.def.Proxy.ListenPath)
		}
	}
	out.URL.Scheme = target.Scheme
	out.URL.Host = target.Host
	out.URL.Path = JoinPath(target.Path, path, p.def.Proxy.DisableStripSlash)
	if rawPath != "" {
		out.URL.RawPath = JoinPath(target.EscapedPath(), rawPath, p.def.Proxy.DisableStripSlash)
	}
	switch {
	case target.RawQuery == "":
	case out.URL.RawQuery == "":
		out.URL.RawQuery = target.RawQuery
	default:
		out.URL.RawQuery = target.RawQuery + "&" + out.URL.RawQuery
	}
	if !p.def.Proxy.PreserveHostHeader {
		out.Host = target.Host
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header.Set("User-Agent", userAgent)
	}
}

// directTo sends the request to a target a URL rewrite chose: its scheme,
// host, path and query as rewritten.
func (p *Proxy) directTo(out *http.Request, t *url.URL) {
	out.URL.Scheme, out.URL.Host = t.Scheme, t.Host
	out.URL.Path, out.URL.RawPath, out.URL.RawQuery = t.Path, t.RawPath, t.RawQuery
	if !p.def.Proxy.PreserveHostHeader {
		out.Host = t.Host
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header.Set("User-Agent", userAgent)
	}
}

// StripListenPath removes the listen path from the front of path, keeping
// a leading slash.
func StripListenPath(path, listen string) string {
	trimmed := strings.TrimSuffix(listen, "/")
	if trimmed == "" || !strings.HasPrefix(path, trimmed) {
		return path
	}
	rest := path[len(trimmed):]
	if rest == "" || rest[0] != '/' {
		rest = "/" + rest
	}
	return rest
}

// JoinPath joins the target path and the request path with exactly one
// slash. An empty or "/" request path gives the target path without its
// trailing slash, unless keepSlash (disable_strip_slash).
func JoinPath(target, path string, keepSlash bool) string {
	if path == "" || path == "/" {
		if keepSlash {
			if target == "" {
				return "/"
			}
			return target
		}
		t := strings.TrimSuffix(target, "/")
		if t == "" {
			return "/"
		}
		return t
	}
	switch {
	case strings.HasSuffix(target, "/") && strings.HasPrefix(path, "/"):
		return target + path[1:]
	case !strings.HasSuffix(target, "/") && !strings.HasPrefix(path, "/"):
		return target + "/" + path
	}
	return target + path
}

// fail answers an upstream failure with Tyk's status and message.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, MsgProxyError
	var dnsErr *net.DNSError
	var netErr net.Error
	var refusal *chain.Error
	switch {
	case errors.As(err, &refusal): // a response stage's refusal
		status, msg = refusal.Status, refusal.Message
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		status, msg = 499, MsgClientClosed
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		status, msg = http.StatusGatewayTimeout, MsgTimeout
	case errors.As(err, &dnsErr):
		msg = MsgLookupFailed
	}
	p.errors.Write(w, r, chain.Fail(status, msg))
}

// modify runs the response stages.
func (p *Proxy) modify(resp *http.Response) error {
	req, _ := resp.Request.Context().Value(ctxKey{}).(*chain.Request)
	for _, st := range p.respond {
		if err := st.ProcessResponse(resp, req); err != nil {
			return err
		}
	}
	return nil
}
