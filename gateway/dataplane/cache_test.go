package dataplane_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

func TestResponseCache(t *testing.T) {
	onBothStores(t, func(t *testing.T, g *gatewaytest.Gateway) {
		var hits atomic.Int64
		up := gatewaytest.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := hits.Add(1)
			w.Header().Set("Etag", `"v1"`)
			w.Header().Set("X-Served", fmt.Sprint(n))
			if r.URL.Path == "/fail" {
				w.WriteHeader(500)
			}
			fmt.Fprintf(w, "response %d to %s", n, r.URL.Path)
		}))
		g.AddAPI(t, `{"api_id":"keyed","org_id":"org1",
			"cache_options":{"enable_cache":true,"cache_timeout":60,"cache_response_codes":[200]},
			"proxy":{"listen_path":"/keyed/","target_url":"`+up+`","strip_listen_path":true},
			"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default","use_extended_paths":true,
				"extended_paths":{"cache":["cacheme","fail"]}}}}}`)
		g.Do(t, "POST", "/tyk/keys/cachekey", `{"org_id":"org1","quota_max":100,"quota_renewal_rate":3600,"access_rights":{"keyed":{"api_id":"keyed"}}}`)
		get := func(path string, header ...string) gatewaytest.Response {
			return call(t, g, "GET", path, append([]string{"Authorization", "cachekey"}, header...)...)
		}
		first := get("/keyed/cacheme")
		second := get("/keyed/cacheme")
		if first.Status != 200 || first.Header.Get("X-Tyk-Cached-Response") != "" {
			t.Fatalf("first: %d %v", first.Status, first.Header)
		}
		if second.Body != first.Body || second.Header.Get("X-Tyk-Cached-Response") != "1" || hits.Load() != 1 {
			t.Fatalf("second was not a cache hit: %q %v (upstream hits %d)", second.Body, second.Header, hits.Load())
		}
		if second.Header.Get("X-Ratelimit-Remaining") != "98" {
			t.Fatalf("a hit still counts against the quota: remaining %q", second.Header.Get("X-Ratelimit-Remaining"))
		}
		t.Run("If-None-Match with the stored Etag is 304", func(t *testing.T) {
			if r := get("/keyed/cacheme", "If-None-Match", `"v1"`); r.Status != 304 {
				t.Fatalf("got %d", r.Status)
			}
		})
		t.Run("uncached paths and statuses go upstream every time", func(t *testing.T) {
			before := hits.Load()
			get("/keyed/other")
			get("/keyed/other")
			get("/keyed/fail")
			get("/keyed/fail")
			if hits.Load()-before != 4 {
				t.Fatalf("upstream hits %d, want 4", hits.Load()-before)
			}
		})
		t.Run("invalidation empties the API's cache", func(t *testing.T) {
			r := g.Do(t, "DELETE", "/tyk/cache/keyed", "")
			if r.Status != 200 || r.Body != `{"status":"ok","message":"cache invalidated"}`+"\n" {
				t.Fatalf("got %d %q", r.Status, r.Body)
			}
			if r := get("/keyed/cacheme"); r.Header.Get("X-Tyk-Cached-Response") != "" {
				t.Fatal("still served from the cache after invalidation")
			}
		})
	})
}

func TestUpstreamCacheControl(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	var hits atomic.Int64
	up := gatewaytest.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/please-cache" {
			w.Header().Set("x-tyk-cache-action-set", "1")
			w.Header().Set("x-tyk-cache-action-set-ttl", "30")
		}
		fmt.Fprint(w, "ok")
	}))
	g.AddAPI(t, keyless("ctl", "/ctl/", up, `,"cache_options":{"enable_cache":true,"enable_upstream_cache_control":true}`))
	for i := 0; i < 2; i++ {
		call(t, g, "GET", "/ctl/please-cache")
		call(t, g, "GET", "/ctl/no-thanks")
	}
	if hits.Load() != 3 {
		t.Fatalf("upstream hits %d, want 3 (the asked-for response cached once)", hits.Load())
	}
	if r := call(t, g, "GET", "/ctl/please-cache"); r.Header.Get("X-Tyk-Cached-Response") != "1" {
		t.Fatal("the response the upstream asked to cache was not served from the cache")
	}
}
