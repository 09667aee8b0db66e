package bundle

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Retry and time-out defaults for fetching over HTTP.
const (
	DefaultAttempts   = 5
	DefaultBackoff    = 250 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
	attemptTimeout    = 5 * time.Second
)

// errTooBig is not worth retrying.
var errTooBig = errors.New("the bundle is larger than the download limit")

// fetch reads the bundle called name from the base URL: over HTTP with
// retries, or from a local directory.
func (l *Loader) fetch(name string) ([]byte, string, error) {
	base := l.BaseURL
	if !strings.Contains(base, "://") {
		return l.readLocal(base, name) // a plain directory path
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, "", fmt.Errorf("bundle_base_url: %w", err)
	}
	switch u.Scheme {
	case "http", "https":
		u.Path = path.Join("/", u.Path, name)
		u.RawPath = ""
		where := u.String()
		data, err := l.download(where, u.Scheme == "https")
		return data, where, err
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, "", fmt.Errorf("bundle_base_url: file URL with host %q (only local files can be read)", u.Host)
		}
		return l.readLocal(u.Path, name)
	}
	return nil, "", fmt.Errorf("bundle_base_url: unknown URL scheme %q (use http, https, file or a directory)", u.Scheme)
}

// readLocal reads dir/name, name being kept inside dir.
func (l *Loader) readLocal(dir, name string) ([]byte, string, error) {
	p := filepath.Join(dir, filepath.FromSlash(path.Clean("/"+name)))
	f, err := os.Open(p)
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err // the caller names the file already
	}
	if err != nil {
		return nil, p, err
	}
	defer f.Close()
	data, err := readLimited(f, l.Limits.orDefaults().MaxDownload)
	return data, p, err
}

// download GETs url until it succeeds or the attempts run out.
func (l *Loader) download(url string, https bool) ([]byte, error) {
	client := l.Client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if https && l.InsecureSkipVerify {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
		}
		client = &http.Client{Transport: tr, Timeout: attemptTimeout}
		defer tr.CloseIdleConnections()
	}
	attempts, wait, maxWait := l.Attempts, l.Backoff, l.MaxBackoff
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	if wait <= 0 {
		wait = DefaultBackoff
	}
	if maxWait <= 0 {
		maxWait = DefaultMaxBackoff
	}
	var err error
	for i := 1; ; i++ {
		var data []byte
		data, err = l.get(client, url)
		if err == nil || errors.Is(err, errTooBig) || i == attempts {
			return data, err
		}
		l.log().Warn("plugin bundle download failed; retrying", "url", redact(url), "attempt", i, "of", attempts, "wait", wait, "error", err)
		time.Sleep(wait)
		wait = min(2*wait, maxWait)
	}
}

func (l *Loader) get(client *http.Client, url string) ([]byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("the bundle server answered %s", resp.Status)
	}
	max := l.Limits.orDefaults().MaxDownload
	if resp.ContentLength > max {
		return nil, errTooBig
	}
	return readLimited(resp.Body, max)
}

// readLimited reads r to the end, failing past max bytes.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, errTooBig
	}
	return data, nil
}

// redact drops credentials from a URL for logs and error messages.
func redact(where string) string {
	if u, err := url.Parse(where); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return where
}
