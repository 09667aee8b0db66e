// Package redistest runs throwaway redis-server processes for tests, so the
// Redis backend is tested against the real server rather than a fake whose
// semantics (SCAN, scripts, CROSSSLOT, pub/sub) might drift from Redis.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to answer PING.
const startTimeout = 5 * time.Second

// Start runs a redis-server on a free loopback port for the duration of the
// test and returns its "127.0.0.1:port". Without redis-server on PATH the
// test is skipped, except when CI=true: CI must never silently skip Redis.
func Start(t testing.TB) string {
	t.Helper()
	bin := serverBinary(t)
	port := freePort(t)
	dir := t.TempDir()
	start(t, bin, dir, port,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)
	return addr(port)
}

// Sentinel is a master with one sentinel watching it.
type Sentinel struct {
	Master     string // master "127.0.0.1:port"
	Sentinel   string // sentinel "127.0.0.1:port"
	MasterName string
}

// StartSentinel runs a master and one sentinel monitoring it (quorum 1).
// The sentinel answers get-master-addr-by-name from its config at once, so
// no failover election is needed before clients can connect.
func StartSentinel(t testing.TB) Sentinel {
	t.Helper()
	master := Start(t)
	bin := serverBinary(t)
	port := freePort(t)
	dir := t.TempDir()
	const name = "tollgate-master"
	_, mport, _ := net.SplitHostPort(master)
	conf := filepath.Join(dir, "sentinel.conf")
	// Sentinel rewrites its config file, so it must be a writable file
	// rather than command-line flags.
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %s 1\n", port, dir, name, mport)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, bin, dir, port, conf, "--sentinel")
	waitFor(t, port, func() (bool, string) {
		reply, err := command(port, "SENTINEL", "get-master-addr-by-name", name)
		return err == nil && strings.Contains(reply, mport), fmt.Sprintf("%q %v", reply, err)
	})
	return Sentinel{Master: master, Sentinel: addr(port), MasterName: name}
}

// StartCluster runs n masters forming one Redis Cluster, slots split evenly,
// and returns their addresses. It waits until every node reports
// cluster_state:ok and knows all n masters, so the first client call does
// not race the gossip.
func StartCluster(t testing.TB, n int) []string {
	t.Helper()
	bin := serverBinary(t)
	ports := make([]int, n)
	for i := range ports {
		ports[i] = freePort(t)
		dir := t.TempDir()
		start(t, bin, dir, ports[i],
			"--port", strconv.Itoa(ports[i]), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir,
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "2000")
	}
	const slots = 16384
	for i, p := range ports {
		lo, hi := i*slots/n, (i+1)*slots/n-1
		if _, err := command(p, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi)); err != nil {
			t.Fatalf("redistest: ADDSLOTSRANGE on %d: %v", p, err)
		}
	}
	for _, p := range ports[1:] {
		if _, err := command(p, "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(ports[0])); err != nil {
			t.Fatalf("redistest: CLUSTER MEET: %v", err)
		}
	}
	out := make([]string, n)
	for i, p := range ports {
		waitFor(t, p, func() (bool, string) {
			info, err := command(p, "CLUSTER", "INFO")
			ok := err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(n)+"\r")
			return ok, fmt.Sprintf("%q %v", info, err)
		})
		out[i] = addr(p)
	}
	return out
}

func serverBinary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redistest: redis-server not found on PATH; CI must run the Redis tests (install redis-server)")
		}
		t.Skip("redistest: redis-server not found on PATH; install it (apt-get install redis-server) to run the Redis tests")
	}
	return bin
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// freePort asks the kernel for an unused port. Another process could take
// it before redis-server binds; start then fails loudly rather than flaking
// silently.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: no free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start launches the server, waits for PING and registers its kill.
func start(t testing.TB, bin, dir string, port int, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var logs bytes.Buffer
	cmd.Stdout = &logs
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("redistest: start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(startTimeout)
	for {
		if reply, err := command(port, "PING"); err == nil && strings.Contains(reply, "PONG") {
			return
		}
		select {
		case <-exited:
			t.Fatalf("redistest: %s %v exited early:\n%s", bin, args, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: %s on port %d did not answer PING within %s:\n%s", bin, port, startTimeout, logs.String())
		}
	}
}

func waitFor(t testing.TB, port int, ready func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		ok, last := ready()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: port %d not ready within %s; last answer: %s", port, startTimeout, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// command sends one RESP command and returns the raw reply. A hand-written
// client keeps this package free of the library under test.
func command(port int, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr(port), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	var req bytes.Buffer
	fmt.Fprintf(&req, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write(req.Bytes()); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(c))
}

// readReply reads one RESP2 reply, flattening arrays into lines.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("%s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", err
		}
		var parts []string
		for range n {
			p, err := readReply(r)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "\n"), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}
