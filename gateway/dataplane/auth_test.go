package dataplane_test

import (
	"encoding/base64"
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestBasicAuth(t *testing.T) {
	onBothStores(t, func(t *testing.T, g *gatewaytest.Gateway) {
		up := gatewaytest.Upstream(t)
		g.AddAPI(t, `{"api_id":"ba","name":"Basic API","org_id":"org1","use_basic_auth":true,
			"proxy":{"listen_path":"/ba/","target_url":"`+up+`","strip_listen_path":true},"version_data":{"not_versioned":true}}`)
		if r := g.Do(t, "POST", "/tyk/keys/alice", `{"org_id":"org1","basic_auth_data":{"password":"s3cret"},"access_rights":{"ba":{"api_id":"ba"}}}`); r.Status != 200 {
			t.Fatalf("key: %d %s", r.Status, r.Body)
		}
		realm := `Basic realm="Basic API"`
		cases := []struct {
			name, header string
			status       int
			msg          string
			realm        bool
		}{
			{"no header", "", 401, "Authorization field missing", true},
			{"not basic", "Bearer x", 400, "Attempted access with malformed header, header not in basic auth format", false},
			{"not base64", "Basic !!!", 400, "Attempted access with malformed header, auth data not encoded correctly", false},
			{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice")), 400, "Attempted access with malformed header, values not in basic auth format", false},
			{"wrong password", basic("alice", "nope"), 401, "User not authorised", true},
			{"unknown user", basic("bob", "s3cret"), 401, "User not authorised", true},
		}
		for _, c := range cases {
			t.Run(c.name+" is refused", func(t *testing.T) {
				r := call(t, g, "GET", "/ba/x", "Authorization", c.header)
				if r.Status != c.status || r.Body != gatewaytest.TykError(c.msg) {
					t.Fatalf("got %d %q", r.Status, r.Body)
				}
				if got := r.Header.Get("Www-Authenticate"); (got == realm) != c.realm {
					t.Fatalf("WWW-Authenticate %q", got)
				}
			})
		}
		t.Run("right password passes, twice (second from the cache)", func(t *testing.T) {
			for i := 0; i < 2; i++ {
				gatewaytest.EchoOf(t, call(t, g, "GET", "/ba/x", "Authorization", basic("alice", "s3cret")))
			}
		})
		t.Run("a changed password stops the old one at once", func(t *testing.T) {
			g.Do(t, "PUT", "/tyk/keys/alice?org_id=org1", `{"org_id":"org1","basic_auth_data":{"password":"n3w"},"access_rights":{"ba":{"api_id":"ba"}}}`)
			if r := call(t, g, "GET", "/ba/x", "Authorization", basic("alice", "s3cret")); r.Status != 401 {
				t.Fatalf("old password: %d %q", r.Status, r.Body)
			}
			gatewaytest.EchoOf(t, call(t, g, "GET", "/ba/x", "Authorization", basic("alice", "n3w")))
		})
	})
}

func TestTokenSourcesAndStripping(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	up := gatewaytest.Upstream(t)
	g.AddAPI(t, `{"api_id":"tok","org_id":"org1","strip_auth_data":true,
		"auth_configs":{"authToken":{"auth_header_name":"X-Api-Key","use_param":true,"param_name":"key","use_cookie":true,"cookie_name":"session"}},
		"proxy":{"listen_path":"/tok/","target_url":"`+up+`","strip_listen_path":true},"version_data":{"not_versioned":true}}`)
	g.Do(t, "POST", "/tyk/keys/goodkey", `{"org_id":"org1","access_rights":{"tok":{"api_id":"tok"}}}`)
	t.Run("header", func(t *testing.T) {
		e := gatewaytest.EchoOf(t, call(t, g, "GET", "/tok/a", "X-Api-Key", "goodkey"))
		if e.Header.Get("X-Api-Key") != "" {
			t.Fatal("auth header forwarded despite strip_auth_data")
		}
	})
	t.Run("query parameter overrides the header and is stripped", func(t *testing.T) {
		e := gatewaytest.EchoOf(t, call(t, g, "GET", "/tok/a?key=goodkey&keep=1", "X-Api-Key", "badkey"))
		if e.Query != "keep=1" {
			t.Fatalf("upstream query %q", e.Query)
		}
	})
	t.Run("cookie overrides both and is stripped", func(t *testing.T) {
		e := gatewaytest.EchoOf(t, call(t, g, "GET", "/tok/a?key=badkey", "Cookie", "session=goodkey; other=1"))
		if e.Header.Get("Cookie") != "other=1" {
			t.Fatalf("upstream cookie %q", e.Header.Get("Cookie"))
		}
	})
}
