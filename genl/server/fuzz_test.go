package server

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/mdlayher/netlink"

	"udrbd/genl"
)

type echoHandler struct{}

func (echoHandler) Do(_ context.Context, r *Request) (*genl.Message, error) {
	reply := &genl.Message{Minor: r.Msg.Minor}
	if a := r.Msg.Find(genl.TLACfgContext); a != nil && a.Err == nil {
		reply.Attrs = append(reply.Attrs, genl.ClearMandatory(*a))
	}
	return reply, nil
}

func (echoHandler) Dump(_ context.Context, r *Request, emit func(*genl.Message) error) error {
	for i := 0; i < int(r.Msg.Minor%8); i++ {
		if err := emit(&genl.Message{Minor: uint32(i)}); err != nil {
			return err
		}
	}
	return nil
}

func seedDatagrams() [][]byte {
	req, _ := (&genl.Message{Cmd: genl.CmdNewResource, Version: 1, Minor: genl.MinorNone,
		Attrs: []genl.Attr{genl.Tagged(&genl.CfgContext{CtxResourceName: "r0", Present: 1 << 2})}}).MarshalBinary()
	dump, _ := (&genl.Message{Cmd: genl.CmdGetResources, Version: 1, Minor: 5}).MarshalBinary()
	ae := netlink.NewAttributeEncoder()
	ae.String(genl.CtrlAttrFamilyNm, genl.FamilyName)
	ctrl, _ := ae.Encode()
	one := appendMessage(nil, netlink.Header{Type: genl.FamilyID, Flags: netlink.Request | netlink.Acknowledge, Sequence: 1}, req)
	two := appendMessage(one, netlink.Header{Type: genl.FamilyID, Flags: netlink.Request | netlink.Dump, Sequence: 2}, dump)
	three := appendMessage(nil, netlink.Header{Type: genl.GenlIDCtrl, Flags: netlink.Request, Sequence: 3},
		append([]byte{genl.CtrlCmdGetFamily, 1, 0, 0}, ctrl...))
	join := appendMessage(nil, netlink.Header{Type: genl.MsgJoinGroup, Flags: netlink.Request | netlink.Acknowledge, Sequence: 4},
		binary.NativeEndian.AppendUint32(nil, genl.EventsGroupID))
	return [][]byte{one, two, three, join}
}

// FuzzHandle feeds arbitrary datagrams through the framing and dispatch
// code: no panic, every reply datagram is a well-formed run of netlink
// messages answering a sequence number that was asked.
func FuzzHandle(f *testing.F) {
	for _, b := range seedDatagrams() {
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, dg []byte, admin bool) {
		s := &Server{cfg: Config{MaxDatagram: 256}, h: echoHandler{}, ctx: context.Background()}
		c := &conn{s: s, admin: admin, portid: 42, out: make(chan []byte, 10*len(dg)/16+16), done: make(chan struct{})}
		asked := map[uint32]bool{}
		for _, m := range splitDatagram(dg) {
			asked[m.Header.Sequence] = true
			c.handle(m)
		}
		close(c.done)
		for {
			select {
			case out := <-c.out:
				total := 0
				for _, m := range splitDatagram(out) {
					total += nlmsgAlign(int(m.Header.Length))
					if !asked[m.Header.Sequence] || m.Header.PID != 42 {
						t.Fatalf("reply %+v answers nothing asked", m.Header)
					}
				}
				if total != len(out) {
					t.Fatalf("reply datagram of %d bytes holds %d bytes of messages", len(out), total)
				}
			default:
				return
			}
		}
	})
}

// FuzzSplitDatagram checks the nlmsghdr walker against its contract.
func FuzzSplitDatagram(f *testing.F) {
	for _, b := range seedDatagrams() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, dg []byte) {
		off := 0
		for _, m := range splitDatagram(dg) {
			l := int(m.Header.Length)
			if l < nlmsgHeaderLen || off+l > len(dg) || len(m.Data) != l-nlmsgHeaderLen {
				t.Fatalf("bad message at %d: %+v", off, m.Header)
			}
			off += min(nlmsgAlign(l), len(dg)-off)
		}
	})
}
