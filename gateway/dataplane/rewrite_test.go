package dataplane_test

import (
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

func TestURLRewrites(t *testing.T) {
	up := gatewaytest.Upstream(t)
	other := gatewaytest.Upstream(t)
	g := gatewaytest.Start(t, gatewaytest.Options{})
	g.AddAPI(t, `{"api_id":"rw","org_id":"org1","use_keyless":true,
		"proxy":{"listen_path":"/keyed/","target_url":"`+up+`","strip_listen_path":true},
		"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default","use_extended_paths":true,
			"extended_paths":{"url_rewrites":[
				{"path":"rw/","method":"GET","match_pattern":"rw/(.*)","rewrite_to":"/rewritten/$1"},
				{"path":"elsewhere","method":"GET","match_pattern":"elsewhere/(\\w+)","rewrite_to":"`+other+`/moved/$1"},
				{"path":"loop","method":"GET","match_pattern":"loop","rewrite_to":"tyk://self/x"}]}}}}}`)
	t.Run("the observed Tyk example", func(t *testing.T) {
		e := gatewaytest.EchoOf(t, call(t, g, "GET", "/keyed/rw/abc?q=1"))
		if e.Path != "/rewritten/abc" || e.Query != "q=1" {
			t.Fatalf("upstream got %q ? %q", e.Path, e.Query)
		}
	})
	t.Run("a rewrite to another host goes there", func(t *testing.T) {
		e := gatewaytest.EchoOf(t, call(t, g, "GET", "/keyed/elsewhere/xyz"))
		if e.Path != "/moved/xyz" || "http://"+e.Host != other {
			t.Fatalf("upstream got %q on %q, want %s", e.Path, e.Host, other)
		}
	})
	t.Run("other methods and paths are left alone", func(t *testing.T) {
		if e := gatewaytest.EchoOf(t, call(t, g, "POST", "/keyed/rw/abc")); e.Path != "/rw/abc" {
			t.Fatalf("POST rewritten to %q", e.Path)
		}
	})
	t.Run("looping is refused clearly", func(t *testing.T) {
		r := call(t, g, "GET", "/keyed/loop")
		if r.Status != 500 || r.Body != gatewaytest.TykError("Looping to another API (tyk://) is not supported") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
}
