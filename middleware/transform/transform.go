// Package transform rewrites request and response bodies with Go
// text/template (extended_paths transform and transform_response). The
// template sees the JSON body (an array is exposed as .array), the key's
// metadata as ._tyk_meta when enable_session is on, and a few request
// values as ._tyk_context. Templates are parsed once, when the chain is
// built.
package transform

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"text/template"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/paths"
)

// maxBody bounds the body a transform reads.
const maxBody = 8 << 20

type tmpl struct {
	t       *template.Template
	session bool
}

// templates parses the templates of a version's entries.
func templates(entries []apidef.TemplateMeta, bundleDir string) ([]paths.Entry[tmpl], error) {
	var out []paths.Entry[tmpl]
	for _, e := range entries {
		if e.Disabled {
			continue
		}
		td := e.TemplateData
		if td.InputType != "" && td.InputType != "json" {
			return nil, fmt.Errorf("%q: input_type %q is not supported (only json)", e.Path, td.InputType)
		}
		var src []byte
		var err error
		switch td.Mode {
		case "blob":
			src, err = base64.StdEncoding.DecodeString(td.TemplateSource)
		case "file":
			p := td.TemplateSource
			if !filepath.IsAbs(p) && bundleDir != "" {
				p = filepath.Join(bundleDir, p)
			}
			src, err = os.ReadFile(p)
		default:
			err = fmt.Errorf("template_mode %q is not blob or file", td.Mode)
		}
		if err != nil {
			return nil, fmt.Errorf("%q: %v", e.Path, err)
		}
		t, err := template.New(e.Path).Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("%q: %v", e.Path, err)
		}
		out = append(out, paths.Entry[tmpl]{Path: e.Path, Method: e.Method, Value: tmpl{t: t, session: td.EnableSession}})
	}
	return out, nil
}

// notJSON is a body the template cannot read: the client's mistake on a
// request, the upstream's on a response.
type notJSON struct{ err error }

func (e *notJSON) Error() string { return "body is not JSON: " + e.err.Error() }

// render runs a template over a JSON body.
func render(t tmpl, body []byte, r *http.Request, req *chain.Request) ([]byte, error) {
	var data map[string]any
	if len(bytes.TrimSpace(body)) > 0 {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return nil, &notJSON{err}
		}
		switch x := v.(type) {
		case map[string]any:
			data = x
		default:
			data = map[string]any{"array": x}
		}
	} else {
		data = map[string]any{}
	}
	if t.session && req != nil && req.Session != nil {
		data["_tyk_meta"] = req.Session.MetaData
	}
	if r != nil {
		data["_tyk_context"] = map[string]any{"path": r.URL.Path, "remote_addr": r.RemoteAddr}
	}
	var out bytes.Buffer
	if err := t.t.Execute(&out, data); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Request is the request-body transform stage.
type Request struct {
	rules *paths.PathRules[tmpl]
}

// New applies when a version has transform entries (use_extended_paths).
func New(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	rules, err := paths.BuildRules(def, env, "transform", func(v apidef.VersionInfo) ([]paths.Entry[tmpl], error) {
		return templates(v.ExtendedPaths.Transform, def.BundleDir)
	})
	if err != nil || rules == nil {
		return nil, err
	}
	return &Request{rules: rules}, nil
}

func (*Request) Name() string { return "TransformMiddleware" }

func (s *Request) ProcessRequest(_ http.ResponseWriter, r *http.Request, req *chain.Request) error {
	t, ok := s.rules.Match(r.Method, r.URL.Path, req)
	if !ok {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return chain.Fail(http.StatusBadRequest, "Request body could not be read")
	}
	out, err := render(t, body, r, req)
	var bad *notJSON
	if errors.As(err, &bad) {
		return chain.Fail(http.StatusBadRequest, "Request body transform failed: "+err.Error())
	}
	if err != nil {
		return chain.Fail(http.StatusInternalServerError, "Request body transform failed: "+err.Error())
	}
	r.Body = io.NopCloser(bytes.NewReader(out))
	r.ContentLength = int64(len(out))
	r.Header.Set("Content-Length", strconv.Itoa(len(out)))
	return nil
}

// Response is the response-body transform stage.
type Response struct {
	rules *paths.PathRules[tmpl]
}

// NewResponse applies when a version has transform_response entries.
func NewResponse(def *apidef.Definition, env *chain.Env) (chain.ResponseStage, error) {
	rules, err := paths.BuildRules(def, env, "transform_response", func(v apidef.VersionInfo) ([]paths.Entry[tmpl], error) {
		return templates(v.ExtendedPaths.TransformResponse, def.BundleDir)
	})
	if err != nil || rules == nil {
		return nil, err
	}
	return &Response{rules: rules}, nil
}

func (*Response) Name() string { return "ResponseTransformMiddleware" }

func (s *Response) ProcessResponse(resp *http.Response, req *chain.Request) error {
	if req == nil {
		return nil
	}
	t, ok := s.rules.Match(req.Method, req.Path, req)
	if !ok {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if err != nil {
		return chain.Fail(http.StatusInternalServerError, "There was a problem proxying the request")
	}
	out, err := render(t, body, resp.Request, req)
	if err != nil {
		return chain.Fail(http.StatusInternalServerError, "Response body transform failed: "+err.Error())
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	resp.Header.Del("Content-Encoding")
	resp.TransferEncoding = nil
	return nil
}
