package gateway_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/gateway/storage/redistest"
)

// eventually polls cond for up to d.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

func TestGroupReloadReachesEveryNode(t *testing.T) {
	redis := redistest.Start(t)
	a := gatewaytest.Start(t, gatewaytest.Options{Redis: redis})
	b := gatewaytest.Start(t, gatewaytest.Options{Redis: redis})
	stranger := gatewaytest.Start(t, gatewaytest.Options{Redis: redis, Configure: func(c *config.Config) {
		c.NodeSecret = "another-cluster"
	}})
	for _, g := range []*gatewaytest.Gateway{b, stranger} {
		if err := os.WriteFile(filepath.Join(g.Dir, "policies", "fresh.json"), []byte(`{"id":"fresh"}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if r := b.Do(t, "GET", "/tyk/policies/fresh", ""); r.Status != 404 {
		t.Fatalf("policy visible before any reload: %d", r.Status)
	}
	if r := a.Do(t, "GET", "/tyk/reload/group", ""); r.Status != 200 {
		t.Fatalf("group reload: %d %s", r.Status, r.Body)
	}
	if !eventually(5*time.Second, func() bool { return b.Do(t, "GET", "/tyk/policies/fresh", "").Status == 200 }) {
		t.Fatal("node b did not reload after a group reload on node a")
	}
	// A node with another node_secret cannot verify the signature and
	// ignores the message. b reloaded within the wait above, so by now the
	// stranger has had the same time to act on it.
	if r := stranger.Do(t, "GET", "/tyk/policies/fresh", ""); r.Status != 404 {
		t.Fatalf("a node with another node_secret obeyed the group reload: %d", r.Status)
	}
}

func TestGroupReloadOnEmbeddedReloadsThisNode(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	if err := os.WriteFile(filepath.Join(g.Dir, "policies", "fresh.json"), []byte(`{"id":"fresh"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	g.Do(t, "GET", "/tyk/reload/group", "")
	if !eventually(5*time.Second, func() bool { return g.Do(t, "GET", "/tyk/policies/fresh", "").Status == 200 }) {
		t.Fatal("group reload did not reload the only node")
	}
}
