//go:build linux

// Command loadbench measures Tollgate's data plane against nginx on
// loopback: an echo upstream (this program, re-run as `loadbench
// upstream ADDR`), nginx as a plain keep-alive proxy_pass, and tollgate on
// the embedded store and on Redis, all pinned to one CPU while wrk runs
// pinned to another. It prints req/s, p50 and p99 per scenario, the ratios
// to nginx against the targets, and the CPU time per request of the server
// under test (read from /proc: steadier than req/s on a busy machine).
//
//	go run ./gateway/cmd/loadbench [-duration 10s] [-warmup 2s] [-conns 64]
//	    [-scenarios keyless,keyed] [-cpuprofile-scenario keyed]
//
// Run it from the repository (it builds ./gateway/cmd/tollgate). It needs
// nginx, wrk, taskset and redis-server on PATH and installs nothing:
// apt-get install -y nginx wrk redis-server util-linux.
package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	secret   = "loadbench-secret"
	bodySize = 256
)

// tollgateScenarios are the gateway runs; target is the least req/s ratio
// to nginx that meets the goal (p99 must also stay within 2x nginx's).
// The plugin scenarios are also compared with the same API without the
// plugin (base), against baseTarget.
var tollgateScenarios = []struct {
	name, store, path, key string
	target                 float64
	base                   string
	baseTarget             float64
}{
	{"keyless", "embedded", "/keyless/", "", 0.75, "", 0},
	{"keyed", "embedded", "/keyed/", "keyed", 0.6, "", 0},
	{"rate-quota", "embedded", "/limited/", "limited", 0.5, "", 0},
	{"rate-quota-redis", "redis", "/limited/", "limited", 0.35, "", 0},
	{"js-pre", "embedded", "/jspre/", "", 0.5, "keyless", 0.7},
	{"goplugin-pre", "embedded", "/gopre/", "", 0, "keyless", 0},
}

type scenario struct {
	name, url, auth, pprof, note string
	target                       float64
	base                         string // the same API without the plugin
	baseTarget                   float64
	groups                       []int // process groups of the server under test
}

type result struct {
	rps, p50, p99 float64 // latencies in ms
	cpu           float64 // CPU µs per request of the server under test
	bad           string  // non-2xx responses or socket errors
}

type gateway struct {
	url, pprof string
	keys       map[string]string // API ID -> key
	limited    bool              // a quota stage answered on /limited/
	groups     []int
}

type bench struct {
	dir, clientCPU, serverCPU string
	conns                     int
	duration, warmup          time.Duration
	procs                     map[string]*exec.Cmd
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "upstream" {
		serveUpstream(os.Args[2])
		return
	}
	b := &bench{procs: map[string]*exec.Cmd{}}
	flag.DurationVar(&b.duration, "duration", 10*time.Second, "measured wrk run per scenario (whole seconds)")
	flag.DurationVar(&b.warmup, "warmup", 2*time.Second, "wrk warm-up before each measured run")
	flag.IntVar(&b.conns, "conns", 64, "wrk connections")
	flag.StringVar(&b.clientCPU, "client-cpu", "0", "taskset CPU list for wrk")
	flag.StringVar(&b.serverCPU, "server-cpu", "1", "taskset CPU list for the upstream, nginx, redis-server and tollgate")
	only := flag.String("scenarios", "", "comma-separated scenarios (default all): upstream, nginx (always run: the reference), keyless, keyed, rate-quota, rate-quota-redis, js-pre, goplugin-pre")
	profile := flag.String("cpuprofile-scenario", "", "write a CPU profile of tollgate during this scenario to loadbench-NAME.pprof")
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
	names := []string{"upstream", "nginx"}
	for _, t := range tollgateScenarios {
		names = append(names, t.name)
	}
	wanted := strings.FieldsFunc(only, func(r rune) bool { return r == ',' })
	for _, n := range append(wanted, profile) {
		if n != "" && !slices.Contains(names, n) {
			return fmt.Errorf("unknown scenario %q; scenarios: %s", n, strings.Join(names, ", "))
		}
	}
	if profile == "upstream" || profile == "nginx" {
		return fmt.Errorf("-cpuprofile-scenario profiles tollgate: name a tollgate scenario, not %s", profile)
	}
	want := func(n string) bool { return len(wanted) == 0 || n == "nginx" || slices.Contains(wanted, n) }

	// Bounded in time; Ctrl-C stops the runs, and the deferred stopAll
	// kills every process started.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute+6*(b.warmup+b.duration+20*time.Second))
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
	upstream, ngx := "127.0.0.1:"+freePort(), "127.0.0.1:"+freePort()
	if err := b.serve(ctx, "upstream", upstream, self, "upstream", upstream); err != nil {
		return err
	}
	if err := b.startNginx(ctx, ngx, upstream); err != nil {
		return err
	}
	bin := filepath.Join(b.dir, "tollgate")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/tollgate/tollgate/gateway/cmd/tollgate").CombinedOutput(); err != nil {
		return fmt.Errorf("go build tollgate (run loadbench from the repository): %v\n%s", err, out)
	}
	plugin := filepath.Join(b.dir, "goplugin-header")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", plugin, "github.com/tollgate/tollgate/examples/goplugin-header").CombinedOutput(); err != nil {
		return fmt.Errorf("go build the pre-hook plugin: %v\n%s", err, out)
	}
	scenarios := []*scenario{
		{name: "upstream", url: "http://" + upstream + "/", groups: []int{b.procs["upstream"].Process.Pid}},
		{name: "nginx", url: "http://" + ngx + "/", groups: []int{b.procs["nginx"].Process.Pid}},
	}
	gateways := map[string]*gateway{}
	for _, t := range tollgateScenarios {
		if !want(t.name) {
			continue
		}
		gw := gateways[t.store]
		if gw == nil {
			if gw, err = b.startGateway(ctx, bin, plugin, t.store, "http://"+upstream, profile != ""); err != nil {
				return fmt.Errorf("tollgate on the %s store: %w", t.store, err)
			}
			gateways[t.store] = gw
		}
		s := &scenario{name: t.name, url: gw.url + t.path, auth: gw.keys[t.key], pprof: gw.pprof, target: t.target,
			base: t.base, baseTarget: t.baseTarget, groups: gw.groups}
		if t.key == "limited" && !gw.limited {
			s.note = "no rate-limit/quota stage answered (no X-Ratelimit-Limit): this measures the keyed path"
		}
		scenarios = append(scenarios, s)
	}

	fmt.Printf("loadbench: GET of %d bytes, %d connections, %s warm-up + %s per scenario; wrk on CPU %s, servers on CPU %s\n",
		bodySize, b.conns, b.warmup, b.duration, b.clientCPU, b.serverCPU)
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		f, warn := strings.Fields(string(la)), ""
		if l1, _ := strconv.ParseFloat(f[0], 64); l1 > 1 {
			warn = " - other processes are busy: expect noisy figures"
		}
		fmt.Printf("load average %s %s %s%s\n", f[0], f[1], f[2], warn)
	}
	fmt.Printf("each run: taskset -c %s wrk -t1 -c%d -d%ds --latency --timeout 5s [-H 'Authorization: KEY'] URL\n",
		b.clientCPU, b.conns, int(b.duration.Seconds()))
	fmt.Print("CPU/req: CPU time per request of the server under test (not the upstream; with redis-server for -redis)\n\n")
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
		if s.name == profile {
			prof = make(chan error, 1)
			go func() { prof <- captureProfile(ctx, s.pprof, b.duration, "loadbench-"+s.name+".pprof") }()
		}
		cpu := cpuTime(s.groups)
		r, err := b.wrk(ctx, s, b.duration)
		if err != nil {
			return err
		}
		r.cpu = (cpuTime(s.groups) - cpu).Seconds() * 1e6 / (r.rps * float64(max(1, int(b.duration.Seconds()))))
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
	fmt.Printf("%-17s %9s %9s %9s %8s %10s %8s  %-17s %s\n", "scenario", "req/s", "p50", "p99", "x nginx", "p99/nginx", "CPU/req", "target", "met")
	for _, s := range scenarios {
		r, ok := results[s.name]
		if !ok {
			continue
		}
		target, met := "-", "-"
		if s.target > 0 {
			target, met = fmt.Sprintf(">=%.2fx, p99<=2x", s.target), "no"
			if r.bad == "" && r.rps >= s.target*ref.rps && r.p99 <= 2*ref.p99 {
				met = "yes"
			}
		}
		fmt.Printf("%-17s %9.0f %7.2fms %7.2fms %7.2fx %9.2fx %6.1fus  %-17s %s\n", s.name, r.rps, r.p50, r.p99, r.rps/ref.rps, r.p99/ref.p99, r.cpu, target, met)
		if b, ok := results[s.base]; ok && s.base != "" {
			line := fmt.Sprintf("%.2fx %s", r.rps/b.rps, s.base)
			if s.baseTarget > 0 {
				met := "no"
				if r.rps >= s.baseTarget*b.rps {
					met = "yes"
				}
				line += fmt.Sprintf(" (target >=%.2fx: %s)", s.baseTarget, met)
			}
			fmt.Printf("  %s: %s\n", s.name, line)
		}
		for _, n := range []string{s.note, r.bad} {
			if n != "" {
				fmt.Printf("  %s: %s\n", s.name, n)
			}
		}
	}
}

// serve starts a server pinned to the server CPU, in its own process group
// (stopAll kills the group) and logging to the temp dir, and waits until
// addr accepts connections.
func (b *bench) serve(ctx context.Context, name, addr string, args ...string) error {
	cmd := exec.Command("taskset", append([]string{"-c", b.serverCPU}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	logPath := filepath.Join(b.dir, name+".log")
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	b.procs[name] = cmd
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
	}
	out, _ := os.ReadFile(logPath)
	return fmt.Errorf("%s did not listen on %s:\n%s", name, addr, out)
}

func (b *bench) stopAll() {
	for _, cmd := range b.procs {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}
}

// startNginx runs nginx as a plain reverse proxy with keep-alive upstream
// connections, one worker, as the current user, all files in the temp dir.
// The worker is the nginx process itself (master_process off): same work,
// and it dies with loadbench even when loadbench is killed.
func (b *bench) startNginx(ctx context.Context, addr, upstream string) error {
	user := ""
	if os.Geteuid() == 0 {
		user = "user root root;" // workers run as the current user, not nobody
	}
	conf := fmt.Sprintf(`%s
worker_processes 1;
master_process off;
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
		return err
	}
	return b.serve(ctx, "nginx", addr, "nginx", "-p", b.dir, "-c", path, "-e", filepath.Join(b.dir, "nginx-error.log"))
}

// startGateway runs tollgate on a store ("embedded", or "redis" with a
// redis-server of its own) and creates through the control API a keyless
// API, a keyed API without limits, a keyed API with a rate limit and a quota
// too high to trip, and a key for each keyed API.
func (b *bench) startGateway(ctx context.Context, bin, plugin, store, upstream string, pprof bool) (*gateway, error) {
	dir := filepath.Join(b.dir, store)
	if err := os.MkdirAll(filepath.Join(dir, "apps"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "policies"), 0o755); err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + freePort()
	_, port, _ := net.SplitHostPort(addr)
	conf := map[string]any{
		"listen_address": "127.0.0.1", "listen_port": json.Number(port), "secret": secret, "log_level": "warn",
		"app_path": filepath.Join(dir, "apps"), "policies": map[string]any{"policy_path": filepath.Join(dir, "policies")},
		"storage":     map[string]any{"type": "embedded", "data_dir": filepath.Join(dir, "data")},
		"enable_jsvm": true, "middleware_path": filepath.Join(dir, "middleware"),
	}
	if store == "redis" {
		raddr := "127.0.0.1:" + freePort()
		_, rport, _ := net.SplitHostPort(raddr)
		if err := b.serve(ctx, "redis", raddr, "redis-server", "--bind", "127.0.0.1", "--port", rport, "--save", "", "--appendonly", "no", "--dir", dir); err != nil {
			return nil, err
		}
		conf["storage"] = map[string]any{"type": "redis", "host": "127.0.0.1", "port": json.Number(rport)}
	}
	gw := &gateway{url: "http://" + addr, keys: map[string]string{}}
	if pprof {
		gw.pprof = "127.0.0.1:" + freePort()
		conf["enable_pprof_on"] = gw.pprof
	}
	confPath := filepath.Join(dir, "tyk.conf")
	raw, _ := json.Marshal(conf)
	if err := os.WriteFile(confPath, raw, 0o644); err != nil {
		return nil, err
	}
	if err := b.serve(ctx, "tollgate-"+store, addr, bin, "--conf", confPath); err != nil {
		return nil, err
	}
	for _, name := range []string{"tollgate-" + store, store} { // redis-server counts with its gateway
		if cmd := b.procs[name]; cmd != nil {
			gw.groups = append(gw.groups, cmd.Process.Pid)
		}
	}
	for _, id := range []string{"keyless", "keyed", "limited"} {
		def := fmt.Sprintf(`{"api_id":%[1]q,"name":%[1]q,"org_id":"bench","active":true,"use_keyless":%[2]t,"use_standard_auth":%[3]t,
			"disable_rate_limit":%[4]t,"disable_quota":%[4]t,"proxy":{"listen_path":"/%[1]s/","target_url":%[5]q,"strip_listen_path":true},
			"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default"}}}}`, id, id == "keyless", id != "keyless", id == "keyed", upstream)
		if _, err := control(ctx, "POST", gw.url+"/tyk/apis", def); err != nil {
			return nil, err
		}
	}
	if err := addPluginAPIs(ctx, gw.url, dir, plugin, upstream); err != nil {
		return nil, err
	}
	if _, err := control(ctx, "GET", gw.url+"/tyk/reload?block=true", ""); err != nil {
		return nil, err
	}
	for id, quota := range map[string]string{"keyed": "-1", "limited": "1000000000000"} {
		body := fmt.Sprintf(`{"org_id":"bench","rate":1e9,"per":1,"quota_max":%s,"quota_renewal_rate":3600,
			"access_rights":{%[2]q:{"api_id":%[2]q,"api_name":%[2]q,"versions":["Default"]}}}`, quota, id)
		out, err := control(ctx, "POST", gw.url+"/tyk/keys/bench-"+id, body)
		var created struct{ Key string }
		if err != nil || json.Unmarshal(out, &created) != nil || created.Key == "" {
			return nil, fmt.Errorf("creating the %s key: %v %s", id, err, out)
		}
		gw.keys[id] = created.Key
	}
	// One request per API: fail now rather than measure a stream of 403s.
	for _, id := range []string{"keyless", "keyed", "limited", "jspre", "gopre"} {
		req, _ := http.NewRequestWithContext(ctx, "GET", gw.url+"/"+id+"/", nil)
		if k := gw.keys[id]; k != "" {
			req.Header.Set("Authorization", k)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("GET /%s/: status %d", id, resp.StatusCode)
		}
		gw.limited = gw.limited || id == "limited" && resp.Header.Get("X-Ratelimit-Limit") != ""
	}
	return gw, nil
}

// benchJS is the JS pre-middleware scenario: it sets one header.
const benchJS = `var benchPre = new TykJS.TykMiddleware.NewMiddleware({});
benchPre.NewProcessRequest(function (request, session, config) {
    request.SetHeaders["X-Bench"] = "1";
    return benchPre.ReturnData(request, {});
});
`

// addPluginAPIs creates the keyless APIs behind a JS pre middleware
// (jspre) and a go-plugin pre hook (gopre).
func addPluginAPIs(ctx context.Context, gateway, dir, plugin, upstream string) error {
	script := filepath.Join(dir, "bench-pre.js")
	if err := os.WriteFile(script, []byte(benchJS), 0o644); err != nil {
		return err
	}
	hooks := map[string]string{
		"jspre": fmt.Sprintf(`{"driver":"otto","pre":[{"name":"benchPre","path":%q}]}`, script),
		"gopre": fmt.Sprintf(`{"driver":"managed","pre":[{"name":"Pre","path":%q}]}`, plugin),
	}
	for id, cm := range hooks {
		def := fmt.Sprintf(`{"api_id":%[1]q,"name":%[1]q,"org_id":"bench","use_keyless":true,"custom_middleware":%[2]s,
			"proxy":{"listen_path":"/%[1]s/","target_url":%[3]q,"strip_listen_path":true},
			"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default"}}}}`, id, cm, upstream)
		if _, err := control(ctx, "POST", gateway+"/tyk/apis", def); err != nil {
			return err
		}
	}
	return nil
}

// control sends one control-API request and wants a 200.
func control(ctx context.Context, method, url, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Tyk-Authorization", secret)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return out, fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, out)
	}
	return out, nil
}

var (
	rpsRe     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	latencyRe = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	badRe     = regexp.MustCompile(`Non-2xx or 3xx responses: \d+|Socket errors: .*`)
	toMillis  = map[string]float64{"us": 0.001, "ms": 1, "s": 1000, "m": 60000}
)

// wrk runs wrk pinned to the client CPU and parses its report.
func (b *bench) wrk(ctx context.Context, s *scenario, d time.Duration) (result, error) {
	args := []string{"-c", b.clientCPU, "wrk", "-t1", fmt.Sprintf("-c%d", b.conns), fmt.Sprintf("-d%ds", max(1, int(d.Seconds()))), "--latency", "--timeout", "5s"}
	if s.auth != "" {
		args = append(args, "-H", "Authorization: "+s.auth)
	}
	wctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(wctx, "taskset", append(args, s.url)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	m := rpsRe.FindSubmatch(out)
	if ctx.Err() != nil {
		return result{}, fmt.Errorf("%s: stopped (%w)", s.name, ctx.Err())
	}
	if err != nil || m == nil {
		return result{}, fmt.Errorf("wrk %s: %v\n%s", s.name, err, out)
	}
	r := result{bad: string(bytes.Join(badRe.FindAll(out, -1), []byte("; ")))}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	for _, l := range latencyRe.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(l[2]), 64)
		if v *= toMillis[string(l[3])]; string(l[1]) == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
	}
	return r, nil
}

// cpuTime sums the user and system CPU time of the processes in the given
// process groups (/proc/PID/stat; clock ticks of 10 ms). Per request it
// measures cost rather than speed, so other load on the machine disturbs it
// far less than req/s.
func cpuTime(groups []int) time.Duration {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, p := range stats {
		raw, err := os.ReadFile(p)
		i := bytes.LastIndexByte(raw, ')')
		if err != nil || i < 0 {
			continue
		}
		f := strings.Fields(string(raw[i+1:])) // state ppid pgrp ... utime(11) stime(12)
		if len(f) < 13 {
			continue
		}
		if pg, _ := strconv.Atoi(f[2]); slices.Contains(groups, pg) {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + s
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// captureProfile fetches a CPU profile covering most of the measured run.
func captureProfile(ctx context.Context, addr string, d time.Duration, path string) error {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, max(1, int(d.Seconds())-1))
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
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
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Content-Type"] = []string{"text/plain"}
		w.Header()["Content-Length"] = []string{strconv.Itoa(bodySize)}
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(os.Stderr, "upstream:", srv.ListenAndServe())
	os.Exit(1)
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
