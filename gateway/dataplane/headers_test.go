package dataplane_test

import (
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

func TestHeaderInjection(t *testing.T) {
	onBothStores(t, func(t *testing.T, g *gatewaytest.Gateway) {
		up := gatewaytest.Upstream(t)
		g.AddAPI(t, `{"api_id":"hdr","org_id":"org1",
			"proxy":{"listen_path":"/hdr/","target_url":"`+up+`","strip_listen_path":true},
			"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default","use_extended_paths":true,
				"global_headers":{"X-Global":"g","X-User":"$tyk_meta.user","X-Client":"$tyk_context.headers_X_Client_Id"},
				"global_headers_remove":["X-Drop"],
				"global_response_headers":{"X-Resp":"r"},
				"global_response_headers_remove":["X-Upstream"],
				"extended_paths":{
					"transform_headers":[{"path":"special","method":"GET","add_headers":{"X-Path":"p"},"delete_headers":["X-Del"]}],
					"transform_response_headers":[{"path":"special","method":"GET","add_headers":{"X-Path-Resp":"pr"}}]}}}}}`)
		g.Do(t, "POST", "/tyk/keys/hdrkey", `{"org_id":"org1","meta_data":{"user":"bob"},"access_rights":{"hdr":{"api_id":"hdr"}}}`)
		r := call(t, g, "GET", "/hdr/special", "Authorization", "hdrkey", "X-Drop", "1", "X-Del", "1", "X-Client-Id", "c42")
		e := gatewaytest.EchoOf(t, r)
		want := map[string]string{"X-Global": "g", "X-User": "bob", "X-Client": "c42", "X-Path": "p", "X-Drop": "", "X-Del": ""}
		for h, v := range want {
			if got := e.Header.Get(h); got != v {
				t.Errorf("upstream %s = %q, want %q", h, got, v)
			}
		}
		if r.Header.Get("X-Resp") != "r" || r.Header.Get("X-Path-Resp") != "pr" || r.Header.Get("X-Upstream") != "" {
			t.Errorf("response headers %v", r.Header)
		}
		other := call(t, g, "GET", "/hdr/plain", "Authorization", "hdrkey", "X-Del", "1")
		if e := gatewaytest.EchoOf(t, other); e.Header.Get("X-Path") != "" || e.Header.Get("X-Del") != "1" {
			t.Errorf("path rule applied to another path: %v", e.Header)
		}
		if other.Header.Get("X-Path-Resp") != "" || other.Header.Get("X-Resp") != "r" {
			t.Errorf("response headers on another path: %v", other.Header)
		}
	})
}
