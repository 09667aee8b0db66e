package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// EmbeddedOptions tunes the embedded store. Only Dir comes from the config
// file; the rest exists so tests can shorten the timings.
type EmbeddedOptions struct {
	// Dir holds the database file; created if missing.
	Dir string
	// SweepInterval is how often expired entries are purged (default 30s).
	// Reads never return expired entries, so this only bounds disk usage.
	SweepInterval time.Duration
	// LockTimeout bounds the wait for the file lock (default 2s), so a
	// second gateway on the same folder fails fast instead of hanging.
	LockTimeout time.Duration
}

const (
	embeddedFile       = "tollgate.db"
	embeddedFormat     = "1"
	defaultSweep       = 30 * time.Second
	defaultLockTimeout = 2 * time.Second

	// headerLen is the expiry prefix of every stored value: unix nanoseconds,
	// big endian, 0 = never.
	headerLen = 8
	// maxBatch caps one commit so a flood of writers cannot build a
	// transaction large enough to stall readers on remap.
	maxBatch = 1000
	// sweepChunk bounds each read transaction of the sweep: long read
	// transactions pin old pages and make the file grow.
	sweepChunk = 10000
	// subscriberBuffer is how many messages a slow subscriber may lag
	// before new ones are dropped for it (Redis disconnects such clients).
	subscriberBuffer = 1024
)

var (
	kvBucket   = []byte("kv")
	metaBucket = []byte("meta")
	formatKey  = []byte("format")
)

// Embedded is the bbolt-backed Store: a single file, no server, durable
// writes. It serves one gateway process; Publish reaches only subscribers
// of that process.
type Embedded struct {
	db  *bolt.DB
	dir string

	// closeMu makes "not closed yet, enqueue" atomic against Close, so Close
	// can close ops without racing a sender.
	closeMu sync.RWMutex
	closed  bool

	ops           chan *writeOp
	committerDone chan struct{}
	stopSweep     chan struct{}
	sweepDone     chan struct{}

	bus *bus
}

// writeOp is one write waiting for the committer. apply may run more than
// once (a failed group is retried op by op), so it must assign its results,
// never accumulate them. An error from apply aborts the whole transaction;
// per-call failures such as ErrNotInteger are kept in the closure instead so
// they do not fail unrelated writers in the same group.
type writeOp struct {
	apply func(b *bolt.Bucket, now int64) error
	done  chan error // nil: fire and forget
}

// OpenEmbedded opens (or creates) the store in opts.Dir.
func OpenEmbedded(opts EmbeddedOptions) (*Embedded, error) {
	if opts.Dir == "" {
		opts.Dir = DefaultDataDir
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = defaultSweep
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = defaultLockTimeout
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("storage: create data directory: %w", err)
	}
	db, err := bolt.Open(filepath.Join(opts.Dir, embeddedFile), 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("storage: data directory %s is in use by another process", opts.Dir)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", filepath.Join(opts.Dir, embeddedFile), err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(kvBucket); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		// A format marker lets a future layout change refuse (or migrate)
		// old files instead of misreading them.
		switch f := meta.Get(formatKey); {
		case f == nil:
			return meta.Put(formatKey, []byte(embeddedFormat))
		case string(f) != embeddedFormat:
			return fmt.Errorf("unsupported data format %q (this build reads %q)", f, embeddedFormat)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("storage: initialise %s: %w", opts.Dir, err)
	}

	s := &Embedded{
		db:            db,
		dir:           opts.Dir,
		ops:           make(chan *writeOp, maxBatch),
		committerDone: make(chan struct{}),
		stopSweep:     make(chan struct{}),
		sweepDone:     make(chan struct{}),
		bus:           newBus(),
	}
	go s.commitLoop()
	go s.sweepLoop(opts.SweepInterval)
	return s, nil
}

// Name implements Store.
func (s *Embedded) Name() string { return TypeEmbedded }

// Dir is the data directory, for startup logs.
func (s *Embedded) Dir() string { return s.dir }

// Close stops the sweeper, lets queued writes finish, and closes the file,
// releasing the lock for the next process.
func (s *Embedded) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()

	close(s.stopSweep)
	<-s.sweepDone
	close(s.ops) // safe: no sender can pass the closed check any more
	<-s.committerDone
	s.bus.close()
	return s.db.Close()
}

// --- write path -------------------------------------------------------------

// commitLoop is a group commit: it takes whatever writes are queued, applies
// them in one transaction and pays one fsync for all of them. Writers that
// arrive while a commit is in flight form the next group, so a lone writer
// never waits for a batching timer (bolt's DB.Batch waits MaxBatchDelay,
// 10ms, before every batch) while concurrent writers still share fsyncs.
func (s *Embedded) commitLoop() {
	defer close(s.committerDone)
	group := make([]*writeOp, 0, maxBatch)
	for op := range s.ops {
		group = append(group[:0], op)
	fill:
		for len(group) < maxBatch {
			select {
			case op, ok := <-s.ops:
				if !ok {
					break fill
				}
				group = append(group, op)
			default:
				break fill
			}
		}
		s.commit(group)
		clear(group) // drop references to finished ops
	}
}

func (s *Embedded) commit(group []*writeOp) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(kvBucket)
		now := time.Now().UnixNano()
		for _, op := range group {
			if err := op.apply(b, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(group) > 1 {
		// One bad op must not fail its neighbours: retry each alone.
		for _, op := range group {
			op.reply(s.db.Update(func(tx *bolt.Tx) error {
				return op.apply(tx.Bucket(kvBucket), time.Now().UnixNano())
			}))
		}
		return
	}
	for _, op := range group {
		op.reply(err)
	}
}

func (op *writeOp) reply(err error) {
	if op.done != nil {
		op.done <- err
	}
}

// write queues apply and waits until its transaction is committed (fsynced).
// If ctx ends first the write may still be committed later, as with a
// network store whose reply is lost.
func (s *Embedded) write(ctx context.Context, apply func(b *bolt.Bucket, now int64) error) error {
	if err := ctx.Err(); err != nil {
		return err // do not start a write the caller has already given up on
	}
	op := &writeOp{apply: apply, done: make(chan error, 1)}
	if err := s.enqueue(ctx, op); err != nil {
		return err
	}
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Embedded) enqueue(ctx context.Context, op *writeOp) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.ops <- op:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tryEnqueue queues a best-effort write (lazy expiry) without blocking the
// reader that noticed it; the sweeper catches whatever is skipped.
func (s *Embedded) tryEnqueue(op *writeOp) {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return
	}
	select {
	case s.ops <- op:
	default:
	}
}

// --- encoding ----------------------------------------------------------------

func encode(expireAt int64, value []byte) []byte {
	buf := make([]byte, headerLen+len(value))
	binary.BigEndian.PutUint64(buf, uint64(expireAt))
	copy(buf[headerLen:], value)
	return buf
}

// decode splits a stored value. Anything shorter than the header cannot
// have been written by this package; it is treated as missing.
func decode(raw []byte) (expireAt int64, value []byte, ok bool) {
	if len(raw) < headerLen {
		return 0, nil, false
	}
	return int64(binary.BigEndian.Uint64(raw)), raw[headerLen:], true
}

// live decodes raw and reports whether it is present and unexpired at now.
func live(raw []byte, now int64) (expireAt int64, value []byte, ok bool) {
	if raw == nil {
		return 0, nil, false
	}
	expireAt, value, ok = decode(raw)
	if !ok || (expireAt != 0 && expireAt <= now) {
		return 0, nil, false
	}
	return expireAt, value, true
}

func expiry(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return time.Now().Add(ttl).UnixNano()
}

func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("storage: empty key")
	case len(key) > bolt.MaxKeySize:
		return fmt.Errorf("storage: key longer than %d bytes", bolt.MaxKeySize)
	}
	return nil
}

// --- Store -------------------------------------------------------------------

func (s *Embedded) view(fn func(b *bolt.Bucket) error) error {
	err := s.db.View(func(tx *bolt.Tx) error { return fn(tx.Bucket(kvBucket)) })
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Get implements Store.
func (s *Embedded) Get(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	var stale bool
	err := s.view(func(b *bolt.Bucket) error {
		raw := b.Get([]byte(key))
		_, v, ok := live(raw, time.Now().UnixNano())
		if !ok {
			stale = raw != nil
			return ErrNotFound
		}
		out = bytes.Clone(v) // bolt memory is only valid inside the tx
		return nil
	})
	if stale {
		s.expireLazily(key)
	}
	return out, err
}

// GetMulti implements Store; all keys are read in one consistent snapshot.
func (s *Embedded) GetMulti(ctx context.Context, keys []string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	err := s.view(func(b *bolt.Bucket) error {
		now := time.Now().UnixNano()
		for i, k := range keys {
			if _, v, ok := live(b.Get([]byte(k)), now); ok {
				out[i] = bytes.Clone(v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Set implements Store.
func (s *Embedded) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if int64(len(value)) > bolt.MaxValueSize-headerLen {
		return errors.New("storage: value too large")
	}
	k, v := []byte(key), encode(expiry(ttl), value)
	return s.write(ctx, func(b *bolt.Bucket, _ int64) error { return b.Put(k, v) })
}

// Delete implements Store; expired entries are removed but not counted,
// as Redis would not have counted them either.
func (s *Embedded) Delete(ctx context.Context, keys ...string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	var n int
	err := s.write(ctx, func(b *bolt.Bucket, now int64) error {
		n = 0
		for _, key := range keys {
			k := []byte(key)
			raw := b.Get(k)
			if raw == nil {
				continue
			}
			if _, _, ok := live(raw, now); ok {
				n++
			}
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// Keys implements Store. Keys are bolt's sort order, so a Seek lands on the
// first match and the scan stops at the first key past the prefix.
func (s *Embedded) Keys(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	err := s.view(func(b *bolt.Bucket) error {
		now := time.Now().UnixNano()
		p := []byte(prefix)
		c := b.Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			if _, _, ok := live(v, now); ok {
				out = append(out, string(k))
			}
		}
		return nil
	})
	return out, err
}

// DeletePrefix implements Store, in a single transaction so that a crash
// never leaves half of a prefix deleted.
func (s *Embedded) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	var n int
	err := s.write(ctx, func(b *bolt.Bucket, now int64) error {
		n = 0
		p := []byte(prefix)
		var doomed [][]byte
		c := b.Cursor()
		// Collect first: deleting under a bolt cursor can skip entries.
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			if _, _, ok := live(v, now); ok {
				n++
			}
			doomed = append(doomed, bytes.Clone(k))
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// Incr implements Store. Read, add and write happen in one bolt transaction,
// and bolt has a single writer, so concurrent Incr calls never lose updates.
func (s *Embedded) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	k := []byte(key)
	var result int64
	var soft error
	err := s.write(ctx, func(b *bolt.Bucket, now int64) error {
		result, soft = 0, nil
		var cur, exp int64
		if e, v, ok := live(b.Get(k), now); ok {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n == math.MaxInt64 {
				soft = ErrNotInteger
				return nil
			}
			cur, exp = n, e
		} else if ttl > 0 {
			exp = now + int64(ttl)
		}
		result = cur + 1
		return b.Put(k, encode(exp, strconv.AppendInt(nil, result, 10)))
	})
	if err == nil {
		err = soft
	}
	if err != nil {
		return 0, err
	}
	return result, nil
}

// TTL implements Store.
func (s *Embedded) TTL(ctx context.Context, key string) (time.Duration, error) {
	var d time.Duration
	err := s.view(func(b *bolt.Bucket) error {
		now := time.Now().UnixNano()
		exp, _, ok := live(b.Get([]byte(key)), now)
		switch {
		case !ok:
			return ErrNotFound
		case exp == 0:
			d = -1
		default:
			d = time.Duration(exp - now)
		}
		return nil
	})
	return d, err
}

// Publish implements Store; delivery is to this process only.
func (s *Embedded) Publish(ctx context.Context, channel string, msg []byte) error {
	return s.bus.publish(channel, msg)
}

// Subscribe implements Store.
func (s *Embedded) Subscribe(ctx context.Context, channel string, fn func(msg []byte)) (func(), error) {
	return s.bus.subscribe(channel, fn)
}

// Ping implements Store: a read transaction fails once the file is closed.
func (s *Embedded) Ping(ctx context.Context) error {
	return s.view(func(b *bolt.Bucket) error {
		if b == nil {
			return errors.New("storage: kv bucket missing")
		}
		return nil
	})
}

// --- expiry ------------------------------------------------------------------

// deleteIfExpired re-checks inside the write transaction because a Set may
// have renewed the key since it was seen expired.
func deleteIfExpired(keys [][]byte) func(b *bolt.Bucket, now int64) error {
	return func(b *bolt.Bucket, now int64) error {
		for _, k := range keys {
			raw := b.Get(k)
			if raw == nil {
				continue
			}
			if _, _, ok := live(raw, now); !ok {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

func (s *Embedded) expireLazily(key string) {
	s.tryEnqueue(&writeOp{apply: deleteIfExpired([][]byte{[]byte(key)})})
}

func (s *Embedded) sweepLoop(every time.Duration) {
	defer close(s.sweepDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stopSweep:
			return
		case <-t.C:
			s.sweep()
		}
	}
}

// sweep removes expired entries, scanning in bounded chunks so neither the
// read nor the write transactions grow with the size of the store.
func (s *Embedded) sweep() {
	var from []byte
	for {
		select {
		case <-s.stopSweep:
			return
		default:
		}
		var expired [][]byte
		var next []byte
		err := s.view(func(b *bolt.Bucket) error {
			now := time.Now().UnixNano()
			c := b.Cursor()
			k, v := c.First()
			if from != nil {
				k, v = c.Seek(from)
			}
			for i := 0; k != nil; k, v = c.Next() {
				if i == sweepChunk {
					next = bytes.Clone(k)
					break
				}
				i++
				if _, _, ok := live(v, now); !ok {
					expired = append(expired, bytes.Clone(k))
				}
			}
			return nil
		})
		if err != nil {
			return
		}
		for len(expired) > 0 {
			n := min(len(expired), maxBatch)
			if s.write(context.Background(), deleteIfExpired(expired[:n])) != nil {
				return
			}
			expired = expired[n:]
		}
		if next == nil {
			return
		}
		from = next
	}
}

// --- in-process pub/sub ------------------------------------------------------

// bus fans messages out to subscribers of this process. Each subscriber has
// its own queue and goroutine so a slow callback delays only itself and
// Publish never blocks, matching Redis where PUBLISH does not wait for
// consumers.
type bus struct {
	mu     sync.Mutex
	subs   map[string]map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	fn    func([]byte)
	queue chan []byte
	stop  chan struct{}
	once  sync.Once
}

func newBus() *bus {
	return &bus{subs: make(map[string]map[*subscriber]struct{})}
}

func (b *bus) publish(channel string, msg []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	for sub := range b.subs[channel] {
		select {
		case sub.queue <- bytes.Clone(msg): // the publisher may reuse msg
		default: // subscriber too far behind: drop rather than stall everyone
		}
	}
	return nil
}

func (b *bus) subscribe(channel string, fn func([]byte)) (func(), error) {
	sub := &subscriber{fn: fn, queue: make(chan []byte, subscriberBuffer), stop: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	if b.subs[channel] == nil {
		b.subs[channel] = make(map[*subscriber]struct{})
	}
	b.subs[channel][sub] = struct{}{}
	b.mu.Unlock()

	go sub.run()
	stop := func() {
		b.mu.Lock()
		delete(b.subs[channel], sub)
		if len(b.subs[channel]) == 0 {
			delete(b.subs, channel)
		}
		b.mu.Unlock()
		sub.halt()
	}
	return stop, nil
}

func (sub *subscriber) halt() { sub.once.Do(func() { close(sub.stop) }) }

func (sub *subscriber) run() {
	for {
		select {
		case <-sub.stop:
			return
		case msg := <-sub.queue:
			select {
			case <-sub.stop: // stopped while this message waited
				return
			default:
			}
			sub.fn(msg)
		}
	}
}

func (b *bus) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for _, subs := range b.subs {
		for sub := range subs {
			sub.halt()
		}
	}
	b.subs = nil
}
