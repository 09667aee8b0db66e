// Package access holds the checks that run on an authenticated key:
// inactive or expired keys, access to the API and its version, and the
// per-URL allow lists of access rights.
package access

import (
	"net/http"
	"regexp"
	"sync"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
)

// Messages, as Tyk words them.
const (
	MsgInactive     = "Key is inactive, please renew"
	MsgExpired      = "Key has expired, please renew"
	MsgDisallowed   = "Access to this API has been disallowed"
	MsgURLForbidden = "Access to this resource has been disallowed"
	MsgNoSession    = "Session state is missing or unset! Please make sure that auth headers are properly applied"
)

// KeyExpired refuses inactive and expired keys.
type KeyExpired struct{ env *chain.Env }

// NewKeyExpired applies to every API with auth.
func NewKeyExpired(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	if def.UseKeyless {
		return nil, nil
	}
	return KeyExpired{env}, nil
}

func (KeyExpired) Name() string { return "KeyExpired" }

func (k KeyExpired) ProcessRequest(_ http.ResponseWriter, _ *http.Request, req *chain.Request) error {
	if req.Ignored {
		return nil
	}
	s := req.Session
	if s == nil {
		return chain.Fail(http.StatusBadRequest, MsgNoSession)
	}
	if s.IsInactive {
		return chain.Fail(http.StatusForbidden, MsgInactive)
	}
	if s.IsExpired(k.env.Now()) {
		return chain.Fail(http.StatusUnauthorized, MsgExpired)
	}
	return nil
}

// Rights checks that the key may use this API and version, and, when its
// access right lists allowed URLs, this path and method.
type Rights struct {
	notVersioned bool
}

// NewRights applies to every API with auth.
func NewRights(def *apidef.Definition, _ *chain.Env) (chain.Stage, error) {
	if def.UseKeyless {
		return nil, nil
	}
	return Rights{notVersioned: def.VersionData.NotVersioned}, nil
}

func (Rights) Name() string { return "AccessRightsCheck" }

func (a Rights) ProcessRequest(_ http.ResponseWriter, r *http.Request, req *chain.Request) error {
	if req.Ignored || req.Session == nil {
		return nil
	}
	rights := req.Session.AccessRights
	if len(rights) == 0 {
		return nil // a master key: every API
	}
	ar, ok := rights[req.API.Def.APIID]
	if !ok {
		return chain.Fail(http.StatusForbidden, MsgDisallowed)
	}
	if !a.notVersioned && !contains(ar.Versions, req.Version) {
		return chain.Fail(http.StatusForbidden, MsgDisallowed)
	}
	if len(ar.AllowedURLs) == 0 {
		return nil
	}
	for _, u := range ar.AllowedURLs {
		if compiled(u.URL).MatchString(r.URL.Path) && contains(u.Methods, r.Method) {
			return nil
		}
	}
	return chain.Fail(http.StatusForbidden, MsgURLForbidden)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Allowed-URL patterns come from sessions, not definitions, so they cannot
// be compiled at load; compiled ones are cached. An invalid pattern matches
// nothing.
var patterns sync.Map // string -> *regexp.Regexp

var never = regexp.MustCompile(`[^\s\S]`)

func compiled(p string) *regexp.Regexp {
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		re = never
	}
	patterns.Store(p, re)
	return re
}
