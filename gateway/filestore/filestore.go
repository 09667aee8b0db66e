// Package filestore keeps one JSON document per ID in a folder, the way Tyk's
// file mode keeps API definitions and policies. Writes are atomic (temp file,
// fsync, rename, fsync of the folder), so a crash leaves either the old or
// the new document, never a torn one.
package filestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxIDLength bounds IDs so file names stay within common filesystem limits.
const MaxIDLength = 200

// ValidID rejects IDs that are empty or could name a file outside the folder.
func ValidID(id string) error {
	switch {
	case id == "":
		return errors.New("the ID is empty")
	case len(id) > MaxIDLength:
		return fmt.Errorf("the ID is longer than %d bytes", MaxIDLength)
	case !utf8.ValidString(id):
		return errors.New("the ID is not valid UTF-8")
	case strings.HasPrefix(id, "."):
		return errors.New("the ID may not start with a dot")
	case strings.ContainsAny(id, "/\\\x00"):
		return errors.New("the ID may not contain slashes or NUL bytes")
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return errors.New("the ID may not contain control characters")
		}
	}
	return nil
}

// File is one document read from a folder.
type File struct {
	Path string
	Data []byte
}

// ReadDir returns every *.json file in dir (sorted by name), skipping names
// for which skip returns true. A missing folder reads as empty.
func ReadDir(dir string, skip func(name string) bool) ([]File, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var files []File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") || (skip != nil && skip(name)) {
			continue
		}
		p := filepath.Join(dir, name)
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: p, Data: data})
	}
	return files, nil
}

// PathFor is the file that holds id in dir. id must have passed ValidID.
func PathFor(dir, id string) string {
	return filepath.Join(dir, id+".json")
}

// WriteAtomic replaces path with data durably.
func WriteAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// Remove deletes path durably; it reports false when the file did not exist.
func Remove(path string) (bool, error) {
	err := os.Remove(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
