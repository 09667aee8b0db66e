package jsvm_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/plugins/jsvm"
)

// okUpstream answers 200 without a network hop, so the benchmarks measure
// the chain.
type okUpstream struct{}

func (okUpstream) Serve(w http.ResponseWriter, r *http.Request, req *chain.Request) {
	w.WriteHeader(http.StatusOK)
}

// benchAPI builds a keyless API whose chain is its pre hooks only.
func benchAPI(b *testing.B, pre string) *chain.API {
	b.Helper()
	cfg := config.Default()
	cfg.EnableJSVM = true
	cfg.MiddlewarePath = ""
	env := &chain.Env{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
	def := apidef.Definition{APIID: "bench", OrgID: "org1", UseKeyless: true,
		Proxy:       apidef.Proxy{ListenPath: "/bench/", TargetURL: "http://127.0.0.1:1", StripListenPath: true},
		VersionData: apidef.VersionData{NotVersioned: true}}
	if pre != "" {
		path := filepath.Join(b.TempDir(), "pre.js")
		if err := os.WriteFile(path, []byte(pre), 0o644); err != nil {
			b.Fatal(err)
		}
		def.CustomMiddleware = apidef.MiddlewareSection{Driver: "otto", Pre: []apidef.MiddlewareDefinition{{Name: "setOne", Path: path}}}
	}
	var hooks chain.Hooks
	jsvm.AddHooks(&hooks)
	stages, err := chain.Blueprint{{Slot: chain.SlotPre}}.Build(&def, env, hooks)
	if err != nil {
		b.Fatal(err)
	}
	errs, _ := chain.NewErrorWriter("")
	return &chain.API{Def: def, Stages: stages, Upstream: okUpstream{}, Errors: errs}
}

const setOneHeader = `
var setOne = new TykJS.TykMiddleware.NewMiddleware({});
setOne.NewProcessRequest(function (request, session, config) {
    request.SetHeaders["X-Bench"] = "1";
    return setOne.ReturnData(request, {});
});`

func serveBench(b *testing.B, api *chain.API, parallel bool) {
	one := func() {
		r := httptest.NewRequest("GET", "/bench/x?a=1", nil)
		r.Header.Set("Authorization", "token")
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("got %d %s", w.Code, w.Body)
		}
		if len(api.Stages) > 0 && r.Header.Get("X-Bench") != "1" {
			b.Fatal("header not set")
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		for i := 0; i < b.N; i++ {
			one()
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			one()
		}
	})
}

// BenchmarkJSPre runs a pre hook that sets one header, through the chain.
func BenchmarkJSPre(b *testing.B) { serveBench(b, benchAPI(b, setOneHeader), false) }

// BenchmarkJSPreParallel is the same from all cores at once: runtimes come
// from the API's pool, no lock is shared.
func BenchmarkJSPreParallel(b *testing.B) { serveBench(b, benchAPI(b, setOneHeader), true) }

// BenchmarkChainNoJS is the same chain without the hook, for comparison.
func BenchmarkChainNoJS(b *testing.B) { serveBench(b, benchAPI(b, ""), false) }
