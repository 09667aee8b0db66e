package cache

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
)

// maxEntry bounds the body the cache stores; larger responses stream
// through uncached.
const maxEntry = 2 << 20

// Writer is the response stage that stores cacheable responses. It runs
// last, so stored responses carry neither X-Ratelimit-* nor plugin
// headers added after it.
type Writer struct {
	store       chain.ResponseCache
	upstreamCtl bool
	ttlHeader   string
	now         func() time.Time
}

// NewWriter applies with the cache read stage.
func NewWriter(def *apidef.Definition, env *chain.Env) (chain.ResponseStage, error) {
	if !def.CacheOptions.EnableCache || env.Cache == nil {
		return nil, nil
	}
	ttlHeader := def.CacheOptions.CacheControlTTLHeader
	if ttlHeader == "" {
		ttlHeader = "x-tyk-cache-action-set-ttl"
	}
	return &Writer{store: env.Cache, upstreamCtl: def.CacheOptions.EnableUpstreamCacheControl,
		ttlHeader: ttlHeader, now: env.Now}, nil
}

func (*Writer) Name() string { return "ResponseCacheMiddleware" }

// ProcessResponse buffers and stores the response when the request was
// marked cacheable (or the upstream asks for caching) and its status is
// one of the cacheable codes.
func (wr *Writer) ProcessResponse(resp *http.Response, req *chain.Request) error {
	if req == nil || req.Cache.Key == "" {
		return nil
	}
	d := req.Cache
	if wr.upstreamCtl {
		asked := resp.Header.Get("x-tyk-cache-action-set") != ""
		if d.UpstreamDecides && !asked {
			return nil
		}
		if secs, err := strconv.Atoi(resp.Header.Get(wr.ttlHeader)); asked && err == nil && secs > 0 {
			d.TTL = time.Duration(secs) * time.Second
		}
	}
	if len(d.Codes) > 0 && !slices.Contains(d.Codes, resp.StatusCode) {
		return nil
	}
	if resp.ContentLength > maxEntry {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxEntry+1))
	if err != nil {
		return err
	}
	rest := resp.Body
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), rest), rest}
	if len(body) > maxEntry {
		return nil // too big: pass it on, uncached
	}
	entry, err := encode(resp, body, wr.now().Add(d.TTL))
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = wr.store.Set(ctx, d.Key, entry, d.TTL) // a cache that cannot be written is only a miss later
	return nil
}
