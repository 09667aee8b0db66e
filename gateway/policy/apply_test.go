package policy

import (
	"testing"

	"github.com/tollgate/tollgate/gateway/session"
)

func lookupOf(ps ...Policy) Lookup {
	m := map[string]Policy{}
	for _, p := range ps {
		m[p.ID] = p
	}
	return func(id string) (Policy, bool) { p, ok := m[id]; return p, ok }
}

func access(apis ...string) map[string]session.AccessDefinition {
	m := map[string]session.AccessDefinition{}
	for _, a := range apis {
		m[a] = session.AccessDefinition{APIID: a, Versions: []string{"Default"}}
	}
	return m
}

func TestApplyHighestLimitsWin(t *testing.T) {
	pA := Policy{ID: "pA", Rate: 10, Per: 1, QuotaMax: 100, AccessRights: access("keyed")}
	pB := Policy{ID: "pB", Rate: 50, Per: 1, QuotaMax: 50, AccessRights: access("keyed", "wl")}
	s := &session.State{ApplyPolicies: []string{"pA", "pB"}}
	if err := Apply(s, lookupOf(pA, pB), OrgCheck{}); err != nil {
		t.Fatal(err)
	}
	keyed, wl := s.AccessRights["keyed"].Limit, s.AccessRights["wl"].Limit
	if keyed.Rate != 50 || keyed.Per != 1 || keyed.QuotaMax != 100 {
		t.Errorf("keyed limit %+v, want 50/1 quota 100", keyed)
	}
	if wl.Rate != 50 || wl.Per != 1 || wl.QuotaMax != 50 {
		t.Errorf("wl limit %+v, want 50/1 quota 50", wl)
	}
	if s.Rate != 50 || s.QuotaMax != 100 {
		t.Errorf("session rate %v quota %v, want 50 and 100", s.Rate, s.QuotaMax)
	}
	if got := s.AccessRights["keyed"].AllowanceScope; got == "" {
		t.Error("two ACL policies: each API gets an allowance scope")
	}
}

func TestApplyErrors(t *testing.T) {
	per := Policy{ID: "per", OrgID: "o1", Partitions: Partitions{PerAPI: true}, AccessRights: access("a")}
	normal := Policy{ID: "normal", OrgID: "o1", AccessRights: access("a")}
	mixed := Policy{ID: "mixed", Partitions: Partitions{PerAPI: true, Quota: true}, AccessRights: access("a")}
	tests := []struct {
		name string
		ids  []string
		org  OrgCheck
		want string
	}{
		{"a sole missing policy fails", []string{"nope"}, OrgCheck{}, `policy not found: "nope"`},
		{"another org's policy fails the org check", []string{"normal"}, OrgCheck{Enabled: true, OrgID: "o2"}, ErrOrgMismatch.Error()},
		{"per_api with partitions fails", []string{"mixed"}, OrgCheck{}, "cannot apply policy mixed which has per_api and any of partitions set"},
		{"per_api after a normal policy on one API fails", []string{"normal", "per"}, OrgCheck{}, ErrPerAPIMixing.Error()},
		{"a normal policy after per_api on one API fails", []string{"per", "normal"}, OrgCheck{}, ErrPerAPIMixing.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Apply(&session.State{ApplyPolicies: tt.ids}, lookupOf(per, normal, mixed), tt.org)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestApplyPartitionsAndMissing(t *testing.T) {
	acl := Policy{ID: "acl", Partitions: Partitions{Acl: true}, AccessRights: access("a")}
	quota := Policy{ID: "quota", QuotaMax: 500, QuotaRenewalRate: 60, Partitions: Partitions{Quota: true}, AccessRights: access("a", "b")}
	s := &session.State{ApplyPolicies: []string{"acl", "missing", "quota"}, Tags: []string{"own"}}
	if err := Apply(s, lookupOf(acl, quota), OrgCheck{}); err != nil {
		t.Fatalf("a missing policy among several is skipped: %v", err)
	}
	if _, ok := s.AccessRights["b"]; ok {
		t.Error("a quota-only partition must not grant access to b")
	}
	if got := s.AccessRights["a"].Limit.QuotaMax; got != 500 {
		t.Errorf("quota partition on a: %d", got)
	}
	if s.QuotaMax != 500 || s.QuotaRenewalRate != 60 {
		t.Errorf("session quota %d/%d", s.QuotaMax, s.QuotaRenewalRate)
	}
}

func TestApplyPerAPIScopesCounters(t *testing.T) {
	p := Policy{ID: "p", Rate: 5, Per: 1, QuotaMax: 10, Partitions: Partitions{PerAPI: true}, AccessRights: access("a")}
	s := &session.State{ApplyPolicies: []string{"p"}}
	if err := Apply(s, lookupOf(p), OrgCheck{}); err != nil {
		t.Fatal(err)
	}
	ar := s.AccessRights["a"]
	if ar.AllowanceScope != "p" || ar.Limit.Rate != 5 || ar.Limit.QuotaMax != 10 {
		t.Fatalf("per-API right %+v", ar)
	}
}

func TestApplyUnionsFlagsTagsAndMetadata(t *testing.T) {
	p1 := Policy{ID: "p1", Tags: []string{"t1"}, MetaData: map[string]any{"tier": "gold"}, HMACEnabled: true, AccessRights: access("a")}
	p2 := Policy{ID: "p2", Tags: []string{"t1", "t2"}, IsInactive: true, AccessRights: access("a")}
	s := &session.State{ApplyPolicies: []string{"p1", "p2"}, Tags: []string{"own"}}
	if err := Apply(s, lookupOf(p1, p2), OrgCheck{}); err != nil {
		t.Fatal(err)
	}
	if !s.HMACEnabled || !s.IsInactive || s.MetaData["tier"] != "gold" {
		t.Errorf("flags/metadata not merged: %+v", s)
	}
	if len(s.Tags) != 3 {
		t.Errorf("tags %v, want own, t1, t2", s.Tags)
	}
}

func TestApplyWithoutPoliciesScopesOwnLimits(t *testing.T) {
	s := &session.State{AccessRights: map[string]session.AccessDefinition{"a": {Limit: session.APILimit{QuotaMax: 3}}}}
	if err := Apply(s, lookupOf(), OrgCheck{}); err != nil {
		t.Fatal(err)
	}
	if s.AccessRights["a"].AllowanceScope != "a" {
		t.Fatalf("scope %q", s.AccessRights["a"].AllowanceScope)
	}
}
