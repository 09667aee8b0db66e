package hooks

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/plugins/proto/coprocess"
)

// readBody reads the whole request body and puts an identical reader
// back, so later stages and the upstream still see it.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

// miniRequest snapshots r for a plugin: first header and query values, the
// body (as text only when it is UTF-8 and the hook wants it), and a
// ReturnOverrides with response_code -1, meaning "no override".
func miniRequest(r *http.Request, body []byte, rawOnly bool) *coprocess.MiniRequestObject {
	m := &coprocess.MiniRequestObject{
		Headers:         make(map[string]string, len(r.Header)+1),
		Params:          map[string]string{},
		Url:             r.URL.RequestURI(),
		Method:          r.Method,
		RequestUri:      r.RequestURI,
		Scheme:          "http",
		RawBody:         body,
		ReturnOverrides: &coprocess.ReturnOverrides{ResponseCode: -1},
	}
	if r.TLS != nil {
		m.Scheme = "https"
	}
	for k, vs := range r.Header {
		if len(vs) > 0 {
			m.Headers[http.CanonicalHeaderKey(k)] = vs[0]
		}
	}
	m.Headers["Host"] = r.Host
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			m.Params[k] = vs[0]
		}
	}
	if !rawOnly && utf8.Valid(body) {
		m.Body = string(body)
	}
	return m
}

// applyRequest installs a plugin's changes on r, in Tyk's order: body
// (from raw_body), deleted then set headers, URL, method, deleted then
// added query parameters. A URL that does not parse is an error.
func applyRequest(r *http.Request, m *coprocess.MiniRequestObject) error {
	if m == nil {
		return nil
	}
	setBody(r, m.GetRawBody())
	for _, k := range m.GetDeleteHeaders() {
		r.Header.Del(k)
	}
	for k, v := range m.GetSetHeaders() {
		if http.CanonicalHeaderKey(k) == "Host" {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	if raw := m.GetUrl(); raw != "" && raw != r.URL.RequestURI() {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			return fmt.Errorf("plugin returned a bad url %q: %w", raw, err)
		}
		r.URL.Path, r.URL.RawPath, r.URL.RawQuery = u.Path, u.RawPath, u.RawQuery
	}
	if m.GetMethod() != "" {
		r.Method = m.GetMethod()
	}
	if len(m.GetDeleteParams()) > 0 || len(m.GetAddParams()) > 0 {
		q := r.URL.Query()
		for _, k := range m.GetDeleteParams() {
			q.Del(k)
		}
		for k, v := range m.GetAddParams() {
			q.Set(k, v)
		}
		r.URL.RawQuery = q.Encode()
	}
	return nil
}

// setBody makes b the request body, with a matching length.
func setBody(r *http.Request, b []byte) {
	r.TransferEncoding = nil
	r.ContentLength = int64(len(b))
	if len(b) == 0 {
		r.Body = http.NoBody
	} else {
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	if _, ok := r.Header["Content-Length"]; ok || len(b) > 0 {
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
	}
}

// RequestStage runs the pre, post_key_auth or post hooks of an API, in
// array order.
type RequestStage struct {
	def   *apidef.Definition
	opts  Options
	spec  map[string]string
	hooks []hook
	name  string
}

// slotKinds maps pipeline slots to hook types.
var slotKinds = map[chain.Slot]coprocess.HookType{
	chain.SlotPre:         coprocess.HookType_Pre,
	chain.SlotPostKeyAuth: coprocess.HookType_PostKeyAuth,
	chain.SlotPost:        coprocess.HookType_Post,
}

// NewRequestStage builds the stage of one slot (pre, post_key_auth, post),
// or nil when the API has no enabled hook there. Keyless APIs have no
// post_key_auth hooks, as in Tyk.
func NewRequestStage(def *apidef.Definition, slot chain.Slot, resolve Resolve, opts Options) (chain.Stage, error) {
	kind, ok := slotKinds[slot]
	if !ok {
		return nil, fmt.Errorf("hooks: no request hooks in slot %q", slot)
	}
	var mds []apidef.MiddlewareDefinition
	switch slot {
	case chain.SlotPre:
		mds = def.CustomMiddleware.Pre
	case chain.SlotPostKeyAuth:
		if def.UseKeyless {
			return nil, nil
		}
		mds = def.CustomMiddleware.PostKeyAuth
	case chain.SlotPost:
		mds = def.CustomMiddleware.Post
	}
	hs, err := resolveAll(kind, mds, resolve)
	if err != nil || len(hs) == 0 {
		return nil, err
	}
	return &RequestStage{def: def, opts: opts, spec: specOf(def), hooks: hs,
		name: "CoProcess" + kind.String() + "(" + opts.Driver + ")"}, nil
}

func (s *RequestStage) Name() string { return s.name }

// ProcessRequest calls each hook in turn; a refusal or a direct answer
// stops the chain.
func (s *RequestStage) ProcessRequest(w http.ResponseWriter, r *http.Request, req *chain.Request) error {
	for i := range s.hooks {
		if err := s.run(w, r, req, &s.hooks[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *RequestStage) run(w http.ResponseWriter, r *http.Request, req *chain.Request, h *hook) error {
	body, err := readBody(r)
	if err != nil {
		s.opts.logFailure(s.def, h, fmt.Errorf("reading the request body: %w", err))
		return chain.Fail(http.StatusInternalServerError, MsgMiddlewareError)
	}
	obj := &coprocess.Object{HookType: h.kind, HookName: h.name, Request: miniRequest(r, body, h.rawOnly), Spec: s.spec}
	if req.Session != nil && h.kind != coprocess.HookType_Pre {
		obj.Session = ToProto(req.Session)
		obj.Metadata = obj.Session.Metadata
	}
	out, err := s.opts.call(r.Context(), h, obj)
	if err != nil {
		s.opts.logFailure(s.def, h, err)
		return chain.Fail(http.StatusInternalServerError, MsgMiddlewareError)
	}
	if err := applyRequest(r, out.GetRequest()); err != nil {
		s.opts.logFailure(s.def, h, err)
		return chain.Fail(http.StatusInternalServerError, MsgMiddlewareError)
	}
	return overrides(w, out.GetRequest().GetReturnOverrides())
}
