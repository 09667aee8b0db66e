package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tollgate/tollgate/plugins/proto/coprocess"
	"github.com/tollgate/tollgate/plugins/proto/tollgatepb"
	"github.com/tollgate/tollgate/plugins/wire"
)

// ListenEnv names the environment variable that makes Serve run a
// standalone gRPC plugin server (for driver "grpc") on the address it holds,
// tcp://host:port or unix:///path.
const ListenEnv = "TOLLGATE_PLUGIN_LISTEN"

// stderr is the process's real standard error: go-plugin redirects
// os.Stderr once serving, but the gateway reads log lines from this one.
var stderr = os.Stderr

// Log is the plugin's logger. Under the gateway its lines go to the
// gateway's log, with their level and attributes.
var Log = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{
	Level: slog.LevelDebug,
	ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) > 0 {
			return a
		}
		switch a.Key {
		case slog.TimeKey:
			return slog.Attr{} // the gateway stamps the line itself
		case slog.LevelKey:
			return slog.String("@level", strings.ToLower(a.Value.String()))
		case slog.MessageKey:
			return slog.String("@message", a.Value.String())
		}
		return a
	},
}))

// Serve runs the plugin until the gateway stops it. It does not return.
// Started by the gateway (driver "managed") it serves go-plugin's
// protocol; with TOLLGATE_PLUGIN_LISTEN set it serves the plugin as a
// standalone gRPC server there.
func Serve(p Plugin) {
	if os.Getenv(wire.Handshake.MagicCookieKey) == wire.Handshake.MagicCookieValue {
		go exitWithParent()
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: wire.Handshake,
			Plugins:         wire.Set(servers(&p)),
			GRPCServer:      plugin.DefaultGRPCServer,
			Logger: hclog.New(&hclog.LoggerOptions{
				Level: hclog.Warn, Output: stderr, JSONFormat: true,
			}),
		})
		os.Exit(0)
	}
	if addr := os.Getenv(ListenEnv); addr != "" {
		if err := ListenAndServe(context.Background(), addr, p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	fmt.Fprintf(os.Stderr, "This is a Tollgate plugin. Point an API at it with custom_middleware.driver \"managed\",\n"+
		"or run it with %s=tcp://127.0.0.1:5555 and use driver \"grpc\".\n", ListenEnv)
	os.Exit(1)
}

// ListenAndServe serves p as a Tyk-compatible gRPC plugin server on addr
// (tcp://host:port or unix:///path) until ctx ends.
func ListenAndServe(ctx context.Context, addr string, p Plugin) error {
	network, address, err := wire.ParseTarget(addr)
	if err != nil {
		return err
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return err
	}
	return ServeListener(ctx, ln, p)
}

// ServeListener serves p on ln until ctx ends.
func ServeListener(ctx context.Context, ln net.Listener, p Plugin) error {
	s := grpc.NewServer()
	_ = (&wire.Plugin{Servers: servers(&p)}).GRPCServer(nil, s)
	go func() { <-ctx.Done(); s.GracefulStop() }()
	err := s.Serve(ln)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// exitWithParent ends the plugin when the gateway that started it is gone
// (killed without a chance to stop its plugins).
func exitWithParent() {
	parent := os.Getppid()
	for range time.Tick(time.Second) {
		if os.Getppid() != parent {
			os.Exit(0)
		}
	}
}

func servers(p *Plugin) wire.Servers {
	return wire.Servers{Dispatcher: dispatcher{p: p}, Keys: keys{p: p}}
}

type dispatcher struct {
	coprocess.UnimplementedDispatcherServer
	p *Plugin
}

func (d dispatcher) Dispatch(ctx context.Context, obj *coprocess.Object) (*coprocess.Object, error) {
	out, err := d.p.dispatch(ctx, obj)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return out, nil
}

func (d dispatcher) DispatchEvent(context.Context, *coprocess.Event) (*coprocess.EventReply, error) {
	return &coprocess.EventReply{}, nil
}

type keys struct {
	tollgatepb.UnimplementedKeyRequestsServer
	p *Plugin
}

func (k keys) KeyRequest(ctx context.Context, kr *KeyRequest) (reply *KeyReply, err error) {
	if k.p.KeyRequest == nil {
		return nil, status.Error(codes.Unimplemented, "this plugin has no KeyRequest hook")
	}
	defer func() {
		if v := recover(); v != nil {
			reply, err = nil, status.Errorf(codes.Internal, "KeyRequest hook panicked: %v", v)
		}
	}()
	reply, err = k.p.KeyRequest(ctx, kr)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if reply == nil {
		reply = &KeyReply{}
	}
	return reply, nil
}
