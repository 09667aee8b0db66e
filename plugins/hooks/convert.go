package hooks

import (
	"encoding/json"

	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/plugins/proto/coprocess"
)

// ToProto converts a session to the protocol's SessionState. Metadata
// values that are not strings are sent JSON-encoded; per-API limits,
// GraphQL settings and smoothing have no place in the message and are left
// out.
func ToProto(s *session.State) *coprocess.SessionState {
	if s == nil {
		return nil
	}
	p := &coprocess.SessionState{
		LastCheck: s.LastCheck, Allowance: s.Allowance, Rate: s.Rate, Per: s.Per,
		Expires: s.Expires, QuotaMax: s.QuotaMax, QuotaRenews: s.QuotaRenews,
		QuotaRemaining: s.QuotaRemaining, QuotaRenewalRate: s.QuotaRenewalRate,
		OrgId: s.OrgID, OauthClientId: s.OauthClientID, OauthKeys: s.OauthKeys,
		BasicAuthData: &coprocess.BasicAuthData{Password: s.BasicAuthData.Password, Hash: s.BasicAuthData.Hash},
		JwtData:       &coprocess.JWTData{Secret: s.JWTData.Secret},
		HmacEnabled:   s.HMACEnabled, HmacSecret: s.HmacSecret, IsInactive: s.IsInactive,
		ApplyPolicyId: s.ApplyPolicyID, DataExpires: s.DataExpires,
		Monitor:                 &coprocess.Monitor{TriggerLimits: s.Monitor.TriggerLimits},
		EnableDetailedRecording: s.EnableDetailedRecording || s.EnableDetailRecording,
		Metadata:                MetadataStrings(s.MetaData),
		Tags:                    s.Tags, Alias: s.Alias, LastUpdated: s.LastUpdated,
		IdExtractorDeadline: s.IdExtractorDeadline, SessionLifetime: s.SessionLifetime,
		ApplyPolicies: s.ApplyPolicies, Certificate: s.Certificate, MaxQueryDepth: int64(s.MaxQueryDepth),
	}
	if len(s.AccessRights) > 0 {
		p.AccessRights = make(map[string]*coprocess.AccessDefinition, len(s.AccessRights))
		for id, ar := range s.AccessRights {
			pa := &coprocess.AccessDefinition{ApiName: ar.APIName, ApiId: ar.APIID, Versions: ar.Versions}
			for _, u := range ar.AllowedURLs {
				pa.AllowedUrls = append(pa.AllowedUrls, &coprocess.AccessSpec{Url: u.URL, Methods: u.Methods})
			}
			p.AccessRights[id] = pa
		}
	}
	return p
}

// FromProto converts a session returned by a plugin. Metadata values stay
// strings.
func FromProto(p *coprocess.SessionState) *session.State {
	s := &session.State{
		LastCheck: p.GetLastCheck(), Allowance: p.GetAllowance(), Rate: p.GetRate(), Per: p.GetPer(),
		Expires: p.GetExpires(), QuotaMax: p.GetQuotaMax(), QuotaRenews: p.GetQuotaRenews(),
		QuotaRemaining: p.GetQuotaRemaining(), QuotaRenewalRate: p.GetQuotaRenewalRate(),
		OrgID: p.GetOrgId(), OauthClientID: p.GetOauthClientId(), OauthKeys: p.GetOauthKeys(),
		BasicAuthData: session.BasicAuthData{Password: p.GetBasicAuthData().GetPassword(), Hash: p.GetBasicAuthData().GetHash()},
		JWTData:       session.JWTData{Secret: p.GetJwtData().GetSecret()},
		HMACEnabled:   p.GetHmacEnabled(), HmacSecret: p.GetHmacSecret(), IsInactive: p.GetIsInactive(),
		ApplyPolicyID: p.GetApplyPolicyId(), DataExpires: p.GetDataExpires(),
		Monitor:                 session.Monitor{TriggerLimits: p.GetMonitor().GetTriggerLimits()},
		EnableDetailedRecording: p.GetEnableDetailedRecording(),
		Tags:                    p.GetTags(), Alias: p.GetAlias(), LastUpdated: p.GetLastUpdated(),
		IdExtractorDeadline: p.GetIdExtractorDeadline(), SessionLifetime: p.GetSessionLifetime(),
		ApplyPolicies: p.GetApplyPolicies(), Certificate: p.GetCertificate(), MaxQueryDepth: int(p.GetMaxQueryDepth()),
	}
	if md := p.GetMetadata(); len(md) > 0 {
		s.MetaData = make(map[string]any, len(md))
		for k, v := range md {
			s.MetaData[k] = v
		}
	}
	if ars := p.GetAccessRights(); len(ars) > 0 {
		s.AccessRights = make(map[string]session.AccessDefinition, len(ars))
		for id, pa := range ars {
			ar := session.AccessDefinition{APIName: pa.GetApiName(), APIID: pa.GetApiId(), Versions: pa.GetVersions()}
			for _, u := range pa.GetAllowedUrls() {
				ar.AllowedURLs = append(ar.AllowedURLs, session.AccessSpec{URL: u.GetUrl(), Methods: u.GetMethods()})
			}
			s.AccessRights[id] = ar
		}
	}
	return s
}

// MetadataStrings flattens session metadata to strings: strings as they
// are, anything else as JSON.
func MetadataStrings(md map[string]any) map[string]string {
	if len(md) == 0 {
		return nil
	}
	out := make(map[string]string, len(md))
	for k, v := range md {
		if s, ok := v.(string); ok {
			out[k] = s
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			continue
		}
		out[k] = string(b)
	}
	return out
}
