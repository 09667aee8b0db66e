package loader_test

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/dataplane"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/plugins/loader"
)

// load builds defs on a data plane with the plugin drivers and returns the
// load problems.
func load(t *testing.T, defs ...string) []dataplane.LoadError {
	t.Helper()
	cfg := config.Default()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l := loader.New(cfg, log)
	t.Cleanup(l.Close)
	var hooks chain.Hooks
	l.Contribute(&hooks)
	errs, err := chain.NewErrorWriter("")
	if err != nil {
		t.Fatal(err)
	}
	env := &chain.Env{Config: cfg, Log: log, Now: time.Now}
	plane := dataplane.New(dataplane.Options{Env: env, Blueprint: middleware.Blueprint(), Hooks: hooks,
		Errors: errs, Transport: http.DefaultTransport})
	var apis []apidef.API
	for _, d := range defs {
		def, err := apidef.Parse([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		apis = append(apis, apidef.API{Def: def})
	}
	return plane.Load(apis, env)
}

func TestInProcessGoPluginsAreRefused(t *testing.T) {
	cases := map[string]string{
		"goplugin driver":   `"custom_middleware":{"driver":"goplugin","pre":[{"name":"AddHeader","path":"plugin.so"}]}`,
		"goplugin auth":     `"custom_plugin_auth_enabled":true,"custom_middleware":{"driver":"goplugin","auth_check":{"name":"Auth","path":"plugin.so"}}`,
		".so response hook": `"custom_middleware":{"driver":"otto","response":[{"name":"Rewrite","path":"resp.so"}]}`,
	}
	for name, cm := range cases {
		t.Run(name, func(t *testing.T) {
			problems := load(t, `{"api_id":"gp","org_id":"o","use_keyless":true,`+cm+`,
				"proxy":{"listen_path":"/gp/","target_url":"http://127.0.0.1:1"}}`,
				`{"api_id":"ok","org_id":"o","use_keyless":true,"proxy":{"listen_path":"/ok/","target_url":"http://127.0.0.1:1"}}`)
			if len(problems) != 1 || problems[0].APIID != "gp" {
				t.Fatalf("problems: %+v", problems)
			}
			if why := problems[0].Reason; !strings.Contains(why, `"goplugin"`) || !strings.Contains(why, `"managed"`) || !strings.Contains(why, "plugins/sdk") {
				t.Fatalf("the reason does not name the alternative: %q", why)
			}
		})
	}
	t.Run("goplugin driver without hooks loads", func(t *testing.T) {
		if p := load(t, `{"api_id":"gp","org_id":"o","use_keyless":true,"custom_middleware":{"driver":"goplugin"},
			"proxy":{"listen_path":"/gp/","target_url":"http://127.0.0.1:1"}}`); len(p) != 0 {
			t.Fatalf("problems: %+v", p)
		}
	})
}

func TestManagedPluginLoadErrors(t *testing.T) {
	problems := load(t,
		`{"api_id":"missing","org_id":"o","use_keyless":true,"custom_middleware":{"driver":"managed","pre":[{"name":"P","path":"/no/such/plugin"}]},
			"proxy":{"listen_path":"/a/","target_url":"http://127.0.0.1:1"}}`,
		`{"api_id":"nopath","org_id":"o","use_keyless":true,"custom_middleware":{"driver":"managed","pre":[{"name":"P"}]},
			"proxy":{"listen_path":"/b/","target_url":"http://127.0.0.1:1"}}`)
	reasons := map[string]string{}
	for _, p := range problems {
		reasons[p.APIID] = p.Reason
	}
	if !strings.Contains(reasons["missing"], "/no/such/plugin") || !strings.Contains(reasons["nopath"], "no executable") {
		t.Fatalf("reasons: %v", reasons)
	}
}

func TestGoPluginAPIIsNotServed(t *testing.T) {
	g := startGateway(t)
	g.AddAPI(t, `{"api_id":"gp","name":"gp","org_id":"o","use_keyless":true,
		"custom_middleware":{"driver":"goplugin","pre":[{"name":"AddHeader","path":"plugin.so"}]},
		"proxy":{"listen_path":"/gp/","target_url":"`+gatewaytest.Upstream(t)+`"},"version_data":{"not_versioned":true}}`)
	if r := call(t, g, "GET", "/gp/x", ""); r.Status != 404 {
		t.Fatalf("got %d %q", r.Status, r.Body)
	}
}
