package bundle_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/plugins/bundle"
)

func prepare(t *testing.T, l *bundle.Loader, name string) (*apidef.Definition, error) {
	t.Helper()
	def := &apidef.Definition{APIID: "api1", CustomMiddlewareBundle: name,
		CustomMiddleware: apidef.MiddlewareSection{Driver: "grpc", Pre: []apidef.MiddlewareDefinition{{Name: "fromTheAPI"}}}}
	return def, l.Prepare(def)
}

func mustFail(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want an error containing %q, got %v", want, err)
	}
}

// leftovers lists what is in the bundles folder.
func leftovers(t *testing.T, l *bundle.Loader) []string {
	t.Helper()
	entries, err := os.ReadDir(l.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestSignedBundleLoadsAndReplacesTheHooks(t *testing.T) {
	priv, pub := keyPair(t)
	served := t.TempDir()
	build(t, source(t, nil, nil), served, "bundle.zip", priv)
	srv := serve(t, served)
	l := loader(t, srv.URL, pub)

	def, err := prepare(t, l, "bundle.zip")
	if err != nil {
		t.Fatal(err)
	}
	cm := def.CustomMiddleware
	if cm.Driver != "otto" || len(cm.Pre) != 1 || cm.Pre[0].Name != "addHeader" || cm.Pre[0].Path != "pre.js" {
		t.Fatalf("custom_middleware not replaced by the manifest's: %+v", cm)
	}
	want, _ := filepath.Abs(filepath.Join(l.Dir, bundle.DirName("bundle.zip")))
	if def.BundleDir != want {
		t.Fatalf("BundleDir %q, want %q", def.BundleDir, want)
	}
	if b, err := os.ReadFile(filepath.Join(def.BundleDir, "pre.js")); err != nil || string(b) != preJS {
		t.Fatalf("unpacked pre.js: %q %v", b, err)
	}
	if got := leftovers(t, l); len(got) != 1 || got[0] != bundle.DirName("bundle.zip") {
		t.Fatalf("bundles folder holds %q", got)
	}
}

func TestDisabledOrAbsentBundleLeavesTheDefinitionAlone(t *testing.T) {
	l := loader(t, "http://127.0.0.1:1", "")
	for _, def := range []*apidef.Definition{
		{APIID: "a"},
		{APIID: "b", CustomMiddlewareBundle: "x.zip", CustomMiddlewareBundleDisabled: true},
	} {
		before := *def
		if err := l.Prepare(def); err != nil {
			t.Fatalf("%s: %v", def.APIID, err)
		}
		if def.BundleDir != "" || def.CustomMiddleware.Driver != before.CustomMiddleware.Driver {
			t.Fatalf("%s changed: %+v", def.APIID, def)
		}
	}
}

func TestRefusals(t *testing.T) {
	privA, pubA := keyPair(t)
	_, pubB := keyPair(t)
	served := t.TempDir()
	src := source(t, nil, nil)
	build(t, src, served, "signed.zip", privA)
	build(t, src, served, "unsigned.zip", "")
	rezip(t, build(t, src, served, "tampered.zip", ""), func(name string, data []byte) []byte {
		if name == "pre.js" {
			data = bytes.Replace(data, []byte(`"yes"`), []byte(`"yeS"`), 1)
		}
		return data
	})
	rezip(t, build(t, src, served, "tampered-signed.zip", privA), func(name string, data []byte) []byte {
		if name == "pre.js" {
			data[0] ^= 1
		}
		return data
	})
	srv := serve(t, served)

	tests := []struct {
		name, bundle, key, want string
	}{
		{"one byte changed fails the checksum", "tampered.zip", "", "invalid checksum"},
		{"one byte changed fails a signed bundle too", "tampered-signed.zip", pubA, "invalid checksum"},
		{"a bundle signed with another key", "signed.zip", pubB, "crypto/rsa: verification error"},
		{"an unsigned bundle when public_key_path is set", "unsigned.zip", pubA, "Bundle isn't signed"},
		{"a bundle the server does not have", "missing.zip", "", "404"},
		{"an unreadable public key", "signed.zip", filepath.Join(t.TempDir(), "nope.pem"), "public_key_path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := loader(t, srv.URL, tt.key)
			def, err := prepare(t, l, tt.bundle)
			mustFail(t, err, tt.want)
			if !strings.Contains(err.Error(), tt.bundle) {
				t.Errorf("the error does not name the bundle: %v", err)
			}
			if def.BundleDir != "" || def.CustomMiddleware.Pre[0].Name != "fromTheAPI" {
				t.Errorf("a refused bundle changed the definition: %+v", def)
			}
			if got := leftovers(t, l); len(got) != 0 {
				t.Errorf("a refused bundle left %q behind", got)
			}
		})
	}
	t.Run("the signed bundle passes with its own key", func(t *testing.T) {
		if _, err := prepare(t, loader(t, srv.URL, pubA), "signed.zip"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("without public_key_path the signature is not checked", func(t *testing.T) {
		if _, err := prepare(t, loader(t, srv.URL, ""), "unsigned.zip"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSettingsThatStopALoad(t *testing.T) {
	served := t.TempDir()
	build(t, source(t, nil, nil), served, "b.zip", "")
	srv := serve(t, served)

	l := loader(t, "", "")
	_, err := prepare(t, l, "b.zip")
	mustFail(t, err, "bundle_base_url is not set")

	l = loader(t, srv.URL, "")
	l.Download = false
	_, err = prepare(t, l, "b.zip")
	mustFail(t, err, "enable_bundle_downloader is off")

	l = loader(t, "ftp://127.0.0.1/bundles", "")
	_, err = prepare(t, l, "b.zip")
	mustFail(t, err, `unknown URL scheme "ftp"`)
}

func TestDownloadRetries(t *testing.T) {
	served := t.TempDir()
	build(t, source(t, nil, nil), served, "b.zip", "")

	t.Run("a failing server is tried five times, then the bundle fails", func(t *testing.T) {
		srv := serve(t, served)
		srv.failing.Store(1000)
		_, err := prepare(t, loader(t, srv.URL, ""), "b.zip")
		mustFail(t, err, "503")
		if n := srv.requests.Load(); n != bundle.DefaultAttempts {
			t.Fatalf("%d requests, want %d", n, bundle.DefaultAttempts)
		}
	})
	t.Run("a server that recovers within the attempts delivers", func(t *testing.T) {
		srv := serve(t, served)
		srv.failing.Store(2)
		if _, err := prepare(t, loader(t, srv.URL, ""), "b.zip"); err != nil {
			t.Fatal(err)
		}
		if n := srv.requests.Load(); n != 3 {
			t.Fatalf("%d requests, want 3", n)
		}
	})
	t.Run("attempts are configurable", func(t *testing.T) {
		srv := serve(t, served)
		srv.failing.Store(1000)
		l := loader(t, srv.URL, "")
		l.Attempts = 2
		_, err := prepare(t, l, "b.zip")
		mustFail(t, err, "503")
		if n := srv.requests.Load(); n != 2 {
			t.Fatalf("%d requests, want 2", n)
		}
	})
}

func TestUnpackedBundleIsReusedAndReverified(t *testing.T) {
	priv, pub := keyPair(t)
	served := t.TempDir()
	build(t, source(t, nil, nil), served, "b.zip", priv)
	srv := serve(t, served)
	l := loader(t, srv.URL, pub)

	def, err := prepare(t, l, "b.zip")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prepare(t, l, "b.zip"); err != nil {
		t.Fatal(err)
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("a verified unpacked bundle was downloaded again: %d requests", n)
	}

	t.Run("a changed unpacked file is noticed and the bundle fetched again", func(t *testing.T) {
		writeFile(t, filepath.Join(def.BundleDir, "pre.js"), "evil();")
		def, err := prepare(t, l, "b.zip")
		if err != nil {
			t.Fatal(err)
		}
		if n := srv.requests.Load(); n != 2 {
			t.Fatalf("%d requests, want 2", n)
		}
		if b, _ := os.ReadFile(filepath.Join(def.BundleDir, "pre.js")); string(b) != preJS {
			t.Fatalf("pre.js is %q after the fetch", b)
		}
	})
	t.Run("a changed unpacked file with the server gone fails", func(t *testing.T) {
		writeFile(t, filepath.Join(def.BundleDir, "pre.js"), "evil();")
		srv.failing.Store(1000)
		_, err := prepare(t, l, "b.zip")
		mustFail(t, err, "503")
	})
	t.Run("no base URL fails even with an unpacked copy", func(t *testing.T) {
		srv.failing.Store(0)
		l := loader(t, srv.URL, "")
		if _, err := prepare(t, l, "b.zip"); err != nil {
			t.Fatal(err)
		}
		l.BaseURL = ""
		_, err := prepare(t, l, "b.zip")
		mustFail(t, err, "bundle_base_url is not set")
	})
}

func TestLocalBundleFolder(t *testing.T) {
	served := t.TempDir()
	build(t, source(t, nil, nil), served, "b.zip", "")
	for _, base := range []string{"file://" + filepath.ToSlash(served), served} {
		t.Run(base, func(t *testing.T) {
			l := loader(t, base, "")
			def, err := prepare(t, l, "b.zip")
			if err != nil {
				t.Fatal(err)
			}
			if def.CustomMiddleware.Pre[0].Name != "addHeader" {
				t.Fatalf("hooks: %+v", def.CustomMiddleware)
			}
			_, err = prepare(t, l, "nope.zip")
			mustFail(t, err, "no such file")
		})
	}
	t.Run("a name cannot climb out of the folder", func(t *testing.T) {
		inner := filepath.Join(served, "inner")
		if err := os.Mkdir(inner, 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := prepare(t, loader(t, inner, ""), "../b.zip")
		mustFail(t, err, "no such file")
	})
}

func TestHostileZips(t *testing.T) {
	okManifest := `{"file_list":[],"custom_middleware":{"driver":"otto","pre":[{"name":"p","path":"pre.js"}]},"checksum":"d41d8cd98f00b204e9800998ecf8427e"}`
	manifest := entry{name: "manifest.json", data: okManifest}
	tests := []struct {
		name    string
		entries []entry
		limits  bundle.Limits
		want    string
	}{
		{"an entry climbing out", []entry{manifest, {name: "../evil.js", data: "x"}}, bundle.Limits{}, "outside the bundle directory"},
		{"an entry climbing out from a folder", []entry{manifest, {name: "a/../../evil.js", data: "x"}}, bundle.Limits{}, "outside the bundle directory"},
		{"an absolute entry", []entry{manifest, {name: "/tmp/evil.js", data: "x"}}, bundle.Limits{}, "outside the bundle directory"},
		{"a backslash entry", []entry{manifest, {name: `..\evil.js`, data: "x"}}, bundle.Limits{}, "backslashes"},
		{"a symbolic link", []entry{manifest, {name: "link", mode: os.ModeSymlink | 0o777, data: "/etc/passwd"}}, bundle.Limits{}, "symbolic links"},
		{"a named pipe", []entry{manifest, {name: "pipe", mode: os.ModeNamedPipe | 0o644}}, bundle.Limits{}, "only files and folders"},
		{"the same name twice", []entry{manifest, {name: "pre.js", data: "a"}, {name: "pre.js", data: "b"}}, bundle.Limits{}, "twice"},
		{"too many entries", []entry{manifest, {name: "a"}, {name: "b"}}, bundle.Limits{MaxFiles: 2}, "more than the limit of 2"},
		{"too many bytes once unpacked", []entry{manifest, {name: "big", data: strings.Repeat("z", 4096)}}, bundle.Limits{MaxUnpacked: 1024}, "size limit"},
		{"too large a download", []entry{manifest, {name: "big", data: strings.Repeat("z", 4096)}}, bundle.Limits{MaxDownload: 64}, "download limit"},
		{"not a zip at all", nil, bundle.Limits{}, "not a ZIP file"},
		{"a hook path climbing out", []entry{{name: "manifest.json", data: strings.Replace(okManifest, `"pre.js"`, `"../pre.js"`, 1)}}, bundle.Limits{}, "not a path inside the bundle"},
		{"no manifest", []entry{{name: "pre.js", data: "x"}}, bundle.Limits{}, "reading the manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			served := t.TempDir()
			if tt.entries == nil {
				writeFile(t, filepath.Join(served, "b.zip"), "this is not a zip file")
			} else {
				rawZip(t, filepath.Join(served, "b.zip"), tt.entries...)
			}
			l := loader(t, served, "")
			l.Limits = tt.limits
			_, err := prepare(t, l, "b.zip")
			mustFail(t, err, tt.want)
			if got := leftovers(t, l); len(got) != 0 {
				t.Errorf("left %q in the bundles folder", got)
			}
			root := filepath.Dir(filepath.Dir(l.Dir))
			if _, err := os.Stat(filepath.Join(root, "evil.js")); err == nil {
				t.Error("evil.js was written outside the bundle")
			}
		})
	}
	t.Run("folders need no directory entries", func(t *testing.T) {
		served := t.TempDir()
		rawZip(t, filepath.Join(served, "b.zip"), entry{name: "manifest.json", data: strings.Replace(okManifest, `"pre.js"`, `"js/pre.js"`, 1)},
			entry{name: "js/pre.js", data: preJS})
		def, err := prepare(t, loader(t, served, ""), "b.zip")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(def.BundleDir, "js", "pre.js")); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSignedBundleHooksMustBeListed(t *testing.T) {
	priv, pub := keyPair(t)
	served := t.TempDir()
	src := source(t, map[string]any{
		"file_list":         []string{"lib.js"},
		"custom_middleware": map[string]any{"driver": "otto", "pre": []any{map[string]any{"name": "addHeader", "path": "pre.js"}}},
	}, map[string]string{"lib.js": "var x = 1;"})
	build(t, src, served, "b.zip", priv)
	// The builder packs only file_list; add pre.js afterwards, as someone
	// altering a signed bundle would.
	rezip(t, filepath.Join(served, "b.zip"), func(_ string, data []byte) []byte { return data }, entry{name: "pre.js", data: preJS})

	_, err := prepare(t, loader(t, served, pub), "b.zip")
	mustFail(t, err, "pre.js is not in file_list")
	if _, err := prepare(t, loader(t, served, ""), "b.zip"); err != nil {
		t.Fatalf("without public_key_path, unlisted hook files load as in Tyk: %v", err)
	}
}

func TestManagedPluginExecutablePerPlatform(t *testing.T) {
	platform := runtime.GOOS + "_" + runtime.GOARCH
	priv, pub := keyPair(t)
	mk := func(t *testing.T, files map[string]string) string {
		list := make([]string, 0, len(files))
		for name := range files {
			list = append(list, name)
		}
		served := t.TempDir()
		build(t, source(t, map[string]any{
			"file_list":         list,
			"custom_middleware": map[string]any{"driver": "managed", "auth_check": map[string]any{"name": "Auth", "path": "auth"}},
		}, files), served, "b.zip", priv)
		return served
	}
	t.Run("the running platform's build is chosen and made executable", func(t *testing.T) {
		served := mk(t, map[string]string{"plugins/" + platform + "/auth": "native", "plugins/plan9_386/auth": "other"})
		def, err := prepare(t, loader(t, served, pub), "b.zip")
		if err != nil {
			t.Fatal(err)
		}
		want := "plugins/" + platform + "/auth"
		if got := def.CustomMiddleware.AuthCheck.Path; got != want {
			t.Fatalf("path %q, want %q", got, want)
		}
		st, err := os.Stat(filepath.Join(def.BundleDir, filepath.FromSlash(want)))
		if err != nil || st.Mode().Perm()&0o100 == 0 {
			t.Fatalf("executable: %v %v", st.Mode(), err)
		}
		if code, _, stderr := run("", "verify", filepath.Join(served, "b.zip"), "-k", pub); code != 0 {
			t.Fatalf("bundle verify of a multi-platform bundle: %d %s", code, stderr)
		}
	})
	t.Run("a single executable at the path is used as is", func(t *testing.T) {
		served := mk(t, map[string]string{"auth": "native"})
		def, err := prepare(t, loader(t, served, pub), "b.zip")
		if err != nil {
			t.Fatal(err)
		}
		if got := def.CustomMiddleware.AuthCheck.Path; got != "auth" {
			t.Fatalf("path %q", got)
		}
	})
	t.Run("no build for this platform fails the bundle", func(t *testing.T) {
		served := mk(t, map[string]string{"plugins/plan9_386/auth": "other"})
		_, err := prepare(t, loader(t, served, pub), "b.zip")
		mustFail(t, err, "no plugin executable for "+platform)
	})
}
