package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"udrbd/metadata"
)

// craftUnclean turns a freshly created 80 MiB internal-meta-data image into
// what a crashed 8.4 primary leaves behind: unclean magic, MDF_PRIMARY_IND,
// a last agreed size, some bitmap bits, and a ring of AL update transactions
// (wrapping around the 8-slot ring, with context windows and updates).
func craftUnclean(t *testing.T, path string, nTr int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	size := uint64(st.Size())
	sb, err := metadata.ReadSuperblock(f, int64(metadata.SuperblockOffset(metadata.IndexFlexInt, size)))
	if err != nil {
		t.Fatal(err)
	}
	l := metadata.LayoutOf(&sb, metadata.IndexFlexInt, size)
	sb.Magic = metadata.MagicMD84Unclean
	sb.Flags = metadata.FlagConsistent | metadata.FlagWasUpToDate | metadata.FlagPrimaryInd
	sb.LaSizeSect = l.MaxUsableSect()
	sb.UUID = [4]uint64{0x1234567890ABCDEF, 0xFEDCBA0987654320, 0x1111, 0x2222}
	sb.DeviceUUID = 0xDEADBEEFCAFEF00D
	sb.LaPeerMaxBioSize = 1 << 20
	b, _ := sb.MarshalBinary()
	if _, err := f.WriteAt(b, int64(l.MDOffset)); err != nil {
		t.Fatal(err)
	}
	bm := make(metadata.Bitmap, metadata.BitmapBytes(sb.LaSizeSect)/8)
	bm[3] = 0xF0F0
	for i := 40; i < 80; i++ {
		bm[i] = ^uint64(0)
	}
	if _, err := f.WriteAt(bm.Encode(), int64(l.BMOffset)); err != nil {
		t.Fatal(err)
	}
	const slots = 61
	active := make([]uint32, slots)
	for i := range active {
		active[i] = metadata.LCFree
	}
	for tr := 0; tr < nTr; tr++ {
		x := metadata.Transaction{Magic: metadata.MagicAL, TrNumber: uint32(tr + 1000), Type: metadata.ALTrUpdate, ContextSize: slots}
		x.NUpdates = 2
		for i := range x.UpdateSlotNr {
			x.UpdateSlotNr[i] = 0xffff
			x.UpdateExtentNr[i] = metadata.LCFree
		}
		for u := 0; u < 2; u++ {
			slot := uint16((tr*2 + u) % slots)
			ext := uint32((tr*7 + u*3) % 19)
			x.UpdateSlotNr[u], x.UpdateExtentNr[u] = slot, ext
			active[slot] = ext
		}
		for i := range x.Context {
			x.Context[i] = metadata.LCFree
			if i < slots {
				x.Context[i] = active[i]
			}
		}
		blk, _ := x.MarshalBinary()
		sec := l.TransactionSector(x.TrNumber)
		if _, err := f.WriteAt(blk, int64(sec*512)); err != nil {
			t.Fatal(err)
		}
	}
}

var timeLine = regexp.MustCompile(`(?m)^# \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [-+]\d{4} \[\d+\]$`)

// TestOracle compares this drbdmeta with drbd-utils' on crafted images. It
// needs drbd-utils' drbdmeta (UDRBD_DRBDMETA_ORACLE=/path/to/drbdmeta) and
// runs in the VM tier; unit runs skip it.
func TestOracle(t *testing.T) {
	oracle := os.Getenv("UDRBD_DRBDMETA_ORACLE")
	if oracle == "" {
		t.Skip("UDRBD_DRBDMETA_ORACLE not set")
	}
	dir := t.TempDir()
	ours := filepath.Join(dir, "drbdmeta")
	if out, err := exec.Command("go", "build", "-o", ours, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	type result struct {
		rc       int
		out, err string
		img      []byte
	}
	runOn := func(bin, img string, args ...string) result {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		rc := 0
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				rc = ee.ExitCode()
			} else {
				t.Fatal(err)
			}
		}
		b, _ := os.ReadFile(filepath.Join(dir, img))
		return result{rc, timeLine.ReplaceAllString(o.String(), "# TIME"), e.String(), b}
	}
	for _, nTr := range []int{1, 5, 8, 13} {
		for _, steps := range [][]string{{"apply-al"}, {"dump-md"}, {"get-gi"}, {"show-gi"}, {"outdate"}, {"apply-al", "dump-md"}} {
			name := fmt.Sprintf("%dtr-%v", nTr, steps)
			t.Run(name, func(t *testing.T) {
				var res [2]result
				for k, bin := range []string{oracle, ours} {
					img := "img"
					p := filepath.Join(dir, img)
					os.Remove(p)
					if err := os.WriteFile(p, nil, 0o644); err != nil {
						t.Fatal(err)
					}
					if err := os.Truncate(p, 80<<20); err != nil {
						t.Fatal(err)
					}
					if r := runOn(oracle, img, "--force", "0", "v08", img, "internal", "create-md"); r.rc != 0 {
						t.Fatalf("create-md: %+v", r)
					}
					craftUnclean(t, p, nTr)
					var r result
					for _, s := range steps {
						r = runOn(bin, img, "--force", "0", "v08", img, "internal", s)
					}
					res[k] = r
				}
				a, b := res[0], res[1]
				if a.rc != b.rc {
					t.Errorf("exit code: drbd-utils %d, ours %d", a.rc, b.rc)
				}
				ao := regexp.MustCompile(`flags 0x[0-9A-F]{8};`).ReplaceAllString(a.out, "flags X;")
				bo := regexp.MustCompile(`flags 0x[0-9A-F]{8};`).ReplaceAllString(b.out, "flags X;")
				if ao != bo {
					t.Errorf("stdout differs:\n--- drbd-utils\n%s\n--- ours\n%s", a.out, b.out)
				}
				if a.err != b.err {
					t.Errorf("stderr differs:\n--- drbd-utils\n%s\n--- ours\n%s", a.err, b.err)
				}
				if !bytes.Equal(a.img, b.img) {
					t.Errorf("images differ")
				}
			})
		}
	}
}
