// Package stagetest runs request stages in a chain of their own, with a
// recording upstream, for the stage packages' unit tests.
package stagetest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
)

// Seen is what the upstream got: the request state the stages left.
type Seen struct {
	Version  string
	Ignored  bool
	Timeout  int
	Quota    chain.QuotaReport
	Path     string
	RawPath  string
	RawQuery string
	Header   http.Header
	Body     string
}

// Result is the response and, when the request got through, what the
// upstream saw.
type Result struct {
	Status  int
	Body    string
	Header  http.Header
	Reached bool
	Seen    Seen
}

type upstream struct{ seen *Seen }

func (u upstream) Serve(w http.ResponseWriter, r *http.Request, req *chain.Request) {
	body, _ := io.ReadAll(r.Body)
	*u.seen = Seen{Version: req.Version, Ignored: req.Ignored, Timeout: req.UpstreamTimeout, Quota: req.Quota,
		Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)}
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "upstream")
}

// API builds a chain for def from the given stages (nil ones are left
// out), with Tyk's default error bodies and a recording upstream.
func API(t testing.TB, def *apidef.Definition, stages ...chain.Stage) (*chain.API, *Seen) {
	t.Helper()
	ew, err := chain.NewErrorWriter("")
	if err != nil {
		t.Fatal(err)
	}
	seen := &Seen{}
	a := &chain.API{Def: *def, Upstream: upstream{seen}, Errors: ew}
	for _, s := range stages {
		if s != nil {
			a.Stages = append(a.Stages, s)
		}
	}
	return a, seen
}

// Do serves r with a and reports the outcome.
func Do(a *chain.API, seen *Seen, r *http.Request) Result {
	*seen = Seen{}
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, r)
	res := Result{Status: rec.Code, Body: rec.Body.String(), Header: rec.Header()}
	if seen.Header != nil {
		res.Reached, res.Seen = true, *seen
	}
	return res
}

// Error is Tyk's default JSON error body for msg.
func Error(msg string) string { return "{\n    \"error\": \"" + msg + "\"\n}" }
