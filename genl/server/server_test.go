package server_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mdlayher/netlink"

	"udrbd/genl"
	"udrbd/genl/client"
	"udrbd/genl/server"
)

// fakeHandler answers a few commands the way the kernel's handlers shape
// their replies; it records what reached it.
type fakeHandler struct {
	mu    sync.Mutex
	calls []genl.Cmd
	admin []bool
	dumpN int // messages per dump
}

func (h *fakeHandler) record(r *server.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, r.Msg.Cmd)
	h.admin = append(h.admin, r.Admin)
}

func (h *fakeHandler) seen() []genl.Cmd {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]genl.Cmd(nil), h.calls...)
}

func (h *fakeHandler) Do(_ context.Context, r *server.Request) (*genl.Message, error) {
	h.record(r)
	reply := &genl.Message{Minor: r.Msg.Minor}
	reply.SetRetCode(genl.NoError)
	if a := r.Msg.Find(genl.TLACfgContext); a != nil {
		if a.Err != nil {
			return nil, a.Err // the kernel NACKs a bad cfg context
		}
		reply.Attrs = append(reply.Attrs, genl.ClearMandatory(*a))
	}
	switch r.Msg.Cmd {
	case genl.CmdAttach:
		if _, err := genl.Get[*genl.DiskConf](r.Msg); err != nil {
			se, _ := genl.IsSetError(err)
			reply.FailSet(se)
		}
	case genl.CmdPrimary:
		reply.SetRetCode(-2) // SS_NO_UP_TO_DATE_DISK
		reply.Add(&genl.CfgReply{InfoText: "no disk", Present: 1 << genl.CfgReplyInfoText})
	case genl.CmdDetach:
		return nil, fmt.Errorf("no such device: %w", syscall.ENODEV)
	case genl.CmdSuspendIO:
		return nil, nil // ACK only
	case genl.CmdGetStatus:
		nc := new(genl.NetConf)
		genl.SetDefaults(nc)
		nc.SharedSecret = "s3cr3t"
		nc.Present = genl.AllFields(nc)
		nc.Present.Del(genl.NetConfDiscardMyData)
		nc.Present.Del(genl.NetConfTentative)
		reply.Attrs = append(reply.Attrs, genl.Kernel(nc))
	}
	return reply, nil
}

func (h *fakeHandler) Dump(_ context.Context, r *server.Request, emit func(*genl.Message) error) error {
	h.record(r)
	for i := 0; i < h.dumpN; i++ {
		m := &genl.Message{Minor: uint32(i)}
		m.SetRetCode(genl.NoError)
		m.Add(&genl.CfgContext{CtxResourceName: fmt.Sprintf("resource-%03d", i), CtxVolume: uint32(i),
			Present: 1<<genl.CfgContextCtxResourceName | 1<<genl.CfgContextCtxVolume})
		if err := emit(m); err != nil {
			return err
		}
	}
	if r.Msg.Minor == 666 {
		return syscall.EIO
	}
	return nil
}

// startServer runs a server; unless the test sets its own Authorize, every
// caller counts as admin, so the tests do not depend on the uid they run as
// (TestNonRootCaller covers the real SO_PEERCRED check).
func startServer(t *testing.T, cfg server.Config, h server.Handler) *server.Server {
	t.Helper()
	if cfg.Authorize == nil {
		cfg.Authorize = func(server.Creds) bool { return true }
	}
	return startServerRaw(t, cfg, h)
}

func startServerRaw(t *testing.T, cfg server.Config, h server.Handler) *server.Server {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "run", "control.sock")
	}
	s, err := server.Listen(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s
}

func dial(t *testing.T, s *server.Server) *client.Client {
	t.Helper()
	c, err := client.Dial(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rawSocket(t *testing.T, s *server.Server) *client.Socket {
	t.Helper()
	c, err := client.DialSocket(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(name string) *genl.CfgContext {
	return &genl.CfgContext{CtxResourceName: name, Present: 1 << genl.CfgContextCtxResourceName}
}

func TestSocketFile(t *testing.T) {
	s := startServer(t, server.Config{}, &fakeHandler{})
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want socket 0600", fi.Mode())
	}
	if _, err := server.Listen(server.Config{Path: s.Path()}, &fakeHandler{}); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second listener: %v", err)
	}
	t.Setenv(genl.SocketEnv, "/x/env.sock")
	if got := genl.SocketPath(""); got != "/x/env.sock" {
		t.Fatal(got)
	}
	if got := genl.SocketPath("/x/flag.sock"); got != "/x/flag.sock" {
		t.Fatal(got)
	}
	t.Setenv(genl.SocketEnv, "")
	if got := genl.SocketPath(""); got != genl.DefaultSocket {
		t.Fatal(got)
	}
}

func TestFamilyResolution(t *testing.T) {
	s := startServer(t, server.Config{}, &fakeHandler{})
	c := dial(t, s)
	f := c.Family()
	if f.ID != genl.FamilyID || f.Version != genl.FamilyVersion || f.Name != "drbd" {
		t.Fatalf("family %+v", f)
	}
	if len(f.Groups) != 1 || f.Groups[0].Name != "events" || f.Groups[0].ID != genl.EventsGroupID {
		t.Fatalf("groups %+v", f.Groups)
	}

	// the whole CTRL_CMD_NEWFAMILY reply, attribute by attribute
	b, err := server.FamilyMessage()
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != genl.CtrlCmdNewFamily || b[1] != genl.CtrlVersion {
		t.Fatalf("genl header % x", b[:4])
	}
	ad, err := netlink.NewAttributeDecoder(b[4:])
	if err != nil {
		t.Fatal(err)
	}
	var types []uint16
	ops := map[uint32]uint32{}
	var nops int
	for ad.Next() {
		types = append(types, ad.Type())
		switch ad.Type() {
		case genl.CtrlAttrHdrsize:
			if v := ad.Uint32(); v != 8 {
				t.Errorf("hdrsize %d", v)
			}
		case genl.CtrlAttrMaxattr:
			if v := ad.Uint32(); v != 24 {
				t.Errorf("maxattr %d", v)
			}
		case genl.CtrlAttrOps:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				for nad.Next() {
					nops++
					if nad.Type() != uint16(nops) {
						t.Errorf("op nest %d numbered %d", nops, nad.Type())
					}
					var id, flags uint32
					nad.Nested(func(od *netlink.AttributeDecoder) error {
						for od.Next() {
							switch od.Type() {
							case genl.CtrlAttrOpID:
								id = od.Uint32()
							case genl.CtrlAttrOpFlags:
								flags = od.Uint32()
							}
						}
						return nil
					})
					ops[id] = flags
				}
				return nil
			})
		}
	}
	if err := ad.Err(); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]uint16{2, 1, 3, 4, 5, 6, 7}, types); d != "" {
		t.Fatalf("attribute order (-want +got)\n%s", d)
	}
	if nops != 31 {
		t.Errorf("%d ops, want 31", nops)
	}
	wantFlags := map[genl.Cmd]uint32{
		genl.CmdGetStatus: 0x0e, genl.CmdNewMinor: 0x0b, genl.CmdAttach: 0x0b,
		genl.CmdGetResources: 0x0c, genl.CmdGetInitialState: 0x0c,
	}
	for cmd, want := range wantFlags {
		if ops[uint32(cmd)] != want {
			t.Errorf("%v flags %#x, want %#x", cmd, ops[uint32(cmd)], want)
		}
	}
	if _, ok := ops[uint32(genl.CmdEvent)]; ok {
		t.Error("notification listed as op")
	}
}

func TestUnknownFamily(t *testing.T) {
	s := startServer(t, server.Config{}, &fakeHandler{})
	sock := rawSocket(t, s)
	nl := netlink.NewConn(sock, 0)
	ae := netlink.NewAttributeEncoder()
	ae.String(genl.CtrlAttrFamilyNm, "nl80211")
	attrs, _ := ae.Encode()
	_, err := nl.Execute(netlink.Message{Header: netlink.Header{Type: genl.GenlIDCtrl, Flags: netlink.Request},
		Data: append([]byte{genl.CtrlCmdGetFamily, 1, 0, 0}, attrs...)})
	if !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("unknown family: %v", err)
	}
}

func TestDoitWithACK(t *testing.T) {
	h := &fakeHandler{}
	s := startServer(t, server.Config{}, h)
	c := dial(t, s)
	req := &genl.Message{Cmd: genl.CmdNewResource, Minor: genl.MinorNone}
	req.Add(ctx("r0"), &genl.ResOpts{})
	reply, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Cmd != genl.CmdNewResource || reply.Version != 1 || reply.Minor != genl.MinorNone || reply.RetCode() != genl.NoError {
		t.Fatalf("reply header %+v", reply)
	}
	got, err := genl.Get[*genl.CfgContext](reply)
	if err != nil || got.CtxResourceName != "r0" {
		t.Fatalf("cfg context %+v %v", got, err)
	}
	// the copied context has the mandatory bits cleared, as in the kernel
	if a := reply.Find(genl.TLACfgContext); a.Layout[0].Type != genl.CfgContextCtxResourceName {
		t.Fatalf("context layout %+v", a.Layout)
	}

	// ACK-only doit
	if r, err := c.Do(&genl.Message{Cmd: genl.CmdSuspendIO}); err != nil || r != nil {
		t.Fatalf("ack-only: %v %v", r, err)
	}

	// the raw framing: reply datagram, then the ACK datagram
	sock := rawSocket(t, s)
	b, _ := req.MarshalBinary()
	if err := sock.Send(netlink.Message{Header: netlink.Header{Length: uint32(16 + len(b)), Type: genl.FamilyID,
		Flags: netlink.Request | netlink.Acknowledge, Sequence: 77, PID: 1234}, Data: b}); err != nil {
		t.Fatal(err)
	}
	first, err := sock.Receive()
	if err != nil || len(first) != 1 || first[0].Header.Type != genl.FamilyID || first[0].Header.Sequence != 77 || first[0].Header.Flags != 0 {
		t.Fatalf("reply datagram %+v %v", first, err)
	}
	port := first[0].Header.PID
	if port != uint32(os.Getpid()) && port < 0x80000000 {
		t.Fatalf("port id %d: want our pid or a negative autobind id", port)
	}
	second, err := sock.Receive()
	if err != nil || len(second) != 1 {
		t.Fatalf("ack datagram %+v %v", second, err)
	}
	ack := second[0]
	if ack.Header.Type != netlink.Error || ack.Header.Flags != netlink.Capped || ack.Header.Sequence != 77 || ack.Header.PID != port {
		t.Fatalf("ack header %+v", ack.Header)
	}
	if len(ack.Data) != 20 || binary.NativeEndian.Uint32(ack.Data) != 0 ||
		binary.NativeEndian.Uint32(ack.Data[12:]) != 77 || binary.NativeEndian.Uint32(ack.Data[16:]) != 1234 {
		t.Fatalf("ack payload % x", ack.Data)
	}
}

func TestNACK(t *testing.T) {
	h := &fakeHandler{}
	s := startServer(t, server.Config{}, h)
	c := dial(t, s)
	_, err := c.Do(&genl.Message{Cmd: genl.CmdDetach, Minor: 0})
	var oe *netlink.OpError
	if !errors.Is(err, syscall.ENODEV) || !errors.As(err, &oe) {
		t.Fatalf("detach: %v", err)
	}
	// the genl core's own refusals
	cases := []struct {
		name string
		m    *genl.Message
		want syscall.Errno
	}{
		{"unknown command", &genl.Message{Cmd: 3}, syscall.EOPNOTSUPP},
		{"notification sent as request", &genl.Message{Cmd: genl.CmdEvent}, syscall.EOPNOTSUPP},
		{"doit on a dump-only op", &genl.Message{Cmd: genl.CmdGetResources}, syscall.EOPNOTSUPP},
		{"bad cfg context", &genl.Message{Cmd: genl.CmdNewMinor, Attrs: []genl.Attr{{Type: uint16(genl.TLACfgContext) | genl.NestedFlag, Raw: []byte{5, 0, 0x40 | 0, 0x40, 1, 0, 0, 0}}}}, syscall.EOPNOTSUPP},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.Do(tc.m); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if err := c.Dump(&genl.Message{Cmd: genl.CmdNewMinor}, func(*genl.Message) error { return nil }); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Fatalf("dump on doit-only op: %v", err)
	}

	// raw: the NACK echoes the whole request; short and mis-addressed messages
	sock := rawSocket(t, s)
	body := []byte{byte(genl.CmdDetach), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	raw := []struct {
		name string
		typ  netlink.HeaderType
		data []byte
		want syscall.Errno
	}{
		{"handler errno", genl.FamilyID, body, syscall.ENODEV},
		{"short drbd header", genl.FamilyID, body[:8], syscall.EINVAL},
		{"unknown family id", 0x7777, body, syscall.ENOENT},
		{"set without NLA_F_NESTED", genl.FamilyID, append(append([]byte{}, body...), 4, 0, 3, 0), syscall.EINVAL},
		{"set of 2 bytes", genl.FamilyID, append(append([]byte{}, body...), 6, 0, 3, 0x80, 0, 0, 0, 0), syscall.ERANGE},
		{"top-level attribute 14", genl.FamilyID, append(append([]byte{}, body...), 4, 0, 14, 0x80), syscall.EINVAL},
		{"bytes left over", genl.FamilyID, append(append([]byte{}, body...), 1, 0, 0, 0), syscall.EINVAL},
	}
	for i, tc := range raw {
		d := append([]byte(nil), tc.data...)
		for len(d)%4 != 0 {
			d = append(d, 0)
		}
		if err := sock.Send(netlink.Message{Header: netlink.Header{Length: uint32(16 + len(d)), Type: tc.typ,
			Flags: netlink.Request, Sequence: uint32(100 + i)}, Data: d}); err != nil {
			t.Fatal(err)
		}
		ms, err := sock.Receive()
		if err != nil || len(ms) != 1 || ms[0].Header.Type != netlink.Error || ms[0].Header.Flags != 0 {
			t.Fatalf("%s: %+v %v", tc.name, ms, err)
		}
		e := syscall.Errno(-int32(binary.NativeEndian.Uint32(ms[0].Data)))
		if e != tc.want || len(ms[0].Data) != 4+16+len(d) {
			t.Fatalf("%s: errno %v (%d bytes), want %v echoing %d", tc.name, e, len(ms[0].Data), tc.want, 16+len(d))
		}
	}
}

func TestMandatoryTagReply(t *testing.T) {
	s := startServer(t, server.Config{}, &fakeHandler{})
	c := dial(t, s)
	// attach with an unknown mandatory disk option: ERR_MANDATORY_TAG + text
	m := &genl.Message{Cmd: genl.CmdAttach, Minor: 1}
	m.Add(&genl.CfgContext{Present: 1 << genl.CfgContextCtxVolume})
	m.Attrs = append(m.Attrs, genl.Attr{Type: uint16(genl.TLADiskConf) | genl.NestedFlag, Raw: []byte{8, 0, 0x1f, 0x40, 1, 0, 0, 0}})
	reply, err := c.Do(m)
	if err != nil {
		t.Fatal(err)
	}
	if reply.RetCode() != genl.ErrMandatoryTag || !cmp.Equal(reply.Infos(), []string{"unknown mandatory attribute"}) {
		t.Fatalf("reply %d %q", reply.RetCode(), reply.Infos())
	}
	// the same option without the mandatory bit is ignored
	m.Attrs[1].Raw = []byte{8, 0, 0x1f, 0, 1, 0, 0, 0}
	if reply, err = c.Do(m); err != nil || reply.RetCode() != genl.NoError {
		t.Fatalf("optional unknown: %v %v", reply, err)
	}
}

func TestDumpSpansDatagrams(t *testing.T) {
	h := &fakeHandler{dumpN: 40}
	s := startServer(t, server.Config{}, h)
	c := dial(t, s)
	var got []string
	err := c.Dump(&genl.Message{Cmd: genl.CmdGetResources, Minor: genl.MinorNone}, func(m *genl.Message) error {
		cc, err := genl.Get[*genl.CfgContext](m)
		if err != nil || m.Cmd != genl.CmdGetResources {
			return fmt.Errorf("message %+v: %v", m, err)
		}
		got = append(got, cc.CtxResourceName)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 40 || got[0] != "resource-000" || got[39] != "resource-039" {
		t.Fatalf("dump: %d %v", len(got), got)
	}

	// raw: one message per datagram, NLM_F_MULTI, DONE last and alone
	sock := rawSocket(t, s)
	b, _ := (&genl.Message{Cmd: genl.CmdGetResources, Version: 1}).MarshalBinary()
	if err := sock.Send(netlink.Message{Header: netlink.Header{Length: uint32(16 + len(b)), Type: genl.FamilyID,
		Flags: netlink.Request | netlink.Dump, Sequence: 9}, Data: b}); err != nil {
		t.Fatal(err)
	}
	var datagrams, msgs int
	for done := false; !done; {
		ms, err := sock.Receive()
		if err != nil {
			t.Fatal(err)
		}
		datagrams++
		size := 0
		for _, m := range ms {
			size += int(m.Header.Length+3) &^ 3
			if m.Header.Flags != netlink.Multi || m.Header.Sequence != 9 {
				t.Fatalf("dump message header %+v", m.Header)
			}
			if m.Header.Type == netlink.Done {
				done = true
				if len(m.Data) != 4 || binary.NativeEndian.Uint32(m.Data) != 0 {
					t.Fatalf("done payload % x", m.Data)
				}
			} else {
				msgs++
			}
		}
		if len(ms) != 1 {
			t.Fatalf("datagram of %d messages, want one, as the kernel sends drbd dumps", len(ms))
		}
		_ = size
	}
	if datagrams != 41 || msgs != 40 {
		t.Fatalf("%d datagrams, %d messages", datagrams, msgs)
	}

	// a failing dump ends with the errno in NLMSG_DONE
	if err := c.Dump(&genl.Message{Cmd: genl.CmdGetResources, Minor: 666}, func(*genl.Message) error { return nil }); !errors.Is(err, syscall.EIO) {
		t.Fatalf("failing dump: %v", err)
	}
}

func TestEventsToTwoSubscribers(t *testing.T) {
	h := &fakeHandler{}
	s := startServer(t, server.Config{}, h)
	sub1, sub2, other := dial(t, s), dial(t, s), dial(t, s)
	for _, c := range []*client.Client{sub1, sub2} {
		if err := c.JoinEvents(); err != nil {
			t.Fatal(err)
		}
	}
	ri := &genl.ResourceInfo{ResRole: 1}
	ri.Present = genl.AllFields(ri)
	ev := &genl.Message{Cmd: genl.CmdResourceState, Version: 1, Minor: genl.MinorNone}
	ev.SetRetCode(genl.NoError)
	ev.Add(ctx("r0"), &genl.NotificationHeader{NHType: genl.NotifyCreate, Present: 1 << genl.NotificationHeaderNHType})
	ev.Attrs = append(ev.Attrs, genl.Kernel(ri))
	if err := s.Multicast(3, ev); err != nil {
		t.Fatal(err)
	}
	if err := s.Multicast(4, ev); err != nil {
		t.Fatal(err)
	}
	want, _ := ev.MarshalBinary()
	for i, c := range []*client.Client{sub1, sub2} {
		var seqs []uint32
		for len(seqs) < 2 {
			evs, err := c.ReceiveEvents()
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				seqs = append(seqs, e.Seq)
				got, _ := e.Msg.MarshalBinary()
				if !cmp.Equal(got, want) {
					t.Fatalf("subscriber %d: event bytes differ", i)
				}
			}
		}
		if !cmp.Equal(seqs, []uint32{3, 4}) {
			t.Fatalf("subscriber %d: seqs %v", i, seqs)
		}
	}
	// the non-member gets nothing: after a first round trip (so the server
	// has surely registered the connection) and another multicast, the next
	// thing it reads is the reply to its next request
	sock := rawSocket(t, s)
	_ = other
	b, _ := (&genl.Message{Cmd: genl.CmdSuspendIO, Version: 1}).MarshalBinary()
	for seq := uint32(1); seq <= 2; seq++ {
		if seq == 2 {
			if err := s.Multicast(5, ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := sock.Send(netlink.Message{Header: netlink.Header{Length: uint32(16 + len(b)), Type: genl.FamilyID,
			Flags: netlink.Request | netlink.Acknowledge, Sequence: seq}, Data: b}); err != nil {
			t.Fatal(err)
		}
		ms, err := sock.Receive()
		if err != nil || len(ms) != 1 || ms[0].Header.Type != netlink.Error || ms[0].Header.Sequence != seq {
			t.Fatalf("non-member read %+v %v", ms, err)
		}
	}
	// members see event 5 after the earlier ones; one that leaves stops getting them
	for _, c := range []*client.Client{sub1, sub2} {
		if evs, err := c.ReceiveEvents(); err != nil || evs[0].Seq != 5 {
			t.Fatalf("event 5: %+v %v", evs, err)
		}
	}
	if err := sub2.LeaveEvents(); err != nil {
		t.Fatal(err)
	}
	if err := s.Multicast(6, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := sub2.Do(&genl.Message{Cmd: genl.CmdSuspendIO}); err != nil || sub2.Buffered() != 0 {
		t.Fatalf("after leaving: %v, %d events buffered", err, sub2.Buffered())
	}
	if _, err := sub1.Do(&genl.Message{Cmd: genl.CmdSuspendIO}); err != nil || sub1.Buffered() != 1 {
		t.Fatalf("member: %v, %d events buffered", err, sub1.Buffered())
	}
	if evs, err := sub1.ReceiveEvents(); err != nil || evs[0].Seq != 6 {
		t.Fatalf("event 6 from backlog: %+v %v", evs, err)
	}
}

// TestPermissions uses the injectable check: a non-admin caller gets EPERM
// for a state change (the handler never sees it) and a correct, stripped
// reply for status.
func TestPermissions(t *testing.T) {
	h := &fakeHandler{dumpN: 2}
	s := startServer(t, server.Config{Authorize: func(server.Creds) bool { return false }}, h)
	c := dial(t, s)
	if _, err := c.Do(&genl.Message{Cmd: genl.CmdPrimary, Minor: 0}); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("primary as non-admin: %v", err)
	}
	reply, err := c.Do(&genl.Message{Cmd: genl.CmdGetStatus, Minor: 0})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := genl.Get[*genl.NetConf](reply)
	if err != nil || nc == nil || nc.Present.Has(genl.NetConfSharedSecret) || nc.Timeout != 60 {
		t.Fatalf("status net conf %+v %v", nc, err)
	}
	if err := c.Dump(&genl.Message{Cmd: genl.CmdGetInitialState}, func(*genl.Message) error { return nil }); err != nil {
		t.Fatalf("dump as non-admin: %v", err)
	}
	if d := cmp.Diff([]genl.Cmd{genl.CmdGetStatus, genl.CmdGetInitialState}, h.seen()); d != "" {
		t.Fatalf("handler calls (-want +got)\n%s", d)
	}

	// the default check: root (this test's uid 0, or not) and admin groups
	if !server.IsAdmin(server.Creds{UID: 0}, nil) || server.IsAdmin(server.Creds{UID: 1000, GID: 1000}, nil) ||
		!server.IsAdmin(server.Creds{UID: 1000, GID: 1000, Groups: []uint32{27}}, []uint32{27}) ||
		!server.IsAdmin(server.Creds{UID: 1000, GID: 27}, []uint32{27}) {
		t.Fatal("IsAdmin")
	}
}

var _ = cmpopts.EquateEmpty
