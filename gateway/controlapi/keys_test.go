package controlapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/gateway/storage"
)

func createKey(t *testing.T, g *gatewaytest.Gateway, body string) map[string]string {
	t.Helper()
	r := g.Do(t, "POST", "/tyk/keys/create", body)
	if r.Status != 200 {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	return decode[map[string]string](t, r)
}

func TestKeyStorageLifetime(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		ctx := context.Background()
		g.Do(t, "POST", "/tyk/apis", `{"api_id":"short","org_id":"org1","session_lifetime":300,"proxy":{"listen_path":"/short/"}}`)
		cases := []struct {
			name string
			body string
			want time.Duration // 0 = no expiry
		}{
			{"no lifetime anywhere keeps the key forever", `{"org_id":"org1",` + keyedAccess + `}`, 0},
			{"the key's own session_lifetime applies", `{"org_id":"org1","session_lifetime":120,` + keyedAccess + `}`, 120 * time.Second},
			{"the API's session_lifetime applies", `{"org_id":"org1","access_rights":{"short":{"api_id":"short"}}}`, 300 * time.Second},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				id := createKey(t, g, c.body)["key"]
				ttl, err := g.Store.TTL(ctx, "apikey-"+id)
				if err != nil {
					t.Fatal(err)
				}
				if c.want == 0 && ttl != -1 || c.want != 0 && (ttl <= c.want-5*time.Second || ttl > c.want) {
					t.Fatalf("TTL %v, want %v", ttl, c.want)
				}
			})
		}
	})
}

func TestForcedGlobalLifetime(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) {
		c.ForceGlobalSessionLifetime, c.GlobalSessionLifetime = true, 60
	}})
	id := createKey(t, g, `{"org_id":"org1","session_lifetime":1000,`+keyedAccess+`}`)["key"]
	ttl, err := g.Store.TTL(context.Background(), "apikey-"+id)
	if err != nil || ttl <= 55*time.Second || ttl > 60*time.Second {
		t.Fatalf("TTL %v %v, want 60s", ttl, err)
	}
}

func TestQuotaResetOnWrite(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		ctx := context.Background()
		g.Do(t, "POST", "/tyk/apis", `{"api_id":"keyed","org_id":"org1","proxy":{"listen_path":"/keyed/"}}`)
		g.Do(t, "POST", "/tyk/apis", `{"api_id":"noreset","org_id":"org1","dont_set_quota_on_create":true,"proxy":{"listen_path":"/nr/"}}`)
		body := `{"org_id":"org1","quota_max":10,"quota_renewal_rate":3600,` + keyedAccess + `}`
		id := createKey(t, g, body)["key"]
		used := func() bool {
			_, err := g.Store.Get(ctx, "quota-"+id)
			return err == nil
		}
		spend := func() {
			if _, err := g.Store.Incr(ctx, "quota-"+id, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		t.Run("quota_renews starts a period on create", func(t *testing.T) {
			s := decode[map[string]any](t, g.Do(t, "GET", "/tyk/keys/"+id, ""))
			if renews := s["quota_renews"].(float64); renews < float64(time.Now().Unix()+3500) {
				t.Fatalf("quota_renews %v", renews)
			}
		})
		t.Run("get reports the live remaining quota", func(t *testing.T) {
			spend()
			spend()
			s := decode[map[string]any](t, g.Do(t, "GET", "/tyk/keys/"+id, ""))
			if s["quota_remaining"] != 8.0 {
				t.Fatalf("quota_remaining %v, want 8", s["quota_remaining"])
			}
		})
		t.Run("suppress_reset keeps the counter", func(t *testing.T) {
			g.Do(t, "PUT", "/tyk/keys/"+id+"?suppress_reset=1", body)
			if !used() {
				t.Fatal("counter was reset despite suppress_reset=1")
			}
		})
		t.Run("an update without suppress_reset resets the counter", func(t *testing.T) {
			g.Do(t, "PUT", "/tyk/keys/"+id, body)
			if used() {
				t.Fatal("counter survived the update")
			}
		})
		t.Run("delete removes the counter too", func(t *testing.T) {
			spend()
			g.Do(t, "DELETE", "/tyk/keys/"+id, "")
			if used() {
				t.Fatal("counter survived the delete")
			}
		})
		t.Run("dont_set_quota_on_create leaves quota_renews alone", func(t *testing.T) {
			nid := createKey(t, g, `{"org_id":"org1","quota_max":10,"quota_renewal_rate":3600,"access_rights":{"noreset":{"api_id":"noreset"}}}`)["key"]
			s := decode[map[string]any](t, g.Do(t, "GET", "/tyk/keys/"+nid, ""))
			if s["quota_renews"] != 0.0 {
				t.Fatalf("quota_renews %v, want 0", s["quota_renews"])
			}
		})
	})
}

func TestHashedStorageKeepsNoRawKey(t *testing.T) {
	hashing := func(c *config.Config) {
		c.HashKeys, c.HashKeyFunction, c.EnableHashedKeysListing = true, "sha256", true
	}
	onBothStores(t, hashing, func(t *testing.T, g *gatewaytest.Gateway) {
		ctx := context.Background()
		m := createKey(t, g, `{"org_id":"org1",`+keyedAccess+`}`)
		if len(m["key_hash"]) != 64 || m["key_hash"] != session.HashKey(m["key"]) {
			t.Fatalf("key_hash %q", m["key_hash"])
		}
		if _, err := g.Store.Get(ctx, "apikey-"+m["key"]); err != storage.ErrNotFound {
			t.Fatalf("raw key stored: %v", err)
		}
		if _, err := g.Store.Get(ctx, "apikey-"+m["key_hash"]); err != nil {
			t.Fatalf("hash not stored: %v", err)
		}
		listed := decode[map[string][]string](t, g.Do(t, "GET", "/tyk/keys", ""))["keys"]
		if len(listed) != 1 || listed[0] != m["key_hash"] {
			t.Fatalf("listing %v, want the hash only", listed)
		}
		t.Run("set policies by hash", func(t *testing.T) {
			g.Do(t, "POST", "/tyk/policies", `{"id":"p1","org_id":"org1",`+keyedAccess+`}`)
			expect(t, g.Do(t, "POST", "/tyk/keys/policy/"+m["key_hash"], `{"policy":"p1"}`), 200,
				`{"key":"`+m["key_hash"]+`","status":"ok","action":"updated"}`+"\n")
			s := decode[map[string]any](t, g.Do(t, "GET", "/tyk/keys/"+m["key_hash"]+"?hashed=1", ""))
			if ap := s["apply_policies"].([]any); len(ap) != 1 || ap[0] != "p1" {
				t.Fatalf("apply_policies %v", s["apply_policies"])
			}
			expectStatus(t, g.Do(t, "POST", "/tyk/keys/policy/nope", `{"policy":"p1"}`), 404, "Key not found")
			expectStatus(t, g.Do(t, "POST", "/tyk/keys/policy/"+m["key_hash"], `{`), 400, "Couldn't decode instruction")
		})
		t.Run("delete by hash", func(t *testing.T) {
			expect(t, g.Do(t, "DELETE", "/tyk/keys/"+m["key_hash"]+"?hashed=1", ""), 200,
				`{"key":"`+m["key_hash"]+`","status":"ok","action":"deleted"}`+"\n")
		})
	})
}

func TestBasicAuthPasswordIsHashed(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	expect(t, g.Do(t, "POST", "/tyk/keys/alice", `{"org_id":"","basic_auth_data":{"password":"s3cret"},`+keyedAccess+`}`), 200,
		`{"key":"alice","status":"ok","action":"added"}`+"\n")
	raw, err := g.Store.Get(context.Background(), "apikey-alice")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "s3cret") || !strings.Contains(string(raw), `"hash_type":"bcrypt"`) {
		t.Fatalf("stored %s", raw)
	}
	s := decode[map[string]any](t, g.Do(t, "GET", "/tyk/keys/alice", ""))
	if s["basic_auth_data"].(map[string]any)["password"] != "" {
		t.Fatal("password hash is not blanked in GET")
	}
}

func TestPreviewStoresNothing(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	g.Do(t, "POST", "/tyk/policies", `{"id":"gold","rate":7,"per":1,`+keyedAccess+`}`)
	r := g.Do(t, "POST", "/tyk/keys/preview", `{"apply_policies":["gold"]}`)
	if s := decode[map[string]any](t, r); r.Status != 200 || s["rate"] != 7.0 {
		t.Fatalf("preview %d %s", r.Status, r.Body)
	}
	expect(t, g.Do(t, "GET", "/tyk/keys", ""), 200, `{"keys":[]}`+"\n")
}

func TestSeparateControlPort(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) {
		c.ControlAPIPort = gatewaytest.FreePort(t)
	}})
	if g.ControlURL == g.URL {
		t.Fatal("control API did not get its own listener")
	}
	expect(t, g.Do(t, "GET", "/tyk/keys", ""), 200, `{"keys":[]}`+"\n")
	r := gatewaytest.Do(t, g.URL, "GET", "/tyk/keys", "", "X-Tyk-Authorization", gatewaytest.Secret)
	if r.Status != 404 {
		t.Fatalf("control API also answered on the listen port: %d %s", r.Status, r.Body)
	}
}
