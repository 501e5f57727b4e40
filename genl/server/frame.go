package server

import (
	"encoding/binary"

	"github.com/mdlayher/netlink"
)

const nlmsgHeaderLen = 16

func nlmsgAlign(n int) int { return (n + 3) &^ 3 }

// splitDatagram cuts a received datagram into netlink messages the way
// netlink_rcv_skb walks an skb: it stops at the first header that is short or
// claims more bytes than remain, and advances by NLMSG_ALIGN(nlmsg_len).
// Each returned message's Data aliases b.
func splitDatagram(b []byte) []netlink.Message {
	var out []netlink.Message
	for len(b) >= nlmsgHeaderLen {
		l := int(binary.NativeEndian.Uint32(b))
		if l < nlmsgHeaderLen || l > len(b) {
			break
		}
		out = append(out, netlink.Message{
			Header: netlink.Header{
				Length:   uint32(l),
				Type:     netlink.HeaderType(binary.NativeEndian.Uint16(b[4:])),
				Flags:    netlink.HeaderFlags(binary.NativeEndian.Uint16(b[6:])),
				Sequence: binary.NativeEndian.Uint32(b[8:]),
				PID:      binary.NativeEndian.Uint32(b[12:]),
			},
			Data: b[nlmsgHeaderLen:l],
		})
		b = b[min(nlmsgAlign(l), len(b)):]
	}
	return out
}

// appendMessage appends one netlink message (header + payload, padded to 4).
func appendMessage(dst []byte, h netlink.Header, payload []byte) []byte {
	l := nlmsgHeaderLen + len(payload)
	var hb [nlmsgHeaderLen]byte
	binary.NativeEndian.PutUint32(hb[0:], uint32(l))
	binary.NativeEndian.PutUint16(hb[4:], uint16(h.Type))
	binary.NativeEndian.PutUint16(hb[6:], uint16(h.Flags))
	binary.NativeEndian.PutUint32(hb[8:], h.Sequence)
	binary.NativeEndian.PutUint32(hb[12:], h.PID)
	dst = append(dst, hb[:]...)
	dst = append(dst, payload...)
	for i := l; i < nlmsgAlign(l); i++ {
		dst = append(dst, 0)
	}
	return dst
}

// rawHeader returns the 16 header bytes of m as it was received.
func rawHeader(m netlink.Message) []byte {
	var hb [nlmsgHeaderLen]byte
	binary.NativeEndian.PutUint32(hb[0:], m.Header.Length)
	binary.NativeEndian.PutUint16(hb[4:], uint16(m.Header.Type))
	binary.NativeEndian.PutUint16(hb[6:], uint16(m.Header.Flags))
	binary.NativeEndian.PutUint32(hb[8:], m.Header.Sequence)
	binary.NativeEndian.PutUint32(hb[12:], m.Header.PID)
	return hb[:]
}
