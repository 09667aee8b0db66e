// Command echo is a tiny upstream for trying Tollgate: it answers every
// request with a JSON description of what it received (method, path,
// query, headers, body). `make run` starts it on 127.0.0.1:8000 next to the
// gateway so the example API has something to proxy to.
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"time"
)

type echo struct {
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Query  string      `json:"query"`
	Header http.Header `json:"headers"`
	Body   string      `json:"body"`
}

func handler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(echo{r.Method, r.URL.Path, r.URL.RawQuery, r.Header, string(body)})
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "listen address")
	flag.Parse()
	srv := &http.Server{Addr: *addr, Handler: http.HandlerFunc(handler), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("echo upstream on http://%s", *addr)
	log.Fatal(srv.ListenAndServe())
}
