//go:build linux

// Command loadbench measures Tollgate's data plane against nginx on
// loopback: an echo upstream (this program, re-run as `loadbench
// upstream`), nginx as a plain keep-alive proxy_pass, and tollgate on the
// embedded store and on Redis, all pinned to one core while wrk runs
// pinned to another. It prints req/s, p50 and p99 per scenario and the
// ratios to nginx against the targets.
//
//	go run ./gateway/cmd/loadbench [-duration 10s] [-warmup 2s] [-conns 64]
//	    [-scenarios keyless,keyed] [-cpuprofile-scenario keyed]
//
// It needs nginx, wrk, taskset and redis-server on PATH and installs
// nothing: apt-get install -y nginx wrk redis-server util-linux.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	secret   = "loadbench-secret"
	bodySize = 256
)

// scenario is one wrk run; target is the least req/s ratio to nginx that
// meets the goal (0: a reference, no target).
type scenario struct {
	name, url, auth, note string
	target                float64
	gw                    *gateway
}

type result struct {
	rps, p50, p99 float64 // latencies in ms
	bad           string  // non-2xx responses or socket errors, if any
}

type gateway struct{ url, pprof string }

type bench struct {
	dir                  string
	clientCPU, serverCPU string
	conns                int
	duration, warmup     time.Duration
	procs                []*exec.Cmd
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "upstream" {
		serveUpstream(os.Args[2])
		return
	}
	b := &bench{}
	flag.DurationVar(&b.duration, "duration", 10*time.Second, "measured wrk run per scenario")
	flag.DurationVar(&b.warmup, "warmup", 2*time.Second, "wrk warm-up before each measured run")
	flag.IntVar(&b.conns, "conns", 64, "wrk connections")
	flag.StringVar(&b.clientCPU, "client-cpu", "0", "taskset CPU list for wrk")
	flag.StringVar(&b.serverCPU, "server-cpu", "1", "taskset CPU list for the upstream, nginx, redis and tollgate")
	only := flag.String("scenarios", "", "comma-separated scenarios to run (default all; nginx always runs as the reference)")
	profile := flag.String("cpuprofile-scenario", "", "capture a tollgate CPU profile during this scenario into loadbench-NAME.pprof")
	flag.Parse()
	if err := b.run(*only, *profile); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

func (b *bench) run(only, profile string) error {
	var missing []string
	for _, tool := range []string{"nginx", "wrk", "taskset", "redis-server"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not on PATH; install with: apt-get install -y nginx wrk redis-server util-linux", strings.Join(missing, ", "))
	}
	want := func(name string) bool {
		return only == "" || name == "nginx" || strings.Contains(","+only+",", ","+name+",")
	}
	// Bounded: start-up plus every scenario, with room to spare.
	limit := 2*time.Minute + 6*(b.warmup+b.duration+20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if b.dir, err = os.MkdirTemp("", "loadbench-"); err != nil {
		return err
	}
	defer os.RemoveAll(b.dir)
	defer b.stopAll()

	self, err := os.Executable()
	if err != nil {
		return err
	}
	upstream := "127.0.0.1:" + freePort()
	if err := b.serve(ctx, "upstream", upstream, self, "upstream", upstream); err != nil {
		return err
	}
	ngx, err := b.startNginx(ctx, upstream)
	if err != nil {
		return err
	}
	tollgate := filepath.Join(b.dir, "tollgate")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", tollgate, "github.com/tollgate/tollgate/gateway/cmd/tollgate").CombinedOutput(); err != nil {
		return fmt.Errorf("go build tollgate (run from the repository): %v\n%s", err, out)
	}
	scenarios := []*scenario{
		{name: "upstream", url: "http://" + upstream + "/"},
		{name: "nginx", url: "http://" + ngx + "/"},
	}
	for _, store := range []string{"embedded", "redis"} {
		sfx, names := "", []string{"keyless", "keyed", "rate-quota"}
		if store == "redis" {
			sfx, names = "-redis", []string{"rate-quota-redis"}
		}
		var ss []*scenario
		for _, n := range names {
			if want(n) {
				ss = append(ss, &scenario{name: n})
			}
		}
		if len(ss) == 0 {
			continue
		}
		gw, keys, limited, err := b.startGateway(ctx, tollgate, store, "http://"+upstream, profile != "")
		if err != nil {
			return fmt.Errorf("tollgate (%s): %w", store, err)
		}
		for _, s := range ss {
			s.gw = gw
			switch strings.TrimSuffix(s.name, sfx) {
			case "keyless":
				s.url, s.target = gw.url+"/keyless/", 0.75
			case "keyed":
				s.url, s.auth, s.target = gw.url+"/keyed/", keys["keyed"], 0.6
			case "rate-quota":
				s.url, s.auth, s.target = gw.url+"/limited/", keys["limited"], 0.5
				if store == "redis" {
					s.target = 0.35
				}
				if !limited {
					s.note = "no rate-limit/quota stage in this build: measures the keyed path"
				}
			}
		}
		scenarios = append(scenarios, ss...)
	}

	fmt.Printf("loadbench: %d conns, %s warm-up + %s per scenario; wrk on CPU %s, servers on CPU %s; %d-byte GET\n",
		b.conns, b.warmup, b.duration, b.clientCPU, b.serverCPU, bodySize)
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(la))
		warn := ""
		if l1, _ := strconv.ParseFloat(f[0], 64); l1 > 1 {
			warn = " - other processes are busy: expect noisy figures"
		}
		fmt.Printf("load average %s %s %s%s\n", f[0], f[1], f[2], warn)
	}
	fmt.Printf("each run: taskset -c %s wrk -t1 -c%d -d%s --latency [-H 'Authorization: KEY'] URL\n\n", b.clientCPU, b.conns, b.duration)
	results := map[string]result{}
	for _, s := range scenarios {
		if !want(s.name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "running %s ...\n", s.name)
		if _, err := b.wrk(ctx, s, b.warmup); err != nil {
			return err
		}
		var prof chan error
		if s.name == profile && s.gw != nil {
			prof = make(chan error, 1)
			go func() { prof <- captureProfile(ctx, s.gw.pprof, b.duration, "loadbench-"+s.name+".pprof") }()
		}
		r, err := b.wrk(ctx, s, b.duration)
		if err != nil {
			return err
		}
		if prof != nil {
			if err := <-prof; err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "CPU profile: go tool pprof -top loadbench-%s.pprof\n", s.name)
		}
		results[s.name] = r
	}
	printTable(scenarios, results)
	return nil
}

// printTable prints one row per scenario with its ratios to nginx.
func printTable(scenarios []*scenario, results map[string]result) {
	ref := results["nginx"]
	fmt.Printf("%-17s %9s %9s %9s %8s %10s %-18s %s\n", "scenario", "req/s", "p50", "p99", "x nginx", "p99/nginx", "target", "met")
	for _, s := range scenarios {
		r, ok := results[s.name]
		if !ok {
			continue
		}
		target, met := "-", "-"
		if s.target > 0 {
			target = fmt.Sprintf(">=%.2fx, p99<=2x", s.target)
			met = "no"
			if r.bad == "" && r.rps >= s.target*ref.rps && r.p99 <= 2*ref.p99 {
				met = "yes"
			}
		}
		fmt.Printf("%-17s %9.0f %7.2fms %7.2fms %7.2fx %9.2fx %-18s %s\n", s.name, r.rps, r.p50, r.p99, r.rps/ref.rps, r.p99/ref.p99, target, met)
		for _, n := range []string{s.note, r.bad} {
			if n != "" {
				fmt.Printf("  %s: %s\n", s.name, n)
			}
		}
	}
}

// start runs a server pinned to the server CPU in its own process group,
// logging to the temp dir; stopAll kills the group.
func (b *bench) start(name string, args ...string) error {
	cmd := exec.Command("taskset", append([]string{"-c", b.serverCPU}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	log, err := os.Create(filepath.Join(b.dir, name+".log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	b.procs = append(b.procs, cmd)
	return nil
}

// serve starts a server and waits until addr accepts connections.
func (b *bench) serve(ctx context.Context, name, addr string, args ...string) error {
	if err := b.start(name, args...); err != nil {
		return err
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
	}
	log, _ := os.ReadFile(filepath.Join(b.dir, name+".log"))
	return fmt.Errorf("%s did not listen on %s:\n%s", name, addr, log)
}

func (b *bench) stopAll() {
	for _, cmd := range b.procs {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}
}

func (b *bench) startNginx(ctx context.Context, upstream string) (string, error) {
	addr := "127.0.0.1:" + freePort()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root root;" // run workers as the current user, not nobody
	}
	conf := fmt.Sprintf(`%s
worker_processes 1;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %[2]s/client; proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi; uwsgi_temp_path %[2]s/uwsgi; scgi_temp_path %[2]s/scgi;
    upstream echo { server %[3]s; keepalive 64; }
    server {
        listen %[4]s;
        location / { proxy_pass http://echo; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
`, user, b.dir, upstream, addr)
	path := filepath.Join(b.dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return "", err
	}
	return addr, b.serve(ctx, "nginx", addr, "nginx", "-p", b.dir, "-c", path, "-e", filepath.Join(b.dir, "nginx-error.log"))
}

// startGateway runs tollgate on a store ("embedded", or "redis" with a
// redis-server of its own), creates the bench APIs and keys through the
// control API, and reports whether a quota stage answers on /limited/.
func (b *bench) startGateway(ctx context.Context, bin, store, upstream string, pprof bool) (*gateway, map[string]string, bool, error) {
	dir := filepath.Join(b.dir, store)
	for _, d := range []string{"apps", "policies"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, nil, false, err
		}
	}
	port, _ := strconv.Atoi(freePort())
	conf := map[string]any{
		"listen_address": "127.0.0.1", "listen_port": port, "secret": secret, "log_level": "warn",
		"app_path": filepath.Join(dir, "apps"), "policies": map[string]any{"policy_path": filepath.Join(dir, "policies")},
		"storage": map[string]any{"type": "embedded", "data_dir": filepath.Join(dir, "data")},
	}
	if store == "redis" {
		raddr := "127.0.0.1:" + freePort()
		_, rport, _ := net.SplitHostPort(raddr)
		if err := b.serve(ctx, "redis", raddr, "redis-server", "--bind", "127.0.0.1", "--port", rport,
			"--save", "", "--appendonly", "no", "--dir", dir); err != nil {
			return nil, nil, false, err
		}
		p, _ := strconv.Atoi(rport)
		conf["storage"] = map[string]any{"type": "redis", "host": "127.0.0.1", "port": p}
	}
	gw := &gateway{url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	if pprof {
		gw.pprof = "127.0.0.1:" + freePort()
		conf["enable_pprof_on"] = gw.pprof
	}
	confPath := filepath.Join(dir, "tyk.conf")
	if raw, _ := json.Marshal(conf); os.WriteFile(confPath, raw, 0o644) != nil {
		return nil, nil, false, errors.New("cannot write " + confPath)
	}
	if err := b.serve(ctx, "tollgate-"+store, gw.url[len("http://"):], bin, "--conf", confPath); err != nil {
		return nil, nil, false, err
	}
	api := func(id string, keyless bool) string {
		return fmt.Sprintf(`{"api_id":%[1]q,"name":%[1]q,"org_id":"bench","active":true,"use_keyless":%[2]t,
			"use_standard_auth":%[3]t,"disable_rate_limit":%[4]t,"disable_quota":%[4]t,
			"proxy":{"listen_path":"/%[1]s/","target_url":%[5]q,"strip_listen_path":true},
			"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default"}}}}`,
			id, keyless, !keyless, id == "keyed", upstream)
	}
	for _, def := range []string{api("keyless", true), api("keyed", false), api("limited", false)} {
		if _, err := control(ctx, "POST", gw.url+"/tyk/apis", def); err != nil {
			return nil, nil, false, err
		}
	}
	if _, err := control(ctx, "GET", gw.url+"/tyk/reload?block=true", ""); err != nil {
		return nil, nil, false, err
	}
	keys := map[string]string{}
	for _, id := range []string{"keyed", "limited"} {
		body := fmt.Sprintf(`{"org_id":"bench","rate":1e9,"per":1,"quota_max":%s,"quota_renewal_rate":3600,
			"access_rights":{%[2]q:{"api_id":%[2]q,"api_name":%[2]q,"versions":["Default"]}}}`,
			map[bool]string{true: "-1", false: "1000000000000"}[id == "keyed"], id)
		out, err := control(ctx, "POST", gw.url+"/tyk/keys/bench-"+id, body)
		if err != nil {
			return nil, nil, false, err
		}
		var created struct{ Key string }
		if err := json.Unmarshal(out, &created); err != nil || created.Key == "" {
			return nil, nil, false, fmt.Errorf("key create answered %s", out)
		}
		keys[id] = created.Key
	}
	limited := false
	for path, key := range map[string]string{"/keyless/": "", "/keyed/": keys["keyed"], "/limited/": keys["limited"]} {
		req, _ := http.NewRequestWithContext(ctx, "GET", gw.url+path, nil)
		if key != "" {
			req.Header.Set("Authorization", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, nil, false, err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil, nil, false, fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
		}
		limited = limited || (path == "/limited/" && resp.Header.Get("X-Ratelimit-Limit") != "")
	}
	return gw, keys, limited, nil
}

// control sends one control-API request and wants a 200.
func control(ctx context.Context, method, url, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Tyk-Authorization", secret)
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, out)
	}
	return out, nil
}

var (
	rpsRe     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	latencyRe = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	badRe     = regexp.MustCompile(`(Non-2xx or 3xx responses: \d+|Socket errors: .*)`)
)

// wrk runs wrk pinned to the client CPU and parses its report.
func (b *bench) wrk(ctx context.Context, s *scenario, d time.Duration) (result, error) {
	args := []string{"-c", b.clientCPU, "wrk", "-t1", fmt.Sprintf("-c%d", b.conns), fmt.Sprintf("-d%ds", int(d.Seconds())), "--latency", "--timeout", "5s"}
	if s.auth != "" {
		args = append(args, "-H", "Authorization: "+s.auth)
	}
	wctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(wctx, "taskset", append(args, s.url)...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk %s: %v\n%s", s.name, err, out)
	}
	m := rpsRe.FindSubmatch(out)
	if m == nil {
		return result{}, fmt.Errorf("wrk %s: no Requests/sec in\n%s", s.name, out)
	}
	r := result{}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	unit := map[string]float64{"us": 0.001, "ms": 1, "s": 1000, "m": 60000}
	for _, l := range latencyRe.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(l[2]), 64)
		if string(l[1]) == "50" {
			r.p50 = v * unit[string(l[3])]
		} else {
			r.p99 = v * unit[string(l[3])]
		}
	}
	if bad := badRe.FindAll(out, -1); len(bad) > 0 {
		r.bad = string(bytes.Join(bad, []byte("; ")))
	}
	return r, nil
}

// captureProfile fetches a CPU profile covering most of the measured run.
func captureProfile(ctx context.Context, addr string, d time.Duration, path string) error {
	secs := max(1, int(d.Seconds())-1)
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("CPU profile: status %d, %v", resp.StatusCode, err)
	}
	return os.WriteFile(path, raw, 0o644)
}

// serveUpstream is the echo upstream: a fixed 256-byte body for any request.
func serveUpstream(addr string) {
	body := bytes.Repeat([]byte("x"), bodySize)
	size := strconv.Itoa(bodySize)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"text/plain"}
		w.Header()["Content-Length"] = []string{size}
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "upstream:", err)
		os.Exit(1)
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
