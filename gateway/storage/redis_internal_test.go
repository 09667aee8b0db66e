package storage

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestRedisOptionsModes(t *testing.T) {
	cases := []struct {
		name  string
		opts  Options
		mode  redisMode
		addrs []string
	}{
		{"defaults", Options{}, modeSingle, []string{"localhost:6379"}},
		{"host only", Options{Host: "redis.local"}, modeSingle, []string{"redis.local:6379"}},
		{"host port", Options{Host: "10.0.0.1", Port: 6380}, modeSingle, []string{"10.0.0.1:6380"}},
		{"ipv6", Options{Host: "::1", Port: 6380}, modeSingle, []string{"[::1]:6380"}},
		// Without enable_cluster, a list is not a cluster: first entry only.
		{"addrs single", Options{Addrs: []string{"a:1", "b:2"}}, modeSingle, []string{"a:1"}},
		{"cluster addrs", Options{Addrs: []string{"a:1", "b:2"}, EnableCluster: true}, modeCluster, []string{"a:1", "b:2"}},
		{"cluster one seed", Options{Host: "c", Port: 7000, EnableCluster: true}, modeCluster, []string{"c:7000"}},
		{"sentinel", Options{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "m"}, modeSentinel, []string{"s1:26379", "s2:26379"}},
		{"sentinel wins over cluster", Options{Addrs: []string{"s1:26379"}, MasterName: "m", EnableCluster: true}, modeSentinel, []string{"s1:26379"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			uo, mode, err := redisOptions(c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if mode != c.mode || !slices.Equal(uo.Addrs, c.addrs) {
				t.Fatalf("mode %s addrs %q, want %s %q", mode, uo.Addrs, c.mode, c.addrs)
			}
			if uo.IsClusterMode != (mode == modeCluster) {
				t.Fatalf("IsClusterMode = %v", uo.IsClusterMode)
			}
			// The client go-redis builds must match the mode we chose.
			cl := redis.NewUniversalClient(uo)
			defer cl.Close()
			_, isCluster := cl.(*redis.ClusterClient)
			if isCluster != (mode == modeCluster) {
				t.Fatalf("go-redis built %T for mode %s", cl, mode)
			}
		})
	}
}

func TestRedisOptionsFields(t *testing.T) {
	uo, _, err := redisOptions(Options{
		Username: "u", Password: "p", SentinelPassword: "sp", MasterName: "m",
		Database: 4, MaxActive: 50, MaxIdle: 80, Timeout: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	if uo.Username != "u" || uo.Password != "p" || uo.SentinelPassword != "sp" || uo.DB != 4 {
		t.Fatalf("credentials/db not mapped: %+v", uo)
	}
	if uo.PoolSize != 50 || uo.MaxIdleConns != 50 || uo.MinIdleConns != 0 {
		t.Fatalf("pool = %d idle max %d min %d", uo.PoolSize, uo.MaxIdleConns, uo.MinIdleConns)
	}
	if uo.DialTimeout != 3*time.Second || uo.ReadTimeout != 3*time.Second || uo.WriteTimeout != 3*time.Second {
		t.Fatalf("timeouts %v %v %v", uo.DialTimeout, uo.ReadTimeout, uo.WriteTimeout)
	}
	if uo.TLSConfig != nil {
		t.Fatal("TLS without use_ssl")
	}

	uo, _, _ = redisOptions(Options{})
	if uo.PoolSize != defaultRedisPoolSize || uo.DialTimeout != defaultRedisTimeout {
		t.Fatalf("defaults: pool %d timeout %v", uo.PoolSize, uo.DialTimeout)
	}

	if _, _, err := redisOptions(Options{EnableCluster: true, Database: 1}); err == nil || !strings.Contains(err.Error(), "storage.database") {
		t.Fatalf("cluster with database: %v", err)
	}
}

func TestRedisOptionsTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	uo, _, err := redisOptions(Options{
		UseSSL: true, SSLInsecureSkipVerify: true,
		CAFile: certFile, CertFile: certFile, KeyFile: keyFile,
		TLSMinVersion: "1.2", TLSMaxVersion: "1.3",
	})
	if err != nil {
		t.Fatal(err)
	}
	tc := uo.TLSConfig
	if tc == nil || !tc.InsecureSkipVerify || tc.RootCAs == nil || len(tc.Certificates) != 1 ||
		tc.MinVersion != tls.VersionTLS12 || tc.MaxVersion != tls.VersionTLS13 {
		t.Fatalf("TLS config not mapped: %+v", tc)
	}

	if _, _, err := redisOptions(Options{UseSSL: true, CAFile: filepath.Join(dir, "missing.pem")}); err == nil || !strings.Contains(err.Error(), "storage.ca_file") {
		t.Fatalf("missing CA: %v", err)
	}
	if _, _, err := redisOptions(Options{UseSSL: true, CAFile: keyFile}); err == nil || !strings.Contains(err.Error(), "storage.ca_file") {
		t.Fatalf("CA without certificate: %v", err)
	}
	if _, _, err := redisOptions(Options{UseSSL: true, CertFile: keyFile, KeyFile: keyFile}); err == nil || !strings.Contains(err.Error(), "storage.cert_file") {
		t.Fatalf("bad key pair: %v", err)
	}
	// CA files are only read when TLS is on.
	if _, _, err := redisOptions(Options{CAFile: filepath.Join(dir, "missing.pem")}); err != nil {
		t.Fatalf("ca_file without use_ssl: %v", err)
	}
}

func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "redis.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestGlobEscape(t *testing.T) {
	if got := globEscaper.Replace(`a*b?c[d]e\f`); got != `a\*b\?c\[d\]e\\f` {
		t.Fatalf("escaped %q", got)
	}
}
