package proto

import (
	"encoding/hex"
	"strings"
	"testing"
)

// unhex decodes hex digits, ignoring spaces and newlines.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func zeros(n int) string { return strings.Repeat("00", n) }
