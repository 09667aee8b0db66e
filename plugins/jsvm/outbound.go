package jsvm

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/dop251/goja"
)

// Outbound HTTP for scripts: TykMakeHttpRequest and TykBatchRequest. The
// calls are synchronous for the script and bounded by the call's
// jsvm_timeout deadline (there is no other timeout, as in Tyk).

// clients are shared per TLS setting so connections are pooled.
var clients sync.Map // bool (skip verification) -> *http.Client

func (a *apiJS) client() *http.Client {
	insecure := settings(a.env).ProxySSLInsecureSkipVerify
	if c, ok := clients.Load(insecure); ok {
		return c.(*http.Client)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: insecure} //nolint:gosec // the operator's proxy_ssl_insecure_skip_verify
	c, _ := clients.LoadOrStore(insecure, &http.Client{Transport: tr})
	return c.(*http.Client)
}

// outboundRequest is TykMakeHttpRequest's argument; keys match
// case-insensitively, as in Tyk.
type outboundRequest struct {
	Method   string
	Domain   string
	Resource string
	Headers  map[string]string
	Body     string
	FormData map[string]string
}

// outboundReply is TykMakeHttpRequest's answer; the lower-case twins are
// there because batch replies use those names.
type outboundReply struct {
	Code      int                 `json:"Code"`
	Body      string              `json:"Body"`
	Headers   map[string][]string `json:"Headers"`
	CodeLC    int                 `json:"code"`
	BodyLC    string              `json:"body"`
	HeadersLC map[string][]string `json:"headers"`
}

// makeHTTPRequest performs one call; nil (undefined for the script) when
// the argument is missing or malformed or the call fails.
func (a *apiJS) makeHTTPRequest(ctx context.Context, arg goja.Value) []byte {
	if goja.IsUndefined(arg) || goja.IsNull(arg) {
		return nil
	}
	var spec outboundRequest
	if err := json.Unmarshal([]byte(arg.String()), &spec); err != nil {
		a.log.Error("TykMakeHttpRequest: request is not JSON", "error", err)
		return nil
	}
	u, err := url.Parse(spec.Domain + spec.Resource)
	if err != nil || !u.IsAbs() {
		a.log.Error("TykMakeHttpRequest: not an absolute URL", "url", spec.Domain+spec.Resource)
		return nil
	}
	body := spec.Body
	if body == "" && len(spec.FormData) > 0 {
		form := url.Values{}
		for k, v := range spec.FormData {
			form.Set(k, v)
		}
		body = form.Encode()
	}
	code, header, respBody, err := a.send(ctx, spec.Method, u.String(), spec.Headers, body)
	if err != nil {
		a.log.Error("TykMakeHttpRequest failed", "url", u.Redacted(), "error", err)
		return nil
	}
	b, _ := json.Marshal(outboundReply{Code: code, Body: respBody, Headers: header, CodeLC: code, BodyLC: respBody, HeadersLC: header})
	return b
}

func (a *apiJS) send(ctx context.Context, method, target string, headers map[string]string, body string) (int, http.Header, string, error) {
	if method == "" {
		method = http.MethodGet
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, "", err
	}
	for k, v := range headers {
		a.setHeader(req.Header, k, v)
	}
	resp, err := a.client().Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, "", err
	}
	return resp.StatusCode, resp.Header, string(b), nil
}

// batchSpec is TykBatchRequest's argument.
type batchSpec struct {
	Requests []struct {
		Method      string            `json:"method"`
		Headers     map[string]string `json:"headers"`
		Body        string            `json:"body"`
		RelativeURL string            `json:"relative_url"`
	} `json:"requests"`
	SuppressParallelExecution bool `json:"suppress_parallel_execution"`
}

// batchReply is one entry of TykBatchRequest's answer.
type batchReply struct {
	RelativeURL string              `json:"relative_url"`
	Code        int                 `json:"code"`
	Headers     map[string][]string `json:"headers"`
	Body        string              `json:"body"`
}

// batchRequest runs the calls, one after the other or all at once; in
// parallel the replies come in completion order. From a script the
// relative_url is an absolute URL, as in Tyk. A failed call is an entry
// with code 0.
func (a *apiJS) batchRequest(ctx context.Context, arg goja.Value) []byte {
	var spec batchSpec
	if err := json.Unmarshal([]byte(arg.String()), &spec); err != nil {
		a.log.Error("TykBatchRequest: request is not JSON", "error", err)
		return nil
	}
	one := func(i int) batchReply {
		rq := spec.Requests[i]
		code, h, body, err := a.send(ctx, rq.Method, rq.RelativeURL, rq.Headers, rq.Body)
		if err != nil {
			a.log.Error("TykBatchRequest call failed", "url", rq.RelativeURL, "error", err)
			return batchReply{}
		}
		return batchReply{RelativeURL: rq.RelativeURL, Code: code, Headers: h, Body: body}
	}
	replies := make([]batchReply, 0, len(spec.Requests))
	if spec.SuppressParallelExecution {
		for i := range spec.Requests {
			replies = append(replies, one(i))
		}
	} else {
		done := make(chan batchReply, len(spec.Requests))
		for i := range spec.Requests {
			go func() { done <- one(i) }()
		}
		for range spec.Requests {
			replies = append(replies, <-done)
		}
	}
	b, _ := json.Marshal(replies)
	return b
}
