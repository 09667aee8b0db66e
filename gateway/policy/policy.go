// Package policy holds security policies: their model in Tyk's JSON shape,
// the file-backed store (one file per policy, or one record file), and the
// merge that applies policies to a key.
package policy

import (
	"github.com/tollgate/tollgate/gateway/session"
)

// Policy is a template of rights and limits applied to keys that list it.
type Policy struct {
	MID                           string                              `json:"_id"`
	ID                            string                              `json:"id"`
	Name                          string                              `json:"name"`
	OrgID                         string                              `json:"org_id"`
	Rate                          float64                             `json:"rate"`
	Per                           float64                             `json:"per"`
	QuotaMax                      int64                               `json:"quota_max"`
	QuotaRenewalRate              int64                               `json:"quota_renewal_rate"`
	ThrottleInterval              float64                             `json:"throttle_interval"`
	ThrottleRetryLimit            int                                 `json:"throttle_retry_limit"`
	MaxQueryDepth                 int                                 `json:"max_query_depth"`
	AccessRights                  map[string]session.AccessDefinition `json:"access_rights"`
	HMACEnabled                   bool                                `json:"hmac_enabled"`
	EnableHTTPSignatureValidation bool                                `json:"enable_http_signature_validation"`
	Active                        bool                                `json:"active"`
	IsInactive                    bool                                `json:"is_inactive"`
	Tags                          []string                            `json:"tags"`
	KeyExpiresIn                  int64                               `json:"key_expires_in"`
	Partitions                    Partitions                          `json:"partitions"`
	LastUpdated                   string                              `json:"last_updated"`
	MetaData                      map[string]any                      `json:"meta_data"`
	GraphQL                       map[string]any                      `json:"graphql_access_rights"`
	Smoothing                     *session.Smoothing                  `json:"smoothing"`
}

// Partitions say which parts of a policy apply; none set means all of them.
type Partitions struct {
	Quota      bool `json:"quota"`
	RateLimit  bool `json:"rate_limit"`
	Complexity bool `json:"complexity"`
	Acl        bool `json:"acl"`
	PerAPI     bool `json:"per_api"`
}

// Enabled reports whether any partition is switched on.
func (p Partitions) Enabled() bool {
	return p.Quota || p.RateLimit || p.Complexity || p.Acl || p.PerAPI
}
