package iprules_test

import (
	"net/http/httptest"
	"testing"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/internal/stagetest"
	"github.com/tollgate/tollgate/middleware/iprules"
)

func stages(t *testing.T, def *apidef.Definition) []chain.Stage {
	t.Helper()
	allow, err := iprules.NewAllowList(def, nil)
	if err != nil {
		t.Fatal(err)
	}
	block, err := iprules.NewBlockList(def, nil)
	if err != nil {
		t.Fatal(err)
	}
	return []chain.Stage{allow, block}
}

func TestLists(t *testing.T) {
	def := &apidef.Definition{
		EnableIPWhitelisting: true, AllowedIPs: []string{"10.0.0.0/8", "192.168.1.7", "2001:db8::/32"},
		EnableIPBlacklisting: true, BlacklistedIPs: []string{"10.9.0.0/16", "10.1.2.3"},
	}
	a, seen := stagetest.API(t, def, stages(t, def)...)
	cases := []struct {
		name, remote, realIP, xff string
		allowed                   bool
	}{
		{"remote address in an allowed range", "10.2.3.4:5555", "", "", true},
		{"remote address listed exactly", "192.168.1.7:1", "", "", true},
		{"remote address not listed", "192.168.1.8:1", "", "", false},
		{"blocked inside an allowed range", "10.9.8.7:1", "", "", false},
		{"blocked address", "10.1.2.3:1", "", "", false},
		{"X-Real-IP wins over the remote address", "192.168.1.8:1", "10.2.3.4", "", true},
		{"X-Real-IP wins over X-Forwarded-For", "10.2.3.4:1", "192.168.1.8", "10.2.3.4", false},
		{"the first X-Forwarded-For entry", "192.168.1.8:1", "", "10.2.3.4, 192.168.1.8", true},
		{"a later X-Forwarded-For entry does not count", "10.2.3.4:1", "", "192.168.1.8, 10.2.3.4", false},
		{"IPv6 in range", "[2001:db8::1]:443", "", "", true},
		{"IPv4-mapped IPv6", "[::ffff:10.2.3.4]:1", "", "", true},
		{"an unparseable client address matches nothing", "10.2.3.4:1", "nonsense", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/x", nil)
			r.RemoteAddr = c.remote
			if c.realIP != "" {
				r.Header.Set("X-Real-IP", c.realIP)
			}
			if c.xff != "" {
				r.Header.Set("X-Forwarded-For", c.xff)
			}
			res := stagetest.Do(a, seen, r)
			if c.allowed && res.Status != 200 {
				t.Fatalf("refused: %d %q", res.Status, res.Body)
			}
			if !c.allowed && (res.Status != 403 || res.Body != stagetest.Error(iprules.MsgDisallowed)) {
				t.Fatalf("got %d %q", res.Status, res.Body)
			}
		})
	}
}

func TestBlockListAlone(t *testing.T) {
	def := &apidef.Definition{EnableIPBlacklisting: true, BlacklistedIPs: []string{"127.0.0.1"}}
	a, seen := stagetest.API(t, def, stages(t, def)...)
	r := httptest.NewRequest("GET", "/x", nil)
	r.RemoteAddr = "127.0.0.1:1"
	if res := stagetest.Do(a, seen, r); res.Status != 403 {
		t.Fatalf("got %d", res.Status)
	}
	r.RemoteAddr = "127.0.0.2:1"
	if res := stagetest.Do(a, seen, r); res.Status != 200 {
		t.Fatalf("got %d", res.Status)
	}
}

func TestNotConfigured(t *testing.T) {
	for _, def := range []*apidef.Definition{
		{},
		{AllowedIPs: []string{"1.2.3.4"}, BlacklistedIPs: []string{"1.2.3.4"}}, // lists, switched off
		{EnableIPWhitelisting: true, EnableIPBlacklisting: true},               // switched on, empty
	} {
		for _, st := range stages(t, def) {
			if st != nil {
				t.Fatalf("%+v built %s", def, st.Name())
			}
		}
	}
	if _, err := iprules.NewAllowList(&apidef.Definition{EnableIPWhitelisting: true, AllowedIPs: []string{"1.2.3"}}, nil); err == nil {
		t.Fatal("a bad entry was accepted")
	}
}

func BenchmarkClientIP(b *testing.B) {
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("X-Forwarded-For", "10.2.3.4, 192.168.1.8")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		iprules.ClientIP(r)
	}
}
