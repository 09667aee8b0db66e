package version_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/internal/stagetest"
	"github.com/tollgate/tollgate/middleware/version"
)

var now = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func env() *chain.Env { return &chain.Env{Now: func() time.Time { return now }} }

// parse reads a definition written as JSON, as operators write them.
func parse(t testing.TB, doc string) *apidef.Definition {
	t.Helper()
	d, err := apidef.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("definition: %v", err)
	}
	return &d
}

func build(t testing.TB, def *apidef.Definition, e *chain.Env) (*chain.API, *stagetest.Seen) {
	t.Helper()
	st, err := version.New(def, e)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if st == nil { // nothing to check: the request goes straight through
		return stagetest.API(t, def)
	}
	return stagetest.API(t, def, st)
}

func get(method, target string, header ...string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

// keyed is the keyed API of the test vectors, not versioned, with its
// extended paths.
const keyed = `{"api_id":"keyed","org_id":"org1","proxy":{"listen_path":"/keyed/","target_url":"http://up","strip_listen_path":true},
 "version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default","use_extended_paths":true,"extended_paths":{
   "black_list":[{"path":"/blocked","method":"GET"}],
   "ignored":[{"path":"/public","method":"GET"}],
   "mock_response":[{"path":"/mock","method":"GET","code":202,"body":"{\"mocked\":true}","headers":{"x-mock":"yes"}}]
 }}}}}`

func TestPathLists(t *testing.T) {
	a, seen := build(t, parse(t, keyed), env())
	t.Run("a black-listed path is forbidden, matched on the full path", func(t *testing.T) {
		r := stagetest.Do(a, seen, get("GET", "/keyed/blocked"))
		if r.Status != 403 || r.Body != stagetest.Error(version.MsgForbidden) || r.Reached {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
	t.Run("black list patterns are unanchored", func(t *testing.T) {
		if r := stagetest.Do(a, seen, get("GET", "/keyed/x/blocked/y")); r.Status != 403 {
			t.Fatalf("got %d", r.Status)
		}
	})
	t.Run("another method passes the black list", func(t *testing.T) {
		if r := stagetest.Do(a, seen, get("POST", "/keyed/blocked")); r.Status != 200 || !r.Reached {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
	t.Run("an ignored path is marked ignored", func(t *testing.T) {
		r := stagetest.Do(a, seen, get("GET", "/keyed/public"))
		if r.Status != 200 || !r.Seen.Ignored {
			t.Fatalf("got %d %+v", r.Status, r.Seen)
		}
		if r.Seen.Version != "Default" {
			t.Fatalf("version %q", r.Seen.Version)
		}
	})
	t.Run("other paths pass, not ignored", func(t *testing.T) {
		r := stagetest.Do(a, seen, get("GET", "/keyed/x"))
		if r.Status != 200 || r.Seen.Ignored {
			t.Fatalf("got %d %+v", r.Status, r.Seen)
		}
	})
	t.Run("a mock is answered with its status, headers and body only", func(t *testing.T) {
		r := stagetest.Do(a, seen, get("GET", "/keyed/mock"))
		if r.Status != 202 || r.Body != `{"mocked":true}` || r.Header.Get("X-Mock") != "yes" || r.Reached {
			t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
		}
		if ct, has := r.Header["Content-Type"]; has && len(ct) > 0 {
			t.Fatalf("Content-Type %q", ct)
		}
		if r.Header.Get("X-Generator") != "" {
			t.Fatal("X-Generator on a mock reply")
		}
	})
	t.Run("a mock needs its exact method", func(t *testing.T) {
		if r := stagetest.Do(a, seen, get("POST", "/keyed/mock")); !r.Reached {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
}

func versionDoc(ep string, extra string) string {
	return `{"api_id":"a","proxy":{"listen_path":"/a/","target_url":"http://up"}` + extra + `,
	 "version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default","use_extended_paths":true,"extended_paths":` + ep + `}}}}`
}

func TestMatchingRules(t *testing.T) {
	cases := []struct {
		name   string
		ep     string
		method string
		path   string
		want   int // 200 passes, 403 forbidden, other: a mock
	}{
		{"white list: a listed path passes", `{"white_list":[{"path":"/ok","method":""}]}`, "DELETE", "/a/ok", 200},
		{"white list: anything else is forbidden", `{"white_list":[{"path":"/ok"}]}`, "GET", "/a/other", 403},
		{"white list: the method must match when set", `{"white_list":[{"path":"/ok","method":"GET"}]}`, "POST", "/a/ok", 403},
		{"white list with placeholders", `{"white_list":[{"path":"/users/{id}/orders","method":"GET"}]}`, "GET", "/a/users/42/orders", 200},
		{"a placeholder stays within one segment", `{"white_list":[{"path":"^/a/users/{id}$","method":"GET"}]}`, "GET", "/a/users/4/2", 403},
		{"patterns are case-sensitive by default", `{"black_list":[{"path":"/Secret"}]}`, "GET", "/a/secret", 200},
		{"ignore_case on the entry", `{"black_list":[{"path":"/Secret","ignore_case":true}]}`, "GET", "/a/secret", 403},
		{"a disabled entry does nothing", `{"black_list":[{"path":"/x","disabled":true}]}`, "GET", "/a/x", 200},
		{"the first match wins: ignored before black", `{"ignored":[{"path":"/x"}],"black_list":[{"path":"/x"}]}`, "GET", "/a/x", 200},
		{"the first match wins: mock before white list", `{"mock_response":[{"path":"/m","method":"GET","code":418}],"white_list":[{"path":"/ok"}]}`, "GET", "/a/m", 418},
		{"a mock with another method falls through to the white list", `{"mock_response":[{"path":"/m","method":"GET","code":418}],"white_list":[{"path":"/ok"}]}`, "PUT", "/a/m", 403},
		{"the listen path is part of the matched path", `{"black_list":[{"path":"^/a/x"}]}`, "GET", "/a/x", 403},
		{"internal endpoints are forbidden with their method", `{"internal":[{"path":"/int","method":"GET"}]}`, "GET", "/a/int", 403},
		{"internal endpoints: other methods pass", `{"internal":[{"path":"/int","method":"GET"}]}`, "POST", "/a/int", 200},
		{"internal is checked before the white list", `{"internal":[{"path":"/int","method":"GET"}],"white_list":[{"path":"/int"}]}`, "GET", "/a/int", 403},
		{"method_actions no_action on a white list", `{"white_list":[{"path":"/ok","method_actions":{"GET":{"action":"no_action"}}}]}`, "GET", "/a/ok", 200},
		{"method_actions: unlisted methods do not match", `{"white_list":[{"path":"/ok","method_actions":{"GET":{"action":"no_action"}}}]}`, "POST", "/a/ok", 403},
		{"method_actions reply answers", `{"white_list":[{"path":"/ok","method_actions":{"GET":{"action":"reply","code":207,"data":"hi"}}}]}`, "GET", "/a/ok", 207},
		{"method_actions with an unknown action refuse", `{"ignored":[{"path":"/ok","method_actions":{"GET":{"action":"weird"}}}]}`, "GET", "/a/ok", 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, seen := build(t, parse(t, versionDoc(c.ep, "")), env())
			r := stagetest.Do(a, seen, get(c.method, c.path))
			if r.Status != c.want {
				t.Fatalf("got %d %q, want %d", r.Status, r.Body, c.want)
			}
			if c.want == 403 && r.Body != stagetest.Error(version.MsgForbidden) {
				t.Fatalf("body %q", r.Body)
			}
		})
	}
}

func TestIgnoreEndpointCase(t *testing.T) {
	ep := `{"black_list":[{"path":"/Secret"}]}`
	t.Run("the version's ignore_endpoint_case", func(t *testing.T) {
		doc := strings.Replace(versionDoc(ep, ""), `"use_extended_paths":true`, `"use_extended_paths":true,"ignore_endpoint_case":true`, 1)
		a, seen := build(t, parse(t, doc), env())
		if r := stagetest.Do(a, seen, get("GET", "/a/SECRET")); r.Status != 403 {
			t.Fatalf("got %d", r.Status)
		}
	})
	t.Run("the gateway's ignore_endpoint_case", func(t *testing.T) {
		e := env()
		e.Config = &config.Config{IgnoreEndpointCase: true}
		a, seen := build(t, parse(t, versionDoc(ep, "")), e)
		if r := stagetest.Do(a, seen, get("GET", "/a/secret")); r.Status != 403 {
			t.Fatalf("got %d", r.Status)
		}
	})
}

func TestMockReply(t *testing.T) {
	ep := `{"mock_response":[
	  {"path":"/json","method":"GET","code":201,"body":"{}","headers":{"content-type":"application/json","X-A":"1"}},
	  {"path":"/nocode","method":"GET","body":"plain"}]}`
	a, seen := build(t, parse(t, versionDoc(ep, "")), env())
	r := stagetest.Do(a, seen, get("GET", "/a/json"))
	if r.Status != 201 || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-A") != "1" || r.Body != "{}" {
		t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
	}
	if r := stagetest.Do(a, seen, get("GET", "/a/nocode")); r.Status != 200 || r.Body != "plain" {
		t.Fatalf("a mock without a code: got %d %q", r.Status, r.Body)
	}
}

func TestLegacyPaths(t *testing.T) {
	doc := `{"api_id":"a","proxy":{"listen_path":"/a/","target_url":"http://up"},
	 "version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default","use_extended_paths":false,
	   "paths":{"ignored":["/open"],"black_list":["/bad"],"white_list":["/open","/fine"]},
	   "extended_paths":{"black_list":[{"path":"/fine"}]}}}}}`
	a, seen := build(t, parse(t, doc), env())
	for _, c := range []struct {
		path    string
		want    int
		ignored bool
	}{{"/a/open", 200, true}, {"/a/fine", 200, false}, {"/a/bad", 403, false}, {"/a/other", 403, false}} {
		r := stagetest.Do(a, seen, get("PATCH", c.path))
		if r.Status != c.want || r.Seen.Ignored != c.ignored {
			t.Fatalf("%s: got %d ignored=%v", c.path, r.Status, r.Seen.Ignored)
		}
	}
}

// versioned is vector 24's API, with v3 current and a default added by
// some tests.
func versioned(location, key, extra string) string {
	return `{"api_id":"v","slug":"svc","proxy":{"listen_path":"/v/","target_url":"http://up","strip_listen_path":true},
	 "definition":{"location":"` + location + `","key":"` + key + `"` + extra + `},
	 "version_data":{"not_versioned":false,"versions":{
	   "v1":{"name":"v1"},
	   "v2":{"name":"v2","expires":"2000-01-01 00:00"},
	   "v3":{"name":"v3","expires":"2030-01-02 03:04"},
	   "unnamed":{}}}}`
}

func TestHeaderVersions(t *testing.T) {
	a, seen := build(t, parse(t, versioned("header", "x-api-version", "")), env())
	cases := []struct {
		name, hdr string
		status    int
		body      string
	}{
		{"no version header and no default", "", 403, version.MsgNotFound},
		{"an unknown version", "v9", 403, version.MsgDoesNotExist},
		{"an expired version", "v2", 403, version.MsgVersionExpired},
		{"a known version", "v1", 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := stagetest.Do(a, seen, get("GET", "/v/x", "X-Api-Version", c.hdr))
			if r.Status != c.status || (c.body != "" && r.Body != stagetest.Error(c.body)) {
				t.Fatalf("got %d %q", r.Status, r.Body)
			}
		})
	}
	t.Run("the version is recorded and the header kept", func(t *testing.T) {
		r := stagetest.Do(a, seen, get("GET", "/v/x", "X-Api-Version", "v1"))
		if r.Seen.Version != "v1" || r.Seen.Header.Get("X-Api-Version") != "v1" {
			t.Fatalf("saw %+v", r.Seen)
		}
	})
	t.Run("a future expiry is announced", func(t *testing.T) {
		r := stagetest.Do(a, seen, get("GET", "/v/x", "X-Api-Version", "v3"))
		if r.Status != 200 || r.Header.Get(version.HeaderExpires) != "Wed, 02 Jan 2030 03:04:00 UTC" {
			t.Fatalf("got %d %v", r.Status, r.Header)
		}
	})
	t.Run("an entry without a name goes by its key", func(t *testing.T) {
		r := stagetest.Do(a, seen, get("GET", "/v/x", "X-Api-Version", "unnamed"))
		if r.Status != 200 || r.Seen.Version != "unnamed" {
			t.Fatalf("got %d %+v", r.Status, r.Seen)
		}
	})
}

func TestDefaultAndFallback(t *testing.T) {
	doc := strings.Replace(versioned("header", "x-api-version", `,"strip_versioning_data":true,"fallback_to_default":true`),
		`"not_versioned":false`, `"not_versioned":false,"default_version":"v1"`, 1)
	a, seen := build(t, parse(t, doc), env())
	r := stagetest.Do(a, seen, get("GET", "/v/x"))
	if r.Status != 200 || r.Seen.Version != "v1" {
		t.Fatalf("no header: got %d %+v", r.Status, r.Seen)
	}
	r = stagetest.Do(a, seen, get("GET", "/v/x", "X-Api-Version", "v9"))
	if r.Status != 200 || r.Seen.Version != "v1" || r.Seen.Header.Get("X-Api-Version") != "" {
		t.Fatalf("unknown version with fallback: got %d %+v", r.Status, r.Seen)
	}
}

func TestURLParamVersions(t *testing.T) {
	a, seen := build(t, parse(t, versioned("url-param", "ver", `,"strip_versioning_data":true`)), env())
	r := stagetest.Do(a, seen, get("GET", "/v/x?a=1&ver=v1&b=2&ver=v3"))
	if r.Status != 200 || r.Seen.Version != "v1" || r.Seen.RawQuery != "a=1&b=2" {
		t.Fatalf("got %d %+v", r.Status, r.Seen)
	}
	r = stagetest.Do(a, seen, get("GET", "/v/x?ver=v%31"))
	if r.Status != 200 || r.Seen.Version != "v1" || r.Seen.RawQuery != "" {
		t.Fatalf("escaped: got %d %+v", r.Status, r.Seen)
	}
	if r := stagetest.Do(a, seen, get("GET", "/v/x?other=v1")); r.Status != 403 || r.Body != stagetest.Error(version.MsgNotFound) {
		t.Fatalf("absent: got %d %q", r.Status, r.Body)
	}
}

func TestURLVersions(t *testing.T) {
	t.Run("the first segment after the listen path, stripped", func(t *testing.T) {
		a, seen := build(t, parse(t, versioned("url", "", `,"strip_versioning_data":true`)), env())
		r := stagetest.Do(a, seen, get("GET", "/v/v1/users/7?q=1"))
		if r.Status != 200 || r.Seen.Version != "v1" || r.Seen.Path != "/v/users/7" {
			t.Fatalf("got %d %+v", r.Status, r.Seen)
		}
		if r := stagetest.Do(a, seen, get("GET", "/v/v9/users")); r.Status != 403 {
			t.Fatalf("unknown: got %d", r.Status)
		}
	})
	t.Run("the slug is skipped", func(t *testing.T) {
		a, seen := build(t, parse(t, versioned("url", "", `,"strip_path":true`)), env())
		r := stagetest.Do(a, seen, get("GET", "/v/svc/v1/users"))
		if r.Status != 200 || r.Seen.Version != "v1" || r.Seen.Path != "/v/svc/users" {
			t.Fatalf("got %d %+v", r.Status, r.Seen)
		}
	})
	t.Run("without stripping the path stays", func(t *testing.T) {
		a, seen := build(t, parse(t, versioned("url", "", "")), env())
		r := stagetest.Do(a, seen, get("GET", "/v/v1/users"))
		if r.Status != 200 || r.Seen.Path != "/v/v1/users" {
			t.Fatalf("got %d %+v", r.Status, r.Seen)
		}
	})
}

func TestAPIExpiry(t *testing.T) {
	cases := []struct {
		expiration string
		status     int
		header     string
	}{
		{"2024-05-31 23:59", 403, ""},
		{"2024-06-01 12:00", 403, ""}, // expires at that minute
		{"2024-06-01 12:01", 200, "Sat, 01 Jun 2024 12:01:00 UTC"},
		{"-1", 200, ""},
		{"soon", 403, ""}, // an unparseable date disallows, as in Tyk
	}
	for _, c := range cases {
		t.Run(c.expiration, func(t *testing.T) {
			a, seen := build(t, parse(t, versionDoc(`{}`, `,"expiration":"`+c.expiration+`"`)), env())
			r := stagetest.Do(a, seen, get("GET", "/a/x"))
			if r.Status != c.status || r.Header.Get(version.HeaderExpires) != c.header {
				t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
			}
			if c.status == 403 && r.Body != stagetest.Error(version.MsgAPIExpired) {
				t.Fatalf("body %q", r.Body)
			}
		})
	}
}

func TestNotConfigured(t *testing.T) {
	for name, doc := range map[string]string{
		"no rules":    versionDoc(`{}`, ""),
		"no versions": `{"api_id":"a","proxy":{"listen_path":"/a/"},"version_data":{"not_versioned":true}}`,
		"only rules the version check does not apply": versionDoc(`{"hard_timeouts":[{"path":"/x","method":"GET","timeout":1}]}`, ""),
	} {
		st, err := version.New(parse(t, doc), env())
		if err != nil || st != nil {
			t.Fatalf("%s: got %v, %v", name, st, err)
		}
	}
}

func TestBadPattern(t *testing.T) {
	_, err := version.New(parse(t, versionDoc(`{"black_list":[{"path":"/x(("}]}`, "")), env())
	if err == nil || !strings.Contains(err.Error(), "/x((") {
		t.Fatalf("got %v", err)
	}
}

// children is a base API with child versions, served through a fake
// table of APIs.
func TestBaseAndChild(t *testing.T) {
	ew, _ := chain.NewErrorWriter("")
	child := &chain.API{Def: apidef.Definition{APIID: "child"}, Errors: ew}
	var childSaw string
	child.Upstream = upstreamFunc(func(w http.ResponseWriter, r *http.Request, _ *chain.Request) {
		childSaw = r.URL.Path + " " + r.Header.Get("X-Api-Version")
		w.WriteHeader(299)
	})
	e := env()
	e.Chain = func(id string) (*chain.API, bool) {
		switch id {
		case "child":
			return child, true
		case "base":
			return &chain.API{Def: apidef.Definition{APIID: "base"}}, true
		}
		return nil, false
	}
	def := func(extra string) *apidef.Definition {
		return parse(t, `{"api_id":"base","proxy":{"listen_path":"/base/","target_url":"http://up","strip_listen_path":true},
		 "definition":{"enabled":true,"name":"v1","location":"header","key":"x-api-version","strip_versioning_data":true,
		   "versions":{"v1":"base","v2":"child","v3":"gone"}`+extra+`},
		 "version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default"}}}}`)
	}
	a, seen := build(t, def(""), e)
	t.Run("a child version is served by the child API, listen path stripped", func(t *testing.T) {
		childSaw = ""
		r := stagetest.Do(a, seen, get("GET", "/base/x", "X-Api-Version", "v2"))
		if r.Status != 299 || childSaw != "/x " || r.Reached {
			t.Fatalf("got %d, child saw %q", r.Status, childSaw)
		}
	})
	t.Run("the base version and self stay with the base", func(t *testing.T) {
		for _, v := range []string{"v1", "self"} {
			if r := stagetest.Do(a, seen, get("GET", "/base/x", "X-Api-Version", v)); r.Status != 200 || !r.Reached {
				t.Fatalf("%s: got %d", v, r.Status)
			}
		}
	})
	t.Run("an unknown or unloaded version is 404", func(t *testing.T) {
		for _, v := range []string{"v9", "v3"} {
			r := stagetest.Do(a, seen, get("GET", "/base/x", "X-Api-Version", v))
			if r.Status != 404 || r.Body != stagetest.Error(version.MsgDoesNotExist) {
				t.Fatalf("%s: got %d %q", v, r.Status, r.Body)
			}
		}
	})
	t.Run("no version and no default is 403", func(t *testing.T) {
		r := stagetest.Do(a, seen, get("GET", "/base/x"))
		if r.Status != 403 || r.Body != stagetest.Error(version.MsgNotFound) {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
	t.Run("the default version applies when none is sent", func(t *testing.T) {
		a, seen := build(t, def(`,"default":"v2"`), e)
		childSaw = ""
		if r := stagetest.Do(a, seen, get("GET", "/base/y")); r.Status != 299 || childSaw != "/y " {
			t.Fatalf("got %d, child saw %q", r.Status, childSaw)
		}
	})
	t.Run("fallback_to_default sends unknown versions to the default", func(t *testing.T) {
		a, seen := build(t, def(`,"default":"v2","fallback_to_default":true`), e)
		childSaw = ""
		if r := stagetest.Do(a, seen, get("GET", "/base/z", "X-Api-Version", "v9")); r.Status != 299 || childSaw != "/z " {
			t.Fatalf("got %d, child saw %q", r.Status, childSaw)
		}
		a, seen = build(t, def(`,"default":"v1","fallback_to_default":true`), e)
		if r := stagetest.Do(a, seen, get("GET", "/base/z", "X-Api-Version", "v9")); r.Status != 200 || !r.Reached {
			t.Fatalf("fallback to the base: got %d", r.Status)
		}
	})
}

type upstreamFunc func(w http.ResponseWriter, r *http.Request, req *chain.Request)

func (f upstreamFunc) Serve(w http.ResponseWriter, r *http.Request, req *chain.Request) { f(w, r, req) }

// The definition fields the stage reads round-trip through JSON (a guard
// against renamed tags).
func TestDefinitionFields(t *testing.T) {
	d := parse(t, keyed)
	b, _ := json.Marshal(d.VersionData.Versions["Default"].ExtendedPaths.MockResponse)
	if !strings.Contains(string(b), `"code":202`) {
		t.Fatalf("mock_response decoded as %s", b)
	}
}
