// Package storagetest is the behaviour every storage.Store must share. Both
// backends run the same suite so the gateway can switch between them without
// noticing; a difference found here is a bug in one of them.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/storage"
)

// wait bounds every "eventually" check. It is generous because CI machines
// stall; the checks return as soon as the condition holds.
const wait = 5 * time.Second

// Run runs the suite. open must return a working store and arrange for it
// to be closed (t.Cleanup); it is called once per subtest, possibly in
// parallel, and the stores may share data (one Redis server): every subtest
// works under its own key prefix and channel names.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store, p string)
	}{
		{"GetSet", testGetSet},
		{"BinaryValues", testBinaryValues},
		{"GetMulti", testGetMulti},
		{"Delete", testDelete},
		{"Keys", testKeys},
		{"GlobCharsInPrefix", testGlobPrefix},
		{"DeletePrefix", testDeletePrefix},
		{"Incr", testIncr},
		{"IncrConcurrent", testIncrConcurrent},
		{"IncrTTL", testIncrTTL},
		{"TTL", testTTL},
		{"Expiry", testExpiry},
		{"PubSub", testPubSub},
		{"PingName", testPingName},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			tc.fn(t, s, prefix(t))
		})
	}
}

// prefix isolates a subtest's keys from other subtests and earlier runs
// against the same server.
func prefix(t *testing.T) string {
	name := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	return fmt.Sprintf("st%08x.%s:", rand.Uint32(), name)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, s storage.Store, key string, want []byte) {
	t.Helper()
	got, err := s.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

func mustMissing(t *testing.T, s storage.Store, key string) {
	t.Helper()
	got, err := s.Get(ctx(t), key)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
}

func sortedKeys(t *testing.T, s storage.Store, prefix string) []string {
	t.Helper()
	keys, err := s.Keys(ctx(t), prefix)
	must(t, err)
	slices.Sort(keys)
	return keys
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", wait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testGetSet(t *testing.T, s storage.Store, p string) {
	c := ctx(t)
	mustMissing(t, s, p+"nope")
	must(t, s.Set(c, p+"k", []byte("v1"), 0))
	mustGet(t, s, p+"k", []byte("v1"))
	must(t, s.Set(c, p+"k", []byte("v2"), 0))
	mustGet(t, s, p+"k", []byte("v2"))

	// Empty is a value, not absence: GetMulti relies on nil meaning missing.
	must(t, s.Set(c, p+"empty", nil, 0))
	got, err := s.Get(c, p+"empty")
	must(t, err)
	if got == nil || len(got) != 0 {
		t.Fatalf("Get(empty) = %#v, want non-nil empty", got)
	}

	// The caller may reuse its buffer after Set, and mutate what Get returned.
	buf := []byte("original")
	must(t, s.Set(c, p+"buf", buf, 0))
	copy(buf, "XXXXXXXX")
	got, err = s.Get(c, p+"buf")
	must(t, err)
	copy(got, "YYYYYYYY")
	mustGet(t, s, p+"buf", []byte("original"))

	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	must(t, s.Set(c, p+"big", big, 0))
	mustGet(t, s, p+"big", big)
}

func testBinaryValues(t *testing.T, s storage.Store, p string) {
	c := ctx(t)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	invalid := []byte{0xff, 0xfe, 0x00, 0xc3, 0x28, 0xa0, 0xa1, '\r', '\n', 0x80}
	must(t, s.Set(c, p+"all", all, 0))
	must(t, s.Set(c, p+"invalid", invalid, 0))
	mustGet(t, s, p+"all", all)
	mustGet(t, s, p+"invalid", invalid)
	vals, err := s.GetMulti(c, []string{p + "all", p + "invalid"})
	must(t, err)
	if !bytes.Equal(vals[0], all) || !bytes.Equal(vals[1], invalid) {
		t.Fatalf("GetMulti mangled binary values: %q", vals)
	}
}

func testGetMulti(t *testing.T, s storage.Store, p string) {
	c := ctx(t)
	must(t, s.Set(c, p+"a", []byte("A"), 0))
	must(t, s.Set(c, p+"b", []byte("B"), 0))
	must(t, s.Set(c, p+"empty", []byte{}, 0))
	// Many keys, so that in a cluster they land in different hash slots.
	keys := []string{p + "missing1", p + "a", p + "missing2", p + "b", p + "a", p + "empty"}
	for i := range 20 {
		keys = append(keys, p+"nothing"+strconv.Itoa(i))
	}
	vals, err := s.GetMulti(c, keys)
	must(t, err)
	if len(vals) != len(keys) {
		t.Fatalf("GetMulti returned %d entries for %d keys", len(vals), len(keys))
	}
	want := [][]byte{nil, []byte("A"), nil, []byte("B"), []byte("A"), {}}
	for i, v := range vals {
		var w []byte
		if i < len(want) {
			w = want[i]
		}
		if (v == nil) != (w == nil) || !bytes.Equal(v, w) {
			t.Fatalf("GetMulti[%d] (%s) = %#v, want %#v", i, keys[i], v, w)
		}
	}
	vals, err = s.GetMulti(c, nil)
	must(t, err)
	if len(vals) != 0 {
		t.Fatalf("GetMulti(nil) = %q", vals)
	}
}

func testDelete(t *testing.T, s storage.Store, p string) {
	c := ctx(t)
	for _, k := range []string{"a", "b", "c"} {
		must(t, s.Set(c, p+k, []byte(k), 0))
	}
	n, err := s.Delete(c, p+"a", p+"missing", p+"b", p+"a")
	must(t, err)
	if n != 2 {
		t.Fatalf("Delete counted %d, want 2", n)
	}
	mustMissing(t, s, p+"a")
	mustMissing(t, s, p+"b")
	mustGet(t, s, p+"c", []byte("c"))
	n, err = s.Delete(c)
	must(t, err)
	if n != 0 {
		t.Fatalf("Delete() counted %d", n)
	}
	n, err = s.Delete(c, p+"missing")
	must(t, err)
	if n != 0 {
		t.Fatalf("Delete(missing) counted %d", n)
	}
}

func testKeys(t *testing.T, s storage.Store, p string) {
	c := ctx(t)
	want := []string{p + "apikey-1", p + "apikey-2", p + "apikey-3"}
	for _, k := range append(slices.Clone(want), p+"orgkey.1", p+"apikez") {
		must(t, s.Set(c, k, []byte("x"), 0))
	}
	// Enough keys to need several SCAN pages.
	for i := range 1500 {
		k := fmt.Sprintf("%sbulk-%04d", p, i)
		must(t, s.Set(c, k, []byte("x"), 0))
	}
	if got := sortedKeys(t, s, p+"apikey-"); !slices.Equal(got, want) {
		t.Fatalf("Keys = %q, want %q", got, want)
	}
	if got := sortedKeys(t, s, p+"bulk-"); len(got) != 1500 {
		t.Fatalf("Keys(bulk) found %d, want 1500", len(got))
	}
	if got := sortedKeys(t, s, p+"nothing-"); len(got) != 0 {
		t.Fatalf("Keys(nothing) = %q", got)
	}
	if got := sortedKeys(t, s, p); len(got) != 1505 {
		t.Fatalf("Keys(all of prefix) found %d, want 1505", len(got))
	}
}

// globKeys stresses SCAN MATCH: every pattern character must be literal.
func globKeys(p string) (match, other []string) {
	match = []string{p + `a*b`, p + `a*b1`, p + `a*b*`}
	other = []string{p + `aXb`, p + `aXb1`, p + `a*c`, p + `a?b`, p + `a[b]`, p + `a\b`, p + `a`}
	return match, other
}

func testGlobPrefix(t *testing.T, s storage.Store, p string) {
	c := ctx(t)
	match, other := globKeys(p)
	for _, k := range append(slices.Clone(match), other...) {
		must(t, s.Set(c, k, []byte("x"), 0))
	}
	slices.Sort(match)
	if got := sortedKeys(t, s, p+`a*b`); !slices.Equal(got, match) {
		t.Fatalf("Keys(a*b) = %q, want %q", got, match)
	}
	for _, lit := range []string{`a?b`, `a[b]`, `a\b`} {
		if got := sortedKeys(t, s, p+lit); !slices.Equal(got, []string{p + lit}) {
			t.Fatalf("Keys(%s) = %q, want only itself", lit, got)
		}
	}
	n, err := s.DeletePrefix(c, p+`a*b`)
	must(t, err)
	if n != len(match) {
		t.Fatalf("DeletePrefix(a*b) = %d, want %d", n, len(match))
	}
	for _, k := range other {
		mustGet(t, s, k, []byte("x"))
	}
}

func testDeletePrefix(t *testing.T, s storage.Store, p string) {
	c := ctx(t)
	for i := range 1200 {
		must(t, s.Set(c, fmt.Sprintf("%sgone-%d", p, i), []byte("x"), 0))
	}
	must(t, s.Set(c, p+"gonx", []byte("x"), 0))
	must(t, s.Set(c, p+"gone", []byte("x"), 0)) // the prefix itself is a match
	n, err := s.DeletePrefix(c, p+"gone")
	must(t, err)
	if n != 1201 {
		t.Fatalf("DeletePrefix counted %d, want 1201", n)
	}
	if got := sortedKeys(t, s, p); !slices.Equal(got, []string{p + "gonx"}) {
		t.Fatalf("left after DeletePrefix: %d keys", len(got))
	}
	n, err = s.DeletePrefix(c, p+"gone")
	must(t, err)
	if n != 0 {
		t.Fatalf("second DeletePrefix counted %d", n)
	}
}

func testIncr(t *testing.T, s storage.Store, p string) {
	c := ctx(t)
	for want := int64(1); want <= 3; want++ {
		n, err := s.Incr(c, p+"n", 0)
		must(t, err)
		if n != want {
			t.Fatalf("Incr = %d, want %d", n, want)
		}
	}
	// Stored as decimal text, as Redis does, so both backends read alike.
	mustGet(t, s, p+"n", []byte("3"))

	must(t, s.Set(c, p+"set", []byte("41"), 0))
	n, err := s.Incr(c, p+"set", 0)
	must(t, err)
	if n != 42 {
		t.Fatalf("Incr after Set 41 = %d", n)
	}
	must(t, s.Set(c, p+"neg", []byte("-5"), 0))
	if n, err = s.Incr(c, p+"neg", 0); err != nil || n != -4 {
		t.Fatalf("Incr(-5) = %d, %v", n, err)
	}

	for _, bad := range []string{"abc", "1.5", "", "9223372036854775807"} {
		must(t, s.Set(c, p+"bad", []byte(bad), 0))
		if n, err := s.Incr(c, p+"bad", 0); err == nil {
			t.Fatalf("Incr on %q = %d, want an error", bad, n)
		}
	}
	must(t, s.Set(c, p+"bad", []byte("abc"), 0))
	if _, err := s.Incr(c, p+"bad", 0); !errors.Is(err, storage.ErrNotInteger) {
		t.Fatalf("Incr on text: %v, want ErrNotInteger", err)
	}
	mustGet(t, s, p+"bad", []byte("abc")) // a failed Incr changes nothing
}

func testIncrConcurrent(t *testing.T, s storage.Store, p string) {
	c := ctx(t)
	const workers, each = 16, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := s.Incr(c, p+"ctr", time.Hour); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mustGet(t, s, p+"ctr", []byte(strconv.Itoa(workers*each)))
}

func testIncrTTL(t *testing.T, s storage.Store, p string) {
	c := ctx(t)
	n, err := s.Incr(c, p+"q", time.Second)
	must(t, err)
	if n != 1 {
		t.Fatalf("Incr = %d", n)
	}
	ttl, err := s.TTL(c, p+"q")
	must(t, err)
	if ttl <= 0 || ttl > time.Second {
		t.Fatalf("TTL after Incr(1s) = %v", ttl)
	}
	// The window is set by the first hit only; later ttls do not extend it.
	if n, err = s.Incr(c, p+"q", time.Hour); err != nil || n != 2 {
		t.Fatalf("second Incr = %d, %v", n, err)
	}
	ttl, err = s.TTL(c, p+"q")
	must(t, err)
	if ttl <= 0 || ttl > time.Second {
		t.Fatalf("TTL after second Incr = %v, want the first one kept", ttl)
	}

	if _, err := s.Incr(c, p+"forever", 0); err != nil {
		t.Fatal(err)
	}
	if ttl, err := s.TTL(c, p+"forever"); err != nil || ttl != -1 {
		t.Fatalf("TTL of Incr(ttl 0) = %v, %v; want -1", ttl, err)
	}
	// An existing key without expiry does not gain one.
	if _, err := s.Incr(c, p+"forever", time.Hour); err != nil {
		t.Fatal(err)
	}
	if ttl, err := s.TTL(c, p+"forever"); err != nil || ttl != -1 {
		t.Fatalf("TTL after Incr(1h) on a permanent key = %v, %v; want -1", ttl, err)
	}

	eventually(t, "counter expires", func() bool {
		_, err := s.Get(c, p+"q")
		return errors.Is(err, storage.ErrNotFound)
	})
	if n, err = s.Incr(c, p+"q", time.Hour); err != nil || n != 1 {
		t.Fatalf("Incr after expiry = %d, %v; want a fresh 1", n, err)
	}
}

func testTTL(t *testing.T, s storage.Store, p string) {
	c := ctx(t)
	if _, err := s.TTL(c, p+"missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("TTL(missing): %v, want ErrNotFound", err)
	}
	must(t, s.Set(c, p+"k", []byte("v"), 0))
	if ttl, err := s.TTL(c, p+"k"); err != nil || ttl != -1 {
		t.Fatalf("TTL(no expiry) = %v, %v; want -1", ttl, err)
	}
	must(t, s.Set(c, p+"k", []byte("v"), time.Minute))
	ttl, err := s.TTL(c, p+"k")
	must(t, err)
	if ttl <= 50*time.Second || ttl > time.Minute {
		t.Fatalf("TTL = %v, want about 1m", ttl)
	}
	// A plain Set replaces the expiry too, as in Redis.
	must(t, s.Set(c, p+"k", []byte("v"), 0))
	if ttl, err := s.TTL(c, p+"k"); err != nil || ttl != -1 {
		t.Fatalf("TTL after Set without ttl = %v, %v; want -1", ttl, err)
	}
}

func testExpiry(t *testing.T, s storage.Store, p string) {
	c := ctx(t)
	must(t, s.Set(c, p+"short", []byte("v"), time.Second))
	must(t, s.Set(c, p+"long", []byte("v"), time.Hour))
	must(t, s.Set(c, p+"none", []byte("v"), 0))
	mustGet(t, s, p+"short", []byte("v"))

	eventually(t, "short key expires", func() bool {
		_, err := s.Get(c, p+"short")
		return errors.Is(err, storage.ErrNotFound)
	})
	if got := sortedKeys(t, s, p); !slices.Equal(got, []string{p + "long", p + "none"}) {
		t.Fatalf("Keys after expiry = %q", got)
	}
	vals, err := s.GetMulti(c, []string{p + "short", p + "long"})
	must(t, err)
	if vals[0] != nil || vals[1] == nil {
		t.Fatalf("GetMulti after expiry = %q", vals)
	}
	if _, err := s.TTL(c, p+"short"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("TTL(expired): %v", err)
	}
	if n, err := s.Delete(c, p+"short"); err != nil || n != 0 {
		t.Fatalf("Delete(expired) = %d, %v; want 0", n, err)
	}
	// An expired key can be written again.
	must(t, s.Set(c, p+"short", []byte("again"), 0))
	mustGet(t, s, p+"short", []byte("again"))
}

func testPubSub(t *testing.T, s storage.Store, p string) {
	c := ctx(t)
	ch, other := p+"notify", p+"other"

	type inbox struct {
		mu   sync.Mutex
		msgs [][]byte
	}
	recv := func(in *inbox) func([]byte) {
		return func(m []byte) {
			in.mu.Lock()
			in.msgs = append(in.msgs, m)
			in.mu.Unlock()
		}
	}
	count := func(in *inbox) int {
		in.mu.Lock()
		defer in.mu.Unlock()
		return len(in.msgs)
	}
	var a, b, o inbox
	stopA, err := s.Subscribe(c, ch, recv(&a))
	must(t, err)
	stopB, err := s.Subscribe(c, ch, recv(&b))
	must(t, err)
	defer stopB()
	stopO, err := s.Subscribe(c, other, recv(&o))
	must(t, err)
	defer stopO()

	msg := []byte{0xff, 0x00, 'h', 'i', 0x80}
	must(t, s.Publish(c, ch, msg))
	const burst = 50
	for i := range burst {
		must(t, s.Publish(c, ch, []byte(strconv.Itoa(i))))
	}
	eventually(t, "both subscribers get every message", func() bool {
		return count(&a) == burst+1 && count(&b) == burst+1
	})
	for _, in := range []*inbox{&a, &b} {
		in.mu.Lock()
		if !bytes.Equal(in.msgs[0], msg) {
			t.Fatalf("binary message arrived as %q", in.msgs[0])
		}
		for i, m := range in.msgs[1:] {
			if string(m) != strconv.Itoa(i) {
				t.Fatalf("message %d arrived as %q: order lost", i, m)
			}
		}
		in.mu.Unlock()
	}
	if n := count(&o); n != 0 {
		t.Fatalf("subscriber of another channel got %d messages", n)
	}

	stopA()
	stopA() // idempotent
	must(t, s.Publish(c, ch, []byte("after")))
	eventually(t, "remaining subscriber gets the next message", func() bool { return count(&b) == burst+2 })
	time.Sleep(100 * time.Millisecond) // give a wrongly delivered message time to land
	if n := count(&a); n != burst+1 {
		t.Fatalf("stopped subscriber got %d messages, want %d", n, burst+1)
	}
}

func testPingName(t *testing.T, s storage.Store, p string) {
	must(t, s.Ping(ctx(t)))
	if s.Name() == "" {
		t.Fatal("Name() is empty")
	}
}

func testClose(t *testing.T, s storage.Store, p string) {
	c := ctx(t)
	var got int
	var mu sync.Mutex
	_, err := s.Subscribe(c, p+"ch", func([]byte) { mu.Lock(); got++; mu.Unlock() })
	must(t, err)
	must(t, s.Close())
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Ping(c); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
	if _, err := s.Get(c, p+"k"); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Get after Close: %v, want ErrClosed", err)
	}
	if err := s.Set(c, p+"k", []byte("v"), 0); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Set after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Subscribe(c, p+"ch", func([]byte) {}); err == nil {
		t.Fatal("Subscribe after Close succeeded")
	}
}
