package cache

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/gateway/storage"
)

// Memory is the response cache of a gateway on the embedded store: process
// memory, bounded in bytes. Writing cache entries to the durable store
// would put an fsync on the response path for data that may be lost.
type Memory struct {
	mu      sync.Mutex
	entries map[string]memEntry
	size    int
	max     int
}

type memEntry struct {
	value   []byte
	expires time.Time
}

// NewMemory holds at most maxBytes of entries; when full, expired entries
// go first, then everything (the cache starts over rather than tracking
// recency on every hit).
func NewMemory(maxBytes int) *Memory {
	return &Memory{entries: map[string]memEntry{}, max: maxBytes}
}

func (m *Memory) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	if time.Now().After(e.expires) {
		m.drop(key, e)
		return nil, storage.ErrNotFound
	}
	return e.value, nil
}

func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.entries[key]; ok {
		m.drop(key, old)
	}
	if m.size+len(value) > m.max {
		now := time.Now()
		for k, e := range m.entries {
			if now.After(e.expires) {
				m.drop(k, e)
			}
		}
		if m.size+len(value) > m.max {
			clear(m.entries)
			m.size = 0
		}
	}
	m.entries[key] = memEntry{value: value, expires: time.Now().Add(ttl)}
	m.size += len(value)
	return nil
}

func (m *Memory) DeletePrefix(_ context.Context, prefix string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, e := range m.entries {
		if strings.HasPrefix(k, prefix) {
			m.drop(k, e)
			n++
		}
	}
	return n, nil
}

func (m *Memory) drop(k string, e memEntry) {
	delete(m.entries, k)
	m.size -= len(e.value)
}
