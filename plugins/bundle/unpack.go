package bundle

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Limits bound what a bundle may be. Zero fields take the defaults.
type Limits struct {
	MaxDownload int64 // size of the ZIP file itself
	MaxUnpacked int64 // size of all its files together once unpacked
	MaxFiles    int   // number of entries
}

// DefaultLimits leave room for a few Go plugin executables per bundle.
var DefaultLimits = Limits{MaxDownload: 128 << 20, MaxUnpacked: 512 << 20, MaxFiles: 4096}

func (l Limits) orDefaults() Limits {
	if l.MaxDownload <= 0 {
		l.MaxDownload = DefaultLimits.MaxDownload
	}
	if l.MaxUnpacked <= 0 {
		l.MaxUnpacked = DefaultLimits.MaxUnpacked
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultLimits.MaxFiles
	}
	return l
}

// unpack writes the ZIP in data into dir, which must exist and be empty.
// Any entry it cannot place safely fails the whole bundle.
func unpack(data []byte, dir string, lim Limits) error {
	lim = lim.orDefaults()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // insecure names are refused below, by name
		return fmt.Errorf("not a ZIP file: %w", err)
	}
	if len(zr.File) > lim.MaxFiles {
		return fmt.Errorf("the bundle has %d entries, more than the limit of %d", len(zr.File), lim.MaxFiles)
	}
	left := lim.MaxUnpacked
	for _, f := range zr.File {
		n, err := unpackEntry(f, dir, left)
		if err != nil {
			return fmt.Errorf("entry %q: %w", f.Name, err)
		}
		left -= n
	}
	return nil
}

// unpackEntry writes one entry and returns how many bytes it wrote, at most
// left.
func unpackEntry(f *zip.File, dir string, left int64) (int64, error) {
	name := f.Name
	isDir := strings.HasSuffix(name, "/")
	name = strings.TrimSuffix(name, "/")
	if strings.Contains(name, `\`) {
		return 0, errors.New("backslashes are not allowed in entry names")
	}
	path, err := inside(dir, name)
	if err != nil {
		return 0, errors.New("the entry would land outside the bundle directory")
	}
	mode := f.Mode()
	switch {
	case mode&fs.ModeSymlink != 0:
		return 0, errors.New("symbolic links are not allowed")
	case isDir || mode.IsDir():
		return 0, os.MkdirAll(path, 0o700)
	case !mode.IsRegular():
		return 0, fmt.Errorf("only files and folders are allowed, not mode %v", mode)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, err
	}
	perm := os.FileMode(0o600)
	if mode.Perm()&0o111 != 0 {
		perm = 0o700
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return 0, errors.New("the bundle holds this name twice")
	}
	if err != nil {
		return 0, err
	}
	in, err := f.Open()
	if err != nil {
		out.Close()
		return 0, err
	}
	defer in.Close()
	// Count what is really written: the sizes in the ZIP's headers are
	// whatever its author put there.
	n, err := io.Copy(out, io.LimitReader(in, left+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, err
	}
	if n > left {
		return n, errors.New("the bundle unpacks to more than the size limit")
	}
	return n, nil
}
