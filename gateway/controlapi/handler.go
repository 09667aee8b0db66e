package controlapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/tollgate/tollgate/gen"
)

// Tyk's control-API error messages shared by several operations.
const (
	msgBadSecret   = "Attempted administrative access with invalid or missing key!"
	msgBadMethod   = "Method not supported"
	msgMalformed   = "Request malformed"
	msgBodyTooBig  = "Request body too large"
	msgUnmarshal   = "Unmarshalling failed"
	msgBadInstruct = "Couldn't decode instruction"
)

// ctxKey carries per-request values from the handler to the operations.
type ctxKey int

const (
	ctxRequest ctxKey = iota
	ctxOperation
)

// requestOf returns the HTTP request behind an operation's context, for the
// query parameters Tyk reads that the 5.4.0 document does not list.
func requestOf(ctx context.Context) *http.Request {
	r, _ := ctx.Value(ctxRequest).(*http.Request)
	return r
}

// rawBody returns the buffered request body (nil when there is none).
func rawBody(ctx context.Context) []byte {
	r := requestOf(ctx)
	if r == nil || r.GetBody == nil {
		return nil
	}
	b, err := r.GetBody()
	if err != nil {
		return nil
	}
	data, _ := io.ReadAll(b)
	return data
}

// decodeBody reads the buffered request body as a T; false when there is
// no body or it does not decode. (The handler has already checked that the
// body is exactly one JSON object.)
func decodeBody[T any](ctx context.Context) (T, bool) {
	var v T
	body := rawBody(ctx)
	if len(body) == 0 {
		return v, false
	}
	return v, json.Unmarshal(body, &v) == nil
}

// Handler serves the control API: the secret check, routing, body limit and
// OpenAPI validation, then the generated strict handler.
type Handler struct {
	secret   []byte
	maxBody  int64
	health   string // the health path, e.g. /hello
	doc      *openapi3.T
	routes   *router
	log      *slog.Logger
	hello    http.HandlerFunc
	extra    map[string]http.HandlerFunc // hand-routed operations not in the document
	validate bool
}

// newHandler wires srv behind the generated strict handler.
func newHandler(srv *Server, secret string, maxBody int64, healthPath string, log *slog.Logger) (*Handler, error) {
	doc, err := gen.GetSwagger()
	if err != nil {
		return nil, err
	}
	h := &Handler{
		secret: []byte(secret), maxBody: maxBody, health: "/" + strings.Trim(healthPath, "/"),
		doc: doc, routes: &router{}, log: log, validate: true,
	}
	strict := gen.NewStrictHandlerWithOptions(srv, nil, gen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Info("control API request rejected", "path", r.URL.Path, "error", err)
			writeStatus(w, http.StatusBadRequest, "error", malformedMessage(r))
		},
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Error("control API operation failed", "path", r.URL.Path, "error", err)
			writeStatus(w, http.StatusInternalServerError, "error", "Internal error")
		},
	})
	gen.HandlerWithOptions(strict, gen.StdHTTPServerOptions{
		BaseRouter: h.routes,
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeStatus(w, http.StatusBadRequest, "error", err.Error())
		},
	})
	h.hello = h.routeFor(http.MethodGet, "/hello")
	return h, nil
}

func (h *Handler) routeFor(method, path string) http.HandlerFunc {
	r, _, _ := h.routes.match(method, path)
	if r == nil {
		return nil
	}
	return r.handler
}

// ServeHTTP answers health checks and /tyk/ requests.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == h.health || path == h.health+"/" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeStatus(w, http.StatusMethodNotAllowed, "error", "Method Not Allowed")
			return
		}
		r.URL.Path = "/hello"
		h.hello(w, r)
		return
	}
	if !h.authorised(r) {
		writeStatus(w, http.StatusForbidden, "error", msgBadSecret)
		return
	}
	rt, params, pathMatched := h.routes.match(r.Method, path)
	if rt == nil || rt.template == "/hello" {
		if pathMatched {
			writeStatus(w, http.StatusMethodNotAllowed, "error", msgBadMethod)
			return
		}
		http.NotFound(w, r) // Tyk answers unknown control routes in plain text
		return
	}
	for k, v := range params {
		r.SetPathValue(k, v)
	}
	if !h.readBody(w, r) {
		return
	}
	ctx := context.WithValue(r.Context(), ctxOperation, rt.template)
	r = r.WithContext(ctx)
	r = r.WithContext(context.WithValue(ctx, ctxRequest, r))
	if err := h.check(r, rt, params); err != nil {
		h.log.Info("control API request failed validation", "method", r.Method, "path", path, "error", err)
		writeStatus(w, http.StatusBadRequest, "error", malformedMessage(r))
		return
	}
	rt.handler(w, r)
}

// authorised compares the secret header in constant time. An empty secret
// is refused outright (Tyk lets such requests through; that opens the whole
// control API to anyone).
func (h *Handler) authorised(r *http.Request) bool {
	got := r.Header.Get("X-Tyk-Authorization")
	if len(h.secret) == 0 || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), h.secret) == 1
}

// readBody buffers the body up to the limit so validation and decoding can
// both read it; false means an error reply was written.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeStatus(w, http.StatusRequestEntityTooLarge, "error", msgBodyTooBig)
		} else {
			writeStatus(w, http.StatusBadRequest, "error", msgMalformed)
		}
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.ContentLength = int64(len(body))
	return true
}

// check validates the request against the document's operation, if the
// route has one.
func (h *Handler) check(r *http.Request, rt *route, params map[string]string) error {
	item := h.doc.Paths.Find(rt.template)
	if item == nil {
		return nil
	}
	op := item.GetOperation(r.Method)
	if op == nil {
		return nil
	}
	// Tyk reads bodies as JSON whatever the Content-Type says (curl -d sends
	// a form type); do the same for operations whose only body is JSON.
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		if c := op.RequestBody.Value.Content; len(c) == 1 && c.Get("application/json") != nil {
			r.Header.Set("Content-Type", "application/json")
			if err := checkJSONBody(r, c.Get("application/json").Schema); err != nil {
				return err
			}
		}
	}
	if r.ContentLength == 0 {
		// An empty body is the operation's own "malformed" case.
		r.Body = http.NoBody
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      &routers.Route{Spec: h.doc, Path: rt.template, PathItem: item, Method: r.Method, Operation: op},
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	err := openapi3filter.ValidateRequest(r.Context(), in)
	if r.GetBody != nil {
		r.Body, _ = r.GetBody()
	}
	return err
}

// checkJSONBody rejects a body that is not exactly one JSON value, or not
// an object where the schema wants one. The decoders stop after the first
// value, so bytes after it went unnoticed, and the document's object schemas
// are nullable (for null fields), which let a top-level null through as an
// empty object that then replaced the stored one.
func checkJSONBody(r *http.Request, schema *openapi3.SchemaRef) error {
	if r.ContentLength == 0 || r.GetBody == nil {
		return nil
	}
	rc, err := r.GetBody()
	if err != nil {
		return err
	}
	body, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	if !json.Valid(body) {
		return errors.New("the body is not a single JSON value")
	}
	if schema != nil && schema.Value != nil && schema.Value.Type.Is("object") {
		if b := bytes.TrimLeft(body, " \t\r\n"); b[0] != '{' {
			return errors.New("the body is not a JSON object")
		}
	}
	return nil
}

// malformedMessage is the operation's Tyk message for a body it cannot read.
func malformedMessage(r *http.Request) string {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/tyk/keys/create", path == "/tyk/keys/preview":
		return msgUnmarshal
	case strings.HasPrefix(path, "/tyk/keys/policy/"):
		return msgBadInstruct
	}
	return msgMalformed
}
