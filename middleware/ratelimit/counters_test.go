package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/gateway/storage"
	"github.com/tollgate/tollgate/gateway/storage/redistest"
	"github.com/tollgate/tollgate/middleware/ratelimit"
)

// clock is a settable clock for the counters.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// backend makes counters on a clock. realExpiry says that counters expire
// by the server's clock (Redis), not by the fake one.
type backend struct {
	name       string
	make       func(t *testing.T, c *clock) ratelimit.Counters
	realExpiry bool
}

func backends() []backend {
	return []backend{
		{name: "memory", make: func(t *testing.T, c *clock) ratelimit.Counters {
			m, err := ratelimit.NewMemory(context.Background(), ratelimit.MemoryOptions{Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			return m
		}},
		{name: "redis", realExpiry: true, make: func(t *testing.T, c *clock) ratelimit.Counters {
			return ratelimit.NewRedis(redisClient(t, redistest.Start(t)), ratelimit.RedisOptions{Now: c.Now})
		}},
	}
}

func redisClient(t testing.TB, addr string) *redis.Client {
	cl := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { cl.Close() })
	return cl
}

func onBackends(t *testing.T, fn func(t *testing.T, c ratelimit.Counters, clk *clock, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			clk := newClock()
			fn(t, b.make(t, clk), clk, b)
		})
	}
}

func apply(t *testing.T, c ratelimit.Counters, checks ...ratelimit.Check) (int, []ratelimit.Check) {
	t.Helper()
	refused, err := c.Apply(context.Background(), checks)
	if err != nil {
		t.Fatal(err)
	}
	return refused, checks
}

func rate(id string, r, per float64) ratelimit.Check {
	return ratelimit.Check{Kind: ratelimit.KindRate, Counter: ratelimit.Counter{ID: id}, Rate: r, Per: per}
}

func quota(id string, max, renewal int64) ratelimit.Check {
	return ratelimit.Check{Kind: ratelimit.KindQuota, Counter: ratelimit.Counter{ID: id}, Max: max, RenewalRate: renewal,
		Renews: time.Now().Unix() + renewal}
}

func TestRateLimitLetsRatePerPeriodThrough(t *testing.T) {
	onBackends(t, func(t *testing.T, c ratelimit.Counters, clk *clock, _ backend) {
		for i := range 3 {
			if refused, _ := apply(t, c, rate("k", 3, 60)); refused != -1 {
				t.Fatalf("request %d refused", i+1)
			}
		}
		if refused, _ := apply(t, c, rate("k", 3, 60)); refused != 0 {
			t.Fatal("4th request of 3 per 60 s passed")
		}
		if refused, _ := apply(t, c, rate("other", 3, 60)); refused != -1 {
			t.Fatal("another key shares the bucket")
		}
		clk.Advance(19 * time.Second)
		if refused, _ := apply(t, c, rate("k", 3, 60)); refused != 0 {
			t.Fatal("passed before a token was back")
		}
		clk.Advance(2 * time.Second)
		peek := rate("k", 3, 60)
		peek.Peek = true
		for range 3 { // a peek records nothing
			if refused, _ := apply(t, c, peek); refused != -1 {
				t.Fatal("peek refused once a token was back")
			}
		}
		if refused, _ := apply(t, c, rate("k", 3, 60)); refused != -1 {
			t.Fatal("refused once a token was back")
		}
		if refused, _ := apply(t, c, rate("k", 3, 60)); refused != 0 {
			t.Fatal("a second request passed on one returned token")
		}
	})
}

func TestRateBelowOnePerPeriod(t *testing.T) {
	onBackends(t, func(t *testing.T, c ratelimit.Counters, clk *clock, _ backend) {
		// 0.5 per 1 s: one request every 2 s.
		if refused, _ := apply(t, c, rate("k", 0.5, 1)); refused != -1 {
			t.Fatal("first refused")
		}
		if refused, _ := apply(t, c, rate("k", 0.5, 1)); refused != 0 {
			t.Fatal("second passed at once")
		}
		clk.Advance(2 * time.Second)
		if refused, _ := apply(t, c, rate("k", 0.5, 1)); refused != -1 {
			t.Fatal("refused after 2 s")
		}
	})
}

func TestQuotaCountsAndBlocks(t *testing.T) {
	onBackends(t, func(t *testing.T, c ratelimit.Counters, clk *clock, _ backend) {
		now := clk.Now().Unix()
		refused, got := apply(t, c, quota("k", 2, 3600))
		if refused != -1 || got[0].Used != 1 || !got[0].NewPeriod {
			t.Fatalf("first: refused %d %+v", refused, got[0])
		}
		if end := got[0].PeriodEnd; end < now+3599 || end > now+3601 {
			t.Fatalf("period end %d, want about now+3600 (%d)", end, now+3600)
		}
		refused, got = apply(t, c, quota("k", 2, 3600))
		if refused != -1 || got[0].Used != 2 || got[0].NewPeriod {
			t.Fatalf("second: refused %d %+v", refused, got[0])
		}
		refused, got = apply(t, c, quota("k", 2, 3600))
		if refused != 0 || got[0].Used != 3 {
			t.Fatalf("third: refused %d %+v", refused, got[0])
		}
		used, ok, err := c.QuotaUsed(context.Background(), ratelimit.Counter{ID: "k"})
		if err != nil || !ok || used != 3 {
			t.Fatalf("QuotaUsed = %d %v %v", used, ok, err)
		}
		if _, ok, _ := c.QuotaUsed(context.Background(), ratelimit.Counter{Scope: "api", ID: "k"}); ok {
			t.Fatal("a scoped counter exists untouched")
		}
		if err := c.Reset(context.Background(), ratelimit.Counter{ID: "k"}); err != nil {
			t.Fatal(err)
		}
		if refused, got = apply(t, c, quota("k", 2, 3600)); refused != -1 || got[0].Used != 1 || !got[0].NewPeriod {
			t.Fatalf("after reset: refused %d %+v", refused, got[0])
		}
	})
}

func TestScopesAreSeparateCounters(t *testing.T) {
	onBackends(t, func(t *testing.T, c ratelimit.Counters, _ *clock, _ backend) {
		scoped := quota("k", 1, 60)
		scoped.Counter.Scope = "api1"
		if refused, _ := apply(t, c, scoped); refused != -1 {
			t.Fatal("scoped refused")
		}
		if refused, _ := apply(t, c, quota("k", 1, 60)); refused != -1 {
			t.Fatal("session-level counter shared the scoped one")
		}
		if refused, _ := apply(t, c, scoped); refused != 0 {
			t.Fatal("scoped quota of 1 let two through")
		}
	})
}

func TestRateLimitedRequestUsesNoQuota(t *testing.T) {
	onBackends(t, func(t *testing.T, c ratelimit.Counters, _ *clock, _ backend) {
		for range 2 {
			apply(t, c, rate("k", 2, 60), quota("k", 10, 60))
		}
		refused, _ := apply(t, c, rate("k", 2, 60), quota("k", 10, 60))
		if refused != 0 {
			t.Fatalf("refused = %d, want the rate limit (0)", refused)
		}
		if used, _, _ := c.QuotaUsed(context.Background(), ratelimit.Counter{ID: "k"}); used != 2 {
			t.Fatalf("quota used %d, want 2", used)
		}
	})
}

func TestChecksStopAtTheFirstRefusal(t *testing.T) {
	onBackends(t, func(t *testing.T, c ratelimit.Counters, _ *clock, _ backend) {
		org := quota("org", 1, 60)
		apply(t, c, org)
		refused, _ := apply(t, c, quota("org", 1, 60), quota("key", 5, 60), rate("api", 1, 60))
		if refused != 0 {
			t.Fatalf("refused %d, want the org quota (0)", refused)
		}
		if _, ok, _ := c.QuotaUsed(context.Background(), ratelimit.Counter{ID: "key"}); ok {
			t.Fatal("the key's quota counted after the org refused")
		}
		// Later checks refusing keep the counts of earlier ones, as in Tyk.
		apply(t, c, rate("api2", 1, 60))
		refused, _ = apply(t, c, quota("key", 5, 60), rate("api2", 1, 60))
		if refused != 1 {
			t.Fatalf("refused %d, want the API limit (1)", refused)
		}
		if used, _, _ := c.QuotaUsed(context.Background(), ratelimit.Counter{ID: "key"}); used != 1 {
			t.Fatalf("key quota %d, want 1", used)
		}
	})
}

func TestQuotaRenews(t *testing.T) {
	onBackends(t, func(t *testing.T, c ratelimit.Counters, clk *clock, b backend) {
		apply(t, c, quota("k", 1, 1))
		if refused, _ := apply(t, c, quota("k", 1, 1)); refused != 0 {
			t.Fatal("quota of 1 let two through")
		}
		clk.Advance(1100 * time.Millisecond)
		if b.realExpiry { // Redis expires the counter by its own clock
			deadline := time.Now().Add(5 * time.Second)
			for {
				if _, ok, _ := c.QuotaUsed(context.Background(), ratelimit.Counter{ID: "k"}); !ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("counter did not expire")
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		refused, got := apply(t, c, quota("k", 1, 1))
		if refused != -1 || !got[0].NewPeriod || got[0].Used != 1 {
			t.Fatalf("after the period: refused %d %+v", refused, got[0])
		}
	})
}

// A counter made while the quota never renewed has no expiry; once the
// session's renewal date is past, a full counter starts a new period
// (Tyk's repair), but a counter whose expiry matches the rate is trusted.
func TestFullCounterWithoutExpiryIsRepaired(t *testing.T) {
	onBackends(t, func(t *testing.T, c ratelimit.Counters, clk *clock, _ backend) {
		apply(t, c, quota("k", 1, 0))
		q := quota("k", 1, 3600)
		q.Renews = clk.Now().Unix() - 10
		refused, got := apply(t, c, q)
		if refused != -1 || !got[0].NewPeriod || got[0].Used != 1 {
			t.Fatalf("refused %d %+v", refused, got[0])
		}
		// Now the counter expires with the rate: a stale renewal date in the
		// session does not restart it.
		if refused, _ = apply(t, c, q); refused != 0 {
			t.Fatal("a counter with a proper expiry was restarted")
		}
		// Never renewing: blocked for good.
		apply(t, c, quota("n", 1, 0))
		never := quota("n", 1, 0)
		never.Renews = clk.Now().Unix() - 10
		if refused, _ = apply(t, c, never); refused != 0 {
			t.Fatal("a quota that never renews was restarted")
		}
	})
}

func TestInvalidChecksAreErrors(t *testing.T) {
	onBackends(t, func(t *testing.T, c ratelimit.Counters, _ *clock, _ backend) {
		for _, bad := range []ratelimit.Check{rate("k", 0, 1), rate("k", 1, 0), quota("k", 0, 1), {}} {
			if _, err := c.Apply(context.Background(), []ratelimit.Check{bad}); err == nil {
				t.Fatalf("%+v accepted", bad)
			}
		}
	})
}

// exactly runs n concurrent clients against one quota and returns how
// many requests passed.
func exactly(t *testing.T, c ratelimit.Counters, clients, each int, max int64) int64 {
	t.Helper()
	var passed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				checks := []ratelimit.Check{quota("shared", max, 3600)}
				refused, err := c.Apply(context.Background(), checks)
				if err != nil {
					errs <- err
					return
				}
				if refused < 0 {
					passed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return passed.Load()
}

func TestQuotaIsExactUnderConcurrency(t *testing.T) {
	onBackends(t, func(t *testing.T, c ratelimit.Counters, _ *clock, _ backend) {
		if got := exactly(t, c, 64, 20, 1000); got != 1000 {
			t.Fatalf("%d passed, want exactly 1000", got)
		}
	})
}

func TestRedisLeftoversOfOtherTypesAreStartedOver(t *testing.T) {
	addr := redistest.Start(t)
	cl := redisClient(t, addr)
	ctx := context.Background()
	cl.ZAdd(ctx, "rate-limit-k", redis.Z{Score: 1, Member: "x"}) // a Tyk sliding log
	cl.Set(ctx, "quota-k", "garbage", 0)
	c := ratelimit.NewRedis(cl, ratelimit.RedisOptions{})
	refused, err := c.Apply(ctx, []ratelimit.Check{rate("k", 5, 60), quota("k", 5, 60)})
	if err != nil || refused != -1 {
		t.Fatalf("refused %d, err %v", refused, err)
	}
	if ttl := cl.PTTL(ctx, "quota-k").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("quota counter TTL %v", ttl)
	}
}

func TestRedisCountersUseTykNames(t *testing.T) {
	addr := redistest.Start(t)
	cl := redisClient(t, addr)
	ctx := context.Background()
	c := ratelimit.NewRedis(cl, ratelimit.RedisOptions{})
	scoped := quota("key1", 5, 3600)
	scoped.Counter.Scope = "pol"
	if _, err := c.Apply(ctx, []ratelimit.Check{rate("key1", 5, 60), quota("key1", 5, 3600), scoped}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rate-limit-key1", "quota-key1", "quota-pol-key1"} {
		if cl.Exists(ctx, k).Val() != 1 {
			t.Fatalf("%s missing; keys: %v", k, cl.Keys(ctx, "*").Val())
		}
	}
	if ttl := cl.TTL(ctx, "quota-key1").Val(); ttl < 3590*time.Second || ttl > 3600*time.Second {
		t.Fatalf("quota TTL %v, want about 3600 s", ttl)
	}
	if err := c.Reset(ctx, ratelimit.Counter{ID: "key1"}, ratelimit.Counter{Scope: "pol", ID: "key1"}); err != nil {
		t.Fatal(err)
	}
	if n := cl.Exists(ctx, "rate-limit-key1", "quota-key1", "quota-pol-key1").Val(); n != 0 {
		t.Fatalf("%d counters left after reset", n)
	}
}

func TestRedisClusterSplitsChecksBySlot(t *testing.T) {
	addrs := redistest.StartCluster(t, 3)
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { cl.Close() })
	c := ratelimit.NewRedis(cl, ratelimit.RedisOptions{})
	// Keys on different slots, in one Apply.
	checks := func() []ratelimit.Check {
		return []ratelimit.Check{quota("org1", 3, 60), rate("key-a", 10, 60), quota("key-a", 2, 60), rate("apilimiter-x", 10, 60)}
	}
	for i := range 2 {
		if refused, err := c.Apply(context.Background(), checks()); err != nil || refused != -1 {
			t.Fatalf("request %d: refused %d err %v", i+1, refused, err)
		}
	}
	if refused, err := c.Apply(context.Background(), checks()); err != nil || refused != 2 {
		t.Fatalf("third: refused %d err %v, want the key quota (2)", refused, err)
	}
	if used, _, _ := c.QuotaUsed(context.Background(), ratelimit.Counter{ID: "org1"}); used != 3 {
		t.Fatalf("org counted %d, want 3", used)
	}
}

func TestRedisRecoversAfterARestart(t *testing.T) {
	srv := redistest.StartServer(t)
	c := ratelimit.NewRedis(redisClient(t, srv.Addr), ratelimit.RedisOptions{})
	ctx := context.Background()
	if _, err := c.Apply(ctx, []ratelimit.Check{quota("k", 10, 3600)}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := c.Apply(ctx, []ratelimit.Check{quota("k", 10, 3600)}); err == nil {
		t.Fatal("no error with Redis down")
	}
	srv.Start() // forgets the script: EVALSHA must fall back to EVAL
	var err error
	for range 50 {
		if _, err = c.Apply(ctx, []ratelimit.Check{quota("k", 10, 3600)}); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("still failing after Redis came back: %v", err)
	}
	if used, _, _ := c.QuotaUsed(ctx, ratelimit.Counter{ID: "k"}); used != 2 {
		t.Fatalf("used %d, want 2 (the counter survived the restart)", used)
	}
}

func TestMemoryCountersSurviveARestartOfTheStore(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	open := func() (*storage.Embedded, *ratelimit.Memory) {
		st, err := storage.OpenEmbedded(storage.EmbeddedOptions{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		m, err := ratelimit.NewMemory(ctx, ratelimit.MemoryOptions{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		return st, m
	}
	st, m := open()
	for range 3 {
		if _, err := m.Apply(ctx, []ratelimit.Check{quota("k", 10, 3600), quota("gone", 10, 3600)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Reset(ctx, ratelimit.Counter{ID: "gone"}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if ttl, err := st.TTL(ctx, "quota-k"); err != nil || ttl < 3590*time.Second {
		t.Fatalf("stored counter TTL %v %v", ttl, err)
	}
	st.Close()

	st, m = open()
	defer st.Close()
	defer m.Close()
	if used, ok, _ := m.QuotaUsed(ctx, ratelimit.Counter{ID: "k"}); !ok || used != 3 {
		t.Fatalf("after restart: used %d %v, want 3", used, ok)
	}
	refused, err := m.Apply(ctx, []ratelimit.Check{quota("k", 10, 3600)})
	if err != nil || refused != -1 {
		t.Fatal(refused, err)
	}
	if used, _, _ := m.QuotaUsed(ctx, ratelimit.Counter{ID: "k"}); used != 4 {
		t.Fatalf("used %d, want 4", used)
	}
	if _, ok, _ := m.QuotaUsed(ctx, ratelimit.Counter{ID: "gone"}); ok {
		t.Fatal("a reset counter came back")
	}
}
