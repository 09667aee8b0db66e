package controlapi

import (
	"net/http"
	"strings"
)

// router matches "METHOD /path/{param}" patterns the way Tyk's control
// router does: trailing slashes are ignored, and a literal segment beats a
// parameter in the same position, so /tyk/apis/oas/{id} and
// /tyk/apis/{id}/versions can live side by side (net/http's ServeMux
// refuses that pair). It implements the generated code's ServeMux.
type router struct {
	routes []route
}

type route struct {
	method   string
	template string   // path as written in the OpenAPI document
	segs     []string // normalised segments; "{name}" marks a parameter
	handler  http.HandlerFunc
}

// HandleFunc registers a pattern such as "GET /tyk/keys/{keyID}".
func (rt *router) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.TrimSuffix(path, "{$}")
	rt.routes = append(rt.routes, route{method: method, template: path, segs: split(path), handler: h})
}

// ServeHTTP is unused: the control handler calls match itself, but the
// generated code's ServeMux interface asks for it.
func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.NotFound(w, r)
}

// split turns a path into segments, dropping empty ones so that trailing
// and doubled slashes do not matter.
func split(path string) []string {
	parts := strings.Split(path, "/")
	out := parts[:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// match finds the route for method and path. pathMatched is true when some
// route has this path under another method (a 405 rather than a 404).
func (rt *router) match(method, path string) (best *route, params map[string]string, pathMatched bool) {
	segs := split(path)
	var bestScore []bool
	for i := range rt.routes {
		r := &rt.routes[i]
		p, score, ok := r.bind(segs)
		if !ok {
			continue
		}
		if r.method != method {
			pathMatched = true
			continue
		}
		if best == nil || beats(score, bestScore) {
			best, params, bestScore = r, p, score
		}
	}
	return best, params, pathMatched
}

// bind matches segments; score[i] is true where segment i matched a literal.
func (r *route) bind(segs []string) (map[string]string, []bool, bool) {
	if len(segs) != len(r.segs) {
		return nil, nil, false
	}
	var params map[string]string
	score := make([]bool, len(segs))
	for i, want := range r.segs {
		if strings.HasPrefix(want, "{") && strings.HasSuffix(want, "}") {
			if params == nil {
				params = map[string]string{}
			}
			params[want[1:len(want)-1]] = segs[i]
			continue
		}
		if want != segs[i] {
			return nil, nil, false
		}
		score[i] = true
	}
	return params, score, true
}

// beats prefers the route whose first differing segment is a literal.
func beats(a, b []bool) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i]
		}
	}
	return false
}
