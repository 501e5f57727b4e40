package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"udrbd/genl"
	"udrbd/genl/client"
)

// Transport choices ($UDRBD_TRANSPORT).
const (
	transportEnv    = "UDRBD_TRANSPORT"
	transportKernel = "kernel"
	transportUdrbd  = "udrbd"
)

// debug ($UDRBD_DEBUG=1) traces every message on stderr.
var debug = os.Getenv("UDRBD_DEBUG") == "1"

// socketFlag is a leading --socket=PATH argument (udrbd's own; removed from
// argv before drbdsetup-84 parsing starts).
var socketFlag string

// chooseTransport returns "kernel" or "udrbd" (see doc.go).
func chooseTransport() string {
	switch os.Getenv(transportEnv) {
	case transportKernel:
		return transportKernel
	case transportUdrbd:
		return transportUdrbd
	}
	if _, err := os.Stat(genl.SocketPath(socketFlag)); err == nil {
		return transportUdrbd
	}
	if _, err := os.Stat("/proc/drbd"); err == nil {
		return transportKernel
	}
	return transportUdrbd
}

// conn is a connection to a drbd genl family: the kernel's or udrbd's.
type conn struct {
	nl  *netlink.Conn
	fam genetlink.Family
}

// dial connects and resolves the "drbd" family.
func dial(kind string) (*conn, error) {
	var nl *netlink.Conn
	if kind == transportKernel {
		c, err := netlink.Dial(unix.NETLINK_GENERIC, nil)
		if err != nil {
			return nil, err
		}
		_ = c.SetReadBuffer(1 << 20)
		_ = c.SetWriteBuffer(128 << 10)
		nl = c
	} else {
		s, err := client.DialSocket(genl.SocketPath(socketFlag))
		if err != nil {
			return nil, err
		}
		nl = netlink.NewConn(s, 0)
	}
	gc := genetlink.NewConn(nl)
	fam, err := gc.GetFamily(genl.FamilyName)
	if err != nil {
		nl.Close()
		return nil, err
	}
	return &conn{nl: nl, fam: fam}, nil
}

// send sends one request (NLM_F_REQUEST, plus NLM_F_DUMP if dump), as
// drbd-utils' genl_send does: no NLM_F_ACK.
func (c *conn) send(m *genl.Message, dump bool) (uint32, error) {
	m.Version = genl.FamilyVersion
	b, err := m.MarshalBinary()
	if err != nil {
		return 0, err
	}
	flags := netlink.Request
	if dump {
		flags |= netlink.Dump
	}
	if debug {
		// nlmsg_flags as its two bytes on the wire, then the genl payload
		fmt.Fprintf(stderr, "udrbd-debug: send flags %02x%02x: %x\n", uint16(flags)&0xff, uint16(flags)>>8, b)
	}
	sent, err := c.nl.Send(netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(c.fam.ID), Flags: flags}, Data: b})
	return sent.Header.Sequence, err
}

// reply is one received drbd message with its netlink header.
type reply struct {
	hdr netlink.Header
	msg *genl.Message
}

// receive reads the next batch of messages (a datagram, or a whole dump up
// to NLMSG_DONE). Messages of other families are dropped. A NACK or a dump
// that ends in an error comes back as the errno.
func (c *conn) receive() ([]reply, error) {
	msgs, err := c.nl.Receive()
	if err != nil {
		var oe *netlink.OpError
		if errors.As(err, &oe) {
			var en syscall.Errno
			if errors.As(oe.Err, &en) {
				return nil, en
			}
		}
		return nil, err
	}
	var out []reply
	for _, m := range msgs {
		if debug {
			fmt.Fprintf(stderr, "udrbd-debug: recv type %#x flags %#x seq %d: %x\n", uint16(m.Header.Type), uint16(m.Header.Flags), m.Header.Sequence, m.Data)
		}
		if m.Header.Type != netlink.HeaderType(c.fam.ID) {
			continue
		}
		gm := new(genl.Message)
		if err := gm.UnmarshalBinary(m.Data); err != nil {
			return nil, fmt.Errorf("reply did not validate: %v", err)
		}
		out = append(out, reply{hdr: m.Header, msg: gm})
	}
	return out, nil
}

// joinEvents subscribes to the family's "events" multicast group.
func (c *conn) joinEvents() error {
	for _, g := range c.fam.Groups {
		if g.Name == genl.EventsGroup {
			return c.nl.JoinGroup(g.ID)
		}
	}
	return errors.New("no events group")
}

func (c *conn) close() { c.nl.Close() }
