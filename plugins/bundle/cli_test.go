package bundle_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/plugins/bundle"
)

// run runs `tollgate bundle args...` with stdin and returns the exit code
// and what it printed.
func run(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errs bytes.Buffer
	code = bundle.Command(args, strings.NewReader(stdin), &out, &errs)
	return code, out.String(), errs.String()
}

func TestBuildCommandOutputVerifiesAndLoads(t *testing.T) {
	priv, pub := keyPair(t)
	src := source(t, nil, nil)
	out := filepath.Join(t.TempDir(), "example.zip")
	code, stdout, stderr := run("", "build", "-m", filepath.Join(src, "manifest.json"), "-o", out, "-k", priv)
	if code != 0 || !strings.Contains(stdout, "signed") {
		t.Fatalf("build: %d %q %q", code, stdout, stderr)
	}

	code, stdout, stderr = run("", "verify", out, "-k", pub)
	if code != 0 || !strings.Contains(stdout, "signature verified") {
		t.Fatalf("verify with the key after the file: %d %q %q", code, stdout, stderr)
	}
	code, stdout, _ = run("", "verify", out)
	if code != 0 || !strings.Contains(stdout, "signature not checked") {
		t.Fatalf("verify without a key: %d %q", code, stdout)
	}
	_, otherPub := keyPair(t)
	code, _, stderr = run("", "verify", "--key", otherPub, out)
	if code != 1 || !strings.Contains(stderr, "crypto/rsa: verification error") {
		t.Fatalf("verify with another key: %d %q", code, stderr)
	}

	def, err := prepare(t, loader(t, filepath.Dir(out), pub), "example.zip")
	if err != nil {
		t.Fatalf("the built bundle does not load: %v", err)
	}
	if def.CustomMiddleware.Pre[0].Name != "addHeader" {
		t.Fatalf("hooks: %+v", def.CustomMiddleware)
	}
}

func TestBuildCommandRefusals(t *testing.T) {
	dir := t.TempDir()
	manifest := func(t *testing.T, body string, files ...string) string {
		t.Helper()
		d := t.TempDir()
		writeFile(t, filepath.Join(d, "manifest.json"), body)
		for _, f := range files {
			writeFile(t, filepath.Join(d, f), "x")
		}
		return filepath.Join(d, "manifest.json")
	}
	tests := []struct {
		name, manifest, want string
	}{
		{"a listed file is missing", manifest(t, `{"file_list":["gone.js"],"custom_middleware":{"driver":"otto","pre":[{"name":"a"}]}}`), "Referencing a nonexistent file: gone.js"},
		{"no hooks", manifest(t, `{"file_list":["a.js"],"custom_middleware":{"driver":"otto"}}`, "a.js"), "No hooks defined"},
		{"an auth_check without a name is no hook", manifest(t, `{"file_list":[],"custom_middleware":{"driver":"otto","auth_check":{"path":"a.js"}}}`), "No hooks defined"},
		{"no driver", manifest(t, `{"file_list":["a.js"],"custom_middleware":{"pre":[{"name":"a"}]}}`, "a.js"), "No driver specified"},
		{"a listed file outside the folder", manifest(t, `{"file_list":["../a.js"],"custom_middleware":{"driver":"otto","pre":[{"name":"a"}]}}`), "not a path inside the bundle"},
		{"a file listed twice", manifest(t, `{"file_list":["a.js","./a.js"],"custom_middleware":{"driver":"otto","pre":[{"name":"a"}]}}`, "a.js"), "listed twice"},
		{"manifest.json listed", manifest(t, `{"file_list":["manifest.json"],"custom_middleware":{"driver":"otto","pre":[{"name":"a"}]}}`), "cannot be listed"},
		{"no manifest", filepath.Join(dir, "nope.json"), "reading the manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "b.zip")
			code, _, stderr := run("", "build", "-m", tt.manifest, "-o", out, "-y")
			if code != 1 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("got %d %q, want exit 1 with %q", code, stderr, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("a refused build wrote its output")
			}
		})
	}
}

func TestBuildCommandAsksBeforeBuildingUnsigned(t *testing.T) {
	src := filepath.Join(source(t, nil, nil), "manifest.json")
	out := filepath.Join(t.TempDir(), "b.zip")
	for _, answer := range []string{"n\n", "", "no\n"} {
		code, _, stderr := run(answer, "build", "-m", src, "-o", out)
		if code != 1 || !strings.Contains(stderr, "aborted") {
			t.Fatalf("answer %q: %d %q", answer, code, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("answer %q built the bundle", answer)
		}
	}
	if code, stdout, stderr := run("yes\n", "build", "-m", src, "-o", out); code != 0 || !strings.Contains(stdout, "unsigned") {
		t.Fatalf("answer yes: %d %q %q", code, stdout, stderr)
	}
	if code, stdout, stderr := run("", "build", "--manifest", src, "--output", out, "--skip-signing"); code != 0 || !strings.Contains(stderr, "unsigned") {
		t.Fatalf("-y: %d %q %q", code, stdout, stderr)
	}
	if code, stdout, _ := run("", "verify", out); code != 0 || !strings.Contains(stdout, "unsigned") {
		t.Fatalf("verify: %d %q", code, stdout)
	}
	_, pub := keyPair(t)
	if code, _, stderr := run("", "verify", "-k", pub, out); code != 1 || !strings.Contains(stderr, "Bundle isn't signed") {
		t.Fatalf("verify an unsigned bundle with a key: %d %q", code, stderr)
	}
}

func TestBuildCommandDefaultsAndUsage(t *testing.T) {
	src := source(t, nil, nil)
	t.Chdir(src)
	code, _, stderr := run("", "build", "-y")
	if code != 0 || !strings.Contains(stderr, "default output bundle.zip") {
		t.Fatalf("defaults: %d %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(src, "bundle.zip")); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := run("", "verify", "bundle.zip"); code != 0 {
		t.Fatalf("verify: %d", code)
	}
	for _, args := range [][]string{nil, {"pack"}, {"verify"}, {"verify", "a.zip", "b.zip"}, {"build", "extra"}, {"build", "-z"}} {
		if code, _, stderr := run("", args...); code != 2 || stderr == "" {
			t.Errorf("%q: %d %q, want usage and exit 2", args, code, stderr)
		}
	}
}

func TestVerifyCommandRefusesATamperedBundle(t *testing.T) {
	src := source(t, nil, nil)
	out := build(t, src, t.TempDir(), "b.zip", "")
	rezip(t, out, func(name string, data []byte) []byte {
		if name == "pre.js" {
			data[len(data)-2]++
		}
		return data
	})
	if code, _, stderr := run("", "verify", out); code != 1 || !strings.Contains(stderr, "invalid checksum") {
		t.Fatalf("%d %q", code, stderr)
	}
}
