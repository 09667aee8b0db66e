package ratelimit_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/keys"
	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/gateway/storage"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/ratelimit"
)

// fixture is a limit service on in-process counters and an embedded key
// store, with the stages of one API.
type fixture struct {
	svc  *ratelimit.Service
	keys *keys.Store
	env  *chain.Env
	clk  *clock
}

func newFixture(t *testing.T, c ratelimit.Counters, oneTrip bool, opts ratelimit.Options) *fixture {
	t.Helper()
	st, err := storage.OpenEmbedded(storage.EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := newClock()
	if c == nil {
		m, err := ratelimit.NewMemory(context.Background(), ratelimit.MemoryOptions{Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		c = m
	}
	ks := &keys.Store{KV: st}
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	svc := ratelimit.NewService(c, ks, oneTrip, opts)
	ks.Counters = svc
	cfg := config.Default()
	return &fixture{svc: svc, keys: ks, clk: clk, env: &chain.Env{Config: cfg, Keys: ks, Limits: svc, Now: clk.Now}}
}

func keyedDef() *apidef.Definition {
	return &apidef.Definition{APIID: "keyed", OrgID: "org1"}
}

// stage builds the RateLimitAndQuotaCheck stage of def.
func (f *fixture) stage(t *testing.T, def *apidef.Definition) chain.Stage {
	t.Helper()
	st, err := ratelimit.NewRateLimitAndQuota(def, f.env)
	if err != nil || st == nil {
		t.Fatalf("stage: %v %v", st, err)
	}
	return st
}

func newRequest(def *apidef.Definition, sess *session.State) *chain.Request {
	return &chain.Request{API: &chain.API{Def: *def}, Session: sess, StoredKey: "key1"}
}

func run(st chain.Stage, req *chain.Request) error {
	r := httptest.NewRequest("GET", "/keyed/x", nil)
	return st.ProcessRequest(httptest.NewRecorder(), r, req)
}

// refusal checks err is the chain refusal with status and message.
func refusal(t *testing.T, err error, status int, msg string) {
	t.Helper()
	var e *chain.Error
	if !errors.As(err, &e) || e.Status != status || e.Message != msg {
		t.Fatalf("got %v, want %d %q", err, status, msg)
	}
	if e.Header.Get("X-Ratelimit-Limit") != "" {
		t.Fatal("refusal carries X-Ratelimit headers")
	}
}

func rights(apiID string, limit session.APILimit, scope string) map[string]session.AccessDefinition {
	return map[string]session.AccessDefinition{apiID: {APIID: apiID, Limit: limit, AllowanceScope: scope}}
}

func TestKeyQuotaReportsAndRefuses(t *testing.T) {
	f := newFixture(t, nil, false, ratelimit.Options{})
	def := keyedDef()
	st := f.stage(t, def)
	sess := &session.State{QuotaMax: 2, QuotaRenewalRate: 3600, QuotaRenews: 5, AccessRights: rights("keyed", session.APILimit{}, "")}
	now := f.clk.Now().Unix()

	req := newRequest(def, sess)
	if err := run(st, req); err != nil {
		t.Fatal(err)
	}
	want := chain.QuotaReport{Limit: 2, Remaining: 1, Reset: now + 3600, Set: true}
	if req.Quota != want {
		t.Fatalf("report %+v, want %+v", req.Quota, want)
	}
	if !req.SessionChanged || req.Session.QuotaRenews != now+3600 || req.Session.QuotaRemaining != 1 {
		t.Fatalf("a new period must be written back: changed %v, %+v", req.SessionChanged, req.Session)
	}
	if sess.QuotaRenews != 5 {
		t.Fatal("the stage changed the session it was given instead of a copy")
	}

	req = newRequest(def, req.Session)
	if err := run(st, req); err != nil {
		t.Fatal(err)
	}
	if want.Remaining = 0; req.Quota != want {
		t.Fatalf("report %+v, want %+v", req.Quota, want)
	}
	if req.SessionChanged {
		t.Fatal("the session is written on every request, not only on a new period")
	}
	req = newRequest(def, req.Session)
	refusal(t, run(st, req), 403, "Quota exceeded")
	if req.Quota.Set {
		t.Fatal("a refused request has a quota report")
	}
}

func TestUnlimitedQuotaReportsTheSession(t *testing.T) {
	f := newFixture(t, nil, false, ratelimit.Options{})
	def := keyedDef()
	st := f.stage(t, def)
	for _, max := range []int64{-1, 0} {
		sess := &session.State{QuotaMax: max, QuotaRenews: 1234, AccessRights: rights("keyed", session.APILimit{}, "")}
		for range 3 {
			req := newRequest(def, sess)
			if err := run(st, req); err != nil {
				t.Fatal(err)
			}
			if want := (chain.QuotaReport{Limit: max, Remaining: 0, Reset: 1234, Set: true}); req.Quota != want {
				t.Fatalf("quota_max %d: report %+v, want %+v", max, req.Quota, want)
			}
			if req.SessionChanged {
				t.Fatal("session written for an unlimited quota")
			}
		}
	}
}

func TestKeylessAndIgnoredReportZeros(t *testing.T) {
	f := newFixture(t, nil, false, ratelimit.Options{})
	keyless := &apidef.Definition{APIID: "open", OrgID: "org1", UseKeyless: true}
	req := newRequest(keyless, nil)
	if err := run(f.stage(t, keyless), req); err != nil {
		t.Fatal(err)
	}
	if req.Quota != (chain.QuotaReport{Set: true}) {
		t.Fatalf("keyless report %+v", req.Quota)
	}
	def := keyedDef()
	st := f.stage(t, def)
	sess := &session.State{Rate: 1, Per: 60, QuotaMax: 1, QuotaRenewalRate: 60, AccessRights: rights("keyed", session.APILimit{}, "")}
	for range 3 {
		req := newRequest(def, sess)
		req.Ignored = true
		if err := run(st, req); err != nil {
			t.Fatalf("ignored path limited: %v", err)
		}
		if req.Quota != (chain.QuotaReport{Set: true}) {
			t.Fatalf("ignored report %+v", req.Quota)
		}
	}
	if _, ok, _ := f.svc.QuotaUsed(context.Background(), "", "key1"); ok {
		t.Fatal("an ignored path counted")
	}
}

func TestPerAPILimitHasItsOwnScope(t *testing.T) {
	f := newFixture(t, nil, false, ratelimit.Options{})
	def := keyedDef()
	st := f.stage(t, def)
	sess := &session.State{QuotaMax: 100, QuotaRenewalRate: 3600,
		AccessRights: rights("keyed", session.APILimit{QuotaMax: 1, QuotaRenewalRate: 60}, "keyed")}
	req := newRequest(def, sess)
	if err := run(st, req); err != nil {
		t.Fatal(err)
	}
	if req.Quota.Limit != 1 || req.Quota.Remaining != 0 {
		t.Fatalf("report %+v: not the per-API limit", req.Quota)
	}
	ar := req.Session.AccessRights["keyed"]
	if ar.Limit.QuotaRenews == 0 || req.Session.QuotaRenews != 0 {
		t.Fatalf("new period recorded in the wrong place: %+v / %d", ar.Limit, req.Session.QuotaRenews)
	}
	if used, ok, _ := f.svc.QuotaUsed(context.Background(), "keyed", "key1"); !ok || used != 1 {
		t.Fatalf("scoped counter %d %v", used, ok)
	}
	refusal(t, run(st, newRequest(def, sess)), 403, "Quota exceeded")
}

func TestAPIMissingFromAccessRightsIsRateLimited(t *testing.T) {
	f := newFixture(t, nil, false, ratelimit.Options{})
	def := keyedDef()
	sess := &session.State{AccessRights: rights("other", session.APILimit{}, "")}
	refusal(t, run(f.stage(t, def), newRequest(def, sess)), 429, "Rate Limit Exceeded")
}

func TestDisableFlags(t *testing.T) {
	f := newFixture(t, nil, false, ratelimit.Options{})
	def := keyedDef()
	def.DisableRateLimit, def.DisableQuota = true, true
	def.GlobalRateLimit = apidef.GlobalRateLimit{Rate: 1, Per: 60}
	st := f.stage(t, def)
	sess := &session.State{Rate: 1, Per: 60, QuotaMax: 1, AccessRights: rights("keyed", session.APILimit{}, "")}
	for range 3 {
		if err := run(st, newRequest(def, sess)); err != nil {
			t.Fatalf("limited although disabled: %v", err)
		}
	}
}

func TestKeyRateLimit(t *testing.T) {
	f := newFixture(t, nil, false, ratelimit.Options{})
	def := keyedDef()
	st := f.stage(t, def)
	sess := &session.State{Rate: 3, Per: 60, QuotaMax: 10, QuotaRenewalRate: 60, AccessRights: rights("keyed", session.APILimit{}, "")}
	for range 3 {
		if err := run(st, newRequest(def, sess)); err != nil {
			t.Fatal(err)
		}
	}
	refusal(t, run(st, newRequest(def, sess)), 429, "Rate Limit Exceeded")
	if used, _, _ := f.svc.QuotaUsed(context.Background(), "", "key1"); used != 3 {
		t.Fatalf("quota used %d, want 3: a rate-limited request used quota", used)
	}
}

func TestGlobalRateLimit(t *testing.T) {
	f := newFixture(t, nil, false, ratelimit.Options{})
	def := &apidef.Definition{APIID: "open", OrgID: "org1", UseKeyless: true, GlobalRateLimit: apidef.GlobalRateLimit{Rate: 2, Per: 60}}
	st := f.stage(t, def)
	for range 2 {
		if err := run(st, newRequest(def, nil)); err != nil {
			t.Fatal(err)
		}
	}
	refusal(t, run(st, newRequest(def, nil)), 429, "API Rate Limit Exceeded")
	def.GlobalRateLimit.Disabled = true
	if st, _ := ratelimit.NewRateLimitAndQuota(def, f.env); run(st, newRequest(def, nil)) != nil {
		t.Fatal("disabled global limit applied")
	}
}

func TestThrottlingRetriesBeforeRefusing(t *testing.T) {
	f := newFixture(t, nil, false, ratelimit.Options{})
	def := keyedDef()
	st := f.stage(t, def)
	sess := &session.State{Rate: 1, Per: 60, ThrottleRetryLimit: 3, ThrottleInterval: 0.001,
		AccessRights: rights("keyed", session.APILimit{}, "")}
	if err := run(st, newRequest(def, sess)); err != nil {
		t.Fatal(err)
	}
	refusal(t, run(st, newRequest(def, sess)), 429, "Rate Limit Exceeded") // the clock stands still: retries fail

	// With time moving on during the wait, a retry passes.
	clk := f.clk
	go func() {
		time.Sleep(5 * time.Millisecond)
		clk.Advance(61 * time.Second)
	}()
	sess.ThrottleRetryLimit, sess.ThrottleInterval = 1000, 0.002
	if err := run(st, newRequest(def, sess)); err != nil {
		t.Fatalf("throttled request not let through once allowed: %v", err)
	}
}

// failing is Counters on a store that is down.
type failing struct{ ratelimit.Counters }

var errDown = errors.New("dial tcp: connection refused")

func (failing) Apply(context.Context, []ratelimit.Check) (int, error) { return -1, errDown }

func TestStoreFailureIs503WithRetryAfter(t *testing.T) {
	f := newFixture(t, failing{}, true, ratelimit.Options{})
	def := keyedDef()
	sess := &session.State{QuotaMax: 5, QuotaRemaining: 4, QuotaRenews: 99, AccessRights: rights("keyed", session.APILimit{}, "")}
	err := run(f.stage(t, def), newRequest(def, sess))
	var e *chain.Error
	if !errors.As(err, &e) || e.Status != 503 || e.Message != ratelimit.MsgUnavailable || e.Header.Get("Retry-After") != "1" {
		t.Fatalf("got %#v", err)
	}

	open := newFixture(t, failing{}, true, ratelimit.Options{FailOpen: true})
	open.env.Limits = open.svc
	req := newRequest(def, sess)
	if err := run(open.stage(t, def), req); err != nil {
		t.Fatalf("fail-open refused: %v", err)
	}
	if want := (chain.QuotaReport{Limit: 5, Remaining: 4, Reset: 99, Set: true}); req.Quota != want {
		t.Fatalf("fail-open report %+v, want the session's %+v", req.Quota, want)
	}
}

func TestNoServiceNoStage(t *testing.T) {
	st, err := ratelimit.NewRateLimitAndQuota(keyedDef(), &chain.Env{})
	if st != nil || err != nil {
		t.Fatal("a stage without a limit service")
	}
	st, err = ratelimit.NewOrgMonitor(keyedDef(), &chain.Env{Config: &config.Config{EnforceOrgQuotas: true}})
	if st != nil || err != nil {
		t.Fatal("an org monitor without a limit service")
	}
}

// Org limits: counted by OrganizationMonitor with in-process counters, by
// RateLimitAndQuotaCheck when one round trip matters (Redis).
func TestOrgLimits(t *testing.T) {
	for _, oneTrip := range []bool{false, true} {
		name := "counted-by-org-monitor"
		if oneTrip {
			name = "counted-with-the-key"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil, oneTrip, ratelimit.Options{})
			f.env.Config.EnforceOrgQuotas = true
			ctx := context.Background()
			def := &apidef.Definition{APIID: "open", OrgID: "org1", UseKeyless: true}
			chainOf := func() []chain.Stage {
				org, err := ratelimit.NewOrgMonitor(def, f.env)
				if err != nil || org == nil {
					t.Fatal("no org monitor", err)
				}
				return []chain.Stage{org, f.stage(t, def)}
			}
			pass := func(stages []chain.Stage) error {
				req := newRequest(def, nil)
				for _, st := range stages {
					if err := run(st, req); err != nil {
						return err
					}
				}
				return nil
			}
			stages := chainOf()
			if err := pass(stages); err != nil {
				t.Fatalf("no org session: %v", err)
			}

			if err := f.keys.SaveOrg(ctx, "org1", &session.State{OrgID: "org1", QuotaMax: 2, QuotaRenewalRate: 60}); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := pass(stages); err != nil {
					t.Fatal(err)
				}
			}
			refusal(t, pass(stages), 403, ratelimit.MsgOrgQuota)

			f.keys.SaveOrg(ctx, "org1", &session.State{OrgID: "org1", Rate: 1, Per: 60})
			if err := pass(stages); err != nil {
				t.Fatal(err)
			}
			refusal(t, pass(stages), 403, ratelimit.MsgOrgRate)

			f.keys.SaveOrg(ctx, "org1", &session.State{OrgID: "org1", IsInactive: true})
			refusal(t, pass(stages), 403, ratelimit.MsgOrgInactive)

			if _, err := f.keys.DeleteOrg(ctx, "org1"); err != nil {
				t.Fatal(err)
			}
			if err := pass(stages); err != nil {
				t.Fatalf("org session deleted: %v", err)
			}
		})
	}
}

// kvDown makes an embedded store's reads fail on demand.
type kvDown struct {
	storage.Store
	down bool
}

func (k *kvDown) Get(ctx context.Context, key string) ([]byte, error) {
	if k.down {
		return nil, errDown
	}
	return k.Store.Get(ctx, key)
}

func TestOrgSessionIsCachedBriefly(t *testing.T) {
	f := newFixture(t, nil, false, ratelimit.Options{OrgCacheTTL: 3 * time.Second})
	f.env.Config.EnforceOrgQuotas = true
	kv := &kvDown{Store: f.keys.KV}
	f.keys.KV = kv
	ctx := context.Background()
	def := &apidef.Definition{APIID: "open", OrgID: "org1", UseKeyless: true}
	org, _ := ratelimit.NewOrgMonitor(def, f.env)
	check := func() error { return run(org, newRequest(def, nil)) }

	kv.down = true
	var e *chain.Error
	if err := check(); !errors.As(err, &e) || e.Status != 503 || e.Header.Get("Retry-After") != "1" {
		t.Fatalf("unreadable org session with nothing cached: %v", err)
	}
	kv.down = false
	if err := check(); err != nil { // the failure was not cached
		t.Fatal(err)
	}
	// Written behind the cache's back (another node): seen after the TTL.
	b := []byte(`{"org_id":"org1","is_inactive":true}`)
	kv.Set(ctx, "orgkey.org1", b, 0)
	if err := check(); err != nil {
		t.Fatal("the cache was not used", err)
	}
	f.clk.Advance(4 * time.Second)
	refusal(t, check(), 403, ratelimit.MsgOrgInactive)
	// Written through this node's key store: seen at once.
	f.keys.SaveOrg(ctx, "org1", &session.State{OrgID: "org1"})
	if err := check(); err != nil {
		t.Fatal(err)
	}
	// A failed refresh keeps using the last good copy.
	f.clk.Advance(4 * time.Second)
	kv.down = true
	if err := check(); err != nil {
		t.Fatalf("stale copy not used while the store is down: %v", err)
	}
}

func TestControlAPIGoesThroughTheCounters(t *testing.T) {
	f := newFixture(t, nil, false, ratelimit.Options{})
	def := keyedDef()
	st := f.stage(t, def)
	sess := &session.State{QuotaMax: 10, QuotaRenewalRate: 60,
		AccessRights: map[string]session.AccessDefinition{
			"keyed": {APIID: "keyed", Limit: session.APILimit{QuotaMax: 5, QuotaRenewalRate: 60}, AllowanceScope: "keyed"},
		}}
	for range 3 {
		if err := run(st, newRequest(def, sess)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if used, ok, err := f.keys.QuotaUsed(ctx, "keyed", "key1"); err != nil || !ok || used != 3 {
		t.Fatalf("keys.QuotaUsed = %d %v %v", used, ok, err)
	}
	if err := f.keys.ResetQuota(ctx, "key1", sess); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := f.keys.QuotaUsed(ctx, "keyed", "key1"); ok {
		t.Fatal("keys.ResetQuota left the scoped counter")
	}
}
