package grpcdriver_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/plugins/plugintest"
	"github.com/tollgate/tollgate/plugins/proto/coprocess"
)

// tykStyle is a plugin server written the way Tyk's gRPC plugins are: it
// changes the object it received and sends it back.
type tykStyle struct {
	coprocess.UnimplementedDispatcherServer
	authCalls atomic.Int32
}

func (s *tykStyle) Dispatch(ctx context.Context, obj *coprocess.Object) (*coprocess.Object, error) {
	req := obj.Request
	switch obj.HookType {
	case coprocess.HookType_Pre:
		if req.Headers["X-Hang"] != "" {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		req.SetHeaders = map[string]string{"X-Grpc-Pre": obj.HookName, "X-Config": obj.Spec["config_data"],
			"X-Spec-Api": obj.Spec["APIID"], "X-Saw-Body": req.Body}
		req.DeleteHeaders = []string{"X-Drop"}
		req.AddParams = map[string]string{"added": "yes"}
		req.DeleteParams = []string{"gone"}
		req.RawBody = append(req.RawBody, "+grpc"...)
	case coprocess.HookType_CustomKeyCheck:
		s.authCalls.Add(1)
		if req.Headers["Authorization"] != "tyk-token" {
			req.ReturnOverrides.ResponseCode = 401
			req.ReturnOverrides.ResponseError = "Not authorized (gRPC)"
			return obj, nil
		}
		obj.Session = &coprocess.SessionState{Rate: 50, Per: 1, QuotaMax: -1, Alias: "grpc-user",
			IdExtractorDeadline: time.Now().Add(time.Hour).Unix()}
		obj.Metadata = map[string]string{"token": "tyk-token"}
	case coprocess.HookType_Post:
		req.SetHeaders = map[string]string{"X-Post-Alias": obj.Session.GetAlias(), "X-Post-Meta-Token": obj.Metadata["token"]}
	case coprocess.HookType_Response:
		obj.Response.RawBody = []byte("newbody")
		obj.Response.Headers["X-Grpc-Response"] = "1"
		obj.Response.StatusCode = 202
	}
	return obj, nil
}

// serve runs the Dispatcher on ln until the test ends or stop is called.
func serve(t *testing.T, ln net.Listener, d coprocess.DispatcherServer) (stop func()) {
	t.Helper()
	s := grpc.NewServer()
	coprocess.RegisterDispatcherServer(s, d)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return s.Stop
}

func gatewayFor(t *testing.T, server string) *gatewaytest.Gateway {
	t.Helper()
	return gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) {
		c.CoProcessOptions = config.CoProcessConfig{EnableCoProcess: true, CoProcessGRPCServer: server, CallTimeout: 2}
	}})
}

func api(id, up, extra string) string {
	return `{"api_id":"` + id + `","name":"` + id + `","org_id":"org1",` + extra + `,
		"proxy":{"listen_path":"/` + id + `/","target_url":"` + up + `","strip_listen_path":true},
		"version_data":{"not_versioned":true}}`
}

func TestTykStyleGRPCServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &tykStyle{}
	serve(t, ln, srv)
	g := gatewayFor(t, "tcp://"+ln.Addr().String())
	up := gatewaytest.Upstream(t)
	g.AddAPI(t, api("pre", up, `"use_keyless":true,"config_data":{"k":"v"},
		"custom_middleware":{"driver":"grpc","pre":[{"name":"MyPre"}],"response":[{"name":"MyResponse"}]}`))
	g.AddAPI(t, api("auth", up, `"custom_plugin_auth_enabled":true,
		"custom_middleware":{"driver":"grpc","auth_check":{"name":"MyAuth"},"post":[{"name":"MyPost"}],
			"id_extractor":{"extract_from":"header","extract_with":"value","extractor_config":{"header_name":"Authorization"}}}`))

	t.Run("pre hook changes reach the upstream, response hook rewrites the answer", func(t *testing.T) {
		r := gatewaytest.Do(t, g.URL, "POST", "/pre/x?gone=1&kept=1", "body", "X-Drop", "1", "X-Hang", "")
		if r.Status != 202 || r.Body != "newbody" || r.Header.Get("X-Grpc-Response") != "1" {
			t.Fatalf("response hook: %d %q %v", r.Status, r.Body, r.Header)
		}
		if r.Header.Get("X-Upstream") != "echo" {
			t.Fatalf("upstream headers were dropped: %v", r.Header)
		}
	})
	// Without the response hook, to see what the upstream got.
	g.AddAPI(t, api("preonly", up, `"use_keyless":true,"config_data":{"k":"v"},
		"custom_middleware":{"driver":"grpc","pre":[{"name":"MyPre"}]}`))
	t.Run("what the upstream sees after the pre hook", func(t *testing.T) {
		e := gatewaytest.EchoOf(t, gatewaytest.Do(t, g.URL, "POST", "/preonly/x?gone=1&kept=1", "body", "X-Drop", "1"))
		h := e.Header
		if h.Get("X-Grpc-Pre") != "MyPre" || h.Get("X-Config") != `{"k":"v"}` || h.Get("X-Spec-Api") != "preonly" ||
			h.Get("X-Saw-Body") != "body" || h.Get("X-Drop") != "" {
			t.Errorf("headers: %v", h)
		}
		if e.Query != "added=yes&kept=1" || e.Body != "body+grpc" {
			t.Errorf("query %q body %q", e.Query, e.Body)
		}
	})
	t.Run("custom auth with a cached session", func(t *testing.T) {
		r := gatewaytest.Do(t, g.URL, "GET", "/auth/x", "", "Authorization", "nope")
		if r.Status != 401 || r.Body != plugintest.TykError("Not authorized (gRPC)") {
			t.Fatalf("refusal: %d %q", r.Status, r.Body)
		}
		before := srv.authCalls.Load()
		e := gatewaytest.EchoOf(t, gatewaytest.Do(t, g.URL, "GET", "/auth/x", "", "Authorization", "tyk-token"))
		if e.Header.Get("X-Post-Alias") != "grpc-user" || e.Header.Get("X-Post-Meta-Token") != "tyk-token" {
			t.Errorf("post hook saw %v", e.Header)
		}
		gatewaytest.EchoOf(t, gatewaytest.Do(t, g.URL, "GET", "/auth/x", "", "Authorization", "tyk-token"))
		if n := srv.authCalls.Load() - before; n != 1 {
			t.Errorf("the plugin was asked %d times; the second request should use the cached session", n)
		}
		if r := gatewaytest.Do(t, g.URL, "GET", "/auth/x", ""); r.Status != 400 || r.Body != plugintest.TykError("Authorization field missing") {
			t.Errorf("no header to extract from: %d %q", r.Status, r.Body)
		}
	})
	t.Run("a hook that never answers fails at the deadline", func(t *testing.T) {
		c := &http.Client{Timeout: 15 * time.Second}
		req, _ := http.NewRequest("GET", g.URL+"/preonly/x", nil)
		req.Header.Set("X-Hang", "1")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("the request did not complete: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 500 {
			t.Fatalf("got %d", resp.StatusCode)
		}
	})
}

// TestServerDownFailsClosed stops the plugin server: hooks fail at once
// with 403 (auth) and 500 (others), and work again once it is back on the
// same address.
func TestServerDownFailsClosed(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "plugin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stop := serve(t, ln, &tykStyle{})
	g := gatewayFor(t, "unix://"+sock)
	up := gatewaytest.Upstream(t)
	g.AddAPI(t, api("pre", up, `"use_keyless":true,"custom_middleware":{"driver":"grpc","pre":[{"name":"MyPre"}]}`))
	g.AddAPI(t, api("auth", up, `"custom_plugin_auth_enabled":true,"custom_middleware":{"driver":"grpc","auth_check":{"name":"MyAuth"}}`))
	g.AddAPI(t, api("plain", up, `"use_keyless":true`))
	gatewaytest.EchoOf(t, gatewaytest.Do(t, g.URL, "GET", "/pre/x", ""))
	gatewaytest.EchoOf(t, gatewaytest.Do(t, g.URL, "GET", "/auth/x", "", "Authorization", "tyk-token"))

	stop()
	if r := gatewaytest.Do(t, g.URL, "GET", "/auth/x", "", "Authorization", "tyk-token"); r.Status != 403 || r.Body != plugintest.TykError("Key not authorised") {
		t.Errorf("auth while down: %d %q", r.Status, r.Body)
	}
	if r := gatewaytest.Do(t, g.URL, "GET", "/pre/x", ""); r.Status != 500 || r.Body != plugintest.TykError("Middleware error") {
		t.Errorf("pre while down: %d %q", r.Status, r.Body)
	}
	gatewaytest.EchoOf(t, gatewaytest.Do(t, g.URL, "GET", "/plain/x", ""))

	ln, err = net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln, &tykStyle{})
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := gatewaytest.Do(t, g.URL, "GET", "/auth/x", "", "Authorization", "tyk-token")
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not reconnect: %d %q", r.Status, r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGRPCDriverNeedsCoprocessEnabled(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) {
		c.CoProcessOptions.CoProcessGRPCServer = "tcp://127.0.0.1:1"
	}})
	g.AddAPI(t, api("off", gatewaytest.Upstream(t), `"use_keyless":true,"custom_middleware":{"driver":"grpc","pre":[{"name":"MyPre"}]}`))
	if r := gatewaytest.Do(t, g.URL, "GET", "/off/x", ""); r.Status != 404 || !strings.Contains(r.Body, "Not Found") {
		t.Fatalf("an API whose plugins cannot run must not be served: %d %q", r.Status, r.Body)
	}
}
