// Package middleware assembles the built-in request stages, in Tyk 5.4.0's
// order, with the plugin hook slots between them. Each stage lives in its
// own package and decides at load time whether it applies to an API.
package middleware

import (
	"github.com/tollgate/tollgate/middleware/access"
	"github.com/tollgate/tollgate/middleware/auth"
	"github.com/tollgate/tollgate/middleware/cache"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/headers"
	"github.com/tollgate/tollgate/middleware/iprules"
	"github.com/tollgate/tollgate/middleware/method"
	"github.com/tollgate/tollgate/middleware/ratelimit"
	"github.com/tollgate/tollgate/middleware/rewrite"
	"github.com/tollgate/tollgate/middleware/sizelimit"
	"github.com/tollgate/tollgate/middleware/timeout"
	"github.com/tollgate/tollgate/middleware/transform"
	"github.com/tollgate/tollgate/middleware/validate"
	"github.com/tollgate/tollgate/middleware/version"
	"github.com/tollgate/tollgate/plugins/jsvm"
)

// Blueprint is the request pipeline every API is built from.
func Blueprint() chain.Blueprint {
	return chain.Blueprint{
		// 1. version check: versions, mock replies, expiry, path status
		{Factory: version.New},

		// 2. pre hooks
		{Slot: chain.SlotPre},

		// 3. IP allow and block lists, org quotas, request size
		{Factory: iprules.NewAllowList},
		{Factory: iprules.NewBlockList},
		{Factory: ratelimit.NewOrgMonitor}, // after IP lists and mTLS, before request size
		{Factory: sizelimit.New},

		// 4. authentication; custom auth hooks run before token auth
		{Factory: auth.NewBasic},
		{Slot: chain.SlotAuth},
		{Factory: auth.NewToken},

		// 5. post-auth hooks, then checks on the key
		{Slot: chain.SlotPostKeyAuth},
		{Factory: auth.NewStripAuth},
		{Factory: access.NewKeyExpired},
		{Factory: access.NewRights},

		// 6. key rate limit and quota, API rate limit, JSON validation
		{Factory: ratelimit.NewRateLimitAndQuota}, // key limits, then the API's global limit (one stage)
		{Factory: validate.New},
		{Factory: timeout.New}, // hard_timeouts: sets the upstream deadline

		// 7. body and header transforms, URL rewrites, method transforms, cache read (a hit answers here), virtual
		// endpoints, post hooks, then the upstream
		{Factory: transform.New},
		{Factory: headers.New},
		{Factory: rewrite.New},
		{Factory: method.New},
		{Factory: cache.New},
		{Factory: jsvm.NewVirtualEndpoint},
		{Slot: chain.SlotPost},
	}
}

// ResponseBlueprint orders the response stages: body transform, header injection, the
// plugins' response hooks, then the cache writer, last so stored responses
// carry neither quota headers nor what later steps add.
func ResponseBlueprint() []chain.ResponseStep {
	return []chain.ResponseStep{
		{Factory: transform.NewResponse},
		{Factory: headers.NewResponse},
		{Hooks: true},
		{Factory: cache.NewWriter},
	}
}
