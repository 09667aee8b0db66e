package controlapi

import (
	"context"
	"errors"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tollgate/tollgate/gateway/filestore"
	"github.com/tollgate/tollgate/gateway/keys"
	"github.com/tollgate/tollgate/gateway/policy"
	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/gen"
)

const (
	msgNoAccessRights = "Failed to create key, keys must have at least one Access Rights record set."
	msgCreateFailed   = "Failed to create key, ensure security settings are correct."
)

// decodeSession reads the buffered request body as a session.
func decodeSession(ctx context.Context) (*session.State, bool) {
	s, ok := decodeBody[session.State](ctx)
	return &s, ok
}

func query(ctx context.Context, name string) string {
	if r := requestOf(ctx); r != nil {
		return r.URL.Query().Get(name)
	}
	return ""
}

// ListKeys lists key IDs (or hashes), optionally filtered by prefix.
func (s *Server) ListKeys(ctx context.Context, _ gen.ListKeysRequestObject) (gen.ListKeysResponseObject, error) {
	if s.Settings.HashKeys && !s.Settings.EnableHashedKeysListing {
		return fail(404, "Hashed key listing is disabled in config (enable_hashed_keys_listing)"), nil
	}
	filter := ""
	if !s.Settings.HashKeys {
		filter = query(ctx, "filter")
	}
	names, err := s.Keys.List(ctx, filter)
	if err != nil {
		return nil, err
	}
	return ok(map[string][]string{"keys": names}), nil
}

// AddKey creates a key with a generated ID (POST /tyk/keys).
func (s *Server) AddKey(ctx context.Context, _ gen.AddKeyRequestObject) (gen.AddKeyResponseObject, error) {
	return s.importKey(ctx, "")
}

// CreateCustomKey imports a key under a chosen name. Unlike Tyk, a name
// that is unsafe as an ID (control or NUL bytes, invalid UTF-8, a leading
// dot, over 200 bytes) is refused, as for org keys: most such names cannot
// be sent as a token, and the embedded store holds keys up to 32 KiB only.
func (s *Server) CreateCustomKey(ctx context.Context, req gen.CreateCustomKeyRequestObject) (gen.CreateCustomKeyResponseObject, error) {
	if err := filestore.ValidID(req.KeyID); err != nil {
		return fail(400, "Invalid key id: "+err.Error()), nil
	}
	return s.importKey(ctx, req.KeyID)
}

// CreateKey is POST /tyk/keys/create: a generated ID, policies applied,
// quotas started.
func (s *Server) CreateKey(ctx context.Context, _ gen.CreateKeyRequestObject) (gen.CreateKeyResponseObject, error) {
	sess, okBody := decodeSession(ctx)
	if !okBody {
		return fail(400, msgUnmarshal), nil
	}
	if err := validKeyOrg(sess.OrgID); err != nil {
		return fail(400, "Invalid org id: "+err.Error()), nil
	}
	now := s.Now()
	keyID := s.Keys.NewKeyID(sess.OrgID, "")
	if sess.HMACEnabled {
		sess.HmacSecret = session.NewID()
	}
	sess.Touch(now)
	sess.DateCreated = now
	if err := policy.Apply(sess, s.Policies.Lookup(), policy.OrgCheck{}); err != nil {
		return fail(400, "Failed to create key - "+err.Error()), nil
	}
	if len(sess.AccessRights) == 0 && !s.Settings.AllowMasterKeys {
		return fail(400, msgNoAccessRights), nil
	}
	if err := s.prepareForSave(ctx, sess, true, false); err != nil {
		return fail(400, "Failed to create key - "+err.Error()), nil
	}
	// A freshly minted ID has no quota counters to reset: one write, not two.
	return s.storeAs(ctx, keyID, false, sess, "added", false)
}

// importKey is POST /tyk/keys[/{name}]: the caller chooses the key (or gets
// a generated one); an existing key of that name is replaced.
func (s *Server) importKey(ctx context.Context, name string) (reply, error) {
	sess, okBody := decodeSession(ctx)
	if !okBody {
		return fail(400, msgMalformed), nil
	}
	if err := validKeyOrg(sess.OrgID); err != nil {
		return fail(400, "Invalid org id: "+err.Error()), nil
	}
	now := s.Now()
	keyID := s.Keys.NewKeyID(sess.OrgID, name)
	hashed := query(ctx, "hashed") != ""
	if hashed && name != "" {
		keyID = name
	}
	sess.DateCreated = now
	if sess.Expires > 1 && sess.Expires < now.Unix() {
		sess.Expires = 0
	}
	if err := s.hashPassword(sess, ""); err != nil {
		return reply{}, err
	}
	suppress := query(ctx, "suppress_reset") == "1"
	if !suppress {
		sess.Touch(now)
	}
	if err := policy.Apply(sess, s.Policies.Lookup(), policy.OrgCheck{}); err != nil {
		return fail(400, msgCreateFailed), nil
	}
	if err := s.prepareForSave(ctx, sess, true, suppress); err != nil {
		return fail(400, msgCreateFailed), nil
	}
	if len(sess.AccessRights) == 0 && !s.Settings.AllowMasterKeys {
		return fail(400, msgCreateFailed), nil
	}
	return s.storeAs(ctx, keyID, hashed, sess, "added", !suppress)
}

// validKeyOrg checks the org_id of a new key by the rule the org key
// operations apply to org IDs: the org_id starts the key ID, so control
// bytes or a huge org_id would make a key no client can present, or one the
// embedded store cannot hold (bolt keys end at 32 KiB). No org is fine.
func validKeyOrg(org string) error {
	if org == "" {
		return nil
	}
	return filestore.ValidID(org)
}

// prepareForSave runs the per-API steps of a key write: trial expiry from
// policies, quota renewal and policies checked against each API's org.
func (s *Server) prepareForSave(ctx context.Context, sess *session.State, isNew, suppressReset bool) error {
	now := s.Now()
	for apiID := range sess.AccessRights {
		api, loaded := s.APIs.Get(apiID)
		if !loaded {
			continue
		}
		if isNew {
			for _, pid := range sess.PolicyIDs() {
				if p, ok := s.Policies.Get(pid); ok && p.KeyExpiresIn > 0 {
					sess.Expires = now.Unix() + p.KeyExpiresIn
				}
			}
		}
		if !suppressReset && !api.Def.DontSetQuotaOnCreate && sess.QuotaRenewalRate > 0 {
			sess.QuotaRenews = now.Unix() + sess.QuotaRenewalRate
		}
		if err := policy.Apply(sess, s.Policies.Lookup(), policy.OrgCheck{Enabled: true, OrgID: api.Def.OrgID}); err != nil {
			return err
		}
	}
	return nil
}

// storeAs saves under keyID (or, when hashed, under that hash as given),
// resetting quota counters unless told not to.
func (s *Server) storeAs(ctx context.Context, keyID string, hashed bool, sess *session.State, action string, resetQuota bool) (reply, error) {
	stored := keyID
	if !hashed {
		stored = s.Keys.StoredName(keyID)
	}
	if resetQuota {
		if err := s.Keys.ResetQuota(ctx, stored, sess); err != nil {
			return reply{}, err
		}
	}
	if err := s.Keys.Save(ctx, stored, sess, s.lifetime(sess)); err != nil {
		return reply{}, err
	}
	hash := ""
	if s.Settings.HashKeys {
		hash = stored
		if sess.BasicAuthData.Password != "" {
			keyID = ""
		}
	}
	return modified(keyID, action, hash), nil
}

// PreviewKey shows a session with its policies applied; nothing is stored.
func (s *Server) PreviewKey(ctx context.Context, _ gen.PreviewKeyRequestObject) (gen.PreviewKeyResponseObject, error) {
	sess, okBody := decodeSession(ctx)
	if !okBody {
		return fail(400, msgUnmarshal), nil
	}
	now := s.Now()
	sess.Touch(now)
	sess.DateCreated = now
	_ = policy.Apply(sess, s.Policies.Lookup(), policy.OrgCheck{}) // errors are ignored, as in Tyk
	return ok(sess), nil
}

// lookupScope is the org a control-API lookup is scoped to: org_id, or the
// org of the API named by api_id.
func (s *Server) lookupScope(ctx context.Context, useAPI bool) (string, *policy.OrgCheck) {
	org := query(ctx, "org_id")
	if !useAPI {
		return org, nil
	}
	if apiID := query(ctx, "api_id"); apiID != "" {
		if api, loaded := s.APIs.Get(apiID); loaded {
			return api.Def.OrgID, &policy.OrgCheck{Enabled: true, OrgID: api.Def.OrgID}
		}
	}
	return org, nil
}

// GetKey returns a key with its policies applied and live quota figures.
func (s *Server) GetKey(ctx context.Context, req gen.GetKeyRequestObject) (gen.GetKeyResponseObject, error) {
	hashed := req.Params.Hashed != nil && *req.Params.Hashed
	if hashed && !s.Settings.HashKeys {
		return fail(400, "Key requested by hash but key hashing is not enabled"), nil
	}
	org, check := s.lookupScope(ctx, true)
	found, err := s.Keys.Lookup(ctx, org, req.KeyID, hashed)
	if errors.Is(err, keys.ErrNotFound) {
		return fail(404, "Key not found"), nil
	}
	if err != nil {
		return nil, err
	}
	sess := found.Session
	oc := policy.OrgCheck{}
	if check != nil {
		oc = *check
	}
	_ = policy.Apply(sess, s.Policies.Lookup(), oc)
	if err := s.Keys.FillQuotaRemaining(ctx, found.Stored, sess); err != nil {
		return nil, err
	}
	sess.BasicAuthData.Password = ""
	return ok(sess), nil
}

// UpdateKey replaces a key's session (date_created is kept).
func (s *Server) UpdateKey(ctx context.Context, req gen.UpdateKeyRequestObject) (gen.UpdateKeyResponseObject, error) {
	sess, okBody := decodeSession(ctx)
	if !okBody {
		return fail(400, msgMalformed), nil
	}
	hashed := req.Params.Hashed != nil && *req.Params.Hashed
	found, err := s.Keys.Lookup(ctx, sess.OrgID, req.KeyID, hashed)
	if errors.Is(err, keys.ErrNotFound) {
		return fail(404, "Key is not found"), nil
	}
	if err != nil {
		return nil, err
	}
	old := found.Session
	now := s.Now()
	suppress := req.Params.SuppressReset != nil && *req.Params.SuppressReset == "1"
	sess.DateCreated = old.DateCreated
	if suppress {
		sess.QuotaRenews, sess.LastUpdated = old.QuotaRenews, old.LastUpdated
		for apiID, ar := range sess.AccessRights {
			if prev, ok := old.AccessRights[apiID]; ok {
				ar.Limit.QuotaRenews = prev.Limit.QuotaRenews
				sess.AccessRights[apiID] = ar
			}
		}
	} else {
		sess.Touch(now)
		if sess.QuotaRenewalRate > 0 {
			sess.QuotaRenews = now.Unix() + sess.QuotaRenewalRate
		}
	}
	if err := s.hashPassword(sess, old.BasicAuthData.Password); err != nil {
		return nil, err
	}
	if err := s.prepareForSave(ctx, sess, false, suppress); err != nil {
		return fail(400, msgCreateFailed), nil
	}
	if !suppress {
		if err := s.Keys.ResetQuota(ctx, found.Stored, old); err != nil {
			return nil, err
		}
	}
	if err := s.Keys.Save(ctx, found.Stored, sess, s.lifetime(sess)); err != nil {
		return nil, err
	}
	return modified(s.displayID(req.KeyID, found.Stored), "modified", ""), nil
}

// displayID is the key named in replies: the stored ID, unless keys are
// hashed (then the name the client used).
func (s *Server) displayID(name, stored string) string {
	if s.Settings.HashKeys {
		return name
	}
	return stored
}

// DeleteKey removes a key and its quota counters.
func (s *Server) DeleteKey(ctx context.Context, req gen.DeleteKeyRequestObject) (gen.DeleteKeyResponseObject, error) {
	hashed := req.Params.Hashed != nil && *req.Params.Hashed
	org, _ := s.lookupScope(ctx, false)
	found, err := s.Keys.Lookup(ctx, org, req.KeyID, hashed)
	if errors.Is(err, keys.ErrNotFound) {
		return fail(404, "There is no such key found"), nil
	}
	if err != nil {
		return nil, err
	}
	if err := s.Keys.ResetQuota(ctx, found.Stored, found.Session); err != nil {
		return nil, err
	}
	n, err := s.Keys.Delete(ctx, found.Stored)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return fail(400, "Failed to remove the key"), nil
	}
	return modified(s.displayID(req.KeyID, found.Stored), "deleted", ""), nil
}

// SetKeyPolicies sets the policies of a key found by its hash.
func (s *Server) SetKeyPolicies(ctx context.Context, req gen.SetKeyPoliciesRequestObject) (gen.SetKeyPoliciesResponseObject, error) {
	if req.Body == nil {
		return fail(400, msgBadInstruct), nil
	}
	var ids []string
	if req.Body.ApplyPolicies != nil {
		ids = append(ids, *req.Body.ApplyPolicies...)
	}
	if req.Body.Policy != nil && *req.Body.Policy != "" {
		ids = append(ids, *req.Body.Policy)
	}
	found, err := s.Keys.Lookup(ctx, "", req.KeyID, true)
	if errors.Is(err, keys.ErrNotFound) {
		return fail(404, "Key not found"), nil
	}
	if err != nil {
		return nil, err
	}
	sess := found.Session
	sess.ApplyPolicies, sess.ApplyPolicyID = ids, ""
	sess.Touch(s.Now())
	if err := s.Keys.Save(ctx, found.Stored, sess, 0); err != nil {
		s.Log.Error("writing key", "error", err)
		return fail(500, "Could not write key data"), nil
	}
	return modified(req.KeyID, "updated", ""), nil
}

// hashPassword hashes a basic-auth password before it is stored, unless it
// is unchanged from the stored hash.
func (s *Server) hashPassword(sess *session.State, storedHash string) error {
	pw := sess.BasicAuthData.Password
	if pw == "" {
		sess.BasicAuthData.Password = storedHash
		return nil
	}
	if pw == storedHash {
		return nil
	}
	switch algo := s.Settings.BasicAuthHashFunction; algo {
	case session.Murmur32, session.Murmur64, session.Murmur128, session.SHA256:
		sess.BasicAuthData.Password = session.HashWith(algo, pw)
		sess.BasicAuthData.Hash = algo
	default:
		h, err := bcrypt.GenerateFromPassword([]byte(pw), 10)
		if err != nil {
			return err
		}
		sess.BasicAuthData.Password = string(h)
		sess.BasicAuthData.Hash = "bcrypt"
	}
	return nil
}

// lifetime is how long the store keeps a key written through the control
// API: the largest lifetime over the APIs the key may use.
func (s *Server) lifetime(sess *session.State) time.Duration {
	var apis []keys.APILifetime
	for apiID := range sess.AccessRights {
		if api, ok := s.APIs.Get(apiID); ok {
			apis = append(apis, keys.APILifetime{Seconds: api.Def.SessionLifetime, RespectExpiry: api.Def.RespectKeyExpiration})
		}
	}
	rules := keys.LifetimeRules{
		GlobalSeconds: s.Settings.GlobalSessionLifetime, Force: s.Settings.ForceGlobalLifetime,
		RespectExpiry: s.Settings.LifetimeRespectsExpiry,
	}
	return rules.For(sess, apis, s.Now())
}
