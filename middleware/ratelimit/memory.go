package ratelimit

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/tollgate/tollgate/gateway/storage"
)

// shardCount spreads counters over independently locked maps so that
// requests of different keys rarely wait for each other.
const shardCount = 64

// Defaults of the in-process counters' background work.
const (
	defaultFlushInterval = 5 * time.Second
	defaultSweepInterval = 30 * time.Second
	// flushWorkers write counters to the store in parallel so the embedded
	// store's group commit pays one fsync for many of them.
	flushWorkers = 32
)

// MemoryOptions configure the in-process counters.
type MemoryOptions struct {
	// Store receives the quota counters (quota-... keys with their period
	// as expiry) every FlushInterval and on Close, and a counter not yet
	// in memory is read from it when first used, so quotas survive a
	// restart (and a counter written to the store by other means is
	// adopted). Nil keeps them in memory only. Rate-limit state is never
	// written (as with Tyk's in-memory limiter).
	Store storage.Store
	// Now is the clock (tests); nil = time.Now.
	Now func() time.Time
	// FlushInterval and SweepInterval tune the background work; zero
	// values pick the defaults (5 s, 30 s).
	FlushInterval, SweepInterval time.Duration
	Log                          *slog.Logger
}

// Memory is the in-process Counters used with the embedded store: a single
// gateway process owns that store, so its counters can live in memory.
type Memory struct {
	shards [shardCount]shard
	seed   maphash.Seed
	now    func() time.Time
	store  storage.Store
	log    *slog.Logger

	// flushMu keeps a flush from writing back a counter a Reset is
	// deleting.
	flushMu sync.Mutex

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type shard struct {
	mu    sync.Mutex
	cells map[cellKey]cell
	gen   uint64   // bumped by Reset, so a read from the store racing it is dropped
	_     [40]byte // keep shards on separate cache lines
}

type cellKey struct {
	kind  Kind
	scope string
	id    string
}

type cell struct {
	n       int64 // quota: requests counted in this period
	tat     int64 // rate: theoretical arrival time, Unix ns
	expires int64 // Unix ns; 0 = never
	dirty   bool  // quota: changed since the last flush
}

// NewMemory starts the in-process counters.
func NewMemory(_ context.Context, opts MemoryOptions) (*Memory, error) {
	m := &Memory{
		seed: maphash.MakeSeed(), now: opts.Now, store: opts.Store, log: opts.Log,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	for i := range m.shards {
		m.shards[i].cells = make(map[cellKey]cell)
	}
	flush, sweep := opts.FlushInterval, opts.SweepInterval
	if flush <= 0 {
		flush = defaultFlushInterval
	}
	if sweep <= 0 {
		sweep = defaultSweepInterval
	}
	go m.background(flush, sweep)
	return m, nil
}

func (m *Memory) shard(id string) *shard {
	return &m.shards[maphash.String(m.seed, id)%shardCount]
}

// Apply implements Counters.
func (m *Memory) Apply(ctx context.Context, checks []Check) (int, error) {
	if err := validate(checks); err != nil {
		return -1, err
	}
	now := m.now().UnixNano()
	for i := range checks {
		c := &checks[i]
		ok := true
		if c.Kind == KindRate {
			ok = m.rate(c, now)
		} else {
			var err error
			if ok, err = m.quota(ctx, c, now); err != nil {
				return -1, err
			}
		}
		if !ok {
			return i, nil
		}
	}
	return -1, nil
}

// rate is a GCRA step: the request passes when the bucket's theoretical
// arrival time, pushed by one interval, stays within the window.
func (m *Memory) rate(c *Check, now int64) bool {
	interval, window := gcra(c.Rate, c.Per, 1e9)
	k := cellKey{KindRate, c.Counter.Scope, c.Counter.ID}
	sh := m.shard(c.Counter.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	tat := sh.cells[k].tat
	if tat < now {
		tat = now
	}
	next := tat + interval
	if next-now > window {
		return false
	}
	if !c.Peek {
		sh.cells[k] = cell{tat: next, expires: next}
	}
	return true
}

// quota is Tyk's quota step (semantics reference §5.4) on an in-memory
// counter.
func (m *Memory) quota(ctx context.Context, c *Check, now int64) (bool, error) {
	k := cellKey{KindQuota, c.Counter.Scope, c.Counter.ID}
	period := c.RenewalRate * int64(time.Second)
	sh := m.shard(c.Counter.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cl, exists := sh.cells[k]
	if !exists && m.store != nil {
		var err error
		if cl, exists, err = m.adopt(ctx, sh, k); err != nil {
			return false, err
		}
	}
	if exists && cl.expires != 0 && now >= cl.expires {
		exists = false
	}
	n, fresh := int64(1), true
	if exists {
		n, fresh = cl.n+1, false
	} else {
		cl.expires = 0
		if period > 0 {
			cl.expires = now + period
		}
	}
	ok := true
	if n > c.Max {
		if period > 0 && now >= c.Renews*int64(time.Second) && (cl.expires == 0 || cl.expires-now > period) {
			// The session says the period is over but the counter does not
			// expire when it should (made before the renewal rate was set
			// or lowered): start a new period, as Tyk does.
			n, fresh, cl.expires = 1, true, now+period
		} else {
			ok = false
		}
	}
	cl.n, cl.dirty = n, true
	sh.cells[k] = cl
	c.Used, c.NewPeriod = n, fresh && ok
	c.PeriodEnd = 0
	if cl.expires != 0 {
		c.PeriodEnd = cl.expires / int64(time.Second)
	}
	return ok, nil
}

// adopt reads a quota counter that is not in memory from the store: one
// a previous run wrote, or one written there by other means. It is called,
// and returns, with sh locked; the lock is released during the read.
func (m *Memory) adopt(ctx context.Context, sh *shard, k cellKey) (cell, bool, error) {
	gen := sh.gen
	sh.mu.Unlock()
	cl, found, err := m.read(ctx, Counter{k.scope, k.id}.Name(KindQuota))
	sh.mu.Lock()
	if err != nil {
		return cell{}, false, err
	}
	if cur, ok := sh.cells[k]; ok { // another request got there first
		return cur, true, nil
	}
	if !found || sh.gen != gen { // a Reset ran meanwhile: what was read is gone
		return cell{}, false, nil
	}
	return cl, true, nil
}

func (m *Memory) read(ctx context.Context, name string) (cell, bool, error) {
	v, err := m.store.Get(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		return cell{}, false, nil
	}
	if err != nil {
		return cell{}, false, err
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return cell{}, false, nil // not a counter: start over
	}
	ttl, err := m.store.TTL(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		return cell{}, false, nil // expired meanwhile
	}
	if err != nil {
		return cell{}, false, err
	}
	var exp int64
	if ttl > 0 {
		exp = m.now().Add(ttl).UnixNano()
	}
	return cell{n: n, expires: exp}, true, nil
}

// QuotaUsed implements Counters.
func (m *Memory) QuotaUsed(ctx context.Context, c Counter) (int64, bool, error) {
	k := cellKey{KindQuota, c.Scope, c.ID}
	sh := m.shard(c.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cl, ok := sh.cells[k]
	if !ok && m.store != nil {
		var err error
		if cl, ok, err = m.adopt(ctx, sh, k); err != nil {
			return 0, false, err
		}
		if ok {
			sh.cells[k] = cl
		}
	}
	if !ok || (cl.expires != 0 && m.now().UnixNano() >= cl.expires) {
		return 0, false, nil
	}
	return cl.n, true, nil
}

// Reset implements Counters.
func (m *Memory) Reset(ctx context.Context, counters ...Counter) error {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	names := make([]string, 0, len(counters))
	for _, c := range counters {
		sh := m.shard(c.ID)
		sh.mu.Lock()
		delete(sh.cells, cellKey{KindRate, c.Scope, c.ID})
		delete(sh.cells, cellKey{KindQuota, c.Scope, c.ID})
		sh.gen++
		sh.mu.Unlock()
		names = append(names, c.Name(KindQuota))
	}
	if m.store == nil || len(names) == 0 {
		return nil
	}
	_, err := m.store.Delete(ctx, names...)
	return err
}

// Close implements Counters: it stops the background work and writes the
// quota counters to the store one last time.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() {
		close(m.stop)
		<-m.done
		m.flush()
	})
	return nil
}

func (m *Memory) background(flushEvery, sweepEvery time.Duration) {
	defer close(m.done)
	flushT := time.NewTicker(flushEvery)
	sweepT := time.NewTicker(sweepEvery)
	defer flushT.Stop()
	defer sweepT.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-flushT.C:
			m.flush()
		case <-sweepT.C:
			m.sweep()
		}
	}
}

// sweep drops expired counters so memory follows the active keys.
func (m *Memory) sweep() {
	now := m.now().UnixNano()
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for k, cl := range sh.cells {
			if cl.expires != 0 && now >= cl.expires {
				delete(sh.cells, k)
			}
		}
		sh.mu.Unlock()
	}
}

type flushRecord struct {
	name    string
	n       int64
	expires int64
}

// flush writes the quota counters changed since the last flush.
func (m *Memory) flush() {
	if m.store == nil {
		return
	}
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	var recs []flushRecord
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for k, cl := range sh.cells {
			if k.kind != KindQuota || !cl.dirty {
				continue
			}
			cl.dirty = false
			sh.cells[k] = cl
			recs = append(recs, flushRecord{Counter{k.scope, k.id}.Name(KindQuota), cl.n, cl.expires})
		}
		sh.mu.Unlock()
	}
	if len(recs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := m.now().UnixNano()
	work := make(chan flushRecord)
	var wg sync.WaitGroup
	var errOnce sync.Once
	for range min(flushWorkers, len(recs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				var ttl time.Duration
				if r.expires != 0 {
					if ttl = time.Duration(r.expires - now); ttl <= 0 {
						continue // over; the stored copy expires by itself
					}
				}
				if err := m.store.Set(ctx, r.name, strconv.AppendInt(nil, r.n, 10), ttl); err != nil {
					errOnce.Do(func() { m.log.Error("writing quota counters to the store", "error", err) })
				}
			}
		}()
	}
	for _, r := range recs {
		work <- r
	}
	close(work)
	wg.Wait()
}
