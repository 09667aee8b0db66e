package main

import (
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/plugins/plugintest"
)

// TestPreHookStampsRequests builds the plugin, puts it in front of a
// keyless API and checks the upstream sees the header.
func TestPreHookStampsRequests(t *testing.T) {
	bin := plugintest.Build(t, "github.com/tollgate/tollgate/examples/goplugin-header")
	g := gatewaytest.Start(t, gatewaytest.Options{})
	g.AddAPI(t, `{"api_id":"stamped","org_id":"org1","use_keyless":true,
		"custom_middleware":{"driver":"managed","pre":[{"name":"Pre","path":"`+bin+`"}]},
		"proxy":{"listen_path":"/stamped/","target_url":"`+gatewaytest.Upstream(t)+`","strip_listen_path":true},
		"version_data":{"not_versioned":true}}`)
	e := gatewaytest.EchoOf(t, gatewaytest.Do(t, g.URL, "GET", "/stamped/x", ""))
	if got := e.Header.Get("X-Stamped-By"); got != "goplugin-header" {
		t.Fatalf("upstream saw X-Stamped-By %q", got)
	}
}
