package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer is an httptest server that counts accepted connections.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s, &conns
}

func testTransport(t *testing.T, o TransportOptions) *dispatchTransport {
	t.Helper()
	d := NewTransport(o).(*dispatchTransport)
	t.Cleanup(d.CloseIdleConnections)
	return d
}

// roundTrip sends a request through rt and reads the whole body.
func roundTrip(t *testing.T, rt http.RoundTripper, method, url string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	_ = resp.Body.Close()
	return resp, string(b)
}

func TestH1PoolsConnections(t *testing.T) {
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Path)
	})
	tr := testTransport(t, TransportOptions{})
	for i := range 10 {
		_, body := roundTrip(t, tr.h1, "GET", fmt.Sprintf("%s/%d", s.URL, i), nil)
		if body != fmt.Sprintf("hello /%d", i) {
			t.Fatalf("body %q", body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 10 sequential requests, want 1", n)
	}
}

func TestH1Chunked(t *testing.T) {
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		for i := range 5 {
			fmt.Fprintf(w, "part%d;", i)
			w.(http.Flusher).Flush()
		}
	})
	tr := testTransport(t, TransportOptions{})
	for range 3 {
		resp, body := roundTrip(t, tr.h1, "GET", s.URL, nil)
		if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || body != "part0;part1;part2;part3;part4;" {
			t.Fatalf("te %v body %q", resp.TransferEncoding, body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestH1NoBodyResponses(t *testing.T) {
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.WriteHeader(http.StatusNotModified)
		default:
			w.Header().Set("Content-Length", "11")
			_, _ = io.WriteString(w, "hello world")
		}
	})
	tr := testTransport(t, TransportOptions{})
	resp, body := roundTrip(t, tr.h1, "HEAD", s.URL+"/", nil)
	if resp.StatusCode != 200 || resp.ContentLength != 11 || body != "" || resp.Body != http.NoBody {
		t.Fatalf("HEAD: %d len %d body %q", resp.StatusCode, resp.ContentLength, body)
	}
	for _, p := range []string{"/204", "/304"} {
		resp, body := roundTrip(t, tr.h1, "GET", s.URL+p, nil)
		if fmt.Sprint(resp.StatusCode) != p[1:] || body != "" {
			t.Fatalf("%s: %d %q", p, resp.StatusCode, body)
		}
	}
	if _, body := roundTrip(t, tr.h1, "GET", s.URL+"/", nil); body != "hello world" {
		t.Fatalf("GET after no-body responses: %q", body)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1: no-body responses must leave the conn reusable", n)
	}
}

func TestH1UpstreamConnectionClose(t *testing.T) {
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, "bye")
	})
	tr := testTransport(t, TransportOptions{})
	for range 3 {
		if resp, body := roundTrip(t, tr.h1, "GET", s.URL, nil); body != "bye" || !resp.Close {
			t.Fatalf("body %q close %v", body, resp.Close)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("%d connections, want 3: a Connection: close response must not be pooled", n)
	}
	if idle := len(tr.h1.idle[s.Listener.Addr().String()]); idle != 0 {
		t.Fatalf("%d idle conns", idle)
	}
}

func TestH1CloseConnectionsOption(t *testing.T) {
	var sawClose atomic.Int64
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Close {
			sawClose.Add(1)
		}
		_, _ = io.WriteString(w, "ok")
	})
	tr := testTransport(t, TransportOptions{CloseConnections: true})
	for range 3 {
		roundTrip(t, tr.h1, "GET", s.URL, nil)
	}
	if conns.Load() != 3 || sawClose.Load() != 3 {
		t.Fatalf("conns %d, requests with Connection: close %d; want 3 and 3", conns.Load(), sawClose.Load())
	}
}

// oneShotServer answers one request per connection with a keep-alive
// response and then closes the connection, as an upstream whose idle
// timeout fired would. closed receives after each close.
func oneShotServer(t *testing.T) (addr string, accepted *atomic.Int64, closed chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	accepted = new(atomic.Int64)
	closed = make(chan struct{}, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer func() { _ = c.Close(); closed <- struct{}{} }()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				body, _ := io.ReadAll(req.Body)
				msg := fmt.Sprintf("%s %s %s", req.Method, req.URL.Path, body)
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
			}()
		}
	}()
	return "http://" + ln.Addr().String(), accepted, closed
}

func TestH1StaleConnectionRetry(t *testing.T) {
	url, accepted, closed := oneShotServer(t)
	tr := testTransport(t, TransportOptions{})
	if _, body := roundTrip(t, tr.h1, "GET", url+"/a", nil); body != "GET /a " {
		t.Fatalf("first: %q", body)
	}
	<-closed // the pooled connection is now dead
	if _, body := roundTrip(t, tr.h1, "GET", url+"/b", nil); body != "GET /b " {
		t.Fatalf("retried GET: %q", body)
	}
	if n := accepted.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (stale one, fresh one)", n)
	}

	// A POST cannot be replayed: the pooled conn is checked before use.
	<-closed
	if _, body := roundTrip(t, tr.h1, "POST", url+"/c", strings.NewReader("payload")); body != "POST /c payload" {
		t.Fatalf("POST on a stale pool: %q", body)
	}
	if n := accepted.Load(); n != 3 {
		t.Fatalf("%d connections, want 3", n)
	}
}

func TestH1ContextCancelMidResponse(t *testing.T) {
	release := make(chan struct{})
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			_, _ = io.WriteString(w, "first part;")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	defer close(release)
	tr := testTransport(t, TransportOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/slow", nil)
	resp, err := tr.h1.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("first part;"))
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first part;" {
		t.Fatalf("first part: %q %v", buf, err)
	}
	cancel()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v, want context.Canceled", err)
	}
	_ = resp.Body.Close()
	if _, body := roundTrip(t, tr.h1, "GET", s.URL+"/", nil); body != "ok" {
		t.Fatalf("after cancel: %q", body)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2: a canceled exchange's conn must not be reused", n)
	}

	// Canceled before the response head: the error is the context's.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	req, _ = http.NewRequestWithContext(ctx2, "GET", s.URL+"/", nil)
	if _, err := tr.h1.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled request: %v", err)
	}
}

func TestH1EarlyBodyCloseDropsConn(t *testing.T) {
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("x"), 1<<20))
	})
	tr := testTransport(t, TransportOptions{})
	req, _ := http.NewRequest("GET", s.URL, nil)
	resp, err := tr.h1.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resp.Body.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if _, err := resp.Body.Read(make([]byte, 10)); err == nil {
		t.Fatal("read after Close succeeded")
	}
	if _, body := roundTrip(t, tr.h1, "GET", s.URL, nil); len(body) != 1<<20 {
		t.Fatalf("body %d bytes", len(body))
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

func TestH1ResponseHeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	s, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	tr := testTransport(t, TransportOptions{ResponseTimeout: 20 * time.Millisecond})
	req, _ := http.NewRequest("GET", s.URL, nil)
	_, err := tr.h1.RoundTrip(req)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a timeout net.Error (proxy.fail answers it 504)", err)
	}
}

func TestH1RequestBodies(t *testing.T) {
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %d %v %s", r.Method, r.ContentLength, r.TransferEncoding, b)
	})
	tr := testTransport(t, TransportOptions{})
	if _, body := roundTrip(t, tr.h1, "POST", s.URL, strings.NewReader("sized")); body != "POST 5 [] sized" {
		t.Fatalf("sized: %q", body)
	}
	// An unknown length (a streamed client body) goes chunked.
	if _, body := roundTrip(t, tr.h1, "PUT", s.URL, io.MultiReader(strings.NewReader("str"), strings.NewReader("eamed"))); body != "PUT -1 [chunked] streamed" {
		t.Fatalf("streamed: %q", body)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestH1BigBodiesStream(t *testing.T) {
	const size = 16 << 20
	pattern := func() io.Reader { return io.LimitReader(&repeatReader{}, size) }
	want := sha256.New()
	_, _ = io.Copy(want, pattern())
	s, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
			return
		}
		_, _ = io.Copy(w, pattern())
	})
	tr := testTransport(t, TransportOptions{})
	req, _ := http.NewRequest("GET", s.URL, nil)
	resp, err := tr.h1.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, resp.Body)
	_ = resp.Body.Close()
	if err != nil || n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("download: %d bytes, err %v, digest match %v", n, err, bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}
	_, body := roundTrip(t, tr.h1, "POST", s.URL, pattern())
	if body != fmt.Sprintf("%d %x", size, want.Sum(nil)) {
		t.Fatalf("upload: %q", body)
	}
}

type repeatReader struct{ i byte }

func (r *repeatReader) Read(p []byte) (int, error) {
	for k := range p {
		p[k] = r.i
		r.i = r.i*31 + 7
	}
	return len(p), nil
}

func TestH1InformationalResponses(t *testing.T) {
	s, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		_, _ = io.WriteString(w, "final")
	})
	tr := testTransport(t, TransportOptions{})
	var got []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		got = append(got, code)
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", s.URL, nil)
	resp, err := tr.h1.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "final" || len(got) != 1 || got[0] != 103 {
		t.Fatalf("%d %q 1xx %v", resp.StatusCode, b, got)
	}
}

func TestH1DialErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	tr := testTransport(t, TransportOptions{})
	req, _ := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader("body"))
	_, err = tr.RoundTrip(req)
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Fatalf("refused: %v", err)
	}
	req, _ = http.NewRequest("GET", "http://no-such-host.invalid/", nil)
	_, err = tr.RoundTrip(req)
	var dns *net.DNSError
	if !errors.As(err, &dns) {
		t.Fatalf("lookup: %v", err)
	}
}

func TestDispatch(t *testing.T) {
	tr := testTransport(t, TransportOptions{})
	for _, c := range []struct {
		url    string
		header string
		h1     bool
	}{
		{"http://127.0.0.1:1/", "", true},
		{"http://localhost/", "", true},
		{"https://127.0.0.1/", "", false},
		{"http://127.0.0.1/", "Upgrade: websocket", false},
		{"http://127.0.0.1/", "Expect: 100-continue", false},
		{"http://127.0.0.1/", "Bad Name: x", false},
	} {
		req, _ := http.NewRequest("GET", c.url, nil)
		if k, v, ok := strings.Cut(c.header, ": "); ok {
			req.Header[k] = []string{v}
		}
		if got := tr.h1.handles(req); got != c.h1 {
			t.Errorf("%s %q: h1 %v, want %v", c.url, c.header, got, c.h1)
		}
	}
	// https goes through http.Transport end to end.
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "tls") }))
	defer s.Close()
	tls := testTransport(t, TransportOptions{InsecureSkipVerify: true})
	if _, body := roundTrip(t, tls, "GET", s.URL, nil); body != "tls" {
		t.Fatalf("https: %q", body)
	}
}

func TestH1IdleSweep(t *testing.T) {
	s, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	tr := testTransport(t, TransportOptions{})
	roundTrip(t, tr.h1, "GET", s.URL, nil)
	tr.h1.idleTimeout = 0 // everything is now expired
	tr.h1.sweep()
	tr.h1.mu.Lock()
	n, count := len(tr.h1.idle), tr.h1.idleCount
	tr.h1.mu.Unlock()
	if n != 0 || count != 0 {
		t.Fatalf("after sweep: %d hosts, %d idle", n, count)
	}
}
