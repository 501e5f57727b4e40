package genl

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"udrbd/genl/internal/golden"
)

// The golden traces in testdata/golden are strace output of stock
// drbdsetup-84 (drbd-utils) talking to the kernel's drbd 8.4.11 family in
// the test VM (recorded by testdata/golden/capture). Every netlink datagram
// on the netlink socket is in them as a hex dump.

type goldenMsg = golden.Msg

func loadGolden(t *testing.T) map[string][]goldenMsg {
	t.Helper()
	trs, err := golden.LoadDir(filepath.Join("testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	if len(trs) == 0 {
		t.Fatal("no golden traces: run genl/testdata/golden/capture")
	}
	out := map[string][]goldenMsg{}
	for _, tr := range trs {
		msgs, err := tr.Messages()
		if err != nil {
			t.Fatal(err)
		}
		out[tr.Name] = msgs
	}
	return out
}

// goldenDrbd returns the decoded drbd messages of one trace, in order.
func goldenDrbd(t *testing.T, name string, msgs []goldenMsg) ([]goldenMsg, []*Message) {
	t.Helper()
	fam := golden.FamilyID(msgs)
	if fam == 0 {
		t.Fatalf("%s: no CTRL_CMD_NEWFAMILY reply in trace", name)
	}
	var gm []goldenMsg
	var dm []*Message
	for _, m := range msgs {
		if m.Type != fam {
			continue
		}
		var d Message
		if err := d.UnmarshalBinary(m.Payload); err != nil {
			t.Fatalf("%s: datagram %d: %v", name, m.Datagram, err)
		}
		gm = append(gm, m)
		dm = append(dm, &d)
	}
	return gm, dm
}

// TestGoldenRoundTrip: every drbd message drbdsetup-84 sent and every one
// the kernel sent back decodes without error and re-encodes to identical bytes.
func TestGoldenRoundTrip(t *testing.T) {
	golden := loadGolden(t)
	names := make([]string, 0, len(golden))
	for n := range golden {
		names = append(names, n)
	}
	sort.Strings(names)
	total := 0
	for _, name := range names {
		gm, dm := goldenDrbd(t, name, golden[name])
		for i, m := range dm {
			for j, a := range m.Attrs {
				if a.Err != nil {
					t.Errorf("%s: message %d attr %d: %v", name, i, j, a.Err)
				}
				if a.Set == nil {
					t.Errorf("%s: message %d: unknown top-level attribute %#x", name, i, a.Type)
				}
			}
			b, err := m.MarshalBinary()
			if err != nil {
				t.Fatalf("%s: message %d: %v", name, i, err)
			}
			if !bytes.Equal(b, gm[i].Payload) {
				t.Errorf("%s: message %d (%v, out=%v) re-encodes differently:\n got %x\nwant %x", name, i, m.Cmd, gm[i].Out, b, gm[i].Payload)
			}
			total++
		}
	}
	t.Logf("%d drbd messages from %d traces round-tripped", total, len(names))
	if total < 20 {
		t.Fatalf("only %d drbd messages in the golden traces", total)
	}
}

// findGolden returns the i-th drbd message with the given direction and cmd.
func findGolden(t *testing.T, golden map[string][]goldenMsg, trace string, out bool, cmd Cmd, i int) (goldenMsg, *Message) {
	t.Helper()
	gm, dm := goldenDrbd(t, trace, golden[trace])
	n := 0
	for j := range dm {
		if gm[j].Out == out && dm[j].Cmd == cmd {
			if n == i {
				return gm[j], dm[j]
			}
			n++
		}
	}
	t.Fatalf("%s: no %v message #%d (out=%v)", trace, cmd, i, out)
	return goldenMsg{}, nil
}

func sockaddrIn(port uint16, ip [4]byte) []byte {
	return []byte{2, 0, byte(port >> 8), byte(port), ip[0], ip[1], ip[2], ip[3], 0, 0, 0, 0, 0, 0, 0, 0}
}

// TestGoldenValues checks that the recorded messages decode to what the
// command lines and the kernel's behaviour say they must hold.
func TestGoldenValues(t *testing.T) {
	g := loadGolden(t)
	fields := func(nrs ...uint16) Fields {
		var f Fields
		f.Add(nrs...)
		return f
	}
	wires := func(types ...uint16) []Wire {
		var w []Wire
		for _, t := range types {
			w = append(w, Wire{Type: t})
		}
		return w
	}

	// new-resource r0 --on-no-data-accessible=suspend-io
	hdr, m := findGolden(t, g, "new-resource", true, CmdNewResource, 0)
	if hdr.Flags != 1 || m.Version != 1 || m.Minor != MinorNone || m.Flags != 0 {
		t.Errorf("new-resource request header: nlmsg flags %#x, %+v", hdr.Flags, m)
	}
	cc, _ := Get[*CfgContext](m)
	ro, _ := Get[*ResOpts](m)
	if cc == nil || cc.CtxResourceName != "r0" || cc.Present != fields(CfgContextCtxResourceName) ||
		ro == nil || ro.OnNoData != 1 || ro.Present != fields(ResOptsOnNoData) {
		t.Errorf("new-resource request sets: %+v %+v", cc, ro)
	}
	// drbd-utils 9.22 nests with NLA_F_NESTED and tags fields with the mandatory bit
	if a := m.Find(TLACfgContext); a.Type != 0x8002 || !cmp.Equal(a.Layout, wires(0x4002)) {
		t.Errorf("new-resource request context attr %#x %v", a.Type, a.Layout)
	}
	_, m = findGolden(t, g, "new-resource", false, CmdNewResource, 0)
	// the reply copies the request's context with the mandatory bits cleared
	if a := m.Find(TLACfgContext); m.RetCode() != NoError || a == nil || a.Type != 0x8002 || !cmp.Equal(a.Layout, wires(2)) {
		t.Errorf("new-resource reply: rc %d attrs %+v", m.RetCode(), m.Attrs)
	}

	// new-minor r0 0 0: the minor travels in the header, name then volume in the context
	_, m = findGolden(t, g, "new-minor", true, CmdNewMinor, 0)
	cc, _ = Get[*CfgContext](m)
	if m.Minor != 0 || cc.CtxResourceName != "r0" || cc.CtxVolume != 0 || !cmp.Equal(m.Find(TLACfgContext).Layout, wires(0x4002, 0x4001)) {
		t.Errorf("new-minor request: %+v %+v", m, cc)
	}
	_, m = findGolden(t, g, "new-minor-diskless", true, CmdNewMinor, 0)
	if cc, _ = Get[*CfgContext](m); m.Minor != 1 || cc.CtxVolume != 1 {
		t.Errorf("new-minor 1 1: %+v", cc)
	}

	// attach with options: options first, in command-line order, then the positional args
	_, m = findGolden(t, g, "attach", true, CmdAttach, 0)
	dc, _ := Get[*DiskConf](m)
	want := &DiskConf{BackingDev: "/dev/loop0", MetaDev: "/dev/loop0", MetaDevIdx: -3, ResyncRate: 409600,
		CPlanAhead: 0, ALExtents: 3389, OnIOError: 2, DiskFlushes: false,
		Present: fields(DiskConfBackingDev, DiskConfMetaDev, DiskConfMetaDevIdx, DiskConfResyncRate,
			DiskConfCPlanAhead, DiskConfALExtents, DiskConfOnIOError, DiskConfDiskFlushes)}
	if d := cmp.Diff(want, dc, cmpSets); d != "" {
		t.Errorf("attach disk conf (-want +got)\n%s", d)
	}
	if l := m.Find(TLADiskConf).Layout; !cmp.Equal(l, wires(0x4008, 0x400b, 0x400a, 0x4006, 0x4011, 1, 2, 3)) {
		t.Errorf("attach layout %v", l)
	}
	if m.Minor != 0 || m.Find(TLACfgContext) != nil {
		t.Errorf("attach addresses the minor in the header only: %+v", m)
	}
	if _, m = findGolden(t, g, "attach", false, CmdAttach, 0); m.RetCode() != NoError {
		t.Errorf("attach rc %d", m.RetCode())
	}
	// attach to a disk without meta data: ERR_MD_INVALID (119)
	if _, m = findGolden(t, g, "attach-bad-md", false, CmdAttach, 0); m.RetCode() != 119 {
		t.Errorf("attach-bad-md rc %d", m.RetCode())
	}
	// primary without a disk: SS_NO_UP_TO_DATE_DISK (-2); primary --force: assume_uptodate, SS_SUCCESS (1)
	if _, m = findGolden(t, g, "primary-nodisk", false, CmdPrimary, 0); m.RetCode() != -2 || m.Minor != 1 {
		t.Errorf("primary-nodisk reply %+v", m)
	}
	_, m = findGolden(t, g, "primary", true, CmdPrimary, 0)
	if rp, _ := Get[*SetRoleParms](m); rp == nil || !rp.AssumeUptodate {
		t.Errorf("primary --force: %+v", rp)
	}
	if _, m = findGolden(t, g, "primary", false, CmdPrimary, 0); m.RetCode() != 1 {
		t.Errorf("primary rc %d", m.RetCode())
	}

	// connect with net options including the shared secret
	_, m = findGolden(t, g, "connect", true, CmdConnect, 0)
	cc, _ = Get[*CfgContext](m)
	nc, _ := Get[*NetConf](m)
	if cc.CtxResourceName != "r0" || !cmp.Equal(cc.CtxMyAddr, sockaddrIn(7789, [4]byte{127, 0, 0, 1})) ||
		!cmp.Equal(cc.CtxPeerAddr, sockaddrIn(7790, [4]byte{127, 0, 0, 1})) {
		t.Errorf("connect context %+v", cc)
	}
	if nc.SharedSecret != "geheim" || nc.WireProtocol != 3 || nc.MaxBuffers != 8000 || nc.PingTimeo != 10 ||
		nc.TwoPrimaries || !nc.Present.Has(NetConfTwoPrimaries) {
		t.Errorf("connect net conf %+v", nc)
	}

	// show: GET_STATUS dump; root sees the secret, nobody does not
	for _, tc := range []struct {
		trace  string
		secret bool
	}{{"show", true}, {"show-nonroot", false}} {
		hdr, m = findGolden(t, g, tc.trace, false, CmdGetStatus, 0)
		nc, _ = Get[*NetConf](m)
		dc, _ = Get[*DiskConf](m)
		si, _ := Get[*StateInfo](m)
		if hdr.Flags != 2 || m.RetCode() != NoError || nc == nil || nc.Present.Has(NetConfSharedSecret) != tc.secret ||
			tc.secret && nc.SharedSecret != "geheim" || nc.Timeout != 60 || dc.BackingDev != "/dev/loop0" || dc.ResyncAfter != -1 ||
			si == nil || si.SIBReason != SIBGetStatusReply {
			t.Errorf("%s reply: flags %#x %+v %+v", tc.trace, hdr.Flags, nc, si)
		}
		// the kernel's *_to_skb sets NLA_F_NESTED and puts bare field numbers
		if a := m.Find(TLANetConf); a.Type != 0x8005 || a.Layout[0].Type&MandatoryFlag != 0 {
			t.Errorf("%s net conf attr %#x", tc.trace, a.Type)
		}
	}

	// events2 --now: the initial state dump, one object per message, then INITIAL_STATE_DONE
	gm, dm := goldenDrbd(t, "events2", g["events2"])
	var cmds []Cmd
	for i, m := range dm {
		if !gm[i].Out {
			cmds = append(cmds, m.Cmd)
			if gm[i].Flags != 0 || gm[i].PID != 0 {
				t.Errorf("initial state message %d: nlmsg flags %#x pid %d", i, gm[i].Flags, gm[i].PID)
			}
		}
	}
	wantCmds := []Cmd{CmdResourceState, CmdConnectionState, CmdDeviceState, CmdPeerDeviceState,
		CmdResourceState, CmdConnectionState, CmdDeviceState, CmdPeerDeviceState, CmdInitialStateDone}
	if !cmp.Equal(cmds, wantCmds) {
		t.Errorf("events2 --now replies %v", cmds)
	}
	// the live stream: multicast messages, nlmsg_pid 0, flags 0; the old-style
	// DRBD_EVENT broadcasts and the events2 notifications each count their
	// own sequence numbers up, interleaved on the same group
	gm, dm = goldenDrbd(t, "events2-live", g["events2-live"])
	last := map[bool]uint32{}
	var destroys, v1 int
	for i, m := range dm {
		if gm[i].Out || gm[i].Seq == gm[0].Seq {
			continue // the request and its initial-state replies
		}
		v1event := m.Cmd == CmdEvent
		if gm[i].PID != 0 || gm[i].Flags != 0 || gm[i].Seq <= last[v1event] {
			t.Errorf("multicast %d (%v): pid %d flags %#x seq %d after %d", i, m.Cmd, gm[i].PID, gm[i].Flags, gm[i].Seq, last[v1event])
		}
		last[v1event] = gm[i].Seq
		if v1event {
			v1++
			if si, _ := Get[*StateInfo](m); si == nil || si.SIBReason != SIBStateChange {
				t.Errorf("DRBD_EVENT %d without a state change info: %+v", i, si)
			}
		}
		if nh, _ := Get[*NotificationHeader](m); nh != nil && nh.NHType&^NotifyContinues == NotifyDestroy {
			destroys++
		}
	}
	if v1 == 0 || destroys < 8 {
		t.Errorf("live events: %d DRBD_EVENTs, %d destroys", v1, destroys)
	}
}

// TestGoldenKernelEncoding: every set the kernel sent, rebuilt from its
// decoded value alone (no recorded layout), encodes to the kernel's bytes
// with AsKernel, so replies built from scratch by the daemon are exact.
// Request contexts the kernel copies back (NewReply) are checked against
// the request.
func TestGoldenKernelEncoding(t *testing.T) {
	g := loadGolden(t)
	checked := 0
	for name, msgs := range g {
		gm, dm := goldenDrbd(t, name, msgs)
		reqs := map[uint32]*Message{}
		for i, m := range dm {
			if gm[i].Out {
				reqs[gm[i].Seq] = m
				continue
			}
			var want Message
			want = *m
			if req := reqs[gm[i].Seq]; req != nil && gm[i].PID != 0 && gm[i].Flags == 0 {
				// a doit reply: built the way the kernel does from the request
				r := NewReply(req)
				r.Flags = m.Flags
				for _, a := range m.Attrs {
					if a.TLA() != TLACfgContext {
						r.Attrs = append(r.Attrs, AsKernel(a.Set))
					}
				}
				rebuilt, err := r.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(rebuilt, gm[i].Payload) {
					t.Errorf("%s: reply %d (%v) rebuilt with NewReply differs:\n got %x\nwant %x", name, i, m.Cmd, rebuilt, gm[i].Payload)
				}
				checked++
				continue
			}
			want.Attrs = nil
			for _, a := range m.Attrs {
				want.Attrs = append(want.Attrs, AsKernel(a.Set))
			}
			rebuilt, err := want.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rebuilt, gm[i].Payload) {
				t.Errorf("%s: message %d (%v) rebuilt with AsKernel differs:\n got %x\nwant %x", name, i, m.Cmd, rebuilt, gm[i].Payload)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("only %d kernel messages checked", checked)
	}
}

// TestGoldenProbeMessages round-trips the drbd messages of the kernel
// probes (testdata/golden/probes.txt): requests and replies decode and
// re-encode to identical bytes.
func TestGoldenProbeMessages(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "probes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var fam uint16
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || f[0] != "SEND" && f[0] != "RECV" {
			continue
		}
		dg, err := hex.DecodeString(f[1])
		if err != nil {
			t.Fatal(err)
		}
		for len(dg) >= 16 {
			l := int(binary.NativeEndian.Uint32(dg))
			typ := binary.NativeEndian.Uint16(dg[4:])
			if fam == 0 && typ == GenlIDCtrl && f[0] == "RECV" {
				fam = golden.FamilyID([]golden.Msg{{Type: typ, Payload: dg[16:l]}})
			}
			if typ == fam && fam != 0 {
				var m Message
				// requests the kernel's core refused are malformed on purpose
				refused := f[0] == "SEND" && ValidateRequest(dg[16:l]) != nil
				if err := m.UnmarshalBinary(dg[16:l]); err == nil && !refused {
					out, err := m.MarshalBinary()
					if err != nil || !bytes.Equal(out, dg[16:l]) {
						t.Errorf("%s message re-encodes differently: %v\n got %x\nwant %x", f[0], err, out, dg[16:l])
					}
					n++
				}
			}
			dg = dg[min((l+3)&^3, len(dg)):]
		}
	}
	if fam == 0 || n < 20 {
		t.Fatalf("family %#x, %d messages", fam, n)
	}
}
