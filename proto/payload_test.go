package proto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// fixedCodec is a payload with one layout.
type fixedCodec interface {
	Append([]byte) []byte
}

// TestFixedLayouts checks each fixed struct against bytes written out by
// hand from the packed C struct (all fields big-endian, no padding).
func TestFixedLayouts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		p      fixedCodec
		want   string
		decode func([]byte) (fixedCodec, error)
	}{
		{"p_connection_features", LocalFeatures(),
			"00000056 0000000f 00000065 00000000" + zeros(56),
			func(b []byte) (fixedCodec, error) { var p ConnectionFeatures; return p, p.Decode(b) }},
		{"p_connection_features reserved", ConnectionFeatures{ProtocolMin: 1, FeatureFlags: 2, ProtocolMax: 3, Pad: 4,
			Reserved: [7]uint64{5, 6, 7, 8, 9, 10, 0x1112131415161718}},
			"00000001 00000002 00000003 00000004 0000000000000005 0000000000000006 0000000000000007" +
				"0000000000000008 0000000000000009 000000000000000a 1112131415161718",
			nil},
		{"p_data", Data{Sector: 0x0102030405060708, BlockID: 0x1112131415161718, SeqNum: 0x21222324, DPFlags: DPSendWriteAck | DPFUA},
			"0102030405060708 1112131415161718 21222324 00000110", nil},
		{"p_trim", Trim{Data: Data{Sector: 8, BlockID: 9, SeqNum: 10, DPFlags: DPDiscard}, Size: 1 << 20},
			"0000000000000008 0000000000000009 0000000a 00000040 00100000", nil},
		{"p_block_ack", BlockAck{Sector: 0x800, BlockID: IDSyncer, BlkSize: 4096, SeqNum: 7},
			"0000000000000800 ffffffffffffffff 00001000 00000007", nil},
		{"p_block_ack ov_result", BlockAck{Sector: 1, BlockID: IDOutOfSync, BlkSize: 512, SeqNum: 1},
			"0000000000000001 0000000000001268 00000200 00000001", nil},
		{"p_block_req", BlockReq{Sector: 0x10, BlockID: 0xfeedfacecafebeef, BlkSize: 0x8000, Pad: 0},
			"0000000000000010 feedfacecafebeef 00008000 00000000", nil},
		{"p_block_desc", BlockDesc{Sector: 0x123456789a, BlkSize: 0x1000},
			"000000123456789a 00001000 00000000", nil},
		{"p_barrier", Barrier{Barrier: 0x01000000}, "01000000 00000000", nil},
		{"p_barrier_ack", BarrierAck{Barrier: 0x01000000, SetSize: 17}, "01000000 00000011", nil},
		{"p_uuids", UUIDs{UUID: [4]uint64{0xA1A2A3A4A5A6A7A9, 4, 0xB1, 0xB2}, BitmapWeight: 3,
			Flags: UUIDFlagInconsistent | UUIDFlagCrashedPrimary},
			"a1a2a3a4a5a6a7a9 0000000000000004 00000000000000b1 00000000000000b2 0000000000000003 0000000000000006", nil},
		{"p_rs_uuid", RSUUID{UUID: 0x0001000000000004}, "0001000000000004", nil},
		{"p_state", State{State: 0x0001f0a2}, "0001f0a2", nil},
		{"p_req_state", ReqState{Mask: 3, Val: 1}, "00000003 00000001", nil},
		{"p_req_state_reply", ReqStateReply{Retcode: -10}, "fffffff6", nil},
		{"p_delay_probe93", DelayProbe{SeqNum: 1, Offset: 250}, "00000001 000000fa", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.want)
			got := tc.p.Append([]byte{0xee})
			if !bytes.Equal(got[1:], want) || got[0] != 0xee {
				t.Fatalf("got  %x\nwant %x", got[1:], want)
			}
		})
	}
}

// TestFixedDecode checks that each fixed struct decodes its bytes and
// refuses one byte less or more.
func TestFixedDecode(t *testing.T) {
	type decoder interface{ Decode([]byte) error }
	for _, tc := range []struct {
		p    decoder
		size int
	}{
		{&ConnectionFeatures{}, SizeConnectionFeatures},
		{&Data{}, SizeData},
		{&Trim{}, SizeTrim},
		{&BlockAck{}, SizeBlockAck},
		{&BlockReq{}, SizeBlockReq},
		{&BlockDesc{}, SizeBlockDesc},
		{&Barrier{}, SizeBarrier},
		{&BarrierAck{}, SizeBarrierAck},
		{&UUIDs{}, SizeUUIDs},
		{&RSUUID{}, SizeRSUUID},
		{&State{}, SizeState},
		{&ReqState{}, SizeReqState},
		{&ReqStateReply{}, SizeReqStateReply},
		{&DelayProbe{}, SizeDelayProbe},
	} {
		b := make([]byte, tc.size+1)
		for i := range b {
			b[i] = byte(i + 1)
		}
		if err := tc.p.Decode(b[:tc.size]); err != nil {
			t.Errorf("%T: %v", tc.p, err)
		}
		if got := tc.p.(fixedCodec).Append(nil); !bytes.Equal(got, b[:tc.size]) {
			t.Errorf("%T: re-encoded %x, want %x", tc.p, got, b[:tc.size])
		}
		for _, n := range []int{0, tc.size - 1, tc.size + 1} {
			if n < 0 {
				continue
			}
			if err := tc.p.Decode(b[:n]); !errors.Is(err, ErrProtocol) {
				t.Errorf("%T: Decode of %d bytes: err = %v", tc.p, n, err)
			}
		}
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		peer     ConnectionFeatures
		agreed   int
		features uint32
		err      string
	}{
		{LocalFeatures(), 101, 15, ""},
		{ConnectionFeatures{ProtocolMin: 86, ProtocolMax: 96, FeatureFlags: 0xff}, 96, 15, ""},
		{ConnectionFeatures{ProtocolMin: 86, ProtocolMax: 124, FeatureFlags: FFTrim | 0x10}, 101, FFTrim, ""}, // DRBD 9 offering 8.4 dialects
		{ConnectionFeatures{ProtocolMin: 90}, 90, 0, ""},                                                      // max 0 means min
		{ConnectionFeatures{ProtocolMin: 110, ProtocolMax: 124}, 0, 0, "incompatible DRBD dialects: I support 86-101, peer supports 110-124"},
		{ConnectionFeatures{ProtocolMin: 80, ProtocolMax: 85}, 0, 0, "incompatible DRBD dialects: I support 86-101, peer supports 80-85"},
	} {
		agreed, features, err := Negotiate(tc.peer)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Negotiate(%+v) err = %v, want %q", tc.peer, err, tc.err)
			}
			continue
		}
		if err != nil || agreed != tc.agreed || features != tc.features {
			t.Errorf("Negotiate(%+v) = %d, %#x, %v; want %d, %#x", tc.peer, agreed, features, err, tc.agreed, tc.features)
		}
	}
}

func TestSyncParam(t *testing.T) {
	p := SyncParam{ResyncRate: 250, VerifyAlg: "md5", CsumsAlg: "sha1",
		CPlanAhead: 20, CDelayTarget: 10, CFillTarget: 100, CMaxRate: 102400}
	fixed := func(s string) string { return s + zeros(64-len(s)/2) }
	for _, tc := range []struct {
		agreed int
		cmd    Cmd
		want   string
		dec    SyncParam // what decoding gives back
	}{
		{86, CmdSyncParam, "000000fa", SyncParam{ResyncRate: 250}},
		{87, CmdSyncParam, "000000fa", SyncParam{ResyncRate: 250}},
		{88, CmdSyncParam, "000000fa 6d643500", SyncParam{ResyncRate: 250, VerifyAlg: "md5"}},
		{89, CmdSyncParam89, "000000fa" + fixed("6d6435") + fixed("73686131"),
			SyncParam{ResyncRate: 250, VerifyAlg: "md5", CsumsAlg: "sha1"}},
		{94, CmdSyncParam89, "000000fa" + fixed("6d6435") + fixed("73686131"),
			SyncParam{ResyncRate: 250, VerifyAlg: "md5", CsumsAlg: "sha1"}},
		{95, CmdSyncParam89, "000000fa" + fixed("6d6435") + fixed("73686131") + "00000014 0000000a 00000064 00019000", p},
		{101, CmdSyncParam89, "000000fa" + fixed("6d6435") + fixed("73686131") + "00000014 0000000a 00000064 00019000", p},
	} {
		if got := SyncParamCmd(tc.agreed); got != tc.cmd {
			t.Errorf("SyncParamCmd(%d) = %v, want %v", tc.agreed, got, tc.cmd)
		}
		want := unhex(t, tc.want)
		got := p.Append(nil, tc.agreed)
		if !bytes.Equal(got, want) {
			t.Errorf("agreed %d: got %x\nwant %x", tc.agreed, got, want)
		}
		var d SyncParam
		if err := d.Decode(want, tc.agreed); err != nil || d != tc.dec {
			t.Errorf("agreed %d: decoded %+v, %v; want %+v", tc.agreed, d, err, tc.dec)
		}
		for _, bad := range [][]byte{want[:len(want)-1], append(want[:len(want):len(want)], 0)} {
			if err := d.Decode(bad, tc.agreed); !errors.Is(err, ErrProtocol) {
				t.Errorf("agreed %d: %d bytes decoded without error", tc.agreed, len(bad))
			}
		}
	}
	// An empty verify-alg at 88 is a lone NUL; no tail at all is refused.
	if got := (SyncParam{ResyncRate: 1}).Append(nil, 88); !bytes.Equal(got, unhex(t, "00000001 00")) {
		t.Errorf("empty verify-alg at 88: %x", got)
	}
	bad := map[string][]byte{
		"88 no tail":          unhex(t, "00000001"),
		"88 tail too long":    append(unhex(t, "00000001"), make([]byte, 65)...),
		"88 unterminated":     unhex(t, "00000001 6d6435"),
		"88 interior NUL":     unhex(t, "00000001 6d00 3500"),
		"95 no NUL":           append(unhex(t, "00000001"+strings.Repeat("61", 64)), make([]byte, 64+16)...),
		"95 junk after NUL":   append(unhex(t, "00000001 6d643500 01"), make([]byte, 59+64+16)...),
		"95 short rate field": unhex(t, "000001"),
	}
	for name, b := range bad {
		agreed := 95
		if strings.HasPrefix(name, "88") {
			agreed = 88
		}
		var d SyncParam
		if err := d.Decode(b, agreed); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: err = %v, decoded %+v", name, err, d)
		}
	}
}

func TestProtocol(t *testing.T) {
	p := Protocol{Protocol: ProtC, AfterSB0p: 1, AfterSB1p: 2, AfterSB2p: 3, ConnFlags: CFDryRun | CFDiscardMyData, TwoPrimaries: 1,
		IntegrityAlg: "crc32c"}
	head := "00000003 00000001 00000002 00000003 00000003 00000001"
	for _, tc := range []struct {
		agreed int
		p      Protocol
		want   string
	}{
		{86, p, head},
		{87, p, head + "637263333263 00"},
		{101, p, head + "637263333263 00"},
		{101, Protocol{Protocol: ProtA}, "00000001" + zeros(20) + "00"},
	} {
		want := unhex(t, tc.want)
		got := tc.p.Append(nil, tc.agreed)
		if !bytes.Equal(got, want) {
			t.Errorf("agreed %d: got %x\nwant %x", tc.agreed, got, want)
		}
		dec := tc.p
		if tc.agreed < 87 {
			dec.IntegrityAlg = ""
		}
		var d Protocol
		if err := d.Decode(want, tc.agreed); err != nil || d != dec {
			t.Errorf("agreed %d: decoded %+v, %v", tc.agreed, d, err)
		}
	}
	var d Protocol
	for name, tc := range map[string]struct {
		agreed int
		b      string
	}{
		"short":              {101, zeros(23)},
		"tail before 87":     {86, zeros(24) + "00"},
		"no NUL from 87":     {87, zeros(24)},
		"unterminated":       {101, zeros(24) + "6d6435"},
		"interior NUL":       {101, zeros(24) + "6d00 3500"},
		"tail over 64 bytes": {101, zeros(24) + strings.Repeat("61", 64) + "00"},
	} {
		if err := d.Decode(unhex(t, tc.b), tc.agreed); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// The longest name, 63 bytes, fills the kernel's 64-byte buffer.
	long := strings.Repeat("a", 63)
	b := Protocol{IntegrityAlg: long}.Append(nil, 101)
	if err := d.Decode(b, 101); err != nil || d.IntegrityAlg != long {
		t.Errorf("63-byte name: %v", err)
	}
}

func TestNamePanics(t *testing.T) {
	for name, f := range map[string]func(){
		"64-byte integrity alg": func() { Protocol{IntegrityAlg: strings.Repeat("a", 64)}.Append(nil, 101) },
		"NUL in verify alg":     func() { SyncParam{VerifyAlg: "a\x00b"}.Append(nil, 95) },
		"64-byte csums alg":     func() { SyncParam{CsumsAlg: strings.Repeat("a", 64)}.Append(nil, 89) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
	// Names a layout does not carry are not checked.
	Protocol{IntegrityAlg: strings.Repeat("a", 99)}.Append(nil, 86)
}

func TestSizes(t *testing.T) {
	p := Sizes{DSize: 0x1000000, USize: 0, CSize: 0xfff000, MaxBioSize: 1 << 20, QueueOrderType: 0, DDSFlags: DDSFNoResync,
		Qlim: QueueLimits{PhysicalBlockSize: 4096, LogicalBlockSize: 512, AlignmentOffset: 0, IOMin: 4096, IOOpt: 0x10000,
			DiscardEnabled: 1}}
	base := "0000000001000000 0000000000000000 0000000000fff000 00100000 0000 0002"
	qlim := "00001000 00000200 00000000 00001000 00010000 01 00 00 00"
	for _, tc := range []struct {
		features uint32
		want     string
	}{
		{0, base},
		{FFTrim | FFWZeroes, base},
		{FFWSame, base + qlim},
		{Features, base + qlim},
	} {
		want := unhex(t, tc.want)
		if n := SizesLen(tc.features); n != len(want) {
			t.Errorf("SizesLen(%#x) = %d, want %d", tc.features, n, len(want))
		}
		got := p.Append(nil, tc.features)
		if !bytes.Equal(got, want) {
			t.Errorf("features %#x: got %x\nwant %x", tc.features, got, want)
		}
		dec := p
		if tc.features&FFWSame == 0 {
			dec.Qlim = QueueLimits{}
		}
		var d Sizes
		if err := d.Decode(want, tc.features); err != nil || d != dec {
			t.Errorf("features %#x: decoded %+v, %v", tc.features, d, err)
		}
		// The other length is refused.
		other := unhex(t, base+qlim)
		if tc.features&FFWSame != 0 {
			other = unhex(t, base)
		}
		if err := d.Decode(other, tc.features); !errors.Is(err, ErrProtocol) {
			t.Errorf("features %#x: %d bytes accepted", tc.features, len(other))
		}
	}
}

func TestAuth(t *testing.T) {
	mine := bytes.Repeat([]byte{1}, ChallengeLen)
	other := bytes.Repeat([]byte{2}, ChallengeLen)
	for _, tc := range []struct {
		peer []byte
		err  string
	}{
		{other, ""},
		{append(other, other...), ""},
		{append(append(other, other...), 0), "too big"},
		{other[:63], "too small"},
		{append(mine, 2), "same challenge"},
	} {
		err := CheckAuthChallenge(tc.peer, mine)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%d bytes: err = %v, want %q", len(tc.peer), err, tc.err)
		}
	}
	if err := CheckAuthResponse(make([]byte, 20), 20); err != nil {
		t.Error(err)
	}
	if err := CheckAuthResponse(make([]byte, 32), 20); !errors.Is(err, ErrProtocol) {
		t.Errorf("wrong response size accepted: %v", err)
	}
}
