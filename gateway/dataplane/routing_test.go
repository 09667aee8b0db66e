package dataplane_test

import (
	"testing"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

func TestCustomDomains(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) { c.EnableCustomDomains = true }})
	up := gatewaytest.Upstream(t)
	g.AddAPI(t, keyless("on-domain", "/svc/", up, `,"domain":"api.example"`))
	g.AddAPI(t, keyless("any-domain", "/svc/", up+"/fallback", ""))
	if e := gatewaytest.EchoOf(t, call(t, g, "GET", "/svc/x", "Host", "api.example")); e.Path != "/x" {
		t.Fatalf("domain API not chosen for its host: %q", e.Path)
	}
	if e := gatewaytest.EchoOf(t, call(t, g, "GET", "/svc/x", "Host", "other.example")); e.Path != "/fallback/x" {
		t.Fatalf("other hosts should reach the API without a domain: %q", e.Path)
	}
}

func TestStrictRoutes(t *testing.T) {
	for _, strict := range []bool{false, true} {
		g := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) { c.HttpServerOptions.EnableStrictRoutes = strict }})
		up := gatewaytest.Upstream(t)
		g.AddAPI(t, keyless("foo", "/foo", up, ""))
		r := call(t, g, "GET", "/foobar")
		if strict && r.Status != 404 || !strict && r.Status != 200 {
			t.Fatalf("strict=%v: /foobar got %d", strict, r.Status)
		}
		gatewaytest.EchoOf(t, call(t, g, "GET", "/foo/bar"))
	}
}
