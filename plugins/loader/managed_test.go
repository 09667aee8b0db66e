package loader_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/plugins/plugintest"
)

// startGateway runs a gateway whose plugin calls time out after 2 s.
func startGateway(t *testing.T, configure ...func(*config.Config)) *gatewaytest.Gateway {
	t.Helper()
	return gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) {
		c.CoProcessOptions.CallTimeout = 2
		for _, f := range configure {
			f(c)
		}
	}})
}

func call(t *testing.T, g *gatewaytest.Gateway, method, path, body string, header ...string) gatewaytest.Response {
	t.Helper()
	return gatewaytest.Do(t, g.URL, method, path, body, header...)
}

func echoOf(t *testing.T, r gatewaytest.Response) gatewaytest.Echo {
	t.Helper()
	var e gatewaytest.Echo
	if r.Status != 200 {
		t.Fatalf("got %d %q", r.Status, r.Body)
	}
	body := strings.TrimSuffix(r.Body, "+response")
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not an upstream echo: %q", r.Body)
	}
	return e
}

func TestManagedPluginRunsEveryHook(t *testing.T) {
	g := startGateway(t)
	bin := plugintest.Build(t, plugintest.TestPlugin)
	g.AddAPI(t, plugintest.ManagedAPI("m1", "/m1/", gatewaytest.Upstream(t), bin))

	r := call(t, g, "POST", "/m1/x?keep=1&drop=2", "hello", "Authorization", "good-token", "X-Remove-Me", "1")
	e := echoOf(t, r)
	if e.Header.Get("X-Pre-Pid") == "" || e.Header.Get("X-Remove-Me") != "" || e.Header.Get("X-Greeting") != "hello" {
		t.Errorf("pre hook headers not applied: %v", e.Header)
	}
	if e.Query != "keep=1&pre=1" {
		t.Errorf("pre hook query: %q", e.Query)
	}
	if e.Body != "hello +pre" {
		t.Errorf("pre hook body: %q", e.Body)
	}
	if got := e.Header.Get("X-Session-Alias"); got != "alias-good-token" {
		t.Errorf("post_key_auth saw alias %q", got)
	}
	if e.Header.Get("X-Post") != "yes" || e.Header.Get("X-Post-Auth-Pid") != e.Header.Get("X-Pre-Pid") {
		t.Errorf("post hook: %v", e.Header)
	}
	if got := r.Header.Values("X-Response-Hook"); len(got) != 2 || got[0] != "one" || got[1] != "two" {
		t.Errorf("response hook headers: %v", got)
	}
	if !strings.HasSuffix(r.Body, "+response") || r.Header.Get("X-Upstream") != "echo" {
		t.Errorf("response hook body or upstream headers lost: %q %v", r.Body, r.Header)
	}

	t.Run("the session the plugin returned is stored under its key ID", func(t *testing.T) {
		k := g.Do(t, "GET", "/tyk/keys/good-token?api_id=m1", "")
		if k.Status != 200 || !strings.Contains(k.Body, `"alias":"alias-good-token"`) {
			t.Fatalf("stored session: %d %s", k.Status, k.Body)
		}
	})
	t.Run("a refused token gets the plugin's message", func(t *testing.T) {
		r := call(t, g, "GET", "/m1/x", "", "Authorization", "wrong")
		if r.Status != 403 || r.Body != plugintest.TykError("bad token") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
	t.Run("Deny renders the error template with the plugin's headers", func(t *testing.T) {
		r := call(t, g, "GET", "/m1/x", "", "Authorization", "good-token", "X-Deny", "1")
		if r.Status != 418 || r.Body != plugintest.TykError("refused by the test plugin") || r.Header.Get("X-Denied") != "1" {
			t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
		}
	})
	t.Run("Respond answers verbatim and skips the upstream", func(t *testing.T) {
		r := call(t, g, "GET", "/m1/x", "", "X-Respond", "1")
		if r.Status != 201 || r.Body != "made by the plugin" || r.Header.Get("X-Made-By") != "plugin" {
			t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
		}
	})
	t.Run("a panicking hook is a 500 and the plugin lives on", func(t *testing.T) {
		r := call(t, g, "GET", "/m1/x", "", "X-Panic", "1")
		if r.Status != 500 || r.Body != plugintest.TykError("Middleware error") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
		echoOf(t, call(t, g, "GET", "/m1/x", "", "Authorization", "good-token"))
	})
	t.Run("a bad URL from the plugin is a 500", func(t *testing.T) {
		r := call(t, g, "GET", "/m1/x", "", "X-Bad-URL", "1")
		if r.Status != 500 || r.Body != plugintest.TykError("Middleware error") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
	t.Run("a hook that never answers fails at the deadline", func(t *testing.T) {
		r := boundedCall(t, g.URL+"/m1/x", "X-Hang", "1")
		if r.status != 500 || r.body != plugintest.TykError("Middleware error") {
			t.Fatalf("got %d %q", r.status, r.body)
		}
	})
}

type result struct {
	status int
	body   string
	err    error
}

// client bounds every request: a request that hangs shows up as an error.
var client = &http.Client{Timeout: 15 * time.Second}

func boundedCall(t *testing.T, url string, header ...string) result {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return send(req)
}

func send(req *http.Request) result {
	resp, err := client.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, body: string(b), err: err}
}

// TestKilledPluginFailsClosedAndComesBack kills the plugin while requests
// are in flight: every request completes (200 from the plugin, or the
// fail-closed 403/500 bodies while it is down), the plugin is restarted,
// and the gateway serves on.
func TestKilledPluginFailsClosedAndComesBack(t *testing.T) {
	g := startGateway(t)
	bin := plugintest.Build(t, plugintest.TestPlugin)
	up := gatewaytest.Upstream(t)
	// Two APIs share the plugin process: one authenticates with it (and
	// runs a post hook), the other is keyless with a pre hook.
	g.AddAPI(t, `{"api_id":"m2","name":"m2","org_id":"org1","custom_plugin_auth_enabled":true,
		"proxy":{"listen_path":"/m2/","target_url":"`+up+`","strip_listen_path":true},
		"version_data":{"not_versioned":true},
		"custom_middleware":{"driver":"managed","auth_check":{"name":"Auth","path":"`+bin+`"},"post":[{"name":"Post"}]}}`)
	g.AddAPI(t, `{"api_id":"m3","name":"m3","org_id":"org1","use_keyless":true,
		"proxy":{"listen_path":"/m3/","target_url":"`+up+`","strip_listen_path":true},
		"version_data":{"not_versioned":true},
		"custom_middleware":{"driver":"managed","pre":[{"name":"Pre","path":"`+bin+`"}]}}`)
	// An API without plugins must not notice anything.
	g.AddAPI(t, `{"api_id":"plain","name":"plain","org_id":"org1","use_keyless":true,
		"proxy":{"listen_path":"/plain/","target_url":"`+up+`","strip_listen_path":true},
		"version_data":{"not_versioned":true}}`)

	first := echoOf(t, call(t, g, "GET", "/m3/x", "")).Header.Get("X-Pre-Pid")
	pid := atoi(t, first)

	// Keep the plugin down once killed: it exits at start while "crash"
	// lies next to it.
	crash := filepath.Join(filepath.Dir(bin), "crash")
	if err := os.WriteFile(crash, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var results []result
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", g.URL+"/m2/x", nil)
				req.Header.Set("Authorization", "good-token")
				r := send(req)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		}()
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}

	// While it is down the auth hook fails closed with 403 and the pre
	// hook with 500.
	waitFor(t, "the auth hook to fail closed", func() bool {
		r := boundedCall(t, g.URL+"/m2/x", "Authorization", "good-token")
		return r.status == 403 && r.body == plugintest.TykError("Key not authorised")
	})
	if r := boundedCall(t, g.URL+"/m3/x"); r.status != 500 || r.body != plugintest.TykError("Middleware error") {
		t.Fatalf("the pre hook while the plugin is down: %d %q", r.status, r.body)
	}
	if r := call(t, g, "GET", "/plain/y", ""); r.Status != 200 {
		t.Fatalf("an API without plugins answered %d %q", r.Status, r.Body)
	}

	if err := os.Remove(crash); err != nil {
		t.Fatal(err)
	}
	var again string
	waitFor(t, "the plugin to be restarted", func() bool {
		r := boundedCall(t, g.URL+"/m3/x")
		var e gatewaytest.Echo
		if r.status != 200 || json.Unmarshal([]byte(r.body), &e) != nil {
			return false
		}
		again = e.Header.Get("X-Pre-Pid")
		return true
	})
	close(stop)
	wg.Wait()

	if again == first {
		t.Fatalf("the plugin was not restarted (pid %s)", again)
	}
	echoOf(t, call(t, g, "GET", "/m2/x", "", "Authorization", "good-token"))
	ok := map[string]bool{
		"200": true,
		"403 " + plugintest.TykError("Key not authorised"): true,
		"500 " + plugintest.TykError("Middleware error"):   true,
	}
	counts := map[string]int{}
	for _, r := range results {
		if r.err != nil {
			t.Fatalf("a request did not complete: %v", r.err)
		}
		key := itoa(r.status)
		if r.status != 200 {
			key += " " + r.body
		}
		if !ok[key] {
			t.Fatalf("unexpected answer while the plugin was killed: %q", key)
		}
		counts[itoa(r.status)]++
	}
	t.Logf("answers during the kill: %v", counts)
}

// waitFor polls cond until it holds; the overall bound only stops a broken
// test from running forever.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("not a pid: %q", s)
	}
	return n
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestUnusedPluginIsStopped moves an API to another plugin executable:
// the old process is stopped once no served load uses it.
func TestUnusedPluginIsStopped(t *testing.T) {
	g := startGateway(t)
	up := gatewaytest.Upstream(t)
	def := func(bin string) string {
		return `{"api_id":"mv","name":"mv","org_id":"o","use_keyless":true,
			"custom_middleware":{"driver":"managed","pre":[{"name":"Pre","path":"` + bin + `"}]},
			"proxy":{"listen_path":"/mv/","target_url":"` + up + `","strip_listen_path":true},"version_data":{"not_versioned":true}}`
	}
	g.AddAPI(t, def(plugintest.Build(t, plugintest.TestPlugin)))
	old := atoi(t, echoOf(t, call(t, g, "GET", "/mv/x", "")).Header.Get("X-Pre-Pid"))

	if r := g.Do(t, "PUT", "/tyk/apis/mv", def(plugintest.Build(t, plugintest.TestPlugin))); r.Status != 200 {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	for i := 0; i < 2; i++ { // the second load no longer needs the first binary
		if r := g.Do(t, "GET", "/tyk/reload?block=true", ""); r.Status != 200 {
			t.Fatalf("reload: %d %s", r.Status, r.Body)
		}
	}
	now := atoi(t, echoOf(t, call(t, g, "GET", "/mv/x", "")).Header.Get("X-Pre-Pid"))
	if now == old {
		t.Fatal("the API still uses the old plugin")
	}
	waitFor(t, "the old plugin to exit", func() bool { return syscall.Kill(old, 0) != nil })

	g.Stop() // a stopped gateway leaves no plugin behind
	if err := syscall.Kill(now, 0); err == nil {
		t.Fatalf("plugin %d still runs after the gateway stopped", now)
	}
}
