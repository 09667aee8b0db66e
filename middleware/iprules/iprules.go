// Package iprules holds the IP allow list (enable_ip_whitelisting +
// allowed_ips) and block list (enable_ip_blacklisting + blacklisted_ips)
// stages. Entries are IP addresses or CIDR ranges, parsed when the chain is
// built; the client IP is X-Real-IP, else the first X-Forwarded-For entry,
// else the connection's remote address.
package iprules

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
)

// MsgDisallowed is Tyk's refusal for both lists.
const MsgDisallowed = "access from this IP has been disallowed"

var errDisallowed = chain.Fail(http.StatusForbidden, MsgDisallowed)

// set is a parsed list of addresses and ranges.
type set struct {
	addrs    []netip.Addr
	prefixes []netip.Prefix
}

func parse(list []string) (*set, error) {
	s := &set{}
	for _, raw := range list {
		entry := strings.TrimSpace(raw)
		if strings.Contains(entry, "/") {
			p, err := netip.ParsePrefix(entry)
			if err != nil {
				// net.ParseCIDR also takes a host address with a mask.
				_, n, err2 := net.ParseCIDR(entry)
				if err2 != nil {
					return nil, fmt.Errorf("invalid IP/CIDR %q", raw)
				}
				ones, _ := n.Mask.Size()
				a, _ := netip.AddrFromSlice(n.IP)
				p = netip.PrefixFrom(a.Unmap(), ones)
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			s.prefixes = append(s.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(entry)
		if err != nil {
			return nil, fmt.Errorf("invalid IP/CIDR %q", raw)
		}
		s.addrs = append(s.addrs, a.Unmap().WithZone(""))
	}
	return s, nil
}

func (s *set) contains(ip netip.Addr) bool {
	for _, a := range s.addrs {
		if a == ip {
			return true
		}
	}
	for _, p := range s.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// AllowList refuses clients whose IP is not listed.
type AllowList struct{ ips *set }

// NewAllowList applies when enable_ip_whitelisting is on and allowed_ips
// is not empty.
func NewAllowList(def *apidef.Definition, _ *chain.Env) (chain.Stage, error) {
	if !def.EnableIPWhitelisting || len(def.AllowedIPs) == 0 {
		return nil, nil
	}
	s, err := parse(def.AllowedIPs)
	if err != nil {
		return nil, fmt.Errorf("allowed_ips: %w", err)
	}
	return AllowList{s}, nil
}

func (AllowList) Name() string { return "IPWhiteListMiddleware" }

func (l AllowList) ProcessRequest(_ http.ResponseWriter, r *http.Request, _ *chain.Request) error {
	if ip, ok := ClientIP(r); ok && l.ips.contains(ip) {
		return nil
	}
	return errDisallowed
}

// BlockList refuses clients whose IP is listed.
type BlockList struct{ ips *set }

// NewBlockList applies when enable_ip_blacklisting is on and
// blacklisted_ips is not empty.
func NewBlockList(def *apidef.Definition, _ *chain.Env) (chain.Stage, error) {
	if !def.EnableIPBlacklisting || len(def.BlacklistedIPs) == 0 {
		return nil, nil
	}
	s, err := parse(def.BlacklistedIPs)
	if err != nil {
		return nil, fmt.Errorf("blacklisted_ips: %w", err)
	}
	return BlockList{s}, nil
}

func (BlockList) Name() string { return "IPBlackListMiddleware" }

func (l BlockList) ProcessRequest(_ http.ResponseWriter, r *http.Request, _ *chain.Request) error {
	if ip, ok := ClientIP(r); ok && l.ips.contains(ip) {
		return errDisallowed
	}
	return nil
}

// ClientIP is the request's client address as Tyk sees it: X-Real-IP, else
// the first X-Forwarded-For entry, else the remote address. ok is false
// when that is not an IP address (such a client matches no entry).
func ClientIP(r *http.Request) (netip.Addr, bool) {
	raw := ""
	if v := r.Header["X-Real-Ip"]; len(v) > 0 && v[0] != "" {
		raw = v[0]
	} else if v := r.Header["X-Forwarded-For"]; len(v) > 0 && v[0] != "" {
		raw = v[0]
		if i := strings.IndexByte(raw, ','); i >= 0 {
			raw = raw[:i]
		}
	} else {
		raw = r.RemoteAddr
		if host, _, err := net.SplitHostPort(raw); err == nil {
			raw = host
		}
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(raw))
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap().WithZone(""), true
}
