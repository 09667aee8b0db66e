package version

import (
	"net/http"
	"net/url"
	"strings"
)

// fromRequest reads the version name from where definition.location says,
// removing it from the request when strip_versioning_data (or strip_path)
// is set.
func (c *Check) fromRequest(r *http.Request) string {
	switch c.loc {
	case fromHeader:
		vals := r.Header[c.key]
		if c.strip {
			delete(r.Header, c.key)
		}
		if len(vals) == 0 {
			return ""
		}
		return vals[0]
	case fromParam:
		name, found := queryParam(r.URL.RawQuery, c.key)
		if c.strip && found {
			r.URL.RawQuery = removeParam(r.URL.RawQuery, c.key)
		}
		return name
	case fromURL:
		start, end := c.urlSegment(r.URL.Path)
		if start < 0 {
			return ""
		}
		name := r.URL.Path[start:end]
		if c.strip {
			r.URL.Path = cutSegment(r.URL.Path, start, end)
			if r.URL.RawPath != "" {
				if s, e := c.urlSegment(r.URL.RawPath); s >= 0 {
					r.URL.RawPath = cutSegment(r.URL.RawPath, s, e)
				}
			}
		}
		return name
	}
	return ""
}

// urlSegment finds the version segment of a path: the first non-empty
// segment after the listen path and an optional /<slug>. It returns -1
// when there is none.
func (c *Check) urlSegment(p string) (start, end int) {
	off := 0
	if strings.HasPrefix(p, c.listen) {
		off = len(c.listen)
	}
	// Tyk removes "/<slug>" from the front of the remainder, which it
	// gives a leading slash first.
	rest := p[off:]
	if strings.HasPrefix(rest, "/") {
		if strings.HasPrefix(rest[1:], c.slug) {
			off += 1 + len(c.slug)
		}
	} else if strings.HasPrefix(rest, c.slug) {
		off += len(c.slug)
	}
	for off < len(p) && p[off] == '/' {
		off++
	}
	if off >= len(p) {
		return -1, -1
	}
	end = strings.IndexByte(p[off:], '/')
	if end < 0 {
		return off, len(p)
	}
	return off, off + end
}

// cutSegment removes the segment p[start:end] and the slash after it.
func cutSegment(p string, start, end int) string {
	if end < len(p) {
		end++
	}
	return p[:start] + p[end:]
}

// queryParam returns the first value of the query parameter key. Pairs
// that do not decode are skipped, as url.ParseQuery does.
func queryParam(raw, key string) (string, bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, ok := splitPair(pair)
		if !ok || k != key {
			continue
		}
		if v, ok = unescape(v); ok {
			return v, true
		}
	}
	return "", false
}

// removeParam removes every pair of the query parameter key, keeping the
// others as they were sent.
func removeParam(raw, key string) string {
	var b strings.Builder
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if k, _, ok := splitPair(pair); ok && k == key {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	return b.String()
}

// splitPair splits key=value and decodes the key; the value stays raw.
func splitPair(pair string) (key, rawValue string, ok bool) {
	if pair == "" || strings.Contains(pair, ";") {
		return "", "", false
	}
	k, v, _ := strings.Cut(pair, "=")
	if key, ok = unescape(k); !ok {
		return "", "", false
	}
	return key, v, true
}

// unescape decodes a query component, allocating only when it is escaped.
func unescape(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}
