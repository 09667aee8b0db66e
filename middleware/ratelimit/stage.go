package ratelimit

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/middleware/chain"
)

// Key and API refusals, as Tyk words them. Quota exhaustion is 403, not 429.
const (
	MsgRateLimited    = "Rate Limit Exceeded"
	MsgQuotaExceeded  = "Quota exceeded"
	MsgAPIRateLimited = "API Rate Limit Exceeded"
)

// Refusals are shared: the error writer only reads them.
var (
	errRate    = chain.Fail(http.StatusTooManyRequests, MsgRateLimited)
	errQuota   = chain.Fail(http.StatusForbidden, MsgQuotaExceeded)
	errAPIRate = chain.Fail(http.StatusTooManyRequests, MsgAPIRateLimited)
)

// maxRenewal caps quota_renewal_rate (about 300 years) so that its
// milliseconds stay exact in the Redis script's numbers.
const maxRenewal = 1e10

func clampRenewal(r int64) int64 { return min(r, maxRenewal) }

// maxChecks is the most limits one request meets: the org's rate and
// quota, the key's rate and quota, the API's rate.
const maxChecks = 5

// batch is the checks of one request and the refusal each one gives,
// pooled so that a request allocates nothing for them.
type batch struct {
	checks [maxChecks]Check
	why    [maxChecks]*chain.Error
	n      int
}

func (b *batch) add(c Check, why *chain.Error) int {
	b.checks[b.n], b.why[b.n] = c, why
	b.n++
	return b.n - 1
}

var batches = sync.Pool{New: func() any { return new(batch) }}

func getBatch() *batch { return batches.Get().(*batch) }

func putBatch(b *batch) {
	clear(b.checks[:b.n]) // drop the counter names
	clear(b.why[:b.n])
	b.n = 0
	batches.Put(b)
}

// RateLimitAndQuota is Tyk's RateLimitAndQuotaCheck followed by its
// RateLimitForAPI: the key's rate limit and quota (skipped on ignored
// paths and keyless APIs), then the API's global rate limit (every
// request). With Redis it also counts the org's limits (see OrgMonitor),
// so a request costs one round trip whatever applies.
//
// On success it sets the quota report the proxy sends as X-Ratelimit-*;
// refusals carry no such headers.
type RateLimitAndQuota struct {
	svc          *Service
	name         string
	apiID        string
	keyless      bool
	disableRate  bool
	disableQuota bool
	global       *Check     // the API's global rate limit, when active
	org          *orgLimits // the org's limits, when counted here
}

// NewRateLimitAndQuota builds the stage for every API when the gateway
// has a limit service (keyless APIs need it for their 0/0/0 report).
func NewRateLimitAndQuota(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	svc, ok := env.Limits.(*Service)
	if !ok || svc == nil {
		return nil, nil
	}
	s := &RateLimitAndQuota{svc: svc, name: "RateLimitAndQuotaCheck", apiID: def.APIID, keyless: def.UseKeyless,
		disableRate: def.DisableRateLimit, disableQuota: def.DisableQuota}
	if def.UseKeyless {
		s.name = "RateLimitForAPI"
	}
	if g := def.GlobalRateLimit; !def.DisableRateLimit && !g.Disabled && g.Rate > 0 && g.Per > 0 {
		id := "apilimiter-" + def.OrgID + def.APIID
		if env.Keys != nil {
			id = env.Keys.StoredName(id) // hashed when keys are
		}
		s.global = &Check{Kind: KindRate, Counter: Counter{ID: id}, Rate: g.Rate, Per: g.Per}
	}
	if svc.oneTrip && orgEnforced(def, env) {
		o := newOrgLimits(def, env)
		s.org = &o
	}
	return s, nil
}

func (s *RateLimitAndQuota) Name() string { return s.name }

// limit is the rate limit and quota that apply to a request.
type limit struct {
	rate, per, throttleInterval                  float64
	throttleRetries                              int
	quotaMax, quotaRemaining, quotaRenews, renew int64
}

// applicable picks the access right's own limit when it has one (with its
// allowance scope), else the session level. ok is false when the key's
// access rights do not list the API (Tyk counts that as rate limited).
func (s *RateLimitAndQuota) applicable(sess *session.State) (l limit, scope string, ok bool) {
	l = limit{rate: sess.Rate, per: sess.Per, throttleInterval: sess.ThrottleInterval,
		throttleRetries: sess.ThrottleRetryLimit, quotaMax: sess.QuotaMax,
		quotaRemaining: sess.QuotaRemaining, quotaRenews: sess.QuotaRenews, renew: sess.QuotaRenewalRate}
	if len(sess.AccessRights) == 0 {
		return l, "", true
	}
	ar, found := sess.AccessRights[s.apiID]
	if !found {
		return l, "", false
	}
	if ar.Limit.IsEmpty() {
		return l, "", true
	}
	a := &ar.Limit
	return limit{rate: a.Rate, per: a.Per, throttleInterval: a.ThrottleInterval,
		throttleRetries: a.ThrottleRetryLimit, quotaMax: a.QuotaMax,
		quotaRemaining: a.QuotaRemaining, quotaRenews: a.QuotaRenews, renew: a.QuotaRenewalRate}, ar.AllowanceScope, true
}

func (s *RateLimitAndQuota) ProcessRequest(_ http.ResponseWriter, r *http.Request, req *chain.Request) error {
	if s.keyless && s.global == nil && s.org == nil {
		req.Quota = chain.QuotaReport{Set: true} // nothing to count: 0, 0, 0
		return nil
	}
	ctx := r.Context()
	b := getBatch()
	defer putBatch(b)

	if s.org != nil {
		org, err := s.svc.orgs.get(ctx, s.org.orgID)
		if err != nil {
			return s.svc.failure(s.apiID, err)
		}
		if org != nil {
			if org.IsInactive { // became inactive since OrganizationMonitor looked
				return errOrgInactive
			}
			s.org.add(b, org)
		}
	}

	keyed := !s.keyless && !req.Ignored && req.Session != nil
	var l limit
	var scope string
	rateAt, quotaAt := -1, -1
	if keyed {
		var ok bool
		if l, scope, ok = s.applicable(req.Session); !ok {
			return errRate
		}
		key := Counter{Scope: scope, ID: req.StoredKey}
		if !s.disableRate && l.rate > 0 && l.per > 0 {
			rateAt = b.add(Check{Kind: KindRate, Counter: key, Rate: l.rate, Per: l.per}, errRate)
		}
		if !s.disableQuota && l.quotaMax > 0 {
			quotaAt = b.add(Check{Kind: KindQuota, Counter: key, Max: l.quotaMax,
				RenewalRate: clampRenewal(l.renew), Renews: l.quotaRenews}, errQuota)
		}
	}
	if s.global != nil {
		b.add(*s.global, errAPIRate)
	}

	counted := false
	if b.n > 0 {
		refused, err := s.svc.Counters.Apply(ctx, b.checks[:b.n])
		if err == nil && refused == rateAt && rateAt >= 0 && l.throttleRetries > 0 {
			refused, err = s.throttle(ctx, b, rateAt, l)
		}
		if err != nil {
			if e := s.svc.failure(s.apiID, err); e != nil {
				return e
			}
		} else {
			if refused >= 0 {
				return b.why[refused]
			}
			counted = true
		}
	}

	if !keyed {
		req.Quota = chain.QuotaReport{Set: true} // keyless and ignored: 0, 0, 0
		return nil
	}
	rep := chain.QuotaReport{Limit: l.quotaMax, Remaining: l.quotaRemaining, Reset: l.quotaRenews, Set: true}
	if counted && quotaAt >= 0 {
		c := &b.checks[quotaAt]
		rep.Remaining = max(0, c.Max-c.Used)
		if c.PeriodEnd > 0 {
			rep.Reset = c.PeriodEnd
		}
		if c.NewPeriod {
			if c.PeriodEnd == 0 { // never renews: Tyk records now + 0
				rep.Reset = s.svc.now().Unix() + max(c.RenewalRate, 0)
			}
			recordPeriod(req, scope, rep.Reset, rep.Remaining)
		}
	}
	req.Quota = rep
	return nil
}

// throttle is Tyk's throttling: after a rate-limit refusal, wait
// throttle_interval and look again (without counting), up to
// throttle_retry_limit times; once the rate limit would pass, run the
// checks from the rate limit on for real.
func (s *RateLimitAndQuota) throttle(ctx context.Context, b *batch, at int, l limit) (int, error) {
	wait := time.Duration(l.throttleInterval * float64(time.Second))
	var peek [1]Check
	for range l.throttleRetries {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return at, nil
			case <-t.C:
			}
		}
		peek[0] = b.checks[at]
		peek[0].Peek = true
		refused, err := s.svc.Counters.Apply(ctx, peek[:])
		if err != nil {
			return -1, err
		}
		if refused >= 0 {
			continue
		}
		refused, err = s.svc.Counters.Apply(ctx, b.checks[at:b.n])
		if err != nil {
			return -1, err
		}
		if refused < 0 {
			return -1, nil
		}
		if refused += at; refused != at {
			return refused, nil // the quota or the API limit refused: final
		}
	}
	return at, nil
}

// recordPeriod writes the start of a new quota period into the session
// (Tyk: the period end and what is left, at the session level for the
// empty scope and in every access right of that scope) and asks for it to
// be saved. Only a new period writes the session, not every request. The
// session is copied first: it may be shared with a session cache.
func recordPeriod(req *chain.Request, scope string, renews, remaining int64) {
	sess := req.Session.Clone()
	for id, ar := range sess.AccessRights {
		if ar.Limit.IsEmpty() || ar.AllowanceScope != scope {
			continue
		}
		ar.Limit.QuotaRenews, ar.Limit.QuotaRemaining = renews, remaining
		sess.AccessRights[id] = ar
	}
	if scope == "" {
		sess.QuotaRenews, sess.QuotaRemaining = renews, remaining
	}
	req.Session = sess
	req.SessionChanged = true
}
