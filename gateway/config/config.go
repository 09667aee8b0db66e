// Package config reads Tollgate's configuration: Tyk Gateway 5.4.0's
// tyk.conf format, so an existing Tyk configuration file can be pointed at
// Tollgate unchanged.
//
// Field names follow Tyk on purpose, both the JSON keys and the Go names:
// Tyk derives its environment overrides from the Go names (TYK_GW_ + the Go
// field path in upper case, joined by "_"), so keeping Tyk's Go names keeps
// every documented TYK_GW_* variable working, typos included
// (SupressDefaultOrgStore, MaxIdleConns for max_idle_connections, ...).
//
// Only the settings Tollgate acts on are declared. Any other key in a file is
// reported by Load as a warning rather than an error, because real Tyk
// configurations carry many settings Tollgate does not implement.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/gateway/storage"
)

// Defaults applied by ApplyDefaults. They are exported so the gateway and its
// tests can refer to them instead of repeating the numbers.
const (
	DefaultListenPort              = 8080
	DefaultAppPath                 = "apps"
	DefaultPolicyPath              = "policies"
	DefaultMiddlewarePath          = "middleware"
	DefaultTemplatePath            = "templates"
	DefaultDataDir                 = storage.DefaultDataDir
	DefaultMinTokenLength          = 3
	DefaultReloadInterval          = 1 // seconds; Tyk also treats anything below 1 as 1
	DefaultHealthCheckEndpointName = "hello"
	DefaultLivenessCheckDuration   = 10 * time.Second
	DefaultProxyTimeout            = 30 // seconds
	DefaultDRLThreshold            = 5
	DefaultJSVMTimeout             = 5   // seconds
	DefaultServerTimeout           = 120 // seconds, read and write
	DefaultControlAPIMaxBodySize   = 4 << 20
)

// Config is the whole of tyk.conf as far as Tollgate understands it.
// Durations are in seconds unless the field says otherwise, as in Tyk.
type Config struct {
	// OriginalPath is the file the configuration was read from ("" when
	// only defaults and the environment were used). Not part of the file.
	OriginalPath string `json:"-"`

	// Listeners.
	HostName           string `json:"hostname"` // serve APIs only for this host
	ListenAddress      string `json:"listen_address"`
	ListenPort         int    `json:"listen_port"`          // 0 = DefaultListenPort
	ControlAPIHostname string `json:"control_api_hostname"` // control API only for this host
	ControlAPIPort     int    `json:"control_api_port"`     // 0 = same listener as the APIs

	// Secrets. Secret is compared with X-Tyk-Authorization; NodeSecret signs
	// cluster notifications. Both may be written as env://NAME in the file.
	Secret     string `json:"secret"`
	NodeSecret string `json:"node_secret"`

	PIDFileLocation      string `json:"pid_file_location"`
	AllowInsecureConfigs bool   `json:"allow_insecure_configs"` // accept unsigned notifications
	PublicKeyPath        string `json:"public_key_path"`

	HttpServerOptions HttpServerOptionsConfig `json:"http_server_options"`

	// Reloads.
	SuppressRedisSignalReload bool  `json:"suppress_redis_signal_reload"`
	ReloadInterval            int64 `json:"reload_interval"` // < 1 = DefaultReloadInterval

	// Keys.
	HashKeys                    bool     `json:"hash_keys"`
	DisableKeyActionsByUsername bool     `json:"disable_key_actions_by_username"`
	HashKeyFunction             string   `json:"hash_key_function"`            // "" = legacy key IDs
	BasicAuthHashKeyFunction    string   `json:"basic_auth_hash_key_function"` // "" = bcrypt
	HashKeyFunctionFallback     []string `json:"hash_key_function_fallback"`
	EnableHashedKeysListing     bool     `json:"enable_hashed_keys_listing"`
	MinTokenLength              int      `json:"min_token_length"` // 0 = DefaultMinTokenLength
	AllowMasterKeys             bool     `json:"allow_master_keys"`

	// Files.
	TemplatePath   string         `json:"template_path"`
	AppPath        string         `json:"app_path"`
	MiddlewarePath string         `json:"middleware_path"`
	Policies       PoliciesConfig `json:"policies"`

	// UseDBAppConfigs means "definitions come from the Dashboard". Tollgate
	// has no Dashboard client, but the control API must still refuse
	// POST/PUT on /tyk/apis when it is set, so the flag is kept.
	UseDBAppConfigs bool `json:"use_db_app_configs"`

	// Storage is the key-value store. Type "" is the embedded store,
	// "redis" is Redis as in Tyk.
	Storage storage.Options `json:"storage"`

	// Rate limiter choice (first enabled wins, see the semantics reference
	// §5.1). In Tyk 5.4 these live in an embedded struct, which is why their
	// environment names have no section prefix; here they are plain fields
	// with the same effect.
	EnableFixedWindowRateLimiter      bool    `json:"enable_fixed_window_rate_limiter"`
	EnableRedisRollingLimiter         bool    `json:"enable_redis_rolling_limiter"`
	EnableSentinelRateLimiter         bool    `json:"enable_sentinel_rate_limiter"`
	EnableRateLimitSmoothing          bool    `json:"enable_rate_limit_smoothing"`
	EnableNonTransactionalRateLimiter bool    `json:"enable_non_transactional_rate_limiter"`
	DRLThreshold                      float64 `json:"drl_threshold"` // 0 = DefaultDRLThreshold

	// Organisations.
	EnforceOrgDataAge bool `json:"enforce_org_data_age"`
	EnforceOrgQuotas  bool `json:"enforce_org_quotas"`
	// SupressDefaultOrgStore keeps Tyk's misspelt Go name so that
	// TYK_GW_SUPRESSDEFAULTORGSTORE works as it does with Tyk.
	SupressDefaultOrgStore bool `json:"suppress_default_org_store"`

	// Client side connections.
	CloseConnections    bool `json:"close_connections"`
	EnableCustomDomains bool `json:"enable_custom_domains"`

	// Upstream side connections. The Go names are Tyk's (MaxIdleConns for
	// max_idle_connections), hence TYK_GW_MAXIDLECONNS.
	MaxIdleConns               int     `json:"max_idle_connections"`
	MaxIdleConnsPerHost        int     `json:"max_idle_connections_per_host"`
	MaxConnTime                int64   `json:"max_conn_time"`
	ProxySSLInsecureSkipVerify bool    `json:"proxy_ssl_insecure_skip_verify"`
	ProxyDefaultTimeout        float64 `json:"proxy_default_timeout"` // 0 = DefaultProxyTimeout
	ProxyCloseConnections      bool    `json:"proxy_close_connections"`

	// Health.
	HealthCheckEndpointName string              `json:"health_check_endpoint_name"`
	LivenessCheck           LivenessCheckConfig `json:"liveness_check"`

	LocalSessionCache LocalSessionCacheConf `json:"local_session_cache"`

	// Plugins.
	EnableBundleDownloader   bool            `json:"enable_bundle_downloader"`
	BundleBaseURL            string          `json:"bundle_base_url"`
	BundleInsecureSkipVerify bool            `json:"bundle_insecure_skip_verify"`
	EnableJSVM               bool            `json:"enable_jsvm"`
	JSVMTimeout              int             `json:"jsvm_timeout"` // 0 = DefaultJSVMTimeout
	TykJSPath                string          `json:"tyk_js_path"`  // extra JS run in every API's runtimes
	DisableVirtualPathBlobs  bool            `json:"disable_virtual_path_blobs"`
	CoProcessOptions         CoProcessConfig `json:"coprocess_options"`

	IgnoreEndpointCase  bool   `json:"ignore_endpoint_case"`
	LogLevel            string `json:"log_level"` // "" = info
	HideGeneratorHeader bool   `json:"hide_generator_header"`

	// IgnoreCanonicalMIMEHeaderKey keeps the case of header names that
	// plugins set instead of canonicalising them.
	IgnoreCanonicalMIMEHeaderKey bool `json:"ignore_canonical_mime_header_key"`

	// Session lifetime (semantics reference §2.10).
	ForceGlobalSessionLifetime           bool  `json:"force_global_session_lifetime"`
	SessionLifetimeRespectsKeyExpiration bool  `json:"session_lifetime_respects_key_expiration"`
	GlobalSessionLifetime                int64 `json:"global_session_lifetime"`

	// OverrideMessages replaces the code and/or message of data-plane
	// errors by message ID, e.g. "auth.key_not_found".
	OverrideMessages map[string]TykError `json:"override_messages"`

	// ---- Tollgate-only settings (not in Tyk) ----
	// They use the same naming scheme, so they can be set with TYK_GW_*
	// variables as well (e.g. TYK_GW_CONTROLAPIMAXBODYSIZE).

	// ControlAPIMaxBodySize caps the request bodies the control API reads,
	// in bytes. Tyk reads them unbounded; a cap keeps a stray upload from
	// exhausting memory. 0 = DefaultControlAPIMaxBodySize.
	ControlAPIMaxBodySize int64 `json:"control_api_max_body_size"`

	// RateLimitFailOpen lets requests through without rate limits and
	// quotas while their counters (or the org session) cannot be read,
	// e.g. while Redis is down. By default such requests are answered 503
	// with Retry-After: 1. Keys still have to be found, so keyed requests
	// answer 503 while the key store is down either way.
	RateLimitFailOpen bool `json:"rate_limit_fail_open"`

	// EnablePprofOn, when set, serves Go's net/http/pprof profiles on
	// this separate listener (host:port, loopback only), for profiling
	// under load. "" = off.
	EnablePprofOn string `json:"enable_pprof_on"`
}

// PoliciesConfig says where policies come from. Tollgate only supports
// file mode (policy_source "" or "file").
type PoliciesConfig struct {
	PolicySource           string `json:"policy_source"`
	PolicyConnectionString string `json:"policy_connection_string"`
	// PolicyRecordName is a single JSON file holding an object ID → policy;
	// it is used only when PolicyPath is empty.
	PolicyRecordName      string `json:"policy_record_name"`
	AllowExplicitPolicyID bool   `json:"allow_explicit_policy_id"`
	// PolicyPath is a directory with one policy per *.json file; the
	// control API's /tyk/policies writes there.
	PolicyPath string `json:"policy_path"`
}

// HttpServerOptionsConfig configures the listeners.
type HttpServerOptionsConfig struct {
	ReadTimeout           int  `json:"read_timeout"`  // 0 = DefaultServerTimeout
	WriteTimeout          int  `json:"write_timeout"` // 0 = DefaultServerTimeout
	UseSSL                bool `json:"use_ssl"`
	EnableHttp2           bool `json:"enable_http2"`
	EnableStrictRoutes    bool `json:"enable_strict_routes"`
	SSLInsecureSkipVerify bool `json:"ssl_insecure_skip_verify"`
	EnableWebSockets      bool `json:"enable_websockets"`

	// Certificates are file pairs (Tyk calls this form deprecated, but it is
	// the one that works without a certificate store). From the
	// environment it is given as a JSON array, as with Tyk.
	Certificates []CertData `json:"certificates"`
	// SSLCertificates are certificate IDs or paths to PEM files holding both
	// the certificate and its key.
	SSLCertificates []string `json:"ssl_certificates"`
	ServerName      string   `json:"server_name"`
	// MinVersion and MaxVersion are Go's tls.VersionTLS1x numbers
	// (769..772), as in Tyk; 0 = Go's default.
	MinVersion uint16   `json:"min_version"`
	MaxVersion uint16   `json:"max_version"`
	Ciphers    []string `json:"ssl_ciphers"`

	// FlushInterval is in MILLISECONDS: Tyk's documentation says seconds,
	// but its proxy multiplies the value by time.Millisecond. 0 = no
	// periodic flushing.
	FlushInterval          int   `json:"flush_interval"`
	SkipURLCleaning        bool  `json:"skip_url_cleaning"`
	SkipTargetPathEscaping bool  `json:"skip_target_path_escaping"`
	MaxRequestBodySize     int64 `json:"max_request_body_size"` // bytes; 0 = unlimited
}

// CertData is one certificate and key pair for the listener.
type CertData struct {
	Name     string `json:"domain_name"`
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
}

// LivenessCheckConfig configures the background probe behind /hello.
type LivenessCheckConfig struct {
	// CheckDuration is a time.Duration, so in the JSON file it is a number of
	// NANOSECONDS (10000000000 = 10s), exactly as in Tyk. From the
	// environment it may also be written as "10s". 0 = 10s.
	CheckDuration time.Duration `json:"check_duration"`
}

// LocalSessionCacheConf configures the short-lived in-memory session cache.
type LocalSessionCacheConf struct {
	DisableCacheSessionState bool `json:"disable_cached_session_state"`
}

// CoProcessConfig configures gRPC plugins.
type CoProcessConfig struct {
	EnableCoProcess     bool   `json:"enable_coprocess"`
	CoProcessGRPCServer string `json:"coprocess_grpc_server"`
	GRPCRecvMaxSize     int    `json:"grpc_recv_max_size"` // bytes; 0 = gRPC's default
	GRPCSendMaxSize     int    `json:"grpc_send_max_size"` // bytes; 0 = gRPC's default
	GRPCAuthority       string `json:"grpc_authority"`

	// CallTimeout bounds one plugin call in seconds, for the grpc and
	// managed drivers (Tollgate-only; Tyk waits forever). 0 = 5 s.
	CallTimeout float64 `json:"call_timeout"`
}

// PluginCallTimeout is the deadline of one plugin call.
func (c CoProcessConfig) PluginCallTimeout() time.Duration {
	if c.CallTimeout <= 0 {
		return 5 * time.Second
	}
	return time.Duration(c.CallTimeout * float64(time.Second))
}

// TykError is one override_messages entry. Zero fields keep the built-in
// value.
type TykError struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
}

// Default returns the configuration used when there is no file and no
// environment: every default applied, and no secret (see EnsureSecret).
func Default() *Config {
	c := &Config{}
	c.ApplyDefaults()
	return c
}

// ApplyDefaults fills every setting whose zero value means "the default".
// Tyk treats most zeros this way at run time (min_token_length 0 → 3,
// proxy_default_timeout 0 → 30, ...); doing it once here means the rest of
// Tollgate reads final values. It is idempotent. It never sets Secret.
func (c *Config) ApplyDefaults() {
	if c.ListenPort == 0 {
		c.ListenPort = DefaultListenPort
	}
	if c.AppPath == "" {
		c.AppPath = DefaultAppPath
	}
	if c.MiddlewarePath == "" {
		c.MiddlewarePath = DefaultMiddlewarePath
	}
	if c.TemplatePath == "" {
		c.TemplatePath = DefaultTemplatePath
	}
	// policy_record_name alone selects the single-file mode, so the default
	// directory must not be filled in over it (policy_path wins when set).
	if c.Policies.PolicyPath == "" && c.Policies.PolicyRecordName == "" && isFilePolicySource(c.Policies.PolicySource) {
		c.Policies.PolicyPath = DefaultPolicyPath
	}
	if c.Storage.DataDir == "" {
		c.Storage.DataDir = DefaultDataDir
	}
	if c.MinTokenLength == 0 {
		c.MinTokenLength = DefaultMinTokenLength
	}
	if c.ReloadInterval < 1 {
		c.ReloadInterval = DefaultReloadInterval
	}
	if c.HealthCheckEndpointName == "" {
		c.HealthCheckEndpointName = DefaultHealthCheckEndpointName
	}
	if c.LivenessCheck.CheckDuration == 0 {
		c.LivenessCheck.CheckDuration = DefaultLivenessCheckDuration
	}
	if c.ProxyDefaultTimeout == 0 {
		c.ProxyDefaultTimeout = DefaultProxyTimeout
	}
	if c.DRLThreshold == 0 {
		c.DRLThreshold = DefaultDRLThreshold
	}
	if c.JSVMTimeout == 0 {
		c.JSVMTimeout = DefaultJSVMTimeout
	}
	if c.HttpServerOptions.ReadTimeout == 0 {
		c.HttpServerOptions.ReadTimeout = DefaultServerTimeout
	}
	if c.HttpServerOptions.WriteTimeout == 0 {
		c.HttpServerOptions.WriteTimeout = DefaultServerTimeout
	}
	if c.ControlAPIMaxBodySize == 0 {
		c.ControlAPIMaxBodySize = DefaultControlAPIMaxBodySize
	}
}

// EnsureSecret sets a random 32-hex-character secret when none is
// configured and reports whether it did. Load deliberately leaves an empty
// secret alone: Tyk lets requests without the header through when the
// secret is empty, so the binary must decide to generate one and tell the
// operator (log it), instead of the config package doing so silently.
func (c *Config) EnsureSecret() (generated bool) {
	if c.Secret != "" {
		return false
	}
	var b [16]byte
	// crypto/rand.Read never returns an error on supported platforms (it
	// panics instead), so there is nothing to handle here.
	_, _ = rand.Read(b[:])
	c.Secret = hex.EncodeToString(b[:])
	return true
}

// ListenAddr is the host:port the data plane (and, without a separate
// control port, the control API) listens on.
func (c *Config) ListenAddr() string {
	return net.JoinHostPort(c.ListenAddress, strconv.Itoa(c.ListenPort))
}

// ControlAPIAddr is the host:port of a separate control API listener, or ""
// when control_api_port is 0 and the control API shares ListenAddr.
func (c *Config) ControlAPIAddr() string {
	if c.ControlAPIPort == 0 {
		return ""
	}
	return net.JoinHostPort(c.ListenAddress, strconv.Itoa(c.ControlAPIPort))
}

// ProxyTimeout is proxy_default_timeout as a duration.
func (c *Config) ProxyTimeout() time.Duration {
	return time.Duration(c.ProxyDefaultTimeout * float64(time.Second))
}

func isFilePolicySource(s string) bool { return s == "" || s == "file" }
