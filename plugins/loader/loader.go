// Package loader connects the out-of-process plugin drivers to the
// pipeline: for each API it picks the driver named by
// custom_middleware.driver and contributes the hook stages of the grpc
// and managed drivers. Tyk's in-process Go plugins (driver "goplugin",
// .so files) are refused with a load error that names the alternative.
package loader

import (
	"errors"
	"log/slog"
	"strings"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/plugins/grpcdriver"
	"github.com/tollgate/tollgate/plugins/hooks"
	"github.com/tollgate/tollgate/plugins/managed"
)

// GoPluginDriver is Tyk's in-process Go plugin driver.
const GoPluginDriver = "goplugin"

// ErrGoPlugin is the load error of an API that uses in-process Go plugins.
var ErrGoPlugin = errors.New(`Go plugins loaded in process (driver "goplugin", .so files) are not supported: ` +
	`build the plugin as an executable with github.com/tollgate/tollgate/plugins/sdk and set ` +
	`custom_middleware.driver to "managed" (or serve it over gRPC with driver "grpc")`)

// Loader owns the drivers' shared state: the gRPC connection and the
// managed plugin processes.
type Loader struct {
	cfg  config.CoProcessConfig
	log  *slog.Logger
	grpc *grpcdriver.Client
	pool *managed.Pool
}

// New returns a loader; nothing is started until an API needs it.
func New(cfg *config.Config, log *slog.Logger) *Loader {
	return &Loader{cfg: cfg.CoProcessOptions, log: log,
		grpc: grpcdriver.New(cfg.CoProcessOptions), pool: &managed.Pool{Log: log}}
}

// Contribute adds the plugin stages of every slot to h.
func (l *Loader) Contribute(h *chain.Hooks) {
	if h.Request == nil {
		h.Request = map[chain.Slot][]chain.Factory{}
	}
	for _, slot := range []chain.Slot{chain.SlotPre, chain.SlotPostKeyAuth, chain.SlotPost} {
		h.Request[slot] = append(h.Request[slot], func(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
			resolve, opts, err := l.driver(def, env)
			if err != nil || resolve == nil {
				return nil, err
			}
			return hooks.NewRequestStage(def, slot, resolve, opts)
		})
	}
	h.Request[chain.SlotAuth] = append(h.Request[chain.SlotAuth], func(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
		resolve, opts, err := l.driver(def, env)
		if err != nil || resolve == nil {
			return nil, err
		}
		return hooks.NewAuthStage(def, env, resolve, opts)
	})
	h.Response = append(h.Response, func(def *apidef.Definition, env *chain.Env) (chain.ResponseStage, error) {
		resolve, opts, err := l.driver(def, env)
		if err != nil || resolve == nil {
			return nil, err
		}
		return hooks.NewResponseStage(def, resolve, opts)
	})
}

// Pool is the managed driver's process pool (for the key-request hand-off).
func (l *Loader) Pool() *managed.Pool { return l.pool }

// Close stops the managed plugins and drops the gRPC connection.
func (l *Loader) Close() {
	l.pool.Close()
	_ = l.grpc.Close()
}

// driver returns how an API's hooks are reached, or a nil Resolve when
// its driver is not one of ours (JavaScript, say).
func (l *Loader) driver(def *apidef.Definition, env *chain.Env) (hooks.Resolve, hooks.Options, error) {
	cm := &def.CustomMiddleware
	opts := hooks.Options{Driver: cm.Driver, Timeout: l.cfg.PluginCallTimeout(), Log: env.Log}
	if opts.Log == nil {
		opts.Log = l.log
	}
	for _, md := range cm.Response {
		if !md.Disabled && strings.HasSuffix(md.Path, ".so") {
			return nil, opts, ErrGoPlugin
		}
	}
	switch cm.Driver {
	case grpcdriver.Name:
		return func(apidef.MiddlewareDefinition) (hooks.Backend, error) { return l.grpc.Backend() }, opts, nil
	case managed.Name:
		return func(md apidef.MiddlewareDefinition) (hooks.Backend, error) {
			path, err := managed.ExecutablePath(def, md)
			if err != nil {
				return nil, err
			}
			return l.pool.Acquire(path, env)
		}, opts, nil
	case GoPluginDriver:
		if hasHooks(def) {
			return nil, opts, ErrGoPlugin
		}
	}
	return nil, opts, nil
}

// hasHooks reports whether any hook of the API is enabled.
func hasHooks(def *apidef.Definition) bool {
	cm := &def.CustomMiddleware
	if !cm.AuthCheck.Disabled && cm.AuthCheck.Name != "" {
		return true
	}
	for _, list := range [][]apidef.MiddlewareDefinition{cm.Pre, cm.PostKeyAuth, cm.Post, cm.Response} {
		for _, md := range list {
			if !md.Disabled && md.Name != "" {
				return true
			}
		}
	}
	return false
}
