package dataplane_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

// slowUpstream echoes like gatewaytest.Upstream, but takes 2 s (or until
// the gateway gives up) on paths ending in /slow.
func slowUpstream(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
				return
			}
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(gatewaytest.Echo{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Host: r.Host, Header: r.Header, Body: string(body)})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// keyedWithPaths is the keyed API of the test vectors with its path rules:
// black_list /blocked GET, ignored /public GET, mock /mock GET 202, size
// limit /upload POST 10, validate_json /validate POST (name: string,
// required), hard timeout /slow 1 s.
func keyedWithPaths(upstream string) string {
	return `{"api_id":"keyed","name":"Keyed","org_id":"org1","use_standard_auth":true,
	 "proxy":{"listen_path":"/keyed/","target_url":"` + upstream + `","strip_listen_path":true},
	 "version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default","use_extended_paths":true,"extended_paths":{
	   "black_list":[{"path":"/blocked","method":"GET"}],
	   "ignored":[{"path":"/public","method":"GET"}],
	   "mock_response":[{"path":"/mock","method":"GET","code":202,"body":"{\"mocked\":true}","headers":{"X-Mock":"yes"}}],
	   "size_limits":[{"path":"/upload","method":"POST","size_limit":10}],
	   "validate_json":[{"path":"/validate","method":"POST","schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}}],
	   "hard_timeouts":[{"path":"/slow","method":"GET","timeout":1}]
	 }}}}}`
}

func errorText(t *testing.T, r gatewaytest.Response) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Body), &e); err != nil {
		t.Fatalf("error body is not JSON (%v): %q", err, r.Body)
	}
	return e.Error
}

func TestPathRuleVectors(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	g.AddAPI(t, keyedWithPaths(slowUpstream(t)))
	if r := g.Do(t, "POST", "/tyk/keys/pathkey", `{"org_id":"org1","access_rights":{"keyed":{"api_id":"keyed","versions":["Default"]}}}`); r.Status != 200 {
		t.Fatalf("key: %d %s", r.Status, r.Body)
	}
	key := []string{"Authorization", "pathkey"}
	do := func(method, path, body string, header ...string) gatewaytest.Response {
		return gatewaytest.Do(t, g.URL, method, path, body, header...)
	}

	t.Run("vector 15: a black-listed path is forbidden even with a key", func(t *testing.T) {
		r := do("GET", "/keyed/blocked", "", key...)
		if r.Status != 403 || r.Body != gatewaytest.TykError("Requested endpoint is forbidden") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
	t.Run("vector 15: an ignored path needs no key and reports a zero quota", func(t *testing.T) {
		r := do("GET", "/keyed/public", "")
		if r.Status != 200 || r.Header.Get("X-Ratelimit-Limit") != "0" {
			t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
		}
		if e := gatewaytest.EchoOf(t, r); e.Path != "/public" {
			t.Fatalf("upstream saw %+v", e)
		}
	})
	t.Run("vector 15: other paths still need a key", func(t *testing.T) {
		if r := do("GET", "/keyed/private", ""); r.Status != 401 {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
	t.Run("vector 16: a mock is answered before auth", func(t *testing.T) {
		r := do("GET", "/keyed/mock", "")
		if r.Status != 202 || r.Body != `{"mocked":true}` || r.Header.Get("X-Mock") != "yes" {
			t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
		}
		if r.Header.Get("X-Generator") != "" || r.Header.Get("Content-Type") != "" {
			t.Fatalf("unexpected headers %v", r.Header)
		}
	})
	t.Run("vector 17: a body over the path's size limit", func(t *testing.T) {
		r := do("POST", "/keyed/upload", `{"a":"bcdefg"}`, key...)
		if r.Status != 400 || r.Body != gatewaytest.TykError("Request is too large") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
		if r := do("POST", "/keyed/upload", `0123456789`, key...); r.Status != 200 {
			t.Fatalf("at the limit: got %d %q", r.Status, r.Body)
		}
	})
	t.Run("vector 17: a chunked body on a limited path needs a Content-Length", func(t *testing.T) {
		req, _ := http.NewRequest("POST", g.URL+"/keyed/upload", struct{ *strings.Reader }{strings.NewReader("0123")})
		req.Header.Set("Authorization", "pathkey")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 411 {
			t.Fatalf("got %d", resp.StatusCode)
		}
	})
	t.Run("vector 18: schema failure and parse error", func(t *testing.T) {
		r := do("POST", "/keyed/validate", `{"x":1}`, key...)
		if r.Status != 422 || r.Body != gatewaytest.TykError("name: name is required") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
		r = do("POST", "/keyed/validate", `notjson`, key...)
		// Tyk writes \' here, which is not JSON; Tollgate's body is valid JSON.
		if r.Status != 400 || errorText(t, r) != "JSON parsing error: invalid character 'o' in literal null (expecting 'u')" {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
		r = do("POST", "/keyed/validate", `{"name":"ok"}`, key...)
		if e := gatewaytest.EchoOf(t, r); e.Body != `{"name":"ok"}` {
			t.Fatalf("upstream got body %q", e.Body)
		}
	})
	t.Run("vector 19: a hard timeout gives 504", func(t *testing.T) {
		start := time.Now()
		r := do("GET", "/keyed/slow", "", key...)
		if r.Status != 504 || r.Body != gatewaytest.TykError("Upstream service reached hard timeout.") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
		if took := time.Since(start); took < 900*time.Millisecond || took > 1900*time.Millisecond {
			t.Fatalf("answered after %v, want about 1 s", took)
		}
	})
}

func TestVersioningOverHTTP(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	up := gatewaytest.Upstream(t)
	versions := `"version_data":{"not_versioned":false,"versions":{
	   "v1":{"name":"v1","use_extended_paths":true,"extended_paths":{"black_list":[{"path":"/old","method":"GET"}]}},
	   "v2":{"name":"v2","expires":"2000-01-01 00:00"},
	   "v3":{"name":"v3","expires":"2099-12-31 23:59"}}}`
	// Vector 24's API, with a key (access to v1 only).
	g.AddAPI(t, `{"api_id":"byheader","org_id":"org1","use_standard_auth":true,
	 "proxy":{"listen_path":"/byheader/","target_url":"`+up+`","strip_listen_path":true},
	 "definition":{"location":"header","key":"x-api-version"},`+versions+`}`)
	g.AddAPI(t, `{"api_id":"byparam","org_id":"org1","use_keyless":true,
	 "proxy":{"listen_path":"/byparam/","target_url":"`+up+`","strip_listen_path":true},
	 "definition":{"location":"url-param","key":"version","strip_versioning_data":true},`+versions+`}`)
	g.AddAPI(t, `{"api_id":"byurl","org_id":"org1","use_keyless":true,
	 "proxy":{"listen_path":"/byurl/","target_url":"`+up+`","strip_listen_path":true},
	 "definition":{"location":"url","strip_versioning_data":true},`+versions+`}`)
	if r := g.Do(t, "POST", "/tyk/keys/verkey", `{"org_id":"org1","access_rights":{"byheader":{"api_id":"byheader","versions":["v1"]}}}`); r.Status != 200 {
		t.Fatalf("key: %d %s", r.Status, r.Body)
	}
	call := func(path string, header ...string) gatewaytest.Response {
		return gatewaytest.Do(t, g.URL, "GET", path, "", header...)
	}

	t.Run("vector 24", func(t *testing.T) {
		for _, c := range []struct {
			version string
			status  int
			msg     string
		}{
			{"", 403, "Version information not found"},
			{"v9", 403, "This API version does not seem to exist"},
			{"v2", 403, "Api Version has expired, please check documentation or contact administrator"},
		} {
			r := call("/byheader/x", "Authorization", "verkey", "x-api-version", c.version)
			if r.Status != c.status || r.Body != gatewaytest.TykError(c.msg) {
				t.Fatalf("%q: got %d %q", c.version, r.Status, r.Body)
			}
		}
	})
	t.Run("a key may use only its versions", func(t *testing.T) {
		if r := call("/byheader/x", "Authorization", "verkey", "x-api-version", "v1"); r.Status != 200 {
			t.Fatalf("v1: got %d %q", r.Status, r.Body)
		}
		r := call("/byheader/x", "Authorization", "verkey", "x-api-version", "v3")
		if r.Status != 403 || r.Body != gatewaytest.TykError("Access to this API has been disallowed") {
			t.Fatalf("v3: got %d %q", r.Status, r.Body)
		}
	})
	t.Run("each version has its own path rules", func(t *testing.T) {
		if r := call("/byparam/old?version=v1"); r.Status != 403 {
			t.Fatalf("v1: got %d %q", r.Status, r.Body)
		}
		if r := call("/byparam/old?version=v3"); r.Status != 200 {
			t.Fatalf("v3: got %d %q", r.Status, r.Body)
		}
	})
	t.Run("url-param versions are stripped before proxying", func(t *testing.T) {
		r := call("/byparam/x?a=1&version=v3&b=2")
		e := gatewaytest.EchoOf(t, r)
		if e.Path != "/x" || e.Query != "a=1&b=2" {
			t.Fatalf("upstream saw %s?%s", e.Path, e.Query)
		}
		if r.Header.Get("X-Tyk-Api-Expires") != "Thu, 31 Dec 2099 23:59:00 UTC" {
			t.Fatalf("expiry header %q", r.Header.Get("X-Tyk-Api-Expires"))
		}
	})
	t.Run("url versions are stripped before proxying", func(t *testing.T) {
		e := gatewaytest.EchoOf(t, call("/byurl/v3/users/7?q=1"))
		if e.Path != "/users/7" || e.Query != "q=1" {
			t.Fatalf("upstream saw %s?%s", e.Path, e.Query)
		}
		if r := call("/byurl/v2/users"); r.Status != 403 {
			t.Fatalf("expired url version: got %d", r.Status)
		}
	})
}

func TestBaseAndChildVersions(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	up := gatewaytest.Upstream(t)
	g.AddAPI(t, `{"api_id":"child2","name":"Child two","org_id":"org1","use_keyless":true,"internal":true,
	 "proxy":{"listen_path":"/child2/","target_url":"`+up+`/from-child","strip_listen_path":true},
	 "version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default","use_extended_paths":true,
	   "extended_paths":{"black_list":[{"path":"/secret","method":"GET"}]}}}}}`)
	g.AddAPI(t, `{"api_id":"base","org_id":"org1","use_keyless":true,
	 "proxy":{"listen_path":"/base/","target_url":"`+up+`/from-base","strip_listen_path":true},
	 "definition":{"enabled":true,"name":"v1","location":"header","key":"x-version","strip_versioning_data":true,
	   "versions":{"v1":"base","v2":"child2","v3":"missing"}},
	 "version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default"}}}}`)
	call := func(path, v string) gatewaytest.Response {
		return gatewaytest.Do(t, g.URL, "GET", path, "", "x-version", v)
	}
	if e := gatewaytest.EchoOf(t, call("/base/x", "v1")); e.Path != "/from-base/x" {
		t.Fatalf("the base version went to %s", e.Path)
	}
	e := gatewaytest.EchoOf(t, call("/base/x", "v2"))
	if e.Path != "/from-child/x" || e.Header.Get("X-Version") != "" {
		t.Fatalf("the child version went to %s with headers %v", e.Path, e.Header)
	}
	if r := call("/base/secret", "v2"); r.Status != 403 {
		t.Fatalf("the child's own rules: got %d %q", r.Status, r.Body)
	}
	for _, v := range []string{"v3", "v9"} {
		if r := call("/base/x", v); r.Status != 404 || r.Body != gatewaytest.TykError("This API version does not seem to exist") {
			t.Fatalf("%s: got %d %q", v, r.Status, r.Body)
		}
	}
	if r := call("/base/x", ""); r.Status != 403 || r.Body != gatewaytest.TykError("Version information not found") {
		t.Fatalf("no version: got %d %q", r.Status, r.Body)
	}
	if r := gatewaytest.Do(t, g.URL, "GET", "/child2/x", ""); r.Status != 404 {
		t.Fatalf("the internal child is routed: %d", r.Status)
	}
}

func TestIPRulesOverHTTP(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	up := gatewaytest.Upstream(t)
	g.AddAPI(t, keyless("allowed", "/allowed/", up, `,"enable_ip_whitelisting":true,"allowed_ips":["127.0.0.0/8","10.1.1.1"]`))
	g.AddAPI(t, keyless("blocked", "/blocked/", up, `,"enable_ip_blacklisting":true,"blacklisted_ips":["10.0.0.0/8"]`))
	for _, c := range []struct {
		path   string
		header []string
		status int
	}{
		{"/allowed/x", nil, 200},
		{"/allowed/x", []string{"X-Real-IP", "10.1.1.1"}, 200},
		{"/allowed/x", []string{"X-Real-IP", "10.1.1.2"}, 403},
		{"/allowed/x", []string{"X-Forwarded-For", "192.168.0.1, 127.0.0.1"}, 403},
		{"/blocked/x", nil, 200},
		{"/blocked/x", []string{"X-Forwarded-For", "10.2.3.4"}, 403},
	} {
		r := gatewaytest.Do(t, g.URL, "GET", c.path, "", c.header...)
		if r.Status != c.status || (c.status == 403 && r.Body != gatewaytest.TykError("access from this IP has been disallowed")) {
			t.Fatalf("%s %v: got %d %q", c.path, c.header, r.Status, r.Body)
		}
	}
}

func TestAPIExpiryAndLegacyPaths(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	up := gatewaytest.Upstream(t)
	g.AddAPI(t, keyless("expired", "/expired/", up, `,"expiration":"2020-01-01 00:00"`))
	g.AddAPI(t, keyless("expiring", "/expiring/", up, `,"expiration":"2099-01-01 00:00"`))
	g.AddAPI(t, `{"api_id":"legacy","org_id":"org1","use_keyless":true,
	 "proxy":{"listen_path":"/legacy/","target_url":"`+up+`","strip_listen_path":true},
	 "version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default","use_extended_paths":false,
	   "paths":{"ignored":[],"black_list":["/legacy/no"],"white_list":["/yes","/no"]}}}}}`)
	r := gatewaytest.Do(t, g.URL, "GET", "/expired/x", "")
	if r.Status != 403 || r.Body != gatewaytest.TykError("API has expired, please check documentation or contact administrator") {
		t.Fatalf("expired: got %d %q", r.Status, r.Body)
	}
	r = gatewaytest.Do(t, g.URL, "GET", "/expiring/x", "")
	if r.Status != 200 || r.Header.Get("X-Tyk-Api-Expires") != "Thu, 01 Jan 2099 00:00:00 UTC" {
		t.Fatalf("expiring: got %d %v", r.Status, r.Header)
	}
	for path, want := range map[string]int{"/legacy/yes": 200, "/legacy/no": 403, "/legacy/maybe": 403} {
		if r := gatewaytest.Do(t, g.URL, "GET", path, ""); r.Status != want {
			t.Fatalf("%s: got %d %q", path, r.Status, r.Body)
		}
	}
}

func TestMaxRequestBodySize(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) { c.HttpServerOptions.MaxRequestBodySize = 10 }})
	up := gatewaytest.Upstream(t)
	g.AddAPI(t, keyless("small", "/small/", up, ""))
	r := gatewaytest.Do(t, g.URL, "POST", "/small/x", "01234567890")
	if r.Status != 413 || r.Body != "Request Entity Too Large\n" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
	}
	if r := gatewaytest.Do(t, g.URL, "POST", "/nowhere/x", "01234567890"); r.Status != 413 {
		t.Fatalf("the limit applies before routing: got %d", r.Status)
	}
	if e := gatewaytest.EchoOf(t, gatewaytest.Do(t, g.URL, "POST", "/small/x", "0123456789")); e.Body != "0123456789" {
		t.Fatalf("upstream got %q", e.Body)
	}
}
