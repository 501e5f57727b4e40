package metadata

import (
	"encoding/binary"
	"math/bits"
)

// Bitmap is the on-disk dirty bitmap as 64-bit words: bit b of the device
// (one bit per 4 KiB block) is bit b%64 of word b/64. On disk each word is
// stored little-endian (drbd_bitmap.c writes its unsigned longs with
// cpu_to_lel), so the byte image is the same on 32- and 64-bit hosts.
type Bitmap []uint64

// DecodeBitmap decodes the little-endian words of b; a trailing partial word
// is ignored.
func DecodeBitmap(b []byte) Bitmap {
	bm := make(Bitmap, len(b)/8)
	for i := range bm {
		bm[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return bm
}

// Encode returns the on-disk byte image of the bitmap.
func (bm Bitmap) Encode() []byte {
	b := make([]byte, 8*len(bm))
	bm.Put(b)
	return b
}

// Put writes the byte image into b, which must hold 8*len(bm) bytes.
func (bm Bitmap) Put(b []byte) {
	for i, w := range bm {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
}

// Count returns the number of set bits.
func (bm Bitmap) Count() uint64 {
	var n uint64
	for _, w := range bm {
		n += uint64(bits.OnesCount64(w))
	}
	return n
}

// Test reports whether bit b is set; bits beyond the bitmap read as clear.
func (bm Bitmap) Test(b uint64) bool {
	if b/64 >= uint64(len(bm)) {
		return false
	}
	return bm[b/64]&(1<<(b%64)) != 0
}

// Set sets bit b; bits beyond the bitmap are ignored.
func (bm Bitmap) Set(b uint64) {
	if b/64 < uint64(len(bm)) {
		bm[b/64] |= 1 << (b % 64)
	}
}

// Clear clears bit b; bits beyond the bitmap are ignored.
func (bm Bitmap) Clear(b uint64) {
	if b/64 < uint64(len(bm)) {
		bm[b/64] &^= 1 << (b % 64)
	}
}

// BitOfSector is the bitmap bit covering a 512-byte sector (BM_SECT_TO_BIT).
func BitOfSector(sector uint64) uint64 { return sector >> (BMBlockShift - 9) }

// SetALExtent sets every bit covered by activity-log extent enr (4 MiB,
// 1024 bits = 16 words) and returns how many bits were newly set. Words
// beyond the bitmap are skipped, so the last, partial extent works too
// (drbdmeta apply_al).
func (bm Bitmap) SetALExtent(enr uint32) (added uint64) {
	const words = BMBytesPerALExt / 8
	first := uint64(enr) * words
	for i := first; i < first+words && i < uint64(len(bm)); i++ {
		added += uint64(64 - bits.OnesCount64(bm[i]))
		bm[i] = ^uint64(0)
	}
	return added
}
