// Package gatewaytest starts real gateways on loopback for tests: in this
// process (Start) or as a separate tollgate process (StartProcess, for
// crash tests).
package gatewaytest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/storage"
	"github.com/tollgate/tollgate/gen"
)

// Secret is the control-API secret of every test gateway.
const Secret = "test-secret"

// Options shape a test gateway.
type Options struct {
	// Dir holds apps/, policies/, data/ and middleware/; a fresh temp dir
	// when empty.
	// Pass the Dir of a stopped gateway to restart on its data.
	Dir string
	// Redis, when set, is the address of the Redis to use instead of the
	// embedded store.
	Redis string
	// Configure adjusts the config before start.
	Configure func(*config.Config)
	// Log, when set, receives the gateway's log lines (text, info and
	// up). It is written from several goroutines.
	Log io.Writer
}

// Gateway is a running test gateway.
type Gateway struct {
	URL string // http://127.0.0.1:port, the listen port
	// ControlURL is where the control API answers: URL, or the
	// control_api_port listener when one is configured.
	ControlURL string
	Dir        string
	Config     *config.Config
	Store      storage.Store // the gateway's own store, for checking what was written

	stopOnce sync.Once
	stop     func()
}

// Config builds the configuration a test gateway runs with.
func Config(t testing.TB, opts *Options) *config.Config {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	cfg := config.Default()
	cfg.Secret = Secret
	cfg.NodeSecret = Secret
	cfg.ListenAddress = "127.0.0.1"
	cfg.ListenPort = FreePort(t)
	cfg.AppPath = filepath.Join(opts.Dir, "apps")
	cfg.Policies.PolicyPath = filepath.Join(opts.Dir, "policies")
	cfg.Storage.DataDir = filepath.Join(opts.Dir, "data")
	cfg.MiddlewarePath = filepath.Join(opts.Dir, "middleware") // plugin bundles unpack here
	if opts.Redis != "" {
		host, port, _ := net.SplitHostPort(opts.Redis)
		cfg.Storage.Type = storage.TypeRedis
		cfg.Storage.Host = host
		cfg.Storage.Port, _ = strconv.Atoi(port)
	}
	if opts.Configure != nil {
		opts.Configure(cfg)
	}
	for _, d := range []string{cfg.AppPath, cfg.Policies.PolicyPath} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config is invalid: %v", err)
	}
	return cfg
}

// Start runs a gateway in this process and stops it when the test ends.
func Start(t testing.TB, opts Options) *Gateway {
	t.Helper()
	cfg := Config(t, &opts)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if opts.Log != nil {
		log = slog.New(slog.NewTextHandler(opts.Log, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	gw, err := gateway.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("starting gateway: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	g := &Gateway{URL: "http://" + cfg.ListenAddr(), Dir: opts.Dir, Config: cfg, Store: gw.Store}
	g.ControlURL = g.URL
	if addr := cfg.ControlAPIAddr(); addr != "" {
		g.ControlURL = "http://" + addr
	}
	g.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway stopped with error: %v", err)
		}
		gw.Close()
	}
	t.Cleanup(g.Stop)
	g.waitReady(t, done)
	return g
}

// Stop shuts the gateway down (idempotent).
func (g *Gateway) Stop() { g.stopOnce.Do(g.stop) }

func (g *Gateway) waitReady(t testing.TB, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("gateway exited during start-up: %v", err)
		default:
		}
		resp, err := http.Get(g.ControlURL + "/hello")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("gateway at %s did not become ready", g.URL)
}

// Client returns the generated Gateway API client, authenticated.
func (g *Gateway) Client(t testing.TB) *gen.ClientWithResponses {
	t.Helper()
	c, err := gen.NewClientWithResponses(g.ControlURL, gen.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("X-Tyk-Authorization", Secret)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Response is what Do got back.
type Response struct {
	Status int
	Body   string
	Header http.Header
}

// Do sends a control-API request with the secret (unless a header map
// overrides X-Tyk-Authorization) and returns status and body.
func (g *Gateway) Do(t testing.TB, method, path, body string, header ...string) Response {
	t.Helper()
	return Do(t, g.ControlURL, method, path, body, append([]string{"X-Tyk-Authorization", Secret}, header...)...)
}

// Do sends one request to base+path; header is a list of name, value pairs
// (later pairs win; an empty value deletes).
func Do(t testing.TB, base, method, path, body string, header ...string) Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if http.CanonicalHeaderKey(header[i]) == "Host" {
			req.Host = header[i+1] // the client sends req.Host, not a Host header
			continue
		}
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Body: string(b), Header: resp.Header}
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Process is a tollgate binary running as a child process.
type Process struct {
	URL     string
	Cmd     *exec.Cmd
	out     *LogBuffer // stdout and stderr; read with Output
	exited  chan struct{}
	exitErr error
}

// Output returns what the process has logged so far.
func (p *Process) Output() string {
	return p.out.String()
}

// Wait blocks until the process exits and returns its exit error.
func (p *Process) Wait() error {
	<-p.exited
	return p.exitErr
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the path of a freshly built tollgate binary. It lives at a
// fixed place under the temp dir, replaced atomically by each test binary,
// so test runs do not pile up copies.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), "tollgate-test-bin")
		if buildErr = os.MkdirAll(dir, 0o755); buildErr != nil {
			return
		}
		tmp := filepath.Join(dir, fmt.Sprintf("tollgate.%d", os.Getpid()))
		out, err := exec.Command("go", "build", "-o", tmp, "github.com/tollgate/tollgate/gateway/cmd/tollgate").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		binPath = filepath.Join(dir, "tollgate")
		buildErr = os.Rename(tmp, binPath)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// StartProcess writes cfg to a tyk.conf and runs the tollgate binary on it,
// waiting until it answers /hello.
func StartProcess(t testing.TB, cfg *config.Config, dir string) *Process {
	t.Helper()
	confPath := filepath.Join(dir, "tyk.conf")
	if err := writeJSON(confPath, cfg); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Binary(t), "--conf", confPath)
	out := &LogBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	p := &Process{URL: "http://" + cfg.ListenAddr(), Cmd: cmd, out: out, exited: exited}
	go func() { p.exitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("tollgate exited during start-up:\n%s", p.Output())
		default:
		}
		if resp, err := http.Get(p.URL + "/hello"); err == nil {
			resp.Body.Close()
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("tollgate did not start:\n%s", p.Output())
	return nil
}

// KeepAliveClient is a client for load from many goroutines: conns idle
// connections are kept per host and every request is bounded by 5 s.
func KeepAliveClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns
	tr.MaxIdleConnsPerHost = conns
	return &http.Client{Timeout: 5 * time.Second, Transport: tr}
}

// Send makes one control-API request with the secret, without a testing.TB
// so that it can run in goroutines that must not call t.Fatal.
func Send(c *http.Client, method, url, body string) (int, string, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("X-Tyk-Authorization", Secret)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, string(b), nil
}
