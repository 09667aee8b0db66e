// Package session holds the key (session) model shared by the control API and
// the data plane, in Tyk 5.4.0's JSON shape: every field is emitted, in Tyk's
// order, so a key read back from Tollgate looks like one read from Tyk.
package session

import (
	"strconv"
	"time"
)

// State is a key: its limits, its rights and its metadata.
type State struct {
	LastCheck                     int64                       `json:"last_check"`
	Allowance                     float64                     `json:"allowance"`
	Rate                          float64                     `json:"rate"`
	Per                           float64                     `json:"per"`
	ThrottleInterval              float64                     `json:"throttle_interval"`
	ThrottleRetryLimit            int                         `json:"throttle_retry_limit"`
	MaxQueryDepth                 int                         `json:"max_query_depth"`
	DateCreated                   time.Time                   `json:"date_created"`
	Expires                       int64                       `json:"expires"`
	QuotaMax                      int64                       `json:"quota_max"`
	QuotaRenews                   int64                       `json:"quota_renews"`
	QuotaRemaining                int64                       `json:"quota_remaining"`
	QuotaRenewalRate              int64                       `json:"quota_renewal_rate"`
	AccessRights                  map[string]AccessDefinition `json:"access_rights"`
	OrgID                         string                      `json:"org_id"`
	OauthClientID                 string                      `json:"oauth_client_id"`
	OauthKeys                     map[string]string           `json:"oauth_keys"`
	Certificate                   string                      `json:"certificate"`
	BasicAuthData                 BasicAuthData               `json:"basic_auth_data"`
	JWTData                       JWTData                     `json:"jwt_data"`
	HMACEnabled                   bool                        `json:"hmac_enabled"`
	EnableHTTPSignatureValidation bool                        `json:"enable_http_signature_validation"`
	HmacSecret                    string                      `json:"hmac_string"`
	RSACertificateId              string                      `json:"rsa_certificate_id"`
	IsInactive                    bool                        `json:"is_inactive"`
	ApplyPolicyID                 string                      `json:"apply_policy_id"`
	ApplyPolicies                 []string                    `json:"apply_policies"`
	DataExpires                   int64                       `json:"data_expires"`
	Monitor                       Monitor                     `json:"monitor"`
	EnableDetailRecording         bool                        `json:"enable_detail_recording"`
	EnableDetailedRecording       bool                        `json:"enable_detailed_recording"`
	MetaData                      map[string]any              `json:"meta_data"`
	Tags                          []string                    `json:"tags"`
	Alias                         string                      `json:"alias"`
	LastUpdated                   string                      `json:"last_updated"`
	IdExtractorDeadline           int64                       `json:"id_extractor_deadline"`
	SessionLifetime               int64                       `json:"session_lifetime"`
	Smoothing                     *Smoothing                  `json:"smoothing"`
}

// AccessDefinition grants a key access to one API, optionally with its own limits.
type AccessDefinition struct {
	APIName              string                  `json:"api_name"`
	APIID                string                  `json:"api_id"`
	Versions             []string                `json:"versions"`
	AllowedURLs          []AccessSpec            `json:"allowed_urls"`
	RestrictedTypes      []GraphQLType           `json:"restricted_types"`
	AllowedTypes         []GraphQLType           `json:"allowed_types"`
	Limit                APILimit                `json:"limit"`
	FieldAccessRights    []FieldAccessDefinition `json:"field_access_rights"`
	DisableIntrospection bool                    `json:"disable_introspection"`
	AllowanceScope       string                  `json:"allowance_scope"`
}

// AccessSpec restricts a key to URLs (unanchored regexes) and methods.
type AccessSpec struct {
	URL     string   `json:"url"`
	Methods []string `json:"methods"`
}

// GraphQLType names a GraphQL type and some of its fields.
type GraphQLType struct {
	Name   string   `json:"name"`
	Fields []string `json:"fields"`
}

// FieldAccessDefinition limits the query depth of one GraphQL field.
type FieldAccessDefinition struct {
	TypeName  string      `json:"type_name"`
	FieldName string      `json:"field_name"`
	Limits    FieldLimits `json:"limits"`
}

// FieldLimits holds per-field GraphQL limits.
type FieldLimits struct {
	MaxQueryDepth int `json:"max_query_depth"`
}

// APILimit is a per-API override of the key's rate limit and quota.
type APILimit struct {
	Rate               float64    `json:"rate"`
	Per                float64    `json:"per"`
	ThrottleInterval   float64    `json:"throttle_interval"`
	ThrottleRetryLimit int        `json:"throttle_retry_limit"`
	MaxQueryDepth      int        `json:"max_query_depth"`
	QuotaMax           int64      `json:"quota_max"`
	QuotaRenews        int64      `json:"quota_renews"`
	QuotaRemaining     int64      `json:"quota_remaining"`
	QuotaRenewalRate   int64      `json:"quota_renewal_rate"`
	Smoothing          *Smoothing `json:"smoothing"`
}

// IsEmpty reports whether no numeric field is set; an empty limit means the
// session-level values apply.
func (l APILimit) IsEmpty() bool {
	return l.Rate == 0 && l.Per == 0 && l.ThrottleInterval == 0 && l.ThrottleRetryLimit == 0 &&
		l.MaxQueryDepth == 0 && l.QuotaMax == 0 && l.QuotaRenews == 0 && l.QuotaRemaining == 0 &&
		l.QuotaRenewalRate == 0
}

// Smoothing configures gradual rate-limit increases.
type Smoothing struct {
	Enabled   bool    `json:"enabled"`
	Threshold int64   `json:"threshold"`
	Trigger   float64 `json:"trigger"`
	Step      int64   `json:"step"`
	Delay     int64   `json:"delay"`
}

// BasicAuthData is the password of a basic-auth key and how it is hashed.
type BasicAuthData struct {
	Password string `json:"password"`
	Hash     string `json:"hash_type"`
}

// JWTData holds a per-key JWT secret.
type JWTData struct {
	Secret string `json:"secret"`
}

// Monitor lists the quota-usage percentages that fire a trigger event.
type Monitor struct {
	TriggerLimits []float64 `json:"trigger_limits"`
}

// Touch sets last_updated to now, as Unix seconds in a string (Tyk's format).
func (s *State) Touch(now time.Time) {
	s.LastUpdated = strconv.FormatInt(now.Unix(), 10)
}

// PolicyIDs returns the policies applied to the key: apply_policies, or the
// legacy single apply_policy_id when that list is empty.
func (s *State) PolicyIDs() []string {
	if len(s.ApplyPolicies) > 0 {
		return s.ApplyPolicies
	}
	if s.ApplyPolicyID != "" {
		return []string{s.ApplyPolicyID}
	}
	return nil
}

// IsExpired reports whether an absolute expiry (>= 1) lies in the past.
func (s *State) IsExpired(now time.Time) bool {
	return s.Expires >= 1 && now.Unix() > s.Expires
}

// Clone returns a deep copy: no map, slice or pointer is shared with s, so
// the copy may be changed (a policy merge, a stage) while s is read
// elsewhere, e.g. by a session cache.
func (s *State) Clone() *State {
	c := *s
	if s.AccessRights != nil {
		c.AccessRights = make(map[string]AccessDefinition, len(s.AccessRights))
		for k, v := range s.AccessRights {
			c.AccessRights[k] = v.clone()
		}
	}
	if s.OauthKeys != nil {
		c.OauthKeys = make(map[string]string, len(s.OauthKeys))
		for k, v := range s.OauthKeys {
			c.OauthKeys[k] = v
		}
	}
	c.Monitor.TriggerLimits = cloneSlice(s.Monitor.TriggerLimits)
	if s.MetaData != nil {
		c.MetaData = cloneJSON(s.MetaData).(map[string]any)
	}
	c.Tags = cloneSlice(s.Tags)
	c.ApplyPolicies = cloneSlice(s.ApplyPolicies)
	c.Smoothing = clonePtr(s.Smoothing)
	return &c
}

func (a AccessDefinition) clone() AccessDefinition {
	a.Versions = cloneSlice(a.Versions)
	if a.AllowedURLs != nil {
		urls := make([]AccessSpec, len(a.AllowedURLs))
		for i, u := range a.AllowedURLs {
			urls[i] = AccessSpec{URL: u.URL, Methods: cloneSlice(u.Methods)}
		}
		a.AllowedURLs = urls
	}
	a.RestrictedTypes = cloneTypes(a.RestrictedTypes)
	a.AllowedTypes = cloneTypes(a.AllowedTypes)
	a.FieldAccessRights = cloneSlice(a.FieldAccessRights)
	a.Limit.Smoothing = clonePtr(a.Limit.Smoothing)
	return a
}

func cloneTypes(in []GraphQLType) []GraphQLType {
	if in == nil {
		return nil
	}
	out := make([]GraphQLType, len(in))
	for i, t := range in {
		out[i] = GraphQLType{Name: t.Name, Fields: cloneSlice(t.Fields)}
	}
	return out
}

// cloneJSON copies a decoded JSON value (meta_data): objects and arrays
// are copied, scalars are immutable.
func cloneJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = cloneJSON(e)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, e := range t {
			a[i] = cloneJSON(e)
		}
		return a
	}
	return v
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// cloneSlice copies a slice of values, keeping nil as nil and empty as
// empty so the JSON form (null or []) survives the copy.
func cloneSlice[T any](in []T) []T {
	if in == nil {
		return nil
	}
	return append([]T{}, in...)
}
