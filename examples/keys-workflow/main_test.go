package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/gateway/storage/redistest"
)

var rotated = regexp.MustCompile(`rotated key (\S+) -> (\S+)`)

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(t *testing.T) gatewaytest.Options
	}{
		{"embedded", func(*testing.T) gatewaytest.Options { return gatewaytest.Options{} }},
		{"redis", func(t *testing.T) gatewaytest.Options { return gatewaytest.Options{Redis: redistest.Start(t)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := gatewaytest.Start(t, tc.opts(t))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out bytes.Buffer
			if err := run(ctx, g.URL, gatewaytest.Secret, &out); err != nil {
				t.Fatalf("run: %v\noutput so far:\n%s", err, out.String())
			}
			t.Logf("output:\n%s", out.String())
			m := rotated.FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("output does not mention the rotation:\n%s", out.String())
			}
			oldKey, newKey := m[1], m[2]
			if oldKey == newKey {
				t.Fatalf("rotation kept the same key %s", oldKey)
			}
			for _, want := range []string{"quota 1000 per 3600s", "rate 100 per 60s", "404"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			// Check the end state on the gateway itself, not through run.
			if r := g.Do(t, http.MethodGet, "/tyk/keys/"+oldKey, ""); r.Status != http.StatusNotFound {
				t.Errorf("GET old key: %d %s, want 404", r.Status, r.Body)
			}
			r := g.Do(t, http.MethodGet, "/tyk/keys/"+newKey, "")
			if r.Status != http.StatusOK || !strings.Contains(r.Body, `"gold"`) {
				t.Errorf("GET new key: %d %s, want 200 naming policy gold", r.Status, r.Body)
			}
		})
	}
}

// TestProgram runs the example as a real program, flags and exit code
// included.
func TestProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the program")
	}
	g := gatewaytest.Start(t, gatewaytest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", ".", "-url", g.URL, "-secret", gatewaytest.Secret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	if !rotated.Match(out) {
		t.Errorf("program output does not mention the rotation:\n%s", out)
	}

	// A wrong secret must fail with a non-zero exit and say which step.
	bad := exec.CommandContext(ctx, "go", "run", ".", "-url", g.URL, "-secret", "wrong")
	out, err = bad.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("wrong secret: err %v, want non-zero exit\n%s", err, out)
	}
	if !strings.Contains(string(out), "create API: got HTTP 403") {
		t.Errorf("wrong secret: unclear message:\n%s", out)
	}
}
