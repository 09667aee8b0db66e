package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/tollgate/tollgate/gateway/filestore"
)

// LoadError reports a policy file that could not be used, and why.
type LoadError struct {
	File   string
	Reason string
}

func (e LoadError) Error() string { return e.File + ": " + e.Reason }

// Store is the file-backed policy source. In folder mode (Dir set) each
// policy is <Dir>/<id>.json; in record mode (only RecordFile set) one file
// holds an object of ID -> policy. Unlike Tyk, writes are visible to reads at
// once; the data plane picks them up on the next reload.
type Store struct {
	Dir        string
	RecordFile string

	mu   sync.RWMutex
	byID map[string]Policy
	file map[string]string // policy ID -> file it came from (folder mode)
}

// Load re-reads every policy from disk and replaces the in-memory set.
func (s *Store) Load() ([]LoadError, error) {
	byID, files, problems, err := s.read()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.byID, s.file = byID, files
	s.mu.Unlock()
	return problems, nil
}

func (s *Store) read() (map[string]Policy, map[string]string, []LoadError, error) {
	byID, files := map[string]Policy{}, map[string]string{}
	var problems []LoadError
	if s.Dir == "" {
		if s.RecordFile == "" {
			return byID, files, nil, nil
		}
		data, err := os.ReadFile(s.RecordFile)
		if errors.Is(err, os.ErrNotExist) {
			return byID, files, nil, nil
		}
		if err != nil {
			return nil, nil, nil, err
		}
		if err := json.Unmarshal(data, &byID); err != nil {
			problems = append(problems, LoadError{s.RecordFile, "not a JSON object of policies: " + err.Error()})
		}
		// The map key is the policy's ID; fill it in so GET and listings
		// show it (Tyk leaves it empty and then cannot GET the policy).
		for k, p := range byID {
			if p.ID == "" {
				p.ID = k
				byID[k] = p
			}
		}
		return byID, files, problems, nil
	}
	list, err := filestore.ReadDir(s.Dir, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, f := range list {
		var p Policy
		if err := json.Unmarshal(f.Data, &p); err != nil {
			problems = append(problems, LoadError{f.Path, "invalid JSON: " + err.Error()})
			continue
		}
		if err := filestore.ValidID(p.ID); err != nil {
			problems = append(problems, LoadError{f.Path, "invalid policy id: " + err.Error()})
			continue
		}
		if prev, dup := files[p.ID]; dup {
			problems = append(problems, LoadError{f.Path, fmt.Sprintf("policy id %q is already defined in %s", p.ID, prev)})
			continue
		}
		byID[p.ID], files[p.ID] = p, f.Path
	}
	return byID, files, problems, nil
}

// Get returns the policy with that ID.
func (s *Store) Get(id string) (Policy, bool) {
	s.mu.RLock()
	p, ok := s.byID[id]
	s.mu.RUnlock()
	return p, ok
}

// Lookup is Get as a policy.Lookup.
func (s *Store) Lookup() Lookup { return s.Get }

// List returns all policies sorted by ID.
func (s *Store) List() []Policy {
	s.mu.RLock()
	out := make([]Policy, 0, len(s.byID))
	for _, p := range s.byID {
		out = append(out, p)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Snapshot returns a copy of the current set, for building a data plane.
func (s *Store) Snapshot() map[string]Policy {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]Policy, len(s.byID))
	for k, v := range s.byID {
		out[k] = v
	}
	return out
}

// Save writes p durably and makes it visible.
func (s *Store) Save(p Policy) error {
	if err := filestore.ValidID(p.ID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID == nil {
		s.byID, s.file = map[string]Policy{}, map[string]string{}
	}
	if s.Dir == "" && s.RecordFile != "" {
		next := make(map[string]Policy, len(s.byID)+1)
		for k, v := range s.byID {
			next[k] = v
		}
		next[p.ID] = p
		if err := s.writeRecord(next); err != nil {
			return err
		}
		s.byID = next
		return nil
	}
	path, ok := s.file[p.ID]
	if !ok {
		path = filestore.PathFor(s.dir(), p.ID)
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := filestore.WriteAtomic(path, data); err != nil {
		return err
	}
	s.byID[p.ID], s.file[p.ID] = p, path
	return nil
}

// Delete removes the policy; it reports false when there was none.
func (s *Store) Delete(id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[id]; !ok {
		return false, nil
	}
	if s.Dir == "" && s.RecordFile != "" {
		next := make(map[string]Policy, len(s.byID))
		for k, v := range s.byID {
			if k != id {
				next[k] = v
			}
		}
		if err := s.writeRecord(next); err != nil {
			return false, err
		}
		s.byID = next
		return true, nil
	}
	if _, err := filestore.Remove(s.file[id]); err != nil {
		return false, err
	}
	delete(s.byID, id)
	delete(s.file, id)
	return true, nil
}

func (s *Store) dir() string {
	if s.Dir == "" {
		return "."
	}
	return s.Dir
}

func (s *Store) writeRecord(all map[string]Policy) error {
	data, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return filestore.WriteAtomic(s.RecordFile, data)
}
