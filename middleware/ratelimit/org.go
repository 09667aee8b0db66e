package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/keys"
	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/middleware/chain"
)

// Org refusals, as Tyk words them (all 403, even the rate limit).
const (
	MsgOrgInactive = "this organisation access has been disabled, please contact your API administrator"
	MsgOrgRate     = "This organisation rate limit has been exceeded, please contact your API administrator"
	MsgOrgQuota    = "This organisation quota has been exceeded, please contact your API administrator"
)

var (
	errOrgInactive = chain.Fail(http.StatusForbidden, MsgOrgInactive)
	errOrgRate     = chain.Fail(http.StatusForbidden, MsgOrgRate)
	errOrgQuota    = chain.Fail(http.StatusForbidden, MsgOrgQuota)
)

// OrgMonitor is Tyk's OrganizationMonitor: with enforce_org_quotas, the
// org session (orgkey.<org>) of the API's org can disable the org or
// limit its rate and quota, for every API of the org, keyless ones too.
// It runs before authentication.
//
// The inactive flag is always checked here. The org's rate limit and quota
// are counted here with the in-process counters; with Redis they are
// counted by RateLimitAndQuotaCheck in the same round trip as the key's
// limits (see docs/compatibility.md).
type OrgMonitor struct {
	svc   *Service
	apiID string
	org   orgLimits
	count bool
}

// orgLimits is how one API's requests count against its org.
type orgLimits struct {
	orgID   string
	counter Counter
}

// NewOrgMonitor applies when enforce_org_quotas is on and the API has an
// org.
func NewOrgMonitor(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	svc, ok := env.Limits.(*Service)
	if !ok || svc == nil || !orgEnforced(def, env) {
		return nil, nil
	}
	return &OrgMonitor{svc: svc, apiID: def.APIID, org: newOrgLimits(def, env), count: !svc.oneTrip}, nil
}

func orgEnforced(def *apidef.Definition, env *chain.Env) bool {
	return env.Config != nil && env.Config.EnforceOrgQuotas && def.OrgID != ""
}

func newOrgLimits(def *apidef.Definition, env *chain.Env) orgLimits {
	stored := def.OrgID
	if env.Keys != nil {
		stored = env.Keys.StoredName(def.OrgID) // quota-<org or its hash>
	}
	return orgLimits{orgID: def.OrgID, counter: Counter{ID: stored}}
}

// add appends the org's rate limit (when rate and per are set) and quota
// (when quota_max > 0) to b.
func (o *orgLimits) add(b *batch, org *session.State) {
	if org.Rate > 0 && org.Per > 0 {
		b.add(Check{Kind: KindRate, Counter: o.counter, Rate: org.Rate, Per: org.Per}, errOrgRate)
	}
	if org.QuotaMax > 0 {
		b.add(Check{Kind: KindQuota, Counter: o.counter, Max: org.QuotaMax,
			RenewalRate: clampRenewal(org.QuotaRenewalRate), Renews: org.QuotaRenews}, errOrgQuota)
	}
}

func (*OrgMonitor) Name() string { return "OrganizationMonitor" }

func (o *OrgMonitor) ProcessRequest(_ http.ResponseWriter, r *http.Request, _ *chain.Request) error {
	org, err := o.svc.orgs.get(r.Context(), o.org.orgID)
	if err != nil {
		return o.svc.failure(o.apiID, err)
	}
	if org == nil {
		return nil
	}
	if org.IsInactive {
		return errOrgInactive
	}
	if !o.count {
		return nil
	}
	b := getBatch()
	defer putBatch(b)
	o.org.add(b, org)
	if b.n == 0 {
		return nil
	}
	refused, err := o.svc.Counters.Apply(r.Context(), b.checks[:b.n])
	if err != nil {
		return o.svc.failure(o.apiID, err)
	}
	if refused >= 0 {
		return b.why[refused]
	}
	return nil
}

// orgCache keeps org sessions for a few seconds so that enforcing org
// limits does not read the store on every request. Nothing is cached on
// failure: a failed read is retried by the next request, and until it
// succeeds the last good copy (if any) is used.
type orgCache struct {
	keys *keys.Store
	ttl  time.Duration
	now  func() time.Time
	warn func(msg string, args ...any)

	mu sync.RWMutex
	m  map[string]*orgEntry
}

type orgEntry struct {
	snap       atomic.Pointer[orgSnap]
	refreshing atomic.Bool
}

type orgSnap struct {
	sess *session.State // nil: the org has no session
	at   int64          // Unix ns when read
}

// get returns the org session, nil when there is none.
func (c *orgCache) get(ctx context.Context, orgID string) (*session.State, error) {
	c.mu.RLock()
	e := c.m[orgID]
	c.mu.RUnlock()
	if e == nil {
		c.mu.Lock()
		if e = c.m[orgID]; e == nil {
			e = &orgEntry{}
			c.m[orgID] = e
		}
		c.mu.Unlock()
	}
	now := c.now().UnixNano()
	snap := e.snap.Load()
	if snap != nil && now-snap.at < int64(c.ttl) {
		return snap.sess, nil
	}
	if snap != nil {
		// Stale: one request refreshes, the others use the old copy meanwhile.
		if !e.refreshing.CompareAndSwap(false, true) {
			return snap.sess, nil
		}
		defer e.refreshing.Store(false)
	}
	if c.keys == nil {
		return nil, nil
	}
	sess, err := c.keys.GetOrg(ctx, orgID)
	if errors.Is(err, keys.ErrNotFound) {
		sess, err = nil, nil
	}
	if err != nil {
		if snap != nil {
			c.warn("reading org session failed; using the cached copy", "org_id", orgID, "error", err)
			return snap.sess, nil
		}
		return nil, err
	}
	e.snap.Store(&orgSnap{sess: sess, at: now})
	return sess, nil
}

func (c *orgCache) invalidate(orgID string) {
	c.mu.RLock()
	e := c.m[orgID]
	c.mu.RUnlock()
	if e != nil {
		e.snap.Store(nil)
	}
}
