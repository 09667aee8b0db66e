// Package wire is what the gateway and a managed plugin agree on: the
// go-plugin handshake, the plugin's name in the plugin set, and the
// go-plugin adapter that puts the coprocess Dispatcher and the Tollgate
// KeyRequests services on the plugin's gRPC server.
package wire

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/tollgate/tollgate/plugins/proto/coprocess"
	"github.com/tollgate/tollgate/plugins/proto/tollgatepb"
)

// Handshake must match on both sides; a binary started without the cookie
// (by hand) says it is a plugin and exits.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "TOLLGATE_PLUGIN",
	MagicCookieValue: "8f1d2c0e-managed-plugin-v1",
}

// PluginName is the single entry of the plugin set.
const PluginName = "tollgate"

// Servers are the plugin side's implementations.
type Servers struct {
	Dispatcher coprocess.DispatcherServer
	Keys       tollgatepb.KeyRequestsServer
}

// Plugin adapts Servers to go-plugin's gRPC protocol. On the gateway side
// it is used with zero Servers: dispensing it yields a *Conn.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Servers Servers
}

// GRPCServer registers the plugin's services.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Servers.Dispatcher != nil {
		coprocess.RegisterDispatcherServer(s, p.Servers.Dispatcher)
	}
	if p.Servers.Keys != nil {
		tollgatepb.RegisterKeyRequestsServer(s, p.Servers.Keys)
	}
	return nil
}

// GRPCClient wraps the connection go-plugin made to the plugin.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return &Conn{Dispatcher: coprocess.NewDispatcherClient(cc), Keys: tollgatepb.NewKeyRequestsClient(cc)}, nil
}

// Conn is the gateway's view of a running plugin.
type Conn struct {
	Dispatcher coprocess.DispatcherClient
	Keys       tollgatepb.KeyRequestsClient
}

// Set is the plugin set both sides pass to go-plugin.
func Set(s Servers) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &Plugin{Servers: s}}
}

// ParseTarget splits a server URL into a dial network and address: the
// scheme is the network, as in Tyk (tcp, tcp4, tcp6, unix).
func ParseTarget(s string) (network, addr string, err error) {
	if s == "" {
		return "", "", errors.New("coprocess_options.coprocess_grpc_server is empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("coprocess_options.coprocess_grpc_server %q: %w", s, err)
	}
	switch u.Scheme {
	case "tcp", "tcp4", "tcp6":
		if u.Host == "" {
			return "", "", fmt.Errorf("coprocess_options.coprocess_grpc_server %q has no host:port", s)
		}
		return u.Scheme, u.Host, nil
	case "unix":
		p := u.Path
		if p == "" {
			p = u.Opaque
		}
		if p == "" {
			return "", "", fmt.Errorf("coprocess_options.coprocess_grpc_server %q has no socket path", s)
		}
		return "unix", p, nil
	}
	return "", "", fmt.Errorf("coprocess_options.coprocess_grpc_server %q: scheme must be tcp:// or unix://", s)
}
