// The bundle example, end to end: a key pair is made, the bundle in this
// folder is built and signed with `tollgate bundle build`, served over HTTP,
// and a gateway that requires signed bundles loads the API that uses it and
// runs the bundle's JavaScript pre hook on a proxied request.
package bundle_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/plugins/bundle"
)

// writeKeyPair writes a new RSA key pair as private.pem and public.pem in
// dir.
func writeKeyPair(t *testing.T, dir string) (private, public string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	private, public = filepath.Join(dir, "private.pem"), filepath.Join(dir, "public.pem")
	for path, block := range map[string]*pem.Block{
		private: {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)},
		public:  {Type: "PUBLIC KEY", Bytes: pub},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return private, public
}

func TestSignedBundleExample(t *testing.T) {
	private, public := writeKeyPair(t, t.TempDir())

	// tollgate bundle build -m manifest.json -o <served>/example.zip -k private.pem
	served := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"build", "-m", "manifest.json", "-o", filepath.Join(served, "example.zip"), "-k", private}
	if code := bundle.Command(args, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("tollgate bundle build: exit %d: %s", code, stderr.String())
	}
	t.Log(strings.TrimSpace(stdout.String()))

	bundles := httptest.NewServer(http.FileServer(http.Dir(served)))
	defer bundles.Close()
	upstream := gatewaytest.Upstream(t)
	g := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) {
		c.EnableBundleDownloader = true
		c.BundleBaseURL = bundles.URL
		c.PublicKeyPath = public
		c.EnableJSVM = true
	}})

	def := `{"api_id":"example","name":"Bundle example","org_id":"default","use_keyless":true,"active":true,
		"custom_middleware_bundle":"example.zip",
		"proxy":{"listen_path":"/example/","target_url":"` + upstream + `","strip_listen_path":true},
		"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default"}}}}`
	if r := g.Do(t, "POST", "/tyk/apis", def); r.Status != 200 {
		t.Fatalf("create API: %d %s", r.Status, r.Body)
	}
	if r := g.Do(t, "GET", "/tyk/reload?block=true", ""); r.Status != 200 {
		t.Fatalf("reload: %d %s", r.Status, r.Body)
	}

	r := g.Do(t, "GET", "/tyk/apis/example/status", "")
	var st struct{ State, Reason string }
	if err := json.Unmarshal([]byte(r.Body), &st); err != nil || r.Status != 200 || st.State != "loaded" {
		t.Fatalf("the API with the signed bundle is not loaded: %d %s", r.Status, r.Body)
	}

	// The bundle's pre hook adds its header before the request is proxied.
	r = gatewaytest.Do(t, g.URL, "GET", "/example/hello", "")
	var seen gatewaytest.Echo
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &seen) != nil {
		t.Fatalf("GET /example/hello: %d %s", r.Status, r.Body)
	}
	if got := seen.Header.Get("X-Bundle-Greeting"); got != "hello from a signed bundle" {
		t.Fatalf("the upstream saw X-Bundle-Greeting %q, want the bundle's greeting", got)
	}
}
