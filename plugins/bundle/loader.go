package bundle

import (
	"crypto/md5"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/config"
)

// DriverManaged is the custom_middleware driver of plugin executables the
// gateway runs itself (hashicorp/go-plugin, package plugins/managed).
const DriverManaged = "managed"

// Loader readies the plugin bundles of API definitions before their chains
// are built. It is safe for concurrent use.
type Loader struct {
	Dir                string // where bundles are unpacked: <middleware_path>/bundles
	BaseURL            string // bundle_base_url
	Download           bool   // enable_bundle_downloader
	InsecureSkipVerify bool   // bundle_insecure_skip_verify
	PublicKeyPath      string // public_key_path; signatures are required when set
	Log                *slog.Logger

	// Fetch tuning; zero values take the defaults (DefaultAttempts,
	// DefaultBackoff, DefaultMaxBackoff, DefaultLimits, a client with a
	// 5 s time-out).
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
	Limits     Limits
	Client     *http.Client

	mu sync.Mutex // one bundle directory is written by one load at a time
}

// New returns a Loader set up from the gateway configuration.
func New(cfg *config.Config, log *slog.Logger) *Loader {
	return &Loader{
		Dir:                filepath.Join(cfg.MiddlewarePath, "bundles"),
		BaseURL:            cfg.BundleBaseURL,
		Download:           cfg.EnableBundleDownloader,
		InsecureSkipVerify: cfg.BundleInsecureSkipVerify,
		PublicKeyPath:      cfg.PublicKeyPath,
		Log:                log,
	}
}

func (l *Loader) log() *slog.Logger {
	if l.Log == nil {
		return slog.Default()
	}
	return l.Log
}

// DirName is the name of the directory a bundle is unpacked into: the hex
// MD5 of the bundle name, as in Tyk.
func DirName(bundle string) string {
	sum := md5.Sum([]byte(bundle))
	return hex.EncodeToString(sum[:])
}

// Prepare loads the bundle def names, if any, and makes its hooks the API's
// custom_middleware, with BundleDir set. An error means the API must not
// be served.
func (l *Loader) Prepare(def *apidef.Definition) error {
	name := def.CustomMiddlewareBundle
	if name == "" || def.CustomMiddlewareBundleDisabled {
		return nil
	}
	l.mu.Lock()
	hooks, dir, err := l.load(name)
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("plugin bundle %q: %w", name, err)
	}
	def.CustomMiddleware = hooks
	def.BundleDir = dir
	return nil
}

// load returns the bundle's hooks and directory, using the unpacked copy
// when it still verifies and fetching the bundle otherwise.
func (l *Loader) load(name string) (apidef.MiddlewareSection, string, error) {
	var none apidef.MiddlewareSection
	if l.BaseURL == "" {
		return none, "", errors.New("bundle_base_url is not set")
	}
	pub, err := l.publicKey()
	if err != nil {
		return none, "", err
	}
	dest, err := filepath.Abs(filepath.Join(l.Dir, DirName(name)))
	if err != nil {
		return none, "", err
	}
	if _, err := os.Stat(dest); err == nil {
		hooks, err := ready(dest, pub)
		if err == nil {
			l.log().Debug("using the unpacked plugin bundle", "bundle", name, "dir", dest)
			return hooks, dest, nil
		}
		l.log().Warn("the unpacked plugin bundle no longer verifies; fetching it again", "bundle", name, "dir", dest, "error", err)
		if err := os.RemoveAll(dest); err != nil {
			return none, "", err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return none, "", err
	}
	if !l.Download {
		return none, "", errors.New("enable_bundle_downloader is off and no verified unpacked copy exists")
	}
	data, where, err := l.fetch(name)
	if err != nil {
		if where == "" {
			return none, "", err
		}
		return none, "", fmt.Errorf("fetching %s: %w", redact(where), err)
	}
	hooks, err := l.install(data, dest, pub)
	if err != nil {
		return none, "", err
	}
	l.log().Info("plugin bundle fetched and verified", "bundle", name, "from", redact(where), "dir", dest)
	return hooks, dest, nil
}

func (l *Loader) publicKey() (*rsa.PublicKey, error) {
	if l.PublicKeyPath == "" {
		return nil, nil
	}
	pub, err := ReadPublicKey(l.PublicKeyPath)
	if err != nil {
		return nil, fmt.Errorf("public_key_path %s: %w", l.PublicKeyPath, err)
	}
	return pub, nil
}

// install unpacks data next to dest, verifies it there and only then moves
// it to dest, so dest only ever holds a complete, verified bundle.
func (l *Loader) install(data []byte, dest string, pub *rsa.PublicKey) (apidef.MiddlewareSection, error) {
	var none apidef.MiddlewareSection
	parent := filepath.Dir(dest)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return none, err
	}
	tmp, err := os.MkdirTemp(parent, ".unpacking-")
	if err != nil {
		return none, err
	}
	defer os.RemoveAll(tmp) // nothing left to remove once renamed
	if err := unpack(data, tmp, l.Limits); err != nil {
		return none, fmt.Errorf("unpacking: %w", err)
	}
	hooks, err := ready(tmp, pub)
	if err != nil {
		return none, err
	}
	if err := os.Rename(tmp, dest); err != nil {
		// Another process sharing middleware_path may have just put the
		// same bundle in place; its copy will do if it verifies.
		if theirs, verr := ready(dest, pub); verr == nil {
			return theirs, nil
		}
		return none, err
	}
	return hooks, nil
}

// ready verifies the bundle unpacked in dir and returns its hooks as they
// apply on this platform.
func ready(dir string, pub *rsa.PublicKey) (apidef.MiddlewareSection, error) {
	m, err := verifyDir(dir, pub)
	if err != nil {
		return apidef.MiddlewareSection{}, err
	}
	return hooks(dir, m, pub != nil, runtime.GOOS+"_"+runtime.GOARCH)
}

// verifyDir reads the manifest of the bundle unpacked in dir and checks its
// checksum, and its signature when pub is set.
func verifyDir(dir string, pub *rsa.PublicKey) (*Manifest, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest: %w", err)
	}
	if pub != nil && m.Signature == "" {
		return nil, ErrUnsigned
	}
	d := newDigest()
	if err := d.addFiles(dir, m.FileList); err != nil {
		return nil, err
	}
	if err := d.verify(m, pub); err != nil {
		return nil, err
	}
	return m, nil
}

// hooks returns the manifest's custom_middleware with managed paths
// resolved for platform ("" leaves them as written). Hook paths must stay
// inside the bundle and, when signed is set, be covered by file_list.
func hooks(dir string, m *Manifest, signed bool, platform string) (apidef.MiddlewareSection, error) {
	cm := m.CustomMiddleware
	listed := make(map[string]bool, len(m.FileList))
	for _, f := range m.FileList {
		listed[path.Clean(f)] = true
	}
	err := eachHook(&cm, func(h *apidef.MiddlewareDefinition) error {
		if h.Disabled || h.Path == "" {
			return nil
		}
		if _, err := inside(dir, h.Path); err != nil {
			return fmt.Errorf("hook %q: path %w", h.Name, err)
		}
		if cm.Driver == DriverManaged && platform != "" {
			p, err := forPlatform(dir, h.Path, platform)
			if err != nil {
				return fmt.Errorf("hook %q: %w", h.Name, err)
			}
			h.Path = p
		}
		if signed && !covered(listed, h.Path, cm.Driver == DriverManaged && platform == "") {
			return fmt.Errorf("hook %q: %s is not in file_list, so the signature does not cover it", h.Name, h.Path)
		}
		return nil
	})
	return cm, err
}

// covered says whether file_list lists p or, with anyPlatform, some
// plugins/<platform>/p.
func covered(listed map[string]bool, p string, anyPlatform bool) bool {
	p = path.Clean(p)
	if listed[p] {
		return true
	}
	if anyPlatform {
		for f := range listed {
			if dir, ok := strings.CutSuffix(f, "/"+p); ok && path.Dir(dir) == "plugins" {
				return true
			}
		}
	}
	return false
}

// forPlatform picks plugins/<platform>/p when the bundle has it, else p,
// and makes the file chosen executable.
func forPlatform(dir, p, platform string) (string, error) {
	candidates := []string{path.Join("plugins", platform, p), p}
	for _, c := range candidates {
		full, err := inside(dir, c)
		if err != nil {
			return "", err
		}
		if st, err := os.Stat(full); err == nil && st.Mode().IsRegular() {
			if err := os.Chmod(full, 0o700); err != nil {
				return "", err
			}
			return c, nil
		}
	}
	return "", fmt.Errorf("no plugin executable for %s: the bundle has neither %s nor %s", platform, candidates[0], candidates[1])
}

// eachHook calls fn on every hook of cm, in place.
func eachHook(cm *apidef.MiddlewareSection, fn func(*apidef.MiddlewareDefinition) error) error {
	for _, list := range [][]apidef.MiddlewareDefinition{cm.Pre, cm.Post, cm.PostKeyAuth, cm.Response} {
		for i := range list {
			if err := fn(&list[i]); err != nil {
				return err
			}
		}
	}
	return fn(&cm.AuthCheck)
}
