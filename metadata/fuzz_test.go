package metadata

import (
	"bytes"
	"os"
	"testing"
)

// FuzzSuperblock: decoding never panics, and decode/encode/decode is stable
// (the only normalisation is 0/0 striping read as 1/8).
func FuzzSuperblock(f *testing.F) {
	if b, err := os.ReadFile("testdata/drbdutils-create-md-80M.sb"); err == nil {
		f.Add(b)
	}
	f.Add(make([]byte, 4096))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Superblock
		if err := s.UnmarshalBinary(b); err != nil {
			if len(b) >= 4096 {
				t.Fatal(err)
			}
			return
		}
		_ = s.Validate(IndexInternal, 80<<20)
		_ = s.CheckAttach(IndexInternal, 80<<11)
		_ = s.CheckAttach(IndexFlexExt, 1<<11)
		enc, _ := s.MarshalBinary()
		var d Superblock
		if err := d.UnmarshalBinary(enc); err != nil || d != s {
			t.Fatalf("re-decode differs: %+v vs %+v", d, s)
		}
		// everything up to the magic survives, except reserved_u64_1,
		// which the kernel and drbdmeta write as zero
		if !bytes.Equal(enc[:48], b[:48]) || !bytes.Equal(enc[56:64], b[56:64]) {
			t.Fatalf("fields changed by a round trip")
		}
	})
}

// FuzzTransaction: a block that decodes as valid re-encodes to itself.
func FuzzTransaction(f *testing.F) {
	f.Add(InitializedTransaction())
	tr := update(3, 2, 0, []uint32{1, 2}, [2]uint32{0, 5})
	b, _ := tr.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, ok, err := DecodeTransaction(b)
		if err != nil {
			return
		}
		if !ok {
			return
		}
		enc, _ := tr.MarshalBinary()
		if !bytes.Equal(enc, b[:4096]) {
			t.Fatal("valid block does not re-encode to itself")
		}
	})
}

// FuzzReplayAL: replaying arbitrary activity-log bytes never panics, and the
// active set only ever holds slots below ALExtentsMax.
func FuzzReplayAL(f *testing.F) {
	f.Add(alImage(1, 8), uint8(1), uint8(8))
	f.Add(alImage(1, 8, update(9, 3, 0, []uint32{1, 2, 3}, [2]uint32{2, 4})), uint8(1), uint8(8))
	f.Fuzz(func(t *testing.T, al []byte, stripes, size uint8) {
		if stripes == 0 || size == 0 {
			return
		}
		r, _ := ReplayAL(al, uint32(stripes), uint32(size))
		for slot := range r.Hot {
			if slot >= ALExtentsMax {
				t.Fatalf("slot %d in active set", slot)
			}
		}
	})
}
