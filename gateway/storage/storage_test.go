package storage_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tollgate/tollgate/gateway/storage"
	"github.com/tollgate/tollgate/gateway/storage/redistest"
	"github.com/tollgate/tollgate/gateway/storage/storagetest"
)

func TestEmbedded(t *testing.T) {
	t.Parallel()
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := storage.OpenEmbedded(storage.EmbeddedOptions{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// openRedis is the opener for one Redis deployment; all subtests share the
// server(s) and keep apart by key prefix.
func openRedis(opts storage.Options) func(t *testing.T) storage.Store {
	opts.Type = storage.TypeRedis
	return func(t *testing.T) storage.Store {
		s, err := storage.Open(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func TestRedis(t *testing.T) {
	t.Parallel()
	addr := redistest.Start(t)
	storagetest.Run(t, openRedis(storage.Options{Addrs: []string{addr}}))
}

func TestRedisHostPort(t *testing.T) {
	t.Parallel()
	addr := redistest.Start(t)
	host, port, _ := strings.Cut(addr, ":")
	p, _ := strconv.Atoi(port)
	s := openRedis(storage.Options{Host: host, Port: p, Database: 3})(t)
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	// Database 3 must really be used: database 0 stays empty.
	other := openRedis(storage.Options{Host: host, Port: p})(t)
	if keys, err := other.Keys(ctx, ""); err != nil || len(keys) != 0 {
		t.Fatalf("database 0 has %q, %v", keys, err)
	}
}

func TestRedisSentinel(t *testing.T) {
	t.Parallel()
	sen := redistest.StartSentinel(t)
	storagetest.Run(t, openRedis(storage.Options{
		Addrs:      []string{sen.Sentinel},
		MasterName: sen.MasterName,
	}))
}

func TestRedisCluster(t *testing.T) {
	t.Parallel()
	addrs := redistest.StartCluster(t, 3)
	storagetest.Run(t, openRedis(storage.Options{Addrs: addrs, EnableCluster: true}))
}

func TestRedisUnreachable(t *testing.T) {
	t.Parallel()
	// Open must not fail when Redis is down (the gateway may start first);
	// Ping must say so, within the configured timeout.
	s, err := storage.Open(context.Background(), storage.Options{Type: "redis", Host: "127.0.0.1", Port: 1, Timeout: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping to a closed port succeeded")
	}
}

func TestOpenSelectsBackend(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, typ := range []string{"", "embedded"} {
		s, err := storage.Open(context.Background(), storage.Options{Type: typ, DataDir: dir})
		if err != nil {
			t.Fatalf("type %q: %v", typ, err)
		}
		if s.Name() != "embedded" {
			t.Fatalf("type %q opened %s", typ, s.Name())
		}
		s.Close()
	}
	s, err := storage.Open(context.Background(), storage.Options{Type: "redis"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "redis" {
		t.Fatalf("type redis opened %s", s.Name())
	}
	s.Close()
	if _, err := storage.Open(context.Background(), storage.Options{Type: "mongo"}); err == nil || !strings.Contains(err.Error(), "storage.type") {
		t.Fatalf("unknown type: %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		opts  storage.Options
		field string // "" = valid
	}{
		{storage.Options{}, ""},
		{storage.Options{Type: "embedded", Port: -1}, ""}, // Redis fields ignored
		{storage.Options{Type: "redis"}, ""},
		{storage.Options{Type: "Redis"}, "storage.type"},
		{storage.Options{Type: "memcached"}, "storage.type"},
		{storage.Options{Type: "redis", Port: 70000}, "storage.port"},
		{storage.Options{Type: "redis", Addrs: []string{"a:1", "nohost"}}, "storage.addrs[1]"},
		{storage.Options{Type: "redis", Database: -1}, "storage.database"},
		{storage.Options{Type: "redis", EnableCluster: true, Database: 2}, "storage.database"},
		{storage.Options{Type: "redis", EnableCluster: true, MasterName: "m", Database: 2}, ""}, // sentinel wins, as in Tyk
		{storage.Options{Type: "redis", MaxIdle: -1}, "storage.optimisation_max_idle"},
		{storage.Options{Type: "redis", MaxActive: -1}, "storage.optimisation_max_active"},
		{storage.Options{Type: "redis", Timeout: -1}, "storage.timeout"},
		{storage.Options{Type: "redis", CertFile: "c.pem"}, "storage.cert_file"},
		{storage.Options{Type: "redis", TLSMinVersion: "1.4"}, "storage.tls_min_version"},
		{storage.Options{Type: "redis", TLSMaxVersion: "TLS1.2"}, "storage.tls_max_version"},
		{storage.Options{Type: "redis", TLSMinVersion: "1.3", TLSMaxVersion: "1.2"}, "storage.tls_min_version"},
		{storage.Options{Type: "redis", TLSMinVersion: "1.2", TLSMaxVersion: "1.3"}, ""},
	}
	for _, c := range cases {
		err := c.opts.Validate()
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%+v: unexpected %v", c.opts, err)
		case c.field != "" && (err == nil || !strings.Contains(err.Error(), c.field)):
			t.Errorf("%+v: got %v, want an error naming %s", c.opts, err, c.field)
		}
	}
}

func TestMain(m *testing.M) {
	// go-redis logs every sentinel lookup and reconnect; in tests that
	// drowns the failures.
	redis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
