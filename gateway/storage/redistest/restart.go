package redistest

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a redis-server that a test can stop and start again on the
// same port, to check that clients ride out an outage. Its data is kept
// across restarts (append-only file in its own directory), as a production
// Redis with persistence would keep it.
type Server struct {
	Addr string

	t    testing.TB
	bin  string
	dir  string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *bytes.Buffer
}

// StartServer runs a restartable redis-server on a free loopback port; it
// is stopped when the test ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, bin: serverBinary(t), dir: t.TempDir(), port: freePort(t)}
	s.Addr = addr(s.port)
	t.Cleanup(func() { s.kill() })
	s.Start()
	return s
}

// Start starts the server (again) on its port and waits until it answers
// PING. After a Stop, another process may in theory have taken the port;
// Start then fails the test loudly.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.t.Fatal("redistest: server already running")
	}
	cmd := exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", s.dir)
	cmd.Dir = s.dir
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: start %s: %v", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited, s.logs = cmd, exited, logs
	deadline := time.Now().Add(startTimeout)
	for {
		if reply, err := command(s.port, "PING"); err == nil && strings.Contains(reply, "PONG") {
			return
		}
		select {
		case <-exited:
			s.t.Fatalf("redistest: redis-server on port %d exited early:\n%s", s.port, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redistest: redis-server on port %d did not answer PING within %s:\n%s", s.port, startTimeout, logs.String())
		}
	}
}

// Stop shuts the server down gracefully (SIGTERM: the append-only file is
// complete) and waits until it has exited and the port is closed.
func (s *Server) Stop() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

func (s *Server) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}
