// Package grpcdriver is the "grpc" plugin driver: hooks are sent to the
// gateway-wide plugin server named by coprocess_options.coprocess_grpc_server
// (tcp://host:port or unix:///path), the way Tyk's gRPC plugins are, so an
// existing Tyk plugin server works unchanged.
//
// Unlike Tyk, every call has a deadline, and while the server is down the
// hooks fail at once (see package hooks) and the connection is retried in
// the background with a short backoff.
package grpcdriver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/plugins/hooks"
	"github.com/tollgate/tollgate/plugins/proto/coprocess"
	"github.com/tollgate/tollgate/plugins/wire"
)

// Name is the custom_middleware.driver value of this driver.
const Name = "grpc"

// Client is the connection to the plugin server, made on first use and
// kept across reloads.
type Client struct {
	cfg config.CoProcessConfig

	mu   sync.Mutex
	conn *grpc.ClientConn
	disp coprocess.DispatcherClient
}

// New returns a client for the configured server; nothing is dialled yet.
func New(cfg config.CoProcessConfig) *Client { return &Client{cfg: cfg} }

// Backend returns the backend hooks are sent to. It fails when gRPC
// plugins are off or the server address is unusable; a server that is
// merely down is not an error here (calls fail until it is back).
func (c *Client) Backend() (hooks.Backend, error) {
	if !c.cfg.EnableCoProcess {
		return nil, errors.New(`custom_middleware.driver "grpc" needs coprocess_options.enable_coprocess`)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		network, addr, err := wire.ParseTarget(c.cfg.CoProcessGRPCServer)
		if err != nil {
			return nil, err
		}
		conn, err := dial(network, addr, c.cfg)
		if err != nil {
			return nil, fmt.Errorf("coprocess_options.coprocess_grpc_server: %w", err)
		}
		c.conn, c.disp = conn, coprocess.NewDispatcherClient(conn)
	}
	return backend{c.disp}, nil
}

// Close drops the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn, c.disp = nil, nil
	return err
}

// dial makes a lazily connecting client. Reconnection backs off from
// 100 ms to at most 2 s, so a restarted server is picked up quickly.
func dial(network, addr string, cfg config.CoProcessConfig) (*grpc.ClientConn, error) {
	var d net.Dialer
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 2 * time.Second,
		}),
	}
	var call []grpc.CallOption
	if cfg.GRPCRecvMaxSize > 0 {
		call = append(call, grpc.MaxCallRecvMsgSize(cfg.GRPCRecvMaxSize))
	}
	if cfg.GRPCSendMaxSize > 0 {
		call = append(call, grpc.MaxCallSendMsgSize(cfg.GRPCSendMaxSize))
	}
	if len(call) > 0 {
		opts = append(opts, grpc.WithDefaultCallOptions(call...))
	}
	if cfg.GRPCAuthority != "" {
		opts = append(opts, grpc.WithAuthority(cfg.GRPCAuthority))
	}
	return grpc.NewClient("passthrough:///coprocess", opts...)
}

type backend struct{ c coprocess.DispatcherClient }

func (b backend) Dispatch(ctx context.Context, obj *coprocess.Object) (*coprocess.Object, error) {
	return b.c.Dispatch(ctx, obj)
}
