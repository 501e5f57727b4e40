package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
)

// The bitmap exchange (P_BITMAP, P_COMPRESSED_BITMAP) transfers a whole
// dirty bitmap as a sequence of packets of at most SocketBufferSize bytes,
// header included. Each packet either carries plain little-endian 64-bit
// words or an RLE_VLI_Bits code of alternating runs of clear and set bits.
// Sender and receiver keep the same position, a bit offset and the word it
// falls in, across packets: a plain packet continues at the word holding the
// bit where the last compressed packet stopped (resending some bits, which is
// harmless because the receiver only ever sets bits), and a compressed
// packet continues at the bit after the last plain word.
//
// Bitmaps are []uint64 words: bit i is bit i%64 of word i/64, which is the
// kernel's layout on a 64-bit host (and, as a little-endian byte stream, on
// any host). Bits at and beyond the bitmap's length in its last word are kept
// clear, as the kernel keeps them (bm_clear_surplus).

// Encoding byte of p_compressed_bm.
const (
	rleVLIBits  = 2    // RLE_VLI_Bits, in the low nibble
	encStartSet = 0x80 // the first run is a run of set bits
)

// BitmapStats counts a transfer's packets and bytes (headers included) the
// way struct bm_xfer_ctx does, as 32-bit counters that wrap like the
// kernel's, and knows the bitmap size and header size that
// INFO_bm_xfer_stats compares them with.
type BitmapStats struct {
	PlainPackets uint32 // packets[1]: P_BITMAP
	PlainBytes   uint32 // bytes[1]
	RLEPackets   uint32 // packets[0]: P_COMPRESSED_BITMAP
	RLEBytes     uint32 // bytes[0]
	Words        uint64 // bm_words, in 64-bit words
	HeaderSize   int
}

func (st *BitmapStats) count(cmd Cmd, payload int) {
	n := uint32(st.HeaderSize + payload)
	if cmd == CmdBitmap {
		st.PlainPackets++
		st.PlainBytes += n
	} else {
		st.RLEPackets++
		st.RLEBytes += n
	}
}

// ratio returns the kernel's compression figure in tenths of a percent, and
// whether the kernel would log it at all (only when something was sent and
// the total is smaller than a plain transfer would have been).
func (st BitmapStats) ratio() (total, r uint32, logged bool) {
	hs := uint64(st.HeaderSize)
	dataSize := SocketBufferSize - hs
	// The kernel divides a word count by a byte count here; kept as is.
	plain := uint32(hs*((st.Words+dataSize-1)/dataSize+1) + st.Words*8)
	total = st.RLEBytes + st.PlainBytes
	logged = total != 0 && total < plain
	if plain == 0 {
		return total, 0, logged
	}
	if total > ^uint32(0)/1000 {
		if plain/1000 == 0 {
			return total, 0, logged
		}
		r = total / (plain / 1000)
	} else {
		r = 1000 * total / plain
	}
	r = 1000 - min(r, 1000)
	return total, r, logged
}

// String renders the counters as INFO_bm_xfer_stats does after its direction
// word: "bitmap stats [Bytes(packets)]: plain 4088(1), RLE 23(1), total
// 4111; compression: 99.9%".
func (st BitmapStats) String() string {
	total, r, _ := st.ratio()
	return fmt.Sprintf("bitmap stats [Bytes(packets)]: plain %d(%d), RLE %d(%d), total %d; compression: %d.%d%%",
		st.PlainBytes, st.PlainPackets, st.RLEBytes, st.RLEPackets, total, r/10, r%10)
}

// Summary is the line the kernel logs at the end of a transfer, direction
// being "send" or "receive", and whether it logs one at all: it stays silent
// when the transfer was not smaller than a plain one.
func (st BitmapStats) Summary(direction string) (string, bool) {
	_, _, logged := st.ratio()
	return direction + " " + st.String(), logged
}

// xfer is struct bm_xfer_ctx.
type xfer struct {
	bm         []uint64
	bits       uint64 // bm_bits
	words      uint64 // bm_words
	bitOffset  uint64
	wordOffset uint64
	hs         int
	stats      BitmapStats
}

func newXfer(bm []uint64, nbits uint64, agreed int) (xfer, error) {
	words := (nbits + 63) / 64
	if uint64(len(bm)) < words {
		return xfer{}, fmt.Errorf("proto: bitmap of %d words cannot hold %d bits", len(bm), nbits)
	}
	hs := HeaderSize(agreed)
	return xfer{
		bm: bm[:words], bits: nbits, words: words, hs: hs,
		stats: BitmapStats{Words: words, HeaderSize: hs},
	}, nil
}

// plainWords is how many words a P_BITMAP carries from the current word on.
func (x *xfer) plainWords() uint64 {
	return min(uint64(SocketBufferSize-x.hs)/8, x.words-x.wordOffset)
}

// surplus is the mask of valid bits in the last word (all ones if the bitmap
// ends on a word boundary).
func (x *xfer) surplus() uint64 {
	if r := x.bits % 64; r != 0 {
		return 1<<r - 1
	}
	return ^uint64(0)
}

// word returns word i with the bits past the end cleared.
func (x *xfer) word(i uint64) uint64 {
	if i == x.words-1 {
		return x.bm[i] & x.surplus()
	}
	return x.bm[i]
}

// find returns the first bit at or after from that is set (or clear, if set
// is false), or bits if there is none: _drbd_bm_find_next and
// _drbd_bm_find_next_zero, with DRBD_END_OF_BITMAP mapped to bm_bits as
// fill_bitmap_rle_bits does.
func (x *xfer) find(from uint64, set bool) uint64 {
	if from >= x.bits {
		return x.bits
	}
	i := from / 64
	w := x.bm[i]
	if !set {
		w = ^w
	}
	w &= ^uint64(0) << (from % 64)
	for w == 0 {
		i++
		if i >= x.words {
			return x.bits
		}
		w = x.bm[i]
		if !set {
			w = ^w
		}
	}
	return min(i*64+uint64(bits.TrailingZeros64(w)), x.bits)
}

// setRange sets bits s to e inclusive (_drbd_bm_set_bits).
func (x *xfer) setRange(s, e uint64) {
	for s <= e {
		i, sh := s/64, s%64
		n := min(64-sh, e-s+1)
		m := ^uint64(0)
		if n < 64 {
			m = (1<<n - 1) << sh
		}
		x.bm[i] |= m
		s += n
	}
}

// BitmapSender produces the packets by which the kernel sends a bitmap
// (_drbd_send_bitmap, send_bitmap_rle_or_plain, fill_bitmap_rle_bits), in
// the same order and with the same bytes. Each packet is compressed when
// RLE is allowed (use-rle is set and the agreed version is at least 90) and
// the code covers at least as many bitmap bits as it has bits itself;
// otherwise it is plain, as many words as fit. A transfer ends with the first
// compressed packet that reaches the end of the bitmap, or else with an empty
// P_BITMAP after the last plain words, which the receiver waits for.
//
// The bitmap must not change while packets are produced.
type BitmapSender struct {
	x      xfer
	useRLE bool
	done   bool
}

// NewBitmapSender prepares to send the first nbits bits of bitmap on a
// connection with the given agreed version; useRLE is the net option
// use-rle.
func NewBitmapSender(bitmap []uint64, nbits uint64, agreed int, useRLE bool) (*BitmapSender, error) {
	x, err := newXfer(bitmap, nbits, agreed)
	if err != nil {
		return nil, err
	}
	return &BitmapSender{x: x, useRLE: useRLE && agreed >= 90}, nil
}

// Done reports whether the last packet has been produced.
func (s *BitmapSender) Done() bool { return s.done }

// Stats returns the counters of the packets produced so far.
func (s *BitmapSender) Stats() BitmapStats { return s.x.stats }

// Next appends the payload of the next packet to dst and returns its command
// and the payload. It fails after the last packet, and if the bitmap changed
// under it.
func (s *BitmapSender) Next(dst []byte) (Cmd, []byte, error) {
	if s.done {
		return 0, nil, errors.New("proto: bitmap already sent")
	}
	x := &s.x
	start := len(dst)
	codeCap := SocketBufferSize - x.hs - 1
	dst = slices.Grow(dst, 1+codeCap)[:start+1+codeCap]
	code := dst[start+1:]
	clear(code)
	n, enc, err := s.fillRLE(code)
	if err != nil {
		return 0, nil, err
	}
	if n > 0 {
		dst = dst[:start+1+n]
		dst[start] = enc
		x.stats.count(CmdCompressedBitmap, 1+n)
		s.done = x.bitOffset >= x.bits
		return CmdCompressedBitmap, dst[start:], nil
	}
	dst = dst[:start]
	num := x.plainWords()
	for i := x.wordOffset; i < x.wordOffset+num; i++ {
		dst = binary.LittleEndian.AppendUint64(dst, x.word(i))
	}
	x.wordOffset += num
	x.bitOffset = min(x.wordOffset*64, x.bits)
	x.stats.count(CmdBitmap, int(8*num))
	s.done = num == 0
	return CmdBitmap, dst[start:], nil
}

// fillRLE is fill_bitmap_rle_bits: it codes runs from the current bit into
// code (zeroed) until the bitmap ends or code is full. It returns the code
// length in bytes and the encoding byte, or 0 when the packet shall be plain,
// having moved the position back to the start of the current word.
func (s *BitmapSender) fillRLE(code []byte) (int, byte, error) {
	x := &s.x
	if !s.useRLE || x.bitOffset >= x.bits {
		return 0, 0, nil
	}
	w := bitWriter{buf: code}
	var plainBits uint64
	var enc byte
	toggle := 2 // 2: first run (clear); 0: in a set run; 1: in a clear run
	for x.bitOffset < x.bits {
		next := x.find(x.bitOffset, toggle != 0)
		rl := next - x.bitOffset
		if toggle == 2 {
			if rl == 0 {
				// The bitmap starts with a set bit: say so, and code
				// the set run first.
				enc = encStartSet
				toggle = 0
				continue
			}
			enc = 0
		}
		if rl == 0 {
			return 0, 0, fmt.Errorf("proto: unexpected zero runlength while encoding bitmap t:%d bo:%d", toggle, x.bitOffset)
		}
		cw, n, ok := vliEncode(rl)
		if !ok {
			// The kernel gives up on this packet without rewinding
			// ("error while encoding bitmap"); a run this long does
			// not exist in a bitmap of addressable size.
			return 0, 0, nil
		}
		if !w.put(cw, n) {
			break
		}
		if toggle == 0 {
			toggle = 1
		} else {
			toggle = 0
		}
		plainBits += rl
		x.bitOffset = next
	}
	n := int((w.pos + 7) / 8)
	if plainBits < 8*uint64(n) {
		// Not compressible here: rewind to the word holding the start.
		x.bitOffset -= plainBits
		x.wordOffset = x.bitOffset / 64
		x.bitOffset = x.wordOffset * 64
		return 0, 0, nil
	}
	x.wordOffset = x.bitOffset / 64
	pad := byte((8 - w.pos%8) % 8)
	return n, enc | pad<<4 | rleVLIBits, nil
}

// BitmapReceiver applies the packets of a bitmap transfer to a bitmap as
// the kernel's receive_bitmap does: plain words are ORed in
// (drbd_bm_merge_lel), set runs of a compressed packet are set, clear runs
// leave the bitmap alone. It checks every packet as the kernel does and
// returns an error matching ErrProtocol for the first bad one; after an
// error, or once the transfer is complete, it accepts no more packets. Bits
// already applied stay applied.
type BitmapReceiver struct {
	x    xfer
	done bool
	err  error
}

// NewBitmapReceiver prepares to receive into the first nbits bits of bitmap
// on a connection with the given agreed version.
func NewBitmapReceiver(bitmap []uint64, nbits uint64, agreed int) (*BitmapReceiver, error) {
	x, err := newXfer(bitmap, nbits, agreed)
	if err != nil {
		return nil, err
	}
	return &BitmapReceiver{x: x}, nil
}

// Done reports whether the transfer is complete.
func (r *BitmapReceiver) Done() bool { return r.done }

// Stats returns the counters of the packets received so far.
func (r *BitmapReceiver) Stats() BitmapStats { return r.x.stats }

// Receive applies one packet and reports whether the transfer is complete.
func (r *BitmapReceiver) Receive(cmd Cmd, payload []byte) (done bool, err error) {
	switch {
	case r.err != nil:
		return false, r.err
	case r.done:
		return true, protoErr("%s after the bitmap transfer completed", cmd)
	}
	more, err := r.receive(cmd, payload)
	if err != nil {
		r.err = err
		return false, err
	}
	r.done = !more
	return r.done, nil
}

func (r *BitmapReceiver) receive(cmd Cmd, payload []byte) (bool, error) {
	x := &r.x
	switch cmd {
	case CmdBitmap:
		more, err := r.plain(payload)
		x.stats.count(cmd, len(payload))
		return more, err
	case CmdCompressedBitmap:
		if len(payload) > SocketBufferSize-x.hs {
			return false, protoErr("ReportCBitmap packet too large")
		}
		if len(payload) <= 1 {
			return false, protoErr("ReportCBitmap packet too small (l:%d)", len(payload))
		}
		more, err := r.rle(payload)
		x.stats.count(cmd, len(payload))
		return more, err
	}
	return false, protoErr("receive_bitmap: cmd neither ReportBitMap nor ReportCBitMap (is 0x%x)", uint16(cmd))
}

// plain is receive_bitmap_plain.
func (r *BitmapReceiver) plain(p []byte) (bool, error) {
	x := &r.x
	num := x.plainWords()
	if want := 8 * num; uint64(len(p)) != want {
		return false, protoErr("receive_bitmap_plain:want (%d) != size (%d)", want, len(p))
	}
	if num == 0 {
		return false, nil
	}
	for i := range num {
		x.bm[x.wordOffset+i] |= binary.LittleEndian.Uint64(p[8*i:])
	}
	x.wordOffset += num
	if x.wordOffset == x.words {
		x.bm[x.words-1] &= x.surplus()
	}
	x.bitOffset = min(x.wordOffset*64, x.bits)
	return true, nil
}

// rle is decode_bitmap_c and recv_bm_rle_bits.
func (r *BitmapReceiver) rle(p []byte) (bool, error) {
	x := &r.x
	enc := p[0]
	if enc&0x0f != rleVLIBits {
		return false, protoErr("receive_bitmap_c: unknown encoding %d", enc)
	}
	code := p[1:]
	br := bitReader{buf: code, limit: 8*uint(len(code)) - uint(enc>>4&7)}
	set := enc&encStartSet != 0
	s := x.bitOffset
	look, have := br.get(64)
	for have > 0 {
		rl, n := vliDecode(look)
		if have < n {
			return false, protoErr("bitmap decoding error: h:%d b:%d la:0x%08x l:%d/%d",
				have, n, look, br.pos/8, len(code))
		}
		if set {
			if e := s + rl - 1; e >= x.bits {
				return false, protoErr("bitmap overflow (e:%d) while decoding bm RLE packet", e)
			}
			x.setRange(s, s+rl-1)
		} else if rl > x.bits-s {
			// The kernel does not check clear runs; a run past the end
			// would corrupt its position for the next packet.
			return false, protoErr("bitmap overflow (s:%d) while decoding bm RLE packet", s+rl)
		}
		if n < 64 {
			look >>= n
		} else {
			look = 0
		}
		have -= n
		more, got := br.get(64 - have)
		look |= more << have
		have += got
		s += rl
		set = !set
	}
	x.bitOffset = s
	x.wordOffset = s / 64
	return s != x.bits, nil
}
