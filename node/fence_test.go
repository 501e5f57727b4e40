package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/internal/mdtest"
	"udrbd/metadata"
)

// helperScript is a usermode helper that logs each call ("HANDLER ARG
// KEY=VALUE..." with the DRBD_* environment) to DIR/helper.log, exits with
// the code in DIR/exit.HANDLER if that file exists, and first waits while
// DIR/block.HANDLER exists.
func helperScript(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "helper.sh")
	s := `#!/bin/sh
d=` + dir + `
echo "$1 $2 DRBD_RESOURCE=$DRBD_RESOURCE DRBD_MINOR=$DRBD_MINOR DRBD_VOLUME=$DRBD_VOLUME DRBD_PEER_AF=$DRBD_PEER_AF DRBD_PEER_ADDRESS=$DRBD_PEER_ADDRESS HOME=$HOME" >> $d/helper.log
while [ -e $d/block.$1 ]; do sleep 0.02; done
[ -e $d/exit.$1 ] && exit $(cat $d/exit.$1)
exit 0
`
	if err := os.WriteFile(p, []byte(s), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func helperLog(t testing.TB, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "helper.log"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func calls(lines []string, handler string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, handler+" ") {
			out = append(out, l)
		}
	}
	return out
}

func TestHelperCall(t *testing.T) {
	dir := t.TempDir()
	script := helperScript(t, dir)
	e := start(t, dir, &fakeLayer{}, func(o *Options) { o.UsermodeHelper = script; o.HelperTimeout = 2 * time.Second })
	disk := mdtest.Disk(t, dir, 8<<20)
	e.up(disk, 67)
	m := e.n.minor(0)

	// a device's helper: PROGRAM HANDLER minor-N, its exit code returned
	if err := os.WriteFile(filepath.Join(dir, "exit.before-resync-target"), []byte("5"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := e.n.runHelper(m, "before-resync-target"); got != 5 {
		t.Errorf("exit code: got %d, want 5", got)
	}
	want := "before-resync-target minor-0 DRBD_RESOURCE=r0 DRBD_MINOR=0 DRBD_VOLUME=0 DRBD_PEER_AF= DRBD_PEER_ADDRESS= HOME=/"
	if l := calls(helperLog(t, dir), "before-resync-target"); len(l) != 1 || l[0] != want {
		t.Errorf("helper calls %q, want [%q]", l, want)
	}

	// a connection's helper: PROGRAM HANDLER RESOURCE
	if got := e.n.runConnHelper(m.res, "unfence-peer"); got != 0 {
		t.Errorf("unfence-peer exit code %d", got)
	}
	if l := calls(helperLog(t, dir), "unfence-peer"); len(l) != 1 || !strings.HasPrefix(l[0], "unfence-peer r0 DRBD_RESOURCE=r0 DRBD_MINOR=0 ") {
		t.Errorf("unfence-peer calls %q", l)
	}

	// a helper that hangs is killed at the timeout and counts as 0
	if err := os.WriteFile(filepath.Join(dir, "block.split-brain"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "exit.split-brain"), []byte("9"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := e.n.runHelper(m, "split-brain"); got != 0 {
		t.Errorf("timed-out helper: got %d, want 0", got)
	}

	// a helper program that does not exist: 0 (the kernel ignores errnos)
	e.n.opts.UsermodeHelper = filepath.Join(dir, "missing")
	if got := e.n.runHelper(m, "local-io-error"); got != 0 {
		t.Errorf("missing helper: got %d, want 0", got)
	}
}

// fencingPair is a synced pair, a Primary, connected through a proxy (to
// make partitions), with the helper script on both nodes (in each node's
// directory, e.dir) and the given fencing policy.
func fencingPair(t *testing.T, fp drbd.FencingPolicy) (*pair, *faultProxy) {
	p := newPair(t, 16<<20, func(o *Options) { o.UsermodeHelper = helperScript(t, filepath.Dir(o.StateDir)) })
	for _, e := range []*env{p.a, p.b} {
		dc := &genl.DiskConf{Fencing: uint32(fp)}
		dc.Present.Add(genl.DiskConfFencing)
		e.want(e.req(genl.CmdChgDiskOpts, 0, dc), noError, "disk-options --fencing")
	}
	px := &faultProxy{t: t}
	t.Cleanup(px.close)
	viaA, viaB := px.listen(p.addrB), px.listen(p.addrA)
	for _, c := range []struct {
		e        *env
		my, peer string
	}{{p.a, p.addrA, viaA}, {p.b, p.addrB, viaB}} {
		cc := res("r0")
		cc.CtxMyAddr, cc.CtxPeerAddr = sockaddrIn(t, c.my), sockaddrIn(t, c.peer)
		cc.Present.Add(genl.CfgContextCtxMyAddr, genl.CfgContextCtxPeerAddr)
		nc := &genl.NetConf{ConnectInt: 1, PingInt: 1, PingTimeo: 5, Timeout: 10}
		nc.Present.Add(genl.NetConfConnectInt, genl.NetConfPingInt, genl.NetConfPingTimeo, genl.NetConfTimeout)
		c.e.want(c.e.req(genl.CmdConnect, genl.MinorNone, cc, nc), success, "connect")
	}
	p.waitFor("connected", func(a, b drbd.State) bool { return a.Conn == drbd.CConnected && b.Conn == drbd.CConnected })
	p.a.want(p.a.req(genl.CmdPrimary, 0, force()), success, "primary --force")
	p.waitFor("initial sync", upToDate)
	return p, px
}

func writeFile(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFencePeerOnLoss(t *testing.T) {
	p, px := fencingPair(t, drbd.FPResource)
	dirA := p.a.dir
	writeFile(t, filepath.Join(dirA, "exit.fence-peer"), "4")
	// a partition: the Primary lost a peer it did not know to be Outdated
	px.partition()
	p.waitFor("a fenced b", func(a, b drbd.State) bool { return a.Conn < drbd.CConnected && a.Pdsk == drbd.DOutdated })
	if l := calls(helperLog(t, p.b.dir), "fence-peer"); len(l) != 0 {
		t.Fatalf("the Secondary ran fence-peer: %q", l)
	}
	l := calls(helperLog(t, dirA), "fence-peer")
	if len(l) != 1 || !strings.HasPrefix(l[0], "fence-peer r0 DRBD_RESOURCE=r0 DRBD_MINOR=0 DRBD_VOLUME=0 DRBD_PEER_AF=ipv4 DRBD_PEER_ADDRESS=127.0.0.1 ") {
		t.Fatalf("fence-peer calls %q", l)
	}
	// the link comes back: resync, then unfence-peer on the SyncSource
	px.heal()
	p.waitFor("resync", upToDate)
	for deadline := time.Now().Add(10 * time.Second); len(calls(helperLog(t, dirA), "unfence-peer")) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("unfence-peer never ran on the SyncSource")
		}
	}
}

func TestFenceFreezesIO(t *testing.T) {
	p, px := fencingPair(t, drbd.FPStonith)
	block := filepath.Join(p.a.dir, "block.fence-peer")
	writeFile(t, block, "")
	writeFile(t, filepath.Join(p.a.dir, "exit.fence-peer"), "7")
	uuidBefore := readSB(t, p.diskA).UUID[metadata.UICurrent]
	// a write in flight when the link goes (the proxy holds its packet)
	// and one issued afterwards both wait for the handler's answer
	h := p.a.blocks.dev(0).h
	done := make(chan error, 2)
	px.delay.Store(int64(time.Second))
	go func() { done <- submit(h, OpWrite, 0, make([]byte, 4096)) }()
	for p.a.n.minor(0).upper.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	px.partition()
	p.waitFor("frozen", func(a, b drbd.State) bool { return a.Conn < drbd.CConnected && a.SuspFen })
	go func() { done <- submit(h, OpWrite, 8192, make([]byte, 4096)) }()
	select {
	case err := <-done:
		t.Fatalf("a write completed while IO was frozen for fencing (err %v)", err)
	case <-time.After(500 * time.Millisecond):
	}
	if u := readSB(t, p.diskA).UUID[metadata.UICurrent]; u != uuidBefore {
		t.Fatal("new current UUID made while frozen")
	}
	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("write after the thaw: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a write stayed frozen after fence-peer returned 7")
		}
	}
	st := p.a.state(0)
	if st.SuspFen || st.Pdsk != drbd.DOutdated {
		t.Fatalf("after fence-peer 7: %s, want thawed with the peer Outdated", stateString(st))
	}
	if u := readSB(t, p.diskA).UUID[metadata.UICurrent]; u == uuidBefore {
		t.Fatal("no new current UUID after the thaw")
	}
}

func TestFencePeerIsPrimary(t *testing.T) {
	p, px := fencingPair(t, drbd.FPResource)
	dirB := p.b.dir
	writeFile(t, filepath.Join(p.a.dir, "exit.fence-peer"), "4")
	writeFile(t, filepath.Join(dirB, "exit.fence-peer"), "6")
	// a partition; a stays Primary (it fences b: exit 4, a's script)
	px.partition()
	p.waitFor("partitioned", func(a, b drbd.State) bool { return a.Conn < drbd.CConnected && b.Conn < drbd.CConnected })
	// b may not become Primary: the handler says the peer is active
	if got := p.b.req(genl.CmdPrimary, 0); got == success {
		t.Fatal("promoted although fence-peer said the peer is Primary")
	}
	if st := p.b.state(0); st.Role != drbd.RSecondary || st.Disk != drbd.DOutdated {
		t.Fatalf("after fence-peer 6: %s, want Secondary and Outdated", stateString(st))
	}
	if l := calls(helperLog(t, dirB), "fence-peer"); len(l) == 0 {
		t.Fatal("fence-peer never ran")
	}
	_ = context.Background
}
