package jsvm_test

import (
	"encoding/json"
	"testing"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/gateway/session"
)

// virtual is an extended_paths.virtual entry.
func virtual(path, method, fn, srcType, uri string, extra ...string) string {
	s := `{"path":"` + path + `","method":"` + method + `","response_function_name":"` + fn +
		`","function_source_type":"` + srcType + `","function_source_uri":"` + uri + `"`
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// withPaths is a version_data member with these extended paths.
func withPaths(members string) string {
	return `"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default","use_extended_paths":true,"extended_paths":{` + members + `}}}}`
}

func TestVirtualEndpoints(t *testing.T) {
	j := start(t)
	blob := b64(`function fromConfig(request, session, config) {
    return TykJsResponse({Body: "foobar", Code: 202, Headers: {"X-Tenant": config.config_data.tenant, "content-type": "text/plain"}}, session.meta_data);
}`)
	postFile := j.script(t, "count.js", `function countItems(request, session, config) {
    var items = JSON.parse(request.Body);
    return TykJsResponse({
        Body: JSON.stringify({inbound_array_length: items.length, form: request.Params["f"], q: request.Params["q"]}),
        Code: 200,
        Headers: {"test": "virtual", "test-2": "virtual-2", "content-type": "application/json"}
    }, {});
}`)
	broken := b64(`function broken( {`)
	throws := b64(`function throws() { throw new Error("no"); }`)
	plain := b64(`function plainObject() { return {Response: {Body: "x", Code: 200}}; }`)
	j.api(t, "virt", `"config_data":{"tenant":"acme"},`+withPaths(`"virtual":[`+
		virtual("/static$", "GET", "fromConfig", "blob", blob)+","+
		virtual("/count", "POST", "countItems", "file", postFile)+","+
		virtual("/broken", "GET", "broken", "blob", broken)+","+
		virtual("/throws", "GET", "throws", "blob", throws)+","+
		virtual("/fallback", "GET", "throws", "blob", throws, `"proxy_on_error":true`)+","+
		virtual("/plain", "GET", "plainObject", "blob", plain)+","+
		virtual("/off", "GET", "fromConfig", "blob", blob, `"disabled":true`)+`]`))

	t.Run("blob source with headers and code", func(t *testing.T) {
		r := j.call(t, "GET", "/virt/static", "")
		if r.Status != 202 || r.Body != "foobar" || r.Header.Get("X-Tenant") != "acme" || r.Header.Get("Server") != "tyk" ||
			r.Header.Get("Content-Type") != "text/plain" || r.Header.Get("X-Upstream") != "" {
			t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
		}
	})
	t.Run("file source reading the body and form parameters", func(t *testing.T) {
		r := j.call(t, "POST", "/virt/count?q=1", `[1,2,3]`)
		if r.Status != 200 || r.Body != `{"inbound_array_length":3,"q":["1"]}` || r.Header.Get("Test") != "virtual" || r.Header.Get("Test-2") != "virtual-2" {
			t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
		}
	})
	t.Run("the method must match", func(t *testing.T) {
		gatewaytest.EchoOf(t, j.call(t, "GET", "/virt/count", ""))
	})
	t.Run("the pattern matches the path without the listen path", func(t *testing.T) {
		gatewaytest.EchoOf(t, j.call(t, "GET", "/virt/static/more", ""))
	})
	for _, p := range []string{"/virt/broken", "/virt/throws", "/virt/plain"} {
		t.Run(p+" is Tyk's virtual endpoint error, every time", func(t *testing.T) {
			for i := 0; i < 2; i++ {
				r := j.call(t, "GET", p, "")
				if r.Status != 500 || r.Body != gatewaytest.TykError("Error during virtual endpoint execution. Contact Administrator for more details.") {
					t.Fatalf("got %d %q", r.Status, r.Body)
				}
			}
		})
	}
	t.Run("proxy_on_error goes on to the upstream", func(t *testing.T) {
		if e := gatewaytest.EchoOf(t, j.call(t, "GET", "/virt/fallback", "")); e.Path != "/fallback" {
			t.Fatalf("upstream saw %+v", e)
		}
	})
	t.Run("a disabled entry goes to the upstream", func(t *testing.T) {
		gatewaytest.EchoOf(t, j.call(t, "GET", "/virt/off", ""))
	})
}

func TestVirtualEndpointSession(t *testing.T) {
	j := start(t)
	src := b64(`function whoAmI(request, session, config) {
    var meta = session.meta_data;
    meta.visits = (meta.visits || 0) + 1;
    meta.nested = {deep: true};
    return TykJsResponse({Body: "hello " + meta.user, Code: 200}, meta);
}`)
	j.api(t, "vs", `"use_keyless":false,`+withPaths(`"virtual":[`+virtual("/me", "GET", "whoAmI", "blob", src, `"use_session":true`)+`]`))
	if r := j.Do(t, "POST", "/tyk/keys/vskey", `{"org_id":"org1","quota_max":10,"quota_remaining":7,"meta_data":{"user":"bo"},"access_rights":{"vs":{"api_id":"vs"}}}`); r.Status != 200 {
		t.Fatalf("key: %d %s", r.Status, r.Body)
	}
	r := j.call(t, "GET", "/vs/me", "", "Authorization", "vskey")
	if r.Status != 200 || r.Body != "hello bo" || r.Header.Get("X-Ratelimit-Limit") != "10" {
		t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
	}
	k := j.Do(t, "GET", "/tyk/keys/vskey?org_id=org1", "")
	var s session.State
	if err := json.Unmarshal([]byte(k.Body), &s); err != nil {
		t.Fatal(err)
	}
	if s.MetaData["visits"] != float64(1) || s.MetaData["nested"].(map[string]any)["deep"] != true {
		t.Fatalf("metadata with nested values not written back: %v", s.MetaData)
	}
}

func TestVirtualBlobsCanBeDisabled(t *testing.T) {
	j := start(t, func(c *config.Config) { c.DisableVirtualPathBlobs = true })
	j.api(t, "nob", withPaths(`"virtual":[`+virtual("/v", "GET", "f", "blob", b64(`function f(){ return TykJsResponse({Body:"js",Code:200},{}); }`))+`]`))
	gatewaytest.EchoOf(t, j.call(t, "GET", "/nob/v", ""))
}
