package proto

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestReadPacket(t *testing.T) {
	var stream []byte
	stream = AppendHeader(stream, 101, 2, CmdState, SizeState)
	stream = State{State: 0x12345678}.Append(stream)
	stream = AppendHeader(stream, 101, 0, CmdPing, 0)
	stream = AppendHeader(stream, 101, 0, CmdData, 100)
	stream = append(stream, make([]byte, 100)...)

	r := bytes.NewReader(stream)
	buf := make([]byte, 64)
	h, p, err := ReadPacket(r, 101, buf)
	if err != nil || h != (Header{Cmd: CmdState, Volume: 2, Length: 4}) || !bytes.Equal(p, unhex(t, "12345678")) {
		t.Fatalf("first packet: %+v %x %v", h, p, err)
	}
	if h, p, err = ReadPacket(r, 101, buf); err != nil || h.Cmd != CmdPing || len(p) != 0 {
		t.Fatalf("ping: %+v %x %v", h, p, err)
	}
	// 100 bytes do not fit the 64-byte buffer: an error, and the payload
	// stays unread.
	before := r.Len()
	h, _, err = ReadPacket(r, 101, buf)
	if !errors.Is(err, ErrProtocol) || h.Cmd != CmdData || r.Len() != before-16 {
		t.Fatalf("oversize: %+v %v, %d bytes left", h, err, r.Len())
	}
	// Clean end of stream.
	if _, _, err := ReadPacket(bytes.NewReader(nil), 101, buf); err != io.EOF {
		t.Fatalf("empty stream: %v", err)
	}
	// Truncated header and truncated payload.
	if _, _, err := ReadPacket(bytes.NewReader(stream[:5]), 101, buf); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut header: %v", err)
	}
	if _, _, err := ReadPacket(bytes.NewReader(stream[:18]), 101, buf); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut payload: %v", err)
	}
	// Bad magic for the agreed version.
	if _, _, err := ReadPacket(bytes.NewReader(stream), 86, buf); !errors.Is(err, ErrProtocol) {
		t.Fatalf("h100 at 86: %v", err)
	}
	// Other read errors are wrapped.
	boom := errors.New("boom")
	if _, _, err := ReadPacket(io.MultiReader(bytes.NewReader(stream[:3]), errReader{boom}), 101, buf); !errors.Is(err, boom) {
		t.Fatalf("read error: %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
