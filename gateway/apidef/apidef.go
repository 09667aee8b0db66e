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
}

// Proxy is where and how requests are forwarded.
type Proxy struct {
	ListenPath      string `json:"listen_path"`
	TargetURL       string `json:"target_url"`
	StripListenPath bool   `json:"strip_listen_path"`
}

// VersionDefinition configures base/child versioning and where the version
// name is read from.
type VersionDefinition struct {
	Enabled  bool              `json:"enabled"`
	Name     string            `json:"name"`
	Default  string            `json:"default"`
	Location string            `json:"location"`
	Key      string            `json:"key"`
	Versions map[string]string `json:"versions"`
}

// VersionData lists the versions of a classic definition.
type VersionData struct {
	NotVersioned   bool                   `json:"not_versioned"`
	DefaultVersion string                 `json:"default_version"`
	Versions       map[string]VersionInfo `json:"versions"`
}

// VersionInfo is one version's entry.
type VersionInfo struct {
	Name    string `json:"name"`
	Expires string `json:"expires"`
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
