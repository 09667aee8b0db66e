package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRecordFileMode(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policies.json")
	if err := os.WriteFile(file, []byte(`{"default":{"rate":5,"per":1},"gold":{"id":"gold","rate":50,"per":1}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Store{RecordFile: file}
	if problems, err := s.Load(); err != nil || len(problems) != 0 {
		t.Fatalf("load: %v %v", problems, err)
	}
	if p, ok := s.Get("default"); !ok || p.Rate != 5 {
		t.Fatalf("the map key is the lookup ID: %+v %v", p, ok)
	}
	if err := s.Save(Policy{ID: "silver", Rate: 20, Per: 1}); err != nil {
		t.Fatal(err)
	}
	if existed, err := s.Delete("gold"); !existed || err != nil {
		t.Fatalf("delete: %v %v", existed, err)
	}
	reread := &Store{RecordFile: file}
	if _, err := reread.Load(); err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, p := range reread.List() {
		ids = append(ids, p.ID)
	}
	if _, ok := reread.Get("silver"); !ok || strings.Contains(strings.Join(ids, ","), "gold") {
		t.Fatalf("record file after writes holds %v", ids)
	}
}

func TestFolderModeReportsBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"good.json":   `{"id":"good"}`,
		"broken.json": `{"id":`,
		"noid.json":   `{"name":"x"}`,
		"z-dup.json":  `{"id":"good"}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := &Store{Dir: dir}
	problems, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.List()) != 1 || len(problems) != 3 {
		t.Fatalf("loaded %v, problems %v", s.List(), problems)
	}
}
