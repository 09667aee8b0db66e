package dataplane

import (
	"net"
	"net/http"
	"sort"
	"strings"

	"github.com/tollgate/tollgate/middleware/chain"
)

// route sends requests whose path starts with prefix (or, when exact, is
// prefix) and, when domain is set, whose host is domain, to a handler: an
// API's chain, or a per-API endpoint such as batch.
type route struct {
	domain  string
	prefix  string
	exact   bool
	handler http.Handler
}

// table is an immutable routing table; a reload builds a new one and swaps
// it in, so requests in flight finish on the table they started with.
type table struct {
	routes []route
	strict bool // enable_strict_routes
	apis   map[string]*chain.API
	// maxBody is http_server_options.max_request_body_size (0: no limit).
	maxBody int64
}

// newTable orders routes as Tyk does: longer domain first, then longer
// listen path first, so /foo-bar wins over /foo.
func newTable(routes []route, strict bool, apis map[string]*chain.API) *table {
	sort.SliceStable(routes, func(i, j int) bool {
		if len(routes[i].domain) != len(routes[j].domain) {
			return len(routes[i].domain) > len(routes[j].domain)
		}
		return len(routes[i].prefix) > len(routes[j].prefix)
	})
	return &table{routes: routes, strict: strict, apis: apis}
}

// match finds the handler for a request.
func (t *table) match(r *http.Request) http.Handler {
	path := r.URL.Path
	host := ""
	for i := range t.routes {
		rt := &t.routes[i]
		if rt.domain != "" {
			if host == "" {
				host = hostOnly(r.Host)
			}
			if !strings.EqualFold(host, rt.domain) {
				continue
			}
		}
		if !strings.HasPrefix(path, rt.prefix) || rt.exact && len(path) != len(rt.prefix) {
			continue
		}
		if t.strict && !strings.HasSuffix(rt.prefix, "/") && len(path) > len(rt.prefix) && path[len(rt.prefix)] != '/' {
			continue
		}
		return rt.handler
	}
	return nil
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}
