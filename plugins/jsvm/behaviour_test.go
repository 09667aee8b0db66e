package jsvm_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

func TestBodiesStayByteExact(t *testing.T) {
	var got [][]byte
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, b)
	}))
	defer up.Close()
	j := start(t)
	src := `
var touch = new TykJS.TykMiddleware.NewMiddleware({});
touch.NewProcessRequest(function (request, session, config) {
    if (request.Headers["X-Append"]) { request.Body = request.Body + "!"; }
    if (request.Headers["X-Ignore"]) { request.Body = "replaced"; request.IgnoreBody = true; }
    request.SetHeaders["X-B64"] = b64enc(request.Body);
    return touch.ReturnData(request, {});
});
var untouched = new TykJS.TykMiddleware.NewMiddleware({});
untouched.NewProcessRequest(function (request, session, config) {
    request.SetHeaders["X-Touched"] = "no";
    return untouched.ReturnData(request, {});
});`
	path := j.script(t, "touch.js", src)
	j.up = up.URL
	j.api(t, "bytes", hooks(`"pre":[`+mw("touch", path)+`]`))
	j.api(t, "stream", hooks(`"pre":[`+mw("untouched", path)+`]`))
	body := "a\xff\x00b\xef\xbf\xbf\xc3(\xe2\x82\xac"
	send := func(api string, header ...string) []byte {
		t.Helper()
		r := j.call(t, "POST", "/"+api+"/x", body, header...)
		if r.Status != 200 {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
		return got[len(got)-1]
	}
	if b := send("bytes", "X-Append", "1"); !bytes.Equal(b, []byte(body+"!")) {
		t.Fatalf("appending kept %q, want %q", b, body+"!")
	}
	if b := send("bytes"); !bytes.Equal(b, []byte(body)) {
		t.Fatalf("read only: %q", b)
	}
	if b := send("bytes", "X-Ignore", "1"); !bytes.Equal(b, []byte(body)) {
		t.Fatalf("IgnoreBody: %q", b)
	}
	if b := send("stream"); !bytes.Equal(b, []byte(body)) {
		t.Fatalf("untouched: %q", b)
	}
}

func TestURLParamsAndHeaderCase(t *testing.T) {
	src := `
var rewrite = new TykJS.TykMiddleware.NewMiddleware({});
rewrite.NewProcessRequest(function (request, session, config) {
    request.URL = "/rewrite/moved?a=1";
    request.ExtendedParams["a"] = ["2", "3"];
    request.AddParams["b"] = "x";
    request.SetHeaders["x-lower-case"] = "kept";
    return rewrite.ReturnData(request, {});
});
var badURL = new TykJS.TykMiddleware.NewMiddleware({});
badURL.NewProcessRequest(function (request, session, config) {
    request.URL = "%zz";
    request.SetHeaders["X-Not-Applied"] = "1";
    return badURL.ReturnData(request, {});
});`
	for _, exact := range []bool{false, true} {
		j := start(t, func(c *config.Config) { c.IgnoreCanonicalMIMEHeaderKey = exact })
		path := j.script(t, "rw.js", src)
		j.api(t, "badurl", hooks(`"pre":[`+mw("badURL", path)+`]`))
		if e := gatewaytest.EchoOf(t, j.call(t, "GET", "/badurl/x", "")); e.Path != "/x" || e.Header.Get("X-Not-Applied") != "" {
			t.Fatalf("an unparsable URL stops the rest of the result: %+v", e)
		}
		j.up = rawUpstream(t)
		j.api(t, "rewrite", hooks(`"pre":[`+mw("rewrite", path)+`]`))
		head := j.call(t, "GET", "/rewrite/original?z=9", "").Body
		if !strings.HasPrefix(head, "GET /moved?a=1&a=2&a=3&b=x HTTP/1.1\r\n") {
			t.Fatalf("upstream saw %q", head)
		}
		want := "\r\nX-Lower-Case: kept\r\n"
		if exact {
			want = "\r\nx-lower-case: kept\r\n"
		}
		if !strings.Contains(head, want) {
			t.Fatalf("ignore_canonical_mime_header_key=%v: upstream saw %q", exact, head)
		}
	}
}

func TestCallsDoNotShareGlobals(t *testing.T) {
	j := start(t)
	src := `
var counter = 0;
var count = new TykJS.TykMiddleware.NewMiddleware({});
count.NewProcessRequest(function (request, session, config) {
    counter++;
    request.SetHeaders["X-Counter"] = String(counter);
    return count.ReturnData(request, {});
});`
	j.api(t, "count", hooks(`"pre":[`+mw("count", j.script(t, "count.js", src))+`]`))
	for i := 0; i < 5; i++ {
		if e := gatewaytest.EchoOf(t, j.call(t, "GET", "/count/x", "")); e.Header.Get("X-Counter") != "1" {
			t.Fatalf("call %d saw counter %q", i, e.Header.Get("X-Counter"))
		}
	}
	t.Run("an undeclared global set by one request is gone for the next", func(t *testing.T) {
		leak := `
var leaky = new TykJS.TykMiddleware.NewMiddleware({});
leaky.NewProcessRequest(function (request, session, config) {
    if (request.Params["token"]) { token = request.Params["token"][0]; }
    request.SetHeaders["X-Token"] = typeof token === "undefined" ? "none" : token;
    return leaky.ReturnData(request, {});
});`
		j.api(t, "leak", hooks(`"pre":[`+mw("leaky", j.script(t, "leak.js", leak))+`]`))
		if e := gatewaytest.EchoOf(t, j.call(t, "GET", "/leak/x?token=secret", "")); e.Header.Get("X-Token") != "secret" {
			t.Fatalf("first call: %q", e.Header.Get("X-Token"))
		}
		for i := 0; i < 5; i++ {
			if e := gatewaytest.EchoOf(t, j.call(t, "GET", "/leak/x", "")); e.Header.Get("X-Token") != "none" {
				t.Fatalf("a later call saw %q", e.Header.Get("X-Token"))
			}
		}
	})
}

func TestFolderMiddlewareAndSharedHelpers(t *testing.T) {
	helpers := filepath.Join(t.TempDir(), "helpers.js")
	if err := os.WriteFile(helpers, []byte(`function shout(s) { return s.toUpperCase(); }`), 0o644); err != nil {
		t.Fatal(err)
	}
	j := start(t, func(c *config.Config) { c.TykJSPath = helpers })
	j.script(t, "folders/pre/tagPre.js", `
var tagPre = new TykJS.TykMiddleware.NewMiddleware({});
tagPre.NewProcessRequest(function (request, session, config) {
    request.SetHeaders["X-Pre"] = shout("pre") + "-" + _.map([1, 2], function (n) { return n * 2; }).join("");
    return tagPre.ReturnData(request, {});
});`)
	j.script(t, "folders/post/tagPost_with_session.js", `
var tagPost_with_session = new TykJS.TykMiddleware.NewMiddleware({});
tagPost_with_session.NewProcessRequest(function (request, session, config) {
    request.SetHeaders["X-Post"] = session === null ? "null session" : "session";
    return tagPost_with_session.ReturnData(request, {});
});`)
	j.script(t, "folders/post_auth/tagPostAuth.js", `
var tagPostAuth = new TykJS.TykMiddleware.NewMiddleware({});
tagPostAuth.NewProcessRequest(function (request, session, config) {
    request.SetHeaders["X-Post-Auth"] = "ran";
    return tagPostAuth.ReturnData(request, {});
});`)
	j.api(t, "folders", `"custom_middleware":{"driver":"otto"}`)
	e := gatewaytest.EchoOf(t, j.call(t, "GET", "/folders/x", ""))
	if e.Header.Get("X-Pre") != "PRE-24" || e.Header.Get("X-Post") != "null session" || e.Header.Get("X-Post-Auth") != "" {
		t.Fatalf("folder hooks on a keyless API: %v", e.Header)
	}
	j.api(t, "folders", `"use_keyless":false,"custom_middleware":{"driver":"otto"}`)
	j.Do(t, "POST", "/tyk/keys/folderkey", `{"org_id":"org1","access_rights":{"folders":{"api_id":"folders"}}}`)
	e = gatewaytest.EchoOf(t, j.call(t, "GET", "/folders/x", "", "Authorization", "folderkey"))
	if e.Header.Get("X-Post") != "session" || e.Header.Get("X-Post-Auth") != "ran" {
		t.Fatalf("folder hooks on a keyed API: %v", e.Header)
	}
}

func TestResponseHook(t *testing.T) {
	j := start(t)
	src := `
var shape = new TykJS.TykMiddleware.NewMiddleware({});
shape.NewProcessResponse(function (request, response, session, config) {
    var doc = JSON.parse(response.Body);
    response.Body = JSON.stringify({wrapped: doc.path, code: response.Code, method: request.Method});
    response.Code = 203;
    response.SetHeaders["X-Shaped"] = "yes";
    response.DeleteHeaders.push("X-Upstream");
    return shape.ReturnResponseData(response, {});
});
var tag = new TykJS.TykMiddleware.NewMiddleware({});
tag.NewProcessResponse(function (request, response, session, config) {
    response.SetHeaders["X-Tagged"] = response.Headers["Server"] ? response.Headers["Server"][0] : "upstream";
    return tag.ReturnResponseData(response, {});
});`
	path := j.script(t, "resp.js", src)
	j.api(t, "resp", hooks(`"response":[`+mw("shape", path)+`]`))
	r := j.call(t, "GET", "/resp/thing", "")
	if r.Status != 203 || r.Body != `{"wrapped":"/thing","code":200,"method":"GET"}` || r.Header.Get("X-Shaped") != "yes" || r.Header.Get("X-Upstream") != "" {
		t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
	}
	t.Run("response hooks run on virtual endpoint responses", func(t *testing.T) {
		j.api(t, "respv", hooks(`"response":[`+mw("tag", path)+`]`)+","+withPaths(`"virtual":[`+
			virtual("/v", "GET", "f", "blob", b64(`function f(){ return TykJsResponse({Body:"js",Code:200},{}); }`))+`]`))
		r := j.call(t, "GET", "/respv/v", "")
		if r.Status != 200 || r.Body != "js" || r.Header.Get("X-Tagged") != "tyk" {
			t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
		}
	})
}

func TestGlobals(t *testing.T) {
	j := start(t)
	src := `
var g = new TykJS.TykMiddleware.NewMiddleware({});
g.NewProcessRequest(function (request, session, config) {
    var out = {
        b64: b64enc("héllo"), back: b64dec(b64enc("héllo")), unpadded: b64dec("aGk"),
        raw: rawb64enc("hi"), rawBack: rawb64dec("aGk"), rawBad: typeof rawb64dec("a-_"),
        bad: typeof b64dec("!!!"), undef: typeof TykMakeHttpRequest(undefined),
        underscore: _.VERSION, missingKey: JSON.parse(TykGetKeyData("nope", config.APIID))
    };
    TykSetKeyData("jskey", JSON.stringify({org_id: "org1", rate: 5, per: 1, access_rights: {}}), "0");
    out.key = JSON.parse(TykGetKeyData("jskey", config.APIID)).rate;
    var echoed = JSON.parse(TykMakeHttpRequest(JSON.stringify({
        Method: "POST", Domain: "` + j.up + `", Resource: "/made?x=1", Headers: {"x-made": "1"}, Body: "payload"
    })));
    out.made = [echoed.Code, echoed.code, JSON.parse(echoed.Body).body, JSON.parse(echoed.body).query, echoed.Headers["X-Upstream"][0]];
    var batch = JSON.parse(TykBatchRequest(JSON.stringify({
        requests: [{method: "GET", relative_url: "` + j.up + `/one"}, {method: "GET", relative_url: "` + j.up + `/two"}],
        suppress_parallel_execution: true
    })));
    out.batch = _.map(batch, function (b) { return [b.relative_url.slice(-4), b.code, JSON.parse(b.body).path]; });
    request.SetHeaders["X-Out"] = JSON.stringify(out);
    return g.ReturnData(request, {});
});`
	j.api(t, "globals", hooks(`"pre":[`+mw("g", j.script(t, "g.js", src))+`]`))
	e := gatewaytest.EchoOf(t, j.call(t, "GET", "/globals/x", ""))
	var out map[string]any
	if err := json.Unmarshal([]byte(e.Header.Get("X-Out")), &out); err != nil {
		t.Fatalf("%v: %q", err, e.Header.Get("X-Out"))
	}
	want := `{"b64":"aMOpbGxv","back":"héllo","bad":"undefined","batch":[["/one",200,"/one"],["/two",200,"/two"]],` +
		`"key":5,"made":[200,200,"payload","x=1","echo"],"missingKey":{"message":"Key not found","status":"error"},` +
		`"raw":"aGk","rawBack":"hi","rawBad":"undefined","undef":"undefined","underscore":"1.13.8","unpadded":"hi"}`
	if b, _ := json.Marshal(out); string(b) != want {
		t.Fatalf("globals:\n got %s\nwant %s", b, want)
	}
	if !strings.Contains(e.Header.Get("X-Out"), `"key":5`) {
		t.Fatal("TykSetKeyData did not store the key")
	}
}

// rawUpstream answers every request with its head exactly as it arrived,
// so header names are seen as written.
func rawUpstream(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				rd := bufio.NewReader(c)
				var head strings.Builder
				for {
					line, err := rd.ReadString('\n')
					head.WriteString(line)
					if err != nil || line == "\r\n" {
						break
					}
				}
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", head.Len(), head.String())
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}
