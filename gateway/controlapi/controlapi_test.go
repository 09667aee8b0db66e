package controlapi_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/gateway/storage/redistest"
)

// onBothStores runs fn against a gateway on the embedded store and one on a
// real Redis.
func onBothStores(t *testing.T, configure func(*config.Config), fn func(t *testing.T, g *gatewaytest.Gateway)) {
	t.Run("embedded", func(t *testing.T) {
		fn(t, gatewaytest.Start(t, gatewaytest.Options{Configure: configure}))
	})
	t.Run("redis", func(t *testing.T) {
		fn(t, gatewaytest.Start(t, gatewaytest.Options{Configure: configure, Redis: redistest.Start(t)}))
	})
}

// expect checks status and exact body of a response.
func expect(t *testing.T, r gatewaytest.Response, status int, body string) {
	t.Helper()
	if r.Status != status || r.Body != body {
		t.Fatalf("got %d %q\nwant %d %q", r.Status, r.Body, status, body)
	}
}

// expectStatus checks a Tyk status body.
func expectStatus(t *testing.T, r gatewaytest.Response, status int, msg string) {
	t.Helper()
	want, _ := json.Marshal(struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}{"error", msg})
	expect(t, r, status, string(want)+"\n")
}

func decode[T any](t *testing.T, r gatewaytest.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.Body), &v); err != nil {
		t.Fatalf("body %q is not the expected JSON: %v", r.Body, err)
	}
	return v
}

const keyedAccess = `"access_rights":{"keyed":{"api_id":"keyed","versions":["Default"]}}`

func TestAdministrativeAccess(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	denied := "Attempted administrative access with invalid or missing key!"
	tests := []struct {
		name   string
		header []string
	}{
		{"missing secret is refused with 403", []string{"X-Tyk-Authorization", ""}},
		{"wrong secret is refused with 403", []string{"X-Tyk-Authorization", "nope"}},
		{"secret with extra byte is refused", []string{"X-Tyk-Authorization", gatewaytest.Secret + "x"}},
		{"secret prefix is refused", []string{"X-Tyk-Authorization", gatewaytest.Secret[:4]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectStatus(t, g.Do(t, "GET", "/tyk/keys", "", tt.header...), 403, denied)
			expectStatus(t, g.Do(t, "GET", "/tyk/no-such-route", "", tt.header...), 403, denied)
		})
	}
	t.Run("unknown route is a plain-text 404", func(t *testing.T) {
		expect(t, g.Do(t, "GET", "/tyk/nothing", ""), 404, "404 page not found\n")
	})
	t.Run("known path with wrong method is 405", func(t *testing.T) {
		expectStatus(t, g.Do(t, "PATCH", "/tyk/keys", ""), 405, "Method not supported")
	})
	t.Run("trailing slashes do not matter", func(t *testing.T) {
		expect(t, g.Do(t, "GET", "/tyk/keys/", ""), 200, `{"keys":[]}`+"\n")
		expect(t, g.Do(t, "GET", "/tyk/reload", ""), 200, `{"status":"ok","message":""}`+"\n")
	})
	t.Run("replies are application/json without charset", func(t *testing.T) {
		if ct := g.Do(t, "GET", "/tyk/keys", "").Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q", ct)
		}
	})
}

func TestEmptySecretLocksTheControlAPI(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) { c.Secret = "" }})
	expectStatus(t, g.Do(t, "GET", "/tyk/keys", "", "X-Tyk-Authorization", ""), 403,
		"Attempted administrative access with invalid or missing key!")
}

func TestHealth(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		r := gatewaytest.Do(t, g.URL, "GET", "/hello", "")
		h := decode[struct {
			Status  string
			Version string
			Details map[string]struct {
				Status        string
				ComponentType string
			}
		}](t, r)
		if r.Status != 200 || h.Status != "pass" || h.Version != "v5.4.0" || len(h.Details) != 1 {
			t.Fatalf("health %d %s", r.Status, r.Body)
		}
		for name, d := range h.Details {
			if d.Status != "pass" || d.ComponentType != "datastore" {
				t.Fatalf("component %s: %+v", name, d)
			}
		}
		expectStatus(t, gatewaytest.Do(t, g.URL, "POST", "/hello", ""), 405, "Method Not Allowed")
		expect(t, g.Do(t, "GET", "/tyk/hello", ""), 404, "404 page not found\n")
	})
}

var mintedMurmur64 = regexp.MustCompile(`^\{"org":"org1","id":"[0-9a-f]{32}","h":"murmur64"\}$`)

var legacyKeyID = regexp.MustCompile(`^org1[0-9a-f]{32}$`)

func TestKeyLifecycle(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		t.Run("create without access rights is refused", func(t *testing.T) {
			expectStatus(t, g.Do(t, "POST", "/tyk/keys/create", `{"org_id":"org1"}`), 400,
				"Failed to create key, keys must have at least one Access Rights record set.")
		})
		t.Run("create with an unreadable body is refused with 400", func(t *testing.T) {
			expectStatus(t, g.Do(t, "POST", "/tyk/keys/create", `notjson`), 400, "Unmarshalling failed")
		})
		t.Run("create with a missing sole policy names it", func(t *testing.T) {
			expectStatus(t, g.Do(t, "POST", "/tyk/keys/create", `{"org_id":"org1","apply_policies":["nope"]}`), 400,
				`Failed to create key - policy not found: "nope"`)
		})
		var id string
		t.Run("create mints org + 32 hex", func(t *testing.T) {
			r := g.Do(t, "POST", "/tyk/keys/create", `{"org_id":"org1",`+keyedAccess+`}`)
			m := decode[map[string]string](t, r)
			id = m["key"]
			if r.Status != 200 || !legacyKeyID.MatchString(id) || m["action"] != "added" || m["status"] != "ok" {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
			if _, hashed := m["key_hash"]; hashed {
				t.Fatal("key_hash sent although hashing is off")
			}
		})
		t.Run("get returns every session field", func(t *testing.T) {
			r := g.Do(t, "GET", "/tyk/keys/"+id, "")
			s := decode[map[string]any](t, r)
			for _, f := range []string{"last_check", "allowance", "rate", "per", "quota_max", "quota_renews",
				"access_rights", "org_id", "basic_auth_data", "apply_policies", "meta_data", "tags",
				"last_updated", "date_created", "smoothing", "session_lifetime"} {
				if _, ok := s[f]; !ok {
					t.Errorf("field %s missing from %s", f, r.Body)
				}
			}
		})
		t.Run("custom key is stored under org prefix", func(t *testing.T) {
			expect(t, g.Do(t, "POST", "/tyk/keys/mycustomkey", `{"org_id":"org1",`+keyedAccess+`}`), 200,
				`{"key":"org1mycustomkey","status":"ok","action":"added"}`+"\n")
			expectStatus(t, g.Do(t, "GET", "/tyk/keys/mycustomkey", ""), 404, "Key not found")
			if r := g.Do(t, "GET", "/tyk/keys/mycustomkey?org_id=org1", ""); r.Status != 200 {
				t.Fatalf("with org_id: %d %s", r.Status, r.Body)
			}
		})
		t.Run("list shows both keys", func(t *testing.T) {
			keys := decode[map[string][]string](t, g.Do(t, "GET", "/tyk/keys", ""))["keys"]
			if len(keys) != 2 {
				t.Fatalf("keys %v", keys)
			}
			filtered := decode[map[string][]string](t, g.Do(t, "GET", "/tyk/keys?filter=org1my", ""))["keys"]
			if len(filtered) != 1 || filtered[0] != "org1mycustomkey" {
				t.Fatalf("filtered %v", filtered)
			}
		})
		t.Run("update of a missing key is 404, empty body 400", func(t *testing.T) {
			expectStatus(t, g.Do(t, "PUT", "/tyk/keys/nope", `{"org_id":"org1",`+keyedAccess+`}`), 404, "Key is not found")
			expectStatus(t, g.Do(t, "PUT", "/tyk/keys/"+id, ""), 400, "Request malformed")
		})
		t.Run("update replaces the session and keeps date_created", func(t *testing.T) {
			before := decode[map[string]any](t, g.Do(t, "GET", "/tyk/keys/"+id, ""))
			expect(t, g.Do(t, "PUT", "/tyk/keys/"+id, `{"org_id":"org1","is_inactive":true,"alias":"renamed",`+keyedAccess+`}`), 200,
				`{"key":"`+id+`","status":"ok","action":"modified"}`+"\n")
			after := decode[map[string]any](t, g.Do(t, "GET", "/tyk/keys/"+id, ""))
			if after["is_inactive"] != true || after["alias"] != "renamed" || after["date_created"] != before["date_created"] {
				t.Fatalf("after update: %v", after)
			}
		})
		t.Run("delete needs org_id for a short custom name", func(t *testing.T) {
			expectStatus(t, g.Do(t, "DELETE", "/tyk/keys/mycustomkey", ""), 404, "There is no such key found")
			expect(t, g.Do(t, "DELETE", "/tyk/keys/mycustomkey?org_id=org1", ""), 200,
				`{"key":"org1mycustomkey","status":"ok","action":"deleted"}`+"\n")
			expectStatus(t, g.Do(t, "GET", "/tyk/keys/mycustomkey?org_id=org1", ""), 404, "Key not found")
		})
		t.Run("hashed lookup without hashing is refused", func(t *testing.T) {
			expectStatus(t, g.Do(t, "GET", "/tyk/keys/"+id+"?hashed=true", ""), 400,
				"Key requested by hash but key hashing is not enabled")
		})
	})
}

func TestHashedKeys(t *testing.T) {
	hashing := func(c *config.Config) { c.HashKeys = true; c.HashKeyFunction = "murmur64" }
	onBothStores(t, hashing, func(t *testing.T, g *gatewaytest.Gateway) {
		r := g.Do(t, "POST", "/tyk/keys/create", `{"org_id":"org1",`+keyedAccess+`}`)
		m := decode[map[string]string](t, r)
		raw, _ := base64.StdEncoding.DecodeString(m["key"])
		if r.Status != 200 || !mintedMurmur64.Match(raw) || len(m["key_hash"]) != 16 {
			t.Fatalf("create: %d %s (decoded %s)", r.Status, r.Body, raw)
		}
		expectStatus(t, g.Do(t, "GET", "/tyk/keys", ""), 404,
			"Hashed key listing is disabled in config (enable_hashed_keys_listing)")
		if r := g.Do(t, "GET", "/tyk/keys/"+m["key_hash"]+"?hashed=true", ""); r.Status != 200 {
			t.Fatalf("by hash: %d %s", r.Status, r.Body)
		}
		if r := g.Do(t, "GET", "/tyk/keys/"+m["key"], ""); r.Status != 200 {
			t.Fatalf("by key: %d %s", r.Status, r.Body)
		}
	})
}

func TestPolicies(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		t.Run("create is visible at once and persisted as a file", func(t *testing.T) {
			expect(t, g.Do(t, "POST", "/tyk/policies", `{"id":"pol2","org_id":"org1","rate":10,"per":1}`), 200,
				`{"key":"pol2","status":"ok","action":"added"}`+"\n")
			p := decode[map[string]any](t, g.Do(t, "GET", "/tyk/policies/pol2", ""))
			if p["id"] != "pol2" || p["rate"] != 10.0 {
				t.Fatalf("policy %v", p)
			}
			if _, err := os.Stat(filepath.Join(g.Dir, "policies", "pol2.json")); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("update with another id is refused", func(t *testing.T) {
			expectStatus(t, g.Do(t, "PUT", "/tyk/policies/pol2", `{"id":"other"}`), 400,
				"Request ID does not match that in policy! For Update operations these must match.")
		})
		t.Run("empty id is refused", func(t *testing.T) {
			if r := g.Do(t, "POST", "/tyk/policies", `{"org_id":"org1"}`); r.Status != 400 {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
		})
		t.Run("keys take their limits from the policy", func(t *testing.T) {
			g.Do(t, "POST", "/tyk/policies", `{"id":"gold","org_id":"org1","rate":50,"per":1,"quota_max":100,"quota_renewal_rate":3600,`+keyedAccess+`}`)
			r := g.Do(t, "POST", "/tyk/keys", `{"org_id":"org1","apply_policies":["gold"]}`)
			id := decode[map[string]string](t, r)["key"]
			s := decode[map[string]any](t, g.Do(t, "GET", "/tyk/keys/"+id, ""))
			if s["rate"] != 50.0 || s["quota_max"] != 100.0 {
				t.Fatalf("session %v", s)
			}
		})
		t.Run("delete twice: the second is 404", func(t *testing.T) {
			expect(t, g.Do(t, "DELETE", "/tyk/policies/pol2", ""), 200, `{"key":"pol2","status":"ok","action":"deleted"}`+"\n")
			expectStatus(t, g.Do(t, "DELETE", "/tyk/policies/pol2", ""), 404, "Delete failed")
			expectStatus(t, g.Do(t, "GET", "/tyk/policies/pol2", ""), 404, "Policy not found")
		})
	})
}

func TestAPIs(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		def := `{"api_id":"keyed","name":"Keyed","org_id":"org1","proxy":{"listen_path":"/keyed/","target_url":"http://127.0.0.1:9","strip_listen_path":true},"custom_field":{"kept":true}}`
		t.Run("create writes app_path/{api_id}.json and keeps unknown fields", func(t *testing.T) {
			expect(t, g.Do(t, "POST", "/tyk/apis", def), 200, `{"key":"keyed","status":"ok","action":"added"}`+"\n")
			got := decode[map[string]any](t, g.Do(t, "GET", "/tyk/apis/keyed", ""))
			if got["custom_field"] == nil {
				t.Fatalf("unknown field lost: %v", got)
			}
			if _, err := os.Stat(filepath.Join(g.Dir, "apps", "keyed.json")); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("invalid IP is a validation failure", func(t *testing.T) {
			expectStatus(t, g.Do(t, "POST", "/tyk/apis", `{"api_id":"bad","allowed_ips":["x.y"],"proxy":{"listen_path":"/b/"}}`), 400,
				`Validation of API Definition failed. Reason: invalid IP/CIDR "x.y".`)
		})
		t.Run("an id that leaves the folder is refused", func(t *testing.T) {
			for _, id := range []string{"../evil", "a/b", ".hidden"} {
				body, _ := json.Marshal(map[string]any{"api_id": id, "proxy": map[string]string{"listen_path": "/x/"}})
				if r := g.Do(t, "POST", "/tyk/apis", string(body)); r.Status != 400 {
					t.Fatalf("%q: %d %s", id, r.Status, r.Body)
				}
			}
		})
		t.Run("missing api_id is generated", func(t *testing.T) {
			r := g.Do(t, "POST", "/tyk/apis", `{"name":"gen","proxy":{"listen_path":"/gen/"}}`)
			if id := decode[map[string]string](t, r)["key"]; r.Status != 200 || len(id) != 32 {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
		})
		t.Run("update needs matching ids and an existing API", func(t *testing.T) {
			expectStatus(t, g.Do(t, "PUT", "/tyk/apis/nope", def), 404, "API not found")
			expectStatus(t, g.Do(t, "PUT", "/tyk/apis/keyed", `{"api_id":"other"}`), 400,
				"Request APIID does not match that in Definition! For Update operations these must match.")
			expect(t, g.Do(t, "PUT", "/tyk/apis/keyed", strings.Replace(def, `"Keyed"`, `"Renamed"`, 1)), 200,
				`{"key":"keyed","status":"ok","action":"modified"}`+"\n")
			if got := decode[map[string]any](t, g.Do(t, "GET", "/tyk/apis/keyed", "")); got["name"] != "Renamed" {
				t.Fatalf("update not visible: %v", got)
			}
		})
		t.Run("versions of a base API", func(t *testing.T) {
			child := `{"api_id":"keyed-v2","name":"Keyed v2","org_id":"org1","proxy":{"listen_path":"/keyed-v2/"}}`
			if r := g.Do(t, "POST", "/tyk/apis?base_api_id=keyed&new_version_name=v2&set_default=true", child); r.Status != 200 {
				t.Fatalf("child: %d %s", r.Status, r.Body)
			}
			v := decode[struct {
				APIs []struct {
					ID          string `json:"id"`
					VersionName string `json:"versionName"`
					IsDefault   bool   `json:"isDefaultVersion"`
				} `json:"apis"`
			}](t, g.Do(t, "GET", "/tyk/apis/keyed/versions", ""))
			if len(v.APIs) != 2 || v.APIs[1].ID != "keyed-v2" || !v.APIs[1].IsDefault {
				t.Fatalf("versions %+v", v)
			}
		})
		t.Run("delete removes the file", func(t *testing.T) {
			expect(t, g.Do(t, "DELETE", "/tyk/apis/keyed", ""), 200, `{"key":"keyed","status":"ok","action":"deleted"}`+"\n")
			expectStatus(t, g.Do(t, "GET", "/tyk/apis/keyed", ""), 404, "API not found")
			if _, err := os.Stat(filepath.Join(g.Dir, "apps", "keyed.json")); !os.IsNotExist(err) {
				t.Fatalf("file still there: %v", err)
			}
		})
	})
}

func TestOrgKeys(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		expectStatus(t, g.Do(t, "GET", "/tyk/org/keys/org1", ""), 404, "Org not found")
		expect(t, g.Do(t, "POST", "/tyk/org/keys/org1", `{"org_id":"org1","quota_max":10}`), 200,
			`{"key":"org1","status":"ok","action":"added"}`+"\n")
		expect(t, g.Do(t, "PUT", "/tyk/org/keys/org1?reset_quota=1", `{"org_id":"org1","quota_max":20}`), 200,
			`{"key":"org1","status":"ok","action":"modified"}`+"\n")
		if s := decode[map[string]any](t, g.Do(t, "GET", "/tyk/org/keys/org1", "")); s["quota_max"] != 20.0 {
			t.Fatalf("org session %v", s)
		}
		expect(t, g.Do(t, "GET", "/tyk/org/keys", ""), 200, `{"keys":["org1"]}`+"\n")
		expect(t, g.Do(t, "DELETE", "/tyk/org/keys/org1", ""), 200, `{"key":"org1","status":"ok","action":"deleted"}`+"\n")
		expectStatus(t, g.Do(t, "DELETE", "/tyk/org/keys/org1", ""), 400, "Failed to remove the key")
	})
}

func TestReload(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		// A policy written straight to disk appears after a blocking reload.
		if err := os.WriteFile(filepath.Join(g.Dir, "policies", "disk.json"), []byte(`{"id":"disk"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		expectStatus(t, g.Do(t, "GET", "/tyk/policies/disk", ""), 404, "Policy not found")
		expect(t, g.Do(t, "GET", "/tyk/reload/?block=true", ""), 200, `{"status":"ok","message":""}`+"\n")
		if r := g.Do(t, "GET", "/tyk/policies/disk", ""); r.Status != 200 {
			t.Fatalf("after reload: %d %s", r.Status, r.Body)
		}
		expectStatus(t, g.Do(t, "POST", "/tyk/reload", ""), 405, "Method not supported")
		expect(t, g.Do(t, "GET", "/tyk/reload/group", ""), 200, `{"status":"ok","message":""}`+"\n")
	})
}

func TestSchema(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	expect(t, g.Do(t, "GET", "/tyk/schema", ""), 400, `{"status":"Failed","message":"Should provide a value for parameter oasVersion"}`+"\n")
	expect(t, g.Do(t, "GET", "/tyk/schema?oasVersion=5.0.0", ""), 404, `{"status":"Failed","message":"Schema not found for version 5.0.0"}`+"\n")
	r := g.Do(t, "GET", "/tyk/schema?oasVersion=3.0.3", "")
	s := decode[map[string]string](t, r)
	if r.Status != 200 || s["status"] != "Success" || !json.Valid([]byte(s["schema"])) {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
}

func TestLaterIssuesAnswer501(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	for _, c := range []struct{ method, path string }{
		{"GET", "/tyk/certs?org_id=org1"}, {"GET", "/tyk/apis/oas"}, {"POST", "/tyk/oauth/clients/create"},
	} {
		r := g.Do(t, c.method, c.path, "")
		m := decode[map[string]string](t, r)
		if r.Status != 501 || m["status"] != "error" || !strings.Contains(m["message"], "not implemented") {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	g := gatewaytest.Start(t, gatewaytest.Options{Dir: dir})
	id := decode[map[string]string](t, g.Do(t, "POST", "/tyk/keys/create", `{"org_id":"org1",`+keyedAccess+`}`))["key"]
	g.Do(t, "POST", "/tyk/policies", `{"id":"p1"}`)
	g.Do(t, "POST", "/tyk/apis", `{"api_id":"a1","proxy":{"listen_path":"/a1/"}}`)
	g.Do(t, "POST", "/tyk/org/keys/org1", `{"org_id":"org1"}`)
	g.Stop()

	g2 := gatewaytest.Start(t, gatewaytest.Options{Dir: dir})
	for _, p := range []string{"/tyk/keys/" + id, "/tyk/policies/p1", "/tyk/apis/a1", "/tyk/org/keys/org1"} {
		if r := g2.Do(t, "GET", p, ""); r.Status != 200 {
			t.Errorf("after restart GET %s: %d %s", p, r.Status, r.Body)
		}
	}
}

func TestValidationRejectsWrongTypesAndKeepsData(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	expect(t, g.Do(t, "POST", "/tyk/keys/keep", `{"org_id":"",`+keyedAccess+`}`), 200, `{"key":"keep","status":"ok","action":"added"}`+"\n")
	before := g.Do(t, "GET", "/tyk/keys/keep", "").Body
	for _, body := range []string{`{"quota_max":"x"}`, `{"access_rights":[]}`, `{"rate":true}`, `[]`, `"s"`, `{"tags":"a"}`} {
		r := g.Do(t, "PUT", "/tyk/keys/keep", body)
		if r.Status != 400 {
			t.Errorf("PUT %s: %d %s", body, r.Status, r.Body)
		}
	}
	if after := g.Do(t, "GET", "/tyk/keys/keep", "").Body; after != before {
		t.Fatalf("key changed by rejected writes:\n%s\n%s", before, after)
	}
	t.Run("null lists and free-form metadata are accepted", func(t *testing.T) {
		r := g.Do(t, "PUT", "/tyk/keys/keep", `{"tags":null,"smoothing":null,"apply_policies":null,"meta_data":{"user":"bob","n":1},`+keyedAccess+`}`)
		if r.Status != 200 {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
	})
}

func TestDashboardManagedNodeRefusesDefinitionWrites(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) { c.UseDBAppConfigs = true }})
	msg := "Due to enabled use_db_app_configs, please use the Dashboard API"
	expectStatus(t, g.Do(t, "POST", "/tyk/apis", `{"api_id":"a"}`), 500, msg)
	expectStatus(t, g.Do(t, "PUT", "/tyk/apis/a", `{"api_id":"a"}`), 500, msg)
}
