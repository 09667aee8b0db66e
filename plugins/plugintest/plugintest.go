// Package plugintest builds plugin executables for tests, once per test
// binary, with the go command.
package plugintest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestPlugin is the package of the plugin the plugin tests run.
const TestPlugin = "github.com/tollgate/tollgate/plugins/internal/testplugin"

var (
	mu    sync.Mutex
	built = map[string]string{}
)

// Build compiles pkg and returns the path of a copy of the executable in a
// directory of the test's own (so tests can put files next to it, and
// every test gets its own plugin process). Each test binary builds a
// package once, into a fixed place under the temp dir that later builds
// replace atomically, so test runs do not pile up copies.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	src, ok := built[pkg]
	if !ok {
		dir := filepath.Join(os.TempDir(), "tollgate-test-plugins")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		src = filepath.Join(dir, filepath.Base(pkg))
		tmp := fmt.Sprintf("%s.%d", src, os.Getpid())
		out, err := exec.Command("go", "build", "-o", tmp, pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		if err := os.Rename(tmp, src); err != nil {
			t.Fatal(err)
		}
		built[pkg] = src
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if err := copyFile(src, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

// ManagedAPI is an API definition whose hooks all go to the managed plugin
// at path: pre, custom auth, post_key_auth, post and response.
func ManagedAPI(id, listenPath, upstream, path string) string {
	return fmt.Sprintf(`{"api_id":%q,"name":%q,"org_id":"org1","custom_plugin_auth_enabled":true,
		"config_data":{"greeting":"hello"},
		"proxy":{"listen_path":%q,"target_url":%q,"strip_listen_path":true},
		"version_data":{"not_versioned":true},
		"custom_middleware":{"driver":"managed",
			"pre":[{"name":"Pre","path":%q}],
			"auth_check":{"name":"Auth"},
			"post_key_auth":[{"name":"PostKeyAuth"}],
			"post":[{"name":"Post"}],
			"response":[{"name":"Response"}]}}`, id, id, listenPath, upstream, path)
}

// TykError is Tyk's default JSON error body for msg.
func TykError(msg string) string {
	return "{\n    \"error\": \"" + strings.ReplaceAll(msg, `"`, `\"`) + "\"\n}"
}
