package dataplane_test

import (
	"encoding/json"
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

func TestBatchRequests(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	up := gatewaytest.Upstream(t)
	g.AddAPI(t, `{"api_id":"keyed","org_id":"org1","enable_batch_request_support":true,
		"proxy":{"listen_path":"/keyed/","target_url":"`+up+`","strip_listen_path":true},"version_data":{"not_versioned":true}}`)
	g.Do(t, "POST", "/tyk/keys/batchkey", `{"org_id":"org1","access_rights":{"keyed":{"api_id":"keyed"}}}`)
	type reply struct {
		RelativeURL string              `json:"relative_url"`
		Code        int                 `json:"code"`
		Headers     map[string][]string `json:"headers"`
		Body        string              `json:"body"`
	}
	t.Run("sequential sub-requests run the chain with their own credentials", func(t *testing.T) {
		body := `{"requests":[{"method":"GET","relative_url":"one","headers":{"Authorization":"batchkey"}},
			{"method":"GET","relative_url":"two"}],"suppress_parallel_execution":true}`
		r := gatewaytest.Do(t, g.URL, "POST", "/keyed/tyk/batch/", body)
		var out []reply
		if r.Status != 200 || json.Unmarshal([]byte(r.Body), &out) != nil || len(out) != 2 {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
		var e gatewaytest.Echo
		if out[0].RelativeURL != "one" || out[0].Code != 200 || json.Unmarshal([]byte(out[0].Body), &e) != nil || e.Path != "/one" {
			t.Fatalf("first: %+v", out[0])
		}
		if out[1].Code != 401 {
			t.Fatalf("second without a key: %+v", out[1])
		}
	})
	t.Run("parallel sub-requests all answer", func(t *testing.T) {
		body := `{"requests":[{"method":"GET","relative_url":"a","headers":{"Authorization":"batchkey"}},{"method":"GET","relative_url":"b","headers":{"Authorization":"batchkey"}}]}`
		var out []reply
		r := gatewaytest.Do(t, g.URL, "POST", "/keyed/tyk/batch/", body)
		if json.Unmarshal([]byte(r.Body), &out) != nil || len(out) != 2 || out[0].Code != 200 || out[1].Code != 200 {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
	})
	t.Run("a malformed batch is 400", func(t *testing.T) {
		r := gatewaytest.Do(t, g.URL, "POST", "/keyed/tyk/batch/", "bad")
		if r.Status != 400 || r.Body != `{"status":"error","message":"Batch request malformed"}`+"\n" {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
	t.Run("without the trailing slash the request is proxied", func(t *testing.T) {
		r := gatewaytest.Do(t, g.URL, "POST", "/keyed/tyk/batch", "{}", "Authorization", "batchkey")
		if e := gatewaytest.EchoOf(t, r); e.Path != "/tyk/batch" {
			t.Fatalf("upstream path %q", e.Path)
		}
	})
}
