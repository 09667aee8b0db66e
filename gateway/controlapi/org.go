package controlapi

import (
	"context"
	"errors"

	"github.com/tollgate/tollgate/gateway/filestore"
	"github.com/tollgate/tollgate/gateway/keys"
	"github.com/tollgate/tollgate/gen"
)

// ListOrgKeys lists org IDs that have an org session.
func (s *Server) ListOrgKeys(ctx context.Context, _ gen.ListOrgKeysRequestObject) (gen.ListOrgKeysResponseObject, error) {
	ids, err := s.Keys.ListOrgs(ctx, query(ctx, "filter"))
	if err != nil {
		return nil, err
	}
	return ok(map[string][]string{"keys": ids}), nil
}

// GetOrgKey returns an org session.
func (s *Server) GetOrgKey(ctx context.Context, req gen.GetOrgKeyRequestObject) (gen.GetOrgKeyResponseObject, error) {
	sess, err := s.Keys.GetOrg(ctx, req.KeyID)
	if errors.Is(err, keys.ErrNotFound) {
		return fail(404, "Org not found"), nil
	}
	if err != nil {
		return nil, err
	}
	return ok(sess), nil
}

// AddOrgKey creates or replaces an org session.
func (s *Server) AddOrgKey(ctx context.Context, req gen.AddOrgKeyRequestObject) (gen.AddOrgKeyResponseObject, error) {
	return s.writeOrg(ctx, req.KeyID, "added")
}

// UpdateOrgKey replaces an org session; reset_quota=1 restarts its quota.
func (s *Server) UpdateOrgKey(ctx context.Context, req gen.UpdateOrgKeyRequestObject) (gen.UpdateOrgKeyResponseObject, error) {
	return s.writeOrg(ctx, req.KeyID, "modified")
}

func (s *Server) writeOrg(ctx context.Context, orgID, action string) (reply, error) {
	if err := filestore.ValidID(orgID); err != nil {
		return fail(400, "Invalid org id: "+err.Error()), nil
	}
	sess, okBody := decodeSession(ctx)
	if !okBody {
		return fail(400, msgMalformed), nil
	}
	if query(ctx, "reset_quota") == "1" {
		if err := s.Keys.ResetOrgQuota(ctx, orgID); err != nil {
			return reply{}, err
		}
	}
	sess.Touch(s.Now())
	if err := s.Keys.SaveOrg(ctx, orgID, sess); err != nil {
		s.Log.Error("writing org session", "org", orgID, "error", err)
		return fail(500, "Error writing to key store "+err.Error()), nil
	}
	return modified(orgID, action, ""), nil
}

// DeleteOrgKey removes an org session.
func (s *Server) DeleteOrgKey(ctx context.Context, req gen.DeleteOrgKeyRequestObject) (gen.DeleteOrgKeyResponseObject, error) {
	existed, err := s.Keys.DeleteOrg(ctx, req.KeyID)
	if err != nil {
		return nil, err
	}
	if !existed {
		return fail(400, "Failed to remove the key"), nil
	}
	return modified(req.KeyID, "deleted", ""), nil
}
