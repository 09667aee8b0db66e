// Package controlapi implements the Gateway API (Tyk 5.4.0's /tyk/ control
// API) on top of the strict server interface generated from
// openapi/gateway.yml. Requests are checked against that document before an
// operation runs; operations answer with Tyk's statuses and messages.
package controlapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/keys"
	"github.com/tollgate/tollgate/gateway/policy"
	"github.com/tollgate/tollgate/gateway/storage"
	"github.com/tollgate/tollgate/gen"
)

// Settings are the tyk.conf values the control API acts on.
type Settings struct {
	Secret                  string
	MaxBodyBytes            int64
	HealthPath              string // health_check_endpoint_name
	AllowMasterKeys         bool
	HashKeys                bool
	EnableHashedKeysListing bool
	BasicAuthHashFunction   string
	GlobalSessionLifetime   int64
	ForceGlobalLifetime     bool
	LifetimeRespectsExpiry  bool
	LivenessInterval        time.Duration
	UseDBAppConfigs         bool // definitions come from a Dashboard: /tyk/apis writes are refused
}

// Reloader is the part of the gateway that reloads definitions and policies.
type Reloader interface {
	// Reload queues a reload; with wait it returns once the reload is done.
	Reload(ctx context.Context, wait bool) error
	// GroupReload asks every node sharing the store to reload.
	GroupReload(ctx context.Context) error
}

// LoadStates tells whether the data plane serves an API (Tollgate's
// GET /tyk/apis/{apiID}/status).
type LoadStates interface {
	// LoadState returns "loaded", or "failed" with the reason, or "" when
	// the last load did not see the API.
	LoadState(apiID string) (state, reason string)
}

// ResponseCache is the part of the response cache the control API uses.
type ResponseCache interface {
	DeletePrefix(ctx context.Context, prefix string) (int, error)
}

// Server implements gen.StrictServerInterface.
type Server struct {
	Settings Settings
	APIs     *apidef.Store
	Policies *policy.Store
	Keys     *keys.Store
	Store    storage.Store
	Reloader Reloader
	// Cache holds cached responses; nil when the gateway has none.
	Cache ResponseCache
	Log   *slog.Logger
	Now   func() time.Time

	// LoadStates, when set, answers GET /tyk/apis/{apiID}/status.
	LoadStates LoadStates

	health *healthCheck
}

var _ gen.StrictServerInterface = (*Server)(nil)

// Handler returns the control API's HTTP handler and starts the health
// probe, which stops with ctx.
func (s *Server) Handler(ctx context.Context) (http.Handler, error) {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Settings.MaxBodyBytes <= 0 {
		s.Settings.MaxBodyBytes = 4 << 20
	}
	s.health = startHealth(ctx, s.Store, s.Settings.LivenessInterval, s.Now)
	return newHandler(s, s.Settings.Secret, s.Settings.MaxBodyBytes, s.Settings.HealthPath, s.Log)
}
