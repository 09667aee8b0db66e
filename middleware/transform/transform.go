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

func compile(entries []apidef.TemplateMeta, bundleDir string, ignoreCase bool) (*[]paths.Rule[tmpl], error) {
	var rules []paths.Rule[tmpl]
	for _, e := range entries {
		if e.Disabled {
			continue
		}
		td := e.TemplateData
		if td.InputType != "" && td.InputType != "json" {
			return nil, fmt.Errorf("transform on %q: input_type %q is not supported (only json)", e.Path, td.InputType)
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
			return nil, fmt.Errorf("transform on %q: %v", e.Path, err)
		}
		t, err := template.New(e.Path).Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("transform on %q: %v", e.Path, err)
		}
		re, err := paths.Compile(e.Path, ignoreCase)
		if err != nil {
			return nil, fmt.Errorf("transform: %w", err)
		}
		rules = append(rules, paths.Rule[tmpl]{Re: re, Method: e.Method, Value: tmpl{t: t, session: td.EnableSession}})
	}
	if len(rules) == 0 {
		return nil, nil
	}
	return &rules, nil
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
	listen   string
	versions *paths.ByVersion[[]paths.Rule[tmpl]]
}

// New applies when a version has transform entries (use_extended_paths).
func New(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	ic := paths.IgnoreCase(env)
	vs, err := paths.Build(def, func(v apidef.VersionInfo) (*[]paths.Rule[tmpl], error) {
		if !v.UseExtendedPaths {
			return nil, nil
		}
		return compile(v.ExtendedPaths.Transform, def.BundleDir, ic)
	})
	if err != nil || vs == nil {
		return nil, err
	}
	return &Request{listen: def.Proxy.ListenPath, versions: vs}, nil
}

func (*Request) Name() string { return "TransformMiddleware" }

func (s *Request) ProcessRequest(_ http.ResponseWriter, r *http.Request, req *chain.Request) error {
	rules := s.versions.For(req)
	if rules == nil {
		return nil
	}
	t, ok := paths.First(*rules, r.Method, paths.Strip(s.listen, r.URL.Path))
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
	listen   string
	versions *paths.ByVersion[[]paths.Rule[tmpl]]
}

// NewResponse applies when a version has transform_response entries.
func NewResponse(def *apidef.Definition, env *chain.Env) (chain.ResponseStage, error) {
	ic := paths.IgnoreCase(env)
	vs, err := paths.Build(def, func(v apidef.VersionInfo) (*[]paths.Rule[tmpl], error) {
		if !v.UseExtendedPaths {
			return nil, nil
		}
		return compile(v.ExtendedPaths.TransformResponse, def.BundleDir, ic)
	})
	if err != nil || vs == nil {
		return nil, err
	}
	return &Response{listen: def.Proxy.ListenPath, versions: vs}, nil
}

func (*Response) Name() string { return "ResponseTransformMiddleware" }

func (s *Response) ProcessResponse(resp *http.Response, req *chain.Request) error {
	if req == nil {
		return nil
	}
	rules := s.versions.For(req)
	if rules == nil {
		return nil
	}
	t, ok := paths.First(*rules, req.Method, paths.Strip(s.listen, req.Path))
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
