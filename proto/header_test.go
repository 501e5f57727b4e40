package proto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestHeaderSize(t *testing.T) {
	for _, tc := range []struct{ agreed, want int }{
		{80, 8}, {86, 8}, {94, 8}, {95, 8}, {99, 8}, {100, 16}, {101, 16},
	} {
		if got := HeaderSize(tc.agreed); got != tc.want {
			t.Errorf("HeaderSize(%d) = %d, want %d", tc.agreed, got, tc.want)
		}
	}
}

func TestAppendHeader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		agreed int
		vol    uint16
		cmd    Cmd
		length int
		want   string
	}{
		{"pre-negotiation features", 80, 0, CmdConnectionFeatures, 72, "83740267 fffe 0048"},
		{"initial data, no payload", 80, 0, CmdInitialData, 0, "83740267 fff2 0000"},
		{"86 data", 86, 0, CmdData, 4096 + 24, "83740267 0000 1018"},
		{"94 keeps h80 above 32KiB", 94, 0, CmdData, 40000, "83740267 0000 9c40"},
		{"95 h80 at exactly 32KiB", 95, 0, CmdData, 32768, "83740267 0000 8000"},
		{"95 h95 above 32KiB", 95, 0, CmdData, 32769, "835a 0000 00008001"},
		{"99 h95 128KiB+24", 99, 0, CmdRSDataReply, 131096, "835a 0002 00020018"},
		{"99 drops volume", 99, 7, CmdPing, 0, "83740267 0013 0000"},
		{"100 write ack vol 3", 100, 3, CmdWriteAck, 32, "8620ec20 0003 0016 00000020 00000000"},
		{"101 1MiB data", 101, 0, CmdData, 1<<20 + 24, "8620ec20 0000 0000 00100018 00000000"},
		{"101 features cmd", 101, 0xffff, CmdConnectionFeatures, 0, "8620ec20 ffff fffe 00000000 00000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendHeader([]byte{0xaa}, tc.agreed, tc.vol, tc.cmd, tc.length)
			want := append([]byte{0xaa}, unhex(t, tc.want)...)
			if !bytes.Equal(got, want) {
				t.Fatalf("got %x, want %x", got, want)
			}
			if len(got)-1 != HeaderSize(tc.agreed) {
				t.Fatalf("header of %d bytes, HeaderSize says %d", len(got)-1, HeaderSize(tc.agreed))
			}
			h, err := DecodeHeader(got[1:], tc.agreed)
			if err != nil {
				t.Fatal(err)
			}
			wantVol := tc.vol
			if tc.agreed < 100 {
				wantVol = 0
			}
			if h != (Header{Cmd: tc.cmd, Volume: wantVol, Length: uint32(tc.length)}) {
				t.Fatalf("decoded %+v", h)
			}
		})
	}
}

func TestAppendHeaderPanics(t *testing.T) {
	for _, tc := range []struct {
		agreed, length int
	}{{94, 65536}, {80, 70000}, {101, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendHeader(agreed %d, length %d) did not panic", tc.agreed, tc.length)
				}
			}()
			AppendHeader(nil, tc.agreed, 0, CmdData, tc.length)
		}()
	}
	// 65535 still fits p_header80.
	if got := AppendHeader(nil, 94, 0, CmdData, 65535); !bytes.Equal(got, unhex(t, "83740267 0000 ffff")) {
		t.Errorf("got %x", got)
	}
}

func TestDecodeHeader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		agreed  int
		in      string
		want    Header
		wantErr string
	}{
		{"h95 accepted before 95", 86, "835a 000c 00000030", Header{Cmd: CmdUUIDs, Length: 48}, ""},
		{"h95 accepted pre-negotiation", 80, "835a fffe 00000048", Header{Cmd: CmdConnectionFeatures, Length: 72}, ""},
		{"h80", 99, "83740267 0016 0020", Header{Cmd: CmdWriteAck, Length: 32}, ""},
		{"longer buffer reads the header only", 86, "83740267 0016 0020 ffff", Header{Cmd: CmdWriteAck, Length: 32}, ""},
		{"h100", 100, "8620ec20 0001 000e 00000004 00000000", Header{Cmd: CmdState, Volume: 1, Length: 4}, ""},
		{"h100 nonzero pad", 101, "8620ec20 0001 000e 00000004 00000001", Header{}, "Header padding is not zero"},
		{"h80 when 100 agreed", 100, "83740267 0016 0020 00000000 00000000", Header{}, "Wrong magic value 0x83740267 in protocol version 100"},
		{"h100 when 99 agreed", 99, "8620ec20 0001 000e", Header{}, "Wrong magic value 0x8620ec20 in protocol version 99"},
		{"garbage", 80, "deadbeef 0000 0000", Header{}, "Wrong magic value 0xdeadbeef in protocol version 80"},
		{"short h80", 86, "83740267 0016 00", Header{}, "short header: 7 of 8 bytes"},
		{"short h100", 100, "8620ec20 0001 000e 00000004", Header{}, "short header: 12 of 16 bytes"},
		{"empty", 80, "", Header{}, "short header: 0 of 8 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := DecodeHeader(unhex(t, tc.in), tc.agreed)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if !errors.Is(err, ErrProtocol) {
					t.Fatalf("%v does not match ErrProtocol", err)
				}
				var pe *ProtocolError
				if !errors.As(err, &pe) {
					t.Fatalf("%v is not a *ProtocolError", err)
				}
				return
			}
			if err != nil || h != tc.want {
				t.Fatalf("got %+v, %v; want %+v", h, err, tc.want)
			}
		})
	}
}
