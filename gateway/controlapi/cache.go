package controlapi

import (
	"context"

	"github.com/tollgate/tollgate/gen"
)

// InvalidateCache drops every cached response of an API (unknown APIs
// too, as in Tyk: there is simply nothing to drop).
func (s *Server) InvalidateCache(ctx context.Context, req gen.InvalidateCacheRequestObject) (gen.InvalidateCacheResponseObject, error) {
	if s.Cache != nil {
		if _, err := s.Cache.DeletePrefix(ctx, "cache-"+req.ApiID); err != nil {
			s.Log.Error("cache invalidation", "api_id", req.ApiID, "error", err)
			return fail(500, "Cache invalidation failed"), nil
		}
	}
	return ok(statusBody{"ok", "cache invalidated"}), nil
}
