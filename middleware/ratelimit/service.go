package ratelimit

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/gateway/keys"
	"github.com/tollgate/tollgate/gateway/storage"
	"github.com/tollgate/tollgate/middleware/chain"
)

// MsgUnavailable answers a request whose limits could not be evaluated
// because the store failed (Tollgate's own message: Tyk has none).
const MsgUnavailable = "Rate limit and quota store unavailable, please retry"

// Unavailable is the refusal for a store failure on the request path:
// 503 with Retry-After: 1, so clients retry instead of treating the key
// as invalid.
func Unavailable() *chain.Error {
	return &chain.Error{Status: http.StatusServiceUnavailable, Message: MsgUnavailable,
		Header: http.Header{"Retry-After": {"1"}}}
}

// DefaultOrgCacheTTL is how long an org session read from the store is
// used before it is read again.
const DefaultOrgCacheTTL = 3 * time.Second

// Options configure the Service.
type Options struct {
	// FailOpen lets requests through, unlimited, when the counters or the
	// org session cannot be read (rate_limit_fail_open); by default they
	// are answered 503.
	FailOpen bool
	// OrgCacheTTL is how long org sessions are cached; 0 = DefaultOrgCacheTTL.
	OrgCacheTTL time.Duration
	// Now is the clock of the in-process counters and the org cache
	// (tests); nil = time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Service is the gateway's limit machinery: the counters, the org-session
// cache and the failure policy. The gateway puts it in chain.Env.Limits
// for the stages and in keys.Store.Quotas for the control API.
type Service struct {
	Counters Counters
	orgs     *orgCache
	failOpen bool
	log      *slog.Logger
	now      func() time.Time
	// oneTrip moves an org's counting from the OrganizationMonitor stage
	// into the RateLimitAndQuotaCheck stage so that org, key and API
	// limits cost one round trip to Redis together.
	oneTrip bool
	// lastFailLog rate-limits the failure log (Unix ns).
	lastFailLog atomic.Int64
}

// redisBacked is a store that exposes its go-redis client.
type redisBacked interface {
	Client() redis.UniversalClient
}

// New picks the counters for the store: Redis counters on a Redis store,
// in-process counters (written behind to the store) otherwise.
func New(ctx context.Context, store storage.Store, ks *keys.Store, opts Options) (*Service, error) {
	if rb, ok := store.(redisBacked); ok {
		return NewService(NewRedis(rb.Client(), RedisOptions{}), ks, true, opts), nil
	}
	m, err := NewMemory(ctx, MemoryOptions{Store: store, Now: opts.Now, Log: opts.Log})
	if err != nil {
		return nil, err
	}
	return NewService(m, ks, false, opts), nil
}

// NewService wraps counters. oneTrip says whether each round trip to the
// counters costs enough (Redis) that the org limits should be counted in
// the same call as the key's.
func NewService(c Counters, ks *keys.Store, oneTrip bool, opts Options) *Service {
	s := &Service{Counters: c, failOpen: opts.FailOpen, log: opts.Log, now: opts.Now, oneTrip: oneTrip}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	ttl := opts.OrgCacheTTL
	if ttl <= 0 {
		ttl = DefaultOrgCacheTTL
	}
	s.orgs = &orgCache{keys: ks, ttl: ttl, now: s.now, m: map[string]*orgEntry{}, warn: s.warn}
	return s
}

// Close releases the counters.
func (s *Service) Close() error { return s.Counters.Close() }

// failure turns a store error on the request path into the request's
// answer: Unavailable, or nil (carry on unlimited) when failing open. It
// logs at most once a second so an outage does not flood the log.
func (s *Service) failure(apiID string, err error) error {
	s.warn("rate limit and quota store failed", "api_id", apiID, "error", err, "fail_open", s.failOpen)
	if s.failOpen {
		return nil
	}
	return Unavailable()
}

func (s *Service) warn(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := s.lastFailLog.Load()
	if now-last < int64(time.Second) || !s.lastFailLog.CompareAndSwap(last, now) {
		return
	}
	s.log.Error(msg, args...)
}

// The control API's view (keys.Counters): live quota figures and resets
// go to whichever backend holds the counters.

// QuotaUsed returns a key's quota counter for a scope ("" = session level).
func (s *Service) QuotaUsed(ctx context.Context, scope, stored string) (int64, bool, error) {
	return s.Counters.QuotaUsed(ctx, Counter{Scope: scope, ID: stored})
}

// ResetQuota deletes a key's quota counters and rate-limit state, at the
// session level and for each scope.
func (s *Service) ResetQuota(ctx context.Context, stored string, scopes []string) error {
	cs := make([]Counter, 0, 1+len(scopes))
	cs = append(cs, Counter{ID: stored})
	for _, sc := range scopes {
		if sc != "" {
			cs = append(cs, Counter{Scope: sc, ID: stored})
		}
	}
	return s.Counters.Reset(ctx, cs...)
}

// ResetOrgQuota deletes an org's quota counter (and rate-limit state).
func (s *Service) ResetOrgQuota(ctx context.Context, orgStored string) error {
	return s.Counters.Reset(ctx, Counter{ID: orgStored})
}

// OrgChanged drops a cached org session so this node sees a write at
// once (other nodes within the cache TTL).
func (s *Service) OrgChanged(orgID string) { s.orgs.invalidate(orgID) }
