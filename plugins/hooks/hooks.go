// Package hooks turns an API's custom_middleware entries into pipeline
// stages that call a coprocess plugin: it builds the protocol Object from
// the request, sends it to a Backend (a gRPC plugin server or a managed
// plugin process) with a deadline, and applies what comes back the way Tyk
// 5.4.0 does: request changes, ReturnOverrides, custom auth sessions and
// rewritten responses.
//
// A hook whose plugin cannot be reached fails closed: 403 "Key not
// authorised" for the auth hook, 500 "Middleware error" for the others.
package hooks

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/plugins/proto/coprocess"
)

// Messages, as Tyk words them.
const (
	MsgMiddlewareError  = "Middleware error"
	MsgKeyNotAuthorised = "Key not authorised"
	MsgForbidden        = "Forbidden"
	MsgFieldMissing     = "Authorization field missing"
)

// DefaultTimeout bounds one plugin call when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Backend sends one hook call to a plugin.
type Backend interface {
	Dispatch(ctx context.Context, obj *coprocess.Object) (*coprocess.Object, error)
}

// ErrUnavailable is what a Backend returns while its plugin is down.
var ErrUnavailable = errors.New("plugin unavailable")

// Resolve finds the backend of one hook of an API.
type Resolve func(md apidef.MiddlewareDefinition) (Backend, error)

// Options shape the stages of one API.
type Options struct {
	// Driver names the driver in stage names and logs ("grpc", "managed").
	Driver string
	// Timeout bounds each plugin call (DefaultTimeout when zero).
	Timeout time.Duration
	Log     *slog.Logger
}

func (o *Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

// hook is one configured plugin call.
type hook struct {
	kind    coprocess.HookType
	name    string
	rawOnly bool
	backend Backend
}

// enabled returns the entries that are not disabled and have a name.
func enabled(mds []apidef.MiddlewareDefinition) []apidef.MiddlewareDefinition {
	var out []apidef.MiddlewareDefinition
	for _, md := range mds {
		if !md.Disabled && md.Name != "" {
			out = append(out, md)
		}
	}
	return out
}

func resolveAll(kind coprocess.HookType, mds []apidef.MiddlewareDefinition, resolve Resolve) ([]hook, error) {
	var out []hook
	for _, md := range enabled(mds) {
		b, err := resolve(md)
		if err != nil {
			return nil, err
		}
		out = append(out, hook{kind: kind, name: md.Name, rawOnly: md.RawBodyOnly, backend: b})
	}
	return out, nil
}

// specOf is the spec map every call of an API carries: org and API IDs,
// the MD5 of the bundle name, and config_data as a JSON string when it is
// enabled and not empty.
func specOf(def *apidef.Definition) map[string]string {
	sum := md5.Sum([]byte(def.CustomMiddlewareBundle))
	spec := map[string]string{
		"OrgID":       def.OrgID,
		"APIID":       def.APIID,
		"bundle_hash": hex.EncodeToString(sum[:]),
	}
	if !def.ConfigDataDisabled && len(def.ConfigData) > 0 {
		if b, err := json.Marshal(def.ConfigData); err == nil {
			spec["config_data"] = string(b)
		}
	}
	return spec
}

// call sends obj to the hook's backend within the deadline.
func (o *Options) call(ctx context.Context, h *hook, obj *coprocess.Object) (*coprocess.Object, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	out, err := h.backend.Dispatch(ctx, obj)
	if err == nil && out == nil {
		err = errors.New("plugin returned no object")
	}
	return out, err
}

func (o *Options) logFailure(def *apidef.Definition, h *hook, err error) {
	if o.Log != nil {
		o.Log.Error("plugin hook failed", "api_id", def.APIID, "driver", o.Driver,
			"hook", h.kind.String(), "name", h.name, "error", err)
	}
}

// overrides applies a ReturnOverrides block: nil means carry on, an
// *chain.Error is a refusal through the error template, ErrHandled means
// the response was written verbatim.
func overrides(w http.ResponseWriter, ro *coprocess.ReturnOverrides) error {
	if ro == nil {
		return nil
	}
	body := ro.GetResponseBody()
	if e := ro.GetResponseError(); e != "" {
		body = e
	}
	code := int(ro.GetResponseCode())
	switch {
	case code > 999 || (code > 0 && code < 100):
		return chain.Fail(http.StatusInternalServerError, MsgMiddlewareError)
	case code >= 400 && !ro.GetOverrideError():
		if body == "" {
			body = MsgKeyNotAuthorised
		}
		e := chain.Fail(code, body)
		if len(ro.GetHeaders()) > 0 {
			e.Header = http.Header{}
			for k, v := range ro.GetHeaders() {
				e.Header.Set(k, v)
			}
		}
		return e
	case code > 0:
		for k, v := range ro.GetHeaders() {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
		return chain.ErrHandled
	}
	return nil
}
