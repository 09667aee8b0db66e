package main

import (
	"encoding/json"
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/plugins/plugintest"
)

// TestAuthPluginBehindTheGateway builds this plugin, points an API at it
// and calls the API through a running gateway.
func TestAuthPluginBehindTheGateway(t *testing.T) {
	bin := plugintest.Build(t, "github.com/tollgate/tollgate/examples/goplugin-auth")
	g := gatewaytest.Start(t, gatewaytest.Options{})
	def := `{"api_id":"guarded","name":"guarded","org_id":"org1","custom_plugin_auth_enabled":true,
		"custom_middleware":{"driver":"managed","auth_check":{"name":"Auth","path":"` + bin + `"}},
		"proxy":{"listen_path":"/guarded/","target_url":"` + gatewaytest.Upstream(t) + `","strip_listen_path":true},
		"version_data":{"not_versioned":true}}`
	g.AddAPI(t, def)

	r := gatewaytest.Do(t, g.URL, "GET", "/guarded/hello", "", "Authorization", token)
	var e gatewaytest.Echo
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &e) != nil || e.Path != "/hello" {
		t.Fatalf("with the token: %d %q", r.Status, r.Body)
	}
	r = gatewaytest.Do(t, g.URL, "GET", "/guarded/hello", "", "Authorization", "guess")
	if r.Status != 403 || r.Body != plugintest.TykError("Access denied by the example plugin") {
		t.Fatalf("with a wrong token: %d %q", r.Status, r.Body)
	}
	// The session the plugin returned is stored under its key ID.
	if k := g.Do(t, "GET", "/tyk/keys/example-user?api_id=guarded", ""); k.Status != 200 {
		t.Fatalf("stored session: %d %s", k.Status, k.Body)
	}
}
