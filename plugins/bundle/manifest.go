package bundle

import (
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/tollgate/tollgate/gateway/apidef"
)

// ManifestName is the file at the root of a bundle that describes it.
const ManifestName = "manifest.json"

// ErrUnsigned is the refusal of a bundle without a signature when the
// gateway requires one (Tyk's message).
var ErrUnsigned = errors.New("Bundle isn't signed")

// Manifest is a bundle's manifest.json.
type Manifest struct {
	FileList         []string                 `json:"file_list"`
	CustomMiddleware apidef.MiddlewareSection `json:"custom_middleware"`
	Checksum         string                   `json:"checksum"`
	Signature        string                   `json:"signature"`
}

// readManifest reads dir/manifest.json.
func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	m := &Manifest{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	return m, nil
}

// digest accumulates what the checksum and the signature cover: the bytes
// of the file_list files in order, with nothing between them.
type digest struct {
	md5, sha hash.Hash
}

func newDigest() *digest { return &digest{md5: md5.New(), sha: sha256.New()} }

func (d *digest) Write(p []byte) (int, error) {
	d.md5.Write(p)
	d.sha.Write(p)
	return len(p), nil
}

// checksum is the manifest's checksum field for the bytes written so far.
func (d *digest) checksum() string { return hex.EncodeToString(d.md5.Sum(nil)) }

// addFiles feeds the files of list, read under root, into d. Every name
// must stay inside root.
func (d *digest) addFiles(root string, list []string) error {
	for _, name := range list {
		p, err := inside(root, name)
		if err != nil {
			return fmt.Errorf("file_list: %w", err)
		}
		if err := d.addFile(p); err != nil {
			return fmt.Errorf("file_list: %w", err)
		}
	}
	return nil
}

func (d *digest) addFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(d, f)
	return err
}

// sign returns the signature field for the bytes written so far.
func (d *digest) sign(key *rsa.PrivateKey) (string, error) {
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d.sha.Sum(nil))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// verify checks the manifest's checksum and, when pub is set, its
// signature against the bytes written so far.
func (d *digest) verify(m *Manifest, pub *rsa.PublicKey) error {
	if got := d.checksum(); got != m.Checksum {
		return fmt.Errorf("invalid checksum: the manifest says %q, the files of file_list give %q", m.Checksum, got)
	}
	if pub == nil {
		return nil
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return fmt.Errorf("signature is not base64: %w", err)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d.sha.Sum(nil), sig); err != nil {
		return fmt.Errorf("signature does not match public_key_path: %w", err)
	}
	return nil
}

// inside joins a slash-separated relative name onto root, refusing names
// that are absolute or climb out of root.
func inside(root, name string) (string, error) {
	local := filepath.FromSlash(name)
	if name == "" || !filepath.IsLocal(local) {
		return "", fmt.Errorf("%q is not a path inside the bundle", name)
	}
	return filepath.Join(root, local), nil
}

// ReadPublicKey reads an RSA public key from a PEM file: "PUBLIC KEY"
// (PKIX) or "RSA PUBLIC KEY" (PKCS#1).
func ReadPublicKey(path string) (*rsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePublicKey(b)
}

// ParsePublicKey parses a PEM-encoded RSA public key.
func ParsePublicKey(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	switch block.Type {
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		pub, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("the public key is a %T, not an RSA key", k)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("PEM block %q is not a public key", block.Type)
}

// ReadPrivateKey reads an RSA private key from a PEM file: "RSA PRIVATE
// KEY" (PKCS#1) or "PRIVATE KEY" (PKCS#8).
func ReadPrivateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePrivateKey(b)
}

// ParsePrivateKey parses a PEM-encoded RSA private key.
func ParsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		priv, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("the private key is a %T, not an RSA key", k)
		}
		return priv, nil
	}
	return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
}
