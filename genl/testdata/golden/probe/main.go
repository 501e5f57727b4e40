// Command probe sends hand-made requests to the kernel's drbd genl family
// over a real netlink socket and prints every datagram both ways as hex, so
// the genetlink core's answers (ACK, NACK, errno, echo) can be recorded as
// golden data. The golden capture runs it inside the test VM.
//
// Output: "PROBE name", "SEND hex", then "RECV hex" per received datagram,
// until an NLMSG_ERROR or NLMSG_DONE arrives.
package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

const (
	flagRequest = 0x1
	flagAck     = 0x4
	flagDump    = 0x300
)

var (
	fd  int
	seq uint32 = 1000
	fam uint16
)

func nla(typ uint16, data []byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, uint16(4+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func msg(typ, flags uint16, payload []byte) []byte {
	seq++
	b := binary.NativeEndian.AppendUint32(nil, uint32(16+len(payload)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	return append(b, payload...)
}

// drbd builds genlmsghdr + drbd_genlmsghdr + attributes.
func drbd(cmd uint8, minor uint32, attrs ...[]byte) []byte {
	b := []byte{cmd, 1, 0, 0}
	b = binary.NativeEndian.AppendUint32(b, minor)
	b = binary.NativeEndian.AppendUint32(b, 0)
	for _, a := range attrs {
		b = append(b, a...)
	}
	return b
}

func exchange(name string, req []byte) [][]byte {
	fmt.Printf("PROBE %s\nSEND %s\n", name, hex.EncodeToString(req))
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		fmt.Println("ERROR send", err)
		return nil
	}
	var out [][]byte
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			fmt.Println("END", err)
			return out
		}
		dg := append([]byte(nil), buf[:n]...)
		out = append(out, dg)
		fmt.Printf("RECV %s\n", hex.EncodeToString(dg))
		for b := dg; len(b) >= 16; {
			l := int(binary.NativeEndian.Uint32(b))
			t := binary.NativeEndian.Uint16(b[4:])
			if t == unix.NLMSG_ERROR || t == unix.NLMSG_DONE {
				fmt.Println("END")
				return out
			}
			if l < 16 || l > len(b) {
				break
			}
			b = b[min((l+3)&^3, len(b)):]
		}
	}
}

func main() {
	var err error
	fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_GENERIC)
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	}
	if err == nil {
		tv := unix.Timeval{Sec: 5}
		err = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
	name := append([]byte("drbd"), 0)
	getFamily := append([]byte{unix.CTRL_CMD_GETFAMILY, 1, 0, 0}, nla(unix.CTRL_ATTR_FAMILY_NAME, name)...)
	dgs := exchange("getfamily-ack", msg(unix.GENL_ID_CTRL, flagRequest|flagAck, getFamily))
	if len(dgs) == 0 {
		os.Exit(1)
	}
	// CTRL_ATTR_FAMILY_ID follows the name in the reply
	for b := dgs[0][20:]; len(b) >= 4; {
		l := int(binary.NativeEndian.Uint16(b))
		if binary.NativeEndian.Uint16(b[2:]) == unix.CTRL_ATTR_FAMILY_ID {
			fam = binary.NativeEndian.Uint16(b[4:])
		}
		if l < 4 {
			break
		}
		b = b[min((l+3)&^3, len(b)):]
	}
	if fam == 0 {
		fmt.Fprintln(os.Stderr, "probe: no drbd family id")
		os.Exit(1)
	}
	nosuch := append([]byte{unix.CTRL_CMD_GETFAMILY, 1, 0, 0}, nla(unix.CTRL_ATTR_FAMILY_NAME, append([]byte("nosuchfamily"), 0))...)
	exchange("getfamily-unknown", msg(unix.GENL_ID_CTRL, flagRequest|flagAck, nosuch))
	exchange("unknown-family-id", msg(0x7777, flagRequest|flagAck, drbd(7, 0xffffffff)))
	exchange("not-a-request", msg(fam, flagAck, drbd(7, 0xffffffff)))
	exchange("unknown-cmd", msg(fam, flagRequest|flagAck, drbd(3, 0xffffffff)))
	exchange("notification-cmd", msg(fam, flagRequest|flagAck, drbd(34, 0xffffffff)))
	exchange("dump-on-doit-only", msg(fam, flagRequest|flagAck|flagDump, drbd(5, 0xffffffff)))
	exchange("doit-on-dump-only", msg(fam, flagRequest|flagAck, drbd(30, 0xffffffff)))
	exchange("short-drbd-header", msg(fam, flagRequest|flagAck, []byte{7, 1, 0, 0}))
	const nested = 0x8000
	name5 := nla(0x4002, append([]byte("probe"), 0))
	ctx := nla(2|nested, name5)
	exchange("tla-without-nested-flag", msg(fam, flagRequest|flagAck, drbd(7, 0xffffffff, nla(2, name5))))
	exchange("short-top-level-attr", msg(fam, flagRequest|flagAck, drbd(7, 0xffffffff, ctx, nla(3|nested, []byte{1, 2}))))
	exchange("tla-unspec-14", msg(fam, flagRequest|flagAck, drbd(7, 0xffffffff, ctx, nla(14|nested, nil))))
	exchange("tla-above-maxattr", msg(fam, flagRequest|flagAck, drbd(7, 0xffffffff, ctx, nla(25|nested, nil))))
	exchange("tla-type-0", msg(fam, flagRequest|flagAck, drbd(7, 0xffffffff, nla(0|nested, nil), ctx)))
	exchange("trailing-bytes", msg(fam, flagRequest|flagAck, append(drbd(7, 0xffffffff, ctx), 1, 0, 0, 0)))
	badCtx := nla(2|nested, append(name5, nla(0x4000|9, []byte{1, 0, 0, 0})...))
	exchange("cfg-context-unknown-mandatory", msg(fam, flagRequest|flagAck, drbd(7, 0xffffffff, badCtx)))
	exchange("new-resource-ack", msg(fam, flagRequest|flagAck, drbd(7, 0xffffffff, ctx)))
	exchange("new-resource-again", msg(fam, flagRequest|flagAck, drbd(7, 0xffffffff, ctx)))
	badOpts := nla(4|nested, nla(0x4000|9, []byte{1, 0, 0, 0}))
	exchange("res-opts-unknown-mandatory", msg(fam, flagRequest|flagAck, drbd(9, 0xffffffff, ctx, badOpts)))
	okOpts := nla(4|nested, nla(9, []byte{1, 0, 0, 0}))
	exchange("res-opts-unknown-optional", msg(fam, flagRequest|flagAck, drbd(9, 0xffffffff, ctx, okOpts)))
	shortOpt := nla(4|nested, nla(0x4002, []byte{1, 0}))
	exchange("res-opts-short-u32", msg(fam, flagRequest|flagAck, drbd(9, 0xffffffff, ctx, shortOpt)))
	exchange("get-resources-dump-ack", msg(fam, flagRequest|flagAck|flagDump, drbd(30, 0xffffffff)))
	exchange("get-status-unknown-minor", msg(fam, flagRequest|flagAck, drbd(2, 77)))
	exchange("del-resource-ack", msg(fam, flagRequest|flagAck, drbd(8, 0xffffffff, ctx)))
	exchange("del-resource-unknown", msg(fam, flagRequest|flagAck, drbd(8, 0xffffffff, ctx)))
}
