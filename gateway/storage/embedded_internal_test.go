package storage

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// rawCount counts stored entries, expired or not, to see what the sweeper
// and lazy expiry really removed from the file.
func rawCount(t *testing.T, s *Embedded) int {
	t.Helper()
	var n int
	if err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(kvBucket).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitRaw(t *testing.T, s *Embedded, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for rawCount(t, s) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d raw entries, want %d", rawCount(t, s), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSweepRemovesExpired(t *testing.T) {
	t.Parallel()
	s, err := OpenEmbedded(EmbeddedOptions{Dir: t.TempDir(), SweepInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// More entries than one sweep chunk, written in one transaction because
	// 10k fsynced Sets would dominate the test time.
	const total = sweepChunk + 500
	err = s.write(context.Background(), func(b *bolt.Bucket, now int64) error {
		for i := range total {
			k, exp := fmt.Sprintf("kept-%06d", i), int64(0)
			if i%2 == 0 {
				k, exp = fmt.Sprintf("gone-%06d", i), now+int64(200*time.Millisecond)
			}
			if err := b.Put([]byte(k), encode(exp, []byte("x"))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitRaw(t, s, total/2)
}

func TestLazyExpiryOnGet(t *testing.T) {
	t.Parallel()
	s, err := OpenEmbedded(EmbeddedOptions{Dir: t.TempDir(), SweepInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("v"), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := s.Get(ctx, "k"); err != ErrNotFound {
		t.Fatalf("Get(expired) = %v", err)
	}
	waitRaw(t, s, 0)
}

func TestLazyExpiryKeepsRenewedKey(t *testing.T) {
	t.Parallel()
	s, err := OpenEmbedded(EmbeddedOptions{Dir: t.TempDir(), SweepInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	_ = s.Set(ctx, "k", []byte("old"), time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	// The delete queued by a reader that saw the stale entry must not remove
	// a value written after it.
	_ = s.Set(ctx, "k", []byte("new"), 0)
	if err := s.write(ctx, deleteIfExpired([][]byte{[]byte("k")})); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, "k"); err != nil || string(v) != "new" {
		t.Fatalf("renewed key: %q, %v", v, err)
	}
}

// A failing op in a group must fail alone; its neighbours commit.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	t.Parallel()
	s, err := OpenEmbedded(EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	boom := fmt.Errorf("boom")
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.write(ctx, func(b *bolt.Bucket, _ int64) error {
				if i == 7 {
					return boom
				}
				return b.Put([]byte(fmt.Sprint("k", i)), encode(0, []byte("v")))
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 7) != (err == boom) {
			t.Fatalf("op %d: %v", i, err)
		}
	}
	if n := rawCount(t, s); n != 49 {
		t.Fatalf("%d entries committed, want 49", n)
	}
}

func TestEmptyKeyRejected(t *testing.T) {
	t.Parallel()
	s, err := OpenEmbedded(EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Set(context.Background(), "", []byte("v"), 0); err == nil {
		t.Fatal("Set with empty key succeeded")
	}
	if _, err := s.Incr(context.Background(), "", 0); err == nil {
		t.Fatal("Incr with empty key succeeded")
	}
}

// BenchmarkEmbeddedSet shows what group commit buys: run with -cpu 1,8 and
// compare ns/op; with parallel writers many Sets share one fsync.
func BenchmarkEmbeddedSet(b *testing.B) {
	s, err := OpenEmbedded(EmbeddedOptions{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var mu sync.Mutex
	n := 0
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		id := n
		n++
		mu.Unlock()
		i := 0
		for pb.Next() {
			if err := s.Set(ctx, fmt.Sprintf("b-%d-%d", id, i), []byte("value"), 0); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
