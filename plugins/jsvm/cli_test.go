package jsvm_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/plugins/jsvm"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runPluginTest(t *testing.T, args ...string) (map[string]any, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := jsvm.Command(append([]string{"test"}, args...), &out, &errOut)
	var report map[string]any
	if out.Len() > 0 {
		if err := json.Unmarshal(out.Bytes(), &report); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out.String())
		}
	}
	if code == 2 {
		t.Fatalf("usage error: %s", errOut.String())
	}
	return report, code
}

func TestPluginTestCommand(t *testing.T) {
	dir := t.TempDir()
	pre := write(t, dir, "samplePre.js", samplePre)
	req := write(t, dir, "req.json", `{"Method":"POST","URL":"/api/x?delete_me=1&keep=2","Headers":{"X-Remove-Me":"1","Accept":["a","b"]},"Body":"old"}`)

	t.Run("a pre hook reports its changes and the request it leaves", func(t *testing.T) {
		r, code := runPluginTest(t, pre, "--request", req)
		if code != 0 {
			t.Fatalf("exit %d: %v", code, r)
		}
		got, _ := json.Marshal(map[string]any{"set": r["headers_set"], "deleted": r["headers_deleted"], "added": r["params_added"],
			"params_deleted": r["params_deleted"], "url": r["request"].(map[string]any)["url"], "body": r["request"].(map[string]any)["body"],
			"changed": []any{r["url_changed"], r["body_changed"]}, "name": r["name"], "hook": r["hook"]})
		want := `{"added":{"test_param":"My Teapot"},"body":"New Request body","changed":[true,true],"deleted":["X-Remove-Me"],` +
			`"hook":"pre","name":"samplePre","params_deleted":["delete_me"],"set":{"User-Agent":"Tyk-Custom-JSVM-Middleware"},"url":"/api/x?keep=2\u0026test_param=My+Teapot"}`
		if string(got) != want {
			t.Fatalf("report:\n got %s\nwant %s", got, want)
		}
	})

	t.Run("an auth_check reports the session and its answer", func(t *testing.T) {
		auth := write(t, dir, "queryAuth.js", queryAuthJS)
		ok := write(t, dir, "ok.json", `{"URL":"/api/x?auth=foobar"}`)
		r, code := runPluginTest(t, auth, "--request", ok, "--hook", "auth_check")
		if code != 0 || r["auth_value"] != "foobar-identity" || r["session"].(map[string]any)["rate"] != float64(100) {
			t.Fatalf("exit %d: %v", code, r)
		}
		missing := write(t, dir, "missing.json", `{"URL":"/api/x"}`)
		r, _ = runPluginTest(t, auth, "--request", missing, "--hook", "auth_check")
		resp, _ := r["response"].(map[string]any)
		if resp == nil || resp["status"] != float64(401) || resp["body"] != gatewaytest.TykError("Header missing (JS middleware)") ||
			r["return_overrides"].(map[string]any)["ResponseCode"] != float64(401) {
			t.Fatalf("report %v", r)
		}
	})

	t.Run("a post hook with a session reports metadata changes", func(t *testing.T) {
		post := write(t, dir, "tagUser.js", `
var tagUser = new TykJS.TykMiddleware.NewMiddleware({});
tagUser.NewProcessRequest(function (request, session, config) {
    return tagUser.ReturnData(request, {user: session.meta_data.user, tier: config.config_data.tier});
});`)
		sess := write(t, dir, "s.json", `{"org_id":"o1","meta_data":{"user":"ann"}}`)
		cfg := write(t, dir, "c.json", `{"tier":"gold"}`)
		r, code := runPluginTest(t, post, "--request", req, "--hook", "post", "--session", sess, "--config", cfg)
		meta := r["session"].(map[string]any)["meta_data"].(map[string]any)
		if code != 0 || r["session_changed"] != true || meta["tier"] != "gold" || meta["user"] != "ann" {
			t.Fatalf("exit %d: %v", code, r)
		}
	})

	t.Run("a failing script exits 1 with the error", func(t *testing.T) {
		bad := write(t, dir, "bad.js", `var bad = new TykJS.TykMiddleware.NewMiddleware({}); bad.NewProcessRequest(function () { throw new Error("nope"); });`)
		r, code := runPluginTest(t, bad, "--request", req)
		if code != 1 || r["error"] == nil {
			t.Fatalf("exit %d: %v", code, r)
		}
	})
}
