package keys

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/gateway/storage"
)

func cachedStore(t *testing.T) (*Store, *time.Time) {
	t.Helper()
	kv, err := storage.OpenEmbedded(storage.EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	now := time.Unix(1700000000, 0)
	c := NewSessionCache(time.Second)
	c.now = func() time.Time { return now }
	return &Store{KV: kv, Cache: c}, &now
}

func save(t *testing.T, s *Store, stored string, sess *session.State) {
	t.Helper()
	if err := s.Save(context.Background(), stored, sess, 0); err != nil {
		t.Fatal(err)
	}
}

func lookup(t *testing.T, s *Store, name string) *session.State {
	t.Helper()
	f, err := s.LookupCached(context.Background(), "org1", name)
	if err != nil {
		t.Fatalf("lookup %s: %v", name, err)
	}
	return f.Session
}

func TestCacheHitsAreCopies(t *testing.T) {
	s, _ := cachedStore(t)
	save(t, s, "org1abc", &session.State{OrgID: "org1", Tags: []string{"a"}})
	first := lookup(t, s, "org1abc")
	first.Tags[0] = "changed by a stage"
	first.IsInactive = true
	if again := lookup(t, s, "org1abc"); again.Tags[0] != "a" || again.IsInactive {
		t.Fatalf("a change to one request's session leaked into the cache: %+v", again)
	}
	if len(s.Cache.byName) != 1 {
		t.Fatalf("cache holds %d entries, want 1", len(s.Cache.byName))
	}
}

func TestCacheServesUntilTTL(t *testing.T) {
	s, now := cachedStore(t)
	save(t, s, "org1abc", &session.State{OrgID: "org1", Rate: 1})
	lookup(t, s, "org1abc")
	// A write that bypasses the Store (another node on the same Redis) is
	// seen once the entry expires.
	_ = s.KV.Set(context.Background(), sessionPrefix+"org1abc", []byte(`{"org_id":"org1","rate":2}`), 0)
	if got := lookup(t, s, "org1abc").Rate; got != 1 {
		t.Fatalf("rate %v before the TTL, want the cached 1", got)
	}
	*now = now.Add(time.Second)
	if got := lookup(t, s, "org1abc").Rate; got != 2 {
		t.Fatalf("rate %v after the TTL, want 2", got)
	}
}

func TestCacheWritesAndDeletesTakeEffectAtOnce(t *testing.T) {
	s, _ := cachedStore(t)
	save(t, s, "org1abc", &session.State{OrgID: "org1"})
	lookup(t, s, "org1abc")
	save(t, s, "org1abc", &session.State{OrgID: "org1", IsInactive: true})
	if !lookup(t, s, "org1abc").IsInactive {
		t.Fatal("a saved change was not seen by the next lookup")
	}
	if _, err := s.Delete(context.Background(), "org1abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupCached(context.Background(), "org1", "org1abc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted key: err %v, want ErrNotFound", err)
	}
}

func TestCacheNewKeyThatWinsTheLookup(t *testing.T) {
	s, _ := cachedStore(t)
	// "abc" presented for org1 finds the plain key "abc" first ...
	save(t, s, "abc", &session.State{OrgID: "other", Rate: 1})
	if got := lookup(t, s, "abc").Rate; got != 1 {
		t.Fatalf("rate %v", got)
	}
	// ... until org1's custom key "abc" exists: its ID ranks first.
	save(t, s, s.StoredName(s.NewKeyID("org1", "abc")), &session.State{OrgID: "org1", Rate: 2})
	if got := lookup(t, s, "abc").Rate; got != 2 {
		t.Fatalf("rate %v after creating the org's own key, want 2", got)
	}
}

func TestCacheDropsFillsOlderThanAWrite(t *testing.T) {
	s, _ := cachedStore(t)
	c := s.Cache
	c.mu.RLock()
	gen := c.gen
	c.mu.RUnlock()
	// A lookup read the store, then a write landed before it cached.
	c.invalidate(false, "org1abc")
	c.put(nameKey{"org1", "org1abc"}, Found{Session: &session.State{}, Stored: "org1abc"}, gen)
	if len(c.byName) != 0 {
		t.Fatal("a fill read before a write was cached")
	}
}

func TestNoCacheIsPlainLookup(t *testing.T) {
	s, _ := cachedStore(t)
	s.Cache = nil
	save(t, s, "org1abc", &session.State{OrgID: "org1"})
	a, b := lookup(t, s, "org1abc"), lookup(t, s, "org1abc")
	if a == b {
		t.Fatal("same session pointer twice")
	}
}

// TestCacheConcurrentUse runs lookups, writes and changes to the returned
// copies at once (meant for -race); afterwards the last write is what a
// lookup sees.
func TestCacheConcurrentUse(t *testing.T) {
	s, _ := cachedStore(t)
	save(t, s, "org1abc", &session.State{OrgID: "org1", AccessRights: map[string]session.AccessDefinition{"a": {APIID: "a"}}})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				f, err := s.LookupCached(context.Background(), "org1", "org1abc")
				if err != nil {
					t.Error(err)
					return
				}
				if ar := f.Session.AccessRights; ar != nil {
					ar["b"] = session.AccessDefinition{APIID: "b"} // a stage changing its copy
				}
				f.Session.Tags = append(f.Session.Tags, "t")
				if g == 0 && i%10 == 0 {
					_ = s.Save(context.Background(), "org1abc", &session.State{OrgID: "org1", Rate: float64(i)}, 0)
				}
			}
		}(g)
	}
	wg.Wait()
	save(t, s, "org1abc", &session.State{OrgID: "org1", Rate: 99})
	if got := lookup(t, s, "org1abc").Rate; got != 99 {
		t.Fatalf("rate %v after the last write, want 99", got)
	}
}
