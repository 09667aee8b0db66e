package sizelimit_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/internal/stagetest"
	"github.com/tollgate/tollgate/middleware/sizelimit"
)

func def(t *testing.T, version string) *apidef.Definition {
	t.Helper()
	d, err := apidef.Parse([]byte(`{"api_id":"a","proxy":{"listen_path":"/keyed/"},
	 "version_data":{"not_versioned":true,"versions":{"Default":` + version + `}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return &d
}

func api(t *testing.T, d *apidef.Definition) (*chain.API, *stagetest.Seen) {
	t.Helper()
	st, err := sizelimit.New(d, nil)
	if err != nil || st == nil {
		t.Fatalf("New: %v %v", st, err)
	}
	// The version check would set the version; a not-versioned API needs none.
	return stagetest.API(t, d, st)
}

// send makes a request as a server sees it: Content-Length in the header
// when the client sent one (cl < 0: chunked, no header).
func send(method, path, body string, cl int) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	switch {
	case cl >= 0:
		r.ContentLength = int64(cl)
		r.Header.Set("Content-Length", strconv.Itoa(cl))
	case cl == -1:
		r.ContentLength = -1
		r.TransferEncoding = []string{"chunked"}
	default: // no body, no header
		r.ContentLength = 0
		r.Body = http.NoBody
	}
	return r
}

func TestPathLimits(t *testing.T) {
	a, seen := api(t, def(t, `{"use_extended_paths":true,"extended_paths":{"size_limits":[
	   {"path":"/upload","method":"POST","size_limit":10},
	   {"path":"/keyed/never","method":"POST","size_limit":1}]}}`))
	cases := []struct {
		name, method, path, body string
		cl, status               int
		msg                      string
	}{
		{"vector 17: 14 bytes over a limit of 10", "POST", "/keyed/upload", "{\"a\":\"bcdefg\"}", 14, 400, sizelimit.MsgTooLarge},
		{"at the limit", "POST", "/keyed/upload", "0123456789", 10, 200, ""},
		{"another method", "PUT", "/keyed/upload", "{\"a\":\"bcdefg\"}", 14, 200, ""},
		{"no Content-Length", "POST", "/keyed/upload", "0123", -1, 411, sizelimit.MsgLengthRequired},
		{"a path without a limit", "POST", "/keyed/other", "{\"a\":\"bcdefg\"}", 14, 200, ""},
		{"per-path limits match without the listen path", "POST", "/keyed/never", "xx", 2, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := stagetest.Do(a, seen, send(c.method, c.path, c.body, c.cl))
			if r.Status != c.status || (c.msg != "" && r.Body != stagetest.Error(c.msg)) {
				t.Fatalf("got %d %q", r.Status, r.Body)
			}
		})
	}
	t.Run("a Content-Length that is not a number", func(t *testing.T) {
		req := send("POST", "/keyed/upload", "x", 1)
		req.Header.Set("Content-Length", "one")
		if r := stagetest.Do(a, seen, req); r.Status != 400 || r.Body != stagetest.Error(sizelimit.MsgInvalidLength) {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
}

func TestGlobalLimit(t *testing.T) {
	a, seen := api(t, def(t, `{"global_size_limit":5,"use_extended_paths":true,"extended_paths":{"size_limits":[
	   {"path":"/upload","method":"POST","size_limit":10}]}}`))
	if r := stagetest.Do(a, seen, send("POST", "/keyed/upload", "123456", 6)); r.Status != 400 {
		t.Fatalf("the global limit applies first: got %d", r.Status)
	}
	if r := stagetest.Do(a, seen, send("POST", "/keyed/x", "12345", 5)); r.Status != 200 {
		t.Fatalf("at the global limit: got %d", r.Status)
	}
	if r := stagetest.Do(a, seen, send("GET", "/keyed/x", "", -2)); r.Status != 200 {
		t.Fatalf("a GET without a body: got %d %q", r.Status, r.Body)
	}
	if r := stagetest.Do(a, seen, send("POST", "/keyed/x", "", -2)); r.Status != 411 {
		t.Fatalf("a POST without Content-Length: got %d", r.Status)
	}
	if r := stagetest.Do(a, seen, send("GET", "/keyed/x", "123456", -1)); r.Status != 411 {
		t.Fatalf("a chunked GET: got %d", r.Status)
	}
}

func TestNotConfigured(t *testing.T) {
	for _, v := range []string{
		`{}`,
		`{"use_extended_paths":false,"extended_paths":{"size_limits":[{"path":"/x","method":"POST","size_limit":1}]}}`,
		`{"use_extended_paths":true,"extended_paths":{"size_limits":[{"path":"/x","method":"POST","size_limit":1,"disabled":true}]}}`,
	} {
		if st, err := sizelimit.New(def(t, v), nil); st != nil || err != nil {
			t.Fatalf("%s: got %v %v", v, st, err)
		}
	}
}

func TestVersions(t *testing.T) {
	d, _ := apidef.Parse([]byte(`{"api_id":"a","proxy":{"listen_path":"/a/"},"version_data":{"versions":{
	  "v1":{"name":"v1","global_size_limit":1},"v2":{"name":"v2"}}}}`))
	st, _ := sizelimit.New(&d, nil)
	w := httptest.NewRecorder()
	if err := st.ProcessRequest(w, send("POST", "/a/x", "12", 2), &chain.Request{Version: "v1"}); err == nil {
		t.Fatal("v1's limit did not apply")
	}
	if err := st.ProcessRequest(w, send("POST", "/a/x", "12", 2), &chain.Request{Version: "v2"}); err != nil {
		t.Fatalf("v2 has no limit: %v", err)
	}
}
