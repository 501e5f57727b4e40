package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// tb is what both *testing.T and *rapid.T provide.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

type packet struct {
	cmd     Cmd
	payload []byte
}

// sendAll runs a BitmapSender to the end.
func sendAll(t tb, bm []uint64, nbits uint64, agreed int, rle bool) ([]packet, BitmapStats) {
	t.Helper()
	s, err := NewBitmapSender(bm, nbits, agreed, rle)
	if err != nil {
		t.Fatal(err)
	}
	var out []packet
	for !s.Done() {
		cmd, p, err := s.Next(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) > SocketBufferSize-HeaderSize(agreed) {
			t.Fatalf("packet %d: %d-byte payload exceeds the socket buffer", len(out), len(p))
		}
		out = append(out, packet{cmd, p})
		if len(out) > 1<<20 {
			t.Fatal("sender does not terminate")
		}
	}
	if _, _, err := s.Next(nil); err == nil {
		t.Fatal("Next after the last packet succeeded")
	}
	return out, s.Stats()
}

// receiveAll feeds packets to a BitmapReceiver and requires that exactly
// the last one completes the transfer.
func receiveAll(t tb, pkts []packet, bm []uint64, nbits uint64, agreed int) BitmapStats {
	t.Helper()
	r, err := NewBitmapReceiver(bm, nbits, agreed)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		done, err := r.Receive(p.cmd, p.payload)
		if err != nil {
			t.Fatalf("packet %d (%v): %v", i, p.cmd, err)
		}
		if done != (i == len(pkts)-1) {
			t.Fatalf("packet %d of %d: done = %v", i, len(pkts), done)
		}
	}
	return r.Stats()
}

func mustReceiver(t *testing.T, bm []uint64, nbits uint64) *BitmapReceiver {
	t.Helper()
	r, err := NewBitmapReceiver(bm, nbits, 101)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func setBits(bm []uint64, from, to uint64) {
	for i := from; i < to; i++ {
		bm[i/64] |= 1 << (i % 64)
	}
}

// TestBitmapKnownVectors holds packets worked out by hand from
// fill_bitmap_rle_bits and the VLI table for tiny bitmaps.
func TestBitmapKnownVectors(t *testing.T) {
	// Bits 10..19 set in a 4096-bit map: runs clear 10, set 10, clear 4076.
	// 10 -> level 4 (9..16): (10-9)<<4 | 0x07 = 0x17, 7 bits (twice);
	// 4076 -> level 7 (305..8496): (4076-305)<<8 | 0x3f = 0xebb3f, 21 bits.
	// Stream 0x17 | 0x17<<7 | 0xebb3f<<14 = 0x3aecfcb97: 35 bits in 5 bytes,
	// 5 pad bits; encoding byte = pad 5<<4 | RLE_VLI_Bits 2 = 0x52.
	bm := make([]uint64, 64)
	setBits(bm, 10, 20)
	pkts, st := sendAll(t, bm, 4096, 101, true)
	if len(pkts) != 1 || pkts[0].cmd != CmdCompressedBitmap || !bytes.Equal(pkts[0].payload, unhex(t, "52 97cbcfae03")) {
		t.Fatalf("got %v", pkts)
	}
	got := make([]uint64, 64)
	if done, err := mustReceiver(t, got, 4096).Receive(CmdCompressedBitmap, unhex(t, "52 97cbcfae03")); !done || err != nil ||
		!equalWords(got, bm) {
		t.Fatalf("receiving the vector: %v %v, words %x", done, err, got[:1])
	}
	wire := AppendHeader(nil, 101, 0, pkts[0].cmd, len(pkts[0].payload))
	wire = append(wire, pkts[0].payload...)
	if want := unhex(t, "8620ec20 0000 0024 00000006 00000000 52 97cbcfae03"); !bytes.Equal(wire, want) {
		t.Fatalf("wire %x, want %x", wire, want)
	}
	// plain would be 16*(ceil(64/4080)+1) + 64*8 = 544 bytes; 22 were sent:
	// 1000 - 1000*22/544 = 960.
	if line, ok := st.Summary("send"); !ok || line != "send bitmap stats [Bytes(packets)]: plain 0(0), RLE 22(1), total 22; compression: 96.0%" {
		t.Fatalf("summary %q, %v", line, ok)
	}

	// Bits 0..9 set: the first run is set (bit 7 of the encoding byte).
	// 10 -> 0x17 (7 bits); 4086 -> (4086-305)<<8 | 0x3f = 0xec53f (21 bits);
	// 0x17 | 0xec53f<<7 = 0x7629f97, 28 bits, 4 pad bits: 0x80|0x40|2.
	bm = make([]uint64, 64)
	setBits(bm, 0, 10)
	pkts, _ = sendAll(t, bm, 4096, 100, true)
	if len(pkts) != 1 || !bytes.Equal(pkts[0].payload, unhex(t, "c2 979f6207")) {
		t.Fatalf("got %v", pkts)
	}
	got = make([]uint64, 64)
	if done, err := mustReceiver(t, got, 4096).Receive(CmdCompressedBitmap, unhex(t, "c2 979f6207")); !done || err != nil ||
		!equalWords(got, bm) {
		t.Fatalf("receiving the vector: %v %v, words %x", done, err, got[:1])
	}

	// The same map without RLE (or below version 90): all 64 words in one
	// P_BITMAP, word 0 = bits 0..9 = 0x3ff little-endian, then the empty
	// P_BITMAP that ends a plain transfer.
	for _, tc := range []struct {
		agreed int
		rle    bool
	}{{101, false}, {89, true}, {86, false}} {
		pkts, st = sendAll(t, bm, 4096, tc.agreed, tc.rle)
		want := append(unhex(t, "ff03000000000000"), make([]byte, 63*8)...)
		if len(pkts) != 2 || pkts[0].cmd != CmdBitmap || !bytes.Equal(pkts[0].payload, want) ||
			pkts[1].cmd != CmdBitmap || len(pkts[1].payload) != 0 {
			t.Fatalf("agreed %d rle %v: got %d packets", tc.agreed, tc.rle, len(pkts))
		}
		hs := uint32(HeaderSize(tc.agreed))
		if st.PlainPackets != 2 || st.PlainBytes != 2*hs+512 || st.RLEPackets != 0 {
			t.Fatalf("stats %+v", st)
		}
		if _, ok := st.Summary("send"); ok {
			t.Fatalf("a plain transfer is not logged")
		}
	}

	// An empty bitmap is one empty P_BITMAP.
	pkts, _ = sendAll(t, nil, 0, 101, true)
	if len(pkts) != 1 || pkts[0].cmd != CmdBitmap || len(pkts[0].payload) != 0 {
		t.Fatalf("empty bitmap: %v", pkts)
	}

	// 2^30 clear bits: one run, level 9 (0x202131..0x400202130):
	// (2^30-0x202131)<<8 | 0xbf, 42 bits in 6 bytes, pad 6.
	big := make([]uint64, 1<<24)
	pkts, _ = sendAll(t, big, 1<<30, 101, true)
	code := uint64(1<<30-0x202131)<<8 | 0xbf
	var wantBig [8]byte
	binary.LittleEndian.PutUint64(wantBig[:], code)
	if len(pkts) != 1 || !bytes.Equal(pkts[0].payload, append([]byte{0x62}, wantBig[:6]...)) {
		t.Fatalf("2^30 clear bits: %v", pkts)
	}
}

// TestBitmapRLETie: a packet is compressed when its code is not longer than
// the bits it covers, plain otherwise (plain_bits < len<<3). Runs of 3 cost 3
// code bits each; 8 runs fill 3 bytes exactly, 7 runs need 3 bytes for 21
// bits.
func TestBitmapRLETie(t *testing.T) {
	period3 := func(n uint64) []uint64 {
		bm := make([]uint64, 1)
		for i := uint64(0); i < n; i++ {
			if i/3%2 == 1 {
				bm[0] |= 1 << i
			}
		}
		return bm
	}
	pkts, _ := sendAll(t, period3(24), 24, 101, true)
	if len(pkts) != 1 || pkts[0].cmd != CmdCompressedBitmap || len(pkts[0].payload) != 4 {
		t.Fatalf("24 bits: %v", pkts)
	}
	pkts, _ = sendAll(t, period3(21), 21, 101, true)
	if len(pkts) != 2 || pkts[0].cmd != CmdBitmap || len(pkts[0].payload) != 8 {
		t.Fatalf("21 bits: %v", pkts)
	}
}

// TestBitmapIncompressible: alternating bits cost 2 code bits per bit, so
// every packet falls back to plain, the kernel trying RLE again before each.
func TestBitmapIncompressible(t *testing.T) {
	const nbits = 100000
	bm := make([]uint64, (nbits+63)/64)
	for i := range bm {
		bm[i] = 0xaaaaaaaaaaaaaaaa
	}
	pkts, st := sendAll(t, bm, nbits, 101, true)
	words := (nbits + 63) / 64
	perPacket := (SocketBufferSize - 16) / 8
	if want := (words+perPacket-1)/perPacket + 1; len(pkts) != want {
		t.Fatalf("%d packets, want %d", len(pkts), want)
	}
	for i, p := range pkts {
		if p.cmd != CmdBitmap {
			t.Fatalf("packet %d is %v", i, p.cmd)
		}
	}
	if st.RLEPackets != 0 {
		t.Fatalf("stats %+v", st)
	}
	// The surplus bits past 100000 in the last word are not sent.
	last := pkts[len(pkts)-2].payload
	if w := binary.LittleEndian.Uint64(last[len(last)-8:]); w != 0xaaaaaaaaaaaaaaaa&(1<<(nbits%64)-1) {
		t.Fatalf("last word %#x", w)
	}
}

// TestBitmapMixed: a noisy region goes plain, the clear rest compressed, and
// the compressed packet resumes right after the plain words.
func TestBitmapMixed(t *testing.T) {
	const nbits = 1 << 20
	bm := make([]uint64, nbits/64)
	for i := range 1000 {
		bm[i] = 0x5555555555555555
	}
	pkts, _ := sendAll(t, bm, nbits, 101, true)
	var kinds []string
	for _, p := range pkts {
		kinds = append(kinds, p.cmd.String())
	}
	if got := strings.Join(kinds, " "); got != "ReportBitMap ReportBitMap CBitmap" {
		t.Fatalf("packets: %s", got)
	}
	out := make([]uint64, len(bm))
	receiveAll(t, pkts, out, nbits, 101)
	if !equalWords(out, bm) {
		t.Fatal("bitmap differs after transfer")
	}
}

func equalWords(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// refPackets is an independent, bit-at-a-time model of
// send_bitmap_rle_or_plain, to check the word-wise sender against.
func refPackets(bits []bool, agreed int, rle bool) []packet {
	hs := HeaderSize(agreed)
	n := uint64(len(bits))
	words := (n + 63) / 64
	var bitOff, wordOff uint64
	var out []packet
	for {
		if rle && agreed >= 90 && bitOff < n {
			var code []bool
			start := bitOff
			capBits := 8 * (SocketBufferSize - hs - 1)
			first := bits[bitOff]
			cur := first
			for bitOff < n {
				rl := uint64(0)
				for bitOff+rl < n && bits[bitOff+rl] == cur {
					rl++
				}
				cw, cn, _ := vliEncode(rl)
				if len(code)+int(cn) > capBits {
					break
				}
				for i := range cn {
					code = append(code, cw>>i&1 == 1)
				}
				bitOff += rl
				cur = !cur
			}
			nb := (len(code) + 7) / 8
			if bitOff-start >= uint64(8*nb) {
				p := make([]byte, 1+nb)
				p[0] = byte((8-len(code)%8)%8)<<4 | 2
				if first {
					p[0] |= 0x80
				}
				for i, c := range code {
					if c {
						p[1+i/8] |= 1 << (i % 8)
					}
				}
				out = append(out, packet{CmdCompressedBitmap, p})
				wordOff = bitOff / 64
				if bitOff >= n {
					return out
				}
				continue
			}
			wordOff = start / 64
		}
		num := min(uint64(SocketBufferSize-hs)/8, words-wordOff)
		p := make([]byte, 8*num)
		for i := wordOff * 64; i < (wordOff+num)*64 && i < n; i++ {
			if bits[i] {
				p[(i-wordOff*64)/8] |= 1 << (i % 8)
			}
		}
		out = append(out, packet{CmdBitmap, p})
		wordOff += num
		bitOff = min(wordOff*64, n)
		if num == 0 {
			return out
		}
	}
}

// genBitmap draws a bitmap as alternating runs, short and long, possibly
// with junk in the surplus bits of the last word.
func genBitmap(t *rapid.T) ([]uint64, []bool) {
	n := rapid.Uint64Range(0, 200000).Draw(t, "nbits")
	bits := make([]bool, n)
	cur := rapid.Bool().Draw(t, "first")
	for i := uint64(0); i < n; {
		var rl uint64
		switch rapid.IntRange(0, 3).Draw(t, "kind") {
		case 0:
			rl = rapid.Uint64Range(1, 4).Draw(t, "short")
		case 1:
			rl = rapid.Uint64Range(1, 70).Draw(t, "medium")
		default:
			rl = rapid.Uint64Range(1, 50000).Draw(t, "long")
		}
		for j := i; j < min(i+rl, n); j++ {
			bits[j] = cur
		}
		i += rl
		cur = !cur
	}
	bm := make([]uint64, (n+63)/64)
	for i, b := range bits {
		if b {
			bm[i/64] |= 1 << (i % 64)
		}
	}
	if n%64 != 0 && rapid.Bool().Draw(t, "junk") {
		bm[len(bm)-1] |= ^uint64(0) << (n % 64)
	}
	return bm, bits
}

// TestBitmapProperties: for any bitmap, the sender matches the reference
// model packet for packet, the receiver rebuilds the bitmap (ORed into what
// it held), and both sides count the same.
func TestBitmapProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		bm, bits := genBitmap(t)
		n := uint64(len(bits))
		agreed := rapid.SampledFrom([]int{86, 89, 90, 94, 95, 99, 100, 101}).Draw(t, "agreed")
		rle := rapid.Bool().Draw(t, "rle")
		pkts, sst := sendAll(t, bm, n, agreed, rle)
		ref := refPackets(bits, agreed, rle)
		if len(ref) != len(pkts) {
			t.Fatalf("%d packets, reference %d", len(pkts), len(ref))
		}
		for i := range ref {
			if ref[i].cmd != pkts[i].cmd || !bytes.Equal(ref[i].payload, pkts[i].payload) {
				t.Fatalf("packet %d: %v %x, reference %v %x", i, pkts[i].cmd, pkts[i].payload, ref[i].cmd, ref[i].payload)
			}
		}
		// Receive into a bitmap that already has some bits set.
		out := make([]uint64, len(bm))
		want := make([]uint64, len(bm))
		for i, b := range bits {
			if b {
				want[i/64] |= 1 << (i % 64)
			}
		}
		for i := range out {
			if rapid.IntRange(0, 9).Draw(t, "preset") == 0 {
				out[i] = rapid.Uint64().Draw(t, "word")
				want[i] |= out[i]
			}
		}
		if len(want) > 0 && n%64 != 0 {
			want[len(want)-1] &= 1<<(n%64) - 1
			out[len(out)-1] &= 1<<(n%64) - 1
		}
		rst := receiveAll(t, pkts, out, n, agreed)
		if !equalWords(out, want) {
			t.Fatalf("received bitmap differs")
		}
		if sst != rst {
			t.Fatalf("sender stats %+v, receiver %+v", sst, rst)
		}
	})
}

// TestBitmapManyPackets: a long noisy bitmap spans many packets of both
// kinds at every header size.
func TestBitmapManyPackets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const nbits = 3<<20 + 13
	bm := make([]uint64, (nbits+63)/64)
	for i := range bm {
		switch i / 5000 % 3 {
		case 0:
			bm[i] = rng.Uint64()
		case 1:
			bm[i] = 0
		default:
			if rng.IntN(50) == 0 {
				bm[i] = 1 << rng.IntN(64)
			}
		}
	}
	bm[len(bm)-1] &= 1<<(nbits%64) - 1
	for _, agreed := range []int{94, 101} {
		pkts, st := sendAll(t, bm, nbits, agreed, true)
		if st.RLEPackets < 2 || st.PlainPackets < 2 {
			t.Fatalf("agreed %d: stats %+v", agreed, st)
		}
		out := make([]uint64, len(bm))
		receiveAll(t, pkts, out, nbits, agreed)
		if !equalWords(out, bm) {
			t.Fatalf("agreed %d: bitmap differs", agreed)
		}
	}
}

// TestBitmapReceiverRejects feeds malformed packets; each must fail with a
// protocol error, and the receiver must stay failed.
func TestBitmapReceiverRejects(t *testing.T) {
	good := unhex(t, "52 97cbcfae03") // bits 10..19 of 4096
	for _, tc := range []struct {
		name  string
		nbits uint64
		cmd   Cmd
		p     []byte
		err   string
	}{
		{"unknown encoding", 4096, CmdCompressedBitmap, unhex(t, "53 97cbcfae03"), "unknown encoding 83"},
		{"too small", 4096, CmdCompressedBitmap, unhex(t, "52"), "too small (l:1)"},
		{"too large", 4096, CmdCompressedBitmap, append([]byte{0x52}, make([]byte, 4080)...), "too large"},
		// 65 set bits (level 6: 16<<6|0x1f = 0x41f, 14 bits, 2 pad) in 64.
		{"set run past the end", 64, CmdCompressedBitmap, unhex(t, "a2 1f04"), "bitmap overflow (e:64)"},
		{"clear run past the end", 64, CmdCompressedBitmap, unhex(t, "22 1f04"), "bitmap overflow (s:65)"},
		{"truncated code", 4096, CmdCompressedBitmap, unhex(t, "02 3f"), "bitmap decoding error: h:8 b:21"},
		// Pad 0 instead of 5: five zero bits more decode as a set run of 1
		// at the end of the bitmap.
		{"wrong pad bits", 4096, CmdCompressedBitmap, append([]byte{0x02}, good[1:]...), "bitmap overflow (e:4096)"},
		{"plain too short", 4096, CmdBitmap, make([]byte, 8), "receive_bitmap_plain:want (512) != size (8)"},
		{"plain too long", 64, CmdBitmap, make([]byte, 16), "want (8) != size (16)"},
		{"not a bitmap packet", 4096, CmdData, good, "cmd neither ReportBitMap nor ReportCBitMap (is 0x0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewBitmapReceiver(make([]uint64, (tc.nbits+63)/64), tc.nbits, 101)
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Receive(tc.cmd, tc.p)
			if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if _, err2 := r.Receive(CmdCompressedBitmap, good); err2 != err {
				t.Fatalf("receiver accepted a packet after failing: %v", err2)
			}
		})
	}

	// After completion, nothing more is accepted.
	r, _ := NewBitmapReceiver(make([]uint64, 64), 4096, 101)
	if done, err := r.Receive(CmdCompressedBitmap, good); !done || err != nil {
		t.Fatalf("good packet: %v %v", done, err)
	}
	if _, err := r.Receive(CmdBitmap, nil); !errors.Is(err, ErrProtocol) {
		t.Fatalf("packet after completion: %v", err)
	}
	if _, err := NewBitmapReceiver(make([]uint64, 1), 65, 101); err == nil {
		t.Fatal("a 1-word bitmap accepted 65 bits")
	}
}

// TestBitmapStatsOverflow: the ratio stays in range when 1000*total would
// not fit 32 bits.
func TestBitmapStatsOverflow(t *testing.T) {
	st := BitmapStats{RLEBytes: 5_000_000, RLEPackets: 1300, Words: 1 << 27, HeaderSize: 16}
	line, ok := st.Summary("receive")
	if !ok || line != "receive bitmap stats [Bytes(packets)]: plain 0(0), RLE 5000000(1300), total 5000000; compression: 99.6%" {
		t.Fatalf("%q %v", line, ok)
	}
}
