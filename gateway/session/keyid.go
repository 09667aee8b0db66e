package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"strings"

	"github.com/spaolacci/murmur3"
)

// Hash algorithm names accepted by hash_key_function.
const (
	Murmur32  = "murmur32"
	Murmur64  = "murmur64"
	Murmur128 = "murmur128"
	SHA256    = "sha256"
)

// ValidHashFunction reports whether name is a hash_key_function value ("" is legacy).
func ValidHashFunction(name string) bool {
	switch name {
	case "", Murmur32, Murmur64, Murmur128, SHA256:
		return true
	}
	return false
}

// NewID returns a fresh id part: a UUIDv4 as 32 lowercase hex digits.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the OS RNG never fails on Linux
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// tokenJSON is the body of a base64-JSON key ID. Field order matters: the
// encoded bytes are the ID, so they must match Tyk's exactly.
type tokenJSON struct {
	Org  string `json:"org"`
	ID   string `json:"id"`
	Hash string `json:"h"`
}

// GenerateToken builds a key ID from an org and an id part the way Tyk does:
// the legacy form is org+id; with a hash function set it is padded standard
// base64 of {"org":...,"id":...,"h":...}. An empty id part is generated.
func GenerateToken(orgID, keyID, hashFunction string) string {
	keyID = strings.TrimPrefix(keyID, orgID)
	if keyID == "" {
		keyID = NewID()
	}
	if hashFunction == "" {
		return orgID + keyID
	}
	switch hashFunction {
	case Murmur32, Murmur64, Murmur128, SHA256:
	default:
		hashFunction = Murmur64
	}
	// Hand-built rather than json.Marshal: Tyk writes the org unescaped, and
	// the bytes are the identity of the key.
	raw := `{"org":"` + orgID + `","id":"` + keyID + `","h":"` + hashFunction + `"}`
	return base64.StdEncoding.EncodeToString([]byte(raw))
}

// decodeToken parses a base64-JSON key ID; ok is false for any other form.
func decodeToken(token string) (t tokenJSON, ok bool) {
	if !strings.HasPrefix(token, "ey") {
		return t, false
	}
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(token); err != nil {
			return t, false
		}
	}
	if json.Unmarshal(raw, &t) != nil {
		return t, false
	}
	return t, true
}

// OrgOf returns the org a key ID belongs to: the org field of a base64-JSON
// ID, else the first 24 characters when they are hex (a Mongo ObjectID),
// else "".
func OrgOf(token string) string {
	if t, ok := decodeToken(token); ok {
		return t.Org
	}
	if len(token) > 24 && isHex(token[:24]) {
		return token[:24]
	}
	return ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// HashKey returns the hex hash under which a key is stored when hash_keys is
// on: the algorithm named inside a base64-JSON ID, else murmur32.
func HashKey(token string) string {
	algo := Murmur32
	if t, ok := decodeToken(token); ok && t.Hash != "" {
		algo = t.Hash
	}
	return HashWith(algo, token)
}

// HashWith hashes s with the named algorithm (unknown names use murmur64,
// as minting does) and returns lowercase hex.
func HashWith(algo, s string) string {
	var h hash.Hash
	switch algo {
	case Murmur32:
		h = murmur3.New32()
	case Murmur128:
		h = murmur3.New128()
	case SHA256:
		h = sha256.New()
	default:
		h = murmur3.New64()
	}
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}
