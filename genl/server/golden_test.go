package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mdlayher/netlink"

	"udrbd/genl"
	"udrbd/genl/client"
	"udrbd/genl/internal/golden"
	"udrbd/genl/server"
)

// replay answers each request with what the kernel answered to the request
// with the same sequence number in a golden trace.
type replay struct {
	fam     uint16
	replies map[uint32][]golden.Msg // kernel messages by sequence number
}

func (h *replay) drbdReplies(seq uint32) ([]*genl.Message, syscall.Errno) {
	var out []*genl.Message
	var errno syscall.Errno
	for _, m := range h.replies[seq] {
		switch {
		case m.Type == h.fam:
			gm := new(genl.Message)
			if err := gm.UnmarshalBinary(m.Payload); err != nil {
				panic(err)
			}
			out = append(out, gm)
		case m.Type == uint16(netlink.Error) || m.Type == uint16(netlink.Done):
			errno = syscall.Errno(-int32(binary.NativeEndian.Uint32(m.Payload)))
		}
	}
	return out, errno
}

func (h *replay) Do(_ context.Context, r *server.Request) (*genl.Message, error) {
	ms, errno := h.drbdReplies(r.Header.Sequence)
	if errno != 0 {
		return nil, errno
	}
	if len(ms) == 0 {
		return nil, nil
	}
	return ms[0], nil
}

func (h *replay) Dump(_ context.Context, r *server.Request, emit func(*genl.Message) error) error {
	ms, errno := h.drbdReplies(r.Header.Sequence)
	for _, m := range ms {
		if err := emit(m); err != nil {
			return err
		}
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// normalize rewrites the family id and clears port ids in a datagram, also
// in the request header a NACK echoes.
func normalize(dg []byte, fam uint16) []byte {
	b := append([]byte(nil), dg...)
	for off := 0; off+16 <= len(b); {
		l := int(binary.NativeEndian.Uint32(b[off:]))
		if binary.NativeEndian.Uint16(b[off+4:]) == fam {
			binary.NativeEndian.PutUint16(b[off+4:], genl.FamilyID)
		}
		binary.NativeEndian.PutUint32(b[off+12:], 0)
		if binary.NativeEndian.Uint16(b[off+4:]) == uint16(netlink.Error) && l >= 36 {
			echo := off + 20
			if binary.NativeEndian.Uint16(b[echo+4:]) == fam {
				binary.NativeEndian.PutUint16(b[echo+4:], genl.FamilyID)
			}
		}
		if l < 16 {
			break
		}
		off += (l + 3) &^ 3
	}
	return b
}

// TestGoldenReplay sends every request stock drbdsetup-84 sent to the
// kernel, byte for byte, to the server, whose handler answers with the
// kernel's recorded replies; the datagrams that come back must equal the
// kernel's, framing included (reply and dump flags, one message per
// datagram, NLMSG_DONE, NACKs echoing the request, EPERM for nobody), up to
// the family id and port ids.
func TestGoldenReplay(t *testing.T) {
	trs, err := golden.LoadDir(filepath.Join("..", "testdata", "golden"))
	if err != nil || len(trs) == 0 {
		t.Fatalf("golden traces: %v", err)
	}
	requests := 0
	for _, tr := range trs {
		msgs, err := tr.Messages()
		if err != nil {
			t.Fatal(err)
		}
		fam := golden.FamilyID(msgs)
		h := &replay{fam: fam, replies: map[uint32][]golden.Msg{}}
		var reqs []golden.Msg
		for _, m := range msgs {
			if m.Out && m.Type == fam {
				reqs = append(reqs, m)
			} else if !m.Out {
				h.replies[m.Seq] = append(h.replies[m.Seq], m)
			}
		}
		if len(reqs) == 0 {
			continue
		}
		nonroot := strings.HasSuffix(tr.Name, "-nonroot")
		s := startServer(t, server.Config{Authorize: func(server.Creds) bool { return !nonroot }}, h)
		sock := rawSocket(t, s)
		for _, req := range reqs {
			requests++
			// the kernel's datagrams for this request, in order
			var want [][]byte
			lastDg := -1
			for _, m := range h.replies[req.Seq] {
				if m.Datagram != lastDg {
					want = append(want, tr.Datagrams[m.Datagram].Data)
					lastDg = m.Datagram
				}
			}
			if len(want) == 0 {
				t.Fatalf("%s: request seq %d has no recorded answer", tr.Name, req.Seq)
			}
			if err := sock.Send(netlink.Message{Header: netlink.Header{Length: uint32(16 + len(req.Payload)),
				Type: genl.FamilyID, Flags: netlink.HeaderFlags(req.Flags), Sequence: req.Seq, PID: req.PID},
				Data: req.Payload}); err != nil {
				t.Fatal(err)
			}
			for i, w := range want {
				got, err := receiveDatagram(sock)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(normalize(got, genl.FamilyID), normalize(w, fam)) {
					t.Errorf("%s: request seq %d, datagram %d:\n got %x\nwant %x", tr.Name, req.Seq, i, got, w)
				}
				// port ids: the kernel puts the caller's (here: drbdsetup's pid) or 0
				if len(got) >= 16 && len(w) >= 16 {
					kpid, gpid := binary.NativeEndian.Uint32(w[12:]), binary.NativeEndian.Uint32(got[12:])
					if (kpid == 0) != (gpid == 0) || kpid != 0 && kpid != req.PID {
						t.Errorf("%s: seq %d datagram %d: port id %d, kernel %d (request %d)", tr.Name, req.Seq, i, gpid, kpid, req.PID)
					}
				}
			}
			if strings.HasPrefix(tr.Name, "events2") {
				// drbdsetup stops reading after INITIAL_STATE_DONE; nothing more to compare
				break
			}
		}
	}
	if requests < 20 {
		t.Fatalf("only %d requests replayed", requests)
	}
	t.Logf("%d requests replayed", requests)
}

// receiveDatagram reads one datagram and re-assembles its bytes.
func receiveDatagram(sock *client.Socket) ([]byte, error) {
	ms, err := sock.Receive()
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, m := range ms {
		m.Header.Length = uint32(16 + len(m.Data))
		pad := (4 - len(m.Data)%4) % 4
		m.Data = append(m.Data, make([]byte, pad)...)
		m.Header.Length = uint32(16 + len(m.Data) - pad)
		b := make([]byte, 16, 16+len(m.Data))
		binary.NativeEndian.PutUint32(b[0:], m.Header.Length)
		binary.NativeEndian.PutUint16(b[4:], uint16(m.Header.Type))
		binary.NativeEndian.PutUint16(b[6:], uint16(m.Header.Flags))
		binary.NativeEndian.PutUint32(b[8:], m.Header.Sequence)
		binary.NativeEndian.PutUint32(b[12:], m.Header.PID)
		out = append(out, append(b, m.Data...)...)
	}
	return out, nil
}

// TestGoldenFamily compares the nlctrl answer with the kernel's, recorded in
// every golden trace: identical bytes once the kernel's dynamic family and
// group ids are replaced by udrbd's; and the answer to drbdsetup's own
// GETFAMILY request, replayed, is framed as the kernel's.
func TestGoldenFamily(t *testing.T) {
	trs, err := golden.LoadDir(filepath.Join("..", "testdata", "golden"))
	if err != nil || len(trs) == 0 {
		t.Fatalf("golden traces: %v", err)
	}
	msgs, err := trs[0].Messages()
	if err != nil {
		t.Fatal(err)
	}
	var req, reply *golden.Msg
	for i := range msgs {
		if msgs[i].Type == genl.GenlIDCtrl {
			if msgs[i].Out && req == nil {
				req = &msgs[i]
			} else if !msgs[i].Out && reply == nil {
				reply = &msgs[i]
			}
		}
	}
	if req == nil || reply == nil {
		t.Fatal("no nlctrl exchange in the first trace")
	}
	fam := golden.FamilyID(msgs)
	// the kernel's group id: CTRL_ATTR_MCAST_GROUPS > nest 1 > CTRL_ATTR_MCAST_GRP_ID
	want := append([]byte(nil), reply.Payload...)
	var grp uint32
	walk(want[4:], func(typ uint16, data []byte) {
		switch typ {
		case genl.CtrlAttrFamilyID:
			binary.NativeEndian.PutUint16(data, genl.FamilyID)
		case genl.CtrlAttrMcastGrps:
			walk(data, func(_ uint16, g []byte) {
				walk(g, func(typ uint16, v []byte) {
					if typ == genl.CtrlAttrMcGrpID {
						grp = binary.NativeEndian.Uint32(v)
						binary.NativeEndian.PutUint32(v, genl.EventsGroupID)
					}
				})
			})
		}
	})
	if fam == 0 || grp == 0 {
		t.Fatalf("kernel family id %#x, group id %#x", fam, grp)
	}
	got, err := server.FamilyMessage()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("CTRL_CMD_NEWFAMILY differs from the kernel's:\n got %x\nwant %x", got, want)
	}

	// drbdsetup's request, replayed against the server
	s := startServer(t, server.Config{}, &fakeHandler{})
	sock := rawSocket(t, s)
	if err := sock.Send(netlink.Message{Header: netlink.Header{Length: uint32(16 + len(req.Payload)), Type: genl.GenlIDCtrl,
		Flags: netlink.HeaderFlags(req.Flags), Sequence: req.Seq, PID: req.PID}, Data: req.Payload}); err != nil {
		t.Fatal(err)
	}
	dg, err := receiveDatagram(sock)
	if err != nil {
		t.Fatal(err)
	}
	if len(dg) != 16+len(want) || !bytes.Equal(dg[16:], want) || binary.NativeEndian.Uint16(dg[4:]) != genl.GenlIDCtrl ||
		binary.NativeEndian.Uint16(dg[6:]) != reply.Flags || binary.NativeEndian.Uint32(dg[8:]) != req.Seq {
		t.Fatalf("replayed GETFAMILY answer %x", dg)
	}
}

// walk calls fn for each attribute in b (type without flag bits, payload).
func walk(b []byte, fn func(uint16, []byte)) {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			return
		}
		fn(binary.NativeEndian.Uint16(b[2:])&genl.TypeMask, b[4:l])
		b = b[min((l+3)&^3, len(b)):]
	}
}
