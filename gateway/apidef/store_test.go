package apidef

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadReportsBadFilesAndKeepsTheRest(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "good.json", `{"api_id":"good","proxy":{"listen_path":"/good/"}}`)
	writeFile(t, dir, "broken.json", `{"api_id":`)
	writeFile(t, dir, "badip.json", `{"api_id":"badip","allowed_ips":["300.1.1.1"]}`)
	writeFile(t, dir, "noid.json", `{"name":"no id"}`)
	writeFile(t, dir, "z-dup.json", `{"api_id":"good"}`)
	writeFile(t, dir, "skipped-oas.json", `{"openapi":"3.0.3"}`)
	writeFile(t, dir, "notes.txt", `not a definition`)

	s := &Store{Dir: dir}
	problems, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.List(); len(got) != 1 || got[0].Def.APIID != "good" {
		t.Fatalf("loaded %+v, want only good", got)
	}
	want := map[string]string{
		"broken.json": "invalid JSON",
		"badip.json":  `invalid IP/CIDR "300.1.1.1"`,
		"noid.json":   "invalid api_id",
		"z-dup.json":  "already defined",
	}
	if len(problems) != len(want) {
		t.Fatalf("problems %v", problems)
	}
	for _, p := range problems {
		reason, ok := want[filepath.Base(p.File)]
		if !ok || !strings.Contains(p.Reason, reason) {
			t.Errorf("%s: reason %q, want it to mention %q", p.File, p.Reason, reason)
		}
	}
}

func TestSaveKeepsUnknownFieldsAndRewritesItsOwnFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "custom-name.json", `{"api_id":"a1","name":"one"}`)
	s := &Store{Dir: dir}
	if _, err := s.Load(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save([]byte(`{"api_id":"a1","name":"two","extra":{"x":1}}`)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "custom-name.json"))
	if err != nil || !strings.Contains(string(data), `"extra"`) || !strings.Contains(string(data), `"two"`) {
		t.Fatalf("file %s, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a1.json")); !os.IsNotExist(err) {
		t.Fatal("a second file was written for the same api_id")
	}
}

func TestRouteProblem(t *testing.T) {
	tests := []struct{ name, listen, target, want string }{
		{"routable", "/a/", "http://x", ""},
		{"empty listen path", "", "http://x", "proxy.listen_path is empty"},
		{"spaces in listen path", "/a b/", "http://x", "proxy.listen_path contains spaces"},
		{"bad target", "/a/", "http://[::1", "proxy.target_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Definition{Proxy: Proxy{ListenPath: tt.listen, TargetURL: tt.target}}
			if got := d.RouteProblem(); !strings.HasPrefix(got, tt.want) || (tt.want == "") != (got == "") {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
