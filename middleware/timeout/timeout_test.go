package timeout_test

import (
	"net/http/httptest"
	"testing"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/internal/stagetest"
	"github.com/tollgate/tollgate/middleware/timeout"
)

func TestHardTimeouts(t *testing.T) {
	d, err := apidef.Parse([]byte(`{"api_id":"a","proxy":{"listen_path":"/keyed/"},
	 "version_data":{"not_versioned":true,"versions":{"Default":{"use_extended_paths":true,"extended_paths":{"hard_timeouts":[
	   {"path":"/slow","method":"GET","timeout":1},
	   {"path":"/slo","method":"GET","timeout":7},
	   {"path":"/off","method":"GET","timeout":3,"disabled":true}]}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := timeout.New(&d, nil)
	if err != nil || st == nil {
		t.Fatal(st, err)
	}
	a, seen := stagetest.API(t, &d, st)
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/keyed/slow", 1}, // the first match wins
		{"GET", "/keyed/slower/x", 1},
		{"GET", "/keyed/slot", 7},
		{"POST", "/keyed/slow", 0},
		{"GET", "/keyed/off", 0},
		{"GET", "/keyed/fast", 0},
	} {
		r := stagetest.Do(a, seen, httptest.NewRequest(c.method, c.path, nil))
		if r.Status != 200 || r.Seen.Timeout != c.want {
			t.Errorf("%s %s: got %d, timeout %d, want %d", c.method, c.path, r.Status, r.Seen.Timeout, c.want)
		}
	}
}

func TestNotConfigured(t *testing.T) {
	d, _ := apidef.Parse([]byte(`{"api_id":"a","proxy":{"listen_path":"/a/"},
	 "version_data":{"not_versioned":true,"versions":{"Default":{"extended_paths":{"hard_timeouts":[{"path":"/slow","method":"GET","timeout":1}]}}}}}`))
	if st, err := timeout.New(&d, nil); st != nil || err != nil {
		t.Fatalf("without use_extended_paths: got %v %v", st, err)
	}
}
