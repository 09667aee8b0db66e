package jsvm

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/tollgate/tollgate/gateway/keys"
	"github.com/tollgate/tollgate/gateway/policy"
	"github.com/tollgate/tollgate/gateway/session"
)

// TykGetKeyData and TykSetKeyData: scripts read and write keys as the key
// REST API does.

var keyNotFound = []byte(`{"status":"error","message":"Key not found"}`)

// orgOf is the org of an API by ID (the calling API's own, or another
// loaded one).
func (a *apiJS) orgOf(apiID string) string {
	if apiID == a.apiID {
		return a.orgID
	}
	if a.env != nil && a.env.APIs != nil {
		if def, ok := a.env.APIs(apiID); ok {
			return def.OrgID
		}
	}
	return ""
}

// getKeyData returns a key's session with its policies applied and the
// quota left from the live counter, as JSON.
func (a *apiJS) getKeyData(ctx context.Context, key, apiID string) []byte {
	if a.env == nil || a.env.Keys == nil {
		return keyNotFound
	}
	found, err := a.env.Keys.Lookup(ctx, a.orgOf(apiID), key, false)
	if err != nil {
		if !errors.Is(err, keys.ErrNotFound) {
			a.log.Error("TykGetKeyData: key lookup failed", "error", err)
		}
		return keyNotFound
	}
	sess := found.Session
	if a.env.Policies != nil {
		_ = policy.Apply(sess, a.env.Policies, policy.OrgCheck{})
	}
	if err := a.env.Keys.FillQuotaRemaining(ctx, found.Stored, sess); err != nil {
		a.log.Error("TykGetKeyData: reading the quota failed", "error", err)
	}
	b, err := json.Marshal(sess)
	if err != nil {
		return keyNotFound
	}
	return b
}

// setKeyData creates or replaces a key. Unless suppressReset is "1" the
// key's quota starts afresh and last_updated moves, as on a key update.
func (a *apiJS) setKeyData(ctx context.Context, key, sessionJSON, suppressReset string) {
	if a.env == nil || a.env.Keys == nil {
		a.log.Error("TykSetKeyData: no key store")
		return
	}
	var sess session.State
	if err := json.Unmarshal([]byte(sessionJSON), &sess); err != nil {
		a.log.Error("TykSetKeyData: session is not JSON", "error", err)
		return
	}
	ks := a.env.Keys
	stored := ks.StoredName(key)
	if found, err := ks.Lookup(ctx, sess.OrgID, key, false); err == nil {
		stored = found.Stored
		if sess.DateCreated.IsZero() {
			sess.DateCreated = found.Session.DateCreated
		}
	}
	now := time.Now()
	if a.env.Now != nil {
		now = a.env.Now()
	}
	if sess.DateCreated.IsZero() {
		sess.DateCreated = now
	}
	if suppressReset != "1" {
		sess.Touch(now)
		if err := ks.ResetQuota(ctx, stored, &sess); err != nil {
			a.log.Error("TykSetKeyData: resetting the quota failed", "error", err)
		}
	}
	cfg := settings(a.env)
	var apis []keys.APILifetime
	for id := range sess.AccessRights {
		if a.env.APIs != nil {
			if def, ok := a.env.APIs(id); ok {
				apis = append(apis, keys.APILifetime{Seconds: def.SessionLifetime, RespectExpiry: def.RespectKeyExpiration})
			}
		}
	}
	rules := keys.LifetimeRules{GlobalSeconds: cfg.GlobalSessionLifetime, Force: cfg.ForceGlobalSessionLifetime,
		RespectExpiry: cfg.SessionLifetimeRespectsKeyExpiration}
	if err := ks.Save(ctx, stored, &sess, rules.For(&sess, apis, now)); err != nil {
		a.log.Error("TykSetKeyData: saving the key failed", "error", err)
	}
}
