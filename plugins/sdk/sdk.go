// Package sdk writes Tollgate plugins in Go. A plugin is an ordinary
// executable: fill a Plugin with the hooks you need and call Serve from
// main. Started by the gateway (driver "managed") it talks go-plugin's
// protocol; started by hand with a listen address it is a Tyk-compatible
// gRPC plugin server (driver "grpc").
//
//	func main() {
//		sdk.Serve(sdk.Plugin{
//			Pre: func(ctx context.Context, req *sdk.Request) (*sdk.Result, error) {
//				req.Header.Set("X-Hello", "world")
//				return nil, nil
//			},
//		})
//	}
package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tollgate/tollgate/plugins/proto/coprocess"
	"github.com/tollgate/tollgate/plugins/proto/tollgatepb"
)

// Session is a key's session as plugins see it (the protocol message).
type Session = coprocess.SessionState

// AccessDefinition grants a session access to one API.
type AccessDefinition = coprocess.AccessDefinition

// AccessSpec restricts an access definition to URLs and methods.
type AccessSpec = coprocess.AccessSpec

// KeyRequest and KeyReply are the messages of the key-request hook.
type (
	KeyRequest = tollgatepb.KeyRequestObject
	KeyReply   = tollgatepb.KeyRequestReply
)

// RequestHook handles a request at one pipeline point. Change req in place
// (headers, URL, method, body) to change the request; return a Result to
// answer it instead; return nil, nil to carry on. An error fails the
// request with 500 (403 for Auth) and is logged by the gateway.
type RequestHook func(ctx context.Context, req *Request) (*Result, error)

// ResponseHook changes the upstream's response in place.
type ResponseHook func(ctx context.Context, req *Request, resp *Response) error

// Plugin is the set of hooks a plugin implements; leave the others nil
// (an unimplemented request or response hook passes everything through,
// an unimplemented Auth refuses every request).
type Plugin struct {
	// Pre runs before authentication.
	Pre RequestHook
	// Auth authenticates the request: return Authenticated(keyID, session)
	// to let it in, Deny(...) to refuse it with a message.
	Auth RequestHook
	// PostKeyAuth runs after authentication, with the session.
	PostKeyAuth RequestHook
	// Post runs last, before the request goes upstream, with the session.
	Post RequestHook
	// Response runs on the upstream's response.
	Response ResponseHook
	// KeyRequest receives key requests the gateway hands off (managed
	// plugins only).
	KeyRequest func(ctx context.Context, kr *KeyRequest) (*KeyReply, error)
}

// Request is the request a hook sees.
type Request struct {
	// Hook is the pipeline point: "pre", "auth", "post_key_auth", "post"
	// or "response"; HookName is the name given in the API definition.
	Hook, HookName string
	Method         string
	// URL is the path and query string.
	URL    string
	Header http.Header
	Body   []byte
	// Session is the caller's session after authentication (nil before,
	// and on keyless APIs). Changes to it are not kept.
	Session *Session
	// APIID and OrgID identify the API; ConfigData is its config_data.
	APIID, OrgID string
	ConfigData   map[string]any
	// Scheme ("http" or "https") and RequestURI (the raw request target)
	// are informational.
	Scheme, RequestURI string

	sent map[string]string // headers as received, to find changes
}

// Query parses the query string of URL.
func (r *Request) Query() url.Values {
	u, err := url.ParseRequestURI(r.URL)
	if err != nil {
		return url.Values{}
	}
	return u.Query()
}

// SetQuery replaces the query string of URL.
func (r *Request) SetQuery(q url.Values) {
	u, err := url.ParseRequestURI(r.URL)
	if err != nil {
		return
	}
	u.RawQuery = q.Encode()
	r.URL = u.RequestURI()
}

// Response is the upstream's response as a Response hook sees it.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Result answers a request instead of passing it on, or, from Auth,
// admits it. Build one with Deny, Respond or Authenticated.
type Result struct {
	status  int
	message string
	header  map[string]string
	raw     bool
	session *Session
	keyID   string
}

// Deny refuses the request with status (>= 400) and message, rendered by
// the gateway's error template like its own errors.
func Deny(status int, message string) *Result {
	return &Result{status: status, message: message}
}

// Respond answers the request with exactly this status, headers and body.
func Respond(status int, header map[string]string, body string) *Result {
	return &Result{status: status, message: body, header: header, raw: true}
}

// WithHeader adds a response header to a Deny or Respond result.
func (r *Result) WithHeader(name, value string) *Result {
	if r.header == nil {
		r.header = map[string]string{}
	}
	r.header[name] = value
	return r
}

// Authenticated admits the request from Auth: keyID names the session
// (the gateway stores it under that ID, hashed when hash_keys is on).
// Set IdExtractorDeadline on the session to let the gateway reuse it
// without asking the plugin until then (with an id_extractor).
func Authenticated(keyID string, s *Session) *Result {
	return &Result{session: s, keyID: keyID}
}

var hookNames = map[coprocess.HookType]string{
	coprocess.HookType_Pre:            "pre",
	coprocess.HookType_CustomKeyCheck: "auth",
	coprocess.HookType_PostKeyAuth:    "post_key_auth",
	coprocess.HookType_Post:           "post",
	coprocess.HookType_Response:       "response",
}

// newRequest unpacks the protocol object.
func newRequest(obj *coprocess.Object) *Request {
	m := obj.GetRequest()
	r := &Request{
		Hook: hookNames[obj.GetHookType()], HookName: obj.GetHookName(),
		Method: m.GetMethod(), URL: m.GetUrl(), Body: m.GetRawBody(),
		Header: http.Header{}, Session: obj.GetSession(),
		APIID: obj.GetSpec()["APIID"], OrgID: obj.GetSpec()["OrgID"],
		Scheme: m.GetScheme(), RequestURI: m.GetRequestUri(),
		sent: m.GetHeaders(),
	}
	if r.Body == nil && m.GetBody() != "" {
		r.Body = []byte(m.GetBody())
	}
	for k, v := range m.GetHeaders() {
		r.Header.Set(k, v)
	}
	if cd := obj.GetSpec()["config_data"]; cd != "" {
		_ = json.Unmarshal([]byte(cd), &r.ConfigData)
	}
	return r
}

// changes packs the request's changes and the result into the object sent
// back.
func (r *Request) changes(res *Result) *coprocess.MiniRequestObject {
	m := &coprocess.MiniRequestObject{
		Url: r.URL, Method: r.Method, RawBody: r.Body,
		SetHeaders:      map[string]string{},
		ReturnOverrides: &coprocess.ReturnOverrides{ResponseCode: -1},
	}
	for k := range r.sent {
		if len(r.Header.Values(k)) == 0 && k != "Host" {
			m.DeleteHeaders = append(m.DeleteHeaders, k)
		}
	}
	for k, vs := range r.Header {
		if len(vs) > 0 && r.sent[http.CanonicalHeaderKey(k)] != vs[0] {
			m.SetHeaders[k] = vs[0]
		}
	}
	if res != nil && res.status != 0 {
		m.ReturnOverrides = &coprocess.ReturnOverrides{
			ResponseCode: int32(res.status), ResponseBody: res.message, Headers: res.header, OverrideError: res.raw,
		}
	}
	return m
}

func (p *Plugin) hook(t coprocess.HookType) RequestHook {
	switch t {
	case coprocess.HookType_Pre:
		return p.Pre
	case coprocess.HookType_CustomKeyCheck:
		return p.Auth
	case coprocess.HookType_PostKeyAuth:
		return p.PostKeyAuth
	case coprocess.HookType_Post:
		return p.Post
	}
	return nil
}

// dispatch runs one hook call.
func (p *Plugin) dispatch(ctx context.Context, obj *coprocess.Object) (out *coprocess.Object, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, fmt.Errorf("plugin hook panicked: %v", v)
		}
	}()
	req := newRequest(obj)
	if obj.GetHookType() == coprocess.HookType_Response {
		return p.respond(ctx, obj, req)
	}
	out = &coprocess.Object{HookType: obj.GetHookType(), HookName: obj.GetHookName(), Spec: obj.GetSpec()}
	fn := p.hook(obj.GetHookType())
	if fn == nil {
		out.Request = req.changes(nil)
		return out, nil
	}
	res, err := fn(ctx, req)
	if err != nil {
		return nil, err
	}
	out.Request = req.changes(res)
	if res != nil && res.session != nil && obj.GetHookType() == coprocess.HookType_CustomKeyCheck {
		out.Session = res.session
		out.Metadata = map[string]string{"token": res.keyID}
	}
	return out, nil
}

func (p *Plugin) respond(ctx context.Context, obj *coprocess.Object, req *Request) (*coprocess.Object, error) {
	in := obj.GetResponse()
	out := &coprocess.Object{HookType: obj.GetHookType(), HookName: obj.GetHookName(), Response: in}
	if p.Response == nil {
		return out, nil
	}
	resp := &Response{Status: int(in.GetStatusCode()), Header: http.Header{}, Body: in.GetRawBody()}
	for _, h := range in.GetMultivalueHeaders() {
		resp.Header[http.CanonicalHeaderKey(h.GetKey())] = append(resp.Header[http.CanonicalHeaderKey(h.GetKey())], h.GetValues()...)
	}
	if err := p.Response(ctx, req, resp); err != nil {
		return nil, err
	}
	// headers goes back as it came, so the gateway takes every value from
	// multivalue_headers.
	ro := &coprocess.ResponseObject{StatusCode: int32(resp.Status), RawBody: resp.Body, Headers: in.GetHeaders()}
	for k, vs := range resp.Header {
		ro.MultivalueHeaders = append(ro.MultivalueHeaders, &coprocess.Header{Key: k, Values: vs})
	}
	out.Response = ro
	return out, nil
}
