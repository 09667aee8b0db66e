package dataplane

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/tollgate/tollgate/gateway/keys"
	"github.com/tollgate/tollgate/middleware/chain"
)

// SessionWriter writes back sessions that stages changed, with the
// lifetime of the API the request was for.
type SessionWriter struct {
	Keys  *keys.Store
	Rules keys.LifetimeRules
	Log   *slog.Logger
	Now   func() time.Time
}

// SaveSession implements chain.SessionSaver.
func (sw *SessionWriter) SaveSession(r *http.Request, req *chain.Request) {
	if req.Session == nil || req.StoredKey == "" {
		return
	}
	def := &req.API.Def
	ttl := sw.Rules.For(req.Session, []keys.APILifetime{{Seconds: def.SessionLifetime, RespectExpiry: def.RespectKeyExpiration}}, sw.Now())
	if err := sw.Keys.Save(r.Context(), req.StoredKey, req.Session, ttl); err != nil {
		sw.Log.Error("writing back session", "api_id", def.APIID, "error", err)
	}
}
