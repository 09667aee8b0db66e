package config

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// cleanEnv removes every variable Load reads, so that the developer's or the
// CI's environment cannot change the outcome. t.Setenv restores them after
// the test (and forbids t.Parallel, which these tests must not use anyway).
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, EnvPrefix+"_") || name == EnvLogLevel {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

func writeConf(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tyk.conf")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, path string) (*Config, []string) {
	t.Helper()
	c, warns, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%q): %v (warnings %q)", path, err, warns)
	}
	return c, warns
}

func TestLoadWithoutFileGivesDefaults(t *testing.T) {
	cleanEnv(t)
	c, warns := mustLoad(t, "")
	if len(warns) != 0 {
		t.Errorf("warnings = %q, want none", warns)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen_port", c.ListenPort, 8080},
		{"secret", c.Secret, ""}, // never invented by Load
		{"app_path", c.AppPath, "apps"},
		{"policies.policy_path", c.Policies.PolicyPath, "policies"},
		{"policies.policy_source", c.Policies.PolicySource, ""},
		{"middleware_path", c.MiddlewarePath, "middleware"},
		{"template_path", c.TemplatePath, "templates"},
		{"storage.type", c.Storage.Type, ""},
		{"storage.data_dir", c.Storage.DataDir, "data"},
		{"min_token_length", c.MinTokenLength, 3},
		{"reload_interval", c.ReloadInterval, int64(1)},
		{"health_check_endpoint_name", c.HealthCheckEndpointName, "hello"},
		{"liveness_check.check_duration", c.LivenessCheck.CheckDuration, 10 * time.Second},
		{"proxy_default_timeout", c.ProxyDefaultTimeout, 30.0},
		{"drl_threshold", c.DRLThreshold, 5.0},
		{"jsvm_timeout", c.JSVMTimeout, 5},
		{"http_server_options.read_timeout", c.HttpServerOptions.ReadTimeout, 120},
		{"http_server_options.write_timeout", c.HttpServerOptions.WriteTimeout, 120},
		{"control_api_max_body_size", c.ControlAPIMaxBodySize, int64(4 << 20)},
		{"OriginalPath", c.OriginalPath, ""},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("Load(\"\") differs from Default():\n%+v\n%+v", c, Default())
	}
}

func TestLoadReadsFileValues(t *testing.T) {
	cleanEnv(t)
	p := writeConf(t, `{
		"listen_address": "127.0.0.1",
		"listen_port": 9000,
		"control_api_port": 9001,
		"control_api_hostname": "ctl.local",
		"hostname": "api.local",
		"secret": "s3cret",
		"node_secret": "n0de",
		"app_path": "/etc/tollgate/apps/",
		"use_db_app_configs": true,
		"policies": {"policy_source": "file", "policy_path": "/p", "allow_explicit_policy_id": true},
		"storage": {"type": "redis", "host": "redis.local", "port": 6380, "optimisation_max_idle": 50, "addrs": ["a:1", "b:2"]},
		"hash_keys": true,
		"hash_key_function": "murmur128",
		"hash_key_function_fallback": ["murmur64", "sha256"],
		"min_token_length": 8,
		"enable_redis_rolling_limiter": true,
		"drl_threshold": 2.5,
		"max_idle_connections": 7,
		"suppress_default_org_store": true,
		"proxy_default_timeout": 1.5,
		"liveness_check": {"check_duration": 2000000000},
		"local_session_cache": {"disable_cached_session_state": true},
		"coprocess_options": {"enable_coprocess": true, "coprocess_grpc_server": "tcp://127.0.0.1:5555"},
		"http_server_options": {"read_timeout": 5, "enable_strict_routes": true, "flush_interval": 250,
			"use_ssl": true, "certificates": [{"domain_name": "*", "cert_file": "c.pem", "key_file": "k.pem"}], "min_version": 771},
		"log_level": "debug",
		"override_messages": {"auth.key_not_found": {"code": 418, "message": "nope"}},
		"control_api_max_body_size": 1024
	}`)
	c, warns := mustLoad(t, p)
	if len(warns) != 0 {
		t.Errorf("warnings = %q, want none", warns)
	}
	want := Default()
	want.OriginalPath = p
	want.ListenAddress = "127.0.0.1"
	want.ListenPort = 9000
	want.ControlAPIPort = 9001
	want.ControlAPIHostname = "ctl.local"
	want.HostName = "api.local"
	want.Secret = "s3cret"
	want.NodeSecret = "n0de"
	want.AppPath = "/etc/tollgate/apps/"
	want.UseDBAppConfigs = true
	want.Policies.PolicySource = "file"
	want.Policies.PolicyPath = "/p"
	want.Policies.AllowExplicitPolicyID = true
	want.Storage.Type = "redis"
	want.Storage.Host = "redis.local"
	want.Storage.Port = 6380
	want.Storage.MaxIdle = 50
	want.Storage.Addrs = []string{"a:1", "b:2"}
	want.HashKeys = true
	want.HashKeyFunction = "murmur128"
	want.HashKeyFunctionFallback = []string{"murmur64", "sha256"}
	want.MinTokenLength = 8
	want.EnableRedisRollingLimiter = true
	want.DRLThreshold = 2.5
	want.MaxIdleConns = 7
	want.SupressDefaultOrgStore = true
	want.ProxyDefaultTimeout = 1.5
	want.LivenessCheck.CheckDuration = 2 * time.Second
	want.LocalSessionCache.DisableCacheSessionState = true
	want.CoProcessOptions = CoProcessConfig{EnableCoProcess: true, CoProcessGRPCServer: "tcp://127.0.0.1:5555"}
	want.HttpServerOptions.ReadTimeout = 5
	want.HttpServerOptions.EnableStrictRoutes = true
	want.HttpServerOptions.FlushInterval = 250
	want.HttpServerOptions.UseSSL = true
	want.HttpServerOptions.Certificates = []CertData{{Name: "*", CertFile: "c.pem", KeyFile: "k.pem"}}
	want.HttpServerOptions.MinVersion = 771
	want.LogLevel = "debug"
	want.OverrideMessages = map[string]TykError{"auth.key_not_found": {Code: 418, Message: "nope"}}
	want.ControlAPIMaxBodySize = 1024
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if got := c.ListenAddr(); got != "127.0.0.1:9000" {
		t.Errorf("ListenAddr() = %q", got)
	}
	if got := c.ControlAPIAddr(); got != "127.0.0.1:9001" {
		t.Errorf("ControlAPIAddr() = %q", got)
	}
	if got := c.ProxyTimeout(); got != 1500*time.Millisecond {
		t.Errorf("ProxyTimeout() = %v", got)
	}
}

func TestEnvOverridesEachKind(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(c *Config) any // returns the value under test
		want  any
	}{
		{"string", map[string]string{"TYK_GW_LISTENADDRESS": "10.0.0.1"},
			func(c *Config) any { return c.ListenAddress }, "10.0.0.1"},
		{"string keeps spaces", map[string]string{"TYK_GW_SECRET": " a b "},
			func(c *Config) any { return c.Secret }, " a b "},
		{"bool", map[string]string{"TYK_GW_HASHKEYS": "true"},
			func(c *Config) any { return c.HashKeys }, true},
		{"bool false over file", map[string]string{"TYK_GW_ALLOWMASTERKEYS": "0"},
			func(c *Config) any { return c.AllowMasterKeys }, false},
		{"int over file value", map[string]string{"TYK_GW_LISTENPORT": "9100"},
			func(c *Config) any { return c.ListenPort }, 9100},
		{"int64", map[string]string{"TYK_GW_GLOBALSESSIONLIFETIME": "3600"},
			func(c *Config) any { return c.GlobalSessionLifetime }, int64(3600)},
		{"uint16", map[string]string{"TYK_GW_HTTPSERVEROPTIONS_MINVERSION": "771"},
			func(c *Config) any { return c.HttpServerOptions.MinVersion }, uint16(771)},
		{"float", map[string]string{"TYK_GW_PROXYDEFAULTTIMEOUT": "2.5"},
			func(c *Config) any { return c.ProxyDefaultTimeout }, 2.5},
		{"string list is comma separated", map[string]string{"TYK_GW_HASHKEYFUNCTIONFALLBACK": "murmur64, sha256,"},
			func(c *Config) any { return c.HashKeyFunctionFallback }, []string{"murmur64", "sha256"}},
		{"duration as Go duration", map[string]string{"TYK_GW_LIVENESSCHECK_CHECKDURATION": "5s"},
			func(c *Config) any { return c.LivenessCheck.CheckDuration }, 5 * time.Second},
		{"duration as nanoseconds", map[string]string{"TYK_GW_LIVENESSCHECK_CHECKDURATION": "2000000000"},
			func(c *Config) any { return c.LivenessCheck.CheckDuration }, 2 * time.Second},
		{"object list is JSON", map[string]string{"TYK_GW_HTTPSERVEROPTIONS_CERTIFICATES": `[{"domain_name":"x","cert_file":"c","key_file":"k"}]`},
			func(c *Config) any { return c.HttpServerOptions.Certificates }, []CertData{{Name: "x", CertFile: "c", KeyFile: "k"}}},
		{"nested section", map[string]string{"TYK_GW_HTTPSERVEROPTIONS_USESSL": "true", "TYK_GW_HTTPSERVEROPTIONS_SSLCERTIFICATES": "/c.pem"},
			func(c *Config) any { return c.HttpServerOptions.UseSSL }, true},
		{"policies", map[string]string{"TYK_GW_POLICIES_POLICYSOURCE": "file", "TYK_GW_POLICIES_POLICYPATH": "/pol"},
			func(c *Config) any { return c.Policies }, PoliciesConfig{PolicySource: "file", PolicyPath: "/pol"}},
		{"storage host", map[string]string{"TYK_GW_STORAGE_HOST": "redis.example"},
			func(c *Config) any { return c.Storage.Host }, "redis.example"},
		{"storage uses Go name not JSON name", map[string]string{"TYK_GW_STORAGE_MAXIDLE": "42"},
			func(c *Config) any { return c.Storage.MaxIdle }, 42},
		{"storage data_dir", map[string]string{"TYK_GW_STORAGE_DATADIR": "/var/lib/tollgate"},
			func(c *Config) any { return c.Storage.DataDir }, "/var/lib/tollgate"},
		{"Tyk's misspelt name", map[string]string{"TYK_GW_SUPRESSDEFAULTORGSTORE": "true"},
			func(c *Config) any { return c.SupressDefaultOrgStore }, true},
		{"Tyk's short Go name", map[string]string{"TYK_GW_MAXIDLECONNS": "9"},
			func(c *Config) any { return c.MaxIdleConns }, 9},
		{"rate limiter flag at top level", map[string]string{"TYK_GW_ENABLEREDISROLLINGLIMITER": "true"},
			func(c *Config) any { return c.EnableRedisRollingLimiter }, true},
		{"Tollgate-only setting", map[string]string{"TYK_GW_CONTROLAPIMAXBODYSIZE": "2048"},
			func(c *Config) any { return c.ControlAPIMaxBodySize }, int64(2048)},
		{"TYK_LOGLEVEL wins over log_level", map[string]string{"TYK_GW_LOGLEVEL": "debug", "TYK_LOGLEVEL": "error"},
			func(c *Config) any { return c.LogLevel }, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			p := writeConf(t, `{"listen_port": 9000, "allow_master_keys": true}`)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, warns := mustLoad(t, p)
			if len(warns) != 0 {
				t.Errorf("warnings = %q, want none", warns)
			}
			if got := tt.check(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestBadEnvValueIsAnErrorNamingTheVariable(t *testing.T) {
	tests := []struct{ name, value string }{
		{"TYK_GW_LISTENPORT", "eighty"},
		{"TYK_GW_HASHKEYS", "yes please"},
		{"TYK_GW_PROXYDEFAULTTIMEOUT", "soon"},
		{"TYK_GW_HTTPSERVEROPTIONS_MINVERSION", "70000"}, // overflows uint16
		{"TYK_GW_STORAGE_PORT", ""},
		{"TYK_GW_LIVENESSCHECK_CHECKDURATION", "often"},
		{"TYK_GW_HTTPSERVEROPTIONS_CERTIFICATES", "not json"},
		{"TYK_GW_OMITCONFIGFILE", "maybe"},
		{"TYK_LOGLEVEL", "loud"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			t.Setenv(tt.name, tt.value)
			_, _, err := Load("")
			if err == nil || !strings.Contains(err.Error(), tt.name+":") {
				t.Fatalf("err = %v, want one naming %s", err, tt.name)
			}
		})
	}
}

func TestUnknownFileFieldsAreWarningsNamingThem(t *testing.T) {
	cleanEnv(t)
	p := writeConf(t, `{
		"enable_analytics": true,
		"Listen_Port": 9002,
		"storage": {"type": "", "bogus": 1},
		"http_server_options": {"certificates": [{"cert_file": "c", "key_file": "k", "extra": true}]},
		"override_messages": {"auth.key_not_found": {"code": 401, "colour": "red"}},
		"policies": {"policy_path": "pol", "nested": {"deeper": 1}}
	}`)
	c, warns := mustLoad(t, p)
	for _, field := range []string{
		`"enable_analytics"`,
		`"storage.bogus"`,
		`"http_server_options.certificates[0].extra"`,
		`"override_messages[\"auth.key_not_found\"].colour"`,
		`"policies.nested"`,
	} {
		if !slices.ContainsFunc(warns, func(w string) bool { return strings.Contains(w, field) }) {
			t.Errorf("no warning names %s; warnings: %q", field, warns)
		}
	}
	if len(warns) != 5 {
		t.Errorf("got %d warnings, want 5: %q", len(warns), warns)
	}
	// encoding/json matches keys case-insensitively, so such a key is used
	// and must not be reported.
	if c.ListenPort != 9002 {
		t.Errorf("Listen_Port not applied: %d", c.ListenPort)
	}
}

func TestUnknownEnvVariablesAreWarnings(t *testing.T) {
	cleanEnv(t)
	t.Setenv("TYK_GW_LISTEN_PORT", "9000") // misspelt: Go names have no underscores
	t.Setenv("TYK_GW_OVERRIDEMESSAGES", "x")
	c, warns := mustLoad(t, "")
	if c.ListenPort != 8080 {
		t.Errorf("listen_port = %d, want the default", c.ListenPort)
	}
	for _, name := range []string{"TYK_GW_LISTEN_PORT", "TYK_GW_OVERRIDEMESSAGES"} {
		if !slices.ContainsFunc(warns, func(w string) bool { return strings.Contains(w, name) }) {
			t.Errorf("no warning names %s; warnings: %q", name, warns)
		}
	}
}

func TestInvalidValuesAreErrorsNamingTheField(t *testing.T) {
	tests := []struct {
		name, conf, want string
	}{
		{"port too large", `{"listen_port": 70000}`, "listen_port: 70000 is not a valid port"},
		{"negative control port", `{"control_api_port": -1}`, "control_api_port: -1 is not a valid port"},
		{"log level", `{"log_level": "loud"}`, `log_level: "loud" is not one of debug, info, warn, error`},
		{"hash function", `{"hash_key_function": "md5"}`, `hash_key_function: "md5" is not one of murmur32, murmur64, murmur128, sha256`},
		{"hash fallback", `{"hash_key_function_fallback": ["sha256", "crc32"]}`, `hash_key_function_fallback[1]: "crc32" is not one of`},
		{"basic auth hash", `{"basic_auth_hash_key_function": "md5"}`, `basic_auth_hash_key_function: "md5" is not one of bcrypt,`},
		{"dashboard policies", `{"policies": {"policy_source": "service"}}`, `policies.policy_source: "service" is not supported: Tollgate only loads policies from files`},
		{"MDCB policies", `{"policies": {"policy_source": "rpc"}}`, `policies.policy_source: "rpc" is not supported`},
		{"unknown policy source", `{"policies": {"policy_source": "mongo"}}`, `policies.policy_source: "mongo" is not one of "", "file"`},
		{"negative proxy timeout", `{"proxy_default_timeout": -1}`, "proxy_default_timeout: must not be negative"},
		{"negative read timeout", `{"http_server_options": {"read_timeout": -5}}`, "http_server_options.read_timeout: must not be negative (got -5)"},
		{"negative write timeout", `{"http_server_options": {"write_timeout": -5}}`, "http_server_options.write_timeout: must not be negative"},
		{"negative jsvm timeout", `{"jsvm_timeout": -1}`, "jsvm_timeout: must not be negative"},
		{"negative liveness", `{"liveness_check": {"check_duration": -1}}`, "liveness_check.check_duration: must not be negative"},
		{"negative min token length", `{"min_token_length": -1}`, "min_token_length: must not be negative"},
		{"negative body cap", `{"control_api_max_body_size": -1}`, "control_api_max_body_size: must not be negative"},
		{"pprof off loopback", `{"enable_pprof_on": "0.0.0.0:6060"}`, `enable_pprof_on: "0.0.0.0:6060" is not a loopback address`},
		{"pprof without port", `{"enable_pprof_on": "127.0.0.1"}`, `enable_pprof_on: "127.0.0.1" is not host:port`},
		{"TLS version", `{"http_server_options": {"min_version": 12}}`, "http_server_options.min_version: 12 is not a TLS version"},
		{"TLS without certificates", `{"http_server_options": {"use_ssl": true}}`, "http_server_options.use_ssl: true, but neither"},
		{"half a certificate", `{"http_server_options": {"certificates": [{"cert_file": "c"}]}}`, "http_server_options.certificates[0]: cert_file and key_file are both required"},
		{"override code", `{"override_messages": {"auth.key_not_found": {"code": 42}}}`, `override_messages["auth.key_not_found"].code: 42 is not an HTTP status code`},
		{"storage type (storage.Options.Validate)", `{"storage": {"type": "mongo"}}`, "storage.type:"},
		{"wrong JSON type names the field", `{"storage": {"port": "6379"}}`, "storage.port: a JSON string cannot be used as int"},
		{"syntax error gives the line", "{\n  \"listen_port\": 8080,\n  oops\n}", "invalid JSON at line 3"},
		{"not an object", `[1, 2]`, "must hold a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			c, _, err := Load(writeConf(t, tt.conf))
			if err == nil {
				t.Fatalf("Load succeeded (%+v), want error containing %q", c, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.ListenPort = 70000
	c.LogLevel = "loud"
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "listen_port:") || !strings.Contains(err.Error(), "log_level:") {
		t.Fatalf("err = %v, want both listen_port and log_level", err)
	}
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	// Validate works on hand-built configs too: zero means default.
	if err := (&Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestMissingExplicitFileIsAnError(t *testing.T) {
	cleanEnv(t)
	p := filepath.Join(t.TempDir(), "nope.conf")
	if _, _, err := Load(p); err == nil || !strings.Contains(err.Error(), "nope.conf") {
		t.Fatalf("err = %v, want one naming the file", err)
	}
}

func TestOmitConfigFileIgnoresTheFile(t *testing.T) {
	cleanEnv(t)
	t.Setenv("TYK_GW_OMITCONFIGFILE", "true")
	t.Setenv("TYK_GW_SECRET", "from-env")
	p := writeConf(t, `{"listen_port": 9000, "secret": "from-file", "log_level": "loud"}`)
	c, warns := mustLoad(t, p)
	if c.ListenPort != 8080 || c.Secret != "from-env" || c.OriginalPath != "" {
		t.Errorf("file was used: port %d secret %q path %q", c.ListenPort, c.Secret, c.OriginalPath)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "TYK_GW_OMITCONFIGFILE") {
		t.Errorf("warnings = %q, want one about TYK_GW_OMITCONFIGFILE", warns)
	}
	// The file is not even opened, so a missing one is fine too.
	if _, _, err := Load(filepath.Join(t.TempDir(), "missing.conf")); err != nil {
		t.Errorf("missing file with OMITCONFIGFILE: %v", err)
	}
}

func TestEnvReferencesAreResolved(t *testing.T) {
	cleanEnv(t)
	t.Setenv("ADMIN_SECRET", "admin")
	t.Setenv("NODE_SECRET", "node")
	t.Setenv("REDIS_PASSWORD", "redispw")
	p := writeConf(t, `{"secret": "env://ADMIN_SECRET", "node_secret": "env://NODE_SECRET",
		"storage": {"password": "env://REDIS_PASSWORD"}}`)
	c, _ := mustLoad(t, p)
	if c.Secret != "admin" || c.NodeSecret != "node" || c.Storage.Password != "redispw" {
		t.Errorf("got secret %q node_secret %q storage.password %q", c.Secret, c.NodeSecret, c.Storage.Password)
	}

	// A reference given through the override variable works the same.
	t.Setenv("TYK_GW_SECRET", "env://NODE_SECRET")
	c, _ = mustLoad(t, p)
	if c.Secret != "node" {
		t.Errorf("secret via TYK_GW_SECRET = %q, want node", c.Secret)
	}
}

func TestBadReferencesAreErrorsNamingTheField(t *testing.T) {
	tests := []struct{ name, conf, want string }{
		{"unset variable", `{"secret": "env://NOT_SET_ANYWHERE"}`, "secret: environment variable NOT_SET_ANYWHERE"},
		{"empty name", `{"node_secret": "env://"}`, "node_secret: env:// needs a variable name"},
		{"vault", `{"storage": {"password": "vault://x.y"}}`, "storage.password: vault:// references are not supported"},
		{"secrets store", `{"secret": "secrets://admin"}`, "secret: secrets:// references are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			_, _, err := Load(writeConf(t, tt.conf))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestZeroValuesMeanDefaults(t *testing.T) {
	cleanEnv(t)
	p := writeConf(t, `{"listen_port": 0, "min_token_length": 0, "reload_interval": -3, "app_path": "",
		"proxy_default_timeout": 0, "health_check_endpoint_name": "", "http_server_options": {"read_timeout": 0}}`)
	c, _ := mustLoad(t, p)
	want := Default()
	want.OriginalPath = p
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

func TestPolicyRecordNameIsNotOverriddenByDefaultPath(t *testing.T) {
	cleanEnv(t)
	c, _ := mustLoad(t, writeConf(t, `{"policies": {"policy_record_name": "policies.json"}}`))
	if c.Policies.PolicyPath != "" || c.Policies.PolicyRecordName != "policies.json" {
		t.Errorf("policies = %+v, want record-name mode", c.Policies)
	}
}

func TestWarningsAreReturnedWithErrors(t *testing.T) {
	cleanEnv(t)
	// The misspelt key is the reason the value is invalid; both must show.
	_, warns, err := Load(writeConf(t, `{"listen_port": 99999, "lisen_port": 80}`))
	if err == nil {
		t.Fatal("want an error")
	}
	if len(warns) != 1 || !strings.Contains(warns[0], `"lisen_port"`) {
		t.Errorf("warnings = %q", warns)
	}
}

func TestWarningsAccompanyDecodingErrors(t *testing.T) {
	cleanEnv(t)
	_, warns, err := Load(writeConf(t, `{"listen_port": "80", "enable_analytics": true}`))
	if err == nil || !strings.Contains(err.Error(), "listen_port: a JSON string cannot be used as int") {
		t.Fatalf("err = %v", err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], `"enable_analytics"`) {
		t.Errorf("warnings = %q", warns)
	}
}

func TestNanosecondLivenessDurationWarns(t *testing.T) {
	cleanEnv(t)
	_, warns := mustLoad(t, writeConf(t, `{"liveness_check": {"check_duration": 10}}`))
	if len(warns) != 1 || !strings.Contains(warns[0], "liveness_check.check_duration") {
		t.Errorf("warnings = %q", warns)
	}
}

func TestEnsureSecret(t *testing.T) {
	c := Default()
	if !c.EnsureSecret() {
		t.Fatal("EnsureSecret on an empty secret returned false")
	}
	if len(c.Secret) != 32 {
		t.Errorf("secret %q is not 32 characters", c.Secret)
	}
	if _, err := hex.DecodeString(c.Secret); err != nil {
		t.Errorf("secret %q is not hex", c.Secret)
	}
	first := c.Secret
	if c.EnsureSecret() || c.Secret != first {
		t.Error("EnsureSecret replaced an existing secret")
	}
	if other := Default(); other.EnsureSecret() && other.Secret == first {
		t.Error("two generated secrets are equal")
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if got := Find(); got != "" {
		t.Errorf("Find() in an empty directory = %q, want \"\"", got)
	}
	if err := os.Mkdir("tyk.conf", 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Find(); got != "" {
		t.Errorf("Find() with a directory named tyk.conf = %q, want \"\"", got)
	}
	if err := os.Remove("tyk.conf"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("tyk.conf", []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := Find(); got != "tyk.conf" {
		t.Errorf("Find() = %q, want tyk.conf", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Find wrote files: %v", entries)
	}
}

func TestControlAPIAddrIsEmptyWithoutSeparatePort(t *testing.T) {
	c := Default()
	if got := c.ControlAPIAddr(); got != "" {
		t.Errorf("ControlAPIAddr() = %q, want \"\"", got)
	}
	if got := c.ListenAddr(); got != ":8080" {
		t.Errorf("ListenAddr() = %q, want :8080", got)
	}
}
