package bundle_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/plugins/bundle"
)

// preJS is a JavaScript pre hook that sets a header.
const preJS = `var addHeader = new TykJS.TykMiddleware.NewMiddleware({});
addHeader.NewProcessRequest(function(request, session, config) {
    request.SetHeaders["X-From-Bundle"] = "yes";
    return addHeader.ReturnData(request, {});
});
`

// keyPair writes a fresh RSA key pair as PEM files (PKCS#1 private key,
// PKIX public key) and returns their paths.
func keyPair(t *testing.T) (private, public string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	private, public = filepath.Join(dir, "private.pem"), filepath.Join(dir, "public.pem")
	writeFile(t, private, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})))
	writeFile(t, public, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})))
	return private, public
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// source writes a bundle source folder: manifest.json (with the given
// manifest, or a JS pre hook when nil) and files.
func source(t *testing.T, manifest map[string]any, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if manifest == nil {
		manifest = map[string]any{
			"file_list":         []string{"pre.js"},
			"custom_middleware": map[string]any{"driver": "otto", "pre": []any{map[string]any{"name": "addHeader", "path": "pre.js"}}},
		}
		files = map[string]string{"pre.js": preJS}
	}
	b, err := json.Marshal(manifest)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "manifest.json"), string(b))
	for name, content := range files {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), content)
	}
	return dir
}

// build builds the source folder into served/name, signed with key when
// it is a path, and returns the bundle's path.
func build(t *testing.T, src, served, name, key string) string {
	t.Helper()
	var priv *rsa.PrivateKey
	if key != "" {
		var err error
		if priv, err = bundle.ReadPrivateKey(key); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(served, name)
	if _, err := bundle.Build(filepath.Join(src, "manifest.json"), out, priv); err != nil {
		t.Fatalf("building %s: %v", name, err)
	}
	return out
}

// rezip rewrites the ZIP at path, passing each entry's content through
// edit, and appends extra entries.
func rezip(t *testing.T, path string, edit func(name string, data []byte) []byte, extra ...entry) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(edit(f.Name, data)); err != nil {
			t.Fatal(err)
		}
	}
	zr.Close()
	for _, e := range extra {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// entry is one raw ZIP entry for hand-made (hostile) bundles.
type entry struct {
	name string
	mode os.FileMode
	data string
}

// rawZip writes entries as a ZIP file at path, exactly as given.
func rawZip(t *testing.T, path string, entries ...entry) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// testLog shows the loader's log lines with go test -v only.
func testLog() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// server serves dir over HTTP on loopback and counts requests. While
// failing is above zero, requests are answered 503 and failing counts down.
type server struct {
	URL      string
	requests atomic.Int64
	failing  atomic.Int64
}

func serve(t *testing.T, dir string) *server {
	t.Helper()
	s := &server{}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if s.failing.Add(-1) >= 0 {
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// loader returns a Loader on a fresh middleware folder with quick retries.
func loader(t *testing.T, base, publicKey string) *bundle.Loader {
	t.Helper()
	return &bundle.Loader{
		Dir: filepath.Join(t.TempDir(), "middleware", "bundles"), BaseURL: base, Download: true,
		PublicKeyPath: publicKey, Backoff: time.Millisecond, Log: testLog(),
	}
}
