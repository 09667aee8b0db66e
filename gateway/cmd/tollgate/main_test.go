package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "Tyk Gateway API v5.4.0") {
		t.Fatalf("exit %d, output %q", code, out.String())
	}
}

func TestBundleCommandIsWired(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(filepath.Join(dir, "pre.js"), []byte("var pre = 1;"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, []byte(`{"file_list":["pre.js"],"custom_middleware":{"driver":"otto","pre":[{"name":"pre","path":"pre.js"}]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "b.zip")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"bundle", "build", "-m", manifest, "-o", out, "-y"}, &stdout, &stderr); code != 0 {
		t.Fatalf("build: exit %d, %q", code, stderr.String())
	}
	if code := run([]string{"bundle", "verify", out}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "ok") {
		t.Fatalf("verify: exit %d, %q %q", code, stdout.String(), stderr.String())
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name     string
		file     string
		code     int
		contains string
	}{
		{"a valid file passes", write("ok.conf", `{"listen_port":8081,"secret":"x"}`), 0, "ok"},
		{"an unknown field warns but passes", write("warn.conf", `{"secret":"x","no_such_setting":1}`), 0, "no_such_setting"},
		{"an invalid value fails naming the field", write("bad.conf", `{"listen_port":70000}`), 1, "listen_port"},
		{"malformed JSON fails", write("broken.conf", `{"listen_port":`), 1, "broken.conf"},
		{"a missing file fails", filepath.Join(dir, "missing.conf"), 1, "missing.conf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run([]string{"config", "check", tt.file}, &out, &errOut)
			all := out.String() + errOut.String()
			if code != tt.code || !strings.Contains(all, tt.contains) {
				t.Fatalf("exit %d (want %d), output %q (want it to mention %q)", code, tt.code, all, tt.contains)
			}
		})
	}
}

func TestInvalidConfigStopsStartup(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tyk.conf")
	if err := os.WriteFile(p, []byte(`{"log_level":"loud"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"--conf", p}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "log_level") {
		t.Fatalf("exit %d, log %q", code, errOut.String())
	}
}

func TestGracefulShutdownOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	cfg := gatewaytest.Config(t, &gatewaytest.Options{Dir: dir})
	p := gatewaytest.StartProcess(t, cfg, dir)
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Output())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit 20 s after SIGTERM\n%s", p.Output())
	}
	if !strings.Contains(p.Output(), "shutting down") {
		t.Fatalf("log does not show a graceful shutdown:\n%s", p.Output())
	}
}
