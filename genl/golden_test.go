package genl

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The golden traces in testdata/golden are strace output of stock
// drbdsetup-84 (drbd-utils) talking to the kernel's drbd 8.4.11 family in
// the test VM (recorded by testdata/golden/capture). Every netlink datagram
// on the netlink socket is in them as a hex dump.

// goldenDatagram is one datagram on the netlink socket.
type goldenDatagram struct {
	Out  bool // sent by drbdsetup (a request); else received from the kernel
	Data []byte
	Line int
}

// goldenMsg is one netlink message of a golden datagram.
type goldenMsg struct {
	Out                bool
	Type, Flags        uint16
	Seq, PID           uint32
	Payload            []byte
	Datagram, Position int
}

type goldenTrace struct {
	Name      string
	RC        int
	Cmd       string
	Datagrams []goldenDatagram
}

var (
	reBegin   = regexp.MustCompile(`^GOLDEN-BEGIN (\S+) rc=(\d+) cmd=(.*)$`)
	reSocket  = regexp.MustCompile(`^\d+\s+socket\(AF_NETLINK, .*\) = (\d+)$`)
	reSockUnf = regexp.MustCompile(`^(\d+)\s+socket\(AF_NETLINK, .*<unfinished \.\.\.>$`)
	reSockRes = regexp.MustCompile(`^(\d+)\s+<\.\.\. socket resumed>.*= (\d+)$`)
	reSyscall = regexp.MustCompile(`^\d+\s+(sendmsg|recvmsg|sendto|recvfrom|write|read|writev|readv)\((\d+), (.*) = (-?\d+)`)
)

func parseGoldenTrace(path string) (*goldenTrace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := &goldenTrace{}
	nlfds := map[string]bool{}       // netlink socket fds
	pendingSock := map[string]bool{} // pids in an unfinished socket(AF_NETLINK) call
	var cur *goldenDatagram
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	line := 0
	flush := func() {
		if cur != nil && len(cur.Data) > 0 {
			tr.Datagrams = append(tr.Datagrams, *cur)
		}
		cur = nil
	}
	for sc.Scan() {
		line++
		s := sc.Text()
		if m := reBegin.FindStringSubmatch(s); m != nil {
			tr.Name, tr.Cmd = m[1], m[3]
			tr.RC, _ = strconv.Atoi(m[2])
			continue
		}
		if strings.HasPrefix(s, " | ") {
			if cur == nil {
				continue
			}
			if len(s) < 58 {
				return nil, fmt.Errorf("%s:%d: short dump line", path, line)
			}
			for _, h := range strings.Fields(s[10:58]) {
				b, err := hex.DecodeString(h)
				if err != nil || len(b) != 1 {
					return nil, fmt.Errorf("%s:%d: bad hex %q", path, line, h)
				}
				cur.Data = append(cur.Data, b[0])
			}
			continue
		}
		if strings.HasPrefix(s, " * ") {
			continue
		}
		flush()
		if m := reSocket.FindStringSubmatch(s); m != nil {
			nlfds[m[1]] = true
			continue
		}
		if m := reSockUnf.FindStringSubmatch(s); m != nil {
			pendingSock[m[1]] = true
			continue
		}
		if m := reSockRes.FindStringSubmatch(s); m != nil && pendingSock[m[1]] {
			nlfds[m[2]] = true
			continue
		}
		if m := reSyscall.FindStringSubmatch(s); m != nil && nlfds[m[2]] {
			if n, _ := strconv.Atoi(m[4]); n <= 0 || strings.Contains(m[3], "MSG_PEEK") {
				continue
			}
			out := strings.HasPrefix(m[1], "send") || strings.HasPrefix(m[1], "write")
			cur = &goldenDatagram{Out: out, Line: line}
		}
	}
	flush()
	return tr, sc.Err()
}

func (d goldenDatagram) messages(t testing.TB, di int) []goldenMsg {
	t.Helper()
	var out []goldenMsg
	b := d.Data
	for pos := 0; len(b) > 0; pos++ {
		if len(b) < 16 {
			t.Fatalf("datagram %d: %d stray bytes", di, len(b))
		}
		l := int(binary.NativeEndian.Uint32(b))
		if l < 16 || l > len(b) {
			t.Fatalf("datagram %d: bad nlmsg_len %d", di, l)
		}
		out = append(out, goldenMsg{Out: d.Out, Type: binary.NativeEndian.Uint16(b[4:]),
			Flags: binary.NativeEndian.Uint16(b[6:]), Seq: binary.NativeEndian.Uint32(b[8:]),
			PID: binary.NativeEndian.Uint32(b[12:]), Payload: b[16:l], Datagram: di, Position: pos})
		b = b[min((l+3)&^3, len(b)):]
	}
	return out
}

func loadGolden(t *testing.T) map[string][]goldenMsg {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "golden", "*.trace"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no golden traces: run genl/testdata/golden/capture")
	}
	out := map[string][]goldenMsg{}
	for _, p := range paths {
		tr, err := parseGoldenTrace(p)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []goldenMsg
		for i, d := range tr.Datagrams {
			msgs = append(msgs, d.messages(t, i)...)
		}
		out[tr.Name] = msgs
	}
	return out
}

// familyID finds the drbd family id in a trace's nlctrl reply.
func familyID(t *testing.T, name string, msgs []goldenMsg) uint16 {
	t.Helper()
	for _, m := range msgs {
		if m.Out || m.Type != GenlIDCtrl || len(m.Payload) < 4 {
			continue
		}
		b := m.Payload[4:]
		for n := splitAttrs(b); len(b) >= 4 && n > 0; {
			l := int(binary.NativeEndian.Uint16(b))
			if binary.NativeEndian.Uint16(b[2:]) == CtrlAttrFamilyID {
				return binary.NativeEndian.Uint16(b[4:])
			}
			b = b[min(nlaAlign(l), len(b)):]
			n -= nlaAlign(l)
		}
	}
	t.Fatalf("%s: no CTRL_CMD_NEWFAMILY reply in trace", name)
	return 0
}

// goldenDrbd returns the decoded drbd messages of one trace, in order.
func goldenDrbd(t *testing.T, name string, msgs []goldenMsg) ([]goldenMsg, []*Message) {
	t.Helper()
	fam := familyID(t, name, msgs)
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
