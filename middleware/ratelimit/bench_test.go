package ratelimit_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/gateway/storage/redistest"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/ratelimit"
)

// benchCounters returns the counters of a backend for benchmarks.
func benchCounters(b *testing.B, name string) (ratelimit.Counters, bool) {
	b.Helper()
	if name == "redis" {
		cl := redis.NewClient(&redis.Options{Addr: redistest.Start(b)})
		b.Cleanup(func() { cl.Close() })
		return ratelimit.NewRedis(cl, ratelimit.RedisOptions{}), true
	}
	m, err := ratelimit.NewMemory(context.Background(), ratelimit.MemoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m, false
}

// BenchmarkRateLimitQuota runs the RateLimitAndQuotaCheck stage for a key
// with a rate limit and a quota that never refuse, and the API's global
// limit: three checks per request. Run with -benchmem for allocations.
func BenchmarkRateLimitQuota(b *testing.B) {
	for _, name := range []string{"memory", "redis"} {
		b.Run(name, func(b *testing.B) {
			c, oneTrip := benchCounters(b, name)
			svc := ratelimit.NewService(c, nil, oneTrip, ratelimit.Options{})
			def := &apidef.Definition{APIID: "keyed", OrgID: "org1", GlobalRateLimit: apidef.GlobalRateLimit{Rate: 1e9, Per: 1}}
			st, err := ratelimit.NewRateLimitAndQuota(def, &chain.Env{Limits: svc})
			if err != nil {
				b.Fatal(err)
			}
			sess := &session.State{Rate: 1e9, Per: 1, QuotaMax: 1 << 50, QuotaRenewalRate: 3600,
				QuotaRenews: 1 << 40, AccessRights: rights("keyed", session.APILimit{}, "")}
			api := &chain.API{Def: *def}
			r := httptest.NewRequest("GET", "/keyed/x", nil)
			w := httptest.NewRecorder()
			req := &chain.Request{API: api, Session: sess, StoredKey: "org1bench"}
			if err := st.ProcessRequest(w, r, req); err != nil { // first request: new period
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				*req = chain.Request{API: api, Session: sess, StoredKey: "org1bench"}
				if err := st.ProcessRequest(w, r, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRateLimitQuotaParallel is the same with concurrent requests,
// each goroutine for its own key.
func BenchmarkRateLimitQuotaParallel(b *testing.B) {
	for _, name := range []string{"memory", "redis"} {
		b.Run(name, func(b *testing.B) {
			c, oneTrip := benchCounters(b, name)
			svc := ratelimit.NewService(c, nil, oneTrip, ratelimit.Options{})
			def := &apidef.Definition{APIID: "keyed", OrgID: "org1"}
			st, _ := ratelimit.NewRateLimitAndQuota(def, &chain.Env{Limits: svc})
			api := &chain.API{Def: *def}
			var ids atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				key := "org1bench" + strconv.FormatInt(ids.Add(1), 10)
				sess := &session.State{Rate: 1e9, Per: 1, QuotaMax: 1 << 50, QuotaRenewalRate: 3600,
					QuotaRenews: 1 << 40, AccessRights: rights("keyed", session.APILimit{}, "")}
				r := httptest.NewRequest("GET", "/keyed/x", nil)
				w := httptest.NewRecorder()
				req := &chain.Request{}
				for pb.Next() {
					*req = chain.Request{API: api, Session: sess, StoredKey: key}
					if err := st.ProcessRequest(w, r, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
