package proto

// The RLE_VLI_Bits code of drbd_vli.h. A run length n >= 1 is written as a
// prefix code word: a level's prefix (read least significant bit first)
// selects how many data bits follow, and the data bits hold n minus the
// smallest length of that level. Code words are packed into a little-endian
// bit stream, least significant bit of each byte first.

// vliLevel is one row of the code table (LEVEL(total, prefix bits, prefix)).
type vliLevel struct {
	total  uint // code word length in bits
	pbits  uint // prefix length in bits
	prefix uint64
}

// vliLevels is VLI_L_1_1, sorted by code length. The data bits per level
// (total-pbits) are 1, 1, 2, 3, 5, 8, 13, 21, 34, 56.
var vliLevels = [...]vliLevel{
	{2, 1, 0x00},
	{3, 2, 0x01},
	{5, 3, 0x03},
	{7, 4, 0x07},
	{10, 5, 0x0f},
	{14, 6, 0x1f},
	{21, 8, 0x3f},
	{29, 8, 0x7f},
	{42, 8, 0xbf},
	{64, 8, 0xff},
}

// VLIMax is the largest run length the code can express, 2^56 + 0x400202130.
const VLIMax uint64 = 0x100000400202130

// vliEncode returns the code word for n and its length in bits, like
// __vli_encode_bits; ok is false for 0 and for values above VLIMax.
func vliEncode(n uint64) (code uint64, bits uint, ok bool) {
	if n == 0 {
		return 0, 0, false
	}
	var hi uint64
	adj := uint64(1)
	for _, l := range vliLevels {
		hi += 1 << (l.total - l.pbits)
		if n <= hi {
			return (n-adj)<<l.pbits | l.prefix, l.total, true
		}
		adj = hi + 1
	}
	return 0, 0, false
}

// vliDecode decodes the code word in the low bits of in, like
// vli_decode_bits: it returns the run length and the code word's length.
// Every 8-bit prefix selects a level, so decoding cannot fail; whether the
// stream actually held that many bits is the caller's check.
func vliDecode(in uint64) (n uint64, bits uint) {
	adj := uint64(1)
	for _, l := range vliLevels {
		if in&(1<<l.pbits-1) == l.prefix {
			data := in
			if l.total < 64 {
				data &= 1<<l.total - 1
			}
			return data>>l.pbits + adj, l.total
		}
		adj += 1 << (l.total - l.pbits)
	}
	panic("proto: incomplete VLI code table")
}

// bitWriter is the output bitstream of fill_bitmap_rle_bits.
type bitWriter struct {
	buf []byte // zeroed, fixed capacity
	pos uint   // bits written
}

// put appends the low n bits of v (n <= 64) and reports false, writing
// nothing, if they do not fit (bitstream_put_bits returning -ENOBUFS).
func (w *bitWriter) put(v uint64, n uint) bool {
	if w.pos+n > 8*uint(len(w.buf)) {
		return false
	}
	if n < 64 {
		v &= 1<<n - 1
	}
	for n > 0 {
		i, sh := w.pos/8, w.pos%8
		w.buf[i] |= byte(v << sh)
		k := min(8-sh, n)
		v >>= k
		w.pos += k
		n -= k
	}
	return true
}

// bitReader is the input bitstream of recv_bm_rle_bits: the last pad bits of
// the buffer are not part of the stream.
type bitReader struct {
	buf   []byte
	pos   uint // bits consumed
	limit uint // 8*len(buf) - pad
}

// get returns the next n bits (n <= 64), or all that remain if fewer, and
// how many it returned (bitstream_get_bits).
func (r *bitReader) get(n uint) (uint64, uint) {
	n = min(n, r.limit-r.pos)
	var v uint64
	for got := uint(0); got < n; {
		i, sh := r.pos/8, r.pos%8
		k := min(8-sh, n-got)
		v |= uint64(r.buf[i]>>sh&(1<<k-1)) << got
		got += k
		r.pos += k
	}
	return v, n
}
