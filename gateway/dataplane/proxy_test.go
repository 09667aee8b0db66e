package dataplane_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

func keyless(id, listen, target, extra string) string {
	return `{"api_id":"` + id + `","org_id":"org1","use_keyless":true` + extra + `,
		"proxy":{"listen_path":"` + listen + `","target_url":"` + target + `","strip_listen_path":true},
		"version_data":{"not_versioned":true}}`
}

func TestProxyPathsHostAndHeaders(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	up := gatewaytest.Upstream(t)
	g.AddAPI(t, keyless("plain", "/plain/", up, ""))
	g.AddAPI(t, keyless("based", "/based/", up+"/base/?fixed=1", ""))
	g.AddAPI(t, `{"api_id":"keep","org_id":"org1","use_keyless":true,
		"proxy":{"listen_path":"/keep/","target_url":"`+up+`","strip_listen_path":false,"preserve_host_header":true},"version_data":{"not_versioned":true}}`)
	g.AddAPI(t, keyless("plain-longer", "/plain-longer/", up+"/longer", ""))
	cases := []struct {
		name, path, wantPath, wantQuery string
	}{
		{"listen path stripped", "/plain/a/b?x=1", "/a/b", "x=1"},
		{"empty remainder gives the target path", "/plain/", "/", ""},
		{"target path and query are joined", "/based/a?x=1", "/base/a", "fixed=1&x=1"},
		{"empty remainder trims the target's slash", "/based/", "/base", "fixed=1"},
		{"longest listen path wins", "/plain-longer/z", "/longer/z", ""},
		{"the api_id route also works", "/plain/x", "/x", ""},
		{"escaped characters survive", "/plain/a%2Fb", "/a%2Fb", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := gatewaytest.EchoOf(t, call(t, g, "GET", c.path))
			if e.Path != c.wantPath || e.Query != c.wantQuery {
				t.Fatalf("upstream got %q ? %q, want %q ? %q", e.Path, e.Query, c.wantPath, c.wantQuery)
			}
		})
	}
	t.Run("host is the target's unless preserved", func(t *testing.T) {
		e := gatewaytest.EchoOf(t, call(t, g, "GET", "/plain/x", "Host", "client.example"))
		if e.Host == "client.example" {
			t.Fatal("client Host forwarded")
		}
		e = gatewaytest.EchoOf(t, call(t, g, "GET", "/keep/x", "Host", "client.example"))
		if e.Host != "client.example" || e.Path != "/keep/x" {
			t.Fatalf("preserve_host_header / no strip: host %q path %q", e.Host, e.Path)
		}
	})
	t.Run("X-Forwarded-For is appended to", func(t *testing.T) {
		e := gatewaytest.EchoOf(t, call(t, g, "GET", "/plain/x", "X-Forwarded-For", "10.1.1.1"))
		if got := e.Header.Get("X-Forwarded-For"); got != "10.1.1.1, 127.0.0.1" {
			t.Fatalf("X-Forwarded-For %q", got)
		}
	})
	t.Run("hop-by-hop headers are dropped", func(t *testing.T) {
		e := gatewaytest.EchoOf(t, call(t, g, "GET", "/plain/x", "Connection", "X-Secret-Hop", "X-Secret-Hop", "1",
			"Proxy-Connection", "keep-alive", "Keep-Alive", "timeout=5", "Te", "gzip", "Proxy-Authorization", "x"))
		for _, h := range []string{"X-Secret-Hop", "Proxy-Connection", "Keep-Alive", "Te", "Proxy-Authorization"} {
			if e.Header.Get(h) != "" {
				t.Errorf("%s forwarded upstream", h)
			}
		}
	})
	t.Run("a missing User-Agent is filled in", func(t *testing.T) {
		e := gatewaytest.EchoOf(t, call(t, g, "GET", "/plain/x", "User-Agent", ""))
		if e.Header.Get("User-Agent") == "" {
			t.Fatal("no User-Agent upstream")
		}
	})
}

func TestUpstreamFailures(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{Configure: nil})
	closed := fmt.Sprintf("http://127.0.0.1:%d", gatewaytest.FreePort(t))
	g.AddAPI(t, keyless("down", "/down/", closed, ""))
	g.AddAPI(t, keyless("nxdomain", "/nx/", "http://no-such-host.invalid", ""))
	t.Run("refused connection is 500", func(t *testing.T) {
		r := call(t, g, "GET", "/down/x")
		if r.Status != 500 || r.Body != gatewaytest.TykError("There was a problem proxying the request") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
	t.Run("unknown host is 500 lookup failed", func(t *testing.T) {
		r := call(t, g, "GET", "/nx/x")
		if r.Status != 500 || r.Body != gatewaytest.TykError("Upstream host lookup failed") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})
}

func TestUpstreamStatusesPassThrough(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	srv := gatewaytest.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-From", "upstream")
		w.WriteHeader(503)
		_, _ = w.Write([]byte("upstream says no"))
	}))
	g.AddAPI(t, keyless("s", "/s/", srv, ""))
	r := call(t, g, "GET", "/s/x")
	if r.Status != 503 || r.Body != "upstream says no" || r.Header.Get("X-From") != "upstream" || r.Header.Get("X-Generator") != "" {
		t.Fatalf("got %d %q %v", r.Status, r.Body, r.Header)
	}
}

// TestWebSocketUpgradePassesThrough speaks a minimal upgrade by hand: the
// upstream switches protocols and echoes one line back.
func TestWebSocketUpgradePassesThrough(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	up := gatewaytest.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "no upgrade", 400)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = rw.Flush()
		line, _ := rw.ReadString('\n')
		_, _ = rw.WriteString("echo:" + line)
		_ = rw.Flush()
	}))
	g.AddAPI(t, keyless("ws", "/ws/", up, ""))
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(g.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /ws/chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	fmt.Fprintf(conn, "hello\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo:hello\n" {
		t.Fatalf("through the tunnel: %q %v", line, err)
	}
}

// TestReloadUnderLoad keeps traffic flowing while the gateway reloads 20
// times; not one request may fail.
func TestReloadUnderLoad(t *testing.T) {
	onBothStores(t, func(t *testing.T, g *gatewaytest.Gateway) {
		up := gatewaytest.Upstream(t)
		g.AddAPI(t, keyless("steady", "/steady/", up, ""))
		client := gatewaytest.KeepAliveClient(8)
		var sent, failed atomic.Int64
		var firstFailure atomic.Value
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					resp, err := client.Get(g.URL + "/steady/x")
					sent.Add(1)
					if err != nil {
						failed.Add(1)
						firstFailure.CompareAndSwap(nil, err.Error())
						continue
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						failed.Add(1)
						firstFailure.CompareAndSwap(nil, resp.Status)
					}
				}
			}()
		}
		for i := 0; i < 20; i++ {
			// Each reload also changes a definition, so a new chain is built.
			g.AddAPI(t, keyless(fmt.Sprintf("churn%d", i), fmt.Sprintf("/churn%d/", i), up, ""))
		}
		close(stop)
		wg.Wait()
		if failed.Load() != 0 || sent.Load() == 0 {
			t.Fatalf("%d of %d requests failed during reloads (first: %v)", failed.Load(), sent.Load(), firstFailure.Load())
		}
		t.Logf("%d requests, 20 reloads, no failures", sent.Load())
	})
}
