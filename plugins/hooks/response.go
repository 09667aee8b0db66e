package hooks

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/plugins/proto/coprocess"
)

// ResponseStage runs the response hooks of an API on the upstream's
// response, in array order.
type ResponseStage struct {
	def   *apidef.Definition
	opts  Options
	spec  map[string]string
	hooks []hook
}

// NewResponseStage builds the response stage, or nil when the API has no
// enabled response hook.
func NewResponseStage(def *apidef.Definition, resolve Resolve, opts Options) (chain.ResponseStage, error) {
	hs, err := resolveAll(coprocess.HookType_Response, def.CustomMiddleware.Response, resolve)
	if err != nil || len(hs) == 0 {
		return nil, err
	}
	return &ResponseStage{def: def, opts: opts, spec: specOf(def), hooks: hs}, nil
}

func (s *ResponseStage) Name() string { return "CoProcessResponse(" + s.opts.Driver + ")" }

// ProcessResponse sends the response to each hook and installs what it
// returns. A failed call discards the upstream response: the client gets
// 500 "Middleware error".
func (s *ResponseStage) ProcessResponse(resp *http.Response, req *chain.Request) error {
	for i := range s.hooks {
		if err := s.run(resp, req, &s.hooks[i]); err != nil {
			s.opts.logFailure(s.def, &s.hooks[i], err)
			return chain.Fail(http.StatusInternalServerError, MsgMiddlewareError)
		}
	}
	return nil
}

func (s *ResponseStage) run(resp *http.Response, req *chain.Request, h *hook) error {
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading the upstream response: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	sess := &coprocess.SessionState{}
	if req != nil && req.Session != nil {
		sess = ToProto(req.Session)
	}
	obj := &coprocess.Object{
		HookType: h.kind, HookName: h.name, Spec: s.spec, Session: sess, Metadata: sess.Metadata,
		Request:  miniRequest(resp.Request, nil, h.rawOnly),
		Response: responseObject(resp, body, h.rawOnly),
	}
	out, err := s.opts.call(resp.Request.Context(), h, obj)
	if err != nil {
		return err
	}
	ro := out.GetResponse()
	if ro == nil {
		return fmt.Errorf("plugin returned no response")
	}
	applyResponse(resp, obj.Response, ro)
	return nil
}

func responseObject(resp *http.Response, body []byte, rawOnly bool) *coprocess.ResponseObject {
	ro := &coprocess.ResponseObject{StatusCode: int32(resp.StatusCode), RawBody: body, Headers: map[string]string{}}
	if !rawOnly && utf8.Valid(body) {
		ro.Body = string(body)
	}
	for k, vs := range resp.Header {
		if len(vs) > 0 {
			ro.Headers[k] = vs[0]
		}
		ro.MultivalueHeaders = append(ro.MultivalueHeaders, &coprocess.Header{Key: k, Values: vs})
	}
	return ro
}

// applyResponse installs the hook's response: headers from
// multivalue_headers after reconciling them with the single-value map
// (changed or added names become single-valued, removed names go), body
// from raw_body, and the status. Content-Length is recomputed.
func applyResponse(resp *http.Response, sent, got *coprocess.ResponseObject) {
	multi := map[string][]string{}
	var order []string
	for _, h := range got.GetMultivalueHeaders() {
		if _, ok := multi[h.GetKey()]; !ok {
			order = append(order, h.GetKey())
		}
		multi[h.GetKey()] = h.GetValues()
	}
	if !sameMap(sent.GetHeaders(), got.GetHeaders()) {
		for k, v := range got.GetHeaders() {
			if old, ok := sent.GetHeaders()[k]; !ok || old != v {
				if _, ok := multi[k]; !ok {
					order = append(order, k)
				}
				multi[k] = []string{v}
			}
		}
		for k := range sent.GetHeaders() {
			if _, ok := got.GetHeaders()[k]; !ok {
				delete(multi, k)
			}
		}
	}
	h := http.Header{}
	for _, k := range order {
		if vs, ok := multi[k]; ok {
			for _, v := range vs {
				h.Add(k, v)
			}
		}
	}
	resp.Header = h
	body := got.GetRawBody()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.TransferEncoding = nil
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	if code := int(got.GetStatusCode()); code >= 100 && code <= 999 {
		resp.StatusCode = code
		resp.Status = strconv.Itoa(code) + " " + http.StatusText(code)
	}
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
