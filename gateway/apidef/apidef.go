// Package apidef reads, checks and stores classic (Tyk) API definitions.
// The stored document is kept byte for byte as written, so fields Tollgate
// does not model yet survive a round trip; Definition holds the fields the
// gateway acts on.
package apidef

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Definition is the part of a classic API definition the gateway uses.
type Definition struct {
	APIID                string            `json:"api_id"`
	Name                 string            `json:"name"`
	Slug                 string            `json:"slug"`
	OrgID                string            `json:"org_id"`
	Active               bool              `json:"active"`
	Internal             bool              `json:"internal"`
	UseKeyless           bool              `json:"use_keyless"`
	Proxy                Proxy             `json:"proxy"`
	Definition           VersionDefinition `json:"definition"`
	VersionData          VersionData       `json:"version_data"`
	SessionLifetime      int64             `json:"session_lifetime"`
	RespectKeyExpiration bool              `json:"session_lifetime_respects_key_expiration"`
	DontSetQuotaOnCreate bool              `json:"dont_set_quota_on_create"`
	EnableIPWhitelisting bool              `json:"enable_ip_whitelisting"`
	AllowedIPs           []string          `json:"allowed_ips"`
	EnableIPBlacklisting bool              `json:"enable_ip_blacklisting"`
	BlacklistedIPs       []string          `json:"blacklisted_ips"`
	Expiration           string            `json:"expiration"`
	Domain               string            `json:"domain"`
	DomainDisabled       bool              `json:"domain_disabled"`

	// Authentication.
	UseStandardAuth        bool                  `json:"use_standard_auth"`
	UseBasicAuth           bool                  `json:"use_basic_auth"`
	BasicAuth              BasicAuthMeta         `json:"basic_auth"`
	Auth                   AuthConfig            `json:"auth"` // deprecated form of auth_configs.authToken
	AuthConfigs            map[string]AuthConfig `json:"auth_configs"`
	BaseIdentityProvidedBy string                `json:"base_identity_provided_by"`
	StripAuthData          bool                  `json:"strip_auth_data"`
	EnableJWT              bool                  `json:"enable_jwt"`
	UseOAuth2              bool                  `json:"use_oauth2"`
	EnableSignature        bool                  `json:"enable_signature_checking"`
	UseMutualTLSAuth       bool                  `json:"use_mutual_tls_auth"`
	UseOpenID              bool                  `json:"use_openid"`
	CustomPluginAuth       bool                  `json:"custom_plugin_auth_enabled"`
	EnableCoprocessAuth    bool                  `json:"enable_coprocess_auth"`

	// Plugins.
	CustomMiddleware               MiddlewareSection `json:"custom_middleware"`
	CustomMiddlewareBundle         string            `json:"custom_middleware_bundle"`
	CustomMiddlewareBundleDisabled bool              `json:"custom_middleware_bundle_disabled"`
	ConfigData                     map[string]any    `json:"config_data"`
	ConfigDataDisabled             bool              `json:"config_data_disabled"`
	// BundleDir is where this API's plugin bundle was unpacked (set at
	// load, never read from a definition file).
	BundleDir string `json:"-"`

	EnableBatchRequestSupport bool         `json:"enable_batch_request_support"`
	CORS                      CORS         `json:"CORS"`
	CacheOptions              CacheOptions `json:"cache_options"`

	// Limits.
	GlobalRateLimit  GlobalRateLimit `json:"global_rate_limit"`
	DisableRateLimit bool            `json:"disable_rate_limit"`
	DisableQuota     bool            `json:"disable_quota"`
}

// MiddlewareSection lists an API's plugin hooks.
type MiddlewareSection struct {
	Pre         []MiddlewareDefinition `json:"pre"`
	Post        []MiddlewareDefinition `json:"post"`
	PostKeyAuth []MiddlewareDefinition `json:"post_key_auth"`
	AuthCheck   MiddlewareDefinition   `json:"auth_check"`
	Response    []MiddlewareDefinition `json:"response"`
	Driver      string                 `json:"driver"`
	IdExtractor MiddlewareIdExtractor  `json:"id_extractor"`
}

// MiddlewareDefinition is one plugin hook.
type MiddlewareDefinition struct {
	Name           string `json:"name"`
	Path           string `json:"path"`
	Disabled       bool   `json:"disabled"`
	RequireSession bool   `json:"require_session"`
	RawBodyOnly    bool   `json:"raw_body_only"`
}

// MiddlewareIdExtractor caches custom-auth results by a request value.
type MiddlewareIdExtractor struct {
	Disabled        bool           `json:"disabled"`
	ExtractFrom     string         `json:"extract_from"`
	ExtractWith     string         `json:"extract_with"`
	ExtractorConfig map[string]any `json:"extractor_config"`
}

// AuthConfig says where a credential is read from.
type AuthConfig struct {
	AuthHeaderName string `json:"auth_header_name"`
	UseParam       bool   `json:"use_param"`
	ParamName      string `json:"param_name"`
	UseCookie      bool   `json:"use_cookie"`
	CookieName     string `json:"cookie_name"`
	DisableHeader  bool   `json:"disable_header"`
	UseCertificate bool   `json:"use_certificate"`
}

// BasicAuthMeta tunes basic authentication.
type BasicAuthMeta struct {
	DisableCaching bool `json:"disable_caching"`
	CacheTTL       int  `json:"cache_ttl"`
}

// GlobalRateLimit limits all requests to an API, keyless ones included.
type GlobalRateLimit struct {
	Rate     float64 `json:"rate"`
	Per      float64 `json:"per"`
	Disabled bool    `json:"disabled"`
}

// Proxy is where and how requests are forwarded.
type Proxy struct {
	ListenPath          string   `json:"listen_path"`
	TargetURL           string   `json:"target_url"`
	StripListenPath     bool     `json:"strip_listen_path"`
	PreserveHostHeader  bool     `json:"preserve_host_header"`
	DisableStripSlash   bool     `json:"disable_strip_slash"`
	EnableLoadBalancing bool     `json:"enable_load_balancing"`
	Targets             []string `json:"target_list"`
}

// VersionDefinition configures base/child versioning and where the version
// name is read from.
type VersionDefinition struct {
	Enabled             bool              `json:"enabled"`
	Name                string            `json:"name"`
	Default             string            `json:"default"`
	Location            string            `json:"location"`
	Key                 string            `json:"key"`
	StripPath           bool              `json:"strip_path"`
	StripVersioningData bool              `json:"strip_versioning_data"`
	FallbackToDefault   bool              `json:"fallback_to_default"`
	Versions            map[string]string `json:"versions"`
}

// VersionData lists the versions of a classic definition.
type VersionData struct {
	NotVersioned   bool                   `json:"not_versioned"`
	DefaultVersion string                 `json:"default_version"`
	Versions       map[string]VersionInfo `json:"versions"`
}

// VersionInfo is one version's entry.
type VersionInfo struct {
	Name             string       `json:"name"`
	Expires          string       `json:"expires"`
	Paths            LegacyPaths  `json:"paths"`
	UseExtendedPaths bool         `json:"use_extended_paths"`
	ExtendedPaths    ExtendedPath `json:"extended_paths"`
	OverrideTarget   string       `json:"override_target"`
	GlobalSizeLimit  int64        `json:"global_size_limit"`
	// Headers added to and removed from every request and response.
	GlobalHeaders                 map[string]string `json:"global_headers"`
	GlobalHeadersRemove           []string          `json:"global_headers_remove"`
	GlobalHeadersDisabled         bool              `json:"global_headers_disabled"`
	GlobalResponseHeaders         map[string]string `json:"global_response_headers"`
	GlobalResponseHeadersRemove   []string          `json:"global_response_headers_remove"`
	GlobalResponseHeadersDisabled bool              `json:"global_response_headers_disabled"`
	IgnoreEndpointCase            bool              `json:"ignore_endpoint_case"`
}

// LegacyPaths are plain path lists, used when use_extended_paths is off.
type LegacyPaths struct {
	Ignored   []string `json:"ignored"`
	WhiteList []string `json:"white_list"`
	BlackList []string `json:"black_list"`
}

// ExtendedPath holds the per-path rules of a version.
type ExtendedPath struct {
	Ignored           []EndpointMeta        `json:"ignored"`
	WhiteList         []EndpointMeta        `json:"white_list"`
	BlackList         []EndpointMeta        `json:"black_list"`
	MockResponse      []MockResponse        `json:"mock_response"`
	HardTimeouts      []HardTimeout         `json:"hard_timeouts"`
	SizeLimit         []SizeLimit           `json:"size_limits"`
	ValidateJSON      []ValidateJSON        `json:"validate_json"`
	Internal          []EndpointMeta        `json:"internal"`
	Virtual           []VirtualMeta         `json:"virtual"`
	Cached            []string              `json:"cache"`
	URLRewrites       []URLRewriteMeta      `json:"url_rewrites"`
	MethodTransforms  []MethodTransformMeta `json:"method_transforms"`
	Transform         []TemplateMeta        `json:"transform"`
	TransformResponse []TemplateMeta        `json:"transform_response"`
	// Per-path header changes on the request and on the response.
	TransformHeader         []HeaderInjectionMeta `json:"transform_headers"`
	TransformResponseHeader []HeaderInjectionMeta `json:"transform_response_headers"`
	AdvanceCache            []CacheMeta           `json:"advance_cache_config"`
}

// TemplateMeta rewrites a body on a path with a Go text/template.
type TemplateMeta struct {
	Path         string       `json:"path"`
	Method       string       `json:"method"`
	Disabled     bool         `json:"disabled"`
	TemplateData TemplateData `json:"template_data"`
}

// TemplateData is a body template and how to read the body it works on.
type TemplateData struct {
	InputType      string `json:"input_type"`    // "json" or "xml"
	Mode           string `json:"template_mode"` // "blob" (base64) or "file"
	TemplateSource string `json:"template_source"`
	EnableSession  bool   `json:"enable_session"`
}

// MethodTransformMeta changes the method of requests on a path.
type MethodTransformMeta struct {
	Path     string `json:"path"`
	Method   string `json:"method"`
	Disabled bool   `json:"disabled"`
	ToMethod string `json:"to_method"`
}

// URLRewriteMeta rewrites the URL of requests on a path.
type URLRewriteMeta struct {
	Path         string           `json:"path"`
	Method       string           `json:"method"`
	Disabled     bool             `json:"disabled"`
	MatchPattern string           `json:"match_pattern"`
	RewriteTo    string           `json:"rewrite_to"`
	Triggers     []map[string]any `json:"triggers"`
}

// CORS configures cross-origin handling, which runs before the chain.
type CORS struct {
	Enable             bool     `json:"enable"`
	AllowedOrigins     []string `json:"allowed_origins"`
	AllowedMethods     []string `json:"allowed_methods"`
	AllowedHeaders     []string `json:"allowed_headers"`
	ExposedHeaders     []string `json:"exposed_headers"`
	AllowCredentials   bool     `json:"allow_credentials"`
	MaxAge             int      `json:"max_age"`
	OptionsPassthrough bool     `json:"options_passthrough"`
	Debug              bool     `json:"debug"`
}

// HeaderInjectionMeta adds and deletes headers on a path.
type HeaderInjectionMeta struct {
	Path          string            `json:"path"`
	Method        string            `json:"method"`
	Disabled      bool              `json:"disabled"`
	DeleteHeaders []string          `json:"delete_headers"`
	AddHeaders    map[string]string `json:"add_headers"`
}

// CacheOptions configure the response cache of an API.
type CacheOptions struct {
	EnableCache                bool     `json:"enable_cache"`
	CacheTimeout               int64    `json:"cache_timeout"`
	CacheAllSafeRequests       bool     `json:"cache_all_safe_requests"`
	CacheOnlyResponseCodes     []int    `json:"cache_response_codes"`
	EnableUpstreamCacheControl bool     `json:"enable_upstream_cache_control"`
	CacheControlTTLHeader      string   `json:"cache_control_ttl_header"`
	CacheByHeaders             []string `json:"cache_by_headers"`
}

// CacheMeta is a per-path, per-method cache rule.
type CacheMeta struct {
	Method                 string `json:"method"`
	Path                   string `json:"path"`
	Disabled               bool   `json:"disabled"`
	CacheKeyRegex          string `json:"cache_key_regex"`
	CacheOnlyResponseCodes []int  `json:"cache_response_codes"`
	Timeout                int64  `json:"timeout"`
}

// VirtualMeta is a JavaScript virtual endpoint.
type VirtualMeta struct {
	Path                 string `json:"path"`
	Method               string `json:"method"`
	Disabled             bool   `json:"disabled"`
	ResponseFunctionName string `json:"response_function_name"`
	FunctionSourceType   string `json:"function_source_type"`
	FunctionSourceURI    string `json:"function_source_uri"`
	UseSession           bool   `json:"use_session"`
	ProxyOnError         bool   `json:"proxy_on_error"`
}

// EndpointMeta matches a path (an unanchored regex) and a method.
type EndpointMeta struct {
	Path          string                        `json:"path"`
	Method        string                        `json:"method"`
	IgnoreCase    bool                          `json:"ignore_case"`
	Disabled      bool                          `json:"disabled"`
	MethodActions map[string]EndpointMethodMeta `json:"method_actions"`
}

// EndpointMethodMeta is the legacy per-method action of a path entry.
type EndpointMethodMeta struct {
	Action  string            `json:"action"`
	Code    int               `json:"code"`
	Data    string            `json:"data"`
	Headers map[string]string `json:"headers"`
}

// MockResponse answers a path without calling the upstream.
type MockResponse struct {
	Path       string            `json:"path"`
	Method     string            `json:"method"`
	IgnoreCase bool              `json:"ignore_case"`
	Disabled   bool              `json:"disabled"`
	Code       int               `json:"code"`
	Body       string            `json:"body"`
	Headers    map[string]string `json:"headers"`
}

// HardTimeout bounds the upstream call for a path (seconds).
type HardTimeout struct {
	Path     string `json:"path"`
	Method   string `json:"method"`
	Disabled bool   `json:"disabled"`
	TimeOut  int    `json:"timeout"`
}

// SizeLimit caps the request body for a path (bytes).
type SizeLimit struct {
	Path      string `json:"path"`
	Method    string `json:"method"`
	Disabled  bool   `json:"disabled"`
	SizeLimit int64  `json:"size_limit"`
}

// ValidateJSON checks a request body against a JSON schema.
type ValidateJSON struct {
	Path              string         `json:"path"`
	Method            string         `json:"method"`
	Disabled          bool           `json:"disabled"`
	Schema            map[string]any `json:"schema"`
	ErrorResponseCode int            `json:"error_response_code"`
}

// Parse decodes a definition document.
func Parse(data []byte) (Definition, error) {
	var d Definition
	if err := json.Unmarshal(data, &d); err != nil {
		return d, err
	}
	return d, nil
}

// Validate applies the checks Tyk runs before accepting a definition; the
// error text is the "Reason" of Tyk's validation message.
func (d Definition) Validate() error {
	if d.EnableIPWhitelisting || len(d.AllowedIPs) > 0 {
		if err := validIPs(d.AllowedIPs); err != nil {
			return err
		}
	}
	if d.EnableIPBlacklisting || len(d.BlacklistedIPs) > 0 {
		if err := validIPs(d.BlacklistedIPs); err != nil {
			return err
		}
	}
	return nil
}

func validIPs(list []string) error {
	for _, ip := range list {
		if strings.Contains(ip, "/") {
			if _, _, err := net.ParseCIDR(ip); err != nil {
				return fmt.Errorf("invalid IP/CIDR %q", ip)
			}
			continue
		}
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("invalid IP/CIDR %q", ip)
		}
	}
	return nil
}

// RouteProblem says why a stored definition cannot be routed (empty or
// spaced listen path, unparseable target), or "" when it can.
func (d Definition) RouteProblem() string {
	lp := d.Proxy.ListenPath
	switch {
	case lp == "":
		return "proxy.listen_path is empty"
	case strings.ContainsAny(lp, " \t"):
		return "proxy.listen_path contains spaces"
	}
	if _, err := url.Parse(d.Proxy.TargetURL); err != nil {
		return "proxy.target_url: " + err.Error()
	}
	return ""
}
