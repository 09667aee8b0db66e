package storage

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Tyk's defaults, kept so a tyk.conf without tuning behaves the same.
const (
	defaultRedisHost     = "localhost"
	defaultRedisPort     = 6379
	defaultRedisPoolSize = 500
	defaultRedisTimeout  = 5 * time.Second
	// scanCount is a hint to SCAN: big enough to keep round trips few on
	// large keyspaces, small enough not to block Redis for long.
	scanCount = 1000
)

// Redis is the Store on a Redis server, sentinel set or cluster; use it when
// several gateways must share sessions, quotas and notifications.
type Redis struct {
	client  redis.UniversalClient
	cluster bool

	mu     sync.Mutex
	subs   map[*redis.PubSub]struct{}
	closed bool
}

// redisMode is how the client reaches Redis.
type redisMode int

const (
	modeSingle redisMode = iota
	modeSentinel
	modeCluster
)

func (m redisMode) String() string {
	return [...]string{"single", "sentinel", "cluster"}[m]
}

// OpenRedis builds the client without contacting Redis (see Open).
func OpenRedis(ctx context.Context, opts Options) (*Redis, error) {
	uo, mode, err := redisOptions(opts)
	if err != nil {
		return nil, err
	}
	return &Redis{
		client:  redis.NewUniversalClient(uo),
		cluster: mode == modeCluster,
		subs:    make(map[*redis.PubSub]struct{}),
	}, nil
}

// redisOptions maps the Tyk-style config onto go-redis. The mode is decided
// here rather than left to NewUniversalClient, which would turn any list of
// two addresses into a cluster client; Tyk only does so with enable_cluster.
func redisOptions(o Options) (*redis.UniversalOptions, redisMode, error) {
	o.Type = TypeRedis
	if err := o.Validate(); err != nil {
		return nil, 0, err
	}
	addrs := o.Addrs
	if len(addrs) == 0 {
		host, port := o.Host, o.Port
		if host == "" {
			host = defaultRedisHost
		}
		if port == 0 {
			port = defaultRedisPort
		}
		addrs = []string{net.JoinHostPort(host, strconv.Itoa(port))}
	}

	mode := modeSingle
	switch {
	case o.MasterName != "": // Tyk gives sentinel precedence over cluster
		mode = modeSentinel
	case o.EnableCluster:
		mode = modeCluster
	default:
		addrs = addrs[:1]
	}

	timeout := defaultRedisTimeout
	if o.Timeout > 0 {
		timeout = time.Duration(o.Timeout) * time.Second
	}
	poolSize := defaultRedisPoolSize
	if o.MaxActive > 0 {
		poolSize = o.MaxActive
	}

	uo := &redis.UniversalOptions{
		Addrs:            addrs,
		MasterName:       o.MasterName,
		SentinelPassword: o.SentinelPassword,
		Username:         o.Username,
		Password:         o.Password,
		DialTimeout:      timeout,
		ReadTimeout:      timeout,
		WriteTimeout:     timeout,
		PoolSize:         poolSize,
		// MaxIdle only caps idle connections; using it as MinIdleConns too
		// would dial that many connections up front, which redigo-era Tyk
		// configs (max_idle in the thousands) never meant.
		MaxIdleConns:  min(o.MaxIdle, poolSize),
		IsClusterMode: mode == modeCluster,
		// One quick retry rides out a dropped connection; more would hold
		// every request for seconds when Redis is down, where a fast 503
		// with Retry-After serves clients better.
		MaxRetries:      1,
		MinRetryBackoff: 8 * time.Millisecond,
		MaxRetryBackoff: 64 * time.Millisecond,
	}
	if mode != modeCluster {
		uo.DB = o.Database
	}
	if o.UseSSL {
		tc, err := redisTLS(o)
		if err != nil {
			return nil, 0, err
		}
		uo.TLSConfig = tc
	}
	return uo, mode, nil
}

func redisTLS(o Options) (*tls.Config, error) {
	minV, _ := tlsVersion("", o.TLSMinVersion) // validated already
	maxV, _ := tlsVersion("", o.TLSMaxVersion)
	tc := &tls.Config{
		InsecureSkipVerify: o.SSLInsecureSkipVerify, //nolint:gosec // operator's explicit choice
		MinVersion:         minV,
		MaxVersion:         maxV,
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("storage.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("storage.ca_file: no PEM certificate in %s", o.CAFile)
		}
		tc.RootCAs = pool
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("storage.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Name implements Store.
func (r *Redis) Name() string { return TypeRedis }

// Client exposes the go-redis client for callers that need commands the
// Store interface does not cover (e.g. Tyk-compatible rate limiter scripts).
func (r *Redis) Client() redis.UniversalClient { return r.client }

// Close implements Store; it also ends open subscriptions, whose
// connections the client's Close does not own.
func (r *Redis) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	subs := r.subs
	r.subs = nil
	r.mu.Unlock()
	for ps := range subs {
		ps.Close()
	}
	return r.client.Close()
}

// redisErr maps go-redis errors onto the package's sentinel errors so
// callers can treat both backends alike.
func redisErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return ErrNotFound
	case errors.Is(err, redis.ErrClosed):
		return ErrClosed
	case strings.Contains(err.Error(), "not an integer or out of range"):
		return fmt.Errorf("%w: %v", ErrNotInteger, err)
	}
	return err
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := r.client.Get(ctx, key).Bytes()
	if err != nil {
		return nil, redisErr(err)
	}
	if v == nil {
		v = []byte{} // callers tell "empty" from "missing" by nil
	}
	return v, nil
}

// GetMulti implements Store. Cluster uses a pipeline of GETs because MGET
// must not span hash slots; the pipeline still costs one round trip per node.
func (r *Redis) GetMulti(ctx context.Context, keys []string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	if !r.cluster {
		vals, err := r.client.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, redisErr(err)
		}
		for i, v := range vals {
			if s, ok := v.(string); ok {
				out[i] = []byte(s)
				if out[i] == nil {
					out[i] = []byte{} // present but empty is not missing
				}
			}
		}
		return out, nil
	}
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, redisErr(err)
	}
	for i, c := range cmds {
		v, err := c.Bytes()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return nil, redisErr(err)
		default:
			if v == nil {
				v = []byte{}
			}
			out[i] = v
		}
	}
	return out, nil
}

// Set implements Store. TTLs go out in milliseconds; anything shorter would
// be rounded to "no expiry" by a seconds-based EXPIRE.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return redisErr(r.client.Set(ctx, key, value, redisTTL(ttl)).Err())
}

func redisTTL(ttl time.Duration) time.Duration {
	switch {
	case ttl <= 0:
		return 0
	case ttl < time.Millisecond:
		return time.Millisecond
	}
	return ttl
}

// Delete implements Store. Cluster deletes key by key in a pipeline since a
// multi-key DEL fails with CROSSSLOT.
func (r *Redis) Delete(ctx context.Context, keys ...string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	if !r.cluster {
		n, err := r.client.Del(ctx, keys...).Result()
		return int(n), redisErr(err)
	}
	return pipelinedDel(ctx, r.client, keys)
}

func pipelinedDel(ctx context.Context, c redis.Cmdable, keys []string) (int, error) {
	cmds := make([]*redis.IntCmd, len(keys))
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Del(ctx, k)
		}
		return nil
	})
	if err != nil {
		return 0, redisErr(err)
	}
	var n int
	for _, c := range cmds {
		n += int(c.Val())
	}
	return n, nil
}

// globEscaper makes a literal prefix safe inside a SCAN MATCH pattern:
// without it a prefix such as "a*b" would match "aXb...".
var globEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)

// eachNode runs fn on the single server, or on every cluster master since
// SCAN only sees the keys of the node it runs on.
func (r *Redis) eachNode(ctx context.Context, fn func(ctx context.Context, c redis.Cmdable) error) error {
	if cc, ok := r.client.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return fn(ctx, c) })
	}
	return fn(ctx, r.client)
}

// scanPrefix calls fn with each SCAN page of keys starting with prefix.
func scanPrefix(ctx context.Context, c redis.Cmdable, prefix string, fn func(keys []string) error) error {
	match := globEscaper.Replace(prefix) + "*"
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, match, scanCount).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := fn(keys); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// Keys implements Store. SCAN may return a key twice while Redis rehashes,
// hence the set.
func (r *Redis) Keys(ctx context.Context, prefix string) ([]string, error) {
	var mu sync.Mutex
	seen := make(map[string]struct{})
	err := r.eachNode(ctx, func(ctx context.Context, c redis.Cmdable) error {
		return scanPrefix(ctx, c, prefix, func(keys []string) error {
			mu.Lock()
			defer mu.Unlock()
			for _, k := range keys {
				seen[k] = struct{}{}
			}
			return nil
		})
	})
	if err != nil {
		return nil, redisErr(err)
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	return out, nil
}

// DeletePrefix implements Store. It is not atomic: keys written under the
// prefix while it runs may survive, as with Tyk's own SCAN-based deletes.
func (r *Redis) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	var mu sync.Mutex
	var total int
	err := r.eachNode(ctx, func(ctx context.Context, c redis.Cmdable) error {
		return scanPrefix(ctx, c, prefix, func(keys []string) error {
			var n int
			var err error
			if r.cluster {
				n, err = pipelinedDel(ctx, c, keys) // a page may span slots
			} else {
				var n64 int64
				n64, err = c.Del(ctx, keys...).Result()
				n = int(n64)
			}
			mu.Lock()
			total += n
			mu.Unlock()
			return err
		})
	})
	return total, redisErr(err)
}

// incrScript makes "increment, and set the expiry only if this call created
// the key" one atomic step; INCR then EXPIRE from the client could leave a
// counter without expiry if the gateway died in between.
var incrScript = redis.NewScript(`
local created = redis.call('EXISTS', KEYS[1]) == 0
local v = redis.call('INCR', KEYS[1])
local ttl = tonumber(ARGV[1])
if created and ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return v
`)

// Incr implements Store.
func (r *Redis) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	n, err := incrScript.Run(ctx, r.client, []string{key}, redisTTL(ttl).Milliseconds()).Int64()
	return n, redisErr(err)
}

// TTL implements Store.
func (r *Redis) TTL(ctx context.Context, key string) (time.Duration, error) {
	d, err := r.client.PTTL(ctx, key).Result()
	switch {
	case err != nil:
		return 0, redisErr(err)
	case d == -2:
		return 0, ErrNotFound
	case d == -1:
		return -1, nil
	}
	return d, nil
}

// Publish implements Store. In a cluster it goes to the master owning the
// channel name's slot, the node go-redis subscribes on: any node would
// broadcast it, but successive messages sent via different nodes can
// overtake each other, and notifications must arrive in order.
func (r *Redis) Publish(ctx context.Context, channel string, msg []byte) error {
	var c redis.Cmdable = r.client
	if cc, ok := r.client.(*redis.ClusterClient); ok {
		node, err := cc.MasterForKey(ctx, channel)
		if err != nil {
			return redisErr(err)
		}
		c = node
	}
	return redisErr(c.Publish(ctx, channel, msg).Err())
}

// Subscribe implements Store. It returns once Redis has confirmed the
// subscription, so a message published after Subscribe returns is not
// missed. go-redis re-subscribes by itself after a reconnect.
func (r *Redis) Subscribe(ctx context.Context, channel string, fn func(msg []byte)) (func(), error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	r.mu.Unlock()

	ps := r.client.Subscribe(ctx, channel)
	if _, err := ps.Receive(ctx); err != nil {
		ps.Close()
		return nil, redisErr(err)
	}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		ps.Close()
		return nil, ErrClosed
	}
	r.subs[ps] = struct{}{}
	r.mu.Unlock()

	msgs := ps.Channel()
	go func() {
		for m := range msgs { // closed by ps.Close
			fn([]byte(m.Payload))
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.subs, ps)
			r.mu.Unlock()
			ps.Close()
		})
	}
	return stop, nil
}

// Ping implements Store.
func (r *Redis) Ping(ctx context.Context) error {
	return redisErr(r.client.Ping(ctx).Err())
}
