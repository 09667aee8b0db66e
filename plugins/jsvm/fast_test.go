package jsvm

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/dop251/goja"

	"github.com/tollgate/tollgate/gateway/apidef"
)

// The fast reader must agree with the JSON decoding it stands in for:
// where it takes a result it must produce the same outcome, and where
// JSON would fail or read keys case-insensitively it must step aside.
func TestFastResultMatchesJSONDecoding(t *testing.T) {
	cases := []struct {
		name, body string
		fast       bool // the fast reader takes it
		fails      bool // JSON decoding fails
	}{
		{"plain", `request.SetHeaders["A"] = "1"; return m.ReturnData(request, {k: "v"});`, true, false},
		{"everything", `request.SetHeaders["A"] = "1"; request.DeleteHeaders.push("B"); request.AddParams.p = "q";
			request.DeleteParams.push("d"); request.ExtendedParams.e = ["1", "2"]; request.URL = "/n?x=1"; request.IgnoreBody = true;
			var ro = request.ReturnOverrides; ro.ResponseCode = 418; ro.ResponseError = "e"; ro.ResponseBody = "b";
			ro.ResponseHeaders = {"X": "y"}; ro.OverrideError = true; return m.ReturnData(request, {});`, true, false},
		{"no metadata", `return m.ReturnData(request);`, true, false},
		{"null metadata", `return m.ReturnData(request, null);`, true, false},
		{"numeric metadata", `return m.ReturnData(request, {n: 1});`, false, true},
		{"lower-case key", `return {Request: request, sessionmeta: {a: "b"}};`, false, false},
		{"session and auth value", `return {Request: request, Session: {rate: 3}, AuthValue: "id"};`, false, false},
		{"null header value", `request.SetHeaders["A"] = null; return m.ReturnData(request, {});`, false, false},
		{"undefined header value", `request.SetHeaders["A"] = undefined; return m.ReturnData(request, {});`, false, false},
		{"number header value", `request.SetHeaders["A"] = 5; return m.ReturnData(request, {});`, false, true},
		{"boxed string", `request.SetHeaders["A"] = new String("s"); return m.ReturnData(request, {});`, false, false},
		{"fractional code", `request.ReturnOverrides.ResponseCode = 200.5; return m.ReturnData(request, {});`, false, true},
		{"string code", `request.ReturnOverrides.ResponseCode = "200"; return m.ReturnData(request, {});`, false, true},
		{"array as map", `request.SetHeaders = ["a"]; return m.ReturnData(request, {});`, false, true},
		{"toJSON", `request.SetHeaders = {toJSON: function () { return {Z: "z"}; }}; return m.ReturnData(request, {});`, false, false},
		{"extra property", `request.Extra = 1; return m.ReturnData(request, {});`, false, false},
		{"replaced params", `request.Params = {a: ["b"]}; return m.ReturnData(request, {});`, false, false},
		{"hole in a list", `request.DeleteHeaders[2] = "x"; return m.ReturnData(request, {});`, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := `var m = new TykJS.TykMiddleware.NewMiddleware({});
m.NewProcessRequest(function (request, session, config) { ` + c.body + ` });`
			prog, err := compileScript("case.js", src)
			if err != nil {
				t.Fatal(err)
			}
			a := &apiJS{log: slog.New(slog.NewTextHandler(io.Discard, nil)), timeout: 5 * time.Second, configJSON: []byte(`{}`),
				scripts: []script{*prog}}
			v, problems := newVM(a)
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			r := httptest.NewRequest("GET", "/x", strings.NewReader("body"))
			rq := newReqObject(v, r, middlewareShape)
			var res goja.Value
			err = v.run(context.Background(), func() error {
				fn, this, err := v.method("m", "DoProcessRequest")
				if err != nil {
					return err
				}
				res, err = fn(this, v.rt.NewDynamicObject(rq), v.lazyJSON(zeroSession()), v.lazyJSON(a.configJSON))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			obj := res.(*goja.Object)
			fast := &outcome{}
			tookFast := fastResult(obj, rq, fast)
			if tookFast != c.fast {
				t.Fatalf("fast reader took it: %v, want %v", tookFast, c.fast)
			}
			slow, err := v.decodeResult(obj, obj.Get("Request").(*goja.Object), rq)
			if (err != nil) != c.fails {
				t.Fatalf("JSON decoding error %v, want failure %v", err, c.fails)
			}
			if tookFast {
				slow.Request.Headers, slow.Request.Body = nil, nil
				if !reflect.DeepEqual(fast.mwResult, slow.mwResult) {
					t.Fatalf("fast %+v\nJSON %+v", fast.mwResult, slow.mwResult)
				}
			}
		})
	}
}

// The state built for a definition goes away with the definition: the
// cache holds it weakly, so reloads do not pile up runtimes.
func TestStateIsDroppedWithItsDefinition(t *testing.T) {
	var keys []weak.Pointer[apidef.Definition]
	func() {
		for i := 0; i < 5; i++ {
			def := &apidef.Definition{APIID: "weak", VersionData: apidef.VersionData{NotVersioned: true, Versions: map[string]apidef.VersionInfo{
				"Default": {ExtendedPaths: apidef.ExtendedPath{Virtual: []apidef.VirtualMeta{{Path: "/v", Method: "GET",
					ResponseFunctionName: "f", FunctionSourceType: "blob", FunctionSourceURI: "ZnVuY3Rpb24gZigpe30="}}}}}}}
			if forAPI(def, nil) == nil {
				t.Fatal("no state built")
			}
			keys = append(keys, weak.Make(def))
		}
	}()
	cached := func() int {
		cache.Lock()
		defer cache.Unlock()
		n := 0
		for _, k := range keys {
			if _, ok := cache.m[k]; ok {
				n++
			}
		}
		return n
	}
	for i := 0; i < 100 && cached() > 0; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // cleanups run on their own goroutine
	}
	if n := cached(); n != 0 {
		t.Fatalf("%d of %d entries are still cached", n, len(keys))
	}
}
