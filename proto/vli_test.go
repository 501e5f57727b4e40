package proto

import (
	"testing"

	"pgregory.net/rapid"
)

// TestVLIBoundaries encodes the first and last value of every level and
// checks the code length, the prefix and the round trip.
func TestVLIBoundaries(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		bits uint
		code uint64 // expected code word, 0 if not checked
	}{
		{1, 2, 0b00},
		{2, 2, 0b10},
		{3, 3, 0b001},
		{4, 3, 0b101},
		{5, 5, 0b00011},
		{8, 5, 0b11011},
		{9, 7, 0b0000111},
		{10, 7, 0x17},
		{16, 7, 0b1110111},
		{17, 10, 0x0f},
		{48, 10, 31<<5 | 0x0f},
		{49, 14, 0x1f},
		{304, 14, 255<<6 | 0x1f},
		{305, 21, 0x3f},
		{4076, 21, 3771<<8 | 0x3f},
		{0x2130, 21, (1<<13-1)<<8 | 0x3f},
		{0x2131, 29, 0x7f},
		{0x202130, 29, (1<<21-1)<<8 | 0x7f},
		{0x202131, 42, 0xbf},
		{0x400202130, 42, (1<<34-1)<<8 | 0xbf},
		{0x400202131, 64, 0xff},
		{VLIMax, 64, ^uint64(0)},
	} {
		code, bits, ok := vliEncode(tc.n)
		if !ok || bits != tc.bits || code != tc.code {
			t.Errorf("vliEncode(%#x) = %#x, %d, %v; want %#x, %d", tc.n, code, bits, ok, tc.code, tc.bits)
		}
		if n, b := vliDecode(code); n != tc.n || b != bits {
			t.Errorf("vliDecode(%#x) = %#x, %d; want %#x, %d", code, n, b, tc.n, bits)
		}
	}
	for _, n := range []uint64{0, VLIMax + 1, ^uint64(0)} {
		if _, _, ok := vliEncode(n); ok {
			t.Errorf("vliEncode(%#x) succeeded", n)
		}
	}
	// Every 8-bit prefix names a level.
	for p := range uint64(256) {
		vliDecode(p)
	}
}

// TestVLIRoundTrip: any encodable value comes back, whatever bits follow
// its code word in the stream.
func TestVLIRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var n uint64
		if rapid.Bool().Draw(t, "small") {
			n = rapid.Uint64Range(1, 1<<22).Draw(t, "n")
		} else {
			n = rapid.Uint64Range(1, VLIMax).Draw(t, "n")
		}
		junk := rapid.Uint64().Draw(t, "junk")
		code, bits, ok := vliEncode(n)
		if !ok {
			t.Fatalf("vliEncode(%d) failed", n)
		}
		if bits < 64 {
			code |= junk << bits
		}
		if got, b := vliDecode(code); got != n || b != bits {
			t.Fatalf("decoded %d in %d bits, want %d in %d", got, b, n, bits)
		}
	})
}

// TestBitstream: words written with put come back with get, in order,
// through byte boundaries, and put refuses what does not fit.
func TestBitstream(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.IntRange(1, 40).Draw(t, "size")
		w := bitWriter{buf: make([]byte, size)}
		type item struct {
			v uint64
			n uint
		}
		var items []item
		for {
			n := uint(rapid.IntRange(1, 64).Draw(t, "n"))
			v := rapid.Uint64().Draw(t, "v")
			if !w.put(v, n) {
				if w.pos+n <= 8*uint(size) {
					t.Fatalf("put of %d bits at %d refused in %d bytes", n, w.pos, size)
				}
				break
			}
			if n < 64 {
				v &= 1<<n - 1
			}
			items = append(items, item{v, n})
		}
		pad := (8 - w.pos%8) % 8
		r := bitReader{buf: w.buf[:(w.pos+7)/8], limit: 8*((w.pos+7)/8) - pad}
		for _, it := range items {
			if v, n := r.get(it.n); v != it.v || n != it.n {
				t.Fatalf("got %#x (%d bits), want %#x (%d)", v, n, it.v, it.n)
			}
		}
		if v, n := r.get(64); n != 0 || v != 0 {
			t.Fatalf("%d bits left over", n)
		}
	})
}
