// Package client talks to udrbd's control socket the way a program talks to
// the kernel's drbd generic-netlink family: a mdlayher/netlink Conn and a
// mdlayher/genetlink Conn run over Socket, a netlink.Socket carried by the
// unix SOCK_SEQPACKET socket, so family resolution, multicast membership,
// requests, ACKs, NACKs and multi-part dumps go through the same code paths
// as with a real netlink socket.
package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"

	"udrbd/genl"
)

// Socket is a netlink.Socket over a unix SOCK_SEQPACKET connection: every
// datagram holds nlmsghdr-framed messages, as on a netlink socket.
// JoinGroup and LeaveGroup must not run concurrently with Receive.
type Socket struct {
	uc *net.UnixConn

	readMu  sync.Mutex // serializes reads; guards pending
	pending [][]byte   // datagrams read while waiting for a membership ACK
	seq     atomic.Uint32
}

// DialSocket connects to the control socket at path.
func DialSocket(path string) (*Socket, error) {
	uc, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, err
	}
	s := &Socket{uc: uc}
	s.seq.Store(0x80000000)
	return s, nil
}

// Close closes the connection; a blocked Receive returns an error.
func (s *Socket) Close() error { return s.uc.Close() }

// Send writes one message as one datagram.
func (s *Socket) Send(m netlink.Message) error { return s.SendMessages([]netlink.Message{m}) }

// SendMessages writes the messages as one datagram.
func (s *Socket) SendMessages(ms []netlink.Message) error {
	var dg []byte
	for _, m := range ms {
		b, err := m.MarshalBinary()
		if err != nil {
			return err
		}
		dg = append(dg, b...)
	}
	_, err := s.uc.Write(dg)
	return err
}

// maxDatagram is the receive buffer; larger datagrams would be truncated.
const maxDatagram = 1 << 17

func (s *Socket) readDatagram() ([]byte, error) {
	if len(s.pending) > 0 {
		dg := s.pending[0]
		s.pending = s.pending[1:]
		return dg, nil
	}
	buf := make([]byte, maxDatagram)
	n, _, flags, _, err := s.uc.ReadMsgUnix(buf, nil)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, net.ErrClosed
	}
	if flags&syscall.MSG_TRUNC != 0 {
		return nil, fmt.Errorf("control socket: datagram truncated: %w", syscall.ENOBUFS)
	}
	return buf[:n], nil
}

func parseDatagram(dg []byte) ([]netlink.Message, error) {
	var out []netlink.Message
	for len(dg) > 0 {
		var m netlink.Message
		if len(dg) < 16 {
			return nil, errors.New("control socket: short netlink message")
		}
		l := int(binary.NativeEndian.Uint32(dg))
		al := (l + 3) &^ 3
		if l < 16 || al > len(dg) {
			return nil, errors.New("control socket: bad netlink message length")
		}
		if err := m.UnmarshalBinary(dg[:al]); err != nil {
			return nil, err
		}
		m.Data = m.Data[:l-16]
		out = append(out, m)
		dg = dg[al:]
	}
	return out, nil
}

// Receive reads one datagram and returns its messages.
func (s *Socket) Receive() ([]netlink.Message, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	dg, err := s.readDatagram()
	if err != nil {
		return nil, err
	}
	return parseDatagram(dg)
}

// ReceiveIter yields the messages of one datagram.
func (s *Socket) ReceiveIter() iter.Seq2[netlink.Message, error] {
	return func(yield func(netlink.Message, error) bool) {
		ms, err := s.Receive()
		if err != nil {
			yield(netlink.Message{}, err)
			return
		}
		for _, m := range ms {
			if !yield(m, nil) {
				return
			}
		}
	}
}

// JoinGroup subscribes to a multicast group and waits until the server
// confirms, so no message sent afterwards is missed.
func (s *Socket) JoinGroup(group uint32) error { return s.membership(genl.MsgJoinGroup, group) }

// LeaveGroup unsubscribes from a multicast group.
func (s *Socket) LeaveGroup(group uint32) error { return s.membership(genl.MsgLeaveGroup, group) }

func (s *Socket) membership(typ netlink.HeaderType, group uint32) error {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	seq := s.seq.Add(1)
	payload := binary.NativeEndian.AppendUint32(nil, group)
	if err := s.Send(netlink.Message{Header: netlink.Header{Length: 20, Type: typ,
		Flags: netlink.Request | netlink.Acknowledge, Sequence: seq}, Data: payload}); err != nil {
		return err
	}
	var stash [][]byte
	defer func() { s.pending = append(stash, s.pending...) }()
	for {
		buf := make([]byte, maxDatagram)
		n, err := s.uc.Read(buf)
		if err != nil {
			return err
		}
		dg := buf[:n]
		ms, err := parseDatagram(dg)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.Header.Type == netlink.Error && m.Header.Sequence == seq && len(m.Data) >= 4 {
				if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
					return syscall.Errno(-e)
				}
				return nil
			}
		}
		stash = append(stash, dg)
	}
}

// Client is a connection to the drbd family on udrbd's control socket.
// A Client is meant for one goroutine at a time.
type Client struct {
	sock    *Socket
	nl      *netlink.Conn
	gc      *genetlink.Conn
	family  genetlink.Family
	backlog []netlink.Message // multicast messages read while waiting for a reply
}

// Dial connects to the control socket at path (see genl.SocketPath) and
// resolves the "drbd" family through nlctrl, refusing a family that is not
// API version 1.
func Dial(path string) (*Client, error) {
	sock, err := DialSocket(path)
	if err != nil {
		return nil, err
	}
	nl := netlink.NewConn(sock, 0)
	gc := genetlink.NewConn(nl)
	fam, err := gc.GetFamily(genl.FamilyName)
	if err != nil {
		nl.Close()
		return nil, fmt.Errorf("could not connect to %q generic netlink family: %w", genl.FamilyName, err)
	}
	if fam.Version != genl.FamilyVersion {
		nl.Close()
		return nil, fmt.Errorf("API mismatch: API version client %d, server %d", genl.FamilyVersion, fam.Version)
	}
	return &Client{sock: sock, nl: nl, gc: gc, family: fam}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.nl.Close() }

// Family is the resolved family (id, version, multicast groups).
func (c *Client) Family() genetlink.Family { return c.family }

// Do sends a request with NLM_F_ACK and returns the unicast reply (nil if
// the server sent only the ACK). A NACK comes back as an error for which
// errors.Is(err, syscall.EPERM) and the like work.
func (c *Client) Do(req *genl.Message) (*genl.Message, error) {
	sent, err := c.send(req, netlink.Request|netlink.Acknowledge)
	if err != nil {
		return nil, err
	}
	var reply *genl.Message
	for {
		msgs, err := c.nl.Receive()
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			switch {
			case m.Header.Sequence != sent.Header.Sequence || m.Header.PID == 0 && m.Header.Type == netlink.HeaderType(c.family.ID):
				c.backlog = append(c.backlog, m)
			case m.Header.Type == netlink.Error:
				return reply, nil // the ACK: errors were returned by Receive
			case m.Header.Type == netlink.HeaderType(c.family.ID):
				reply = new(genl.Message)
				if err := reply.UnmarshalBinary(m.Data); err != nil {
					return nil, err
				}
			}
		}
	}
}

// Dump sends a request with NLM_F_DUMP and calls fn for every reply message
// until NLMSG_DONE. An error in NLMSG_DONE is returned.
func (c *Client) Dump(req *genl.Message, fn func(*genl.Message) error) error {
	sent, err := c.send(req, netlink.Request|netlink.Dump)
	if err != nil {
		return err
	}
	msgs, err := c.nl.Receive()
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.Header.Sequence != sent.Header.Sequence || m.Header.Flags&netlink.Multi == 0 {
			c.backlog = append(c.backlog, m)
			continue
		}
		var gm genl.Message
		if err := gm.UnmarshalBinary(m.Data); err != nil {
			return err
		}
		if err := fn(&gm); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) send(req *genl.Message, flags netlink.HeaderFlags) (netlink.Message, error) {
	if req.Version == 0 {
		req.Version = genl.FamilyVersion
	}
	b, err := req.MarshalBinary()
	if err != nil {
		return netlink.Message{}, err
	}
	return c.nl.Send(netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(c.family.ID), Flags: flags}, Data: b})
}

// JoinEvents subscribes to the family's "events" multicast group.
func (c *Client) JoinEvents() error {
	for _, g := range c.family.Groups {
		if g.Name == genl.EventsGroup {
			return c.gc.JoinGroup(g.ID)
		}
	}
	return fmt.Errorf("family %q has no %q group", genl.FamilyName, genl.EventsGroup)
}

// LeaveEvents unsubscribes from the "events" group.
func (c *Client) LeaveEvents() error {
	for _, g := range c.family.Groups {
		if g.Name == genl.EventsGroup {
			return c.gc.LeaveGroup(g.ID)
		}
	}
	return fmt.Errorf("family %q has no %q group", genl.FamilyName, genl.EventsGroup)
}

// Buffered is the number of multicast messages read while waiting for
// replies and not yet returned by ReceiveEvents.
func (c *Client) Buffered() int { return len(c.backlog) }

// Event is one multicast message.
type Event struct {
	Seq uint32
	Msg *genl.Message
}

// ReceiveEvents blocks until at least one multicast message is available
// and returns what has arrived.
func (c *Client) ReceiveEvents() ([]Event, error) {
	for {
		var msgs []netlink.Message
		if len(c.backlog) > 0 {
			msgs, c.backlog = c.backlog, nil
		} else {
			var err error
			if msgs, err = c.nl.Receive(); err != nil {
				return nil, err
			}
		}
		var out []Event
		for _, m := range msgs {
			if m.Header.Type != netlink.HeaderType(c.family.ID) {
				continue
			}
			gm := new(genl.Message)
			if err := gm.UnmarshalBinary(m.Data); err != nil {
				return nil, err
			}
			out = append(out, Event{Seq: m.Header.Sequence, Msg: gm})
		}
		if len(out) > 0 {
			return out, nil
		}
	}
}
