package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"syscall"
	"time"
)

// h1Transport is a lean HTTP/1.1 client for plain http:// upstreams.
//
// Why it exists: http.Transport runs a readLoop and a writeLoop goroutine per
// connection and hands every request and response between them and the
// caller over channels. Profiles of the keyless proxy path put those two
// goroutines at ~27% of the gateway's CPU, plus the scheduler work of
// waking them. h1Transport does the whole exchange in the calling
// goroutine instead: write the request, flush, read the response, and hand
// the connection back to an idle pool when the body has been read to EOF.
// It starts no goroutine per request or per connection.
//
// What it gives up, and leaves to http.Transport (see dispatchTransport):
// TLS, protocol upgrades (WebSocket), HTTP proxies from the environment and
// Expect: 100-continue. Without a background reader it cannot notice that
// the upstream closed an idle connection until it uses it, so a replayable
// request (no body, idempotent method) that finds its pooled connection
// dead is retried once on a fresh one, and a non-replayable request checks
// its pooled connection with a non-blocking peek first (connAlive).
type h1Transport struct {
	dialer         net.Dialer
	maxIdlePerHost int
	maxIdle        int
	idleTimeout    time.Duration
	headerTimeout  time.Duration // proxy_default_timeout; 0: none
	closeConns     bool          // proxy_close_connections

	mu        sync.Mutex
	idle      map[string][]*h1Conn // per host:port, most recently used last
	idleCount int
	sweeping  bool // a sweep timer is pending
}

// h1Conn is one upstream connection with its buffers.
type h1Conn struct {
	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	key    string
	idleAt time.Time
}

const h1BufferSize = 32 << 10

var (
	h1Readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, h1BufferSize) }}
	h1Writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, h1BufferSize) }}
)

func (c *h1Conn) close() {
	_ = c.conn.Close()
	if c.br != nil {
		c.br.Reset(nil)
		h1Readers.Put(c.br)
		c.bw.Reset(nil)
		h1Writers.Put(c.bw)
		c.br, c.bw = nil, nil
	}
}

// handles reports whether h1Transport can carry req; anything else goes to
// http.Transport.
func (t *h1Transport) handles(req *http.Request) bool {
	u := req.URL
	if u == nil || u.Scheme != "http" || u.Host == "" || req.Method == http.MethodConnect {
		return false
	}
	h := req.Header
	if len(h["Upgrade"]) > 0 || len(h["Expect"]) > 0 {
		return false
	}
	// http.Transport rejects invalid field names with an error; let it.
	for k := range h {
		if !validFieldName(k) {
			return false
		}
	}
	if p, err := http.ProxyFromEnvironment(req); p != nil || err != nil {
		return false
	}
	return true
}

func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// RoundTrip implements http.RoundTripper for requests that handles accepts.
func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	addr := hostPort(req)
	replayable := req.Body == nil || req.Body == http.NoBody
	if replayable {
		switch req.Method {
		case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		default:
			replayable = len(req.Header["Idempotency-Key"]) > 0 || len(req.Header["X-Idempotency-Key"]) > 0
		}
	}
	for attempt := 0; ; attempt++ {
		pc, reused, err := t.getConn(ctx, addr, !replayable)
		if err != nil {
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, ctxErr(ctx, err)
		}
		resp, stale, err := t.exchange(ctx, pc, req)
		if err == nil {
			return resp, nil
		}
		if stale && reused && replayable && attempt == 0 && ctx.Err() == nil {
			continue // the upstream had closed the idle connection: once more on a fresh one
		}
		return nil, ctxErr(ctx, err)
	}
}

// exchange writes req on pc and reads the response head. stale reports an
// error before any byte of a response arrived that a dead idle connection
// gives (EOF, reset, broken pipe).
func (t *h1Transport) exchange(ctx context.Context, pc *h1Conn, req *http.Request) (resp *http.Response, stale bool, err error) {
	// Cancellation and the context deadline close the connection, which
	// unblocks whatever read or write is in progress; stop is called when
	// the exchange ends (body read or closed) and tells whether that
	// happened, in which case the connection is not reused.
	var stop func() bool
	if ctx.Done() != nil {
		conn := pc.conn
		stop = context.AfterFunc(ctx, func() { _ = conn.Close() })
	}
	fail := func(err error, stale bool) (*http.Response, bool, error) {
		if stop != nil {
			stop()
		}
		pc.close()
		return nil, stale, err
	}

	out := req
	if t.closeConns && !req.Close {
		r2 := *req // the caller's request is not ours to change
		r2.Close = true
		out = &r2
	}
	if err := out.Write(pc.bw); err != nil {
		return fail(err, isStale(err))
	}
	if err := pc.bw.Flush(); err != nil {
		return fail(err, isStale(err))
	}

	if t.headerTimeout > 0 {
		_ = pc.conn.SetReadDeadline(time.Now().Add(t.headerTimeout))
	}
	// Peek first: ReadResponse turns a clean EOF into ErrUnexpectedEOF,
	// and a retry is only safe if nothing at all came back.
	if _, err := pc.br.Peek(1); err != nil {
		return fail(err, isStale(err))
	}
	for n1xx := 0; ; n1xx++ {
		resp, err = http.ReadResponse(pc.br, req)
		if err != nil {
			return fail(err, false)
		}
		code := resp.StatusCode
		if code < 100 || code > 199 {
			break
		}
		if code == http.StatusSwitchingProtocols || n1xx >= 5 {
			return fail(errors.New("proxy: unexpected 1xx response from upstream"), false)
		}
		// 100 Continue and 103 Early Hints: pass them on (ReverseProxy
		// forwards them through its client trace) and read on.
		if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(code, textproto.MIMEHeader(resp.Header)); err != nil {
				return fail(err, false)
			}
		}
	}
	if t.headerTimeout > 0 {
		_ = pc.conn.SetReadDeadline(time.Time{})
	}

	keep := !resp.Close && !req.Close && !t.closeConns
	if resp.Body == http.NoBody { // HEAD, 204, 304, Content-Length: 0
		t.release(pc, stop, keep)
		return resp, false, nil
	}
	resp.Body = &h1Body{t: t, pc: pc, body: resp.Body, stop: stop, keep: keep, ctx: ctx}
	return resp, false, nil
}

// release ends an exchange: the connection goes back to the pool if it can
// carry another request and the context did not close it meanwhile.
func (t *h1Transport) release(pc *h1Conn, stop func() bool, keep bool) {
	if stop != nil && !stop() {
		keep = false // the AfterFunc ran (or is running): the conn is closed
	}
	if keep {
		t.putConn(pc)
	} else {
		pc.close()
	}
}

// h1Body is the response body. Reading it to EOF returns the connection to
// the pool; closing it before EOF closes the connection (the standard
// body's Close would read an unbounded remainder).
type h1Body struct {
	t    *h1Transport
	pc   *h1Conn
	body io.ReadCloser
	stop func() bool
	keep bool
	ctx  context.Context

	mu   sync.Mutex
	done bool
	rerr error // sticky: what Read returns once the exchange ended
}

var errBodyClosed = errors.New("http: read on closed response body")

func (b *h1Body) Read(p []byte) (int, error) {
	b.mu.Lock()
	done, rerr := b.done, b.rerr
	b.mu.Unlock()
	if done {
		return 0, rerr
	}
	n, err := b.body.Read(p)
	if err != nil {
		if err != io.EOF {
			err = ctxErr(b.ctx, err)
		}
		b.mu.Lock()
		if !b.done {
			b.done, b.rerr = true, err
			b.t.release(b.pc, b.stop, err == io.EOF && b.keep)
		}
		b.mu.Unlock()
	}
	return n, err
}

func (b *h1Body) Close() error {
	b.mu.Lock()
	if !b.done {
		b.done, b.rerr = true, errBodyClosed
		b.t.release(b.pc, b.stop, false)
	} else if b.rerr == io.EOF {
		b.rerr = errBodyClosed
	}
	b.mu.Unlock()
	return nil
}

// getConn takes an idle connection to addr or dials one. check asks for a
// liveness peek of a pooled connection (requests that cannot be retried).
func (t *h1Transport) getConn(ctx context.Context, addr string, check bool) (pc *h1Conn, reused bool, err error) {
	if !t.closeConns {
		now := time.Now()
		for {
			t.mu.Lock()
			list := t.idle[addr]
			if len(list) == 0 {
				t.mu.Unlock()
				break
			}
			pc = list[len(list)-1]
			list[len(list)-1] = nil
			t.idle[addr] = list[:len(list)-1]
			t.idleCount--
			t.mu.Unlock()
			if now.Sub(pc.idleAt) > t.idleTimeout || (check && !connAlive(pc)) {
				pc.close()
				continue
			}
			return pc, true, nil
		}
	}
	conn, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	br := h1Readers.Get().(*bufio.Reader)
	br.Reset(conn)
	bw := h1Writers.Get().(*bufio.Writer)
	bw.Reset(conn)
	return &h1Conn{conn: conn, br: br, bw: bw, key: addr}, false, nil
}

// putConn pools pc, within maxIdlePerHost and maxIdle.
func (t *h1Transport) putConn(pc *h1Conn) {
	if pc.br.Buffered() > 0 { // bytes beyond the response: the conn is out of step
		pc.close()
		return
	}
	pc.idleAt = time.Now()
	t.mu.Lock()
	list := t.idle[pc.key]
	if len(list) >= t.maxIdlePerHost || t.idleCount >= t.maxIdle {
		t.mu.Unlock()
		pc.close()
		return
	}
	t.idle[pc.key] = append(list, pc)
	t.idleCount++
	startSweep := !t.sweeping
	t.sweeping = true
	t.mu.Unlock()
	if startSweep {
		time.AfterFunc(t.idleTimeout, t.sweep)
	}
}

// sweep closes connections idle for longer than idleTimeout, and runs again
// while any stay idle. One timer per transport, not per connection.
func (t *h1Transport) sweep() {
	cutoff := time.Now().Add(-t.idleTimeout)
	var expired []*h1Conn
	t.mu.Lock()
	for key, list := range t.idle {
		n := 0 // oldest first: expired conns are a prefix
		for n < len(list) && !list[n].idleAt.After(cutoff) {
			n++
		}
		if n == 0 {
			continue
		}
		expired = append(expired, list[:n]...)
		rest := append(list[:0], list[n:]...)
		clear(list[len(rest):])
		if len(rest) == 0 {
			delete(t.idle, key)
		} else {
			t.idle[key] = rest
		}
		t.idleCount -= n
	}
	again := t.idleCount > 0
	t.sweeping = again
	t.mu.Unlock()
	for _, pc := range expired {
		pc.close()
	}
	if again {
		time.AfterFunc(t.idleTimeout, t.sweep)
	}
}

// CloseIdleConnections closes every pooled connection.
func (t *h1Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*h1Conn{}
	t.idleCount = 0
	t.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			pc.close()
		}
	}
}

// isStale reports errors a connection closed by the upstream while idle
// gives on its next use.
func isStale(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// ctxErr prefers the context's error when the context ended: the
// connection was closed because of it, and proxy.fail classifies the
// context error (499 or 504).
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

// hostPort is the dial address of req: its URL host with the default port.
func hostPort(req *http.Request) string {
	host := req.URL.Host
	if port := req.URL.Port(); port != "" {
		return host
	}
	h := req.URL.Hostname()
	return net.JoinHostPort(h, "80")
}

// dispatchTransport sends plain http:// requests through h1Transport and
// everything else (https, upgrades, proxies, Expect) through http.Transport.
type dispatchTransport struct {
	h1  *h1Transport
	std *http.Transport
}

func (d *dispatchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if d.h1.handles(req) {
		return d.h1.RoundTrip(req)
	}
	return d.std.RoundTrip(req)
}

// CloseIdleConnections closes the idle connections of both transports.
func (d *dispatchTransport) CloseIdleConnections() {
	d.h1.CloseIdleConnections()
	d.std.CloseIdleConnections()
}
