package jsvm_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

// overrides answers with whatever the request's X-Code, X-Error, X-Body
// and X-Override headers ask for.
const overridesJS = `
var answer = new TykJS.TykMiddleware.NewMiddleware({});
answer.NewProcessRequest(function (request, session, config) {
    var h = request.Headers, ro = request.ReturnOverrides;
    ro.ResponseCode = parseInt(h["X-Code"][0], 10);
    if (h["X-Error"]) { ro.ResponseError = h["X-Error"][0]; }
    if (h["X-Body"]) { ro.ResponseBody = h["X-Body"][0]; }
    ro.OverrideError = !!h["X-Override"];
    ro.ResponseHeaders = {"X-Foo": "Bar"};
    return answer.ReturnData(request, {});
});`

func TestReturnOverrides(t *testing.T) {
	j := start(t)
	j.api(t, "ro", hooks(`"pre":[`+mw("answer", j.script(t, "ro.js", overridesJS))+`]`))
	cases := []struct {
		name   string
		header []string
		status int
		body   string
	}{
		{"200 with ResponseError sends it raw", []string{"X-Code", "200", "X-Error", `{"foo": "bar"}`}, 200, `{"foo": "bar"}`},
		{"200 with ResponseBody sends it raw", []string{"X-Code", "200", "X-Body", "foobar"}, 200, "foobar"},
		{"400 wraps the text in the error body", []string{"X-Code", "400", "X-Error", `{"foo": "bar"}`}, 400, gatewaytest.TykError(`{\"foo\": \"bar\"}`)},
		{"401 wraps ResponseBody too", []string{"X-Code", "401", "X-Body", "foobar"}, 401, gatewaytest.TykError("foobar")},
		{"400 with OverrideError is raw", []string{"X-Code", "400", "X-Error", `{"foo": "bar"}`, "X-Override", "1"}, 400, `{"foo": "bar"}`},
		{"401 with OverrideError is raw", []string{"X-Code", "401", "X-Body", "foobar", "X-Override", "1"}, 401, "foobar"},
		{"ResponseError wins over ResponseBody", []string{"X-Code", "403", "X-Body", "body", "X-Error", "error"}, 403, gatewaytest.TykError("error")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := j.call(t, "GET", "/ro/x", "", c.header...)
			if r.Status != c.status || r.Body != c.body || r.Header.Get("X-Foo") != "Bar" {
				t.Fatalf("got %d %q X-Foo=%q", r.Status, r.Body, r.Header.Get("X-Foo"))
			}
			if r.Header.Get("X-Upstream") != "" {
				t.Fatal("the upstream was called")
			}
		})
	}
	t.Run("a forced response carries Server: tyk and zero rate-limit headers", func(t *testing.T) {
		r := j.call(t, "GET", "/ro/x", "", "X-Code", "202", "X-Body", "ok")
		if r.Header.Get("Server") != "tyk" || r.Header.Get("X-Ratelimit-Limit") != "0" || r.Header.Get("X-Ratelimit-Remaining") != "0" {
			t.Fatalf("headers %v", r.Header)
		}
	})
	t.Run("code 0 goes on to the upstream", func(t *testing.T) {
		gatewaytest.EchoOf(t, j.call(t, "GET", "/ro/x", "", "X-Code", "0"))
	})
}

func TestFailingScriptsAnswerTyksError(t *testing.T) {
	j := start(t)
	src := `
var bad = new TykJS.TykMiddleware.NewMiddleware({});
bad.NewProcessRequest(function (request, session, config) {
    switch (request.Headers["X-Case"][0]) {
    case "throw": throw new Error("boom");
    case "undefined": return undefined;
    case "session": var r = bad.ReturnData(request, {}); r.Session = "x"; return r;
    case "meta": return bad.ReturnData(request, {n: 1});
    case "plain": return request;
    case "type": request.SetHeaders = "not an object"; return bad.ReturnData(request, {});
    }
    return bad.ReturnData(request, {});
});
var lazy = new TykJS.TykMiddleware.NewMiddleware({});
`
	path := j.script(t, "bad.js", src)
	j.api(t, "bad", hooks(`"pre":[`+mw("bad", path)+`]`))
	j.api(t, "missing", hooks(`"pre":[`+mw("nobody", path)+`]`))
	j.api(t, "lazy", hooks(`"pre":[`+mw("lazy", path)+`]`))
	for _, c := range []string{"throw", "undefined", "session", "meta", "plain", "type"} {
		t.Run(c+" is a 500", func(t *testing.T) {
			if r := j.call(t, "GET", "/bad/x", "", "X-Case", c); r.Status != 500 || r.Body != gatewaytest.TykError("Internal Server Error") {
				t.Fatalf("got %d %q", r.Status, r.Body)
			}
		})
	}
	t.Run("the API serves on after failures", func(t *testing.T) {
		gatewaytest.EchoOf(t, j.call(t, "GET", "/bad/x", "", "X-Case", "fine"))
	})
	t.Run("a missing middleware object is a 500", func(t *testing.T) {
		if r := j.call(t, "GET", "/missing/x", ""); r.Status != 500 || r.Body != gatewaytest.TykError("Internal Server Error") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
	t.Run("NewProcessRequest never called is a 500", func(t *testing.T) {
		if r := j.call(t, "GET", "/lazy/x", ""); r.Status != 500 || r.Body != gatewaytest.TykError("Internal Server Error") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
}

func TestScriptThatLoopsIsStoppedWhileOthersAreServed(t *testing.T) {
	started := make(chan struct{})
	var once sync.Once
	signal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(started) })
	}))
	defer signal.Close()
	j := start(t, func(c *config.Config) { c.JSVMTimeout = 3 })
	src := `
var spin = new TykJS.TykMiddleware.NewMiddleware({});
spin.NewProcessRequest(function (request, session, config) {
    if (request.Headers["X-Spin"]) {
        TykMakeHttpRequest(JSON.stringify({Method: "GET", Domain: "` + signal.URL + `", Resource: "/started"}));
        while (true) {}
    }
    return spin.ReturnData(request, {});
});`
	j.api(t, "spin", hooks(`"pre":[`+mw("spin", j.script(t, "spin.js", src))+`]`))

	looped := make(chan gatewaytest.Response, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", j.URL+"/spin/loop", nil)
		req.Header.Set("X-Spin", "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			looped <- gatewaytest.Response{}
			return
		}
		defer resp.Body.Close()
		b := new(strings.Builder)
		_, _ = io.Copy(b, resp.Body)
		looped <- gatewaytest.Response{Status: resp.StatusCode, Body: b.String()}
	}()
	<-started // the script is in its loop now
	gatewaytest.EchoOf(t, j.call(t, "GET", "/spin/plain", ""))
	select {
	case r := <-looped:
		t.Fatalf("the looping request ended before the plain one was served: %d %q", r.Status, r.Body)
	default: // the loop was still running while the plain request was served
	}
	if r := <-looped; r.Status != 500 || r.Body != gatewaytest.TykError("Internal Server Error") {
		t.Fatalf("the looping request got %d %q", r.Status, r.Body)
	}
	gatewaytest.EchoOf(t, j.call(t, "GET", "/spin/after", ""))
}

func TestJSVMOff(t *testing.T) {
	j := start(t, func(c *config.Config) { c.EnableJSVM = false })
	j.api(t, "off", hooks(`"pre":[`+mw("samplePre", j.script(t, "pre.js", samplePre))+`]`))
	if r := j.call(t, "GET", "/off/x", ""); r.Status != 500 || r.Body != gatewaytest.TykError("Middleware error") {
		t.Fatalf("got %d %q", r.Status, r.Body)
	}
	j.api(t, "voff", `"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default","use_extended_paths":true,
		"extended_paths":{"virtual":[{"path":"/v","method":"GET","response_function_name":"f","function_source_type":"blob",
		"function_source_uri":"`+b64(`function f(){ return TykJsResponse({Body:"js",Code:200}, {}); }`)+`"}]}}}}`)
	if e := gatewaytest.EchoOf(t, j.call(t, "GET", "/voff/v", "")); e.Path != "/v" {
		t.Fatalf("virtual path without enable_jsvm goes upstream: %+v", e)
	}
}

func TestScriptThatNeverLoadsIsLeftOut(t *testing.T) {
	j := start(t, func(c *config.Config) { c.JSVMTimeout = 1 })
	hang := j.script(t, "hang.js", `var hung = new TykJS.TykMiddleware.NewMiddleware({}); while (true) {}`)
	fn := b64(`function hello() { return TykJsResponse({Body: "still here", Code: 200}, {}); }`)
	j.api(t, "hang", hooks(`"post":[`+mw("hung", hang)+`]`)+","+withPaths(`"virtual":[`+virtual("/v", "GET", "hello", "blob", fn)+`]`))
	for i := 0; i < 3; i++ {
		if r := j.call(t, "GET", "/hang/v", ""); r.Status != 200 || r.Body != "still here" {
			t.Fatalf("the API's other scripts: %d %q", r.Status, r.Body)
		}
		if r := j.call(t, "GET", "/hang/x", ""); r.Status != 500 || r.Body != gatewaytest.TykError("Internal Server Error") {
			t.Fatalf("the left-out middleware: %d %q", r.Status, r.Body)
		}
	}
}
