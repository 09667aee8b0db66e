package controlapi

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/filestore"
	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/gen"
)

// msgDashboardAPIs refuses definition writes on a Dashboard-managed node.
const msgDashboardAPIs = "Due to enabled use_db_app_configs, please use the Dashboard API"

// ListApis returns every stored definition, sorted by api_id.
func (s *Server) ListApis(ctx context.Context, _ gen.ListApisRequestObject) (gen.ListApisResponseObject, error) {
	list := s.APIs.List()
	out := make([]json.RawMessage, len(list))
	for i, a := range list {
		out[i] = a.Raw
	}
	return ok(out), nil
}

// GetApi returns one definition.
func (s *Server) GetApi(ctx context.Context, req gen.GetApiRequestObject) (gen.GetApiResponseObject, error) {
	a, found := s.APIs.Get(req.ApiID)
	if !found {
		return fail(404, "API not found"), nil
	}
	return ok(a.Raw), nil
}

// apiLoadState is the answer of GET /tyk/apis/{apiID}/status.
type apiLoadState struct {
	APIID  string `json:"api_id"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// GetApiStatus (a Tollgate addition) says whether the data plane serves an
// API, or why the last load left it out.
func (s *Server) GetApiStatus(ctx context.Context, req gen.GetApiStatusRequestObject) (gen.GetApiStatusResponseObject, error) {
	var state, reason string
	if s.LoadStates != nil {
		state, reason = s.LoadStates.LoadState(req.ApiID)
	}
	if state == "" {
		if _, found := s.APIs.Get(req.ApiID); !found {
			return fail(404, "API not found"), nil
		}
		state = "pending"
	}
	return ok(apiLoadState{APIID: req.ApiID, State: state, Reason: reason}), nil
}

// validationFailed is Tyk's reply to a definition it will not store.
func validationFailed(reason string) reply {
	return fail(400, "Validation of API Definition failed. Reason: "+reason+".")
}

// decodeDefinition reads a definition body as an object, so the stored
// document keeps every field the client sent.
func decodeDefinition(ctx context.Context) (map[string]any, bool) {
	var doc map[string]any
	if json.Unmarshal(rawBody(ctx), &doc) != nil || doc == nil {
		return nil, false
	}
	return doc, true
}

// CreateApi stores a new definition (a 32-hex api_id is generated when the
// body has none). With base_api_id it is added as a version of that API.
func (s *Server) CreateApi(ctx context.Context, req gen.CreateApiRequestObject) (gen.CreateApiResponseObject, error) {
	if s.Settings.UseDBAppConfigs {
		return fail(500, msgDashboardAPIs), nil
	}
	doc, okBody := decodeDefinition(ctx)
	if !okBody {
		return fail(400, msgMalformed), nil
	}
	id, _ := doc["api_id"].(string)
	if id == "" {
		id = session.NewID()
		doc["api_id"] = id
	}
	if err := filestore.ValidID(id); err != nil {
		return validationFailed("invalid api_id: " + err.Error()), nil
	}
	var base *apidef.API
	if p := req.Params.BaseApiId; p != nil && *p != "" {
		b, found := s.APIs.Get(*p)
		if !found {
			return fail(400, "Failed to create API: base API "+*p+" not found"), nil
		}
		base = &b
	}
	if r := s.saveDefinition(doc); r != nil {
		return *r, nil
	}
	if base != nil {
		if r := s.addVersion(*base, id, req.Params); r != nil {
			return *r, nil
		}
	}
	return modified(id, "added", ""), nil
}

// saveDefinition validates and writes doc; a non-nil reply is an error.
func (s *Server) saveDefinition(doc map[string]any) *reply {
	raw, err := json.Marshal(doc)
	if err != nil {
		r := fail(400, msgMalformed)
		return &r
	}
	if _, err := s.APIs.Save(raw); err != nil {
		var invalid *apidef.ValidationError
		if errors.As(err, &invalid) {
			r := validationFailed(invalid.Reason)
			return &r
		}
		s.Log.Error("writing API definition", "error", err)
		r := fail(500, "Failed to write API definition")
		return &r
	}
	return nil
}

// addVersion links a new child API into its base's definition.versions.
func (s *Server) addVersion(base apidef.API, childID string, p gen.CreateApiParams) *reply {
	var doc map[string]any
	if json.Unmarshal(base.Raw, &doc) != nil {
		r := fail(500, "Base API definition is unreadable")
		return &r
	}
	def, _ := doc["definition"].(map[string]any)
	if def == nil {
		def = map[string]any{}
	}
	def["enabled"] = true
	versions, _ := def["versions"].(map[string]any)
	if versions == nil {
		versions = map[string]any{}
	}
	name := childID
	if p.NewVersionName != nil && *p.NewVersionName != "" {
		name = *p.NewVersionName
	}
	versions[name] = childID
	def["versions"] = versions
	if p.BaseApiVersionName != nil && *p.BaseApiVersionName != "" {
		if cur, _ := def["name"].(string); cur == "" {
			def["name"] = *p.BaseApiVersionName
		}
	}
	if p.SetDefault != nil && *p.SetDefault {
		def["default"] = name
	}
	doc["definition"] = def
	return s.saveDefinition(doc)
}

// UpdateApi replaces a stored definition; the body's api_id must match.
func (s *Server) UpdateApi(ctx context.Context, req gen.UpdateApiRequestObject) (gen.UpdateApiResponseObject, error) {
	if s.Settings.UseDBAppConfigs {
		return fail(500, msgDashboardAPIs), nil
	}
	if _, found := s.APIs.Get(req.ApiID); !found {
		return fail(404, "API not found"), nil
	}
	doc, okBody := decodeDefinition(ctx)
	if !okBody {
		return fail(400, msgMalformed), nil
	}
	if id, _ := doc["api_id"].(string); id != req.ApiID {
		return fail(400, "Request APIID does not match that in Definition! For Update operations these must match."), nil
	}
	if r := s.saveDefinition(doc); r != nil {
		return *r, nil
	}
	return modified(req.ApiID, "modified", ""), nil
}

// DeleteApi removes a definition's file.
func (s *Server) DeleteApi(ctx context.Context, req gen.DeleteApiRequestObject) (gen.DeleteApiResponseObject, error) {
	existed, err := s.APIs.Delete(req.ApiID)
	if err != nil {
		s.Log.Error("deleting API", "id", req.ApiID, "error", err)
		return fail(500, "Delete failed"), nil
	}
	if !existed {
		return fail(404, "API not found"), nil
	}
	return modified(req.ApiID, "deleted", ""), nil
}

// versionMeta describes one version of a base API.
type versionMeta struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	VersionName    string `json:"versionName"`
	Internal       bool   `json:"internal"`
	ExpirationDate string `json:"expirationDate"`
	IsDefault      bool   `json:"isDefaultVersion"`
}

// ListApiVersions lists a base API and its child versions, optionally
// filtered by name (searchText) and by internal/external (accessType).
func (s *Server) ListApiVersions(ctx context.Context, req gen.ListApiVersionsRequestObject) (gen.ListApiVersionsResponseObject, error) {
	base, found := s.APIs.Get(req.ApiID)
	if !found {
		return fail(404, "API not found"), nil
	}
	vd := base.Def.Definition
	baseName := vd.Name
	if baseName == "" {
		baseName = "Default"
	}
	all := []versionMeta{metaOf(base.Def, baseName, vd.Default)}
	names := make([]string, 0, len(vd.Versions))
	for n := range vd.Versions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if child, ok := s.APIs.Get(vd.Versions[n]); ok && child.Def.APIID != base.Def.APIID {
			all = append(all, metaOf(child.Def, n, vd.Default))
		}
	}
	search, access := query(ctx, "searchText"), query(ctx, "accessType")
	out := all[:0]
	for _, m := range all {
		if search != "" && !strings.Contains(strings.ToLower(m.Name), strings.ToLower(search)) {
			continue
		}
		if (access == "internal" && !m.Internal) || (access == "external" && m.Internal) {
			continue
		}
		out = append(out, m)
	}
	return ok(map[string][]versionMeta{"apis": out}), nil
}

func metaOf(d apidef.Definition, version, def string) versionMeta {
	return versionMeta{
		ID: d.APIID, Name: d.Name, VersionName: version, Internal: d.Internal,
		ExpirationDate: d.Expiration, IsDefault: version == def,
	}
}
