package policy

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tollgate/tollgate/gateway/session"
)

// Errors of policy application, worded as Tyk words them.
var (
	ErrOrgMismatch  = errors.New("attempting to apply policy from different organisation to key, skipping")
	ErrPerAPIMixing = errors.New("cannot apply multiple policies when some have per_api set and some are partitioned")
)

// Lookup finds a policy by ID.
type Lookup func(id string) (Policy, bool)

// OrgCheck, when Enabled, requires every applied policy to belong to OrgID.
type OrgCheck struct {
	Enabled bool
	OrgID   string
}

// merge carries the bookkeeping of one Apply call.
type merge struct {
	s          *session.State
	rights     map[string]session.AccessDefinition
	setBy      map[string]string // API ID -> last policy that set its ACL
	didACL     map[string]bool
	didQuota   map[string]bool
	didRate    map[string]bool
	didDepth   map[string]bool
	aclSources map[string]bool // policies that contributed an ACL
	perAPI     map[string]bool // APIs set by a per_api policy
}

// Apply merges the key's policies into s, following Tyk 5.4.0's rules: the
// highest rate and quota win, partitions limit what a policy contributes,
// and policies that grant ACLs replace the key's access rights.
// A meta_data.policies array on the key replaces lookup.
func Apply(s *session.State, lookup Lookup, org OrgCheck) error {
	if inline, ok := inlinePolicies(s); ok {
		lookup = inline
	}
	ids := s.PolicyIDs()
	if len(ids) == 0 {
		scopeOwnLimits(s)
		return nil
	}
	clearManagedFields(s, ids, lookup)
	m := &merge{
		s: s, rights: map[string]session.AccessDefinition{}, setBy: map[string]string{},
		didACL: map[string]bool{}, didQuota: map[string]bool{}, didRate: map[string]bool{},
		didDepth: map[string]bool{}, aclSources: map[string]bool{}, perAPI: map[string]bool{},
	}
	tags := newOrderedSet(s.Tags)
	for _, id := range ids {
		p, ok := lookup(id)
		if !ok {
			if len(ids) == 1 {
				return fmt.Errorf("policy not found: %q", id)
			}
			continue
		}
		if org.Enabled && p.OrgID != org.OrgID {
			return ErrOrgMismatch
		}
		if err := m.applyOne(p); err != nil {
			return err
		}
		s.HMACEnabled = s.HMACEnabled || p.HMACEnabled
		s.EnableHTTPSignatureValidation = s.EnableHTTPSignatureValidation || p.EnableHTTPSignatureValidation
		s.IsInactive = s.IsInactive || p.IsInactive
		tags.add(p.Tags...)
		for k, v := range p.MetaData {
			if s.MetaData == nil {
				s.MetaData = map[string]any{}
			}
			s.MetaData[k] = v
		}
		if p.LastUpdated > s.LastUpdated {
			s.LastUpdated = p.LastUpdated
		}
	}
	if len(tags.items) > 0 || s.Tags != nil {
		s.Tags = tags.items
	}
	m.finish()
	return nil
}

func (m *merge) applyOne(p Policy) error {
	parts := p.Partitions
	if parts.PerAPI {
		if parts.Quota || parts.RateLimit || parts.Acl || parts.Complexity {
			return fmt.Errorf("cannot apply policy %s which has per_api and any of partitions set", p.ID)
		}
		return m.applyPerAPI(p)
	}
	if len(p.AccessRights) == 0 {
		m.applyMaster(p)
		return nil
	}
	all := !parts.Enabled()
	for apiID, v := range p.AccessRights {
		if m.perAPI[apiID] {
			return ErrPerAPIMixing
		}
		ar, seen := m.rights[apiID]
		if !seen {
			ar = cloneAccess(v)
		}
		if all || parts.Acl {
			if seen {
				ar.Versions = appendMissing(ar.Versions, v.Versions...)
				ar.AllowedURLs = mergeURLs(ar.AllowedURLs, v.AllowedURLs)
				ar.DisableIntrospection = ar.DisableIntrospection || v.DisableIntrospection
			}
			m.didACL[apiID] = true
			m.setBy[apiID] = p.ID
			m.aclSources[p.ID] = true
		}
		if all || parts.Quota {
			m.didQuota[apiID] = true
			if greater(p.QuotaMax, ar.Limit.QuotaMax) {
				ar.Limit.QuotaMax = p.QuotaMax
				if greater(p.QuotaMax, m.s.QuotaMax) {
					m.s.QuotaMax = p.QuotaMax
				}
			}
			if p.QuotaRenewalRate > ar.Limit.QuotaRenewalRate {
				ar.Limit.QuotaRenewalRate = p.QuotaRenewalRate
				if p.QuotaRenewalRate > m.s.QuotaRenewalRate {
					m.s.QuotaRenewalRate = p.QuotaRenewalRate
				}
			}
		}
		if all || parts.RateLimit {
			m.didRate[apiID] = true
			if allowsMore(p.Rate, p.Per, ar.Limit.Rate, ar.Limit.Per) {
				ar.Limit.Rate, ar.Limit.Per, ar.Limit.Smoothing = p.Rate, p.Per, p.Smoothing
			}
			if allowsMore(p.Rate, p.Per, m.s.Rate, m.s.Per) {
				m.s.Rate, m.s.Per, m.s.Smoothing = p.Rate, p.Per, p.Smoothing
			}
			ar.Limit.ThrottleRetryLimit = max(ar.Limit.ThrottleRetryLimit, p.ThrottleRetryLimit)
			ar.Limit.ThrottleInterval = max(ar.Limit.ThrottleInterval, p.ThrottleInterval)
			m.s.ThrottleRetryLimit = max(m.s.ThrottleRetryLimit, p.ThrottleRetryLimit)
			m.s.ThrottleInterval = max(m.s.ThrottleInterval, p.ThrottleInterval)
		}
		if all || parts.Complexity {
			m.didDepth[apiID] = true
			if greater(int64(p.MaxQueryDepth), int64(ar.Limit.MaxQueryDepth)) {
				ar.Limit.MaxQueryDepth = p.MaxQueryDepth
				if greater(int64(p.MaxQueryDepth), int64(m.s.MaxQueryDepth)) {
					m.s.MaxQueryDepth = p.MaxQueryDepth
				}
			}
		}
		if cur, ok := m.s.AccessRights[apiID]; ok && !cur.Limit.IsEmpty() {
			ar.Limit.QuotaRenews = cur.Limit.QuotaRenews
		}
		m.rights[apiID] = ar
	}
	return nil
}

func (m *merge) applyPerAPI(p Policy) error {
	for apiID, v := range p.AccessRights {
		if _, touched := m.rights[apiID]; touched {
			return ErrPerAPIMixing
		}
		ar := cloneAccess(v)
		if ar.Limit.IsEmpty() {
			ar.Limit = session.APILimit{
				Rate: p.Rate, Per: p.Per, ThrottleInterval: p.ThrottleInterval,
				ThrottleRetryLimit: p.ThrottleRetryLimit, MaxQueryDepth: p.MaxQueryDepth,
				QuotaMax: p.QuotaMax, QuotaRenewalRate: p.QuotaRenewalRate, Smoothing: p.Smoothing,
			}
			ar.AllowanceScope = p.ID
		} else {
			ar.AllowanceScope = apiID
		}
		if cur, ok := m.s.AccessRights[apiID]; ok {
			ar.Limit.QuotaRenews = cur.Limit.QuotaRenews
			ar.DisableIntrospection = cur.DisableIntrospection
		}
		m.rights[apiID] = ar
		m.didACL[apiID], m.didQuota[apiID], m.didRate[apiID], m.didDepth[apiID] = true, true, true, true
		m.setBy[apiID] = p.ID
		m.perAPI[apiID] = true
	}
	m.aclSources[p.ID] = true
	return nil
}

// applyMaster handles a policy with no access rights: its limits overwrite
// the key's session-level limits, within its partitions.
func (m *merge) applyMaster(p Policy) {
	all := !p.Partitions.Enabled()
	if all || p.Partitions.RateLimit {
		m.s.Rate, m.s.Per, m.s.Smoothing = p.Rate, p.Per, p.Smoothing
		m.s.ThrottleInterval, m.s.ThrottleRetryLimit = p.ThrottleInterval, p.ThrottleRetryLimit
	}
	if all || p.Partitions.Complexity {
		m.s.MaxQueryDepth = p.MaxQueryDepth
	}
	if all || p.Partitions.Quota {
		m.s.QuotaMax, m.s.QuotaRenewalRate = p.QuotaMax, p.QuotaRenewalRate
	}
}

// finish drops APIs no policy granted, fills unset parts from the session
// level and installs the computed rights.
func (m *merge) finish() {
	s := m.s
	for apiID, ar := range m.rights {
		if !m.didACL[apiID] {
			delete(m.rights, apiID)
			continue
		}
		if !m.didRate[apiID] {
			ar.Limit.Rate, ar.Limit.Per, ar.Limit.Smoothing = s.Rate, s.Per, s.Smoothing
			ar.Limit.ThrottleInterval, ar.Limit.ThrottleRetryLimit = s.ThrottleInterval, s.ThrottleRetryLimit
		}
		if !m.didDepth[apiID] {
			ar.Limit.MaxQueryDepth = s.MaxQueryDepth
		}
		if !m.didQuota[apiID] {
			ar.Limit.QuotaMax, ar.Limit.QuotaRenewalRate, ar.Limit.QuotaRenews = s.QuotaMax, s.QuotaRenewalRate, s.QuotaRenews
		}
		if len(m.aclSources) > 1 && ar.AllowanceScope == "" {
			ar.AllowanceScope = m.setBy[apiID]
		}
		m.rights[apiID] = ar
	}
	if len(m.didQuota) == 1 && len(m.didRate) == 1 && len(m.didDepth) == 1 {
		for apiID := range m.didQuota {
			if ar, ok := m.rights[apiID]; ok && m.didRate[apiID] && m.didDepth[apiID] {
				s.Rate, s.Per, s.Smoothing = ar.Limit.Rate, ar.Limit.Per, ar.Limit.Smoothing
				s.QuotaMax, s.QuotaRenews, s.QuotaRenewalRate = ar.Limit.QuotaMax, ar.Limit.QuotaRenews, ar.Limit.QuotaRenewalRate
				s.MaxQueryDepth = ar.Limit.MaxQueryDepth
			}
		}
	}
	if len(m.didACL) > 0 {
		s.AccessRights = m.rights
	}
}

// clearManagedFields zeroes the session-level values the listed policies
// will set, so the merge starts from nothing (stops at the first missing one).
func clearManagedFields(s *session.State, ids []string, lookup Lookup) {
	for _, id := range ids {
		p, ok := lookup(id)
		if !ok {
			return
		}
		all := !p.Partitions.Enabled()
		if all || p.Partitions.Quota {
			s.QuotaMax, s.QuotaRemaining = 0, 0
		}
		if all || p.Partitions.RateLimit {
			s.Rate, s.Per, s.ThrottleInterval, s.ThrottleRetryLimit, s.Smoothing = 0, 0, 0, 0, nil
		}
		if all || p.Partitions.Complexity {
			s.MaxQueryDepth = 0
		}
	}
}

// scopeOwnLimits gives each access right with its own limit a counter scope
// named after its API, so per-API quotas count separately.
func scopeOwnLimits(s *session.State) {
	for apiID, ar := range s.AccessRights {
		if !ar.Limit.IsEmpty() && ar.AllowanceScope == "" {
			ar.AllowanceScope = apiID
			s.AccessRights[apiID] = ar
		}
	}
}

// inlinePolicies reads a meta_data.policies array, which Tyk lets a key use
// instead of the policy store.
func inlinePolicies(s *session.State) (Lookup, bool) {
	raw, ok := s.MetaData["policies"]
	if !ok {
		return nil, false
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, false
	}
	var list []Policy
	if json.Unmarshal(b, &list) != nil {
		return nil, false
	}
	byID := make(map[string]Policy, len(list))
	for _, p := range list {
		byID[p.ID] = p
	}
	return func(id string) (Policy, bool) { p, ok := byID[id]; return p, ok }, true
}

// greater compares limits where -1 means unlimited.
func greater(a, b int64) bool {
	if a == -1 {
		return b != -1
	}
	if b == -1 {
		return false
	}
	return a > b
}

// allowsMore reports whether rate/per permits more requests per second than
// the current curRate/curPer, treating an unset current limit as less.
func allowsMore(rate, per, curRate, curPer float64) bool {
	if curRate == 0 || curPer == 0 {
		return true
	}
	if rate <= 0 || per <= 0 {
		return false
	}
	return per/rate < curPer/curRate
}

func cloneAccess(v session.AccessDefinition) session.AccessDefinition {
	v.Versions = append([]string{}, v.Versions...)
	if v.AllowedURLs != nil {
		v.AllowedURLs = append([]session.AccessSpec{}, v.AllowedURLs...)
	}
	return v
}

func appendMissing(list []string, items ...string) []string {
	for _, it := range items {
		found := false
		for _, have := range list {
			if have == it {
				found = true
				break
			}
		}
		if !found {
			list = append(list, it)
		}
	}
	return list
}

// mergeURLs unions the methods of entries with the same URL and appends new
// URLs once. (Tyk appends all of a policy's URLs again when one is new,
// creating duplicates; that is a bug and not reproduced.)
func mergeURLs(have, add []session.AccessSpec) []session.AccessSpec {
	for _, a := range add {
		merged := false
		for i := range have {
			if have[i].URL == a.URL {
				have[i].Methods = appendMissing(append([]string{}, have[i].Methods...), a.Methods...)
				merged = true
				break
			}
		}
		if !merged {
			have = append(have, a)
		}
	}
	return have
}

// orderedSet keeps first-seen order for tags.
type orderedSet struct {
	items []string
	seen  map[string]bool
}

func newOrderedSet(initial []string) *orderedSet {
	o := &orderedSet{seen: map[string]bool{}}
	o.add(initial...)
	return o
}

func (o *orderedSet) add(items ...string) {
	for _, it := range items {
		if !o.seen[it] {
			o.seen[it] = true
			o.items = append(o.items, it)
		}
	}
}
