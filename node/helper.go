package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"udrbd/drbd"
	"udrbd/genl"
)

// Usermode helpers ("handlers"), as drbd_khelper and conn_khelper run
// them: the meta-data is written out first, the call is announced (events2
// "call helper", and for a device's helper the DRBD_EVENT SIB_HELPER_PRE),
// the program runs with the peer's address in its environment, and its
// wait status is logged and announced ("response helper",
// SIB_HELPER_POST). Callers get the exit code; a helper that could not be
// run, was killed by a signal or timed out counts as 0, as the kernel
// ignores the errnos of call_usermodehelper.

// DefaultUsermodeHelper is the kernel module's default usermode_helper.
const DefaultUsermodeHelper = "/sbin/drbdadm"

// DefaultHelperTimeout bounds a handler call unless Options say otherwise.
const DefaultHelperTimeout = 2 * time.Minute

// helperPath is the PATH the kernel gives its helpers; the daemon's own
// PATH comes first, so that drbdadm finds the drbdsetup beside it.
const helperPath = "/sbin:/usr/sbin:/bin:/usr/bin"

// runHelper is drbd_khelper: a device's handler, called as
// PROGRAM HANDLER minor-N.
func (n *Node) runHelper(m *Minor, name string) int {
	m.syncMD()
	arg := fmt.Sprintf("minor-%d", m.minor)
	n.multicast(&n.evSeq, n.helperEvent(m, genl.SIBHelperPre, name, 0))
	n.notifyHelper(m.res, m, name, genl.NotifyCall, 0)
	ret := n.execHelper(m.log, m.res, []*Minor{m}, name, arg)
	n.multicast(&n.evSeq, n.helperEvent(m, genl.SIBHelperPost, name, ret))
	n.notifyHelper(m.res, m, name, genl.NotifyResponse, ret)
	return helperExit(ret)
}

// runConnHelper is conn_khelper: a connection's handler (fence-peer,
// unfence-peer), called as PROGRAM HANDLER RESOURCE.
func (n *Node) runConnHelper(r *Resource, name string) int {
	n.mu.Lock()
	vols := r.sortedVols()
	n.mu.Unlock()
	for _, m := range vols {
		m.syncMD()
	}
	log := n.log.With("resource", r.name)
	n.notifyHelper(r, nil, name, genl.NotifyCall, 0)
	ret := n.execHelper(log, r, vols, name, r.name)
	n.notifyHelper(r, nil, name, genl.NotifyResponse, ret)
	return helperExit(ret)
}

// helperExit is what the callers of drbd_khelper read: the exit code of
// a wait status, 0 for an errno.
func helperExit(ret int32) int {
	if ret < 0 {
		return 0
	}
	return int(ret>>8) & 0xff
}

// execHelper runs the usermode helper and returns its wait status (exit
// code << 8 | signal), or a negative errno when it could not run.
func (n *Node) execHelper(log *slog.Logger, r *Resource, vols []*Minor, name, arg string) int32 {
	prog := n.opts.UsermodeHelper
	if prog == "" {
		log.Info(fmt.Sprintf("helper command: (none) %s %s: no usermode helper configured", name, arg))
		return 0
	}
	if !n.helperStart() {
		log.Info(fmt.Sprintf("helper command: %s %s %s not run: the daemon is stopping", prog, name, arg))
		return 0
	}
	defer n.helperDone()
	log.Info(fmt.Sprintf("helper command: %s %s %s", prog, name, arg))
	timeout := n.opts.HelperTimeout
	if timeout <= 0 {
		timeout = DefaultHelperTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, name, arg)
	cmd.Env = n.helperEnv(r, vols)
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	var ret int32
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		ret = -int32(unix.ETIME)
		log.Warn(fmt.Sprintf("helper command: %s %s %s timed out after %s and was killed", prog, name, arg, timeout))
	case errors.As(err, &ee):
		ret = int32(ee.Sys().(syscall.WaitStatus))
	case err != nil:
		var errno syscall.Errno
		if !errors.As(err, &errno) {
			errno = unix.ENOENT
		}
		ret = -int32(errno)
		log.Warn(fmt.Sprintf("helper command: %s %s %s could not run: %v", prog, name, arg, err))
	}
	if s := strings.TrimSpace(out.String()); s != "" {
		if len(s) > 4096 {
			s = s[:4096] + "..."
		}
		log.Info("helper output", "helper", name, "output", s)
	}
	msg := fmt.Sprintf("helper command: %s %s %s exit code %d (0x%x)", prog, name, arg, (ret>>8)&0xff, uint32(ret))
	if ret != 0 {
		log.Warn(msg)
	} else {
		log.Info(msg)
	}
	return ret
}

// helperEnv is the daemon's environment with the kernel's helper variables
// (DRBD_PEER_AF, DRBD_PEER_ADDRESS when the connection has addresses) and,
// for helper programs other than drbdadm (which sets them from drbd.conf),
// DRBD_RESOURCE, DRBD_MINOR and DRBD_VOLUME (space-separated lists for a
// connection's helper), DRBD_MY_AF and DRBD_MY_ADDRESS.
func (n *Node) helperEnv(r *Resource, vols []*Minor) []string {
	ours := []string{"HOME=/", "TERM=linux"}
	path := helperPath
	if p := os.Getenv("PATH"); p != "" {
		path = p + ":" + helperPath
	}
	ours = append(ours, "PATH="+path)
	n.mu.Lock()
	my, pa := r.myAddr, r.peerAddr
	n.mu.Unlock()
	if af, host, ok := helperAddr(pa); ok && len(my) > 0 {
		ours = append(ours, "DRBD_PEER_AF="+af, "DRBD_PEER_ADDRESS="+host)
	}
	if af, host, ok := helperAddr(my); ok {
		ours = append(ours, "DRBD_MY_AF="+af, "DRBD_MY_ADDRESS="+host)
	}
	var minors, volumes []string
	for _, m := range vols {
		minors = append(minors, fmt.Sprint(m.minor))
		volumes = append(volumes, fmt.Sprint(m.vol))
	}
	ours = append(ours, "DRBD_RESOURCE="+r.name, "DRBD_MINOR="+strings.Join(minors, " "),
		"DRBD_VOLUME="+strings.Join(volumes, " "))
	// the daemon's environment, without what we set or what would
	// describe another resource
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "HOME" || k == "TERM" || k == "PATH" || k == "DRBD_RESOURCE" || k == "DRBD_MINOR" ||
			k == "DRBD_VOLUME" || strings.HasPrefix(k, "DRBD_PEER") || strings.HasPrefix(k, "DRBD_MY_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, ours...)
}

// helperAddr is setup_khelper_env's view of a sockaddr: the family name
// and the address without its port.
func helperAddr(b []byte) (af, host string, ok bool) {
	if len(b) < 2 {
		return "", "", false
	}
	switch binary.NativeEndian.Uint16(b) {
	case unix.AF_INET:
		if len(b) >= 8 {
			return "ipv4", net.IP(b[4:8]).String(), true
		}
	case unix.AF_INET6:
		if len(b) >= 24 {
			return "ipv6", net.IP(b[8:24]).String(), true
		}
	}
	return "", "", false
}

// helperEvent is the DRBD_EVENT of a device's helper (SIB_HELPER_PRE or
// SIB_HELPER_POST with the wait status).
func (n *Node) helperEvent(m *Minor, reason uint32, name string, ret int32) *genl.Message {
	msg := n.statusMessage(m, genl.CmdEvent, reason, nil)
	for i := range msg.Attrs {
		si, ok := msg.Attrs[i].Set.(*genl.StateInfo)
		if !ok {
			continue
		}
		si.Helper = name
		si.Present.Add(genl.StateInfoHelper)
		if reason == genl.SIBHelperPost {
			si.HelperExitCode = uint32(ret)
			si.Present.Add(genl.StateInfoHelperExitCode)
		}
	}
	return msg
}

// syncMD writes out the meta-data of an attached disk (drbd_md_sync).
func (m *Minor) syncMD() {
	if !m.dev.GetLdevIfState(drbd.DFailed) {
		return
	}
	defer m.dev.PutLdev()
	if l := m.ld(); l != nil {
		_ = l.writeSuperblock()
	}
}

func (n *Node) helperStart() bool {
	n.hmu.Lock()
	defer n.hmu.Unlock()
	if n.hclosed {
		return false
	}
	n.hrunning++
	return true
}

func (n *Node) helperDone() {
	n.hmu.Lock()
	defer n.hmu.Unlock()
	if n.hrunning--; n.hrunning == 0 {
		n.hdone.Broadcast()
	}
}
