package managed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/tollgate/tollgate/plugins/hooks"
	"github.com/tollgate/tollgate/plugins/proto/coprocess"
	"github.com/tollgate/tollgate/plugins/proto/tollgatepb"
	"github.com/tollgate/tollgate/plugins/wire"
)

// Backoff is the restart policy of a plugin process: the first restart
// waits Initial, each further one twice as long up to Max; a process that
// ran for StableAfter resets the wait.
type Backoff struct {
	Initial, Max, StableAfter time.Duration
}

// DefaultBackoff restarts quickly at first and settles at 10 s.
var DefaultBackoff = Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second, StableAfter: 30 * time.Second}

// StartTimeout bounds the handshake of a starting plugin.
const StartTimeout = 15 * time.Second

// Process supervises one plugin executable: it starts it through
// go-plugin, restarts it with backoff when it dies, and hands out the
// connection to the running instance. While no instance runs, calls fail
// at once with hooks.ErrUnavailable.
type Process struct {
	path    string
	log     *slog.Logger
	backoff Backoff

	mu       sync.Mutex
	cur      *instance
	lastUsed any // the load that last used this process (see Pool)

	started chan struct{} // closed when the first start attempt is over
	stop    chan struct{}
	done    chan struct{}
}

type instance struct {
	client *plugin.Client
	conn   *wire.Conn
	run    *procRunner
}

// Start launches the supervisor of path; the first start attempt is under
// way when it returns (see WaitStarted).
func Start(path string, log *slog.Logger, b Backoff) *Process {
	p := &Process{path: path, log: log.With("plugin_path", path), backoff: b,
		started: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go p.supervise()
	return p
}

// WaitStarted blocks until the first start attempt has succeeded or
// failed, or ctx ends.
func (p *Process) WaitStarted(ctx context.Context) {
	select {
	case <-p.started:
	case <-ctx.Done():
	}
}

// Path is the executable this process runs.
func (p *Process) Path() string { return p.path }

// Pid is the process ID of the running instance, 0 while none runs.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return 0
	}
	return p.cur.run.pid
}

// Stop kills the plugin and ends supervision; it returns when both are done.
func (p *Process) Stop() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

func (p *Process) supervise() {
	defer close(p.done)
	delay := p.backoff.Initial
	first := true
	for {
		inst, err := p.launch()
		if err == nil {
			p.mu.Lock()
			p.cur = inst
			p.mu.Unlock()
			p.log.Info("plugin started", "pid", inst.run.pid)
		}
		if first {
			close(p.started)
			first = false
		}
		if err != nil {
			p.log.Error("plugin did not start", "error", err, "retry_in", delay.String())
		} else {
			since := time.Now()
			select {
			case <-p.stop:
				p.drop(inst)
				return
			case <-inst.run.exited:
			}
			p.drop(inst)
			if time.Since(since) >= p.backoff.StableAfter {
				delay = p.backoff.Initial
			}
			p.log.Error("plugin exited; its hooks fail until it is back", "pid", inst.run.pid, "restart_in", delay.String())
		}
		t := time.NewTimer(delay)
		select {
		case <-p.stop:
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, p.backoff.Max)
	}
}

// drop forgets an instance and releases what go-plugin holds for it.
func (p *Process) drop(inst *instance) {
	p.mu.Lock()
	if p.cur == inst {
		p.cur = nil
	}
	p.mu.Unlock()
	inst.client.Kill()
}

// launch starts the executable and completes the handshake.
func (p *Process) launch() (*instance, error) {
	var run *procRunner
	name := filepath.Base(p.path)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		Plugins:          wire.Set(wire.Servers{}),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     StartTimeout,
		Logger:           newSlogger(p.log).Named(name),
		SyncStdout:       &lineWriter{log: func(s string) { p.log.Info(s, "plugin", name, "stream", "stdout") }},
		SyncStderr:       &lineWriter{log: func(s string) { p.log.Warn(s, "plugin", name, "stream", "stderr") }},
		RunnerFunc: func(_ hclog.Logger, spec *exec.Cmd, _ string) (runner.Runner, error) {
			cmd := exec.Command(p.path)
			cmd.Dir = filepath.Dir(p.path)
			cmd.Env = spec.Env
			var err error
			run, err = newRunner(cmd)
			return run, err
		},
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, err
	}
	raw, err := rpc.Dispense(wire.PluginName)
	if err != nil {
		client.Kill()
		return nil, err
	}
	conn, ok := raw.(*wire.Conn)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("plugin dispensed %T", raw)
	}
	return &instance{client: client, conn: conn, run: run}, nil
}

// conn returns the running instance's connection.
func (p *Process) conn() (*wire.Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return nil, fmt.Errorf("%w: %s is not running", hooks.ErrUnavailable, p.path)
	}
	return p.cur.conn, nil
}

// Dispatch sends one hook call (hooks.Backend).
func (p *Process) Dispatch(ctx context.Context, obj *coprocess.Object) (*coprocess.Object, error) {
	c, err := p.conn()
	if err != nil {
		return nil, err
	}
	return c.Dispatcher.Dispatch(ctx, obj)
}

// KeyRequest hands a key request to the plugin. A plugin that does not
// implement the hook answers Unimplemented, which is returned as is.
func (p *Process) KeyRequest(ctx context.Context, kr *tollgatepb.KeyRequestObject) (*tollgatepb.KeyRequestReply, error) {
	c, err := p.conn()
	if err != nil {
		return nil, err
	}
	reply, err := c.Keys.KeyRequest(ctx, kr)
	if err == nil && reply == nil {
		err = errors.New("plugin returned no reply")
	}
	return reply, err
}
