package managed_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/plugins/hooks"
	"github.com/tollgate/tollgate/plugins/managed"
	"github.com/tollgate/tollgate/plugins/plugintest"
)

// BenchmarkGoPluginPre is one pre-hook round trip through a managed
// plugin: the request snapshot, the gRPC call to the plugin process, the
// SDK's hook and the changes applied back to the request.
func BenchmarkGoPluginPre(b *testing.B) {
	p := managed.Start(plugintest.Build(b, plugintest.TestPlugin), slog.New(slog.NewTextHandler(io.Discard, nil)), managed.DefaultBackoff)
	b.Cleanup(p.Stop)
	p.WaitStarted(context.Background())
	def := &apidef.Definition{APIID: "bench", OrgID: "o", CustomMiddleware: apidef.MiddlewareSection{
		Driver: managed.Name, Pre: []apidef.MiddlewareDefinition{{Name: "Pre"}}}}
	st, err := hooks.NewRequestStage(def, chain.SlotPre,
		func(apidef.MiddlewareDefinition) (hooks.Backend, error) { return p, nil }, hooks.Options{Driver: managed.Name})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("GET", "/bench/path?x=1", nil)
		r.Header.Set("Authorization", "some-token")
		w := httptest.NewRecorder()
		if err := st.ProcessRequest(w, r, &chain.Request{}); err != nil {
			b.Fatal(err)
		}
		if r.Header.Get("X-Pre-Pid") == "" {
			b.Fatal("the hook did not run")
		}
	}
}
