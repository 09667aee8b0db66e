package chain

import (
	"net/http"
	"sync"

	"github.com/tollgate/tollgate/gateway/apidef"
)

// Upstream sends a request that passed every stage to the upstream (or
// answers it some other way) and runs the response stages.
type Upstream interface {
	Serve(w http.ResponseWriter, r *http.Request, req *Request)
}

// SessionSaver writes back a session a stage changed.
type SessionSaver interface {
	SaveSession(r *http.Request, req *Request)
}

// API is one loaded API: its definition and its pipeline, built once per
// load and never changed afterwards (a reload builds a new one).
type API struct {
	Def            apidef.Definition
	Stages         []Stage
	ResponseStages []ResponseStage
	Upstream       Upstream
	Errors         *ErrorWriter
	Sessions       SessionSaver
}

var requests = sync.Pool{New: func() any { return new(Request) }}

// ServeHTTP runs the request through the stages and on to the upstream.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := requests.Get().(*Request)
	req.reset(a, r)
	defer requests.Put(req)
	a.serve(w, r, req)
	if req.SessionChanged && a.Sessions != nil {
		a.Sessions.SaveSession(r, req)
	}
}

func (a *API) serve(w http.ResponseWriter, r *http.Request, req *Request) {
	for _, st := range a.Stages {
		err := st.ProcessRequest(w, r, req)
		if err == nil {
			continue
		}
		if err != ErrHandled {
			a.Errors.Write(w, r, err)
		}
		return
	}
	a.Upstream.Serve(w, r, req)
}

// StageNames lists the request stages in order, for logs and tests.
func (a *API) StageNames() []string {
	names := make([]string, len(a.Stages))
	for i, s := range a.Stages {
		names[i] = s.Name()
	}
	return names
}
