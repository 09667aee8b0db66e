package apidef

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tollgate/tollgate/gateway/filestore"
)

// API is a stored definition: its parsed fields, the document as stored and
// the file that holds it.
type API struct {
	Def  Definition
	Raw  json.RawMessage
	File string
}

// LoadError reports a definition file that was not loaded, and why.
type LoadError struct {
	File   string
	Reason string
}

func (e LoadError) Error() string { return e.File + ": " + e.Reason }

// ValidationError is a definition Save refused to store.
type ValidationError struct{ Reason string }

func (e *ValidationError) Error() string { return e.Reason }

// Store is the folder of classic definitions (app_path). Files ending in
// -oas.json belong to OAS APIs and are skipped. Writes are visible to reads
// at once; the data plane picks them up on reload, as in Tyk.
type Store struct {
	Dir string

	mu   sync.RWMutex
	byID map[string]API
}

// Load re-reads the folder. A bad file is reported and skipped; the other
// definitions still load.
func (s *Store) Load() ([]LoadError, error) {
	files, err := filestore.ReadDir(s.Dir, func(name string) bool { return strings.HasSuffix(name, "-oas.json") })
	if err != nil {
		return nil, err
	}
	byID := map[string]API{}
	var problems []LoadError
	for _, f := range files {
		api, err := decode(f.Data)
		if err != nil {
			problems = append(problems, LoadError{f.Path, err.Error()})
			continue
		}
		if prev, dup := byID[api.Def.APIID]; dup {
			problems = append(problems, LoadError{f.Path, fmt.Sprintf("api_id %q is already defined in %s", api.Def.APIID, prev.File)})
			continue
		}
		api.File = f.Path
		byID[api.Def.APIID] = api
	}
	s.mu.Lock()
	s.byID = byID
	s.mu.Unlock()
	return problems, nil
}

// decode parses and checks one stored document.
func decode(data []byte) (API, error) {
	d, err := Parse(data)
	if err != nil {
		return API{}, fmt.Errorf("invalid JSON: %v", err)
	}
	if err := filestore.ValidID(d.APIID); err != nil {
		return API{}, fmt.Errorf("invalid api_id: %v", err)
	}
	if err := d.Validate(); err != nil {
		return API{}, err
	}
	return API{Def: d, Raw: compact(data)}, nil
}

// compact stores the document without insignificant whitespace; callers
// have already checked that it parses.
func compact(data []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return append(json.RawMessage(nil), data...)
	}
	return buf.Bytes()
}

// Get returns the API with that ID.
func (s *Store) Get(id string) (API, bool) {
	s.mu.RLock()
	a, ok := s.byID[id]
	s.mu.RUnlock()
	return a, ok
}

// List returns every API sorted by ID.
func (s *Store) List() []API {
	s.mu.RLock()
	out := make([]API, 0, len(s.byID))
	for _, a := range s.byID {
		out = append(out, a)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Def.APIID < out[j].Def.APIID })
	return out
}

// Save writes the document for def.APIID, replacing the file it came from
// (or <api_id>.json for a new API).
func (s *Store) Save(raw []byte) (API, error) {
	api, err := decode(raw)
	if err != nil {
		return API{}, &ValidationError{Reason: err.Error()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID == nil {
		s.byID = map[string]API{}
	}
	api.File = filestore.PathFor(s.Dir, api.Def.APIID)
	if prev, ok := s.byID[api.Def.APIID]; ok {
		api.File = prev.File
	}
	if err := filestore.WriteAtomic(api.File, indent(api.Raw)); err != nil {
		return API{}, err
	}
	s.byID[api.Def.APIID] = api
	return api, nil
}

// Delete removes the API's file; it reports false when there was none.
func (s *Store) Delete(id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	api, ok := s.byID[id]
	if !ok {
		return false, nil
	}
	if _, err := filestore.Remove(api.File); err != nil {
		return false, err
	}
	delete(s.byID, id)
	return true, nil
}

func indent(raw []byte) []byte {
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return raw
	}
	return buf.Bytes()
}
