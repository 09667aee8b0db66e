package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// limitScript evaluates the limits of one request in order and stops at
// the first refusal, atomically: concurrent gateways never both take the
// last unit of a quota.
//
// ARGV[1] is now in microseconds (0: the Redis server's clock, so gateways
// with skewed clocks still agree). Check i uses KEYS[i] and
// ARGV[2+4(i-1)] .. ARGV[5+4(i-1)]:
//
//	rate:  'r' (or 'p': evaluate without recording), interval µs, window µs, unused
//	quota: 'q', max, renewal rate s, renews (Unix s, from the session)
//
// The reply is {refused check (1-based; 0 = none), then three numbers per
// evaluated check}: rate: µs until a request would pass (when refused),
// 0, 0; quota: the counter, the period end in Unix ms (0 = never), 1 when
// this request started a new period.
//
// A key left with another type (a Tyk sliding-log sorted set under
// rate-limit-..., a non-integer quota) is started over rather than failing
// every request.
var limitScript = redis.NewScript(`
local now = tonumber(ARGV[1])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local nowms = math.floor(now / 1000)
local out = {0}
for i = 1, #KEYS do
  local key = KEYS[i]
  local j = 2 + (i - 1) * 4
  local kind = ARGV[j]
  if kind == 'q' then
    local max = tonumber(ARGV[j + 1])
    local rate = tonumber(ARGV[j + 2])
    local renews = tonumber(ARGV[j + 3])
    local n = redis.pcall('INCR', key)
    if type(n) == 'table' then
      redis.call('DEL', key)
      n = redis.call('INCR', key)
    end
    local fresh = 0
    if n == 1 then
      fresh = 1
      if rate > 0 then redis.call('PEXPIRE', key, rate * 1000) end
    end
    local pttl = redis.call('PTTL', key)
    if n > max then
      if rate > 0 and now >= renews * 1000000 and (pttl < 0 or pttl > rate * 1000) then
        redis.call('SET', key, 1, 'PX', rate * 1000)
        n = 1
        fresh = 1
        pttl = rate * 1000
      else
        local ends = 0
        if pttl > 0 then ends = nowms + pttl end
        out[1] = i
        out[#out + 1] = n
        out[#out + 1] = ends
        out[#out + 1] = 0
        return out
      end
    end
    local ends = 0
    if pttl > 0 then ends = nowms + pttl end
    out[#out + 1] = n
    out[#out + 1] = ends
    out[#out + 1] = fresh
  else
    local interval = tonumber(ARGV[j + 1])
    local window = tonumber(ARGV[j + 2])
    local tat = redis.pcall('GET', key)
    if type(tat) == 'table' then tat = false end
    tat = tonumber(tat) or 0
    if tat < now then tat = now end
    local nxt = tat + interval
    if nxt - now > window then
      out[1] = i
      out[#out + 1] = nxt - window - now
      out[#out + 1] = 0
      out[#out + 1] = 0
      return out
    end
    if kind == 'r' then
      redis.call('SET', key, string.format('%.0f', nxt), 'PX', math.ceil((nxt - now) / 1000))
    end
    out[#out + 1] = 0
    out[#out + 1] = 0
    out[#out + 1] = 0
  end
end
return out
`)

// RedisOptions configure the Redis counters.
type RedisOptions struct {
	// Now, when set, replaces the Redis server's clock (tests).
	Now func() time.Time
}

// Redis is the Counters on Redis: every gateway sharing the Redis shares
// the counters, under Tyk's key names (quota-..., rate-limit-...).
type Redis struct {
	client  redis.UniversalClient
	cluster bool
	now     func() time.Time
}

// NewRedis returns counters on client. Nothing is sent until the first
// check; the script is loaded on first use (and again after a Redis
// restart forgot it).
func NewRedis(client redis.UniversalClient, opts RedisOptions) *Redis {
	_, cluster := client.(*redis.ClusterClient)
	return &Redis{client: client, cluster: cluster, now: opts.Now}
}

// Apply implements Counters.
func (r *Redis) Apply(ctx context.Context, checks []Check) (int, error) {
	if err := validate(checks); err != nil {
		return -1, err
	}
	if len(checks) == 0 {
		return -1, nil
	}
	var now int64
	if r.now != nil {
		now = r.now().UnixMicro()
	}
	if !r.cluster {
		return r.run(ctx, checks, 0, now)
	}
	// A script may only touch keys of one hash slot: run each stretch of
	// checks on the same slot as one call.
	for start := 0; start < len(checks); {
		end := start + 1
		slot := hashSlot(checks[start].Counter.Name(checks[start].Kind))
		for end < len(checks) && hashSlot(checks[end].Counter.Name(checks[end].Kind)) == slot {
			end++
		}
		refused, err := r.run(ctx, checks[start:end], start, now)
		if err != nil || refused >= 0 {
			return refused, err
		}
		start = end
	}
	return -1, nil
}

// run evaluates checks in one script call; offset is their index in the
// caller's list.
func (r *Redis) run(ctx context.Context, checks []Check, offset int, now int64) (int, error) {
	keys := make([]string, len(checks))
	args := make([]any, 1, 1+4*len(checks))
	args[0] = now
	for i := range checks {
		c := &checks[i]
		keys[i] = c.Counter.Name(c.Kind)
		if c.Kind == KindRate {
			interval, window := gcra(c.Rate, c.Per, 1e6)
			kind := "r"
			if c.Peek {
				kind = "p"
			}
			args = append(args, kind, interval, window, 0)
		} else {
			args = append(args, "q", c.Max, max(c.RenewalRate, 0), c.Renews)
		}
	}
	res, err := limitScript.Run(ctx, r.client, keys, args...).Int64Slice()
	if err != nil {
		return -1, err
	}
	if len(res) < 1 {
		return -1, errors.New("ratelimit: short reply from the limit script")
	}
	refused := int(res[0]) - 1
	for i := range checks {
		base := 1 + 3*i
		if base+2 >= len(res) {
			break
		}
		c := &checks[i]
		if c.Kind == KindQuota {
			c.Used = res[base]
			c.PeriodEnd = res[base+1] / 1000
			c.NewPeriod = res[base+2] == 1
		}
	}
	if refused >= 0 {
		return offset + refused, nil
	}
	return -1, nil
}

// QuotaUsed implements Counters.
func (r *Redis) QuotaUsed(ctx context.Context, c Counter) (int64, bool, error) {
	v, err := r.client.Get(ctx, c.Name(KindQuota)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("ratelimit: quota counter %s is not an integer", c.Name(KindQuota))
	}
	return n, true, nil
}

// Reset implements Counters. It also deletes Tyk's rate-limit sentinel
// (rate-limit-<...>.BLOCKED), as Tyk's quota reset does. The deletes go out
// in one pipeline (per node in a cluster).
func (r *Redis) Reset(ctx context.Context, counters ...Counter) error {
	if len(counters) == 0 {
		return nil
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range counters {
			rate := c.Name(KindRate)
			p.Del(ctx, c.Name(KindQuota))
			p.Del(ctx, rate)
			p.Del(ctx, rate+".BLOCKED")
		}
		return nil
	})
	return err
}

// Close implements Counters; the client belongs to the store.
func (r *Redis) Close() error { return nil }
