package proto

import "fmt"

// Header is a decoded packet header. Volume is always 0 for the 8-byte
// headers, which have no volume field.
type Header struct {
	Cmd    Cmd
	Volume uint16
	Length uint32 // payload bytes following the header
}

// Header sizes.
const (
	SizeHeader80  = 8  // p_header80 and p_header95
	SizeHeader100 = 16 // p_header100
)

// HeaderSize is the size of every header on a connection with the given
// agreed protocol version (drbd_header_size): 16 bytes from version 100 on,
// 8 bytes before. Both sizes keep the payload 8-byte aligned in the socket
// buffer, which the bitmap code relies on.
func HeaderSize(agreed int) int {
	if agreed >= 100 {
		return SizeHeader100
	}
	return SizeHeader80
}

// AppendHeader appends the header the kernel's prepare_header writes for a
// payload of length bytes: p_header100 from agreed version 100 on;
// p_header95 for versions 95 to 99 when length exceeds MaxSizeH80Packet;
// p_header80 otherwise, which includes the pre-negotiation version 80. The
// volume is only carried by p_header100 and is dropped otherwise, as in the
// kernel (volumes other than 0 need version 100).
//
// AppendHeader panics if length is negative or does not fit the header's
// length field (more than 65535 bytes below version 95): the kernel never
// sends such packets, because P_SIZES caps bios at MaxBioSizeFor(agreed).
func AppendHeader(b []byte, agreed int, vol uint16, cmd Cmd, length int) []byte {
	if length < 0 || uint64(length) > 0xffffffff {
		panic(fmt.Sprintf("proto: payload length %d out of range", length))
	}
	switch {
	case agreed >= 100:
		b = be.AppendUint32(b, Magic100)
		b = be.AppendUint16(b, vol)
		b = be.AppendUint16(b, uint16(cmd))
		b = be.AppendUint32(b, uint32(length))
		return be.AppendUint32(b, 0)
	case agreed >= 95 && length > MaxSizeH80Packet:
		b = be.AppendUint16(b, MagicBig)
		b = be.AppendUint16(b, uint16(cmd))
		return be.AppendUint32(b, uint32(length))
	default:
		if length > 0xffff {
			panic(fmt.Sprintf("proto: payload length %d does not fit p_header80 (agreed version %d)", length, agreed))
		}
		b = be.AppendUint32(b, Magic)
		b = be.AppendUint16(b, uint16(cmd))
		return be.AppendUint16(b, uint16(length))
	}
}

// DecodeHeader decodes the header at the start of b as the kernel's
// decode_header does for the agreed protocol version: with a 16-byte header
// size only p_header100 is accepted, and its pad must be zero; with the
// 8-byte size both p_header95 and p_header80 are accepted, whatever the
// version. b must hold at least HeaderSize(agreed) bytes; only those are
// read.
func DecodeHeader(b []byte, agreed int) (Header, error) {
	size := HeaderSize(agreed)
	if len(b) < size {
		return Header{}, protoErr("short header: %d of %d bytes", len(b), size)
	}
	switch {
	case size == SizeHeader100 && be.Uint32(b) == Magic100:
		if pad := be.Uint32(b[12:]); pad != 0 {
			return Header{}, protoErr("Header padding is not zero")
		}
		return Header{
			Volume: be.Uint16(b[4:]),
			Cmd:    Cmd(be.Uint16(b[6:])),
			Length: be.Uint32(b[8:]),
		}, nil
	case size == SizeHeader80 && be.Uint16(b) == MagicBig:
		return Header{Cmd: Cmd(be.Uint16(b[2:])), Length: be.Uint32(b[4:])}, nil
	case size == SizeHeader80 && be.Uint32(b) == Magic:
		return Header{Cmd: Cmd(be.Uint16(b[4:])), Length: uint32(be.Uint16(b[6:]))}, nil
	}
	return Header{}, protoErr("Wrong magic value 0x%08x in protocol version %d", be.Uint32(b), agreed)
}
