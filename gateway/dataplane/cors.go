package dataplane

import (
	"net/http"

	"github.com/rs/cors"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
)

// withCORS puts an API's CORS handling in front of its chain, as Tyk does
// (with the same library). With options_passthrough a preflight skips
// every stage and goes straight to the upstream.
func withCORS(def *apidef.Definition, a *chain.API) http.Handler {
	c := def.CORS
	if !c.Enable {
		return a
	}
	h := cors.New(cors.Options{
		AllowedOrigins:     c.AllowedOrigins,
		AllowedMethods:     c.AllowedMethods,
		AllowedHeaders:     c.AllowedHeaders,
		ExposedHeaders:     c.ExposedHeaders,
		AllowCredentials:   c.AllowCredentials,
		MaxAge:             c.MaxAge,
		OptionsPassthrough: c.OptionsPassthrough,
	})
	if !c.OptionsPassthrough {
		return h.Handler(a)
	}
	return h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			a.Upstream.Serve(w, r, &chain.Request{API: a, Method: r.Method, Path: r.URL.Path})
			return
		}
		a.ServeHTTP(w, r)
	}))
}
