package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/middleware/chain"
)

// Basic-auth messages, as Tyk words them.
const (
	MsgNotAuthorised    = "User not authorised"
	MsgBasicMalformed   = "Attempted access with malformed header, header not in basic auth format"
	MsgBasicNotEncoded  = "Attempted access with malformed header, auth data not encoded correctly"
	MsgBasicNotUserPass = "Attempted access with malformed header, values not in basic auth format"
)

// Basic is basic authentication: the user name is the key name, the
// password is checked against the key's basic_auth_data.
type Basic struct {
	env      *chain.Env
	realm    http.Header
	cache    *verified // nil when disable_caching
	ttl      time.Duration
	identity bool
}

// NewBasic builds basic auth for APIs with use_basic_auth.
func NewBasic(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	if def.UseKeyless || !def.UseBasicAuth {
		return nil, nil
	}
	b := &Basic{env: env, realm: http.Header{"Www-Authenticate": {`Basic realm="` + def.Name + `"`}},
		identity: def.BaseIdentityProvidedBy == "" || def.BaseIdentityProvidedBy == "basic_auth_user"}
	if !def.BasicAuth.DisableCaching {
		// bcrypt takes tens of milliseconds by design; remember passwords
		// that checked out for a while so each request does not pay it.
		b.cache, b.ttl = &verified{m: map[[32]byte]time.Time{}}, time.Duration(def.BasicAuth.CacheTTL)*time.Second
		if b.ttl <= 0 {
			b.ttl = 60 * time.Second
		}
	}
	return b, nil
}

func (b *Basic) Name() string { return "BasicAuthKeyIsValid" }

func (b *Basic) ProcessRequest(_ http.ResponseWriter, r *http.Request, req *chain.Request) error {
	if req.Ignored {
		return nil
	}
	return keepIdentity(req, b.identity, func() error { return b.check(r, req) })
}

func (b *Basic) check(r *http.Request, req *chain.Request) error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return &chain.Error{Status: http.StatusUnauthorized, Message: MsgFieldMissing, Header: b.realm}
	}
	scheme, payload, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "basic") {
		return chain.Fail(http.StatusBadRequest, MsgBasicMalformed)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return chain.Fail(http.StatusBadRequest, MsgBasicNotEncoded)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return chain.Fail(http.StatusBadRequest, MsgBasicNotUserPass)
	}
	if err := Load(r, req, b.env, user); err != nil {
		if e, isErr := err.(*chain.Error); isErr && e.Status == http.StatusForbidden {
			return &chain.Error{Status: http.StatusUnauthorized, Message: MsgNotAuthorised, Header: b.realm}
		}
		return err
	}
	if !b.passwordMatches(req.Session.BasicAuthData, pass) {
		req.Session, req.StoredKey, req.Token = nil, "", ""
		return &chain.Error{Status: http.StatusUnauthorized, Message: MsgNotAuthorised, Header: b.realm}
	}
	return nil
}

// passwordMatches checks pass against the stored password by its hash type.
func (b *Basic) passwordMatches(d session.BasicAuthData, pass string) bool {
	var sum [32]byte
	if b.cache != nil {
		sum = sha256.Sum256([]byte(d.Hash + "\x00" + d.Password + "\x00" + pass))
		if b.cache.ok(sum, b.env.Now()) {
			return true
		}
	}
	var match bool
	switch d.Hash {
	case "bcrypt":
		match = bcrypt.CompareHashAndPassword([]byte(d.Password), []byte(pass)) == nil
	case "":
		match = subtle.ConstantTimeCompare([]byte(d.Password), []byte(pass)) == 1
	default:
		match = subtle.ConstantTimeCompare([]byte(d.Password), []byte(session.HashWith(d.Hash, pass))) == 1
	}
	if match && b.cache != nil {
		b.cache.add(sum, b.env.Now().Add(b.ttl))
	}
	return match
}

// verified remembers password checks that succeeded, until they expire.
type verified struct {
	mu sync.Mutex
	m  map[[32]byte]time.Time
}

func (v *verified) ok(k [32]byte, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	exp, ok := v.m[k]
	if ok && now.After(exp) {
		delete(v.m, k)
		return false
	}
	return ok
}

func (v *verified) add(k [32]byte, exp time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) > 100_000 { // bound memory: start over rather than grow forever
		clear(v.m)
	}
	v.m[k] = exp
}
