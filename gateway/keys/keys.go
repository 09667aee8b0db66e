// Package keys stores sessions (keys) and org sessions in a storage.Store
// under Tyk's names: apikey-<id or hash> and orgkey.<org>. It knows how a
// presented key name maps to a stored key (org prefixes, hashing, fallback
// algorithms); policies and quotas are applied by its callers.
package keys

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/gateway/storage"
)

const (
	sessionPrefix = "apikey-"
	orgPrefix     = "orgkey."
	quotaPrefix   = "quota-"
	ratePrefix    = "rate-limit-"
)

// ErrNotFound means no stored key matched.
var ErrNotFound = errors.New("key not found")

// Options are the tyk.conf settings that shape key IDs and storage.
type Options struct {
	HashKeys                    bool
	HashKeyFunction             string
	HashKeyFunctionFallback     []string
	DisableKeyActionsByUsername bool
}

// Store reads and writes sessions.
type Store struct {
	KV  storage.Store
	Opt Options
	// Counters, when set, holds the quota counters (the data plane's
	// counter service, middleware/ratelimit); without it they are plain
	// keys of KV.
	Counters Counters
	// Cache, when set, serves LookupCached; Save and Delete invalidate it.
	Cache *SessionCache
}

// Counters is where quota counters live when they are not plain store
// keys: the control API reads and resets them through it, and it hears of
// org session writes so a cached copy is dropped.
type Counters interface {
	QuotaUsed(ctx context.Context, scope, stored string) (int64, bool, error)
	ResetQuota(ctx context.Context, stored string, scopes []string) error
	ResetOrgQuota(ctx context.Context, orgStored string) error
	OrgChanged(orgID string)
}

// NewKeyID mints a key ID for org, optionally from a custom name.
func (s *Store) NewKeyID(orgID, name string) string {
	return session.GenerateToken(orgID, name, s.Opt.HashKeyFunction)
}

// StoredName is the name a key ID is stored under: the ID itself, or its
// hash when hash_keys is on.
func (s *Store) StoredName(keyID string) string {
	if s.Opt.HashKeys {
		return session.HashKey(keyID)
	}
	return keyID
}

// Found is the result of a lookup: the session and the stored name it was
// found under (the key ID, or its hash).
type Found struct {
	Session *session.State
	Stored  string
}

// Lookup finds a key by the name a client gave. hashed means name is
// already the stored hash. expectedOrg is the org the caller scopes the
// lookup to (the org_id query, or an API's org).
func (s *Store) Lookup(ctx context.Context, expectedOrg, name string, hashed bool) (Found, error) {
	if hashed {
		return s.read(ctx, name)
	}
	if session.OrgOf(name) == expectedOrg && expectedOrg != "" {
		return s.read(ctx, s.StoredName(name))
	}
	var candidates []string
	if !s.Opt.DisableKeyActionsByUsername {
		candidates = append(candidates, s.StoredName(s.NewKeyID(expectedOrg, name)))
	}
	candidates = append(candidates, s.StoredName(name))
	if s.Opt.HashKeys {
		for _, algo := range s.Opt.HashKeyFunctionFallback {
			candidates = append(candidates, session.HashWith(algo, name))
		}
	}
	candidates = dedupe(candidates)
	storageKeys := make([]string, len(candidates))
	for i, c := range candidates {
		storageKeys[i] = sessionPrefix + c
	}
	vals, err := s.KV.GetMulti(ctx, storageKeys)
	if err != nil {
		return Found{}, err
	}
	for i, v := range vals {
		if v != nil {
			sess, err := decode(v)
			if err != nil {
				return Found{}, err
			}
			return Found{Session: sess, Stored: candidates[i]}, nil
		}
	}
	return Found{}, ErrNotFound
}

func (s *Store) read(ctx context.Context, stored string) (Found, error) {
	v, err := s.KV.Get(ctx, sessionPrefix+stored)
	if errors.Is(err, storage.ErrNotFound) {
		return Found{}, ErrNotFound
	}
	if err != nil {
		return Found{}, err
	}
	sess, err := decode(v)
	if err != nil {
		return Found{}, err
	}
	return Found{Session: sess, Stored: stored}, nil
}

func decode(v []byte) (*session.State, error) {
	var sess session.State
	if err := json.Unmarshal(v, &sess); err != nil {
		return nil, errors.New("stored session is corrupt: " + err.Error())
	}
	return &sess, nil
}

// Save writes the session under its stored name with the given lifetime
// (<= 0: kept until deleted).
func (s *Store) Save(ctx context.Context, stored string, sess *session.State, ttl time.Duration) error {
	b, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	err = s.KV.Set(ctx, sessionPrefix+stored, b, ttl)
	s.Cache.invalidate(false, stored)
	return err
}

// Delete removes stored names; it reports how many existed.
func (s *Store) Delete(ctx context.Context, stored ...string) (int, error) {
	ks := make([]string, len(stored))
	for i, n := range stored {
		ks[i] = sessionPrefix + n
	}
	n, err := s.KV.Delete(ctx, ks...)
	s.Cache.invalidate(true, stored...)
	return n, err
}

// List returns the stored names that start with filter.
func (s *Store) List(ctx context.Context, filter string) ([]string, error) {
	names, err := s.KV.Keys(ctx, sessionPrefix+filter)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, strings.TrimPrefix(n, sessionPrefix))
	}
	if filter != "" && !s.Opt.HashKeys {
		// base64-JSON IDs of that org start with the encoding of {"org":"<filter>"
		enc := base64.StdEncoding.EncodeToString([]byte(`{"org":"` + filter + `"`))
		prefix := enc[:len(enc)-2]
		more, err := s.KV.Keys(ctx, sessionPrefix+prefix)
		if err != nil {
			return nil, err
		}
		for _, n := range more {
			out = append(out, strings.TrimPrefix(n, sessionPrefix))
		}
		out = dedupe(out)
	}
	return out, nil
}

// ResetQuota deletes the quota counters (session level and per scope) and
// the rate-limit block marker of a key, so it starts a fresh period.
func (s *Store) ResetQuota(ctx context.Context, stored string, sess *session.State) error {
	if s.Counters != nil {
		var scopes []string
		for _, ar := range sess.AccessRights {
			scopes = append(scopes, ar.AllowanceScope)
		}
		return s.Counters.ResetQuota(ctx, stored, scopes)
	}
	ks := []string{quotaPrefix + stored, ratePrefix + stored + ".BLOCKED"}
	for _, ar := range sess.AccessRights {
		if ar.AllowanceScope != "" {
			ks = append(ks, quotaPrefix+ar.AllowanceScope+"-"+stored)
		}
	}
	_, err := s.KV.Delete(ctx, ks...)
	return err
}

// QuotaUsed returns the quota counter for a scope ("" = session level), and
// whether one exists.
func (s *Store) QuotaUsed(ctx context.Context, scope, stored string) (int64, bool, error) {
	if s.Counters != nil {
		return s.Counters.QuotaUsed(ctx, scope, stored)
	}
	k := quotaPrefix + stored
	if scope != "" {
		k = quotaPrefix + scope + "-" + stored
	}
	v, err := s.KV.Get(ctx, k)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	var n int64
	if err := json.Unmarshal(v, &n); err != nil {
		return 0, false, nil
	}
	return n, true, nil
}

// FillQuotaRemaining sets a session's quota_remaining (and that of its
// per-API limits) from the live quota counters.
func (s *Store) FillQuotaRemaining(ctx context.Context, stored string, sess *session.State) error {
	if sess.QuotaMax != -1 {
		used, exists, err := s.QuotaUsed(ctx, "", stored)
		if err != nil {
			return err
		}
		if exists {
			sess.QuotaRemaining = max(0, sess.QuotaMax-used)
		}
	}
	for apiID, ar := range sess.AccessRights {
		if ar.Limit.IsEmpty() || ar.Limit.QuotaMax == 0 || ar.Limit.QuotaMax == -1 {
			continue
		}
		used, exists, err := s.QuotaUsed(ctx, ar.AllowanceScope, stored)
		if err != nil {
			return err
		}
		if exists {
			ar.Limit.QuotaRemaining = max(0, ar.Limit.QuotaMax-used)
		} else {
			ar.Limit.QuotaRemaining = ar.Limit.QuotaMax
		}
		sess.AccessRights[apiID] = ar
	}
	return nil
}

// Org sessions.

// GetOrg returns the org session.
func (s *Store) GetOrg(ctx context.Context, orgID string) (*session.State, error) {
	v, err := s.KV.Get(ctx, orgPrefix+orgID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return decode(v)
}

// SaveOrg writes the org session (no expiry).
func (s *Store) SaveOrg(ctx context.Context, orgID string, sess *session.State) error {
	b, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	if err := s.KV.Set(ctx, orgPrefix+orgID, b, 0); err != nil {
		return err
	}
	s.orgChanged(orgID)
	return nil
}

func (s *Store) orgChanged(orgID string) {
	if s.Counters != nil {
		s.Counters.OrgChanged(orgID)
	}
}

// DeleteOrg removes the org session; it reports whether it existed.
func (s *Store) DeleteOrg(ctx context.Context, orgID string) (bool, error) {
	n, err := s.KV.Delete(ctx, orgPrefix+orgID)
	s.orgChanged(orgID)
	return n > 0, err
}

// ListOrgs returns org IDs that start with filter.
func (s *Store) ListOrgs(ctx context.Context, filter string) ([]string, error) {
	names, err := s.KV.Keys(ctx, orgPrefix+filter)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.TrimPrefix(n, orgPrefix)
	}
	return out, nil
}

// ResetOrgQuota deletes the org's quota counter.
func (s *Store) ResetOrgQuota(ctx context.Context, orgID string) error {
	if s.Counters != nil {
		return s.Counters.ResetOrgQuota(ctx, s.StoredName(orgID))
	}
	_, err := s.KV.Delete(ctx, quotaPrefix+s.StoredName(orgID))
	return err
}

func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0]
	for _, v := range in {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
