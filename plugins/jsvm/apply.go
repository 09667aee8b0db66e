package jsvm

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"

	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/middleware/chain"
)

// hookKind is where a request hook runs.
type hookKind int

const (
	kindPre hookKind = iota
	kindAuth
	kindPostKeyAuth
	kindPost
)

func (k hookKind) String() string {
	return [...]string{"pre", "auth_check", "post_key_auth", "post"}[k]
}

// hookSession is the session a hook sees and reports in X-RateLimit-*
// headers: the request's own for session-aware post hooks (nil on a
// keyless API), else an empty one.
func hookSession(kind hookKind, requireSession bool, req *chain.Request) (sess *session.State, live bool) {
	if requireSession && (kind == kindPost || kind == kindPostKeyAuth) {
		return req.Session, true
	}
	return nil, false
}

// applyRequest carries out a request hook's result, in Tyk's order: body,
// URL, headers, query, session metadata, then ReturnOverrides; an
// auth_check result then installs its session.
func (a *apiJS) applyRequest(w http.ResponseWriter, r *http.Request, req *chain.Request, kind hookKind, requireSession bool, out *outcome) error {
	rq := &out.Request
	if out.bodySet && !rq.IgnoreBody {
		setBody(r, out.body)
	}
	if rq.URL != "" && rq.URL != r.URL.RequestURI() {
		u, err := url.Parse(rq.URL)
		if err != nil {
			// Tyk stops applying the result here and carries on.
			a.log.Error("middleware returned an unparsable URL", "url", rq.URL, "error", err)
			return nil
		}
		r.URL.Path, r.URL.RawPath, r.URL.RawQuery = u.Path, u.RawPath, u.RawQuery
	}
	for _, name := range rq.DeleteHeaders {
		r.Header.Del(name)
		if !a.canonical {
			delete(r.Header, name)
		}
	}
	for name, val := range rq.SetHeaders {
		a.setHeader(r.Header, name, val)
	}
	applyParams(r.URL, rq.DeleteParams, rq.AddParams, rq.ExtendedParams)

	sess, live := hookSession(kind, requireSession, req)
	if live && sess != nil && !sameMeta(sess.MetaData, out.SessionMeta) {
		sess.MetaData = stringMeta(out.SessionMeta)
		req.SessionChanged = true
	}

	ro := rq.ReturnOverrides
	if ro.ResponseError != "" {
		ro.ResponseBody = ro.ResponseError
	}
	switch {
	case ro.ResponseCode >= 400 && !ro.OverrideError:
		return &chain.Error{Status: ro.ResponseCode, Message: ro.ResponseBody, Header: a.headerOf(ro.ResponseHeaders)}
	case ro.ResponseCode != 0:
		rate := zeroQuota
		if live {
			rate = quotaOf(sess, a.apiID)
		}
		return a.respond(w, r, req, ro.ResponseCode, a.headerOf(ro.ResponseHeaders), []byte(ro.ResponseBody), rate, kind == kindPost)
	}

	if kind == kindAuth && a.identity {
		s := out.Session
		if s == nil {
			s = &session.State{}
		}
		req.Session, req.Token, req.StoredKey = s, out.AuthValue, ""
		if out.AuthValue != "" && a.env != nil && a.env.Keys != nil {
			req.StoredKey = a.env.Keys.StoredName(out.AuthValue)
			req.SessionChanged = true
		}
	}
	return nil
}

// setBody replaces the request body; Content-Length follows it.
func setBody(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.TransferEncoding = nil
	r.Header.Set("Content-Length", strconv.Itoa(len(b)))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// setHeader sets one header, keeping the name's case when
// ignore_canonical_mime_header_key is on.
func (a *apiJS) setHeader(h http.Header, name, val string) {
	if a.canonical {
		h.Set(name, val)
		return
	}
	h[name] = []string{val}
}

// headerOf turns a script's {name: value} into headers.
func (a *apiJS) headerOf(m map[string]string) http.Header {
	if len(m) == 0 {
		return nil
	}
	h := make(http.Header, len(m))
	for k, v := range m {
		a.setHeader(h, k, v)
	}
	return h
}

// applyParams deletes, sets and appends query parameters. The query is
// re-encoded (keys sorted) only when the parameters really changed.
func applyParams(u *url.URL, del []string, add map[string]string, ext map[string][]string) {
	if len(del)+len(add)+len(ext) == 0 {
		return
	}
	q := u.Query()
	before := u.Query()
	for _, k := range del {
		q.Del(k)
	}
	for k, v := range add {
		q.Set(k, v)
	}
	for k, vs := range ext {
		q[k] = append(q[k], vs...)
	}
	if !reflect.DeepEqual(q, before) {
		u.RawQuery = q.Encode()
	}
}

// sameMeta compares a session's metadata with what a hook returned; an
// absent and an empty map are the same.
func sameMeta(have map[string]any, got map[string]string) bool {
	if len(have) != len(got) {
		return false
	}
	for k, v := range got {
		if s, ok := have[k].(string); !ok || s != v {
			return false
		}
	}
	return true
}

func stringMeta(m map[string]string) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// quota is what X-RateLimit-* headers of a forced response say; nil means
// no headers (no session at all).
type quota = *chain.QuotaReport

var zeroQuota = &chain.QuotaReport{Set: true}

// quotaOf reports a session's quota, from its per-API limit when it has
// one for this API.
func quotaOf(s *session.State, apiID string) quota {
	if s == nil {
		return nil
	}
	q := &chain.QuotaReport{Limit: s.QuotaMax, Remaining: s.QuotaRemaining, Reset: s.QuotaRenews, Set: true}
	if ar, ok := s.AccessRights[apiID]; ok && !ar.Limit.IsEmpty() {
		q.Limit, q.Remaining, q.Reset = ar.Limit.QuotaMax, ar.Limit.QuotaRemaining, ar.Limit.QuotaRenews
	}
	return q
}

// respond sends a response a script made (ReturnOverrides, a virtual
// endpoint): its status, headers and body, plus Server: tyk and the
// X-RateLimit-* headers of the session. With responseChain the API's
// response stages run on it first, as they do on an upstream response.
func (a *apiJS) respond(w http.ResponseWriter, r *http.Request, req *chain.Request, status int, h http.Header, body []byte, q quota, responseChain bool) error {
	if status < 100 || status > 999 {
		a.log.Error("script asked for an invalid status code", "status", status)
		return chain.Fail(http.StatusInternalServerError, MsgInternal)
	}
	if h == nil {
		h = http.Header{}
	}
	h.Set("Server", "tyk")
	if q != nil {
		h.Set("X-RateLimit-Limit", strconv.FormatInt(q.Limit, 10))
		h.Set("X-RateLimit-Remaining", strconv.FormatInt(q.Remaining, 10))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(q.Reset, 10))
	}
	if settings(a.env).CloseConnections {
		h.Set("Connection", "close")
	}
	if responseChain && req.API != nil && len(req.API.ResponseStages) > 0 {
		resp := &http.Response{
			StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status),
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r,
		}
		for _, st := range req.API.ResponseStages {
			if err := st.ProcessResponse(resp, req); err != nil {
				return err
			}
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		status, h, body = resp.StatusCode, resp.Header, b
	}
	dst := w.Header()
	for k, v := range h {
		dst[k] = v
	}
	dst.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return chain.ErrHandled
}
