package bundle

import (
	"archive/zip"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
)

// Build writes the bundle described by the manifest at manifestPath to
// output: the file_list files (read relative to the manifest's directory)
// under their listed names, then manifest.json with the checksum and, when
// key is set, the signature. It returns the manifest as written.
func Build(manifestPath, output string, key *rsa.PrivateKey) (*Manifest, error) {
	raw, err := os.ReadFile(manifestPath)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest: %w", err)
	}
	m := &Manifest{}
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, fmt.Errorf("%s: %w", manifestPath, err)
	}
	root := filepath.Dir(manifestPath)
	if err := validate(m, root); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(output), ".bundle-*.zip")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := writeZip(tmp, m, root, key); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	return m, os.Rename(tmp.Name(), output)
}

// validate applies the checks of Tyk's bundle builder, plus the ones that
// keep the ZIP unpackable.
func validate(m *Manifest, root string) error {
	seen := map[string]bool{}
	for _, f := range m.FileList {
		p, err := inside(root, f)
		if err != nil {
			return fmt.Errorf("file_list: %w", err)
		}
		clean := path.Clean(f)
		switch {
		case clean == ManifestName:
			return fmt.Errorf("file_list: %s is written by the builder and cannot be listed", ManifestName)
		case seen[clean]:
			return fmt.Errorf("file_list: %q is listed twice", f)
		}
		seen[clean] = true
		st, err := os.Stat(p)
		if err != nil {
			return errors.New("Referencing a nonexistent file: " + f)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("file_list: %q is not a regular file", f)
		}
	}
	cm := m.CustomMiddleware
	if len(cm.Pre)+len(cm.Post)+len(cm.PostKeyAuth)+len(cm.Response) == 0 && cm.AuthCheck.Name == "" {
		return errors.New("No hooks defined")
	}
	if cm.Driver == "" {
		return errors.New("No driver specified")
	}
	return nil
}

// writeZip writes the bundle to w, filling in the manifest's checksum and
// signature on the way.
func writeZip(w io.Writer, m *Manifest, root string, key *rsa.PrivateKey) error {
	zw := zip.NewWriter(w)
	d := newDigest()
	for _, name := range m.FileList {
		p, _ := inside(root, name) // validated
		if err := addToZip(zw, p, name, d); err != nil {
			return err
		}
	}
	m.Checksum, m.Signature = d.checksum(), ""
	if key != nil {
		sig, err := d.sign(key)
		if err != nil {
			return fmt.Errorf("signing: %w", err)
		}
		m.Signature = sig
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	mw, err := zw.Create(ManifestName)
	if err != nil {
		return err
	}
	if _, err := mw.Write(b); err != nil {
		return err
	}
	return zw.Close()
}

// addToZip stores the file at p as name, keeping its permission bits (so
// plugin executables stay executable), and feeds its bytes to d.
func addToZip(zw *zip.Writer, p, name string, d *digest) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: st.ModTime()}
	hdr.SetMode(st.Mode().Perm())
	zf, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.MultiWriter(zf, d), f)
	return err
}

// Verify checks the bundle file at zipPath as the gateway would: it is
// unpacked (with the gateway's safety checks) into a temporary directory,
// its checksum checked and, when pub is set, its signature. Plugin
// executables are not looked up for the running platform.
func Verify(zipPath string, pub *rsa.PublicKey) (*Manifest, error) {
	f, err := os.Open(zipPath)
	if err != nil {
		return nil, err
	}
	data, err := readLimited(f, DefaultLimits.MaxDownload)
	f.Close()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "tollgate-bundle-verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := unpack(data, tmp, DefaultLimits); err != nil {
		return nil, fmt.Errorf("unpacking: %w", err)
	}
	m, err := verifyDir(tmp, pub)
	if err != nil {
		return nil, err
	}
	if _, err := hooks(tmp, m, pub != nil, ""); err != nil {
		return nil, err
	}
	return m, nil
}
