package dataplane_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/gateway/storage/redistest"
)

func onBothStores(t *testing.T, fn func(t *testing.T, g *gatewaytest.Gateway)) {
	t.Run("embedded", func(t *testing.T) { fn(t, gatewaytest.Start(t, gatewaytest.Options{})) })
	t.Run("redis", func(t *testing.T) { fn(t, gatewaytest.Start(t, gatewaytest.Options{Redis: redistest.Start(t)})) })
}

// setup creates the keyed API of the semantics notes' test vectors and
// reloads.
func setup(t *testing.T, g *gatewaytest.Gateway, upstream string) {
	t.Helper()
	def := `{"api_id":"keyed","name":"Keyed","org_id":"org1","proxy":{"listen_path":"/keyed/","target_url":"` + upstream + `","strip_listen_path":true},
		"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default"}}}}`
	if r := g.Do(t, "POST", "/tyk/apis", def); r.Status != 200 {
		t.Fatalf("create API: %d %s", r.Status, r.Body)
	}
	if r := g.Do(t, "POST", "/tyk/apis", `{"api_id":"other","org_id":"org1","proxy":{"listen_path":"/other/","target_url":"`+upstream+`","strip_listen_path":true},"version_data":{"not_versioned":true}}`); r.Status != 200 {
		t.Fatalf("create API: %d %s", r.Status, r.Body)
	}
	if r := g.Do(t, "GET", "/tyk/reload?block=true", ""); r.Status != 200 {
		t.Fatalf("reload: %d %s", r.Status, r.Body)
	}
}

func call(t *testing.T, g *gatewaytest.Gateway, method, path string, header ...string) gatewaytest.Response {
	t.Helper()
	return gatewaytest.Do(t, g.URL, method, path, "", header...)
}

func TestKeyedProxying(t *testing.T) {
	onBothStores(t, func(t *testing.T, g *gatewaytest.Gateway) {
		up := gatewaytest.Upstream(t)
		setup(t, g, up)
		if r := g.Do(t, "POST", "/tyk/keys/mycustomkey", `{"org_id":"org1","access_rights":{"keyed":{"api_id":"keyed","versions":["Default"]}}}`); r.Status != 200 {
			t.Fatalf("key: %d %s", r.Status, r.Body)
		}
		t.Run("no token is 401 with Tyk's JSON body", func(t *testing.T) {
			r := call(t, g, "GET", "/keyed/x")
			if r.Status != 401 || r.Body != gatewaytest.TykError("Authorization field missing") || r.Header.Get("X-Generator") != "tyk.io" {
				t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
			}
		})
		t.Run("XML request content type gets an XML error", func(t *testing.T) {
			r := call(t, g, "GET", "/keyed/x", "Content-Type", "application/xml")
			want := "<?xml version = \"1.0\" encoding = \"UTF-8\"?>\n<error>Authorization field missing</error>"
			if r.Status != 401 || r.Body != want || r.Header.Get("Content-Type") != "application/xml" {
				t.Fatalf("got %d %q", r.Status, r.Body)
			}
		})
		t.Run("short and unknown tokens are 403", func(t *testing.T) {
			for _, tok := range []string{"ab", "unknown-token"} {
				if r := call(t, g, "GET", "/keyed/x", "Authorization", tok); r.Status != 403 || r.Body != gatewaytest.TykError("Access to this API has been disallowed") {
					t.Fatalf("%s: got %d %q", tok, r.Status, r.Body)
				}
			}
		})
		t.Run("a custom key is found by its short name and proxied", func(t *testing.T) {
			r := call(t, g, "GET", "/keyed/x?x=1", "Authorization", "Bearer mycustomkey")
			if r.Status != 200 {
				t.Fatalf("got %d %q", r.Status, r.Body)
			}
			var e gatewaytest.Echo
			if err := json.Unmarshal([]byte(r.Body), &e); err != nil {
				t.Fatal(err)
			}
			if e.Path != "/x" || e.Query != "x=1" || !strings.HasPrefix(up, "http://"+e.Host) {
				t.Fatalf("upstream saw %+v", e)
			}
			if e.Header.Get("X-Forwarded-For") == "" {
				t.Fatal("X-Forwarded-For not set")
			}
		})
		t.Run("a key for one API is refused on another", func(t *testing.T) {
			if r := call(t, g, "GET", "/other/x", "Authorization", "mycustomkey"); r.Status != 403 {
				t.Fatalf("got %d %q", r.Status, r.Body)
			}
		})
		t.Run("an inactive key is refused", func(t *testing.T) {
			g.Do(t, "PUT", "/tyk/keys/mycustomkey?org_id=org1", `{"org_id":"org1","is_inactive":true,"access_rights":{"keyed":{"api_id":"keyed","versions":["Default"]}}}`)
			if r := call(t, g, "GET", "/keyed/x", "Authorization", "mycustomkey"); r.Status != 403 || r.Body != gatewaytest.TykError("Key is inactive, please renew") {
				t.Fatalf("got %d %q", r.Status, r.Body)
			}
		})
		t.Run("an expired key is 401", func(t *testing.T) {
			g.Do(t, "PUT", "/tyk/keys/mycustomkey?org_id=org1", `{"org_id":"org1","expires":1,"access_rights":{"keyed":{"api_id":"keyed","versions":["Default"]}}}`)
			if r := call(t, g, "GET", "/keyed/x", "Authorization", "mycustomkey"); r.Status != 401 || r.Body != gatewaytest.TykError("Key has expired, please renew") {
				t.Fatalf("got %d %q", r.Status, r.Body)
			}
		})
		t.Run("unknown paths are a plain 404", func(t *testing.T) {
			if r := call(t, g, "GET", "/nothing/here"); r.Status != 404 || r.Body != "Not Found" {
				t.Fatalf("got %d %q", r.Status, r.Body)
			}
		})
	})
}
