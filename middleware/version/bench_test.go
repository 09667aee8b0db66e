package version_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/version"
)

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkVersionCheck measures the stage alone, per request: run with
// -benchmem; the path lists allocate nothing.
func BenchmarkVersionCheck(b *testing.B) {
	many := `{"black_list":[`
	for i := 0; i < 20; i++ {
		if i > 0 {
			many += ","
		}
		many += fmt.Sprintf(`{"path":"/items/{id}/part%d","method":"GET"}`, i)
	}
	many += `],"ignored":[{"path":"/public","method":"GET"}]}`
	cases := []struct {
		name, doc, path string
		header          []string
	}{
		{"keyed/pass", keyed, "/keyed/anything/else", nil},
		{"keyed/blocked", keyed, "/keyed/blocked", nil},
		{"keyed/ignored", keyed, "/keyed/public", nil},
		{"keyed/mock", keyed, "/keyed/mock", nil},
		{"21 rules/pass", versionDoc(many, ""), "/a/items/42/other", nil},
		{"header version", versioned("header", "x-api-version", ""), "/v/x", []string{"X-Api-Version", "v1"}},
		{"url-param version", versioned("url-param", "ver", ""), "/v/x?a=1&ver=v1", nil},
		{"url version", versioned("url", "", ""), "/v/v1/users", nil},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			st, err := version.New(parse(b, c.doc), env())
			if err != nil || st == nil {
				b.Fatal(st, err)
			}
			r := httptest.NewRequest("GET", c.path, nil)
			for i := 0; i+1 < len(c.header); i += 2 {
				r.Header.Set(c.header[i], c.header[i+1])
			}
			w := &nopWriter{h: http.Header{}}
			req := &chain.Request{}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				*req = chain.Request{}
				if err := st.ProcessRequest(w, r, req); err != nil && err != chain.ErrHandled {
					if _, ok := err.(*chain.Error); !ok {
						b.Fatal(err)
					}
				}
				clear(w.h)
			}
		})
	}
}
