package dataplane_test

import (
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

func TestCORS(t *testing.T) {
	up := gatewaytest.Upstream(t)
	g := gatewaytest.Start(t, gatewaytest.Options{})
	cors := `"CORS":{"enable":true,"allowed_origins":["https://app.example"],"allowed_methods":["GET","POST"],"allowed_headers":["Authorization"]}`
	g.AddAPI(t,
		`{"api_id":"c","org_id":"org1",`+cors+`,"proxy":{"listen_path":"/c/","target_url":"`+up+`","strip_listen_path":true},"version_data":{"not_versioned":true}}`,
		`{"api_id":"pass","org_id":"org1","CORS":{"enable":true,"allowed_origins":["*"],"options_passthrough":true},
			"proxy":{"listen_path":"/pass/","target_url":"`+up+`","strip_listen_path":true},"version_data":{"not_versioned":true}}`)
	t.Run("a preflight is answered before auth", func(t *testing.T) {
		r := call(t, g, "OPTIONS", "/c/x", "Origin", "https://app.example", "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "authorization") // browsers send these lowercase
		if r.Status != 204 || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Fatalf("got %d %v", r.Status, r.Header)
		}
	})
	t.Run("a request from an allowed origin gets the header, and still needs a key", func(t *testing.T) {
		r := call(t, g, "GET", "/c/x", "Origin", "https://app.example")
		if r.Status != 401 || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Fatalf("got %d %v", r.Status, r.Header)
		}
	})
	t.Run("another origin gets no CORS header", func(t *testing.T) {
		r := call(t, g, "GET", "/c/x", "Origin", "https://evil.example")
		if r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("got %v", r.Header)
		}
	})
	t.Run("options_passthrough sends preflights upstream, past every stage", func(t *testing.T) {
		r := call(t, g, "OPTIONS", "/pass/x", "Origin", "https://app.example", "Access-Control-Request-Method", "GET")
		if e := gatewaytest.EchoOf(t, r); e.Method != "OPTIONS" || e.Path != "/x" {
			t.Fatalf("upstream saw %+v", e)
		}
	})
}
