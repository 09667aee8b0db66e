package jsvm_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

// js is a test gateway with enable_jsvm on and a folder for scripts.
type js struct {
	*gatewaytest.Gateway
	dir string // scripts; also the middleware_path
	up  string // an echo upstream
}

func start(t *testing.T, configure ...func(*config.Config)) *js {
	t.Helper()
	dir := t.TempDir()
	g := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) {
		c.EnableJSVM = true
		c.MiddlewarePath = dir
		for _, f := range configure {
			f(c)
		}
	}})
	return &js{Gateway: g, dir: dir, up: gatewaytest.Upstream(t)}
}

// script writes a JavaScript file and returns its path.
func (j *js) script(t *testing.T, name, src string) string {
	t.Helper()
	p := filepath.Join(j.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// api creates an API and reloads. fields is JSON members added to a
// keyless definition listening on /<id>/ (later members win).
func (j *js) api(t *testing.T, id, fields string) {
	t.Helper()
	def := `{"api_id":"` + id + `","name":"` + id + `","org_id":"org1","use_keyless":true,
		"proxy":{"listen_path":"/` + id + `/","target_url":"` + j.up + `","strip_listen_path":true},
		"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default"}}}`
	if fields != "" {
		def += "," + fields
	}
	def += "}"
	if r := j.Do(t, "POST", "/tyk/apis", def); r.Status != 200 {
		t.Fatalf("create API: %d %s", r.Status, r.Body)
	}
	if r := j.Do(t, "GET", "/tyk/reload?block=true", ""); r.Status != 200 {
		t.Fatalf("reload: %d %s", r.Status, r.Body)
	}
}

// call sends a data-plane request.
func (j *js) call(t *testing.T, method, path, body string, header ...string) gatewaytest.Response {
	t.Helper()
	return gatewaytest.Do(t, j.URL, method, path, body, header...)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// hooks is a custom_middleware member with driver otto.
func hooks(members ...string) string {
	return `"custom_middleware":{"driver":"otto",` + strings.Join(members, ",") + `}`
}

// mw is one MiddlewareDefinition.
func mw(name, path string, extra ...string) string {
	s := `{"name":"` + name + `","path":"` + path + `"`
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}
