package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSum(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		n    int64
		want string
		err  error
	}{
		{-1, "e80b5017098950fc58aad83c8c14978e", nil}, // md5("abcdef")
		{3, "900150983cd24fb0d6963f7d28e17f72", nil},  // md5("abc")
		{0, "d41d8cd98f00b204e9800998ecf8427e", nil},  // md5("")
		{7, "", errShort},
	} {
		got, err := sum(p, tc.n)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("sum(-n %d) = %q, %v; want %q, %v", tc.n, got, err, tc.want, tc.err)
		}
	}
	if _, err := sum(filepath.Join(t.TempDir(), "missing"), -1); err == nil {
		t.Error("a missing file gave no error")
	}
}
