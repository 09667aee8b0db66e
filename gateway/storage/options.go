package storage

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
)

// Backend names accepted in Options.Type. An empty type means embedded so that
// a gateway started without any storage section works out of the box.
const (
	TypeEmbedded = "embedded"
	TypeRedis    = "redis"
)

// DefaultDataDir is where the embedded store lives when data_dir is not set;
// relative so that a gateway started from its install folder keeps its data
// next to it.
const DefaultDataDir = "data"

// Options is the "storage" section of the gateway config. JSON names and Go
// field names are Tyk's (StorageOptionsConf), so an existing tyk.conf and the
// TYK_GW_STORAGE_* environment overrides keep working unchanged. DataDir is
// ours: Tyk has no embedded store.
type Options struct {
	// Type selects the backend: "" or "embedded", or "redis".
	Type string `json:"type"`
	// Host and Port address a single Redis node (or the only seed of a cluster
	// or sentinel set) when Addrs is empty.
	Host string `json:"host"`
	Port int    `json:"port"`
	// Addrs lists host:port pairs: cluster seeds, sentinels when MasterName is
	// set, otherwise only the first one is used.
	Addrs []string `json:"addrs"`
	// MasterName switches to sentinel mode; Addrs then name the sentinels.
	MasterName       string `json:"master_name"`
	SentinelPassword string `json:"sentinel_password"`
	Username         string `json:"username"`
	Password         string `json:"password"`
	// Database is the Redis logical database; Redis Cluster only has 0.
	Database int `json:"database"`
	// MaxIdle caps idle pooled connections; MaxActive is the pool size.
	MaxIdle   int `json:"optimisation_max_idle"`
	MaxActive int `json:"optimisation_max_active"`
	// Timeout in seconds for dial, read and write (default 5).
	Timeout       int  `json:"timeout"`
	EnableCluster bool `json:"enable_cluster"`
	UseSSL        bool `json:"use_ssl"`
	// SSLInsecureSkipVerify disables server certificate checks; test setups only.
	SSLInsecureSkipVerify bool   `json:"ssl_insecure_skip_verify"`
	CAFile                string `json:"ca_file"`
	CertFile              string `json:"cert_file"`
	KeyFile               string `json:"key_file"`
	// TLSMinVersion and TLSMaxVersion are "1.0" .. "1.3"; empty = Go default.
	TLSMinVersion string `json:"tls_min_version"`
	TLSMaxVersion string `json:"tls_max_version"`

	// DataDir is the folder of the embedded store (default "data").
	DataDir string `json:"data_dir"`
}

// Open builds the backend selected by opts.Type. For Redis it does not wait
// for the server: like Tyk, the gateway may start before Redis is up, and
// Ping (surfaced by /hello) reports when it is not.
func Open(ctx context.Context, opts Options) (Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	switch opts.Type {
	case TypeRedis:
		return OpenRedis(ctx, opts)
	default:
		dir := opts.DataDir
		if dir == "" {
			dir = DefaultDataDir
		}
		return OpenEmbedded(EmbeddedOptions{Dir: dir})
	}
}

// Validate reports the first config mistake, naming the field as it is
// written in the config file so the operator knows what to fix. Redis-only
// fields are checked only when Redis is selected: a tyk.conf carried over
// with odd leftovers must not stop an embedded gateway.
func (o Options) Validate() error {
	switch o.Type {
	case "", TypeEmbedded:
		return nil
	case TypeRedis:
	default:
		return fmt.Errorf("storage.type: unknown backend %q (want %q or %q)", o.Type, TypeEmbedded, TypeRedis)
	}

	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("storage.port: %d is not a TCP port", o.Port)
	}
	for i, a := range o.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("storage.addrs[%d]: %q is not host:port", i, a)
		}
	}
	if o.Database < 0 {
		return fmt.Errorf("storage.database: must not be negative (got %d)", o.Database)
	}
	if o.EnableCluster && o.MasterName == "" && o.Database != 0 {
		return fmt.Errorf("storage.database: Redis Cluster only has database 0 (got %d with enable_cluster)", o.Database)
	}
	if o.MaxIdle < 0 {
		return fmt.Errorf("storage.optimisation_max_idle: must not be negative (got %d)", o.MaxIdle)
	}
	if o.MaxActive < 0 {
		return fmt.Errorf("storage.optimisation_max_active: must not be negative (got %d)", o.MaxActive)
	}
	if o.Timeout < 0 {
		return fmt.Errorf("storage.timeout: must not be negative (got %d)", o.Timeout)
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return errors.New("storage.cert_file and storage.key_file: set both or neither")
	}
	minV, err := tlsVersion("storage.tls_min_version", o.TLSMinVersion)
	if err != nil {
		return err
	}
	maxV, err := tlsVersion("storage.tls_max_version", o.TLSMaxVersion)
	if err != nil {
		return err
	}
	if minV != 0 && maxV != 0 && minV > maxV {
		return fmt.Errorf("storage.tls_min_version: %s is above tls_max_version %s", o.TLSMinVersion, o.TLSMaxVersion)
	}
	return nil
}

var tlsVersions = map[string]uint16{
	"1.0": tls.VersionTLS10,
	"1.1": tls.VersionTLS11,
	"1.2": tls.VersionTLS12,
	"1.3": tls.VersionTLS13,
}

// tlsVersion maps Tyk's "1.x" strings; 0 means "let crypto/tls decide".
func tlsVersion(field, v string) (uint16, error) {
	if v == "" {
		return 0, nil
	}
	if n, ok := tlsVersions[strings.TrimSpace(v)]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("%s: unknown TLS version %q (want 1.0, 1.1, 1.2 or 1.3)", field, v)
}
