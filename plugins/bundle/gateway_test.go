package bundle_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/plugins/bundle"
)

// api is a keyless API definition proxying to target, with a bundle when
// bundleName is set.
func api(id, target, bundleName string) string {
	return `{"api_id":"` + id + `","name":"` + id + `","org_id":"org1","use_keyless":true,"active":true,
		"custom_middleware_bundle":"` + bundleName + `",
		"proxy":{"listen_path":"/` + id + `/","target_url":"` + target + `","strip_listen_path":true},
		"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default"}}}}`
}

func addAPIs(t *testing.T, g *gatewaytest.Gateway, defs ...string) {
	t.Helper()
	for _, d := range defs {
		if r := g.Do(t, "POST", "/tyk/apis", d); r.Status != 200 {
			t.Fatalf("create API: %d %s", r.Status, r.Body)
		}
	}
}

func reload(t *testing.T, g *gatewaytest.Gateway) {
	t.Helper()
	if r := g.Do(t, "GET", "/tyk/reload?block=true", ""); r.Status != 200 {
		t.Fatalf("reload: %d %s", r.Status, r.Body)
	}
}

type loadState struct {
	APIID  string `json:"api_id"`
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// state asks the Gateway API whether id is served.
func state(t *testing.T, g *gatewaytest.Gateway, id string) loadState {
	t.Helper()
	r := g.Do(t, "GET", "/tyk/apis/"+id+"/status", "")
	if r.Status != 200 {
		t.Fatalf("status of %s: %d %s", id, r.Status, r.Body)
	}
	var s loadState
	if err := json.Unmarshal([]byte(r.Body), &s); err != nil {
		t.Fatalf("status of %s: %v in %q", id, err, r.Body)
	}
	return s
}

// countingFiles serves dir and counts requests per path.
type countingFiles struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *countingFiles) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[path]
}

func serveCounting(t *testing.T, dir string) (string, *countingFiles) {
	t.Helper()
	c := &countingFiles{counts: map[string]int{}}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.counts[r.URL.Path]++
		c.mu.Unlock()
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, c
}

func TestGatewayLoadsOnlyVerifiedBundles(t *testing.T) {
	privA, pubA := keyPair(t)
	privB, _ := keyPair(t)
	served := t.TempDir()
	src := source(t, nil, nil)
	build(t, src, served, "good.zip", privA)
	build(t, src, served, "other-key.zip", privB)
	build(t, src, served, "unsigned.zip", "")
	rezip(t, build(t, src, served, "tampered.zip", privA), func(name string, data []byte) []byte {
		if name == "pre.js" {
			data[10] ^= 0x20
		}
		return data
	})
	base, files := serveCounting(t, served)
	up := gatewaytest.Upstream(t)
	logs := &gatewaytest.LogBuffer{}
	g := gatewaytest.Start(t, gatewaytest.Options{Log: logs, Configure: func(c *config.Config) {
		c.EnableBundleDownloader, c.BundleBaseURL, c.PublicKeyPath, c.EnableJSVM = true, base, pubA, true
	}})

	addAPIs(t, g, api("plain", up, ""), api("good", up, "good.zip"), api("tampered", up, "tampered.zip"),
		api("otherkey", up, "other-key.zip"), api("unsigned", up, "unsigned.zip"))
	if s := state(t, g, "good"); s.State != "pending" {
		t.Fatalf("before a reload: %+v, want pending", s)
	}
	reload(t, g)

	for _, tt := range []struct{ id, state, reason string }{
		{"plain", "loaded", ""},
		{"good", "loaded", ""},
		{"tampered", "failed", "invalid checksum"},
		{"otherkey", "failed", "crypto/rsa: verification error"},
		{"unsigned", "failed", "Bundle isn't signed"},
	} {
		t.Run(tt.id+" is "+tt.state, func(t *testing.T) {
			s := state(t, g, tt.id)
			if s.APIID != tt.id || s.State != tt.state || !strings.Contains(s.Reason, tt.reason) {
				t.Fatalf("got %+v, want %s with %q", s, tt.state, tt.reason)
			}
			r := gatewaytest.Do(t, g.URL, "GET", "/"+tt.id+"/x", "")
			if served := r.Status == 200 && r.Header.Get("X-Upstream") == "echo"; served != (tt.state == "loaded") {
				t.Fatalf("GET /%s/x: %d %q", tt.id, r.Status, r.Body)
			}
			if tt.id == "good" {
				var e gatewaytest.Echo
				if err := json.Unmarshal([]byte(r.Body), &e); err != nil || e.Header.Get("X-From-Bundle") != "yes" {
					t.Fatalf("the bundle's JavaScript pre hook did not run: %v %q", err, r.Body)
				}
			}
			if tt.state == "failed" && !strings.Contains(logs.String(), "api_id="+tt.id) {
				t.Fatalf("no log line names %s:\n%s", tt.id, logs.String())
			}
		})
	}
	if !strings.Contains(logs.String(), `plugin bundle \"tampered.zip\": invalid checksum`) {
		t.Errorf("the log does not say why tampered.zip was refused:\n%s", logs.String())
	}

	t.Run("an unknown API has no state", func(t *testing.T) {
		if r := g.Do(t, "GET", "/tyk/apis/nope/status", ""); r.Status != 404 || !strings.Contains(r.Body, "API not found") {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
	})
	t.Run("a reload uses the unpacked bundle without downloading it again", func(t *testing.T) {
		reload(t, g)
		if s := state(t, g, "good"); s.State != "loaded" {
			t.Fatalf("after a second reload: %+v", s)
		}
		if n := files.count("/good.zip"); n != 1 {
			t.Fatalf("good.zip was downloaded %d times", n)
		}
	})
	t.Run("a restart on the same folder uses the unpacked bundle too", func(t *testing.T) {
		g.Stop()
		g2 := gatewaytest.Start(t, gatewaytest.Options{Dir: g.Dir, Configure: func(c *config.Config) {
			c.EnableBundleDownloader, c.BundleBaseURL, c.PublicKeyPath, c.EnableJSVM = true, base, pubA, true
		}})
		if s := state(t, g2, "good"); s.State != "loaded" {
			t.Fatalf("after a restart: %+v", s)
		}
		if s := state(t, g2, "tampered"); s.State != "failed" {
			t.Fatalf("after a restart: %+v", s)
		}
		if n := files.count("/good.zip"); n != 1 {
			t.Fatalf("good.zip was downloaded %d times", n)
		}
	})
}

// hangUp accepts connections and closes them at once, counting them: a
// bundle server that never answers.
func hangUp(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String(), &n
}

func TestGatewayWithAnUnreachableBundleServer(t *testing.T) {
	base, attempts := hangUp(t)
	up := gatewaytest.Upstream(t)
	g := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) {
		c.EnableBundleDownloader, c.BundleBaseURL = true, base+"/bundles"
	}})
	addAPIs(t, g, api("plain", up, ""), api("remote", up, "remote.zip"))
	reload(t, g)

	if n := attempts.Load(); n != bundle.DefaultAttempts {
		t.Errorf("%d download attempts, want %d", n, bundle.DefaultAttempts)
	}
	s := state(t, g, "remote")
	if s.State != "failed" || !strings.Contains(s.Reason, "fetching "+base+"/bundles/remote.zip") {
		t.Fatalf("remote: %+v", s)
	}
	if r := gatewaytest.Do(t, g.URL, "GET", "/remote/x", ""); r.Status != 404 {
		t.Fatalf("the API with the missing bundle is served: %d %s", r.Status, r.Body)
	}
	if s := state(t, g, "plain"); s.State != "loaded" {
		t.Fatalf("plain: %+v", s)
	}
	if r := gatewaytest.Do(t, g.URL, "GET", "/plain/x", ""); r.Status != 200 || r.Header.Get("X-Upstream") != "echo" {
		t.Fatalf("the other API stopped serving: %d %s", r.Status, r.Body)
	}
}
