package jsvm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"

	"github.com/dop251/goja"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/paths"
)

// NewVirtualEndpoint builds the virtual-endpoint stage of an API: requests
// matching an extended_paths.virtual entry (method, and path pattern
// against the path without the listen path) are answered by a JavaScript
// function instead of the upstream. Without enable_jsvm those paths go to
// the upstream as usual.
func NewVirtualEndpoint(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	cfg := settings(env)
	if !cfg.EnableJSVM {
		return nil, nil
	}
	a := forAPI(def, env)
	if a == nil {
		return nil, nil
	}
	rules, err := paths.Build(def, func(v apidef.VersionInfo) (*[]paths.Rule[apidef.VirtualMeta], error) {
		var rs []paths.Rule[apidef.VirtualMeta]
		for _, vm := range v.ExtendedPaths.Virtual {
			if vm.Disabled {
				continue
			}
			if vm.FunctionSourceType == "blob" && cfg.DisableVirtualPathBlobs {
				a.log.Error("virtual endpoint not loaded: disable_virtual_path_blobs is on", "path", vm.Path)
				continue
			}
			re, err := paths.Compile(vm.Path, paths.IgnoreCase(env) || v.IgnoreEndpointCase)
			if err != nil {
				a.log.Error("virtual endpoint not loaded", "path", vm.Path, "error", err)
				continue
			}
			rs = append(rs, paths.Rule[apidef.VirtualMeta]{Re: re, Method: vm.Method, Value: vm})
		}
		if len(rs) == 0 {
			return nil, nil
		}
		return &rs, nil
	})
	if err != nil || rules == nil {
		return nil, err
	}
	return &virtualStage{api: a, rules: rules, listenPath: def.Proxy.ListenPath}, nil
}

type virtualStage struct {
	api        *apiJS
	rules      *paths.ByVersion[[]paths.Rule[apidef.VirtualMeta]]
	listenPath string
}

func (s *virtualStage) Name() string { return "VirtualEndpoint" }

func (s *virtualStage) ProcessRequest(w http.ResponseWriter, r *http.Request, req *chain.Request) error {
	rs := s.rules.For(req)
	if rs == nil {
		return nil
	}
	vm, ok := paths.First(*rs, r.Method, paths.Strip(s.listenPath, r.URL.Path))
	if !ok {
		return nil
	}
	a := s.api
	res, err := a.callVirtual(r, req, vm)
	if err == nil && (res.Response.Code < 100 || res.Response.Code > 999) {
		err = fmt.Errorf("response code %d is not an HTTP status", res.Response.Code)
	}
	if err != nil {
		a.log.Error("virtual endpoint failed", "path", vm.Path, "function", vm.ResponseFunctionName, "error", err)
		if vm.ProxyOnError {
			return nil
		}
		return chain.Fail(http.StatusInternalServerError, MsgVirtualError)
	}
	q := zeroQuota
	if vm.UseSession {
		q = quotaOf(req.Session, a.apiID)
		if req.Session != nil && !sameAnyMeta(req.Session.MetaData, res.SessionMeta) {
			req.Session.MetaData = res.SessionMeta
			req.SessionChanged = true
		}
	}
	rp := res.Response
	return a.respond(w, r, req, rp.Code, a.headerOf(rp.Headers), []byte(rp.Body), q, true)
}

// virtualResult is what a virtual endpoint's function returns, as a
// JSON string (see TykJsResponse).
type virtualResult struct {
	Response struct {
		Body    string
		Headers map[string]string
		Code    int
	}
	SessionMeta map[string]any
}

// callVirtual runs fn(request, session, config) on a pooled runtime.
func (a *apiJS) callVirtual(r *http.Request, req *chain.Request, vm apidef.VirtualMeta) (*virtualResult, error) {
	v := a.get()
	ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
	defer cancel()
	rq := newReqObject(v, r, virtualShape)
	defer rq.close()
	var out virtualResult
	err := v.run(ctx, func() error {
		fn, ok := goja.AssertFunction(v.rt.Get(vm.ResponseFunctionName))
		if !ok {
			return fmt.Errorf("no global function %q", vm.ResponseFunctionName)
		}
		res, err := fn(goja.Undefined(), v.rt.NewDynamicObject(rq), v.sessionArg(req.Session, vm.UseSession), v.lazyJSON(a.configJSON))
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(res.String()), &out); err != nil {
			return fmt.Errorf("result does not decode: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.put(v)
	return &out, nil
}

// sameAnyMeta compares metadata; an absent and an empty map are the same.
func sameAnyMeta(a, b map[string]any) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	return reflect.DeepEqual(a, b)
}
