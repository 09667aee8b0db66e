package hooks

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/keys"
	"github.com/tollgate/tollgate/gateway/policy"
	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/plugins/proto/coprocess"
)

// AuthStage is the custom auth hook (CustomKeyCheck): the plugin decides
// who the caller is and returns the session to use.
type AuthStage struct {
	def      *apidef.Definition
	env      *chain.Env
	opts     Options
	spec     map[string]string
	hook     hook
	extract  *extractor
	identity bool // this method provides the request's session
}

// NewAuthStage builds the auth hook when custom plugin auth is on and
// auth_check names a hook; nil otherwise.
func NewAuthStage(def *apidef.Definition, env *chain.Env, resolve Resolve, opts Options) (chain.Stage, error) {
	md := def.CustomMiddleware.AuthCheck
	if def.UseKeyless || !(def.CustomPluginAuth || def.EnableCoprocessAuth) || md.Disabled || md.Name == "" {
		return nil, nil
	}
	b, err := resolve(md)
	if err != nil {
		return nil, err
	}
	ex, err := newExtractor(def)
	if err != nil {
		return nil, err
	}
	return &AuthStage{
		def: def, env: env, opts: opts, spec: specOf(def), extract: ex,
		hook:     hook{kind: coprocess.HookType_CustomKeyCheck, name: md.Name, rawOnly: md.RawBodyOnly, backend: b},
		identity: def.BaseIdentityProvidedBy == "" || def.BaseIdentityProvidedBy == "custom_auth",
	}, nil
}

func (a *AuthStage) Name() string { return "CoProcessCustomKeyCheck(" + a.opts.Driver + ")" }

// ProcessRequest follows Tyk's order: cached session by extracted ID, else
// the plugin call, request changes, overrides, then the returned session
// with the API's org and the key's policies.
func (a *AuthStage) ProcessRequest(w http.ResponseWriter, r *http.Request, req *chain.Request) error {
	if req.Ignored {
		return nil
	}
	var sessionID string
	if a.extract != nil {
		v, err := a.extract.extract(r)
		if err != nil {
			return chain.Fail(http.StatusBadRequest, MsgFieldMissing)
		}
		sum := md5.Sum([]byte(v))
		sessionID = session.GenerateToken(a.def.OrgID, hex.EncodeToString(sum[:]), a.hashFunction())
		if done, err := a.cached(r, req, sessionID); done || err != nil {
			return err
		}
	}
	body, err := readBody(r)
	if err != nil {
		a.opts.logFailure(a.def, &a.hook, err)
		return chain.Fail(http.StatusForbidden, MsgKeyNotAuthorised)
	}
	obj := &coprocess.Object{HookType: a.hook.kind, HookName: a.hook.name, Request: miniRequest(r, body, a.hook.rawOnly), Spec: a.spec}
	out, err := a.opts.call(r.Context(), &a.hook, obj)
	if err != nil {
		a.opts.logFailure(a.def, &a.hook, err)
		return chain.Fail(http.StatusForbidden, MsgKeyNotAuthorised)
	}
	if err := applyRequest(r, out.GetRequest()); err != nil {
		a.opts.logFailure(a.def, &a.hook, err)
		return chain.Fail(http.StatusInternalServerError, MsgMiddlewareError)
	}
	ps := out.GetSession()
	if ps != nil && len(out.GetMetadata()) > 0 {
		if ps.Metadata == nil {
			ps.Metadata = map[string]string{}
		}
		for k, v := range out.GetMetadata() {
			ps.Metadata[k] = v
		}
	}
	token := ps.GetMetadata()["token"]
	if err := overrides(w, out.GetRequest().GetReturnOverrides()); err != nil {
		return err
	}
	if a.extract == nil {
		sessionID = token
	}
	if ps == nil || token == "" {
		return chain.Fail(http.StatusForbidden, MsgForbidden)
	}
	sess := FromProto(ps)
	sess.OrgID = a.def.OrgID
	stored := a.env.Keys.StoredName(sessionID)
	if prev, err := a.env.Keys.Lookup(r.Context(), a.def.OrgID, stored, true); err == nil {
		keepCounters(sess, prev.Session)
	} else if !errors.Is(err, keys.ErrNotFound) {
		a.env.Log.Warn("custom auth: reading the stored session", "api_id", a.def.APIID, "error", err)
	}
	if err := policy.Apply(sess, a.env.Policies, policy.OrgCheck{Enabled: true, OrgID: a.def.OrgID}); err != nil {
		return chain.Fail(http.StatusForbidden, MsgForbidden)
	}
	if a.identity {
		req.Session, req.StoredKey, req.Token = sess, stored, sessionID
		req.SessionChanged = true
	}
	return nil
}

func (a *AuthStage) hashFunction() string {
	if a.env.Config != nil {
		return a.env.Config.HashKeyFunction
	}
	return ""
}

// cached installs the session stored under sessionID when its
// id_extractor_deadline is still ahead; done reports that the plugin call
// can be skipped.
func (a *AuthStage) cached(r *http.Request, req *chain.Request, sessionID string) (done bool, err error) {
	stored := a.env.Keys.StoredName(sessionID)
	found, err := a.env.Keys.Lookup(r.Context(), a.def.OrgID, stored, true)
	if err != nil {
		if !errors.Is(err, keys.ErrNotFound) {
			a.env.Log.Warn("custom auth: reading the cached session", "api_id", a.def.APIID, "error", err)
		}
		return false, nil
	}
	sess := found.Session
	if sess.IdExtractorDeadline <= a.env.Now().Unix() {
		return false, nil
	}
	if err := policy.Apply(sess, a.env.Policies, policy.OrgCheck{Enabled: true, OrgID: a.def.OrgID}); err != nil {
		return true, chain.Fail(http.StatusForbidden, MsgForbidden)
	}
	if a.identity {
		req.Session, req.StoredKey, req.Token = sess, stored, sessionID
	}
	return true, nil
}

// keepCounters carries the quota counters of the stored session over to
// the one the plugin returned, so re-authenticating does not reset them.
func keepCounters(sess, prev *session.State) {
	sess.QuotaRenews, sess.QuotaRemaining = prev.QuotaRenews, prev.QuotaRemaining
	for id, ar := range sess.AccessRights {
		if old, ok := prev.AccessRights[id]; ok {
			ar.Limit.QuotaRenews, ar.Limit.QuotaRemaining = old.Limit.QuotaRenews, old.Limit.QuotaRemaining
			sess.AccessRights[id] = ar
		}
	}
}
