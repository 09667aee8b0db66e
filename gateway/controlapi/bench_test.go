package controlapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/gateway/storage/redistest"
)

// The benchmarks drive a gateway running in this process over HTTP on
// loopback, so ns/op, B/op and allocs/op cover client and server together
// (HTTP, JSON, store). req/s is b.N over the elapsed time.

const (
	// benchClients is roughly how many requests are in flight at once; it
	// stays below benchIdleConns so every client keeps its connection.
	benchClients   = 32
	benchIdleConns = 64
	// benchKeys is how many keys KeyGet reads round-robin.
	benchKeys       = 1000
	benchCreateBody = `{"org_id":"org1","access_rights":{"api1":{"api_id":"api1","versions":["Default"]}}}`
)

// BenchmarkKeyCreate measures POST /tyk/keys/create.
func BenchmarkKeyCreate(b *testing.B) {
	benchStores(b, func(b *testing.B, g *gatewaytest.Gateway, c *http.Client) func() error {
		return func() error {
			_, err := benchCreate(c, g.URL)
			return err
		}
	})
}

// BenchmarkKeyGet measures GET /tyk/keys/{id} over benchKeys existing keys,
// read round-robin.
func BenchmarkKeyGet(b *testing.B) {
	benchStores(b, func(b *testing.B, g *gatewaytest.Gateway, c *http.Client) func() error {
		ids := make([]string, benchKeys)
		var next atomic.Int64
		errs := make(chan error, benchClients)
		for range benchClients {
			go func() {
				for {
					i := next.Add(1) - 1
					if i >= benchKeys {
						errs <- nil
						return
					}
					id, err := benchCreate(c, g.URL)
					if err != nil {
						errs <- err
						return
					}
					ids[i] = id
				}
			}()
		}
		for range benchClients {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		var turn atomic.Uint64
		return func() error {
			id := ids[turn.Add(1)%benchKeys]
			status, body, err := gatewaytest.Send(c, http.MethodGet, g.URL+"/tyk/keys/"+id, "")
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("GET key: %d %s", status, body)
			}
			return err
		}
	})
}

// benchStores runs one sub-benchmark per store. The gateways are started
// and set up (setup returns the operation to time) in the parent benchmark,
// which runs once, rather than in the sub-benchmarks, which run once per
// b.N tried: each store is set up a single time.
func benchStores(b *testing.B, setup func(*testing.B, *gatewaytest.Gateway, *http.Client) func() error) {
	c := gatewaytest.KeepAliveClient(benchIdleConns)
	b.Cleanup(c.CloseIdleConnections)
	embedded := setup(b, gatewaytest.Start(b, gatewaytest.Options{}), c)
	b.Run("embedded", func(b *testing.B) { runParallel(b, embedded) })

	// Start Redis here only when it can run: without redis-server,
	// redistest.Start skips its caller (the whole parent, here), so leave
	// it to the sub-benchmark to be skipped (or failed, under CI=true).
	var redis func() error
	if _, err := exec.LookPath("redis-server"); err == nil {
		redis = setup(b, gatewaytest.Start(b, gatewaytest.Options{Redis: redistest.Start(b)}), c)
	}
	b.Run("redis", func(b *testing.B) {
		if redis == nil {
			redistest.Start(b)
			b.Skip("redis-server unavailable")
		}
		runParallel(b, redis)
	})
}

// runParallel runs op b.N times over about benchClients goroutines and
// reports the request rate.
func runParallel(b *testing.B, op func() error) {
	b.SetParallelism(max(1, benchClients/runtime.GOMAXPROCS(0)))
	var failed atomic.Bool
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if failed.Load() {
				continue
			}
			if err := op(); err != nil && !failed.Swap(true) {
				b.Error(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func benchCreate(c *http.Client, base string) (string, error) {
	status, body, err := gatewaytest.Send(c, http.MethodPost, base+"/tyk/keys/create", benchCreateBody)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("create key: %d %s", status, body)
	}
	var r struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Key == "" {
		return "", fmt.Errorf("create key: reply %q: %v", body, err)
	}
	return r.Key, nil
}
