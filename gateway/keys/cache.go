package keys

import (
	"context"
	"sync"
	"time"
)

// DefaultCacheTTL is how long the data plane trusts a cached session. It
// bounds how stale a session can be when it changes without passing
// through this Store: written by another node sharing Redis, or expired by
// its lifetime in the store.
const DefaultCacheTTL = time.Second

// maxCached bounds the cache; when full it starts over.
const maxCached = 100_000

// SessionCache keeps sessions found by LookupCached for a short time, so
// that the data plane does not read and decode the stored JSON on every
// request (local_session_cache in tyk.conf). Every write and delete through
// the Store invalidates what it touches, so a key changed through this
// node's control API or data plane takes effect on the next request.
//
// Entries are keyed by the name as presented and the API's org (Lookup
// maps those to a stored name). Sessions in the cache are never handed out:
// each hit is a Clone, which the caller may change freely.
type SessionCache struct {
	ttl time.Duration
	now func() time.Time

	mu  sync.RWMutex
	gen uint64 // bumped by every invalidation; fills from older reads are dropped
	// byName holds the cached lookups.
	byName map[nameKey]cacheEntry
	// targets maps a stored name to the names cached as resolving to it.
	// A stored name is present, perhaps with no names, while it is known to
	// exist; writing one that is not known may create a key that now wins
	// a lookup cached as resolving elsewhere, so that clears the cache.
	targets map[string][]nameKey
}

type nameKey struct{ org, name string }

type cacheEntry struct {
	found   Found
	expires time.Time
}

// NewSessionCache returns an empty cache whose entries live for ttl.
func NewSessionCache(ttl time.Duration) *SessionCache {
	c := &SessionCache{ttl: ttl, now: time.Now}
	c.reset()
	return c
}

func (c *SessionCache) reset() {
	c.byName = map[nameKey]cacheEntry{}
	c.targets = map[string][]nameKey{}
}

// LookupCached is Lookup (not hashed) for the data plane: from the cache
// when a fresh entry exists, else from the store, remembering the result.
// Misses are not cached. Without a cache it is Lookup.
func (s *Store) LookupCached(ctx context.Context, expectedOrg, name string) (Found, error) {
	c := s.Cache
	if c == nil {
		return s.Lookup(ctx, expectedOrg, name, false)
	}
	k := nameKey{expectedOrg, name}
	c.mu.RLock()
	e, ok := c.byName[k]
	gen := c.gen
	c.mu.RUnlock()
	if ok && c.now().Before(e.expires) {
		return Found{Session: e.found.Session.Clone(), Stored: e.found.Stored}, nil
	}
	found, err := s.Lookup(ctx, expectedOrg, name, false)
	if err == nil {
		c.put(k, Found{Session: found.Session.Clone(), Stored: found.Stored}, gen)
	}
	return found, err
}

// put caches a lookup read at generation gen, unless something was
// invalidated since: the read may predate that write.
func (c *SessionCache) put(k nameKey, f Found, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.byName) >= maxCached || len(c.targets) >= maxCached {
		c.reset()
	}
	old, had := c.byName[k]
	if had && old.found.Stored != f.Stored {
		c.unlink(old.found.Stored, k)
	}
	if !had || old.found.Stored != f.Stored {
		c.targets[f.Stored] = append(c.targets[f.Stored], k)
	}
	c.byName[k] = cacheEntry{found: f, expires: c.now().Add(c.ttl)}
}

func (c *SessionCache) unlink(stored string, k nameKey) {
	names := c.targets[stored]
	for i, n := range names {
		if n == k {
			c.targets[stored] = append(names[:i], names[i+1:]...)
			return
		}
	}
}

// invalidate drops the lookups that resolved to stored names just written
// (or deleted). Writing a stored name the cache does not know clears it.
func (c *SessionCache) invalidate(deleted bool, stored ...string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, st := range stored {
		names, known := c.targets[st]
		if !known && !deleted {
			c.reset()
			return
		}
		for _, n := range names {
			delete(c.byName, n)
		}
		if deleted {
			delete(c.targets, st)
		} else {
			c.targets[st] = names[:0]
		}
	}
}
