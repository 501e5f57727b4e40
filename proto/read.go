package proto

import (
	"errors"
	"fmt"
	"io"
)

// ReadPacket reads one packet from r: a header for the agreed protocol
// version, then its payload into buf, and returns the header and
// buf[:Length]. A payload longer than len(buf) is an error matching
// ErrProtocol, and nothing beyond the header is read, so buf bounds what a
// peer can make the caller buffer. A clean end of stream before the header
// returns io.EOF; a stream that ends inside the packet returns
// io.ErrUnexpectedEOF; other read errors are returned wrapped.
func ReadPacket(r io.Reader, agreed int, buf []byte) (Header, []byte, error) {
	var hb [SizeHeader100]byte
	hdr := hb[:HeaderSize(agreed)]
	if _, err := io.ReadFull(r, hdr); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Header{}, nil, err
		}
		return Header{}, nil, fmt.Errorf("reading packet header: %w", err)
	}
	h, err := DecodeHeader(hdr, agreed)
	if err != nil {
		return Header{}, nil, err
	}
	if uint64(h.Length) > uint64(len(buf)) {
		return h, nil, protoErr("%s packet of %d bytes exceeds the %d-byte receive buffer", h.Cmd, h.Length, len(buf))
	}
	p := buf[:h.Length]
	if _, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return h, nil, io.ErrUnexpectedEOF
		}
		return h, nil, fmt.Errorf("reading %s payload: %w", h.Cmd, err)
	}
	return h, p, nil
}
