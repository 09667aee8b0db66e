package gatewaytest

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"
)

// AddAPI stores the given API definitions through the control API and then
// reloads (blocking), so they serve traffic when it returns.
func (g *Gateway) AddAPI(t testing.TB, defs ...string) {
	t.Helper()
	for _, def := range defs {
		if r := g.Do(t, "POST", "/tyk/apis", def); r.Status != 200 {
			t.Fatalf("create API: %d %s", r.Status, r.Body)
		}
	}
	if r := g.Do(t, "GET", "/tyk/reload?block=true", ""); r.Status != 200 {
		t.Fatalf("reload: %d %s", r.Status, r.Body)
	}
}

// EchoOf decodes what the echo upstream saw; anything but a 200 echo fails
// the test.
func EchoOf(t testing.TB, r Response) Echo {
	t.Helper()
	var e Echo
	if r.Status != 200 {
		t.Fatalf("got %d %q", r.Status, r.Body)
	}
	if err := json.Unmarshal([]byte(r.Body), &e); err != nil {
		t.Fatalf("not an upstream echo: %q", r.Body)
	}
	return e
}

// TykError is Tyk's default JSON error body for msg.
func TykError(msg string) string { return "{\n    \"error\": \"" + msg + "\"\n}" }

// LogBuffer collects log output written from several goroutines.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
