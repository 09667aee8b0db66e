package filestore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidID(t *testing.T) {
	for _, id := range []string{"a1", "keyed-v2", "pol_1", "ключ", "🔑", "a.b"} {
		if err := ValidID(id); err != nil {
			t.Errorf("%q refused: %v", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", "../x", "a/b", `a\b`, ".hidden", "a\x00b", "a\nb", strings.Repeat("x", MaxIDLength+1), "\xff"} {
		if err := ValidID(id); err == nil {
			t.Errorf("%q accepted", id)
		}
	}
}

func TestWriteAtomicReplacesAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "x.json")
	for _, body := range []string{"one", "two"} {
		if err := WriteAtomic(p, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Fatalf("content %q", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
	if existed, err := Remove(p); !existed || err != nil {
		t.Fatalf("remove: %v %v", existed, err)
	}
	if existed, _ := Remove(p); existed {
		t.Fatal("second remove reported a file")
	}
}
