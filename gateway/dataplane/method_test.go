package dataplane_test

import (
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

func TestMethodTransforms(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	g.AddAPI(t, `{"api_id":"m","org_id":"org1","use_keyless":true,
		"proxy":{"listen_path":"/m/","target_url":"`+gatewaytest.Upstream(t)+`","strip_listen_path":true},
		"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default","use_extended_paths":true,
			"extended_paths":{"method_transforms":[
				{"path":"/items","method":"GET","to_method":"post"},
				{"path":"/odd","method":"GET","to_method":"TRACE"}]}}}}}`)
	if e := gatewaytest.EchoOf(t, call(t, g, "GET", "/m/items")); e.Method != "POST" {
		t.Fatalf("upstream saw %s", e.Method)
	}
	if e := gatewaytest.EchoOf(t, call(t, g, "PUT", "/m/items")); e.Method != "PUT" {
		t.Fatalf("other methods changed: %s", e.Method)
	}
	if r := call(t, g, "GET", "/m/odd"); r.Status != 405 || r.Body != gatewaytest.TykError("Method not allowed") {
		t.Fatalf("unsupported target method: %d %q", r.Status, r.Body)
	}
}
