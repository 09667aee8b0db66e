// Package dataplane serves API traffic: it builds each API's chain from
// its definition when definitions load, keeps the routing table, and swaps
// in a new table atomically on reload.
package dataplane

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/proxy"
	"github.com/tollgate/tollgate/middleware/chain"
)

// Plane is the data-plane handler.
type Plane struct {
	current   atomic.Pointer[table]
	transport http.RoundTripper
	env       *chain.Env
	blueprint chain.Blueprint
	response  []chain.ResponseStep
	hooks     chain.Hooks
	errors    *chain.ErrorWriter
	sessions  chain.SessionSaver
	prepare   []Preparer
	problems  atomic.Pointer[[]LoadError]
	client    *http.Client // batch sub-requests to this gateway
}

// Preparer runs on a definition before its chain is built, e.g. to fetch
// and unpack its plugin bundle. An error leaves the API unloaded.
type Preparer func(def *apidef.Definition, env *chain.Env) error

// Options wire a Plane.
type Options struct {
	Prepare   []Preparer
	Env       *chain.Env
	Blueprint chain.Blueprint
	// Response orders the built-in response stages around the hooks'.
	Response  []chain.ResponseStep
	Hooks     chain.Hooks
	Transport http.RoundTripper
	Errors    *chain.ErrorWriter
	Sessions  chain.SessionSaver
}

// New returns a Plane with an empty table.
func New(o Options) *Plane {
	p := &Plane{transport: o.Transport, env: o.Env, blueprint: o.Blueprint, response: o.Response, hooks: o.Hooks, errors: o.Errors,
		sessions: o.Sessions, prepare: o.Prepare, client: &http.Client{Timeout: 60 * time.Second}}
	p.current.Store(newTable(nil, false, nil))
	return p
}

// LoadError is an API that could not be built, and why.
type LoadError struct {
	APIID  string
	Reason string
}

// Load builds chains for every definition with env (one env per load: it
// carries that load's policy snapshot) and swaps the new table in. APIs
// that fail to build are reported and left out; the rest serve.
func (p *Plane) Load(apis []apidef.API, env *chain.Env) []LoadError {
	p.env = env
	var routes []route
	var problems []LoadError
	byID := make(map[string]*chain.API, len(apis))
	byName := make(map[string]*chain.API, len(apis))
	// Stages find the other APIs of this load (base/child versioning) at
	// request time, once the table holding them is in place.
	env.Chain = func(idOrName string) (*chain.API, bool) {
		if a, ok := byID[idOrName]; ok {
			return a, true
		}
		a, ok := byName[idOrName]
		return a, ok
	}
	strict := p.env.Config != nil && p.env.Config.HttpServerOptions.EnableStrictRoutes
	for i := range apis {
		def := &apis[i].Def
		if why := def.RouteProblem(); why != "" {
			problems = append(problems, LoadError{def.APIID, why})
			continue
		}
		a, err := p.build(def)
		if err != nil {
			problems = append(problems, LoadError{def.APIID, err.Error()})
			continue
		}
		byID[def.APIID] = a
		if _, taken := byName[def.Name]; !taken && def.Name != "" {
			byName[def.Name] = a
		}
		if def.Internal {
			continue
		}
		domain := ""
		if p.env.Config != nil && p.env.Config.EnableCustomDomains && !def.DomainDisabled {
			domain = def.Domain
		}
		h := withCORS(def, a)
		routes = append(routes,
			route{domain: domain, prefix: def.Proxy.ListenPath, handler: h},
			route{domain: domain, prefix: "/" + def.APIID + "/", handler: h})
		if def.EnableBatchRequestSupport {
			routes = append(routes, route{domain: domain, exact: true,
				prefix:  strings.TrimSuffix(def.Proxy.ListenPath, "/") + "/tyk/batch/",
				handler: newBatch(p.selfAddr(), def.Proxy.ListenPath, p.client)})
		}
	}
	t := newTable(routes, strict, byID)
	if p.env.Config != nil {
		t.maxBody = p.env.Config.HttpServerOptions.MaxRequestBodySize
	}
	p.current.Store(t)
	p.problems.Store(&problems)
	return problems
}

// Problems returns the APIs the last load left out, and why.
func (p *Plane) Problems() []LoadError {
	if ps := p.problems.Load(); ps != nil {
		return *ps
	}
	return nil
}

func (p *Plane) build(def *apidef.Definition) (a *chain.API, err error) {
	defer func() {
		if r := recover(); r != nil { // one bad definition must not stop the others
			err = fmt.Errorf("building the chain panicked: %v", r)
		}
	}()
	for _, prep := range p.prepare {
		if err := prep(def, p.env); err != nil {
			return nil, err
		}
	}
	stages, err := p.blueprint.Build(def, p.env, p.hooks)
	if err != nil {
		return nil, err
	}
	respond, err := chain.BuildResponse(chain.ResponseFactories(p.response, p.hooks.Response), def, p.env)
	if err != nil {
		return nil, err
	}
	up, err := proxy.New(def, p.transport, p.errors, respond)
	if err != nil {
		return nil, err
	}
	return &chain.API{Def: *def, Stages: stages, ResponseStages: respond, Upstream: up, Errors: p.errors, Sessions: p.sessions}, nil
}

// selfAddr is where batch sub-requests reach this gateway.
func (p *Plane) selfAddr() string {
	c := p.env.Config
	if c == nil {
		return "127.0.0.1:8080"
	}
	host := c.ListenAddress
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(c.ListenPort))
}

// API returns a loaded API by ID.
func (p *Plane) API(id string) (*chain.API, bool) {
	a, ok := p.current.Load().apis[id]
	return a, ok
}

// ServeHTTP routes a request to its API, or answers Tyk's plain 404.
func (p *Plane) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := p.current.Load()
	if t.maxBody > 0 && !limitBody(w, r, t.maxBody) {
		return
	}
	if h := t.match(r); h != nil {
		h.ServeHTTP(w, r)
		return
	}
	notFound(w)
}

// limitBody applies http_server_options.max_request_body_size before
// routing: a larger declared body is refused with Tyk's plain-text 413; a
// body of unknown length is cut off at the limit.
func limitBody(w http.ResponseWriter, r *http.Request, limit int64) bool {
	if r.ContentLength > limit {
		http.Error(w, http.StatusText(http.StatusRequestEntityTooLarge), http.StatusRequestEntityTooLarge)
		return false
	}
	if r.ContentLength < 0 {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	return true
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("Not Found"))
}

// IsControlPath reports whether a path belongs to the control API when it
// shares the listener.
func IsControlPath(path, health string) bool {
	return path == "/tyk" || strings.HasPrefix(path, "/tyk/") || path == health || path == health+"/"
}
