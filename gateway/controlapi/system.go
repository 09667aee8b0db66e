package controlapi

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/gateway/storage"
	"github.com/tollgate/tollgate/gen"
)

// Version is the Gateway API level Tollgate speaks, as /hello reports it.
const Version = "v5.4.0"

// componentCheck is one item of the health details.
type componentCheck struct {
	Status        string `json:"status"`
	Output        string `json:"output,omitempty"`
	ComponentType string `json:"componentType"`
	Time          string `json:"time"`
}

type healthBody struct {
	Status      string                    `json:"status"`
	Version     string                    `json:"version"`
	Description string                    `json:"description"`
	Details     map[string]componentCheck `json:"details,omitempty"`
}

// healthCheck probes the store in the background so /hello never waits on
// it; the latest result is swapped in atomically.
type healthCheck struct {
	latest atomic.Pointer[map[string]componentCheck]
}

func startHealth(ctx context.Context, st storage.Store, every time.Duration, now func() time.Time) *healthCheck {
	if every <= 0 {
		every = 10 * time.Second
	}
	h := &healthCheck{}
	probe := func() {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		c := componentCheck{Status: "pass", ComponentType: "datastore", Time: now().UTC().Format(time.RFC3339)}
		if err := st.Ping(pctx); err != nil {
			c.Status, c.Output = "fail", err.Error()
		}
		h.latest.Store(&map[string]componentCheck{st.Name(): c})
	}
	probe()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				probe()
			}
		}
	}()
	return h
}

// Hello reports liveness: 200 always, with the store's last probe; the
// top-level status is pass, warn (some failed) or fail (all failed).
func (s *Server) Hello(ctx context.Context, _ gen.HelloRequestObject) (gen.HelloResponseObject, error) {
	body := healthBody{Status: "pass", Version: Version, Description: "Tollgate (Tyk Gateway API compatible)"}
	if d := s.health.latest.Load(); d != nil {
		body.Details = *d
		failed := 0
		for _, c := range *d {
			if c.Status == "fail" {
				failed++
			}
		}
		switch {
		case failed == len(*d) && failed > 0:
			body.Status = "fail"
		case failed > 0:
			body.Status = "warn"
		}
	}
	return ok(body), nil
}

// HotReload queues a reload of definitions and policies; block=true waits.
func (s *Server) HotReload(ctx context.Context, req gen.HotReloadRequestObject) (gen.HotReloadResponseObject, error) {
	wait := req.Params.Block != nil && bool(*req.Params.Block)
	if err := s.Reloader.Reload(ctx, wait); err != nil {
		return fail(500, "Reload failed: "+err.Error()), nil
	}
	return ok(statusBody{"ok", ""}), nil
}

// HotReloadGroup asks every node sharing the store to reload.
func (s *Server) HotReloadGroup(ctx context.Context, _ gen.HotReloadGroupRequestObject) (gen.HotReloadGroupResponseObject, error) {
	if err := s.Reloader.GroupReload(ctx); err != nil {
		return fail(500, "Group reload failed: "+err.Error()), nil
	}
	return ok(statusBody{"ok", ""}), nil
}

// schemaBody is the answer of GET /tyk/schema.
type schemaBody struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	Schema  string `json:"schema,omitempty"`
}

// GetSchema returns the JSON Schema Tollgate checks OAS API documents
// against, for OpenAPI 3.0.x.
func (s *Server) GetSchema(ctx context.Context, req gen.GetSchemaRequestObject) (gen.GetSchemaResponseObject, error) {
	v := ""
	if req.Params.OasVersion != nil {
		v = *req.Params.OasVersion
	}
	if v == "" {
		return reply{400, schemaBody{Status: "Failed", Message: "Should provide a value for parameter oasVersion"}}, nil
	}
	if v != "3.0" && !(len(v) > 4 && v[:4] == "3.0.") {
		return reply{404, schemaBody{Status: "Failed", Message: "Schema not found for version " + v}}, nil
	}
	b, _ := json.Marshal(oasSchema)
	return ok(schemaBody{Status: "Success", Schema: string(b)}), nil
}

// oasSchema is the outline of an OpenAPI 3.0 document carrying Tyk's
// x-tyk-api-gateway extension, which OAS API operations accept.
var oasSchema = map[string]any{
	"$schema":  "http://json-schema.org/draft-04/schema#",
	"type":     "object",
	"required": []string{"openapi", "info", "paths"},
	"properties": map[string]any{
		"openapi":           map[string]any{"type": "string", "pattern": "^3\\.0\\.\\d+(-.+)?$"},
		"info":              map[string]any{"type": "object", "required": []string{"title", "version"}},
		"paths":             map[string]any{"type": "object"},
		"servers":           map[string]any{"type": "array"},
		"components":        map[string]any{"type": "object"},
		"x-tyk-api-gateway": map[string]any{"type": "object", "required": []string{"info", "server"}},
		"security":          map[string]any{"type": "array"},
		"tags":              map[string]any{"type": "array"},
		"externalDocs":      map[string]any{"type": "object"},
	},
}
