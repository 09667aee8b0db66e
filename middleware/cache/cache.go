// Package cache is the response cache of an API (cache_options): a read
// stage that answers cacheable requests from the cache after auth, rate
// limits and quotas have run (a hit still counts against them, as in Tyk),
// and a response stage that stores the upstream's answer.
//
// Entries are stored as Tyk stores them: base64 of the raw HTTP response,
// "|", and the expiry in Unix seconds, under
// cache-<api_id><api_id><token or client IP><md5 hex of the request>.
package cache

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spaolacci/murmur3"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/iprules"
	"github.com/tollgate/tollgate/middleware/paths"
)

// CachedHeader marks a response served from the cache.
const CachedHeader = "X-Tyk-Cached-Response"

// rule is a per-path cache entry of one version.
type rule struct {
	keyRegex *regexp.Regexp
	codes    []int
	timeout  time.Duration
}

// config is one version's cache rules.
type config struct {
	plain    []*paths.Pattern   // extended_paths.cache: safe methods
	advanced []paths.Rule[rule] // advance_cache_config: exact method
}

// Stage is the cache read step.
type Stage struct {
	apiID    string
	listen   string
	opts     apidef.CacheOptions
	timeout  time.Duration
	versions *paths.ByVersion[config]
	store    chain.ResponseCache
	env      *chain.Env
}

// New applies when cache_options.enable_cache is on.
func New(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	o := def.CacheOptions
	if !o.EnableCache || env.Cache == nil {
		return nil, nil
	}
	ignoreCase := paths.IgnoreCase(env)
	vs, err := paths.Build(def, func(v apidef.VersionInfo) (*config, error) {
		if !v.UseExtendedPaths {
			return nil, nil
		}
		var c config
		for _, p := range v.ExtendedPaths.Cached {
			re, err := paths.Compile(p, ignoreCase)
			if err != nil {
				return nil, fmt.Errorf("cache: %w", err)
			}
			c.plain = append(c.plain, re)
		}
		for _, m := range v.ExtendedPaths.AdvanceCache {
			if m.Disabled {
				continue
			}
			re, err := paths.Compile(m.Path, ignoreCase)
			if err != nil {
				return nil, fmt.Errorf("advance_cache_config: %w", err)
			}
			r := rule{codes: m.CacheOnlyResponseCodes, timeout: time.Duration(m.Timeout) * time.Second}
			if m.CacheKeyRegex != "" {
				if r.keyRegex, err = regexp.Compile(m.CacheKeyRegex); err != nil {
					return nil, fmt.Errorf("advance_cache_config: cache_key_regex %q: %v", m.CacheKeyRegex, err)
				}
			}
			c.advanced = append(c.advanced, paths.Rule[rule]{Re: re, Method: m.Method, Value: r})
		}
		if len(c.plain) == 0 && len(c.advanced) == 0 {
			return nil, nil
		}
		return &c, nil
	})
	if err != nil {
		return nil, err
	}
	if vs == nil && !o.CacheAllSafeRequests && !o.EnableUpstreamCacheControl {
		return nil, nil
	}
	timeout := time.Duration(o.CacheTimeout) * time.Second
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	return &Stage{apiID: def.APIID, listen: def.Proxy.ListenPath, opts: o, timeout: timeout,
		versions: vs, store: env.Cache, env: env}, nil
}

func (*Stage) Name() string { return "RedisCacheMiddleware" }

func safe(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// ProcessRequest answers a cacheable request from the cache, or marks it
// for the response stage to store.
func (s *Stage) ProcessRequest(w http.ResponseWriter, r *http.Request, req *chain.Request) error {
	d, ok := s.directive(r, req)
	if !ok {
		if !s.opts.EnableUpstreamCacheControl {
			return nil
		}
		d.UpstreamDecides = true // the upstream may still ask for caching
	}
	key, err := s.key(r, req, d)
	if err != nil {
		return nil // an unreadable body is simply not cached
	}
	if raw, err := s.store.Get(r.Context(), key); err == nil {
		if resp, ok := decode(raw, s.env.Now()); ok {
			serve(w, r, resp, req)
			return chain.ErrHandled
		}
	}
	d.Key = key
	req.Cache = d
	return nil
}

// directive decides whether the request is cacheable and with what rule.
func (s *Stage) directive(r *http.Request, req *chain.Request) (chain.CacheDirective, bool) {
	d := chain.CacheDirective{TTL: s.timeout, Codes: s.opts.CacheOnlyResponseCodes}
	if s.versions != nil {
		if c := s.versions.For(req); c != nil {
			path := paths.Strip(s.listen, r.URL.Path)
			if rl, ok := paths.First(c.advanced, r.Method, path); ok {
				if rl.timeout > 0 {
					d.TTL = rl.timeout
				}
				if len(rl.codes) > 0 {
					d.Codes = rl.codes
				}
				return d, true
			}
			if safe(r.Method) {
				for _, p := range c.plain {
					if p.MatchString(path) {
						return d, true
					}
				}
			}
		}
	}
	return d, s.opts.CacheAllSafeRequests && safe(r.Method)
}

// key is md5 over METHOD-URI, the cache_by_headers values and, for bodies
// of POST/PUT/PATCH, murmur128 of the body (or of its cache_key_regex match).
func (s *Stage) key(r *http.Request, req *chain.Request, d chain.CacheDirective) (string, error) {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('-')
	b.WriteString(r.URL.RequestURI())
	if len(s.opts.CacheByHeaders) > 0 {
		b.WriteByte('-')
		for _, h := range s.opts.CacheByHeaders {
			b.WriteString(h)
			b.WriteByte('-')
			b.WriteString(r.Header.Get(h))
		}
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return "", err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if len(body) > 0 {
			h := murmur3.New128()
			h.Write(body)
			b.WriteByte('-')
			b.WriteString(hex.EncodeToString(h.Sum(nil)))
		}
	}
	sum := md5.Sum([]byte(b.String()))
	who := req.Token
	if who == "" {
		if ip, ok := iprules.ClientIP(r); ok {
			who = ip.String()
		}
	}
	return "cache-" + s.apiID + s.apiID + who + hex.EncodeToString(sum[:]), nil
}

// serve writes a cached response with the cache marker and, for keyed
// requests, the quota headers.
func serve(w http.ResponseWriter, r *http.Request, resp *http.Response, req *chain.Request) {
	defer resp.Body.Close()
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	h.Set(CachedHeader, "1")
	if req.Quota.Set {
		h.Set("X-Ratelimit-Limit", strconv.FormatInt(req.Quota.Limit, 10))
		h.Set("X-Ratelimit-Remaining", strconv.FormatInt(req.Quota.Remaining, 10))
		h.Set("X-Ratelimit-Reset", strconv.FormatInt(req.Quota.Reset, 10))
	}
	if etag := resp.Header.Get("Etag"); etag != "" && strings.Contains(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// encode stores a response the way Tyk does: base64(raw HTTP)|expiry.
func encode(resp *http.Response, body []byte, expires time.Time) ([]byte, error) {
	clone := *resp
	clone.Body = io.NopCloser(bytes.NewReader(body))
	clone.ContentLength = int64(len(body))
	clone.TransferEncoding = nil
	raw, err := httputil.DumpResponse(&clone, true)
	if err != nil {
		return nil, err
	}
	out := base64.StdEncoding.EncodeToString(raw) + "|" + strconv.FormatInt(expires.Unix(), 10)
	return []byte(out), nil
}

// decode parses a stored entry; ok is false when it is unreadable or
// expired (the store's own expiry normally removes it first).
func decode(v []byte, now time.Time) (*http.Response, bool) {
	enc, exp, found := bytes.Cut(v, []byte("|"))
	if !found {
		return nil, false
	}
	if t, err := strconv.ParseInt(string(exp), 10, 64); err != nil || now.Unix() > t {
		return nil, false
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	n, err := base64.StdEncoding.Decode(raw, enc)
	if err != nil {
		return nil, false
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw[:n])), nil)
	if err != nil {
		return nil, false
	}
	return resp, true
}
