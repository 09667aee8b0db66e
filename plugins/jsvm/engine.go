// Package jsvm runs Tyk-style JavaScript plugins on goja: middleware hooks
// (pre, auth_check, post_key_auth, post, response), virtual endpoints and
// the Go-backed globals scripts call (log, b64enc, TykMakeHttpRequest,
// TykGetKeyData, ...).
//
// Each API that uses JavaScript gets, when definitions load, its scripts
// compiled once and a pool of ready runtimes (prelude and scripts already
// run). A request borrows a runtime, calls into it under jsvm_timeout and
// gives it back; a runtime whose call failed, timed out or changed a
// top-level binding is dropped instead, so calls never see each other's
// state and one bad script cannot wedge the others.
package jsvm

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/middleware/chain"
)

// IsJSDriver reports whether a custom_middleware driver means JavaScript:
// Tyk's "otto", or "goja".
func IsJSDriver(driver string) bool { return driver == "otto" || driver == "goja" }

// Messages, as Tyk words them.
const (
	MsgMiddlewareError = "Middleware error"
	MsgInternal        = "Internal Server Error"
	MsgVirtualError    = "Error during virtual endpoint execution. Contact Administrator for more details."
)

// apiJS is the JavaScript side of one loaded API. It holds copies of what
// it needs from the definition, never the definition itself (see forAPI).
type apiJS struct {
	apiID, orgID string
	env          *chain.Env
	log          *slog.Logger
	enabled      bool // enable_jsvm
	timeout      time.Duration
	canonical    bool // header names are canonicalised
	identity     bool // a JS auth_check provides the request's session

	hooks   hookSet
	scripts []script
	// configJSON is the config argument (OrgID, APIID, config_data).
	configJSON []byte

	ready chan *vm
}

// hookSet is an API's JavaScript hooks, definitions and folders merged.
type hookSet struct {
	pre, postKeyAuth, post, response []apidef.MiddlewareDefinition
	auth                             *apidef.MiddlewareDefinition
}

func (h hookSet) empty() bool {
	return len(h.pre)+len(h.postKeyAuth)+len(h.post)+len(h.response) == 0 && h.auth == nil
}

// The runtime state of each definition being built, found again by every
// factory of the same build: the hook factories and the virtual-endpoint
// factory of one API share one set of runtimes. Entries are keyed weakly
// on the definition, so they go away with it once its load is done (the
// stages keep the apiJS alive as long as they serve).
var cache struct {
	sync.Mutex
	m map[weak.Pointer[apidef.Definition]]*apiJS
}

// forAPI returns the JavaScript state of def, building it on first use;
// nil when the API has no JavaScript at all. The lock is not held while
// building (scripts run then): the factories of one definition are called
// one after the other, so a definition is never built twice at once.
func forAPI(def *apidef.Definition, env *chain.Env) *apiJS {
	key := weak.Make(def)
	cache.Lock()
	a, ok := cache.m[key]
	cache.Unlock()
	if ok {
		return a
	}
	a = build(def, env)
	cache.Lock()
	defer cache.Unlock()
	if cache.m == nil {
		cache.m = map[weak.Pointer[apidef.Definition]]*apiJS{}
	}
	cache.m[key] = a
	runtime.AddCleanup(def, func(k weak.Pointer[apidef.Definition]) {
		cache.Lock()
		delete(cache.m, k)
		cache.Unlock()
	}, key)
	return a
}

// settings are the gateway settings the JS runtimes follow.
func settings(env *chain.Env) *config.Config {
	if env != nil && env.Config != nil {
		return env.Config
	}
	return config.Default()
}

func build(def *apidef.Definition, env *chain.Env) *apiJS {
	cfg := settings(env)
	log := slog.Default()
	if env != nil && env.Log != nil {
		log = env.Log
	}
	log = log.With("prefix", "jsvm", "api_id", def.APIID)
	a := &apiJS{
		apiID: def.APIID, orgID: def.OrgID, env: env, log: log,
		enabled: cfg.EnableJSVM, timeout: Timeout(cfg), canonical: !cfg.IgnoreCanonicalMIMEHeaderKey,
		identity: def.BaseIdentityProvidedBy == "" || def.BaseIdentityProvidedBy == "custom_auth",
	}
	if IsJSDriver(def.CustomMiddleware.Driver) {
		a.hooks = hooksOf(def, cfg.MiddlewarePath)
	}
	virtuals := virtualSources(def, cfg.DisableVirtualPathBlobs)
	if a.hooks.empty() && len(virtuals) == 0 {
		return nil
	}
	if !a.enabled {
		if !a.hooks.empty() {
			log.Error("JavaScript middleware is configured but enable_jsvm is off; its hooks answer " + MsgMiddlewareError)
		}
		return a
	}
	a.configJSON = configJSON(def)
	a.scripts = a.load(cfg, def, virtuals)
	a.ready = make(chan *vm, poolSize())
	a.ready <- a.first()
	return a
}

// first builds the API's first runtime and logs what failed to load. A
// script whose top level runs past jsvm_timeout is left out from then on
// (and the runtime built again without it), so that no later runtime
// waits for it.
func (a *apiJS) first() *vm {
	v, problems := newVM(a)
	var slow []int
	for _, p := range problems {
		a.log.Error("JavaScript failed to load", "error", p.err)
		if p.timeout {
			slow = append(slow, p.script)
		}
	}
	if len(slow) == 0 {
		return v
	}
	keep := a.scripts[:0:0]
	for i, s := range a.scripts {
		if !slices.Contains(slow, i) {
			keep = append(keep, s)
		} else {
			a.log.Error("JavaScript left out: its top level does not finish within jsvm_timeout", "file", s.name)
		}
	}
	a.scripts = keep
	v, _ = newVM(a)
	return v
}

// Timeout is jsvm_timeout as a duration; zero or less means 5 s.
func Timeout(cfg *config.Config) time.Duration {
	if cfg.JSVMTimeout <= 0 {
		return config.DefaultJSVMTimeout * time.Second
	}
	return time.Duration(cfg.JSVMTimeout) * time.Second
}

// poolSize is how many idle runtimes an API keeps (about 0.5 MiB each).
// Runtimes are built on demand, so an API holds as many as it has had
// calls at once, up to this many; one per core is enough for calls that
// compute, and calls waiting on TykMakeHttpRequest beyond that get
// runtimes that are dropped afterwards.
func poolSize() int { return max(2, runtime.GOMAXPROCS(0)) }

// hooksOf collects the enabled hooks of def's custom_middleware and of
// the folders <middleware_path>/<api_id>/{pre,auth,post_auth,post}/*.js.
// Hook paths are inside the bundle when the API has one.
func hooksOf(def *apidef.Definition, middlewarePath string) hookSet {
	cm := def.CustomMiddleware
	inBundle := func(list []apidef.MiddlewareDefinition) []apidef.MiddlewareDefinition {
		var out []apidef.MiddlewareDefinition
		for _, m := range list {
			if m.Disabled || m.Name == "" {
				continue
			}
			if def.BundleDir != "" && m.Path != "" && !filepath.IsAbs(m.Path) {
				m.Path = filepath.Join(def.BundleDir, m.Path)
			}
			out = append(out, m)
		}
		return out
	}
	h := hookSet{pre: inBundle(cm.Pre), postKeyAuth: inBundle(cm.PostKeyAuth), post: inBundle(cm.Post), response: inBundle(cm.Response)}
	if auth := inBundle([]apidef.MiddlewareDefinition{cm.AuthCheck}); len(auth) == 1 {
		h.auth = &auth[0]
	}
	if middlewarePath != "" && def.APIID != "" {
		dir := filepath.Join(middlewarePath, def.APIID)
		h.pre = append(h.pre, folder(dir, "pre")...)
		h.postKeyAuth = append(h.postKeyAuth, folder(dir, "post_auth")...)
		h.post = append(h.post, folder(dir, "post")...)
		if auth := folder(dir, "auth"); len(auth) > 0 {
			h.auth = &auth[len(auth)-1]
		}
	}
	if !(def.CustomPluginAuth || def.EnableCoprocessAuth) || def.UseKeyless {
		h.auth = nil
	}
	if def.UseKeyless {
		h.postKeyAuth = nil
	}
	return h
}

// folder lists <dir>/<hook>/*.js as hooks: the name is the file name up to
// its first dot, and a name ending in _with_session asks for the session.
func folder(dir, hook string) []apidef.MiddlewareDefinition {
	files, _ := filepath.Glob(filepath.Join(dir, hook, "*.js"))
	var out []apidef.MiddlewareDefinition
	for _, f := range files {
		name, _, _ := strings.Cut(filepath.Base(f), ".")
		out = append(out, apidef.MiddlewareDefinition{Name: name, Path: f, RequireSession: strings.HasSuffix(name, "_with_session")})
	}
	return out
}

// source is JavaScript to evaluate in the API's runtimes.
type source struct {
	name string
	code func() (string, error)
}

// load reads and compiles the API's scripts in Tyk's order: tyk_js_path,
// virtual-endpoint sources, then the hook files. A file that cannot be
// read or compiled is logged and skipped; a file used by several hooks is
// compiled once.
func (a *apiJS) load(cfg *config.Config, def *apidef.Definition, virtuals []source) []script {
	var srcs []source
	if cfg.TykJSPath != "" {
		if b, err := os.ReadFile(cfg.TykJSPath); err == nil { // a missing file is ignored
			srcs = append(srcs, source{cfg.TykJSPath, func() (string, error) { return string(b), nil }})
		}
	}
	srcs = append(srcs, virtuals...)
	h := a.hooks
	all := append(append([]apidef.MiddlewareDefinition{}, h.pre...), h.postKeyAuth...)
	if h.auth != nil {
		all = append(all, *h.auth)
	}
	all = append(append(all, h.post...), h.response...)
	seen := map[string]bool{}
	for _, m := range all {
		if m.Path == "" || seen[m.Path] {
			continue
		}
		seen[m.Path] = true
		if !strings.Contains(filepath.Ext(m.Path), ".js") {
			a.log.Error("JavaScript middleware skipped: not a .js file", "name", m.Name, "path", m.Path)
			continue
		}
		path := m.Path
		srcs = append(srcs, source{path, func() (string, error) {
			b, err := os.ReadFile(path)
			return string(b), err
		}})
	}
	var out []script
	for _, s := range srcs {
		code, err := s.code()
		if err == nil {
			var p *script
			if p, err = compileScript(s.name, code); err == nil {
				out = append(out, *p)
				continue
			}
		}
		a.log.Error("JavaScript failed to load", "file", s.name, "error", err)
	}
	return out
}

func compileScript(name, code string) (*script, error) {
	p, err := compile(name, code)
	if err != nil {
		return nil, err
	}
	return &script{name: name, prog: p}, nil
}

// virtualSources are the sources of def's enabled virtual endpoints, in a
// stable order (versions by name). With disable_virtual_path_blobs the
// blob ones are left out (the virtual-endpoint factory skips them too).
func virtualSources(def *apidef.Definition, noBlobs bool) []source {
	var out []source
	for _, key := range sortedKeys(def.VersionData.Versions) {
		for _, vm := range def.VersionData.Versions[key].ExtendedPaths.Virtual {
			if vm.Disabled || noBlobs && vm.FunctionSourceType == "blob" {
				continue
			}
			vm := vm
			out = append(out, source{"virtual:" + vm.Path, func() (string, error) { return virtualCode(vm) }})
		}
	}
	return out
}

// virtualCode reads a virtual endpoint's JavaScript: a file, or a base64
// blob.
func virtualCode(vm apidef.VirtualMeta) (string, error) {
	switch vm.FunctionSourceType {
	case "file":
		b, err := os.ReadFile(vm.FunctionSourceURI)
		return string(b), err
	case "blob":
		b, err := base64.StdEncoding.DecodeString(vm.FunctionSourceURI)
		return string(b), err
	}
	return "", fmt.Errorf("function_source_type %q is neither file nor blob", vm.FunctionSourceType)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// configJSON is the third argument of every call: OrgID, APIID and
// config_data (left out when config_data_disabled, null when unset).
func configJSON(def *apidef.Definition) []byte {
	cfg := map[string]any{"OrgID": def.OrgID, "APIID": def.APIID}
	if !def.ConfigDataDisabled {
		cfg["config_data"] = def.ConfigData
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		b, _ = json.Marshal(map[string]any{"OrgID": def.OrgID, "APIID": def.APIID})
	}
	return b
}

// zeroSession is the JSON of the empty session pre, auth and
// session-less post hooks get.
var zeroSession = sync.OnceValue(func() []byte {
	b, _ := json.Marshal(&session.State{})
	return b
})

// get borrows a ready runtime, building one when all are busy.
func (a *apiJS) get() *vm {
	select {
	case v := <-a.ready:
		return v
	default:
		v, _ := newVM(a) // load problems were logged with the first runtime
		return v
	}
}

// put gives a runtime back after a call that succeeded. One whose
// top-level bindings changed is dropped, as is one the pool has no room
// for.
func (a *apiJS) put(v *vm) {
	if !v.clean() {
		return
	}
	select {
	case a.ready <- v:
	default:
	}
}

// errNoResult means the call returned nothing usable.
var errNoResult = errors.New("middleware returned no usable result")
