package metrics_test

// An in-process udrbd node for the collector's tests: the control plane
// over a unix socket in the test's temp dir, block devices faked (the
// test submits requests as ublk would), backing devices in files.

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/genl/client"
	"udrbd/genl/server"
	"udrbd/internal/mdtest"
	"udrbd/metadata"
	"udrbd/metrics"
	"udrbd/node"
)

type fakeDev struct {
	minor int
	size  int64
	h     node.IOHandler
}

func (d *fakeDev) Path() string  { return fmt.Sprintf("/dev/ublkb%d", d.minor) }
func (d *fakeDev) Size() int64   { return d.size }
func (d *fakeDev) InUse() bool   { return false }
func (d *fakeDev) Remove() error { return nil }

type fakeLayer struct {
	mu   sync.Mutex
	devs map[int]*fakeDev
}

func (f *fakeLayer) Create(minor int, size int64, h node.IOHandler) (node.BlockDevice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.devs == nil {
		f.devs = map[int]*fakeDev{}
	}
	d := &fakeDev{minor: minor, size: size, h: h}
	f.devs[minor] = d
	return d, nil
}

func (f *fakeLayer) Recover(int, node.IOHandler) (node.BlockDevice, error) {
	return nil, os.ErrNotExist
}

func (f *fakeLayer) dev(minor int) *fakeDev {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.devs[minor]
}

type testNode struct {
	t      *testing.T
	dir    string
	n      *node.Node
	lat    *metrics.Latencies
	c      *client.Client
	blocks *fakeLayer
}

func newTestNode(t *testing.T, lat *metrics.Latencies) *testNode {
	t.Helper()
	dir := t.TempDir()
	blocks := &fakeLayer{}
	o := node.Options{Blocks: blocks, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if lat != nil {
		o.Observe = lat.Observer
	}
	n := node.New(o)
	if err := n.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv, err := server.Listen(server.Config{Path: filepath.Join(dir, "sock"), Authorize: func(server.Creds) bool { return true }}, n)
	if err != nil {
		t.Fatal(err)
	}
	n.SetMulticaster(srv)
	go srv.Serve()
	c, err := client.Dial(srv.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		srv.Close()
		n.Close()
	})
	return &testNode{t: t, dir: dir, n: n, lat: lat, c: c, blocks: blocks}
}

// do sends a request and fails the test unless its ret_code is one of ok
// (NoError if none given).
func (e *testNode) do(what string, cmd genl.Cmd, minor uint32, sets []genl.Set, ok ...drbd.Reply) {
	e.t.Helper()
	m := &genl.Message{Cmd: cmd, Version: genl.FamilyVersion, Minor: minor}
	m.Add(sets...)
	r, err := e.c.Do(m)
	if err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
	if len(ok) == 0 {
		ok = []drbd.Reply{drbd.Reply(drbd.NoError)}
	}
	got := drbd.Reply(r.RetCode())
	for _, w := range ok {
		if got == w {
			return
		}
	}
	e.t.Fatalf("%s: ret_code %v (%d)", what, got, got)
}

func resCtx(name string, vol ...uint32) *genl.CfgContext {
	c := &genl.CfgContext{CtxResourceName: name}
	c.Present.Add(genl.CfgContextCtxResourceName)
	if len(vol) > 0 {
		c.CtxVolume = vol[0]
		c.Present.Add(genl.CfgContextCtxVolume)
	}
	return c
}

// addVolume makes resource r0 (if needed) with minor/volume vol attached
// to a fresh disk of size bytes.
func (e *testNode) addVolume(vol uint32, size int64) {
	e.t.Helper()
	e.do("new-resource", genl.CmdNewResource, genl.MinorNone, []genl.Set{resCtx("r0")})
	e.do("new-minor", genl.CmdNewMinor, vol, []genl.Set{resCtx("r0", vol)})
	sub := filepath.Join(e.dir, fmt.Sprint("disk", vol))
	_ = os.MkdirAll(sub, 0o700)
	disk := mdtest.Disk(e.t, sub, size)
	dc := &genl.DiskConf{BackingDev: disk, MetaDev: disk, MetaDevIdx: metadata.IndexFlexInt, ALExtents: 67}
	dc.Present.Add(genl.DiskConfBackingDev, genl.DiskConfMetaDev, genl.DiskConfMetaDevIdx, genl.DiskConfALExtents)
	e.do("attach", genl.CmdAttach, vol, []genl.Set{dc})
}

func (e *testNode) primaryForce(minor uint32) {
	e.t.Helper()
	p := &genl.SetRoleParms{AssumeUptodate: true}
	p.Present.Add(genl.SetRoleParmsAssumeUptodate)
	e.do("primary --force", genl.CmdPrimary, minor, []genl.Set{p}, drbd.Reply(drbd.SSSuccess))
}

// submit runs one block request to completion.
func (e *testNode) submit(minor int, op node.Op, off int64, buf []byte) error {
	d := e.blocks.dev(minor)
	if d == nil {
		e.t.Fatalf("minor %d has no block device", minor)
	}
	ch := make(chan error, 1)
	d.h.Submit(&node.IO{Op: op, Offset: off, Length: len(buf), Buf: buf, Done: func(err error) { ch <- err }})
	return <-ch
}

func (e *testNode) write(minor int, off int64, n int) {
	e.t.Helper()
	if err := e.submit(minor, node.OpWrite, off, make([]byte, n)); err != nil {
		e.t.Fatalf("write %d bytes at %d: %v", n, off, err)
	}
}

func sockaddrIn(t *testing.T, hostport string) []byte {
	t.Helper()
	a, err := net.ResolveTCPAddr("tcp4", hostport)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16)
	binary.NativeEndian.PutUint16(b, unix.AF_INET)
	binary.BigEndian.PutUint16(b[2:], uint16(a.Port))
	copy(b[4:], a.IP.To4())
	return b
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// connect configures r0's connection from my to peer (protocol C).
func (e *testNode) connect(my, peer string) {
	e.t.Helper()
	cc := resCtx("r0")
	cc.CtxMyAddr, cc.CtxPeerAddr = sockaddrIn(e.t, my), sockaddrIn(e.t, peer)
	cc.Present.Add(genl.CfgContextCtxMyAddr, genl.CfgContextCtxPeerAddr)
	nc := &genl.NetConf{ConnectInt: 1, PingInt: 1, PingTimeo: 5, Timeout: 20}
	nc.Present.Add(genl.NetConfConnectInt, genl.NetConfPingInt, genl.NetConfPingTimeo, genl.NetConfTimeout)
	e.do("connect", genl.CmdConnect, genl.MinorNone, []genl.Set{cc, nc}, drbd.Reply(drbd.SSSuccess))
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: timed out", what)
}
