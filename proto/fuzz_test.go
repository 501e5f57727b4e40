package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzDecodeHeader: decoding never panics, errors are protocol errors, and a
// decoded header re-encodes to a header that decodes the same (to the same
// bytes where the form is unique, from version 100 on).
func FuzzDecodeHeader(f *testing.F) {
	f.Add(AppendHeader(nil, 80, 0, CmdConnectionFeatures, 72), 80)
	f.Add(AppendHeader(nil, 95, 0, CmdData, 40000), 95)
	f.Add(AppendHeader(nil, 101, 3, CmdWriteAck, 24), 101)
	f.Add([]byte("\x86\x20\xec\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"), 100)
	f.Fuzz(func(t *testing.T, b []byte, agreed int) {
		h, err := DecodeHeader(b, agreed)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not a protocol error", err)
			}
			return
		}
		if agreed < 95 && h.Length > 0xffff {
			return // a p_header95 read before 95: we would not send it
		}
		enc := AppendHeader(nil, agreed, h.Volume, h.Cmd, int(h.Length))
		h2, err := DecodeHeader(enc, agreed)
		if err != nil || h2 != h {
			t.Fatalf("re-encoded %x decodes to %+v, %v; want %+v", enc, h2, err, h)
		}
		if agreed >= 100 && !bytes.Equal(enc, b[:SizeHeader100]) {
			t.Fatalf("re-encoded %x, read %x", enc, b[:SizeHeader100])
		}
	})
}

// decodeAny decodes b as payload kind k and re-encodes it.
func decodeAny(k uint8, b []byte, agreed int, features uint32) ([]byte, error) {
	type fixed interface {
		Append([]byte) []byte
		Decode([]byte) error
	}
	var p fixed
	switch k % 17 {
	case 0:
		p = &ConnectionFeatures{}
	case 1:
		p = &Data{}
	case 2:
		p = &Trim{}
	case 3:
		p = &BlockAck{}
	case 4:
		p = &BlockReq{}
	case 5:
		p = &BlockDesc{}
	case 6:
		p = &Barrier{}
	case 7:
		p = &BarrierAck{}
	case 8:
		p = &UUIDs{}
	case 9:
		p = &RSUUID{}
	case 10:
		p = &State{}
	case 11:
		p = &ReqState{}
	case 12:
		p = &ReqStateReply{}
	case 13:
		p = &DelayProbe{}
	case 14:
		var s SyncParam
		if err := s.Decode(b, agreed); err != nil {
			return nil, err
		}
		return s.Append(nil, agreed), nil
	case 15:
		var s Protocol
		if err := s.Decode(b, agreed); err != nil {
			return nil, err
		}
		return s.Append(nil, agreed), nil
	default:
		var s Sizes
		if err := s.Decode(b, features); err != nil {
			return nil, err
		}
		return s.Append(nil, features), nil
	}
	if err := p.Decode(b); err != nil {
		return nil, err
	}
	return p.Append(nil), nil
}

// FuzzPayloadDecode: every payload decoder either refuses the bytes with a
// protocol error or accepts exactly the bytes its encoder writes for the
// decoded value; the receive size rules never panic either.
func FuzzPayloadDecode(f *testing.F) {
	f.Add(uint8(0), LocalFeatures().Append(nil), 80, uint32(0))
	f.Add(uint8(1), Data{Sector: 8, BlockID: 1}.Append(nil), 101, uint32(0))
	f.Add(uint8(14), SyncParam{ResyncRate: 250, VerifyAlg: "md5"}.Append(nil, 101), 101, uint32(0))
	f.Add(uint8(14), SyncParam{ResyncRate: 250, VerifyAlg: "md5"}.Append(nil, 88), 88, uint32(0))
	f.Add(uint8(15), Protocol{Protocol: ProtC, IntegrityAlg: "crc32c"}.Append(nil, 101), 101, uint32(0))
	f.Add(uint8(16), Sizes{DSize: 1 << 21}.Append(nil, Features), 101, Features)
	f.Fuzz(func(t *testing.T, k uint8, b []byte, agreed int, features uint32) {
		enc, err := decodeAny(k, b, agreed, features)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not a protocol error", err)
			}
		} else if !bytes.Equal(enc, b) {
			t.Fatalf("kind %d: accepted %x but encodes %x", k%17, b, enc)
		}
		cmd := Cmd(binary.BigEndian.Uint16(append(b, 0, 0)))
		for _, sock := range []Socket{DataSocket, MetaSocket} {
			if err := CheckPayload(sock, cmd, features, len(b)); err != nil && !errors.Is(err, ErrProtocol) {
				t.Fatal(err)
			}
		}
	})
}

// FuzzReadPacket: reading packets from any stream never panics and never
// returns a payload larger than the buffer.
func FuzzReadPacket(f *testing.F) {
	var s []byte
	s = AppendHeader(s, 101, 0, CmdState, 4)
	s = append(s, 1, 2, 3, 4)
	s = AppendHeader(s, 101, 0, CmdPing, 0)
	f.Add(s, 101)
	f.Add(AppendHeader(nil, 95, 0, CmdData, 40000), 95)
	f.Add(append(AppendHeader(nil, 86, 0, CmdBarrier, 8), make([]byte, 8)...), 86)
	f.Fuzz(func(t *testing.T, stream []byte, agreed int) {
		r := bytes.NewReader(stream)
		buf := make([]byte, 256)
		for {
			_, p, err := ReadPacket(r, agreed, buf)
			if err != nil {
				return
			}
			if len(p) > len(buf) {
				t.Fatalf("payload of %d bytes", len(p))
			}
		}
	})
}

// FuzzBitmapReceiver: any packet sequence leaves the receiver failed, done
// or waiting, never panics, and never sets a bit past the end of the bitmap.
// The stream is a sequence of (1 byte kind, 2 bytes length, payload).
func FuzzBitmapReceiver(f *testing.F) {
	frame := func(pkts ...packet) []byte {
		var b []byte
		for _, p := range pkts {
			k := byte(0)
			if p.cmd == CmdCompressedBitmap {
				k = 1
			}
			b = append(b, k)
			b = binary.BigEndian.AppendUint16(b, uint16(len(p.payload)))
			b = append(b, p.payload...)
		}
		return b
	}
	f.Add(uint16(4096), 101, frame(packet{CmdCompressedBitmap, []byte("\x52\x97\xcb\xcf\xae\x03")}))
	f.Add(uint16(64), 86, frame(packet{CmdBitmap, make([]byte, 8)}, packet{CmdBitmap, nil}))
	f.Add(uint16(100), 101, frame(packet{CmdCompressedBitmap, []byte("\xa2\x1f\x04")}))
	f.Fuzz(func(t *testing.T, nbits uint16, agreed int, stream []byte) {
		n := uint64(nbits)
		bm := make([]uint64, (n+63)/64+1)
		r, err := NewBitmapReceiver(bm, n, agreed)
		if err != nil {
			t.Fatal(err)
		}
		for len(stream) >= 3 {
			cmd := CmdBitmap
			switch stream[0] % 3 {
			case 1:
				cmd = CmdCompressedBitmap
			case 2:
				cmd = Cmd(stream[0])
			}
			l := min(int(binary.BigEndian.Uint16(stream[1:])), len(stream)-3)
			done, err := r.Receive(cmd, stream[3:3+l])
			stream = stream[3+l:]
			if err != nil && !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not a protocol error", err)
			}
			if done != r.Done() {
				t.Fatal("Done disagrees with Receive")
			}
		}
		if bm[len(bm)-1] != 0 || n%64 != 0 && bm[n/64]>>(n%64) != 0 {
			t.Fatalf("bits set past the end: %x", bm)
		}
	})
}

// FuzzBitmapRoundTrip: any bitmap survives a transfer at every header size,
// with and without RLE.
func FuzzBitmapRoundTrip(f *testing.F) {
	f.Add([]byte{0, 0xfc, 0x0f}, uint16(4096))
	f.Add(bytes.Repeat([]byte{0xaa}, 100), uint16(800))
	f.Fuzz(func(t *testing.T, data []byte, nbits uint16) {
		n := uint64(nbits)
		bm := make([]uint64, (n+63)/64)
		for i := range bm {
			var w [8]byte
			if 8*i < len(data) {
				copy(w[:], data[8*i:])
			}
			bm[i] = binary.LittleEndian.Uint64(w[:])
		}
		if n%64 != 0 {
			bm[len(bm)-1] &= 1<<(n%64) - 1
		}
		for _, agreed := range []int{94, 101} {
			for _, rle := range []bool{false, true} {
				pkts, _ := sendAll(t, bm, n, agreed, rle)
				out := make([]uint64, len(bm))
				receiveAll(t, pkts, out, n, agreed)
				if !equalWords(out, bm) {
					t.Fatalf("agreed %d rle %v: bitmap differs", agreed, rle)
				}
			}
		}
	})
}
