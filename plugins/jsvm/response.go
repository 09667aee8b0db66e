package jsvm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/dop251/goja"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
)

// Response hooks are a Tollgate addition (Tyk's JSVM cannot run
// custom_middleware.response). A hook object's handler, installed with
// NewProcessResponse, is called as
// name.DoProcessResponse(request, response, session, config) and returns
// ReturnResponseData(response, sessionMeta). The response it gets is
// {Code, Headers, SetHeaders, DeleteHeaders, Body}; Code, SetHeaders,
// DeleteHeaders and Body are applied, and the body is read only if the
// script touches it.

// NewResponseHooks builds the JavaScript response stage of an API.
func NewResponseHooks(def *apidef.Definition, env *chain.Env) (chain.ResponseStage, error) {
	a := forAPI(def, env)
	if a == nil || len(a.hooks.response) == 0 {
		return nil, nil
	}
	return &responseHooks{api: a, list: a.hooks.response}, nil
}

type responseHooks struct {
	api  *apiJS
	list []apidef.MiddlewareDefinition
}

func (rh *responseHooks) Name() string { return "DynamicResponseMiddleware" }

func (rh *responseHooks) ProcessResponse(resp *http.Response, req *chain.Request) error {
	a := rh.api
	if !a.enabled || req == nil {
		return chain.Fail(http.StatusInternalServerError, MsgMiddlewareError)
	}
	for _, m := range rh.list {
		if err := a.callResponse(resp, req, m); err != nil {
			a.log.Error("JavaScript response middleware failed", "name", m.Name, "error", err)
			return chain.Fail(http.StatusInternalServerError, MsgMiddlewareError)
		}
	}
	return nil
}

// respBody backs the response's Body property: read on first access,
// assigned by the script, or neither.
type respBody struct {
	resp    *http.Response
	v       *vm
	val     goja.Value
	written bool
	closed  bool
}

func (b *respBody) get(goja.FunctionCall) goja.Value {
	if b.val == nil && !b.closed {
		var raw []byte
		if b.resp.Body != nil {
			raw, _ = io.ReadAll(b.resp.Body)
			_ = b.resp.Body.Close()
		}
		b.resp.Body = io.NopCloser(bytes.NewReader(raw))
		b.val = bytesValue(b.v.rt, raw)
	}
	if b.val == nil {
		return b.v.rt.ToValue("")
	}
	return b.val
}

func (b *respBody) set(c goja.FunctionCall) goja.Value {
	b.val, b.written = c.Argument(0), true
	return goja.Undefined()
}

// wireResponse is the response part of a response hook's result.
type wireResponse struct {
	Code          int
	Headers       json.RawMessage
	SetHeaders    map[string]string
	DeleteHeaders []string
	Body          json.RawMessage
}

func (a *apiJS) callResponse(resp *http.Response, req *chain.Request, m apidef.MiddlewareDefinition) error {
	v := a.get()
	r := resp.Request
	ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
	defer cancel()
	rq := newReqObject(v, r, responseShape)
	defer rq.close()
	body := &respBody{resp: resp, v: v}
	defer func() { body.closed = true }()

	var res struct {
		Response    wireResponse
		SessionMeta map[string]string
	}
	var newBody []byte
	bodySet := false
	err := v.run(ctx, func() error {
		ro := v.rt.NewObject()
		_ = ro.Set("Code", resp.StatusCode)
		_ = ro.Set("Headers", v.multiMap(resp.Header))
		_ = ro.Set("SetHeaders", v.rt.NewObject())
		_ = ro.Set("DeleteHeaders", v.rt.NewArray())
		if err := ro.DefineAccessorProperty("Body", v.rt.ToValue(body.get), v.rt.ToValue(body.set), goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
			return err
		}
		fn, this, err := v.method(m.Name, "DoProcessResponse")
		if err != nil {
			return err
		}
		out, err := fn(this, v.rt.NewDynamicObject(rq), ro, v.sessionArg(hookSession(kindPost, m.RequireSession, req)), v.lazyJSON(a.configJSON))
		if err != nil {
			return err
		}
		obj, ok := out.(*goja.Object)
		if !ok {
			return errNoResult
		}
		got, ok := obj.Get("Response").(*goja.Object)
		if !ok {
			return fmt.Errorf("%w: the result has no Response object", errNoResult)
		}
		if got == ro {
			newBody, bodySet = valueBytes(body.val), body.written
		} else if b := got.Get("Body"); b != nil && !goja.IsUndefined(b) {
			newBody, bodySet = valueBytes(b), true
		}
		body.closed = true // stringify must not read the body
		doc, err := obj.MarshalJSON()
		if err != nil {
			return err
		}
		if err := json.Unmarshal(doc, &res); err != nil {
			return fmt.Errorf("result does not decode: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	a.put(v)

	out := res.Response
	if out.Code != 0 && out.Code != resp.StatusCode {
		if out.Code < 100 || out.Code > 999 {
			return fmt.Errorf("response code %d is not an HTTP status", out.Code)
		}
		resp.StatusCode, resp.Status = out.Code, strconv.Itoa(out.Code)+" "+http.StatusText(out.Code)
	}
	for _, name := range out.DeleteHeaders {
		resp.Header.Del(name)
		if !a.canonical {
			delete(resp.Header, name)
		}
	}
	for name, val := range out.SetHeaders {
		a.setHeader(resp.Header, name, val)
	}
	if bodySet {
		resp.Body = io.NopCloser(bytes.NewReader(newBody))
		resp.ContentLength = int64(len(newBody))
		resp.TransferEncoding = nil
		resp.Header.Del("Transfer-Encoding")
		resp.Header.Set("Content-Length", strconv.Itoa(len(newBody)))
	}
	if sess, live := hookSession(kindPost, m.RequireSession, req); live && sess != nil && !sameMeta(sess.MetaData, res.SessionMeta) {
		sess.MetaData = stringMeta(res.SessionMeta)
		req.SessionChanged = true
	}
	return nil
}
