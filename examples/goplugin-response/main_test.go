package main

import (
	"encoding/json"
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/plugins/plugintest"
)

// TestResponsePluginBehindTheGateway builds this plugin, points an API's
// response hook at it and checks what a client gets.
func TestResponsePluginBehindTheGateway(t *testing.T) {
	bin := plugintest.Build(t, "github.com/tollgate/tollgate/examples/goplugin-response")
	g := gatewaytest.Start(t, gatewaytest.Options{})
	def := `{"api_id":"wrapped","name":"wrapped","org_id":"org1","use_keyless":true,
		"custom_middleware":{"driver":"managed","response":[{"name":"Wrap","path":"` + bin + `"}]},
		"proxy":{"listen_path":"/wrapped/","target_url":"` + gatewaytest.Upstream(t) + `","strip_listen_path":true},
		"version_data":{"not_versioned":true}}`
	g.AddAPI(t, def)

	r := gatewaytest.Do(t, g.URL, "GET", "/wrapped/hello", "")
	if r.Status != 200 || r.Header.Get("X-Plugin") != "goplugin-response" || r.Header.Get("X-Upstream") != "echo" {
		t.Fatalf("got %d %v", r.Status, r.Header)
	}
	var env struct {
		APIID          string `json:"api_id"`
		UpstreamStatus int    `json:"upstream_status"`
		UpstreamBody   string `json:"upstream_body"`
	}
	if err := json.Unmarshal([]byte(r.Body), &env); err != nil {
		t.Fatalf("body is not the envelope: %q", r.Body)
	}
	var e gatewaytest.Echo
	if env.APIID != "wrapped" || env.UpstreamStatus != 200 || json.Unmarshal([]byte(env.UpstreamBody), &e) != nil || e.Path != "/hello" {
		t.Fatalf("envelope: %+v", env)
	}
}
