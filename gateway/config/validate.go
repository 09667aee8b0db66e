package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

var (
	logLevels        = []string{"debug", "info", "warn", "error"}
	hashKeyFunctions = []string{"murmur32", "murmur64", "murmur128", "sha256"}
	basicAuthHashes  = []string{"bcrypt", "murmur32", "murmur64", "murmur128", "sha256"}
)

func isLogLevel(s string) bool { return slices.Contains(logLevels, s) }

// Validate reports every setting that would make the gateway misbehave,
// one per line, each starting with the JSON path of the setting (for
// example "listen_port: 70000 is not a valid port"), so an operator can fix
// them all in one go. Zero values are accepted everywhere because they mean
// "default" (see ApplyDefaults); Validate does not change c.
func (c *Config) Validate() error {
	var v validation

	v.port("listen_port", c.ListenPort)
	v.port("control_api_port", c.ControlAPIPort)

	if c.LogLevel != "" && !isLogLevel(c.LogLevel) {
		v.addf("log_level: %q is not one of %s", c.LogLevel, strings.Join(logLevels, ", "))
	}

	// Key IDs minted with an unknown algorithm could not be looked up
	// later, so these are refused rather than silently mapped to murmur64.
	if c.HashKeyFunction != "" {
		v.oneOf("hash_key_function", c.HashKeyFunction, hashKeyFunctions)
	}
	for i, f := range c.HashKeyFunctionFallback {
		v.oneOf(fmt.Sprintf("hash_key_function_fallback[%d]", i), f, hashKeyFunctions)
	}
	if c.BasicAuthHashKeyFunction != "" {
		v.oneOf("basic_auth_hash_key_function", c.BasicAuthHashKeyFunction, basicAuthHashes)
	}

	switch src := c.Policies.PolicySource; src {
	case "", "file":
	case "service", "rpc":
		v.addf("policies.policy_source: %q is not supported: Tollgate only loads policies from files (use \"file\" or leave it empty, with policies.policy_path or policies.policy_record_name)", src)
	default:
		v.addf("policies.policy_source: %q is not one of \"\", \"file\"", src)
	}

	v.nonNegative("min_token_length", int64(c.MinTokenLength))
	v.nonNegative("jsvm_timeout", int64(c.JSVMTimeout))
	v.nonNegative("max_idle_connections", int64(c.MaxIdleConns))
	v.nonNegative("max_idle_connections_per_host", int64(c.MaxIdleConnsPerHost))
	v.nonNegative("max_conn_time", c.MaxConnTime)
	v.nonNegative("global_session_lifetime", c.GlobalSessionLifetime)
	v.nonNegative("control_api_max_body_size", c.ControlAPIMaxBodySize)
	if c.EnablePprofOn != "" {
		v.loopback("enable_pprof_on", c.EnablePprofOn)
	}
	v.nonNegative("liveness_check.check_duration", int64(c.LivenessCheck.CheckDuration))
	if c.CoProcessOptions.CallTimeout < 0 {
		v.addf("coprocess_options.call_timeout: must not be negative (got %v)", c.CoProcessOptions.CallTimeout)
	}
	if c.ProxyDefaultTimeout < 0 {
		v.addf("proxy_default_timeout: must not be negative (got %v)", c.ProxyDefaultTimeout)
	}
	if c.DRLThreshold < 0 {
		v.addf("drl_threshold: must not be negative (got %v)", c.DRLThreshold)
	}

	h := &c.HttpServerOptions
	v.nonNegative("http_server_options.read_timeout", int64(h.ReadTimeout))
	v.nonNegative("http_server_options.write_timeout", int64(h.WriteTimeout))
	v.nonNegative("http_server_options.flush_interval", int64(h.FlushInterval))
	v.nonNegative("http_server_options.max_request_body_size", h.MaxRequestBodySize)
	v.tlsVersion("http_server_options.min_version", h.MinVersion)
	v.tlsVersion("http_server_options.max_version", h.MaxVersion)
	if h.MinVersion != 0 && h.MaxVersion != 0 && h.MinVersion > h.MaxVersion {
		v.addf("http_server_options.min_version: %d is above max_version %d", h.MinVersion, h.MaxVersion)
	}
	for i, cd := range h.Certificates {
		if cd.CertFile == "" || cd.KeyFile == "" {
			v.addf("http_server_options.certificates[%d]: cert_file and key_file are both required", i)
		}
	}
	// A TLS listener without any certificate accepts connections and then
	// fails every handshake; better to say so at start-up.
	if h.UseSSL && len(h.Certificates) == 0 && len(h.SSLCertificates) == 0 {
		v.addf("http_server_options.use_ssl: true, but neither http_server_options.certificates nor ssl_certificates is set")
	}

	for id, m := range c.OverrideMessages {
		if m.Code != 0 && (m.Code < 100 || m.Code > 599) {
			v.addf("override_messages[%q].code: %d is not an HTTP status code", id, m.Code)
		}
	}

	if err := c.Storage.Validate(); err != nil {
		// storage.Options already names its fields ("storage.port: ...").
		v.errs = append(v.errs, err)
	}

	return errors.Join(v.errs...)
}

type validation struct {
	errs []error
}

func (v *validation) addf(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf(format, args...))
}

func (v *validation) port(field string, p int) {
	// 0 is allowed: for listen_port it means the default, for
	// control_api_port "no separate listener".
	if p < 0 || p > 65535 {
		v.addf("%s: %d is not a valid port", field, p)
	}
}

func (v *validation) oneOf(field, got string, allowed []string) {
	if !slices.Contains(allowed, got) {
		v.addf("%s: %q is not one of %s", field, got, strings.Join(allowed, ", "))
	}
}

func (v *validation) nonNegative(field string, n int64) {
	if n < 0 {
		v.addf("%s: must not be negative (got %d)", field, n)
	}
}

// loopback accepts host:port where host is localhost or a loopback IP:
// profiles must never be served to the network.
func (v *validation) loopback(field, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.addf("%s: %q is not host:port", field, addr)
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		v.addf("%s: %q has no valid port", field, addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		v.addf("%s: %q is not a loopback address (use 127.0.0.1:PORT)", field, addr)
	}
}

// tlsVersion accepts Go's numeric TLS versions, which is what Tyk's
// min_version/max_version hold (771 = TLS 1.2).
func (v *validation) tlsVersion(field string, n uint16) {
	switch n {
	case 0, tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13:
	default:
		v.addf("%s: %d is not a TLS version (769 = 1.0, 770 = 1.1, 771 = 1.2, 772 = 1.3)", field, n)
	}
}
