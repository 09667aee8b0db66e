package jsvm_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

// A pre hook in the shape of Tyk's sample middleware: one header set, a
// parameter added and one deleted, the body replaced.
const samplePre = `
var samplePre = new TykJS.TykMiddleware.NewMiddleware({});
samplePre.NewProcessRequest(function (request, session, config) {
    request.SetHeaders["User-Agent"] = "Tyk-Custom-JSVM-Middleware";
    request.AddParams["test_param"] = "My Teapot";
    request.DeleteParams.push("delete_me");
    request.DeleteHeaders.push("X-Remove-Me");
    request.Body = "New Request body";
    return samplePre.ReturnData(request, {});
});
`

func TestPreMiddlewareChangesTheUpstreamRequest(t *testing.T) {
	j := start(t)
	j.api(t, "pre", hooks(`"pre":[`+mw("samplePre", j.script(t, "pre.js", samplePre))+`]`))
	e := gatewaytest.EchoOf(t, j.call(t, "POST", "/pre/anything?delete_me=1&keep=2", "original body", "X-Remove-Me", "x", "X-Keep", "y"))
	if e.Header.Get("User-Agent") != "Tyk-Custom-JSVM-Middleware" {
		t.Errorf("User-Agent %q", e.Header.Get("User-Agent"))
	}
	if e.Header.Get("X-Remove-Me") != "" || e.Header.Get("X-Keep") != "y" {
		t.Errorf("headers %v", e.Header)
	}
	q, _ := url.ParseQuery(e.Query)
	if q.Get("test_param") != "My Teapot" || q.Has("delete_me") || q.Get("keep") != "2" {
		t.Errorf("query %q", e.Query)
	}
	if e.Query != "keep=2&test_param=My+Teapot" {
		t.Errorf("query is re-encoded with sorted keys: %q", e.Query)
	}
	if e.Body != "New Request body" || e.Path != "/anything" {
		t.Errorf("body %q path %q", e.Body, e.Path)
	}
}

func TestRequestObjectFields(t *testing.T) {
	j := start(t)
	src := `
var show = new TykJS.TykMiddleware.NewMiddleware({});
show.NewProcessRequest(function (request, session, config) {
    var ro = request.ReturnOverrides;
    request.SetHeaders["X-Seen"] = JSON.stringify({
        method: request.Method, url: request.URL, uri: request.RequestURI, scheme: request.Scheme,
        host: request.Headers["Host"][0], custom: request.Headers["X-Custom"], params: request.Params,
        body: request.Body, ignore: request.IgnoreBody, keys: Object.keys(request),
        ro: [ro.ResponseCode, ro.ResponseError, ro.ResponseBody, ro.ResponseHeaders, ro.OverrideError],
        session: [session.rate, session.meta_data, session.date_created, session.quota_max],
        config: config
    });
    return show.ReturnData(request, {});
});`
	j.api(t, "fields", hooks(`"pre":[`+mw("show", j.script(t, "show.js", src))+`]`)+`,"config_data":{"tenant":"acme"}`)
	e := gatewaytest.EchoOf(t, j.call(t, "PUT", "/fields/a/b?x=1&x=2&y=", "the body", "X-Custom", "v"))
	want := `{"method":"PUT","url":"/fields/a/b?x=1&x=2&y=","uri":"/fields/a/b?x=1&x=2&y=","scheme":"http",` +
		`"host":"` + strings.TrimPrefix(j.URL, "http://") + `","custom":["v"],"params":{"x":["1","2"],"y":[""]},` +
		`"body":"the body","ignore":false,"keys":["Headers","SetHeaders","DeleteHeaders","Body","URL","Params",` +
		`"AddParams","ExtendedParams","DeleteParams","ReturnOverrides","IgnoreBody","Method","RequestURI","Scheme"],` +
		`"ro":[0,"","",null,false],"session":[0,null,"0001-01-01T00:00:00Z",0],` +
		`"config":{"APIID":"fields","OrgID":"org1","config_data":{"tenant":"acme"}}}`
	if got := e.Header.Get("X-Seen"); got != want {
		t.Fatalf("request object:\n got %s\nwant %s", got, want)
	}
	if e.Body != "the body" {
		t.Fatalf("a body the script only read must pass unchanged: %q", e.Body)
	}
}

func TestGojaDriverNameAndReload(t *testing.T) {
	j := start(t)
	path := j.script(t, "v.js", strings.ReplaceAll(samplePre, "Tyk-Custom-JSVM-Middleware", "first"))
	def := `"custom_middleware":{"driver":"goja","pre":[` + mw("samplePre", path) + `]}`
	j.api(t, "goja", def)
	if e := gatewaytest.EchoOf(t, j.call(t, "GET", "/goja/x", "")); e.Header.Get("User-Agent") != "first" {
		t.Fatalf("driver goja: %v", e.Header)
	}
	j.script(t, "v.js", strings.ReplaceAll(samplePre, "Tyk-Custom-JSVM-Middleware", "second"))
	if e := gatewaytest.EchoOf(t, j.call(t, "GET", "/goja/x", "")); e.Header.Get("User-Agent") != "first" {
		t.Fatalf("scripts change only on reload: %v", e.Header)
	}
	j.api(t, "goja", def)
	if e := gatewaytest.EchoOf(t, j.call(t, "GET", "/goja/x", "")); e.Header.Get("User-Agent") != "second" {
		t.Fatalf("after a reload: %v", e.Header)
	}
}
