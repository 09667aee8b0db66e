package controlapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

// fuzzMethods are the methods a fuzz input picks from (index mod length).
var fuzzMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch}

// fuzzRoutes are the paths a fuzz input picks from; "{id}" is replaced by
// the fuzzed ID segment (path-escaped, or as is when the input asks for it
// raw and it is a valid path). Unknown routes and the OAS, OAuth and cert
// routes (501) are included on purpose. Batch (/{listen_path}/tyk/batch)
// is left out: outside /tyk/ it reaches the data plane, not this API.
var fuzzRoutes = []string{
	"/tyk/keys",
	"/tyk/keys/{id}",
	"/tyk/keys/create",
	"/tyk/keys/preview",
	"/tyk/keys/policy/{id}",
	"/tyk/keys/{id}?org_id={id}",
	"/tyk/keys?filter={id}",
	"/tyk/policies",
	"/tyk/policies/{id}",
	"/tyk/apis",
	"/tyk/apis/{id}",
	"/tyk/apis?base_api_id={id}&new_version_name={id}",
	"/tyk/apis/{id}/versions",
	"/tyk/org/keys",
	"/tyk/org/keys/{id}",
	"/tyk/org/keys/{id}?reset_quota=1",
	"/tyk/reload",
	"/tyk/apis/oas/{id}",
	"/tyk/oauth/clients/{id}",
	"/tyk/certs/{id}",
	"/tyk/cache/{id}",
	"/tyk/schema?oasVersion={id}",
	"/tyk/{id}",
	"/tyk/keys/{id}/{id}",
}

// Objects the fuzz gateway starts with, so inputs reach existing objects
// as well as missing ones.
const (
	fuzzKey    = "fuzz-key"
	fuzzPolicy = "fuzz-policy"
	fuzzAPI    = "fuzz-api"
	fuzzOrg    = "fuzz-org"
)

// FuzzControlAPI sends arbitrary method, path and body combinations to one
// gateway per fuzz process. Invariants: no 5xx except 501 for operations
// not implemented yet, no dropped connection (a panic in a handler drops
// it), every error body is Tyk's plain-text 404 or valid JSON with a
// message, and /hello keeps answering 200.
func FuzzControlAPI(f *testing.F) {
	session := `{"org_id":"","access_rights":{"` + fuzzAPI + `":{"api_id":"` + fuzzAPI + `","versions":["Default"]}},"quota_max":10,"quota_renewal_rate":60,"rate":5,"per":1,"apply_policies":["` + fuzzPolicy + `"]}`
	pol := `{"id":"` + fuzzPolicy + `","name":"p","rate":10,"per":1,"quota_max":-1,"access_rights":{"` + fuzzAPI + `":{"api_id":"` + fuzzAPI + `","versions":["Default"]}}}`
	api := `{"api_id":"` + fuzzAPI + `","name":"a","org_id":"","active":true,"proxy":{"listen_path":"/fuzz/","target_url":"http://127.0.0.1:9","strip_listen_path":true},"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default"}}}}`

	// The gateway is started here, with f, rather than inside the fuzz
	// function: Start registers its shutdown on the TB it gets, and the
	// fuzz function's *testing.T ends after one input. Each fuzz worker is
	// its own process and runs this once.
	g := gatewaytest.Start(f, gatewaytest.Options{})
	for _, s := range []struct{ method, path, body string }{
		{"POST", "/tyk/apis", api},
		{"POST", "/tyk/policies", pol},
		{"POST", "/tyk/keys/" + fuzzKey, session},
		{"POST", "/tyk/org/keys/" + fuzzOrg, `{"quota_max":100}`},
	} {
		if r := g.Do(f, s.method, s.path, s.body); r.Status != 200 {
			f.Fatalf("seeding %s %s: %d %s", s.method, s.path, r.Status, r.Body)
		}
	}

	route := func(path string) uint8 {
		for i, r := range fuzzRoutes {
			if r == path {
				return uint8(i)
			}
		}
		f.Fatalf("no fuzz route %q", path)
		return 0
	}
	const get, post, put, del, patch = 0, 1, 2, 3, 4
	seeds := []struct {
		method uint8
		route  string
		id     string
		body   string
	}{
		// Realistic requests.
		{post, "/tyk/keys", "", session},
		{post, "/tyk/keys/create", "", session},
		{post, "/tyk/keys/preview", "", session},
		{post, "/tyk/keys/{id}", "custom-key", session},
		{put, "/tyk/keys/{id}", fuzzKey, session},
		{get, "/tyk/keys/{id}", fuzzKey, ""},
		{get, "/tyk/keys/{id}?org_id={id}", fuzzKey, ""},
		{del, "/tyk/keys/{id}", "custom-key", ""},
		{post, "/tyk/keys/policy/{id}", fuzzKey, `{"policy":"` + fuzzPolicy + `","apply_policies":["` + fuzzPolicy + `"]}`},
		{get, "/tyk/keys?filter={id}", "fuzz", ""},
		{post, "/tyk/policies", "", pol},
		{put, "/tyk/policies/{id}", fuzzPolicy, pol},
		{del, "/tyk/policies/{id}", "missing-policy", ""},
		{post, "/tyk/apis", "", api},
		{put, "/tyk/apis/{id}", fuzzAPI, api},
		{post, "/tyk/apis?base_api_id={id}&new_version_name={id}", fuzzAPI, strings.Replace(api, fuzzAPI, "fuzz-child", 1)},
		{get, "/tyk/apis/{id}/versions", fuzzAPI, ""},
		{post, "/tyk/org/keys/{id}", fuzzOrg, `{"quota_max":5,"rate":1,"per":1}`},
		{put, "/tyk/org/keys/{id}?reset_quota=1", fuzzOrg, `{"quota_max":5}`},
		{del, "/tyk/org/keys/{id}", "missing-org", ""},
		{get, "/tyk/reload", "", ""},
		{post, "/tyk/apis/oas/{id}", "x", `{"openapi":"3.0.3"}`},
		{get, "/tyk/schema?oasVersion={id}", "3.0.3", ""},
		// Broken bodies.
		{post, "/tyk/keys", "", `{"access_rights":`},
		{put, "/tyk/keys/{id}", fuzzKey, `null`},
		{put, "/tyk/keys/{id}", fuzzKey, session + `garbage`},
		{post, "/tyk/keys/create", "", `[]`},
		{post, "/tyk/keys/preview", "", `"string"`},
		{post, "/tyk/keys/{id}", "k", `{"quota_max":"x","access_rights":[],"rate":true}`},
		{post, "/tyk/policies", "", `{"id":"p2","quota_max":1e400}`},
		{post, "/tyk/policies", "", `{"id":"p3","rate":99999999999999999999999}`},
		{post, "/tyk/apis", "", `{"api_id":12345}`},
		{post, "/tyk/apis", "", `{"api_id":"a2","allowed_ips":["x.y"],"enable_ip_whitelisting":true}`},
		{post, "/tyk/org/keys/{id}", "o", `{"meta_data":` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + `}`},
		{post, "/tyk/keys/policy/{id}", fuzzKey, `{"apply_policies":"x"}`},
		{patch, "/tyk/keys/{id}", fuzzKey, "\x00\xff"},
		// Hostile IDs.
		{put, "/tyk/policies/{id}", "../../etc/passwd", `{"id":"../../etc/passwd"}`},
		{put, "/tyk/policies/{id}", "..", `{"id":".."}`},
		{post, "/tyk/org/keys/{id}", "a\x00b", `{}`},
		{post, "/tyk/keys/{id}", "ключ", session},
		{del, "/tyk/apis/{id}", "🔑", ""},
		{get, "/tyk/{id}", "..", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, route(s.route), s.id, []byte(s.body))
	}
	// A second copy of the traversal seed asks for the ID raw (see below).
	f.Add(uint8(put), route("/tyk/policies/{id}")+uint8(len(fuzzRoutes)), "../../etc/passwd", []byte(`{"id":"x"}`))

	// A traversal out of apps/ or policies/ would land beside the
	// gateway's folder: nothing may appear there.
	outside := filepath.Dir(g.Dir)
	besides := fuzzNames(f, outside)

	client := gatewaytest.KeepAliveClient(1)
	f.Fuzz(func(t *testing.T, method, routeIndex uint8, id string, body []byte) {
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		tmpl := fuzzRoutes[int(routeIndex)%len(fuzzRoutes)]
		// Odd multiples of the route count send the ID unescaped, so
		// slashes and dot segments reach the router as written.
		raw := int(routeIndex)/len(fuzzRoutes)%2 == 1 && fuzzRawUsable(id)
		path := fuzzPath(tmpl, id, raw)
		req, err := http.NewRequest(m, g.URL+path, bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		req.Header.Set("X-Tyk-Authorization", gatewaytest.Secret)
		status, header, reply := fuzzSend(t, client, req)
		where := m + " " + path
		if status >= 500 && status != http.StatusNotImplemented {
			t.Errorf("%s with body %.200q: server error %d %.300q", where, body, status, reply)
		}
		if status >= 400 {
			fuzzCheckErrorBody(t, where, status, header, reply)
		} else if strings.HasPrefix(header.Get("Content-Type"), "application/json") && !json.Valid(reply) {
			t.Errorf("%s: %d with a JSON content type but invalid JSON %.300q", where, status, reply)
		}
		hello, err := http.NewRequest(http.MethodGet, g.URL+"/hello", nil)
		if err != nil {
			t.Fatal(err)
		}
		if status, _, reply := fuzzSend(t, client, hello); status != http.StatusOK {
			t.Fatalf("after %s: /hello answered %d %.300q", where, status, reply)
		}
		if now := fuzzNames(t, outside); now != besides {
			t.Fatalf("after %s: files beside the gateway's folder changed from %q to %q", where, besides, now)
		}
	})
}

// fuzzPath fills the route's {id} placeholders: path-escaped in the path,
// query-escaped in the query, or the ID as is when raw.
func fuzzPath(tmpl, id string, raw bool) string {
	p, q, _ := strings.Cut(tmpl, "?")
	seg := url.PathEscape(id)
	if raw {
		seg = id
	}
	p = strings.ReplaceAll(p, "{id}", seg)
	if q == "" {
		return p
	}
	return p + "?" + strings.ReplaceAll(q, "{id}", url.QueryEscape(id))
}

// fuzzRawUsable says whether id can be sent unescaped as part of a path:
// no bytes that would end the path or that a client refuses to send.
func fuzzRawUsable(id string) bool {
	if strings.ContainsAny(id, "?#% ") {
		return false
	}
	for _, c := range []byte(id) {
		if c < 0x21 || c >= 0x7f {
			return false
		}
	}
	return true
}

// fuzzNames lists the names in dir, one string to compare cheaply.
func fuzzNames(t testing.TB, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return strings.Join(names, "\n")
}

// fuzzSend performs the request; a transport error means the server
// dropped the connection (net/http does that when a handler panics) or
// stopped answering.
func fuzzSend(t *testing.T, client *http.Client, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: no reply: %v", req.Method, req.URL.RequestURI(), err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the reply: %v", req.Method, req.URL.RequestURI(), err)
	}
	return resp.StatusCode, resp.Header, reply
}

// fuzzCheckErrorBody: an error reply is Tyk's plain-text 404 for an unknown
// route, or a JSON object with a non-empty message.
func fuzzCheckErrorBody(t *testing.T, where string, status int, header http.Header, reply []byte) {
	t.Helper()
	if status == http.StatusNotFound && string(reply) == "404 page not found\n" {
		return
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: %d with Content-Type %q, want application/json; body %.300q", where, status, ct, reply)
	}
	var m map[string]any
	if err := json.Unmarshal(reply, &m); err != nil {
		t.Errorf("%s: %d with a body that is not a JSON object (%v): %.300q", where, status, err, reply)
		return
	}
	if msg, _ := m["message"].(string); msg == "" {
		t.Errorf("%s: %d without a message: %.300q", where, status, reply)
	}
}
