package gateway_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/gateway/storage/redistest"
)

// Crash-durability: 8 clients create keys against a real tollgate process,
// which is killed with SIGKILL while requests are in flight once about half
// of the 1,000 attempts have been acknowledged. A new process on the same
// data (the same data dir, or the same redis-server) must then serve every
// key that was answered with 200. Requests that fail because of the kill
// are expected and not counted: the client never got an acknowledgement,
// so the key may or may not exist.
const (
	durabilityAttempts = 1000
	durabilityClients  = 8
	durabilityKillAt   = 500 // acknowledged creates before the kill
	durabilityBody     = `{"org_id":"org1","access_rights":{"api1":{"api_id":"api1","versions":["Default"]}}}`
)

func TestDurabilityKill9(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		testDurability(t, gatewaytest.Options{})
	})
	t.Run("redis", func(t *testing.T) {
		// redis-server is a separate process, so it outlives the killed
		// gateway; this checks that a 200 is only sent once Redis has
		// acknowledged the write, not Redis's own persistence.
		testDurability(t, gatewaytest.Options{Redis: redistest.Start(t)})
	})
}

func testDurability(t *testing.T, opts gatewaytest.Options) {
	cfg := gatewaytest.Config(t, &opts)
	store := "embedded"
	if opts.Redis != "" {
		store = "redis"
	}

	proc := gatewaytest.StartProcess(t, cfg, opts.Dir)
	client := gatewaytest.KeepAliveClient(durabilityClients)
	defer client.CloseIdleConnections()
	durabilityHealthy(t, client, proc.URL, store)

	start := time.Now()
	var (
		attempts   atomic.Int64
		inFlight   atomic.Int64
		killedWith atomic.Int64 // requests in flight when the kill was sent (+1, 0 = no kill)
		killOnce   sync.Once
		mu         sync.Mutex
		acked      []string
		failed     int
		errStatus  = map[int]int{}
		firstError string
		wg         sync.WaitGroup
	)
	kill := func() {
		killOnce.Do(func() {
			killedWith.Store(inFlight.Load() + 1)
			if err := proc.Cmd.Process.Kill(); err != nil {
				t.Errorf("kill: %v", err)
			}
		})
	}
	for range durabilityClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempts.Add(1) <= durabilityAttempts {
				inFlight.Add(1)
				id, status, err := durabilityCreate(client, proc.URL)
				inFlight.Add(-1)
				mu.Lock()
				switch {
				case err == nil && status == http.StatusOK:
					acked = append(acked, id)
					if len(acked) == durabilityKillAt {
						// Unlock first: the other clients keep sending, so
						// the kill lands while their requests are in flight.
						mu.Unlock()
						kill()
						continue
					}
				case err != nil:
					failed++
					if firstError == "" {
						firstError = err.Error()
					}
				default:
					errStatus[status]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	load := time.Since(start)

	if killedWith.Load() == 0 {
		t.Fatalf("gateway was never killed: only %d of %d creates acknowledged", len(acked), durabilityAttempts)
	}
	if len(errStatus) > 0 {
		t.Errorf("non-200 answers before the kill: %v", errStatus)
	}
	if len(acked) >= durabilityAttempts || failed == 0 {
		t.Fatalf("kill did not land midway: %d acknowledged, %d failed", len(acked), failed)
	}
	t.Logf("%s: %d attempts in %v: %d acknowledged, %d failed after the kill (%d in flight when killed; first error: %s)",
		store, durabilityAttempts, load.Round(time.Millisecond), len(acked), failed, killedWith.Load()-1, firstError)

	durabilityWaitDown(t, proc.URL)

	// Same config, same dir: the embedded store reopens the same file (a
	// failed open makes StartProcess fail, as the binary exits).
	restart := time.Now()
	proc2 := gatewaytest.StartProcess(t, cfg, opts.Dir)
	t.Logf("%s: restarted in %v", store, time.Since(restart).Round(time.Millisecond))
	client2 := gatewaytest.KeepAliveClient(durabilityClients)
	defer client2.CloseIdleConnections()
	durabilityHealthy(t, client2, proc2.URL, store)

	// Every acknowledged key is readable.
	missing := durabilityGetAll(t, client2, proc2.URL, acked)
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged keys missing after restart, e.g. %s\ngateway log:\n%s\nrestarted gateway log:\n%s",
			len(missing), len(acked), missing[0], proc.Output(), proc2.Output())
	}

	// And listed.
	status, body, err := gatewaytest.Send(client2, http.MethodGet, proc2.URL+"/tyk/keys", "")
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET /tyk/keys: %d %v %s", status, err, body)
	}
	var list struct {
		Keys []string `json:"keys"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("GET /tyk/keys: %v: %s", err, body)
	}
	listed := make(map[string]bool, len(list.Keys))
	for _, k := range list.Keys {
		listed[k] = true
	}
	unlisted := 0
	for _, id := range acked {
		if !listed[id] {
			unlisted++
		}
	}
	if unlisted > 0 {
		t.Errorf("%d of %d acknowledged keys not in GET /tyk/keys (%d listed)", unlisted, len(acked), len(list.Keys))
	}
	// Keys whose reply was lost to the kill may or may not be there.
	t.Logf("%s: after restart %d keys listed, all %d acknowledged ones readable: %v",
		store, len(list.Keys), len(acked), len(missing) == 0 && unlisted == 0)
}

// durabilityCreate creates one key; id is set only with status 200.
func durabilityCreate(c *http.Client, base string) (id string, status int, err error) {
	status, body, err := gatewaytest.Send(c, http.MethodPost, base+"/tyk/keys/create", durabilityBody)
	if err != nil || status != http.StatusOK {
		return "", status, err
	}
	var r struct {
		Key    string `json:"key"`
		Action string `json:"action"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return "", status, fmt.Errorf("create reply %q: %w", body, err)
	}
	if r.Key == "" || r.Action != "added" {
		return "", status, fmt.Errorf("create reply %q: no key", body)
	}
	return r.Key, status, nil
}

// durabilityHealthy asserts /hello reports the expected store as passing.
func durabilityHealthy(t *testing.T, c *http.Client, base, store string) {
	t.Helper()
	status, body, err := gatewaytest.Send(c, http.MethodGet, base+"/hello", "")
	if err != nil || status != http.StatusOK {
		t.Fatalf("/hello: %d %v %s", status, err, body)
	}
	var h struct {
		Status  string `json:"status"`
		Details map[string]struct {
			Status string `json:"status"`
			Output string `json:"output"`
		} `json:"details"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("/hello: %v: %s", err, body)
	}
	if d, ok := h.Details[store]; h.Status != "pass" || !ok || d.Status != "pass" {
		t.Fatalf("/hello does not report a healthy %s store: %s", store, body)
	}
}

// durabilityWaitDown waits until the killed gateway no longer accepts
// connections, so its listener and data file lock are released before the
// restart.
func durabilityWaitDown(t *testing.T, url string) {
	t.Helper()
	addr := strings.TrimPrefix(url, "http://")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return
		}
		conn.Close()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("killed gateway at %s still accepts connections", addr)
}

// durabilityGetAll GETs every key with 8 clients and returns those not
// answered 200.
func durabilityGetAll(t *testing.T, c *http.Client, base string, ids []string) []string {
	t.Helper()
	var (
		next    atomic.Int64
		mu      sync.Mutex
		missing []string
		wg      sync.WaitGroup
	)
	for range durabilityClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				status, body, err := gatewaytest.Send(c, http.MethodGet, base+"/tyk/keys/"+ids[i], "")
				if err != nil || status != http.StatusOK {
					mu.Lock()
					missing = append(missing, fmt.Sprintf("%s (%d %v %s)", ids[i], status, err, strings.TrimSpace(body)))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return missing
}
