package chain

import (
	"context"
	"log/slog"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/keys"
	"github.com/tollgate/tollgate/gateway/policy"
	"github.com/tollgate/tollgate/gateway/storage"
)

// Slot names a plugin hook point in the pipeline.
type Slot string

// The hook slots, in pipeline order.
const (
	SlotPre         Slot = "pre"
	SlotAuth        Slot = "auth"
	SlotPostKeyAuth Slot = "post_key_auth"
	SlotPost        Slot = "post"
	SlotResponse    Slot = "response"
)

// Env is what stages are built from: the gateway's settings and services.
type Env struct {
	// Cache holds cached responses (cache_options).
	Cache    ResponseCache
	Config   *config.Config
	Store    storage.Store
	Keys     *keys.Store
	Policies policy.Lookup
	Limits   Limits
	Log      *slog.Logger
	Now      func() time.Time
	// APIs finds another loaded API's definition (base/child versioning).
	APIs func(id string) (*apidef.Definition, bool)
	// Chain finds another API of the same load by API ID or name, for
	// handing a request on to it (base/child versioning). The data plane
	// sets it; it may only be called while serving requests.
	Chain func(idOrName string) (*API, bool)
}

// ResponseCache stores cached upstream responses: Redis when the gateway
// runs on Redis (shared by every node), process memory otherwise.
type ResponseCache interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	DeletePrefix(ctx context.Context, prefix string) (int, error)
}

// Limits is the counter service rate limits and quotas use; see
// middleware/ratelimit for the implementations.
type Limits any

// Factory builds one request stage for an API; it returns nil when the
// stage does not apply, so an unconfigured stage costs nothing per request.
type Factory func(def *apidef.Definition, env *Env) (Stage, error)

// ResponseFactory builds one response stage, or nil.
type ResponseFactory func(def *apidef.Definition, env *Env) (ResponseStage, error)

// Hooks are the plugin stages for each slot, filled by plugin runtimes.
type Hooks struct {
	Request  map[Slot][]Factory
	Response []ResponseFactory
}

// Blueprint is the ordered list of request stage factories, with hook
// slots marking where plugin stages go.
type Blueprint []Step

// Step is a built-in factory or a hook slot.
type Step struct {
	Factory Factory
	Slot    Slot
}

// Build makes the request stages of one API from the blueprint.
func (b Blueprint) Build(def *apidef.Definition, env *Env, hooks Hooks) ([]Stage, error) {
	var stages []Stage
	add := func(f Factory) error {
		st, err := f(def, env)
		if err != nil {
			return err
		}
		if st != nil {
			stages = append(stages, st)
		}
		return nil
	}
	for _, step := range b {
		if step.Factory != nil {
			if err := add(step.Factory); err != nil {
				return nil, err
			}
			continue
		}
		for _, f := range hooks.Request[step.Slot] {
			if err := add(f); err != nil {
				return nil, err
			}
		}
	}
	return stages, nil
}

// ResponseStep is a built-in response factory, or (Hooks) the place where
// the plugins' response hooks run.
type ResponseStep struct {
	Factory ResponseFactory
	Hooks   bool
}

// ResponseFactories lays out the response factories of steps with the
// hooks' factories in their place.
func ResponseFactories(steps []ResponseStep, hooks []ResponseFactory) []ResponseFactory {
	var out []ResponseFactory
	for _, st := range steps {
		if st.Hooks {
			out = append(out, hooks...)
		} else {
			out = append(out, st.Factory)
		}
	}
	return out
}

// BuildResponse makes the response stages of one API.
func BuildResponse(fs []ResponseFactory, def *apidef.Definition, env *Env) ([]ResponseStage, error) {
	var out []ResponseStage
	for _, f := range fs {
		st, err := f(def, env)
		if err != nil {
			return nil, err
		}
		if st != nil {
			out = append(out, st)
		}
	}
	return out, nil
}
