// Package golden reads the golden traces in genl/testdata/golden: strace
// output (-xx, hex dumps of fd 3) of stock drbdsetup-84 talking to the
// kernel's drbd 8.4.11 genl family in the test VM, recorded by
// genl/testdata/golden/capture. It is shared by the tests of genl and
// genl/server.
package golden

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Datagram is one datagram on the netlink socket.
type Datagram struct {
	Out  bool // sent by drbdsetup (a request); else received from the kernel
	Data []byte
	Line int
}

// Msg is one netlink message of a golden datagram.
type Msg struct {
	Out                bool
	Type, Flags        uint16
	Seq, PID           uint32
	Payload            []byte
	Datagram, Position int
}

type Trace struct {
	Name      string
	RC        int
	Cmd       string
	Datagrams []Datagram
}

var (
	reBegin   = regexp.MustCompile(`^GOLDEN-BEGIN (\S+) rc=(\d+) cmd=(.*)$`)
	reSocket  = regexp.MustCompile(`^\d+\s+socket\(AF_NETLINK, .*\) = (\d+)$`)
	reSockUnf = regexp.MustCompile(`^(\d+)\s+socket\(AF_NETLINK, .*<unfinished \.\.\.>$`)
	reSockRes = regexp.MustCompile(`^(\d+)\s+<\.\.\. socket resumed>.*= (\d+)$`)
	reSyscall = regexp.MustCompile(`^\d+\s+(sendmsg|recvmsg|sendto|recvfrom|write|read|writev|readv)\((\d+), (.*) = (-?\d+)`)
)

func Parse(path string) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := &Trace{}
	nlfds := map[string]bool{}       // netlink socket fds
	pendingSock := map[string]bool{} // pids in an unfinished socket(AF_NETLINK) call
	var cur *Datagram
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
			cur = &Datagram{Out: out, Line: line}
		}
	}
	flush()
	return tr, sc.Err()
}

func (d Datagram) messages(di int) ([]Msg, error) {
	var out []Msg
	b := d.Data
	for pos := 0; len(b) > 0; pos++ {
		if len(b) < 16 {
			return nil, fmt.Errorf("datagram %d: %d stray bytes", di, len(b))
		}
		l := int(binary.NativeEndian.Uint32(b))
		if l < 16 || l > len(b) {
			return nil, fmt.Errorf("datagram %d: bad nlmsg_len %d", di, l)
		}
		out = append(out, Msg{Out: d.Out, Type: binary.NativeEndian.Uint16(b[4:]),
			Flags: binary.NativeEndian.Uint16(b[6:]), Seq: binary.NativeEndian.Uint32(b[8:]),
			PID: binary.NativeEndian.Uint32(b[12:]), Payload: b[16:l], Datagram: di, Position: pos})
		b = b[min((l+3)&^3, len(b)):]
	}
	return out, nil
}

// Messages returns the netlink messages of every datagram, in order.
func (tr *Trace) Messages() ([]Msg, error) {
	var out []Msg
	for i, d := range tr.Datagrams {
		ms, err := d.messages(i)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tr.Name, err)
		}
		out = append(out, ms...)
	}
	return out, nil
}

// LoadDir parses every *.trace in dir, sorted by name.
func LoadDir(dir string) ([]*Trace, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.trace"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []*Trace
	for _, p := range paths {
		tr, err := Parse(p)
		if err != nil {
			return nil, err
		}
		out = append(out, tr)
	}
	return out, nil
}

const (
	genlIDCtrl       = 0x10
	ctrlAttrFamilyID = 1
)

// FamilyID returns the drbd family id from the trace's nlctrl reply, or 0.
func FamilyID(msgs []Msg) uint16 {
	for _, m := range msgs {
		if m.Out || m.Type != genlIDCtrl || len(m.Payload) < 4 {
			continue
		}
		b := m.Payload[4:]
		for len(b) >= 4 {
			l := int(binary.NativeEndian.Uint16(b))
			if l < 4 || l > len(b) {
				break
			}
			if binary.NativeEndian.Uint16(b[2:])&0x3fff == ctrlAttrFamilyID && l >= 6 {
				return binary.NativeEndian.Uint16(b[4:])
			}
			b = b[min((l+3)&^3, len(b)):]
		}
	}
	return 0
}
