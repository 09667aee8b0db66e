// Package managed is the "managed" plugin driver: the gateway launches the
// plugin executable itself (hashicorp/go-plugin), handshakes with it and
// supervises it, restarting it with backoff when it dies. The plugin
// serves the coprocess Dispatcher (the same messages as the grpc driver)
// and Tollgate's KeyRequests service; plugins/sdk writes both.
//
// The executable is the path of the hook's middleware definition,
// relative to the API's bundle directory when the API has a bundle. One
// process serves every API and hook that names the same executable.
package managed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/tollgate/tollgate/gateway/apidef"
)

// Name is the custom_middleware.driver value of this driver.
const Name = "managed"

// Pool keeps one Process per executable. Processes no API uses any more
// are stopped at the next reload but one (the load being served keeps
// its processes until it is replaced).
type Pool struct {
	Log     *slog.Logger
	Backoff Backoff

	mu      sync.Mutex
	procs   map[string]*Process
	current any // the load being built
	serving any // the load before it, still serving until replaced
	closed  bool
}

// Acquire returns the process running path for the load gen (any value
// that differs between loads, e.g. the load's *chain.Env), starting it if
// needed. A newly started process has finished its first start attempt
// when Acquire returns, so a reload is served by a ready plugin.
func (p *Pool) Acquire(path string, gen any) (*Process, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("plugin pool is closed")
	}
	if p.procs == nil {
		p.procs = map[string]*Process{}
	}
	if gen != p.current {
		p.serving, p.current = p.current, gen
		p.sweepLocked()
	}
	proc, ok := p.procs[path]
	if !ok {
		b := p.Backoff
		if b == (Backoff{}) {
			b = DefaultBackoff
		}
		proc = Start(path, p.Log, b)
		p.procs[path] = proc
	}
	proc.lastUsed = gen
	p.mu.Unlock()
	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
		defer cancel()
		proc.WaitStarted(ctx)
	}
	return proc, nil
}

// sweepLocked stops the processes neither the serving load nor the one
// being built uses.
func (p *Pool) sweepLocked() {
	for path, proc := range p.procs {
		if proc.lastUsed != p.current && proc.lastUsed != p.serving {
			delete(p.procs, path)
			p.Log.Info("stopping plugin no API uses", "plugin_path", path)
			go proc.Stop()
		}
	}
}

// Processes lists the running supervisors, for tests and diagnostics.
func (p *Pool) Processes() []*Process {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Process, 0, len(p.procs))
	for _, proc := range p.procs {
		out = append(out, proc)
	}
	return out
}

// Close stops every plugin and waits for them to exit.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	procs := p.procs
	p.procs = nil
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, proc := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); proc.Stop() }()
	}
	wg.Wait()
}

// ExecutablePath finds the executable of one hook: the hook's own path,
// else the first path given by any enabled hook of the API; relative paths
// are taken from the API's bundle directory when it has one. The file must
// exist and be executable.
func ExecutablePath(def *apidef.Definition, md apidef.MiddlewareDefinition) (string, error) {
	path := md.Path
	if path == "" {
		path = defaultPath(def)
	}
	if path == "" {
		return "", fmt.Errorf("managed plugin hook %q: no executable (set path on the hook)", md.Name)
	}
	if !filepath.IsAbs(path) && def.BundleDir != "" {
		path = filepath.Join(def.BundleDir, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("managed plugin hook %q: %w", md.Name, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case err != nil:
		return "", fmt.Errorf("managed plugin hook %q: executable %s: %w", md.Name, abs, err)
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("managed plugin hook %q: %s is not an executable file", md.Name, abs)
	}
	return abs, nil
}

func defaultPath(def *apidef.Definition) string {
	cm := &def.CustomMiddleware
	all := append([]apidef.MiddlewareDefinition{cm.AuthCheck}, cm.Pre...)
	all = append(all, cm.PostKeyAuth...)
	all = append(all, cm.Post...)
	all = append(all, cm.Response...)
	for _, md := range all {
		if !md.Disabled && md.Name != "" && md.Path != "" {
			return md.Path
		}
	}
	return ""
}
