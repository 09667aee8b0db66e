package jsvm_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

// The examples in examples/js, each loaded from its own API definition
// (script paths made absolute, upstreams pointed at test servers) and
// driven through a running gateway.

// exampleAPI posts examples/js/apps/<file> after edit has adjusted it.
func exampleAPI(t *testing.T, j *js, file string, edit func(def map[string]any)) {
	t.Helper()
	root, err := filepath.Abs("../../examples/js")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "apps", file))
	if err != nil {
		t.Fatal(err)
	}
	// Paths in the definitions are relative to the repository root.
	raw = []byte(strings.ReplaceAll(string(raw), `"examples/js/`, `"`+root+`/`))
	var def map[string]any
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	def["proxy"].(map[string]any)["target_url"] = j.up
	if edit != nil {
		edit(def)
	}
	b, _ := json.Marshal(def)
	if r := j.Do(t, "POST", "/tyk/apis", string(b)); r.Status != 200 {
		t.Fatalf("create API: %d %s", r.Status, r.Body)
	}
	if r := j.Do(t, "GET", "/tyk/reload?block=true", ""); r.Status != 200 {
		t.Fatalf("reload: %d %s", r.Status, r.Body)
	}
}

func TestExampleHeaderInjection(t *testing.T) {
	j := start(t)
	exampleAPI(t, j, "js-headers.json", nil)
	e := gatewaytest.EchoOf(t, j.call(t, "GET", "/js-headers/items?x=1", "", "X-Internal-Debug", "1"))
	if e.Header.Get("X-Tenant") != "acme" || e.Header.Get("X-Gateway") != "tollgate" ||
		!strings.HasPrefix(e.Header.Get("X-Request-Id"), "req-") || e.Header.Get("X-Internal-Debug") != "" {
		t.Fatalf("upstream headers %v", e.Header)
	}
	if e := gatewaytest.EchoOf(t, j.call(t, "GET", "/js-headers/items", "", "X-Request-Id", "mine")); e.Header.Get("X-Request-Id") != "mine" {
		t.Fatalf("a client's request ID is kept: %v", e.Header)
	}
}

func TestExampleTokenAuth(t *testing.T) {
	j := start(t)
	exampleAPI(t, j, "js-auth.json", nil)
	for _, c := range []struct{ name, path, header, msg string }{
		{"no key", "/js-auth/x", "", "API key missing"},
		{"unknown key", "/js-auth/x?api_key=nope", "", "API key not recognised"},
	} {
		t.Run(c.name+" is 401", func(t *testing.T) {
			if r := j.call(t, "GET", c.path, "", "X-Api-Key", c.header); r.Status != 401 || r.Body != gatewaytest.TykError(c.msg) {
				t.Fatalf("got %d %q", r.Status, r.Body)
			}
		})
	}
	t.Run("a key in the query", func(t *testing.T) {
		e := gatewaytest.EchoOf(t, j.call(t, "GET", "/js-auth/x?api_key=t0k3n-alice&page=2", ""))
		if e.Query != "page=2" || e.Header.Get("X-Authenticated-User") != "alice" {
			t.Fatalf("upstream saw %q %v", e.Query, e.Header)
		}
		raw, err := j.Store.Get(context.Background(), "apikey-user-alice")
		if err != nil || !strings.Contains(string(raw), `"rate":50`) {
			t.Fatalf("session stored under user-alice: %s %v", raw, err)
		}
	})
	t.Run("a key in the header", func(t *testing.T) {
		e := gatewaytest.EchoOf(t, j.call(t, "GET", "/js-auth/x", "", "X-Api-Key", "t0k3n-bob"))
		if e.Header.Get("X-Api-Key") != "" || e.Header.Get("X-Authenticated-User") != "bob" {
			t.Fatalf("upstream headers %v", e.Header)
		}
	})
}

func TestExampleAggregatingVirtualEndpoint(t *testing.T) {
	var ordersDown atomic.Bool
	services := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(r.URL.Path, "/users/"):
			_ = json.NewEncoder(w).Encode(map[string]string{"name": strings.TrimPrefix(r.URL.Path, "/users/"), "plan": "gold"})
		case r.URL.Path == "/orders" && !ordersDown.Load():
			_ = json.NewEncoder(w).Encode([]map[string]any{{"id": 1, "user": r.URL.Query().Get("user")}, {"id": 2, "user": r.URL.Query().Get("user")}})
		default:
			http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
		}
	}))
	defer services.Close()
	j := start(t)
	exampleAPI(t, j, "js-aggregate.json", func(def map[string]any) {
		def["config_data"] = map[string]any{"users_service": services.URL, "orders_service": services.URL}
	})
	r := j.call(t, "GET", "/js-aggregate/profile/alice", "")
	want := `{"user":"alice","profile":{"name":"alice","plan":"gold"},"orders":[{"id":1,"user":"alice"},{"id":2,"user":"alice"}],"complete":true}`
	if r.Status != 200 || r.Body != want {
		t.Fatalf("got %d %q", r.Status, r.Body)
	}
	if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Aggregated-From") != "users,orders" || r.Header.Get("X-Upstream") != "" {
		t.Fatalf("headers %v", r.Header)
	}
	ordersDown.Store(true)
	r = j.call(t, "GET", "/js-aggregate/profile/bob", "")
	if r.Status != 502 || !strings.Contains(r.Body, `"complete":false`) {
		t.Fatalf("with the orders service down: %d %q", r.Status, r.Body)
	}
	t.Run("other paths go to the upstream", func(t *testing.T) {
		gatewaytest.EchoOf(t, j.call(t, "GET", "/js-aggregate/other", ""))
	})
}
