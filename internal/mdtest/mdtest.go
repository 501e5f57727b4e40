// Package mdtest makes backing files with fresh DRBD 8.4 internal
// meta-data for tests (what drbdmeta create-md leaves: a superblock with
// the just-created UUID and an initialized activity log, on a sparse file).
package mdtest

import (
	"os"
	"path/filepath"
	"testing"

	"udrbd/metadata"
)

// Disk creates dir/disk of size bytes with fresh internal (flexible)
// meta-data and returns its path.
func Disk(t testing.TB, dir string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, "disk")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	l, err := metadata.NewLayout(metadata.IndexFlexInt, uint64(size), metadata.DefaultALStripes, metadata.DefaultALStripeSize4k)
	if err != nil {
		t.Fatal(err)
	}
	sb := metadata.NewSuperblock(l)
	b, err := sb.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, int64(l.MDOffset)); err != nil {
		t.Fatal(err)
	}
	if err := metadata.InitializeAL(f, l); err != nil {
		t.Fatal(err)
	}
	return p
}
