package server

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"udrbd/genl"
)

// Creds are a caller's credentials as SO_PEERCRED reports them, plus its
// supplementary groups (from /proc/<pid>/status, best effort).
type Creds struct {
	PID    int32
	UID    uint32
	GID    uint32
	Groups []uint32
}

func peerCreds(uc *net.UnixConn) (Creds, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return Creds{}, err
	}
	var uc2 *unix.Ucred
	var serr error
	if err := rc.Control(func(fd uintptr) {
		uc2, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Creds{}, err
	}
	if serr != nil {
		return Creds{}, serr
	}
	c := Creds{PID: uc2.Pid, UID: uc2.Uid, GID: uc2.Gid}
	c.Groups = procGroups(uc2.Pid)
	return c, nil
}

// procGroups reads the "Groups:" line of /proc/<pid>/status.
func procGroups(pid int32) []uint32 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Groups:")
		if !ok {
			continue
		}
		var out []uint32
		for _, g := range strings.Fields(rest) {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				out = append(out, uint32(n))
			}
		}
		return out
	}
	return nil
}

// IsAdmin is the default permission check: root, or a member (primary or
// supplementary) of one of the admin groups. It stands in for the kernel's
// capable(CAP_NET_ADMIN) on GENL_ADMIN_PERM ops.
func IsAdmin(c Creds, adminGroups []uint32) bool {
	if c.UID == 0 {
		return true
	}
	for _, g := range adminGroups {
		if c.GID == g || slices.Contains(c.Groups, g) {
			return true
		}
	}
	return false
}

// conn is one accepted client. readLoop owns uc's read side and runs every
// request of the connection in order; writeLoop owns the write side and
// drains out. Both are started by Serve and stopped by close (or by the
// peer hanging up); each calls s.wg.Done.
type conn struct {
	s      *Server
	uc     *net.UnixConn
	creds  Creds
	admin  bool
	portid uint32
	events atomic.Bool // joined the "events" group

	out       chan []byte   // datagrams to write, in order
	done      chan struct{} // closed by close
	closeOnce sync.Once
}

func (s *Server) newConn(uc *net.UnixConn) (*conn, error) {
	cr, err := peerCreds(uc)
	if err != nil {
		return nil, err
	}
	auth := s.cfg.Authorize
	if auth == nil {
		auth = func(c Creds) bool { return IsAdmin(c, s.cfg.AdminGroups) }
	}
	c := &conn{s: s, uc: uc, creds: cr, admin: auth(cr), portid: s.allocPort(cr.PID),
		out: make(chan []byte, s.cfg.QueueLen), done: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, net.ErrClosed
	}
	s.conns[c] = struct{}{}
	return c, nil
}

func (c *conn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.uc.Close()
		c.s.mu.Lock()
		delete(c.s.conns, c)
		delete(c.s.ports, c.portid)
		c.s.mu.Unlock()
	})
}

// send queues a datagram, waiting for room; false if the connection closed.
func (c *conn) send(dg []byte) bool {
	select {
	case c.out <- dg:
		return true
	case <-c.done:
		return false
	}
}

// offer queues a datagram if there is room; false if dropped.
func (c *conn) offer(dg []byte) bool {
	select {
	case c.out <- dg:
		return true
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	for {
		select {
		case dg := <-c.out:
			if _, err := c.uc.Write(dg); err != nil {
				c.close()
				return
			}
		case <-c.done:
			return
		}
	}
}

// maxRequest is the receive buffer for one request datagram. The kernel
// takes what the sender's buffer allows; drbd requests are a few hundred bytes.
const maxRequest = 1 << 16

func (c *conn) readLoop() {
	defer c.s.wg.Done()
	defer c.close()
	buf := make([]byte, maxRequest)
	for {
		n, err := c.uc.Read(buf)
		if err != nil || n == 0 {
			return
		}
		dg := append([]byte(nil), buf[:n]...)
		for _, m := range splitDatagram(dg) {
			c.handle(m)
		}
	}
}

// handle processes one netlink message as netlink_rcv_skb + genl_rcv_msg do.
func (c *conn) handle(m netlink.Message) {
	var err syscall.Errno
	switch {
	case m.Header.Type == genl.MsgJoinGroup || m.Header.Type == genl.MsgLeaveGroup:
		err = c.membership(m)
	case m.Header.Flags&netlink.Request == 0 || m.Header.Type < 0x10:
		// not a request, or a control message: nothing to do but the ACK
	case m.Header.Type == genl.GenlIDCtrl:
		err = c.ctrl(m)
	case m.Header.Type == genl.FamilyID:
		err = c.drbd(m)
	default:
		err = syscall.ENOENT
	}
	if err == errDumped {
		return
	}
	if m.Header.Flags&netlink.Acknowledge != 0 || err != 0 {
		c.ack(m, err)
	}
}

// errDumped says a dump was answered with its own NLMSG_DONE: no ACK follows.
const errDumped = syscall.Errno(^uintptr(0))

// ack sends NLMSG_ERROR as netlink_ack does: errno 0 with only the request
// header and NLM_F_CAPPED, or -errno with the whole request echoed.
func (c *conn) ack(m netlink.Message, e syscall.Errno) {
	payload := putErrno(nil, e)
	payload = append(payload, rawHeader(m)...)
	var flags netlink.HeaderFlags
	if e == 0 {
		flags = netlink.Capped
	} else {
		payload = append(payload, m.Data...)
	}
	c.send(appendMessage(nil, netlink.Header{Type: netlink.Error, Flags: flags, Sequence: m.Header.Sequence, PID: c.portid}, payload))
}

func (c *conn) membership(m netlink.Message) syscall.Errno {
	if len(m.Data) < 4 {
		return syscall.EINVAL
	}
	if binary.NativeEndian.Uint32(m.Data) != genl.EventsGroupID {
		return syscall.EINVAL
	}
	c.events.Store(m.Header.Type == genl.MsgJoinGroup)
	return 0
}

// drbd runs one request of the drbd family through the genl core's checks
// and the handler.
func (c *conn) drbd(m netlink.Message) syscall.Errno {
	if len(m.Data) < genl.GenlHeaderLen {
		return syscall.EINVAL
	}
	op := genl.Op(genl.Cmd(m.Data[0]))
	if op == nil || op.Notification {
		return syscall.EOPNOTSUPP
	}
	if op.AdminPerm && !c.admin {
		return syscall.EPERM
	}
	dump := m.Header.Flags&netlink.Dump == netlink.Dump
	if (dump && !op.Dumpit) || (!dump && !op.Doit) {
		return syscall.EOPNOTSUPP
	}
	// the genl core's strict validation of the top level (doit and dump)
	if err := genl.ValidateRequest(m.Data); err != nil {
		return errnoOf(err)
	}
	msg := new(genl.Message)
	if err := msg.UnmarshalBinary(m.Data); err != nil {
		return errnoOf(err)
	}
	req := &Request{Header: m.Header, PortID: c.portid, Msg: msg, Creds: c.creds, Admin: c.admin}
	if dump {
		c.dump(req)
		return errDumped
	}
	// Every drbd doit parses the cfg context first (drbd_adm_prepare), which
	// clears its mandatory bits in the request buffer; a NACK echoes that
	// buffer, so do the same to ours (it is this connection's own copy).
	genl.CheckMandatoryInPlace(m.Data, genl.TLACfgContext)
	reply, err := c.s.h.Do(c.s.ctx, req)
	if err != nil {
		return errnoOf(err)
	}
	if reply != nil {
		b, err := c.encodeReply(req, reply)
		if err != nil {
			return syscall.EMSGSIZE
		}
		c.send(appendMessage(nil, netlink.Header{Type: genl.FamilyID, Sequence: m.Header.Sequence, PID: c.portid}, b))
	}
	return 0
}

func (c *conn) encodeReply(req *Request, reply *genl.Message) ([]byte, error) {
	if reply.Cmd == 0 {
		reply.Cmd = req.Msg.Cmd
	}
	if reply.Version == 0 {
		reply.Version = genl.FamilyVersion
	}
	if !req.Admin {
		reply = withoutSensitive(reply)
	}
	return reply.MarshalBinary()
}

// withoutSensitive is the kernel's exclude_sensitive for callers without
// admin rights (net_conf_to_skb and friends leave shared-secret out): done
// here, once, so that no handler can leak it. The handler's message and
// sets are not changed.
func withoutSensitive(m *genl.Message) *genl.Message {
	var out *genl.Message
	for i, a := range m.Attrs {
		if a.Set == nil {
			continue
		}
		s := genl.WithoutSensitive(a.Set)
		if s == a.Set {
			continue
		}
		if out == nil {
			c := *m
			c.Attrs = append([]genl.Attr(nil), m.Attrs...)
			out = &c
		}
		out.Attrs[i].Set = s
	}
	if out == nil {
		return m
	}
	return out
}

// dump sends the handler's messages as netlink_dump does for drbd's
// dumpit functions, which put one object per call: one message per
// datagram, then NLMSG_DONE (NLM_F_MULTI, payload: the dump's errno, 0 on
// success) in a datagram of its own. Messages carry NLM_F_MULTI and the
// caller's port id, except those of DRBD_ADM_GET_INITIAL_STATE, which the
// kernel builds with its notification code: flags 0, nlmsg_pid 0.
func (c *conn) dump(req *Request) {
	hdr := netlink.Header{Type: genl.FamilyID, Flags: netlink.Multi, Sequence: req.Header.Sequence, PID: c.portid}
	if req.Msg.Cmd == genl.CmdGetInitialState {
		hdr.Flags, hdr.PID = 0, 0
	}
	emit := func(reply *genl.Message) error {
		b, err := c.encodeReply(req, reply)
		if err != nil {
			return err
		}
		if !c.send(appendMessage(nil, hdr, b)) {
			return net.ErrClosed
		}
		return nil
	}
	var e syscall.Errno
	if err := c.s.h.Dump(c.s.ctx, req, emit); err != nil {
		e = errnoOf(err)
	}
	c.send(appendMessage(nil, netlink.Header{Type: netlink.Done, Flags: netlink.Multi, Sequence: req.Header.Sequence, PID: c.portid}, putErrno(nil, e)))
}

// ctrl answers the generic netlink controller: CTRL_CMD_GETFAMILY by name or
// id for "drbd" (anything else: ENOENT), and the GETFAMILY dump (which lists
// only drbd).
func (c *conn) ctrl(m netlink.Message) syscall.Errno {
	if len(m.Data) < genl.GenlHeaderLen {
		return syscall.EINVAL
	}
	if m.Data[0] != genl.CtrlCmdGetFamily {
		return syscall.EOPNOTSUPP
	}
	fam, err := FamilyMessage()
	if err != nil {
		return syscall.EMSGSIZE
	}
	if m.Header.Flags&netlink.Dump == netlink.Dump {
		dg := appendMessage(nil, netlink.Header{Type: genl.GenlIDCtrl, Flags: netlink.Multi, Sequence: m.Header.Sequence, PID: c.portid}, fam)
		dg = appendMessage(dg, netlink.Header{Type: netlink.Done, Flags: netlink.Multi, Sequence: m.Header.Sequence, PID: c.portid}, putErrno(nil, 0))
		c.send(dg)
		return errDumped
	}
	ad, aerr := netlink.NewAttributeDecoder(m.Data[genl.GenlHeaderLen:])
	if aerr != nil {
		return syscall.EINVAL
	}
	// ctrl_getfamily: the id is looked at first, a name overrides it
	var byID, byName, hasID, hasName bool
	for ad.Next() {
		switch ad.Type() {
		case genl.CtrlAttrFamilyID:
			b := ad.Bytes()
			hasID, byID = true, len(b) >= 2 && binary.NativeEndian.Uint16(b) == genl.FamilyID
		case genl.CtrlAttrFamilyNm:
			hasName, byName = true, string(bytes.TrimRight(ad.Bytes(), "\x00")) == genl.FamilyName
		}
	}
	switch {
	case hasName && !byName, !hasName && hasID && !byID:
		return syscall.ENOENT
	case !hasName && !hasID:
		return syscall.EINVAL
	}
	c.send(appendMessage(nil, netlink.Header{Type: genl.GenlIDCtrl, Sequence: m.Header.Sequence, PID: c.portid}, fam))
	return 0
}

// FamilyMessage is the nlctrl CTRL_CMD_NEWFAMILY message (genlmsghdr
// included) that describes the drbd family the way ctrl_fill_info does:
// name, id, version, hdrsize, maxattr, one nest per op (id, flags) and the
// multicast groups (id, name).
func FamilyMessage() ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.String(genl.CtrlAttrFamilyNm, genl.FamilyName)
	ae.Uint16(genl.CtrlAttrFamilyID, genl.FamilyID)
	ae.Uint32(genl.CtrlAttrVersion, genl.FamilyVersion)
	ae.Uint32(genl.CtrlAttrHdrsize, genl.HeaderLen)
	ae.Uint32(genl.CtrlAttrMaxattr, genl.MaxAttr)
	ops := netlink.NewAttributeEncoder()
	i := uint16(0)
	for _, o := range genl.Ops {
		if o.Notification {
			continue
		}
		i++
		flags := uint32(genl.GenlCmdCapHasPol)
		if o.AdminPerm {
			flags |= genl.GenlAdminPerm
		}
		if o.Doit {
			flags |= genl.GenlCmdCapDo
		}
		if o.Dumpit {
			flags |= genl.GenlCmdCapDump
		}
		op := netlink.NewAttributeEncoder()
		op.Uint32(genl.CtrlAttrOpID, uint32(o.Cmd))
		op.Uint32(genl.CtrlAttrOpFlags, flags)
		b, err := op.Encode()
		if err != nil {
			return nil, err
		}
		ops.Bytes(i, b)
	}
	ob, err := ops.Encode()
	if err != nil {
		return nil, err
	}
	ae.Bytes(genl.CtrlAttrOps, ob)
	grp := netlink.NewAttributeEncoder()
	grp.Uint32(genl.CtrlAttrMcGrpID, genl.EventsGroupID)
	grp.String(genl.CtrlAttrMcGrpName, genl.EventsGroup)
	gb, err := grp.Encode()
	if err != nil {
		return nil, err
	}
	grps := netlink.NewAttributeEncoder()
	grps.Bytes(1, gb)
	gsb, err := grps.Encode()
	if err != nil {
		return nil, err
	}
	ae.Bytes(genl.CtrlAttrMcastGrps, gsb)
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	return append([]byte{genl.CtrlCmdNewFamily, genl.CtrlVersion, 0, 0}, attrs...), nil
}
