package proxy

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// TransportOptions are the tyk.conf settings of the upstream connection pool.
type TransportOptions struct {
	MaxIdleConns        int
	MaxIdleConnsPerHost int
	CloseConnections    bool          // proxy_close_connections: no reuse
	ResponseTimeout     time.Duration // proxy_default_timeout
	InsecureSkipVerify  bool
}

// NewTransport builds the pool every API's proxy shares. Keep-alive
// connections are the main throughput lever: a high per-host idle limit
// lets every concurrent client keep its upstream connection. Plain http://
// upstreams go through h1Transport (see h1.go for why); https, upgrades and
// environment proxies through http.Transport.
func NewTransport(o TransportOptions) http.RoundTripper {
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 512
	}
	if o.MaxIdleConns <= 0 {
		o.MaxIdleConns = 4 * o.MaxIdleConnsPerHost
	}
	if o.ResponseTimeout <= 0 {
		o.ResponseTimeout = 30 * time.Second
	}
	std := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          o.MaxIdleConns,
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		ResponseHeaderTimeout: o.ResponseTimeout,
		DisableKeepAlives:     o.CloseConnections,
		DisableCompression:    true, // pass Accept-Encoding and bodies through untouched
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: o.InsecureSkipVerify, MinVersion: tls.VersionTLS12},
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
	}
	h1 := &h1Transport{
		dialer:         net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		maxIdlePerHost: o.MaxIdleConnsPerHost,
		maxIdle:        o.MaxIdleConns,
		idleTimeout:    std.IdleConnTimeout,
		headerTimeout:  o.ResponseTimeout,
		closeConns:     o.CloseConnections,
		idle:           map[string][]*h1Conn{},
	}
	return &dispatchTransport{h1: h1, std: std}
}

// bufferPool lends 32 KiB copy buffers to the reverse proxy, so streaming a
// body allocates nothing per request.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }
