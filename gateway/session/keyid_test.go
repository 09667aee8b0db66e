package session

import (
	"regexp"
	"testing"
)

func TestGenerateToken(t *testing.T) {
	tests := []struct {
		name, org, id, hash, want string
	}{
		{"legacy ID is org plus id", "org1", "mycustomkey", "", "org1mycustomkey"},
		{"a leading org on the id is not doubled", "org1", "org1mycustomkey", "", "org1mycustomkey"},
		{"murmur64 ID is padded base64 JSON", "org1", "custom1", Murmur64, "eyJvcmciOiJvcmcxIiwiaWQiOiJjdXN0b20xIiwiaCI6Im11cm11cjY0In0="},
		{"unknown algorithm falls back to murmur64", "org1", "custom1", "md5", "eyJvcmciOiJvcmcxIiwiaWQiOiJjdXN0b20xIiwiaCI6Im11cm11cjY0In0="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := GenerateToken(tt.org, tt.id, tt.hash); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	if !regexp.MustCompile(`^org1[0-9a-f]{32}$`).MatchString(GenerateToken("org1", "", "")) {
		t.Fatal("generated legacy ID is not org + 32 hex")
	}
}

func TestOrgOf(t *testing.T) {
	tests := []struct{ name, token, want string }{
		{"base64 JSON carries its org", "eyJvcmciOiJvcmcxIiwiaWQiOiJjdXN0b20xIiwiaCI6Im11cm11cjY0In0=", "org1"},
		{"24 hex characters are a Mongo org", "5e9d9544a1dcd60001d0ed20abcdef", "5e9d9544a1dcd60001d0ed20"},
		{"exactly 24 hex characters have no org", "5e9d9544a1dcd60001d0ed20", ""},
		{"other tokens have no org", "org1mycustomkey", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OrgOf(tt.token); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHashKey(t *testing.T) {
	legacy := HashKey("org1mycustomkey")
	if len(legacy) != 8 {
		t.Fatalf("legacy IDs hash with murmur32 (8 hex), got %q", legacy)
	}
	lengths := map[string]int{Murmur32: 8, Murmur64: 16, Murmur128: 32, SHA256: 64}
	for algo, n := range lengths {
		id := GenerateToken("org1", "k", algo)
		if got := HashKey(id); len(got) != n || got != HashWith(algo, id) {
			t.Errorf("%s: hash %q, want %d hex from the ID's own algorithm", algo, got, n)
		}
	}
	if HashWith(Murmur64, "a") == HashWith(Murmur64, "b") {
		t.Fatal("different inputs hash alike")
	}
}
