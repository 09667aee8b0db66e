// Package storage holds the key-value store behind sessions, org sessions,
// counters and cluster notifications. Two backends implement Store: an
// embedded one (bbolt, the default, nothing to install) and Redis (go-redis
// UniversalClient: single node, sentinel or cluster). The rest of the gateway
// only sees the interface.
package storage

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by reads of a key that does not exist or has expired.
var ErrNotFound = errors.New("storage: key not found")

// ErrClosed is returned by calls made after Close, so callers can tell a
// shutdown race from a backend failure.
var ErrClosed = errors.New("storage: store is closed")

// ErrNotInteger is returned by Incr when the stored value is not a decimal
// integer (Redis says "value is not an integer or out of range").
var ErrNotInteger = errors.New("storage: value is not an integer or out of range")

// Store is a flat key-value space with optional per-key expiry.
// Keys use Tyk's names (apikey-<id>, orgkey.<org>, quota-<id>, ...) so that a
// Redis shared with other tools looks familiar.
type Store interface {
	// Get returns the value of key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// GetMulti returns one entry per key, nil where the key is missing.
	GetMulti(ctx context.Context, keys []string) ([][]byte, error)
	// Set writes key; a ttl <= 0 means no expiry. The write is durable when
	// Set returns (embedded: fsynced; Redis: acknowledged by the server).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes the keys and reports how many existed.
	Delete(ctx context.Context, keys ...string) (int, error)
	// Keys lists the keys that start with prefix (unordered).
	Keys(ctx context.Context, prefix string) ([]string, error)
	// DeletePrefix removes every key that starts with prefix.
	DeletePrefix(ctx context.Context, prefix string) (int, error)
	// Incr adds one to the integer at key (missing = 0) and returns the new
	// value; when the key is created by this call and ttl > 0, it expires
	// after ttl.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
	// TTL reports the time left before key expires: -1 for no expiry,
	// ErrNotFound for a missing key.
	TTL(ctx context.Context, key string) (time.Duration, error)
	// Publish sends msg to every subscriber of channel, on every node that
	// shares the store.
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribe calls fn for each message on channel until the returned
	// stop function is called.
	Subscribe(ctx context.Context, channel string, fn func(msg []byte)) (stop func(), err error)
	// Ping checks that the backend answers; /hello reports its result.
	Ping(ctx context.Context) error
	// Name is the backend name shown in logs and health ("embedded", "redis").
	Name() string
	Close() error
}
