package dataplane_test

import (
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

func TestBodyTransforms(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	g.AddAPI(t, `{"api_id":"tr","org_id":"org1",
		"proxy":{"listen_path":"/tr/","target_url":"`+gatewaytest.Upstream(t)+`","strip_listen_path":true},
		"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default","use_extended_paths":true,
			"extended_paths":{
				"transform":[
					{"path":"/greet","method":"POST","template_data":{"input_type":"json","template_mode":"blob","enable_session":true,"template_source":"eyJncmVldGluZyI6ImhpIHt7Lm5hbWV9fSIsInVzZXIiOiJ7ey5fdHlrX21ldGEudXNlcn19IiwibiI6e3tsZW4gLnRhZ3N9fX0="}},
					{"path":"/list","method":"POST","template_data":{"input_type":"json","template_mode":"blob","template_source":"e3tyYW5nZSAuYXJyYXl9fVt7ey59fV17e2VuZH19"}}],
				"transform_response":[
					{"path":"/summary","method":"GET","template_data":{"input_type":"json","template_mode":"blob","template_source":"eyJzZWVuIjoie3subWV0aG9kfX0ge3sucGF0aH19In0="}}]}}}}}`)
	g.Do(t, "POST", "/tyk/keys/trkey", `{"org_id":"org1","meta_data":{"user":"bob"},"access_rights":{"tr":{"api_id":"tr"}}}`)
	t.Run("request body through a template with the key's metadata", func(t *testing.T) {
		r := gatewaytest.Do(t, g.URL, "POST", "/tr/greet", `{"name":"ann","tags":["a","b"]}`, "Authorization", "trkey")
		if e := gatewaytest.EchoOf(t, r); e.Body != `{"greeting":"hi ann","user":"bob","n":2}` {
			t.Fatalf("upstream body %q", e.Body)
		}
	})
	t.Run("a JSON array is .array", func(t *testing.T) {
		r := gatewaytest.Do(t, g.URL, "POST", "/tr/list", `[1,2,3]`, "Authorization", "trkey")
		if e := gatewaytest.EchoOf(t, r); e.Body != "[1][2][3]" {
			t.Fatalf("upstream body %q", e.Body)
		}
	})
	t.Run("response body through a template", func(t *testing.T) {
		r := call(t, g, "GET", "/tr/summary", "Authorization", "trkey")
		if r.Status != 200 || r.Body != `{"seen":"GET /summary"}` || r.Header.Get("Content-Length") != "23" {
			t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
		}
	})
	t.Run("a body that is not JSON fails clearly", func(t *testing.T) {
		r := gatewaytest.Do(t, g.URL, "POST", "/tr/greet", `not json`, "Authorization", "trkey")
		if r.Status != 400 {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
}
