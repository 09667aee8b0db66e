package dataplane

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Batch messages, as Tyk words them (the space before the comma is Tyk's).
const (
	msgBatchMalformed = "Batch request malformed"
	msgBatchCreation  = "Batch request creation failed , request structure malformed"
)

// maxBatch bounds the sub-requests of one batch (Tyk has no bound).
const maxBatch = 100

type batchRequest struct {
	Requests                  []batchItem `json:"requests"`
	SuppressParallelExecution bool        `json:"suppress_parallel_execution"`
}

type batchItem struct {
	Method      string            `json:"method"`
	RelativeURL string            `json:"relative_url"`
	Headers     map[string]string `json:"headers"`
	Body        string            `json:"body"`
}

type batchReply struct {
	RelativeURL string      `json:"relative_url"`
	Code        int         `json:"code"`
	Headers     http.Header `json:"headers"`
	Body        string      `json:"body"`
}

// batch serves <listen_path>/tyk/batch/: each sub-request is sent as a
// real HTTP request to this gateway, so it runs the API's whole chain with
// its own credentials. The endpoint itself needs none.
type batch struct {
	base   string // http://host:port/<listen path without slashes>
	client *http.Client
}

func newBatch(listenAddr, listenPath string, client *http.Client) *batch {
	return &batch{base: "http://" + listenAddr + "/" + strings.Trim(listenPath, "/"), client: client}
}

func (b *batch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusOK)
		return
	}
	var in batchRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil || json.Unmarshal(body, &in) != nil || len(in.Requests) > maxBatch {
		writeStatus(w, http.StatusBadRequest, msgBatchMalformed)
		return
	}
	reqs := make([]*http.Request, len(in.Requests))
	for i, it := range in.Requests {
		req, err := http.NewRequestWithContext(r.Context(), it.Method, b.base+"/"+it.RelativeURL, strings.NewReader(it.Body))
		if err != nil || it.Method == "" {
			writeStatus(w, http.StatusBadRequest, msgBatchCreation)
			return
		}
		for k, v := range it.Headers {
			req.Header.Set(k, v)
		}
		reqs[i] = req
	}
	out := make([]batchReply, 0, len(reqs))
	if in.SuppressParallelExecution {
		for i, req := range reqs {
			out = append(out, b.send(req, in.Requests[i].RelativeURL))
		}
	} else {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i, req := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rep := b.send(req, in.Requests[i].RelativeURL)
				mu.Lock()
				out = append(out, rep) // completion order, as in Tyk
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// send runs one sub-request; a failure gives Tyk's empty entry.
func (b *batch) send(req *http.Request, rel string) batchReply {
	ctx, cancel := context.WithTimeout(req.Context(), 60*time.Second)
	defer cancel()
	resp, err := b.client.Do(req.WithContext(ctx))
	if err != nil {
		return batchReply{}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return batchReply{}
	}
	return batchReply{RelativeURL: rel, Code: resp.StatusCode, Headers: resp.Header, Body: string(body)}
}

func writeStatus(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}{"error", msg})
}
