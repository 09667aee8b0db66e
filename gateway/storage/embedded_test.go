package storage_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/storage"
)

func TestEmbeddedReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	s, err := storage.OpenEmbedded(storage.EmbeddedOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Set(ctx, "plain", []byte{0, 1, 2, 0xff}, 0))
	must(s.Set(ctx, "ttl", []byte("v"), time.Hour))
	must(s.Set(ctx, "short", []byte("v"), time.Millisecond))
	_, err = s.Incr(ctx, "ctr", 0)
	must(err)
	_, err = s.Incr(ctx, "ctr", 0)
	must(err)
	must(s.Close())

	s, err = storage.OpenEmbedded(storage.EmbeddedOptions{Dir: dir})
	must(err)
	defer s.Close()
	if v, err := s.Get(ctx, "plain"); err != nil || string(v) != "\x00\x01\x02\xff" {
		t.Fatalf("plain after reopen: %q, %v", v, err)
	}
	if d, err := s.TTL(ctx, "ttl"); err != nil || d < 59*time.Minute {
		t.Fatalf("expiry lost on reopen: %v, %v", d, err)
	}
	if _, err := s.Get(ctx, "short"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("expired key came back: %v", err)
	}
	if n, err := s.Incr(ctx, "ctr", 0); err != nil || n != 3 {
		t.Fatalf("counter after reopen: %d, %v", n, err)
	}
}

func TestEmbeddedLocked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := storage.OpenEmbedded(storage.EmbeddedOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// flock conflicts between two opens of the file even in one process, so
	// this stands in for a second gateway.
	start := time.Now()
	_, err = storage.OpenEmbedded(storage.EmbeddedOptions{Dir: dir, LockTimeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "data directory "+dir+" is in use by another process") {
		t.Fatalf("second open: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("second open did not give up on the lock timeout")
	}
}

func TestEmbeddedCreatesDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() + "/nested/data"
	s, err := storage.OpenEmbedded(storage.EmbeddedOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(dir + "/tollgate.db"); err != nil {
		t.Fatal(err)
	}
}

const (
	crashDirEnv = "TOLLGATE_STORAGE_CRASH_DIR"
	crashAcks   = 300
)

// TestEmbeddedKill9 checks the durability promise of Set: every write whose
// Set returned nil must survive the process being killed without warning,
// and the file must open cleanly afterwards. The writer is this test binary
// re-executed, so the kill is a real SIGKILL of a real process.
func TestEmbeddedKill9(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEmbeddedCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	acked := make(map[string]string)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), "=")
		if !ok || !strings.HasPrefix(key, "crash-") {
			continue // test framework chatter
		}
		acked[key] = val
		if len(acked) == crashAcks && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
		// Keep reading: lines already in the pipe were acknowledged
		// before the kill and count too.
	}
	werr := cmd.Wait()
	if !killed {
		t.Fatalf("child exited after %d acknowledged writes (%v); want %d before the kill", len(acked), werr, crashAcks)
	}
	killed = true

	s, err := storage.OpenEmbedded(storage.EmbeddedOptions{Dir: dir})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	for k, want := range acked {
		got, err := s.Get(ctx, k)
		if err != nil || string(got) != want {
			t.Fatalf("acknowledged %s=%s lost after kill -9: %q, %v", k, want, got, err)
		}
	}
	if err := s.Set(ctx, "after-crash", []byte("ok"), 0); err != nil {
		t.Fatalf("write after recovery: %v", err)
	}
	t.Logf("%d acknowledged writes survived kill -9", len(acked))
}

// TestEmbeddedCrashChild is the writer side of TestEmbeddedKill9; run
// directly it does nothing.
func TestEmbeddedCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestEmbeddedKill9")
	}
	s, err := storage.OpenEmbedded(storage.EmbeddedOptions{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	// Stop on our own if the parent never kills us, so a broken parent
	// cannot leave a writer running.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var outMu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("crash-%d-%d", g, i)
				val := fmt.Sprintf("v%d.%d", g, i)
				if err := s.Set(ctx, key, []byte(val), 0); err != nil {
					return
				}
				outMu.Lock()
				fmt.Fprintf(os.Stdout, "%s=%s\n", key, val) // unbuffered: printed = acknowledged
				outMu.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(3) // not killed in time
}
