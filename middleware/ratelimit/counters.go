// Package ratelimit enforces rate limits and quotas: a key's own (or its
// per-API) rate limit and quota, an API's global rate limit and an
// organisation's limits, with Tyk 5.4.0's order, statuses and messages.
//
// The counting is done by a Counters service chosen by store type: in
// process for the embedded store (quota counters are written behind to the
// store so they survive a restart) and in Redis for the Redis store, where a
// single Lua script evaluates every limit of a request in one round trip, so
// any number of gateways sharing the Redis enforce exact limits together.
package ratelimit

import (
	"context"
	"errors"
)

// Kind is what a check counts.
type Kind uint8

const (
	// KindRate is a rate limit: Rate requests per Per seconds, enforced as
	// a GCRA (a token bucket of Rate tokens refilled continuously).
	KindRate Kind = iota + 1
	// KindQuota is a quota: Max requests per renewal period (Tyk's
	// algorithm, semantics reference §5.4).
	KindQuota
)

// Counter names one counter: a key's (Scope is its access right's
// allowance_scope, "" for the session level), an organisation's, or an
// API's global limiter (Scope "apilimiter"). ID is the stored key name
// (the key ID or its hash), the stored org name, or org ID + API ID.
type Counter struct {
	Scope string
	ID    string
}

// Prefixes of the Redis names, as Tyk spells them (semantics reference §5.5).
const (
	QuotaPrefix = "quota-"
	RatePrefix  = "rate-limit-"
	// APILimiterScope is the scope of an API's global rate limiter:
	// rate-limit-apilimiter-<org><api>.
	APILimiterScope = "apilimiter"
)

// Name is the counter's name in the store: quota-[<scope>-]<id> or
// rate-limit-[<scope>-]<id>.
func (c Counter) Name(k Kind) string {
	prefix := QuotaPrefix
	if k == KindRate {
		prefix = RatePrefix
	}
	if c.Scope == "" {
		return prefix + c.ID
	}
	return prefix + c.Scope + "-" + c.ID
}

// Check is one limit to evaluate, and (for quotas) what the evaluation
// found. Callers fill the inputs; Apply fills the results.
type Check struct {
	Kind    Kind
	Counter Counter

	// Rate limit: Rate requests per Per seconds (both > 0). Peek evaluates
	// without recording the request (throttling's dry run).
	Rate, Per float64
	Peek      bool

	// Quota: Max (> 0) requests per RenewalRate seconds (<= 0: the quota
	// never renews). Renews is the period end the session records (Unix
	// seconds); a full counter is restarted once that lies in the past and
	// the counter's own expiry does not match the renewal rate (Tyk's
	// repair for counters without expiry).
	Max, RenewalRate, Renews int64

	// Results of a quota check: the counter after this request, when the
	// current period ends (Unix seconds; 0 when the counter never expires)
	// and whether this request started a new period.
	Used      int64
	PeriodEnd int64
	NewPeriod bool
}

// Counters evaluates limits. Both implementations are safe for concurrent
// use and exact: N concurrent requests against a quota of M let exactly
// min(N, M) through, across every gateway sharing the backend.
type Counters interface {
	// Apply evaluates checks in order and stops at the first one that
	// refuses the request, returning its index, or -1 when every check
	// passed. A refused rate limit records nothing; quotas are counted as
	// they are evaluated (as in Tyk, a refused quota's counter still
	// grows, and checks before the refusing one keep their counts). The
	// Redis implementation makes one round trip for all checks (one per
	// hash slot in a Redis Cluster).
	Apply(ctx context.Context, checks []Check) (refused int, err error)
	// QuotaUsed returns a quota counter's value, and whether it exists
	// (a missing or expired counter means a fresh period).
	QuotaUsed(ctx context.Context, c Counter) (used int64, exists bool, err error)
	// Reset deletes the quota counters and rate-limit state of counters.
	Reset(ctx context.Context, counters ...Counter) error
	// Close releases the implementation's resources (the in-process one
	// writes its quota counters to the store one last time).
	Close() error
}

// ErrBadCheck reports a check whose inputs cannot be evaluated.
var ErrBadCheck = errors.New("ratelimit: invalid check")

func validate(checks []Check) error {
	for i := range checks {
		c := &checks[i]
		switch c.Kind {
		case KindRate:
			if !(c.Rate > 0 && c.Per > 0) {
				return ErrBadCheck
			}
		case KindQuota:
			if c.Max <= 0 {
				return ErrBadCheck
			}
		default:
			return ErrBadCheck
		}
	}
	return nil
}

// gcra returns a rate limit's emission interval and burst window in the
// given unit per second (1e9 for nanoseconds, 1e6 for microseconds): a
// request is let through when, after adding the interval to the bucket's
// theoretical arrival time, that time lies at most window ahead of now.
// With the interval rounded down, rate requests always fit in the window,
// so "3 per 60" lets 3 through at once and then one every 20 s. A rate
// below 1 allows one request per per/rate seconds.
func gcra(rate, per float64, unit float64) (interval, window int64) {
	interval = int64(per * unit / rate)
	if interval < 1 {
		interval = 1
	}
	window = int64(per * unit)
	if window < interval {
		window = interval
	}
	return interval, window
}
