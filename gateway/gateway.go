// Package gateway is the Tollgate process: it opens the store, loads API
// definitions and policies, serves the control API (and, as later issues
// land, the data plane) and reloads on request.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/controlapi"
	"github.com/tollgate/tollgate/gateway/dataplane"
	"github.com/tollgate/tollgate/gateway/keys"
	"github.com/tollgate/tollgate/gateway/policy"
	"github.com/tollgate/tollgate/gateway/proxy"
	"github.com/tollgate/tollgate/gateway/storage"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/middleware/cache"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/ratelimit"
	"github.com/tollgate/tollgate/plugins/bundle"
	"github.com/tollgate/tollgate/plugins/jsvm"
	"github.com/tollgate/tollgate/plugins/loader"
)

// Gateway is one running node.
type Gateway struct {
	Config   *config.Config
	Log      *slog.Logger
	Store    storage.Store
	APIs     *apidef.Store
	Policies *policy.Store
	Keys     *keys.Store

	reloads *reloader
	plane   *dataplane.Plane
	env     *chain.Env
	rich    *loader.Loader // out-of-process plugins
	limits  *ratelimit.Service
}

// New opens the store and loads definitions and policies.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Gateway, error) {
	st, err := storage.Open(ctx, cfg.Storage)
	if err != nil {
		return nil, fmt.Errorf("opening %s store: %w", storageName(cfg.Storage), err)
	}
	g := &Gateway{
		Config: cfg, Log: log, Store: st,
		APIs:     &apidef.Store{Dir: cfg.AppPath},
		Policies: &policy.Store{Dir: cfg.Policies.PolicyPath, RecordFile: cfg.Policies.PolicyRecordName},
		Keys: &keys.Store{KV: st, Opt: keys.Options{
			HashKeys: cfg.HashKeys, HashKeyFunction: cfg.HashKeyFunction,
			HashKeyFunctionFallback:     cfg.HashKeyFunctionFallback,
			DisableKeyActionsByUsername: cfg.DisableKeyActionsByUsername,
		}},
	}
	if !cfg.LocalSessionCache.DisableCacheSessionState {
		// The data plane reads sessions through a short-lived cache that
		// every key write on this node invalidates (keys.SessionCache).
		g.Keys.Cache = keys.NewSessionCache(keys.DefaultCacheTTL)
	}
	// Rate limits and quotas count in Redis with a Redis store, in process
	// otherwise; the control API reads and resets quotas through the same
	// service.
	g.limits, err = ratelimit.New(ctx, st, g.Keys, ratelimit.Options{FailOpen: cfg.RateLimitFailOpen, Log: log})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("rate limit counters: %w", err)
	}
	g.Keys.Counters = g.limits
	if err := g.newDataPlane(); err != nil {
		g.Close()
		return nil, err
	}
	g.reloads = newReloader(g.load, log)
	if err := g.load(); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

func storageName(o storage.Options) string {
	if o.Type == storage.TypeRedis {
		return "redis"
	}
	return "embedded"
}

// load re-reads definitions and policies from disk. Bad files are logged
// with their reason and skipped; the rest load.
func (g *Gateway) load() error {
	apiProblems, err := g.APIs.Load()
	if err != nil {
		return fmt.Errorf("reading API definitions from %s: %w", g.Config.AppPath, err)
	}
	for _, p := range apiProblems {
		g.Log.Error("API definition not loaded", "file", p.File, "reason", p.Reason)
	}
	polProblems, err := g.Policies.Load()
	if err != nil {
		return fmt.Errorf("reading policies: %w", err)
	}
	for _, p := range polProblems {
		g.Log.Error("policy not loaded", "file", p.File, "reason", p.Reason)
	}
	for _, a := range g.APIs.List() {
		if why := a.Def.RouteProblem(); why != "" {
			g.Log.Warn("API loaded but not routed", "api_id", a.Def.APIID, "file", a.File, "reason", why)
		}
	}
	apis := g.APIs.List()
	// The data plane sees the policies as they are at this reload.
	snapshot := g.Policies.Snapshot()
	env := *g.env
	env.Policies = func(id string) (policy.Policy, bool) { p, ok := snapshot[id]; return p, ok }
	for _, p := range g.plane.Load(apis, &env) {
		g.Log.Error("API not served", "api_id", p.APIID, "reason", p.Reason)
	}
	g.Log.Info("definitions loaded", "apis", len(apis), "policies", len(snapshot))
	return nil
}

// newDataPlane wires the data plane: error templates, the shared upstream
// pool, the stage environment and the pipeline blueprint.
func (g *Gateway) newDataPlane() error {
	c := g.Config
	errs, err := chain.NewErrorWriter(c.TemplatePath)
	if err != nil {
		return fmt.Errorf("error templates: %w", err)
	}
	errs.HideGenerator, errs.CloseConnections = c.HideGeneratorHeader, c.CloseConnections
	g.env = &chain.Env{Config: c, Store: g.Store, Keys: g.Keys, Log: g.Log, Now: time.Now,
		Policies: g.Policies.Lookup(), Limits: g.limits, Cache: g.responseCache()}
	g.plane = dataplane.New(dataplane.Options{
		Env:       g.env,
		Blueprint: middleware.Blueprint(),
		Response:  middleware.ResponseBlueprint(),
		Hooks:     g.pluginHooks(),
		Prepare:   g.preparers(),
		Errors:    errs,
		Transport: proxy.NewTransport(proxy.TransportOptions{
			MaxIdleConns: c.MaxIdleConns, MaxIdleConnsPerHost: c.MaxIdleConnsPerHost,
			CloseConnections: c.ProxyCloseConnections, ResponseTimeout: c.ProxyTimeout(),
			InsecureSkipVerify: c.ProxySSLInsecureSkipVerify,
		}),
		Sessions: &dataplane.SessionWriter{Keys: g.Keys, Log: g.Log, Now: time.Now, Rules: keys.LifetimeRules{
			GlobalSeconds: c.GlobalSessionLifetime, Force: c.ForceGlobalSessionLifetime,
			RespectExpiry: c.SessionLifetimeRespectsKeyExpiration,
		}},
	})
	return nil
}

// responseCache is where cached responses live: in Redis when the gateway
// runs on Redis (so every node shares them), else in process memory.
func (g *Gateway) responseCache() chain.ResponseCache {
	if g.Store.Name() == storage.TypeRedis {
		return g.Store
	}
	return cache.NewMemory(256 << 20)
}

// pluginHooks gathers the hook stages of the plugin runtimes (plugins/...):
// each contributes factories per slot that decide per API whether they apply.
func (g *Gateway) pluginHooks() chain.Hooks {
	h := chain.Hooks{Request: map[chain.Slot][]chain.Factory{}}
	g.rich = loader.New(g.Config, g.Log) // grpc and managed drivers
	g.rich.Contribute(&h)
	jsvm.AddHooks(&h) // otto (goja) driver
	return h
}

// preparers run on each definition before its chain is built (plugin
// bundles are fetched and unpacked here).
func (g *Gateway) preparers() []dataplane.Preparer {
	bundles := bundle.New(g.Config, g.Log)
	return []dataplane.Preparer{func(def *apidef.Definition, _ *chain.Env) error { return bundles.Prepare(def) }}
}

// Reload queues a reload; with wait it returns when the reload has run.
func (g *Gateway) Reload(ctx context.Context, wait bool) error {
	return g.reloads.request(ctx, wait)
}

// Run serves until ctx is cancelled, then shuts down gracefully.
func (g *Gateway) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go g.reloads.run(ctx)
	stopNotify, err := g.subscribe(ctx)
	if err != nil {
		return err
	}
	defer stopNotify()

	srv := &controlapi.Server{
		Settings: g.controlSettings(), APIs: g.APIs, Policies: g.Policies, Keys: g.Keys,
		Store: g.Store, Reloader: g, Log: g.Log, LoadStates: g, Cache: g.env.Cache,
	}
	control, err := srv.Handler(ctx)
	if err != nil {
		return err
	}
	servers := g.servers(control)
	errc := make(chan error, len(servers))
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			return fmt.Errorf("listening on %s: %w", s.Addr, err)
		}
		g.Log.Info("listening", "addr", ln.Addr().String())
		go func(s *http.Server) { errc <- s.Serve(ln) }(s)
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	g.Log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer scancel()
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func(s *http.Server) { defer wg.Done(); _ = s.Shutdown(sctx) }(s)
	}
	wg.Wait()
	return nil
}

// Close writes back in-process counters and releases the store.
func (g *Gateway) Close() error {
	if g.rich != nil {
		g.rich.Close()
	}
	if g.limits != nil {
		_ = g.limits.Close()
	}
	return g.Store.Close()
}

func (g *Gateway) controlSettings() controlapi.Settings {
	c := g.Config
	return controlapi.Settings{
		Secret: c.Secret, MaxBodyBytes: c.ControlAPIMaxBodySize, HealthPath: c.HealthCheckEndpointName,
		AllowMasterKeys: c.AllowMasterKeys, HashKeys: c.HashKeys, EnableHashedKeysListing: c.EnableHashedKeysListing,
		BasicAuthHashFunction: c.BasicAuthHashKeyFunction, GlobalSessionLifetime: c.GlobalSessionLifetime,
		ForceGlobalLifetime: c.ForceGlobalSessionLifetime, LifetimeRespectsExpiry: c.SessionLifetimeRespectsKeyExpiration,
		LivenessInterval: c.LivenessCheck.CheckDuration, UseDBAppConfigs: c.UseDBAppConfigs,
	}
}

// servers builds the listeners: one for everything, or a second one for
// the control API when control_api_port is set.
func (g *Gateway) servers(control http.Handler) []*http.Server {
	c := g.Config
	mk := func(addr string, h http.Handler) *http.Server {
		return &http.Server{
			Addr: addr, Handler: h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       time.Duration(c.HttpServerOptions.ReadTimeout) * time.Second,
			WriteTimeout:      time.Duration(c.HttpServerOptions.WriteTimeout) * time.Second,
			ErrorLog:          slog.NewLogLogger(g.Log.Handler(), slog.LevelWarn),
		}
	}
	health := "/" + c.HealthCheckEndpointName
	if addr := c.ControlAPIAddr(); addr != "" {
		return []*http.Server{
			mk(c.ListenAddr(), g.plane),
			mk(addr, hostOnly(c.ControlAPIHostname, control)),
		}
	}
	return []*http.Server{mk(c.ListenAddr(), &shared{control: hostOnly(c.ControlAPIHostname, control), health: health, data: g.plane})}
}

// shared sends /tyk/ and the health path to the control API and everything
// else to the data plane.
type shared struct {
	control, data http.Handler
	health        string
}

func (s *shared) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if dataplane.IsControlPath(r.URL.Path, s.health) {
		s.control.ServeHTTP(w, r)
		return
	}
	s.data.ServeHTTP(w, r)
}

// hostOnly restricts h to one Host when host is set (control_api_hostname).
func hostOnly(host string, h http.Handler) http.Handler {
	if host == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqHost := r.Host
		if hh, _, err := net.SplitHostPort(reqHost); err == nil {
			reqHost = hh
		}
		if reqHost != host {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
