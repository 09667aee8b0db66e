// Package auth holds the authentication stages: standard token auth and
// basic auth. Each finds the key's session, applies its policies and puts
// it on the request for the stages after it.
package auth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/keys"
	"github.com/tollgate/tollgate/gateway/policy"
	"github.com/tollgate/tollgate/middleware/chain"
)

// Messages, as Tyk words them.
const (
	MsgFieldMissing = "Authorization field missing"
	MsgDisallowed   = "Access to this API has been disallowed"
)

// Token is standard token auth (AuthKey): the token comes from a header, a
// query parameter or a cookie.
type Token struct {
	cfg       apidef.AuthConfig
	env       *chain.Env
	minLength int
	identity  bool // this method sets the session (base_identity_provided_by)
}

// NewToken builds token auth when the API uses it: use_standard_auth, or
// no other auth method enabled. Keyless APIs have no auth at all.
func NewToken(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	if def.UseKeyless || !(def.UseStandardAuth || !otherAuth(def)) {
		return nil, nil
	}
	cfg, ok := def.AuthConfigs["authToken"]
	if !ok {
		cfg = def.Auth
	}
	if cfg.AuthHeaderName == "" {
		cfg.AuthHeaderName = "Authorization"
	}
	min := 3
	if env.Config != nil && env.Config.MinTokenLength > 0 {
		min = env.Config.MinTokenLength
	}
	return &Token{cfg: cfg, env: env, minLength: min,
		identity: def.BaseIdentityProvidedBy == "" || def.BaseIdentityProvidedBy == "auth_token"}, nil
}

// otherAuth reports whether any auth method besides token auth is on.
func otherAuth(def *apidef.Definition) bool {
	return def.UseBasicAuth || def.EnableJWT || def.UseOAuth2 || def.EnableSignature ||
		def.UseMutualTLSAuth || def.UseOpenID || def.CustomPluginAuth || def.EnableCoprocessAuth
}

func (t *Token) Name() string { return "AuthKey" }

// ProcessRequest finds the token, loads its session and applies policies.
func (t *Token) ProcessRequest(w http.ResponseWriter, r *http.Request, req *chain.Request) error {
	if req.Ignored {
		return nil
	}
	token := t.extract(r)
	if token == "" {
		return chain.Fail(http.StatusUnauthorized, MsgFieldMissing)
	}
	if len(token) <= t.minLength {
		return chain.Fail(http.StatusForbidden, MsgDisallowed)
	}
	return keepIdentity(req, t.identity, func() error { return Load(r, req, t.env, token) })
}

// keepIdentity runs an auth check; when this method does not provide the
// identity (base_identity_provided_by names another one) and a session is
// already set, the earlier session stays on the request.
func keepIdentity(req *chain.Request, identity bool, check func() error) error {
	if identity || req.Session == nil {
		return check()
	}
	sess, stored, token := req.Session, req.StoredKey, req.Token
	err := check()
	req.Session, req.StoredKey, req.Token = sess, stored, token
	return err
}

// extract reads the token: header, then query parameter, then cookie, each
// later source overriding the earlier (Tyk's precedence).
func (t *Token) extract(r *http.Request) string {
	var token string
	if !t.cfg.DisableHeader {
		token = r.Header.Get(t.cfg.AuthHeaderName)
	}
	if t.cfg.UseParam {
		name := t.cfg.ParamName
		if name == "" {
			name = t.cfg.AuthHeaderName
		}
		if v := r.URL.Query().Get(name); v != "" {
			token = v
		}
	}
	if t.cfg.UseCookie {
		name := t.cfg.CookieName
		if name == "" {
			name = t.cfg.AuthHeaderName
		}
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			token = c.Value
		}
	}
	if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
		token = token[7:]
	}
	return token
}

// Load finds the session of token for the request's API, applies its
// policies (checked against the API's org) and sets it on req. A missing
// key or a policy that cannot apply is Tyk's 403.
func Load(r *http.Request, req *chain.Request, env *chain.Env, token string) error {
	def := &req.API.Def
	found, err := env.Keys.LookupCached(r.Context(), def.OrgID, token)
	if errors.Is(err, keys.ErrNotFound) {
		return chain.Fail(http.StatusForbidden, MsgDisallowed)
	}
	if err != nil {
		env.Log.Error("key lookup failed", "api_id", def.APIID, "error", err)
		// Retry-After: the store is down, the key is not invalid.
		return &chain.Error{Status: http.StatusServiceUnavailable, Message: "Key store unavailable, please retry",
			Header: http.Header{"Retry-After": {"1"}}}
	}
	sess := found.Session
	if err := policy.Apply(sess, env.Policies, policy.OrgCheck{Enabled: true, OrgID: def.OrgID}); err != nil {
		return chain.Fail(http.StatusForbidden, MsgDisallowed)
	}
	req.Token, req.Session, req.StoredKey = token, sess, found.Stored
	return nil
}
