package controlapi

import (
	"context"

	"github.com/tollgate/tollgate/gateway/filestore"
	"github.com/tollgate/tollgate/gateway/policy"
	"github.com/tollgate/tollgate/gen"
)

// ListPolicies returns every policy (sorted by ID).
func (s *Server) ListPolicies(ctx context.Context, _ gen.ListPoliciesRequestObject) (gen.ListPoliciesResponseObject, error) {
	return ok(s.Policies.List()), nil
}

// GetPolicy returns one policy.
func (s *Server) GetPolicy(ctx context.Context, req gen.GetPolicyRequestObject) (gen.GetPolicyResponseObject, error) {
	p, found := s.Policies.Get(req.PolID)
	if !found {
		return fail(404, "Policy not found"), nil
	}
	return ok(p), nil
}

// AddPolicy writes a new (or replaces an existing) policy file. Unlike
// Tyk, which writes ".json" for an empty ID, the ID must be a usable name.
func (s *Server) AddPolicy(ctx context.Context, _ gen.AddPolicyRequestObject) (gen.AddPolicyResponseObject, error) {
	p, okBody := decodeBody[policy.Policy](ctx)
	if !okBody {
		return fail(400, msgMalformed), nil
	}
	return s.savePolicy(p, "added"), nil
}

// UpdatePolicy replaces a policy; the body's id must match the path.
func (s *Server) UpdatePolicy(ctx context.Context, req gen.UpdatePolicyRequestObject) (gen.UpdatePolicyResponseObject, error) {
	p, okBody := decodeBody[policy.Policy](ctx)
	if !okBody {
		return fail(400, msgMalformed), nil
	}
	if p.ID != req.PolID {
		return fail(400, "Request ID does not match that in policy! For Update operations these must match."), nil
	}
	return s.savePolicy(p, "modified"), nil
}

// savePolicy checks the ID and writes the policy file.
func (s *Server) savePolicy(p policy.Policy, action string) reply {
	if err := filestore.ValidID(p.ID); err != nil {
		return fail(400, "Invalid policy id: "+err.Error())
	}
	if err := s.Policies.Save(p); err != nil {
		s.Log.Error("writing policy", "id", p.ID, "error", err)
		return fail(500, "Failed to create file!")
	}
	return modified(p.ID, action, "")
}

// DeletePolicy removes a policy file. A missing policy is a 404 (Tyk says
// 500 "Delete failed"; the message is kept).
func (s *Server) DeletePolicy(ctx context.Context, req gen.DeletePolicyRequestObject) (gen.DeletePolicyResponseObject, error) {
	existed, err := s.Policies.Delete(req.PolID)
	if err != nil {
		s.Log.Error("deleting policy", "id", req.PolID, "error", err)
		return fail(500, "Delete failed"), nil
	}
	if !existed {
		return fail(404, "Delete failed"), nil
	}
	return modified(req.PolID, "deleted", ""), nil
}
