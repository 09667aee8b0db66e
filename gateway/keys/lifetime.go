package keys

import (
	"time"

	"github.com/tollgate/tollgate/gateway/session"
)

// LifetimeRules are the tyk.conf settings that decide how long the store
// keeps a key.
type LifetimeRules struct {
	GlobalSeconds int64 // global_session_lifetime
	Force         bool  // force_global_session_lifetime
	RespectExpiry bool  // session_lifetime_respects_key_expiration
}

// APILifetime is one API's session_lifetime settings.
type APILifetime struct {
	Seconds       int64
	RespectExpiry bool
}

// For returns the lifetime of sess: the global lifetime when forced, else
// the key's own, else the largest of the given APIs'; "respect key
// expiration" stretches it to the key's expiry. 0 means no expiry.
func (lr LifetimeRules) For(sess *session.State, apis []APILifetime, now time.Time) time.Duration {
	var secs int64
	respect := lr.RespectExpiry
	switch {
	case lr.Force:
		secs = lr.GlobalSeconds
	case sess.SessionLifetime > 0:
		secs = sess.SessionLifetime
	default:
		for _, a := range apis {
			secs = max(secs, a.Seconds)
			respect = respect || a.RespectExpiry
		}
	}
	if secs <= 0 {
		return 0
	}
	if respect {
		if sess.Expires <= 0 {
			return 0
		}
		if left := sess.Expires - now.Unix(); left > secs {
			secs = left
		}
	}
	return time.Duration(secs) * time.Second
}
