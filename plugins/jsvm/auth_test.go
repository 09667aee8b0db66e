package jsvm_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/gateway/session"
)

// queryAuth accepts the token "foobar" in the auth query parameter.
const queryAuthJS = `
var queryAuth = new TykJS.TykMiddleware.NewMiddleware({});
queryAuth.NewProcessRequest(function (request, session, config) {
    var token = request.Params["auth"];
    if (!token) {
        request.ReturnOverrides.ResponseCode = 401;
        request.ReturnOverrides.ResponseError = "Header missing (JS middleware)";
        return queryAuth.ReturnAuthData(request, session);
    }
    if (token != "foobar") {
        request.ReturnOverrides.ResponseCode = 401;
        request.ReturnOverrides.ResponseError = "Not authorized (JS middleware)";
        return queryAuth.ReturnAuthData(request, session);
    }
    var result = queryAuth.ReturnAuthData(request, {
        rate: 100, per: 1, quota_max: -1, org_id: config.OrgID,
        access_rights: {}, meta_data: {user: "foo"}
    });
    result.AuthValue = "foobar-identity";
    return result;
});`

func TestJSAuthCheck(t *testing.T) {
	j := start(t)
	auth := mw("queryAuth", j.script(t, "auth.js", queryAuthJS))
	j.api(t, "jsauth", `"use_keyless":false,"custom_plugin_auth_enabled":true,`+hooks(`"auth_check":`+auth))
	t.Run("no token is 401 with the script's message", func(t *testing.T) {
		if r := j.call(t, "GET", "/jsauth/x", ""); r.Status != 401 || r.Body != gatewaytest.TykError("Header missing (JS middleware)") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
	t.Run("a wrong token is 401", func(t *testing.T) {
		if r := j.call(t, "GET", "/jsauth/x?auth=nope", ""); r.Status != 401 || r.Body != gatewaytest.TykError("Not authorized (JS middleware)") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
	t.Run("the right token passes and the session is stored under AuthValue", func(t *testing.T) {
		e := gatewaytest.EchoOf(t, j.call(t, "GET", "/jsauth/x?auth=foobar", ""))
		if e.Query != "auth=foobar" {
			t.Fatalf("upstream query %q", e.Query)
		}
		raw, err := j.Store.Get(context.Background(), "apikey-foobar-identity")
		if err != nil {
			t.Fatalf("session not stored under AuthValue: %v", err)
		}
		var s session.State
		if err := json.Unmarshal(raw, &s); err != nil || s.Rate != 100 || s.MetaData["user"] != "foo" {
			t.Fatalf("stored session %s (%v)", raw, err)
		}
	})
	t.Run("token auth is not added next to custom auth", func(t *testing.T) {
		gatewaytest.EchoOf(t, j.call(t, "GET", "/jsauth/x?auth=foobar", "", "Authorization", "whatever"))
	})
}

func TestSessionAwarePostHook(t *testing.T) {
	j := start(t)
	src := `
var meta = new TykJS.TykMiddleware.NewMiddleware({});
meta.NewProcessRequest(function (request, session, config) {
    request.SetHeaders["X-User"] = session.meta_data.user;
    request.SetHeaders["X-Quota"] = String(session.quota_max);
    var m = {user: session.meta_data.user, seen: "yes"};
    if (request.Headers["X-Clear"]) { m = {}; }
    return meta.ReturnData(request, m);
});
var quiet = new TykJS.TykMiddleware.NewMiddleware({});
quiet.NewProcessRequest(function (request, session, config) {
    log("session is " + session);
    return quiet.ReturnData(request, {});
});`
	path := j.script(t, "meta.js", src)
	j.api(t, "keyed", `"use_keyless":false,`+hooks(`"post":[`+mw("meta", path, `"require_session":true`)+`]`))
	if r := j.Do(t, "POST", "/tyk/keys/metakey", `{"org_id":"org1","quota_max":-1,"meta_data":{"user":"ann"},"access_rights":{"keyed":{"api_id":"keyed"}}}`); r.Status != 200 {
		t.Fatalf("key: %d %s", r.Status, r.Body)
	}
	stored := func() map[string]any {
		t.Helper()
		r := j.Do(t, "GET", "/tyk/keys/metakey?org_id=org1", "")
		var s session.State
		if err := json.Unmarshal([]byte(r.Body), &s); err != nil {
			t.Fatalf("key: %d %s", r.Status, r.Body)
		}
		return s.MetaData
	}
	e := gatewaytest.EchoOf(t, j.call(t, "GET", "/keyed/x", "", "Authorization", "metakey"))
	if e.Header.Get("X-User") != "ann" || e.Header.Get("X-Quota") != "-1" {
		t.Fatalf("the hook did not see the key's session: %v", e.Header)
	}
	if m := stored(); m["seen"] != "yes" || m["user"] != "ann" {
		t.Fatalf("metadata not written back: %v", m)
	}
	gatewaytest.EchoOf(t, j.call(t, "GET", "/keyed/x", "", "Authorization", "metakey", "X-Clear", "1"))
	if m := stored(); len(m) != 0 {
		t.Fatalf("returned metadata replaces it wholesale: %v", m)
	}

	t.Run("a keyless API gives null and a hook that does not read it works", func(t *testing.T) {
		j.api(t, "keyless", hooks(`"post":[`+mw("quiet", path, `"require_session":true`)+`]`))
		gatewaytest.EchoOf(t, j.call(t, "GET", "/keyless/test/", ""))
	})
	t.Run("metadata is not written back without require_session", func(t *testing.T) {
		j.api(t, "nosess", `"use_keyless":false,`+hooks(`"pre":[`+mw("quiet", path)+`]`))
		g := j.Do(t, "POST", "/tyk/keys/other", `{"org_id":"org1","meta_data":{"a":"b"},"access_rights":{"nosess":{"api_id":"nosess"}}}`)
		if g.Status != 200 {
			t.Fatalf("key: %d %s", g.Status, g.Body)
		}
		gatewaytest.EchoOf(t, j.call(t, "GET", "/nosess/x", "", "Authorization", "other"))
		r := j.Do(t, "GET", "/tyk/keys/other?org_id=org1", "")
		var s session.State
		_ = json.Unmarshal([]byte(r.Body), &s)
		if s.MetaData["a"] != "b" {
			t.Fatalf("metadata changed: %v", s.MetaData)
		}
	})
}
