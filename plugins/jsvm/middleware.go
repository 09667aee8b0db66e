package jsvm

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/dop251/goja"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/middleware/chain"
)

// AddHooks adds the JavaScript stage factories to a gateway's plugin
// hooks: one per request slot and one response factory. Each decides per
// API whether it applies (driver otto or goja, hooks configured).
func AddHooks(h *chain.Hooks) {
	if h.Request == nil {
		h.Request = map[chain.Slot][]chain.Factory{}
	}
	for slot, kind := range map[chain.Slot]hookKind{
		chain.SlotPre: kindPre, chain.SlotAuth: kindAuth, chain.SlotPostKeyAuth: kindPostKeyAuth, chain.SlotPost: kindPost,
	} {
		h.Request[slot] = append(h.Request[slot], hookFactory(kind))
	}
	h.Response = append(h.Response, NewResponseHooks)
}

// hookStages are the stages of one slot: one per hook, in order.
type hookStages []chain.Stage

func (hs hookStages) Name() string { return "DynamicMiddleware" }

func (hs hookStages) ProcessRequest(w http.ResponseWriter, r *http.Request, req *chain.Request) error {
	for _, st := range hs {
		if err := st.ProcessRequest(w, r, req); err != nil {
			return err
		}
	}
	return nil
}

func hookFactory(kind hookKind) chain.Factory {
	return func(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
		a := forAPI(def, env)
		if a == nil {
			return nil, nil
		}
		var list []apidef.MiddlewareDefinition
		switch kind {
		case kindPre:
			list = a.hooks.pre
		case kindAuth:
			if a.hooks.auth != nil {
				list = []apidef.MiddlewareDefinition{*a.hooks.auth}
			}
		case kindPostKeyAuth:
			list = a.hooks.postKeyAuth
		case kindPost:
			list = a.hooks.post
		}
		var stages hookStages
		for _, m := range list {
			stages = append(stages, &hookStage{api: a, kind: kind, name: m.Name, requireSession: m.RequireSession})
		}
		switch len(stages) {
		case 0:
			return nil, nil
		case 1:
			return stages[0], nil
		}
		return stages, nil
	}
}

// hookStage runs one JavaScript middleware object.
type hookStage struct {
	api            *apiJS
	kind           hookKind
	name           string
	requireSession bool
}

func (h *hookStage) Name() string { return "DynamicMiddleware" }

func (h *hookStage) ProcessRequest(w http.ResponseWriter, r *http.Request, req *chain.Request) error {
	a := h.api
	if !a.enabled {
		return chain.Fail(http.StatusInternalServerError, MsgMiddlewareError)
	}
	out, err := a.call(r, req, h.kind, h.name, h.requireSession)
	if errors.Is(err, errBodyUnreadable) {
		return nil // Tyk skips the hook when the body cannot be read
	}
	if err != nil {
		a.log.Error("JavaScript middleware failed", "hook", h.kind.String(), "name", h.name, "error", err)
		return chain.Fail(http.StatusInternalServerError, MsgInternal)
	}
	return a.applyRequest(w, r, req, h.kind, h.requireSession, out)
}

var errBodyUnreadable = errors.New("request body could not be read")

// call runs name.DoProcessRequest(request, session, config) on a pooled
// runtime and decodes the result.
func (a *apiJS) call(r *http.Request, req *chain.Request, kind hookKind, name string, requireSession bool) (*outcome, error) {
	v := a.get()
	ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
	defer cancel()
	rq := newReqObject(v, r, middlewareShape)
	defer rq.close()
	var out *outcome
	err := v.run(ctx, func() error {
		fn, this, err := v.method(name, "DoProcessRequest")
		if err != nil {
			return err
		}
		res, err := fn(this, v.rt.NewDynamicObject(rq), v.sessionArg(hookSession(kind, requireSession, req)), v.lazyJSON(a.configJSON))
		if err != nil {
			return err
		}
		out, err = v.readResult(res, rq)
		return err
	})
	if err == nil && rq.readErr != nil {
		err = errBodyUnreadable
	}
	if err != nil {
		return nil, err // the runtime is dropped
	}
	a.put(v)
	return out, nil
}

// method finds the global object name and its method.
func (v *vm) method(name, method string) (goja.Callable, goja.Value, error) {
	obj, ok := v.rt.Get(name).(*goja.Object)
	if !ok {
		return nil, nil, fmt.Errorf("no global middleware object %q", name)
	}
	fn, ok := goja.AssertFunction(obj.Get(method))
	if !ok {
		return nil, nil, fmt.Errorf("%s.%s is not a function", name, method)
	}
	return fn, obj, nil
}

// sessionArg is the session argument of a call: the request's own when
// live (null on a keyless API), else an empty session. Either is turned
// into JavaScript only if the script reads it.
func (v *vm) sessionArg(sess *session.State, live bool) goja.Value {
	if !live {
		return v.lazyJSON(zeroSession())
	}
	if sess == nil {
		return goja.Null()
	}
	return v.lazyMarshal(sess)
}
