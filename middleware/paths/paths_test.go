package paths

import (
	"testing"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
)

func TestCompile(t *testing.T) {
	cases := []struct {
		pattern    string
		ignoreCase bool
		path       string
		want       bool
	}{
		{"/blocked", false, "/keyed/blocked", true},   // unanchored
		{"/blocked", false, "/keyed/blocked/x", true}, // a substring
		{"/blocked", false, "/keyed/Blocked", false},
		{"/blocked", true, "/keyed/BLOCKED", true},
		{"/users/{id}", false, "/api/users/42", true},
		{"^/users/{id}$", false, "/users/4/2", false}, // {id} is one segment
		{"^/users/{id}$", false, "/users/", true},     // ... possibly empty
		{"/a{x}c/{y}", false, "/abc/d", true},
		{"/items/.*/part", false, "/items/1/2/part", true},
		{"/items/.*/part", false, "/items/1/2/par", false},
		{"(?i)/Mixed", false, "/mixed", true},
		{"", false, "/anything", true},
	}
	for _, c := range cases {
		p, err := Compile(c.pattern, c.ignoreCase)
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		if got := p.MatchString(c.path); got != c.want {
			t.Errorf("%q (ignoreCase %v) on %q: got %v, want %v (regexp %s, literals %q)", c.pattern, c.ignoreCase, c.path, got, c.want, p, p.lits)
		}
	}
	if _, err := Compile("/x((", false); err == nil {
		t.Fatal("an invalid pattern compiled")
	}
}

func TestStrip(t *testing.T) {
	cases := []struct{ listen, path, want string }{
		{"/keyed/", "/keyed/upload", "/upload"},
		{"/keyed/", "/keyed/", "/"},
		{"/keyed", "/keyed/upload", "/upload"},
		{"/keyed", "/keyedx", "/x"}, // a prefix match, as routing is
		{"/", "/upload", "/upload"},
		{"/other/", "/keyed/upload", "/keyed/upload"},
	}
	for _, c := range cases {
		if got := Strip(c.listen, c.path); got != c.want {
			t.Errorf("Strip(%q, %q) = %q, want %q", c.listen, c.path, got, c.want)
		}
	}
}

func TestFirst(t *testing.T) {
	a, _ := Compile("/a", false)
	any, _ := Compile("/", false)
	rules := []Rule[int]{{Re: a, Method: "GET", Value: 1}, {Re: any, Method: "GET", Value: 2}, {Re: a, Method: "", Value: 3}}
	if v, ok := First(rules, "GET", "/a"); !ok || v != 1 {
		t.Fatalf("got %d %v", v, ok)
	}
	if v, ok := First(rules, "GET", "/b"); !ok || v != 2 {
		t.Fatalf("got %d %v", v, ok)
	}
	if _, ok := First(rules, "POST", "/a"); ok {
		t.Fatal("an empty method matched")
	}
}

func TestServedAndBuild(t *testing.T) {
	vd := apidef.VersionData{NotVersioned: true, Versions: map[string]apidef.VersionInfo{
		"b": {Name: "b"}, "Default": {Name: "Default"}, "a": {}}}
	if k, _, _ := Served(vd); k != "Default" {
		t.Fatalf("served %q", k)
	}
	vd.DefaultVersion = "a"
	if k, _, _ := Served(vd); k != "a" {
		t.Fatalf("served %q", k)
	}
	delete(vd.Versions, "Default")
	vd.DefaultVersion = ""
	if k, _, _ := Served(vd); k != "a" {
		t.Fatalf("served %q", k)
	}

	def := &apidef.Definition{VersionData: apidef.VersionData{Versions: map[string]apidef.VersionInfo{
		"v1": {Name: "v1", GlobalSizeLimit: 1}, "v2": {Name: "", GlobalSizeLimit: 2}, "v3": {Name: "v3"}}}}
	bv, err := Build(def, func(v apidef.VersionInfo) (*int64, error) {
		if v.GlobalSizeLimit == 0 {
			return nil, nil
		}
		return &v.GlobalSizeLimit, nil
	})
	if err != nil || bv == nil {
		t.Fatal(bv, err)
	}
	for name, want := range map[string]int64{"v1": 1, "v2": 2} {
		if got := bv.For(&chain.Request{Version: name}); got == nil || *got != want {
			t.Fatalf("%s: got %v", name, got)
		}
	}
	if got := bv.For(&chain.Request{Version: "v3"}); got != nil {
		t.Fatalf("v3: got %v", *got)
	}
}

// BenchmarkPattern compares a pattern with its literal pre-check against
// the bare regular expression, on a path it does not match.
func BenchmarkPattern(b *testing.B) {
	p, _ := Compile("/items/{id}/parts", false)
	path := "/api/items/42/other/thing"
	b.Run("pattern", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p.MatchString(path)
		}
	})
	b.Run("regexp", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p.re.MatchString(path)
		}
	})
}
