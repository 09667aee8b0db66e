package sdk_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/plugins/managed"
	"github.com/tollgate/tollgate/plugins/plugintest"
	"github.com/tollgate/tollgate/plugins/proto/tollgatepb"
	"github.com/tollgate/tollgate/plugins/sdk"
)

func startPlugin(t *testing.T, pkg string) (*managed.Process, *gatewaytest.LogBuffer) {
	t.Helper()
	logs := &gatewaytest.LogBuffer{}
	p := managed.Start(plugintest.Build(t, pkg), slog.New(slog.NewTextHandler(logs, nil)), managed.DefaultBackoff)
	t.Cleanup(p.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), managed.StartTimeout)
	defer cancel()
	p.WaitStarted(ctx)
	if p.Pid() == 0 {
		t.Fatalf("plugin did not start:\n%s", logs)
	}
	return p, logs
}

func TestKeyRequestHook(t *testing.T) {
	p, logs := startPlugin(t, plugintest.TestPlugin)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	reply, err := p.KeyRequest(ctx, &tollgatepb.KeyRequestObject{Action: "create", KeyId: "k1", OrgId: "org1",
		Session: &sdk.Session{Rate: 5, Per: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Deny || reply.Session.GetAlias() != "checked-by-plugin" || reply.Session.GetRate() != 5 {
		t.Fatalf("create: %v", reply)
	}
	reply, err = p.KeyRequest(ctx, &tollgatepb.KeyRequestObject{Action: "delete", KeyId: "k1", OrgId: "org1"})
	if err != nil {
		t.Fatal(err)
	}
	if !reply.Deny || reply.StatusCode != 403 || reply.Message != "keys of org1 cannot be deleted" {
		t.Fatalf("delete: %v", reply)
	}

	t.Run("the plugin's log lines reach the gateway log", func(t *testing.T) {
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(logs.String(), "msg=\"test plugin serving\"") {
			if time.Now().After(deadline) {
				t.Fatalf("log:\n%s", logs)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !strings.Contains(logs.String(), "level=INFO msg=\"test plugin serving\"") {
			t.Fatalf("level lost:\n%s", logs)
		}
	})
}

func TestPluginWithoutKeyRequestSaysUnimplemented(t *testing.T) {
	p, _ := startPlugin(t, "github.com/tollgate/tollgate/examples/goplugin-response")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := p.KeyRequest(ctx, &tollgatepb.KeyRequestObject{Action: "create"})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("got %v", err)
	}
}

// TestStandaloneServerForTheGRPCDriver serves an SDK plugin as a plain
// gRPC plugin server and points the grpc driver at it.
func TestStandaloneServerForTheGRPCDriver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sdk.ServeListener(ctx, ln, sdk.Plugin{Pre: func(_ context.Context, req *sdk.Request) (*sdk.Result, error) {
			req.Header.Set("X-Standalone", req.HookName+"/"+req.Hook)
			req.Method = "PUT"
			return nil, nil
		}})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	g := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) {
		c.CoProcessOptions = config.CoProcessConfig{EnableCoProcess: true, CoProcessGRPCServer: "tcp://" + ln.Addr().String()}
	}})
	def := `{"api_id":"s","name":"s","org_id":"o","use_keyless":true,
		"custom_middleware":{"driver":"grpc","pre":[{"name":"Tag"}]},
		"proxy":{"listen_path":"/s/","target_url":"` + gatewaytest.Upstream(t) + `","strip_listen_path":true},
		"version_data":{"not_versioned":true}}`
	if r := g.Do(t, "POST", "/tyk/apis", def); r.Status != 200 {
		t.Fatal(r.Body)
	}
	g.Do(t, "GET", "/tyk/reload?block=true", "")
	r := gatewaytest.Do(t, g.URL, "GET", "/s/x", "")
	var e gatewaytest.Echo
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &e) != nil {
		t.Fatalf("%d %q", r.Status, r.Body)
	}
	if e.Header.Get("X-Standalone") != "Tag/pre" || e.Method != "PUT" {
		t.Fatalf("upstream saw %s %v", e.Method, e.Header)
	}
}
