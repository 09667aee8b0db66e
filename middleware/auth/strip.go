package auth

import (
	"net/http"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
)

// StripAuth removes the credentials token auth read (header, query
// parameter, cookie) so they are not forwarded upstream.
type StripAuth struct {
	header, param, cookie string
	basic                 bool
}

// NewStripAuth applies to APIs with strip_auth_data.
func NewStripAuth(def *apidef.Definition, _ *chain.Env) (chain.Stage, error) {
	if def.UseKeyless || !def.StripAuthData {
		return nil, nil
	}
	cfg, ok := def.AuthConfigs["authToken"]
	if !ok {
		cfg = def.Auth
	}
	s := &StripAuth{header: cfg.AuthHeaderName, basic: def.UseBasicAuth}
	if s.header == "" {
		s.header = "Authorization"
	}
	if cfg.UseParam {
		s.param = cfg.ParamName
		if s.param == "" {
			s.param = s.header
		}
	}
	if cfg.UseCookie {
		s.cookie = cfg.CookieName
		if s.cookie == "" {
			s.cookie = s.header
		}
	}
	return s, nil
}

func (s *StripAuth) Name() string { return "StripAuth" }

func (s *StripAuth) ProcessRequest(_ http.ResponseWriter, r *http.Request, _ *chain.Request) error {
	r.Header.Del(s.header)
	if s.basic {
		r.Header.Del("Authorization")
	}
	if s.param != "" {
		q := r.URL.Query()
		if q.Has(s.param) {
			q.Del(s.param)
			r.URL.RawQuery = q.Encode()
		}
	}
	if s.cookie != "" {
		if _, err := r.Cookie(s.cookie); err == nil {
			kept := r.Cookies()[:0]
			for _, c := range r.Cookies() {
				if c.Name != s.cookie {
					kept = append(kept, c)
				}
			}
			r.Header.Del("Cookie")
			for _, c := range kept {
				r.AddCookie(c)
			}
		}
	}
	return nil
}
