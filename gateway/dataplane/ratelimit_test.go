package dataplane_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/gateway/storage/redistest"
	"github.com/tollgate/tollgate/middleware/ratelimit"
)

// createKey creates a key from a session body and returns its ID.
func createKey(t *testing.T, g *gatewaytest.Gateway, body string) string {
	t.Helper()
	r := g.Do(t, "POST", "/tyk/keys/create", body)
	if r.Status != 200 {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	var reply struct{ Key string }
	if err := json.Unmarshal([]byte(r.Body), &reply); err != nil || reply.Key == "" {
		t.Fatalf("create key reply %q", r.Body)
	}
	return reply.Key
}

// keyView is what the tests read back from GET /tyk/keys/{id}.
type keyView struct {
	QuotaMax       int64 `json:"quota_max"`
	QuotaRemaining int64 `json:"quota_remaining"`
	QuotaRenews    int64 `json:"quota_renews"`
	AccessRights   map[string]struct {
		Limit struct {
			QuotaMax       int64 `json:"quota_max"`
			QuotaRemaining int64 `json:"quota_remaining"`
			QuotaRenews    int64 `json:"quota_renews"`
		} `json:"limit"`
	} `json:"access_rights"`
}

func getKey(t *testing.T, g *gatewaytest.Gateway, id string) keyView {
	t.Helper()
	r := g.Do(t, "GET", "/tyk/keys/"+id, "")
	if r.Status != 200 {
		t.Fatalf("get key: %d %s", r.Status, r.Body)
	}
	var k keyView
	if err := json.Unmarshal([]byte(r.Body), &k); err != nil {
		t.Fatal(err)
	}
	return k
}

// quotaHeaders returns X-Ratelimit-Limit, -Remaining and -Reset.
func quotaHeaders(t *testing.T, r gatewaytest.Response) (limit, remaining, reset int64) {
	t.Helper()
	get := func(name string) int64 {
		vs, ok := r.Header[name] // Tyk's capitalisation, exactly
		if !ok || len(vs) != 1 {
			t.Fatalf("header %s: %v (all: %v)", name, vs, r.Header)
		}
		n, err := strconv.ParseInt(vs[0], 10, 64)
		if err != nil {
			t.Fatalf("header %s = %q", name, vs[0])
		}
		return n
	}
	return get("X-Ratelimit-Limit"), get("X-Ratelimit-Remaining"), get("X-Ratelimit-Reset")
}

func noQuotaHeaders(t *testing.T, r gatewaytest.Response) {
	t.Helper()
	for _, name := range []string{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset", "Retry-After"} {
		if _, ok := r.Header[name]; ok {
			t.Fatalf("refusal carries %s: %v", name, r.Header)
		}
	}
}

func refused(t *testing.T, r gatewaytest.Response, status int, msg string) {
	t.Helper()
	if r.Status != status || r.Body != gatewaytest.TykError(msg) {
		t.Fatalf("got %d %q, want %d %q", r.Status, r.Body, status, msg)
	}
	noQuotaHeaders(t, r)
}

const keyedRight = `"access_rights":{"keyed":{"api_id":"keyed","versions":["Default"]}}`

// Vectors 20 and 13: quota figures in the headers, 403 once used up, the
// counter's TTL, and the period written back to the key.
func TestQuotaHeadersAndExhaustion(t *testing.T) {
	onBothStores(t, func(t *testing.T, g *gatewaytest.Gateway) {
		setup(t, g, gatewaytest.Upstream(t))
		key := createKey(t, g, `{"org_id":"org1","quota_max":2,"quota_renewal_rate":3600,`+keyedRight+`}`)
		before := time.Now().Unix()

		r := call(t, g, "GET", "/keyed/x", "Authorization", key)
		if r.Status != 200 {
			t.Fatalf("1st: %d %s", r.Status, r.Body)
		}
		limit, remaining, reset := quotaHeaders(t, r)
		if limit != 2 || remaining != 1 || reset < before+3600 || reset > time.Now().Unix()+3600 {
			t.Fatalf("1st: %d/%d/%d", limit, remaining, reset)
		}
		r = call(t, g, "GET", "/keyed/x", "Authorization", key)
		if l, rem, res := quotaHeaders(t, r); r.Status != 200 || l != 2 || rem != 0 || res != reset {
			t.Fatalf("2nd: %d %d/%d/%d", r.Status, l, rem, res)
		}
		refused(t, call(t, g, "GET", "/keyed/x", "Authorization", key), 403, "Quota exceeded")

		k := getKey(t, g, key)
		if k.QuotaRemaining != 0 || k.QuotaRenews != reset {
			t.Fatalf("GET key: quota_remaining %d quota_renews %d, want 0 and %d", k.QuotaRemaining, k.QuotaRenews, reset)
		}
		if g.Config.Storage.Type == "redis" {
			ttl, err := g.Store.TTL(context.Background(), "quota-"+key)
			if err != nil || ttl < 3590*time.Second || ttl > 3600*time.Second {
				t.Fatalf("quota-%s TTL %v %v, want about 3600 s", key, ttl, err)
			}
		}
	})
}

func TestUnlimitedQuotaHeaders(t *testing.T) {
	onBothStores(t, func(t *testing.T, g *gatewaytest.Gateway) {
		setup(t, g, gatewaytest.Upstream(t))
		key := createKey(t, g, `{"org_id":"org1","quota_max":-1,"quota_renewal_rate":3600,`+keyedRight+`}`)
		renews := getKey(t, g, key).QuotaRenews
		for range 3 {
			r := call(t, g, "GET", "/keyed/x?x=1", "Authorization", "Bearer "+key)
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if l, rem, res := quotaHeaders(t, r); l != -1 || rem != 0 || res != renews || renews == 0 {
				t.Fatalf("headers %d/%d/%d, want -1/0/%d", l, rem, res, renews)
			}
		}
	})
}

// Vector 21: a policy's rate limit of 3 per 60 s.
func TestPolicyRateLimit(t *testing.T) {
	onBothStores(t, func(t *testing.T, g *gatewaytest.Gateway) {
		setup(t, g, gatewaytest.Upstream(t))
		pol := `{"id":"rl3","org_id":"org1","rate":3,"per":60,"quota_max":-1,` + keyedRight + `}`
		if r := g.Do(t, "POST", "/tyk/policies", pol); r.Status != 200 {
			t.Fatalf("policy: %d %s", r.Status, r.Body)
		}
		if r := g.Do(t, "GET", "/tyk/reload?block=true", ""); r.Status != 200 {
			t.Fatal(r.Body)
		}
		key := createKey(t, g, `{"org_id":"org1","apply_policies":["rl3"]}`)
		for i := range 3 {
			if r := call(t, g, "GET", "/keyed/x", "Authorization", key); r.Status != 200 {
				t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		refused(t, call(t, g, "GET", "/keyed/x", "Authorization", key), 429, "Rate Limit Exceeded")
	})
}

// Vector 22: an API's global rate limit, keyless.
func TestKeylessGlobalRateLimit(t *testing.T) {
	onBothStores(t, func(t *testing.T, g *gatewaytest.Gateway) {
		g.AddAPI(t, keyless("open", "/open/", gatewaytest.Upstream(t), `,"global_rate_limit":{"rate":2,"per":60}`))
		for i := range 2 {
			r := call(t, g, "GET", "/open/x")
			if r.Status != 200 {
				t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
			}
			if l, rem, res := quotaHeaders(t, r); l != 0 || rem != 0 || res != 0 {
				t.Fatalf("keyless headers %d/%d/%d, want 0/0/0", l, rem, res)
			}
		}
		refused(t, call(t, g, "GET", "/open/x"), 429, "API Rate Limit Exceeded")
	})
}

// Without per-API limits a key has one quota for all its APIs; with them,
// one per API.
func TestSharedAndPerAPIQuotas(t *testing.T) {
	onBothStores(t, func(t *testing.T, g *gatewaytest.Gateway) {
		setup(t, g, gatewaytest.Upstream(t))
		shared := createKey(t, g, `{"org_id":"org1","quota_max":2,"quota_renewal_rate":3600,"access_rights":{
			"keyed":{"api_id":"keyed","versions":["Default"]},"other":{"api_id":"other","versions":["Default"]}}}`)
		for _, p := range []string{"/keyed/x", "/other/x"} {
			if r := call(t, g, "GET", p, "Authorization", shared); r.Status != 200 {
				t.Fatalf("%s: %d %s", p, r.Status, r.Body)
			}
		}
		for _, p := range []string{"/keyed/x", "/other/x"} {
			refused(t, call(t, g, "GET", p, "Authorization", shared), 403, "Quota exceeded")
		}

		perAPI := createKey(t, g, `{"org_id":"org1","quota_max":100,"quota_renewal_rate":3600,"access_rights":{
			"keyed":{"api_id":"keyed","versions":["Default"],"limit":{"quota_max":2,"quota_renewal_rate":3600}},
			"other":{"api_id":"other","versions":["Default"],"limit":{"quota_max":1,"quota_renewal_rate":3600}}}}`)
		for i, want := range []int64{1, 0} {
			r := call(t, g, "GET", "/keyed/x", "Authorization", perAPI)
			if l, rem, _ := quotaHeaders(t, r); r.Status != 200 || l != 2 || rem != want {
				t.Fatalf("keyed %d: %d %d/%d", i+1, r.Status, l, rem)
			}
		}
		refused(t, call(t, g, "GET", "/keyed/x", "Authorization", perAPI), 403, "Quota exceeded")
		r := call(t, g, "GET", "/other/x", "Authorization", perAPI)
		if l, rem, _ := quotaHeaders(t, r); r.Status != 200 || l != 1 || rem != 0 {
			t.Fatalf("other: %d %d/%d (its own quota)", r.Status, l, rem)
		}
		refused(t, call(t, g, "GET", "/other/x", "Authorization", perAPI), 403, "Quota exceeded")
		k := getKey(t, g, perAPI)
		if k.AccessRights["keyed"].Limit.QuotaRemaining != 0 || k.AccessRights["other"].Limit.QuotaRemaining != 0 {
			t.Fatalf("per-API quota_remaining in GET key: %+v", k.AccessRights)
		}
	})
}

// GET /tyk/keys/{id} shows the live quota; a key update starts it over.
func TestControlAPIShowsAndResetsLiveQuota(t *testing.T) {
	onBothStores(t, func(t *testing.T, g *gatewaytest.Gateway) {
		setup(t, g, gatewaytest.Upstream(t))
		body := `{"org_id":"org1","quota_max":10,"quota_renewal_rate":3600,` + keyedRight + `}`
		key := createKey(t, g, body)
		for range 3 {
			if r := call(t, g, "GET", "/keyed/x", "Authorization", key); r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		}
		if k := getKey(t, g, key); k.QuotaRemaining != 7 {
			t.Fatalf("quota_remaining %d after 3 requests, want 7", k.QuotaRemaining)
		}
		if r := g.Do(t, "PUT", "/tyk/keys/"+key, body); r.Status != 200 {
			t.Fatalf("update: %d %s", r.Status, r.Body)
		}
		r := call(t, g, "GET", "/keyed/x", "Authorization", key)
		if _, rem, _ := quotaHeaders(t, r); rem != 9 {
			t.Fatalf("remaining %d after an update, want 9 (quota reset)", rem)
		}
		if r := g.Do(t, "DELETE", "/tyk/keys/"+key, ""); r.Status != 200 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if g.Config.Storage.Type == "redis" {
			if _, err := g.Store.Get(context.Background(), "quota-"+key); err == nil {
				t.Fatal("quota counter left after the key was deleted")
			}
		}
	})
}

func orgConfig(c *config.Config) { c.EnforceOrgQuotas = true }

func onBothStoresWith(t *testing.T, configure func(*config.Config), fn func(t *testing.T, g *gatewaytest.Gateway)) {
	t.Run("embedded", func(t *testing.T) { fn(t, gatewaytest.Start(t, gatewaytest.Options{Configure: configure})) })
	t.Run("redis", func(t *testing.T) {
		fn(t, gatewaytest.Start(t, gatewaytest.Options{Redis: redistest.Start(t), Configure: configure}))
	})
}

// Vector 30: an inactive org session, present before the APIs load,
// disables every API of the org, keyless ones too, before auth.
func TestInactiveOrg(t *testing.T) {
	onBothStoresWith(t, orgConfig, func(t *testing.T, g *gatewaytest.Gateway) {
		if r := g.Do(t, "POST", "/tyk/org/keys/org1", `{"org_id":"org1","is_inactive":true}`); r.Status != 200 {
			t.Fatalf("org key: %d %s", r.Status, r.Body)
		}
		up := gatewaytest.Upstream(t)
		setup(t, g, up)
		g.AddAPI(t, keyless("open", "/open/", up, ""))
		const msg = "this organisation access has been disabled, please contact your API administrator"
		refused(t, call(t, g, "GET", "/open/x"), 403, msg)
		refused(t, call(t, g, "GET", "/keyed/x"), 403, msg) // before auth: no token needed
		if r := g.Do(t, "PUT", "/tyk/org/keys/org1", `{"org_id":"org1"}`); r.Status != 200 {
			t.Fatal(r.Body)
		}
		if r := call(t, g, "GET", "/open/x"); r.Status != 200 {
			t.Fatalf("org active again: %d %s", r.Status, r.Body)
		}
	})
}

func TestOrgQuotaAndRateLimit(t *testing.T) {
	onBothStoresWith(t, orgConfig, func(t *testing.T, g *gatewaytest.Gateway) {
		up := gatewaytest.Upstream(t)
		setup(t, g, up)
		g.AddAPI(t, keyless("open", "/open/", up, ""))
		key := createKey(t, g, `{"org_id":"org1",`+keyedRight+`}`)
		if r := g.Do(t, "POST", "/tyk/org/keys/org1", `{"org_id":"org1","quota_max":3,"quota_renewal_rate":3600}`); r.Status != 200 {
			t.Fatal(r.Body)
		}
		for i, p := range []string{"/open/x", "/open/x", "/keyed/x"} {
			if r := call(t, g, "GET", p, "Authorization", key); r.Status != 200 {
				t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		const quotaMsg = "This organisation quota has been exceeded, please contact your API administrator"
		refused(t, call(t, g, "GET", "/keyed/x", "Authorization", key), 403, quotaMsg)
		refused(t, call(t, g, "GET", "/open/x"), 403, quotaMsg)

		if r := g.Do(t, "PUT", "/tyk/org/keys/org1?reset_quota=1", `{"org_id":"org1","rate":2,"per":60}`); r.Status != 200 {
			t.Fatal(r.Body)
		}
		for i := range 2 {
			if r := call(t, g, "GET", "/open/x"); r.Status != 200 {
				t.Fatalf("after reset %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		refused(t, call(t, g, "GET", "/open/x"), 403, "This organisation rate limit has been exceeded, please contact your API administrator")
	})
}

// hammer sends total requests from clients goroutines, spread over the
// gateways, with one key, and counts the statuses.
func hammer(t *testing.T, urls []string, key string, clients, total int) map[int]int {
	t.Helper()
	client := gatewaytest.KeepAliveClient(clients)
	var next atomic.Int64
	var mu sync.Mutex
	counts := map[int]int{}
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(total) {
					return
				}
				req, _ := http.NewRequest("GET", urls[int(n)%len(urls)]+"/keyed/x", nil)
				req.Header.Set("Authorization", key)
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				mu.Lock()
				counts[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return counts
}

// 64 concurrent clients against a quota of 1000: exactly 1000 pass, on
// one gateway of either store and on two gateways sharing a Redis.
func TestQuotaIsExact(t *testing.T) {
	const body = `{"org_id":"org1","quota_max":1000,"quota_renewal_rate":3600,` + keyedRight + `}`
	check := func(t *testing.T, urls []string, key string) {
		counts := hammer(t, urls, key, 64, 1300)
		if counts[200] != 1000 || counts[403] != 300 {
			t.Fatalf("statuses %v, want exactly 1000×200 and 300×403", counts)
		}
	}
	onBothStores(t, func(t *testing.T, g *gatewaytest.Gateway) {
		setup(t, g, gatewaytest.Upstream(t))
		check(t, []string{g.URL}, createKey(t, g, body))
	})
	t.Run("two-gateways-one-redis", func(t *testing.T) {
		addr := redistest.Start(t)
		up := gatewaytest.Upstream(t)
		g1 := gatewaytest.Start(t, gatewaytest.Options{Redis: addr})
		g2 := gatewaytest.Start(t, gatewaytest.Options{Redis: addr})
		setup(t, g1, up) // each node has its own app_path
		setup(t, g2, up)
		key := createKey(t, g1, body) // keys are shared through Redis
		check(t, []string{g1.URL, g2.URL}, key)
		if k := getKey(t, g2, key); k.QuotaRemaining != 0 {
			t.Fatalf("the other node sees quota_remaining %d, want 0", k.QuotaRemaining)
		}
	})
}

// retryUntil polls until fn reports success, for at most 15 s.
func retryUntil(t *testing.T, what string, fn func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, last := fn()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %s", what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// With Redis down, requests get 503 with Retry-After (never "key not
// found"); when it is back, the same gateway serves again.
func TestRedisDownAndBack(t *testing.T) {
	srv := redistest.StartServer(t)
	g := gatewaytest.Start(t, gatewaytest.Options{Redis: srv.Addr})
	up := gatewaytest.Upstream(t)
	setup(t, g, up)
	g.AddAPI(t, keyless("open", "/open/", up, `,"global_rate_limit":{"rate":1000,"per":1}`))
	key := createKey(t, g, `{"org_id":"org1","quota_max":100,"quota_renewal_rate":3600,`+keyedRight+`}`)
	for _, p := range []string{"/keyed/x", "/open/x"} {
		if r := call(t, g, "GET", p, "Authorization", key); r.Status != 200 {
			t.Fatalf("%s: %d %s", p, r.Status, r.Body)
		}
	}

	srv.Stop()
	for _, p := range []string{"/keyed/x", "/open/x"} {
		r := call(t, g, "GET", p, "Authorization", key)
		if r.Status != 503 || r.Header.Get("Retry-After") != "1" {
			t.Fatalf("%s with Redis down: %d %q %v", p, r.Status, r.Body, r.Header)
		}
	}
	if r := call(t, g, "GET", "/open/x"); r.Body != gatewaytest.TykError(ratelimit.MsgUnavailable) {
		t.Fatalf("keyless body %q", r.Body)
	}

	srv.Start()
	for _, p := range []string{"/keyed/x", "/open/x"} {
		retryUntil(t, p+" after Redis came back", func() (bool, string) {
			r := call(t, g, "GET", p, "Authorization", key)
			return r.Status == 200, strconv.Itoa(r.Status) + " " + r.Body
		})
	}
	if k := getKey(t, g, key); k.QuotaRemaining >= 100 {
		t.Fatalf("quota_remaining %d: nothing counted", k.QuotaRemaining)
	}
}

func TestRedisDownFailOpen(t *testing.T) {
	srv := redistest.StartServer(t)
	g := gatewaytest.Start(t, gatewaytest.Options{Redis: srv.Addr, Configure: func(c *config.Config) { c.RateLimitFailOpen = true }})
	up := gatewaytest.Upstream(t)
	g.AddAPI(t, keyless("open", "/open/", up, `,"global_rate_limit":{"rate":1,"per":60}`))
	if r := call(t, g, "GET", "/open/x"); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	srv.Stop()
	for range 3 { // over the limit, but its counter cannot be read: let through
		if r := call(t, g, "GET", "/open/x"); r.Status != 200 {
			t.Fatalf("fail-open: %d %s", r.Status, r.Body)
		}
	}
	srv.Start()
	retryUntil(t, "limit enforced again", func() (bool, string) {
		r := call(t, g, "GET", "/open/x")
		return r.Status == 429, strconv.Itoa(r.Status)
	})
}

// Ignored paths skip the key's limits and report 0/0/0 (vector 15).
func TestIgnoredPathsSkipKeyLimits(t *testing.T) {
	onBothStores(t, func(t *testing.T, g *gatewaytest.Gateway) {
		g.AddAPI(t, keyedWithPaths(gatewaytest.Upstream(t)))
		key := createKey(t, g, `{"org_id":"org1","rate":1,"per":60,"quota_max":1,"quota_renewal_rate":3600,`+keyedRight+`}`)
		for range 3 {
			r := call(t, g, "GET", "/keyed/public", "Authorization", key)
			if r.Status != 200 {
				t.Fatalf("ignored path: %d %s", r.Status, r.Body)
			}
			if l, rem, res := quotaHeaders(t, r); l != 0 || rem != 0 || res != 0 {
				t.Fatalf("ignored path headers %d/%d/%d, want 0/0/0", l, rem, res)
			}
		}
		r := call(t, g, "GET", "/keyed/x", "Authorization", key)
		if l, rem, _ := quotaHeaders(t, r); r.Status != 200 || l != 1 || rem != 0 {
			t.Fatalf("after ignored requests: %d %d/%d (they must not count)", r.Status, l, rem)
		}
	})
}
