package genl

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attr builds one netlink attribute by hand (host byte order), padded.
func attr(typ uint16, data []byte) []byte {
	b := make([]byte, 4, 4+len(data)+3)
	binary.NativeEndian.PutUint16(b, uint16(4+len(data)))
	binary.NativeEndian.PutUint16(b[2:], typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func le32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

var cmpSets = cmp.Options{cmpopts.EquateEmpty()}

// TestEncodeKnownBytes compares encodings with bytes written out by hand
// from the layout rules (little-endian host).
func TestEncodeKnownBytes(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("hand-written bytes assume a little-endian host")
	}
	ri := &ResourceInfo{ResRole: 1}
	ri.Present = AllFields(ri)
	tests := []struct {
		name string
		m    Message
		want string
	}{
		{
			name: "new-resource request, drbd-utils style",
			m: Message{Cmd: CmdNewResource, Version: 1, Minor: MinorNone, Attrs: []Attr{
				Tagged(&CfgContext{CtxResourceName: "r0", Present: 1 << CfgContextCtxResourceName}),
			}},
			want: "07 01 0000 ffffffff 00000000   0c00 0200   0700 0240 72 30 00 00",
		},
		{
			name: "resource info, kernel to_skb style",
			m:    Message{Cmd: CmdResourceState, Version: 1, Minor: MinorNone, Flags: uint32(NoError), Attrs: []Attr{Kernel(ri)}},
			want: "22 01 0000 ffffffff 65000000   2400 0f80" +
				"  0800 0100 01000000  0500 0200 00000000  0500 0300 00000000  0500 0400 00000000",
		},
		{
			name: "cfg reply info text, negative ret code",
			m: Message{Cmd: CmdPrimary, Version: 1, Minor: 0, Flags: uint32(0xfffffffe), Attrs: []Attr{
				Tagged(&CfgReply{InfoText: "abc", Present: 1 << CfgReplyInfoText}),
			}},
			want: "0e 01 0000 00000000 feffffff   0c00 0100   0800 0140 61626300",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.m.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			want := unhex(t, tt.want)
			if !bytes.Equal(got, want) {
				t.Fatalf("encode:\n got %x\nwant %x", got, want)
			}
			var back Message
			if err := back.UnmarshalBinary(got); err != nil {
				t.Fatal(err)
			}
			again, err := back.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, want) {
				t.Fatalf("re-encode:\n got %x\nwant %x", again, want)
			}
		})
	}
	var m Message
	if err := m.UnmarshalBinary(unhex(t, tests[2].want)); err != nil || m.RetCode() != -2 {
		t.Fatalf("ret code %d, %v", m.RetCode(), err)
	}
	if got := m.Infos(); !cmp.Equal(got, []string{"abc"}) {
		t.Fatalf("infos %q", got)
	}
}

// TestDecodeValidation mirrors the kernel's liberal validate_nla and
// drbd_nla_check_mandatory for nested sets.
func TestDecodeValidation(t *testing.T) {
	tests := []struct {
		name    string
		tla     TLA
		body    []byte
		errno   syscall.Errno // 0: success
		present []uint16
	}{
		{"u32 exact", TLADiskConf, attr(0x4008, le32(300)), 0, []uint16{8}},
		{"u32 longer is accepted (liberal)", TLADiskConf, attr(0x4008, append(le32(300), 0, 0, 0, 0)), 0, []uint16{8}},
		{"u32 short", TLADiskConf, attr(0x4008, []byte{1, 2}), syscall.ERANGE, nil},
		{"u64 short", TLADiskConf, attr(0x4004, le32(1)), syscall.ERANGE, nil},
		{"flag empty", TLADiskConf, attr(0x4010, nil), syscall.ERANGE, nil},
		{"unknown mandatory above maxtype", TLADiskConf, attr(0x4000|27, le32(1)), syscall.EOPNOTSUPP, nil},
		{"unknown mandatory fails even after good fields", TLANetConf, append(attr(0x4006, le32(1)), attr(0x4000|35, nil)...), syscall.EOPNOTSUPP, nil},
		{"unknown optional above maxtype ignored", TLADiskConf, append(attr(27, le32(1)), attr(0x4008, le32(9))...), 0, []uint16{8}},
		{"mandatory in a hole below maxtype ignored", TLADiskConf, attr(0x4000|22, le32(1)), 0, nil},
		{"pad attribute ignored", TLAStateInfo, append(attr(0, nil), attr(0x4003, make([]byte, 8))...), 0, []uint16{3}},
		{"string with NUL", TLACfgContext, attr(0x4002, []byte("r0\x00")), 0, []uint16{2}},
		{"string without NUL", TLACfgContext, attr(0x4002, []byte("r0")), syscall.EINVAL, nil},
		{"empty string attr", TLACfgContext, attr(0x4002, nil), syscall.EINVAL, nil},
		{"string of maxlen-1 chars", TLACfgContext, attr(0x4002, append(bytes.Repeat([]byte("a"), 127), 0)), 0, []uint16{2}},
		{"string of maxlen chars", TLACfgContext, attr(0x4002, append(bytes.Repeat([]byte("a"), 128), 0)), syscall.EINVAL, nil},
		{"string with trailing junk after NUL", TLACfgContext, attr(0x4002, append([]byte("r0\x00"), bytes.Repeat([]byte("x"), 130)...)), syscall.ERANGE, nil},
		{"128 bytes, NUL inside, last byte not NUL", TLACfgContext, attr(0x4002, append([]byte("r0\x00"), bytes.Repeat([]byte("x"), 125)...)), syscall.ERANGE, nil},
		{"128 bytes ending in NUL", TLACfgContext, attr(0x4002, append([]byte("r0\x00"), append(bytes.Repeat([]byte("x"), 124), 0)...)), 0, []uint16{2}},
		{"binary at max", TLACfgContext, attr(0x4003, make([]byte, 128)), 0, []uint16{3}},
		{"binary over max", TLACfgContext, attr(0x4003, make([]byte, 129)), syscall.ERANGE, nil},
		{"unbounded info text", TLACfgReply, attr(0x4001, append(bytes.Repeat([]byte("i"), 1000), 0)), 0, []uint16{1}},
		{"truncated trailing attribute ignored", TLADiskConf, append(attr(0x4008, le32(9)), 0x20, 0, 8, 0x40), 0, []uint16{8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := decodeSet(tt.tla, tt.body)
			if tt.errno != 0 {
				se, ok := IsSetError(err)
				if !ok || se.Errno != tt.errno || !errors.Is(err, tt.errno) {
					t.Fatalf("err %v, want errno %v", err, tt.errno)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want Fields
			want.Add(tt.present...)
			if got := presentOf(s); got != want {
				t.Fatalf("present %b, want %b", got, want)
			}
		})
	}
}

func presentOf(s Set) Fields {
	b := bindingOf(s)
	return reflectPresent(s, b)
}

func TestDecodedValues(t *testing.T) {
	body := bytes.Join([][]byte{
		attr(0x4003, le32(0xfffffffd)),      // meta_dev_idx -3 (s32 sent as u32)
		attr(1, []byte("/dev/loop0\x00")),   // backing_dev
		attr(0x4011, []byte{0}),             // disk_flushes no
		attr(0x4010, []byte{7}),             // disk_barrier: any non-zero byte is true
		attr(0x4009, le32(uint32(1<<32-1))), // resync_after -1
	}, nil)
	s, layout, err := decodeSet(TLADiskConf, body)
	if err != nil {
		t.Fatal(err)
	}
	want := &DiskConf{MetaDevIdx: -3, BackingDev: "/dev/loop0", DiskFlushes: false, DiskBarrier: true, ResyncAfter: -1}
	want.Present.Add(3, 1, 17, 16, 9)
	if d := cmp.Diff(want, s, cmpSets); d != "" {
		t.Fatalf("(-want +got)\n%s", d)
	}
	wantLayout := []Wire{{Type: 0x4003}, {Type: 1}, {Type: 0x4011}, {Type: 0x4010}, {Type: 0x4009}}
	if d := cmp.Diff(wantLayout, layout); d != "" {
		t.Fatalf("layout (-want +got)\n%s", d)
	}
}

func TestCheckSet(t *testing.T) {
	dc := &DiskConf{BackingDev: "/dev/a", MetaDev: "/dev/a"}
	dc.Present.Add(DiskConfBackingDev, DiskConfMetaDev)
	err := CheckSet(dc, false)
	if se, ok := IsSetError(err); !ok || se.Errno != syscall.ENOMSG || se.Field != "meta_dev_idx" || se.Text() != "required attribute missing" {
		t.Fatalf("missing meta_dev_idx: %v", err)
	}
	dc.Present.Add(DiskConfMetaDevIdx)
	if err := CheckSet(dc, false); err != nil {
		t.Fatal(err)
	}
	// disk-options: invariants must be absent, required ones may be
	if se, ok := IsSetError(CheckSet(dc, true)); !ok || se.Errno != syscall.EEXIST || se.Text() != "can not change invariant setting" {
		t.Fatalf("for change: %v", se)
	}
	opts := &DiskConf{ResyncRate: 1}
	opts.Present.Add(DiskConfResyncRate)
	if err := CheckSet(opts, true); err != nil {
		t.Fatal(err)
	}
	if se := (&SetError{Errno: syscall.EOPNOTSUPP}); se.Text() != "unknown mandatory attribute" {
		t.Fatal(se.Text())
	}
	if se := (&SetError{Errno: syscall.ERANGE}); se.Text() != "invalid attribute value" {
		t.Fatal(se.Text())
	}
}

func TestDefaultsOverlayStrip(t *testing.T) {
	nc := new(NetConf)
	SetDefaults(nc)
	if nc.WireProtocol != 3 || nc.Timeout != 60 || !nc.TCPCork || !nc.UseRLE || nc.UnplugWatermark != 128 || nc.CongExtents != 1237 {
		t.Fatalf("defaults: %+v", nc)
	}
	if nc.Present.Has(NetConfDiscardMyData) || nc.Present.Has(NetConfTentative) {
		t.Fatal("fields without default marked present")
	}
	req := &NetConf{SharedSecret: "s3cr3t", Timeout: 90}
	req.Present.Add(NetConfSharedSecret, NetConfTimeout)
	Overlay(nc, req)
	if nc.Timeout != 90 || nc.SharedSecret != "s3cr3t" || nc.PingInt != 10 {
		t.Fatalf("overlay: %+v", nc)
	}
	if d := dcOf(); WithoutSensitive(d) != Set(d) {
		t.Fatal("WithoutSensitive of a set without secrets")
	}
	stripped := WithoutSensitive(nc).(*NetConf)
	if stripped == nc || stripped.Present.Has(NetConfSharedSecret) || stripped.SharedSecret != "" ||
		nc.SharedSecret != "s3cr3t" || !nc.Present.Has(NetConfSharedSecret) || stripped.Timeout != 90 {
		t.Fatalf("WithoutSensitive: copy %+v, original %+v", stripped, nc)
	}
	StripSensitive(nc)
	if nc.SharedSecret != "" || nc.Present.Has(NetConfSharedSecret) || !nc.Present.Has(NetConfCramHMACAlg) {
		t.Fatalf("strip: %+v", nc)
	}
	dc := new(DiskConf)
	SetDefaults(dc)
	if dc.ResyncAfter != -1 || dc.OnIOError != 2 || dc.ALExtents != 1237 || dc.DiskBarrier || !dc.DiskFlushes {
		t.Fatalf("disk defaults: %+v", dc)
	}
}

func dcOf() *DiskConf {
	d := &DiskConf{BackingDev: "/dev/x"}
	d.Present.Add(DiskConfBackingDev)
	return d
}

func TestClearMandatory(t *testing.T) {
	raw := append(attr(0x4002, []byte("r0\x00")), attr(0x4001, le32(0))...)
	m := Message{Cmd: CmdAttach, Version: 1}
	in := append(make([]byte, 12), attr(2, raw)...)
	in[0], in[1] = byte(CmdAttach), 1
	if err := m.UnmarshalBinary(in); err != nil {
		t.Fatal(err)
	}
	c := ClearMandatory(m.Attrs[0])
	want := append(attr(2, []byte("r0\x00")), attr(1, le32(0))...)
	if !bytes.Equal(c.Raw, want) {
		t.Fatalf("raw %x want %x", c.Raw, want)
	}
	out, err := (&Message{Attrs: []Attr{c}}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out[12:], attr(2, want)) {
		t.Fatalf("encoded %x", out[12:])
	}
}

func TestMessageErrors(t *testing.T) {
	var m Message
	if err := m.UnmarshalBinary(make([]byte, 11)); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("short: %v", err)
	}
	b := append(make([]byte, 12), attr(uint16(TLADiskConf), []byte{1, 2})...)
	if err := m.UnmarshalBinary(b); !errors.Is(err, syscall.ERANGE) {
		t.Fatalf("short nest: %v", err)
	}
	// an unknown top-level attribute is kept, not decoded
	b = append(make([]byte, 12), attr(30, []byte{1, 2, 3, 4})...)
	if err := m.UnmarshalBinary(b); err != nil || len(m.Attrs) != 1 || m.Attrs[0].Set != nil {
		t.Fatalf("unknown tla: %v %+v", err, m.Attrs)
	}
	// a bad set is reported by Get, not by Unmarshal
	b = append(make([]byte, 12), attr(uint16(TLADiskConf), attr(0x4000|40, nil))...)
	if err := m.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if _, err := Get[*DiskConf](&m); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Fatalf("get: %v", err)
	}
	if nc, err := Get[*NetConf](&m); nc != nil || err != nil {
		t.Fatalf("absent set: %v %v", nc, err)
	}
	too := &CfgContext{CtxResourceName: strings.Repeat("x", 128)}
	too.Present.Add(CfgContextCtxResourceName)
	if _, err := (&Message{Attrs: []Attr{Tagged(too)}}).MarshalBinary(); !errors.Is(err, errValue) {
		t.Fatalf("too long: %v", err)
	}
}

func TestReplyHelpers(t *testing.T) {
	req := &Message{Cmd: CmdAttach, Version: 1, Minor: 7}
	req.Add(&CfgContext{CtxVolume: 3, Present: 1 << CfgContextCtxVolume})
	b, _ := req.MarshalBinary()
	var in Message
	if err := in.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	r := NewReply(&in)
	if r.Cmd != CmdAttach || r.Version != 1 || r.Minor != 7 || r.RetCode() != NoError || len(r.Attrs) != 1 {
		t.Fatalf("reply %+v", r)
	}
	if a := r.Attrs[0]; a.Type != uint16(TLACfgContext)|NestedFlag || a.Layout[0].Type != CfgContextCtxVolume {
		t.Fatalf("copied context %+v", a)
	}
	r.FailSet(&SetError{Errno: syscall.ENOMSG})
	r.AddInfo("")
	if r.RetCode() != ErrMandatoryTag || !cmp.Equal(r.Infos(), []string{"required attribute missing"}) {
		t.Fatalf("fail set: %d %q", r.RetCode(), r.Infos())
	}
	if a := AsKernel(&DiskConf{}); a.Type != uint16(TLADiskConf)|NestedFlag || a.Tagged {
		t.Fatalf("AsKernel disk conf %+v", a)
	}
	if a := AsKernel(&StateInfo{}); a.Type != uint16(TLAStateInfo) || !a.Tagged {
		t.Fatalf("AsKernel state info %+v", a)
	}
}
