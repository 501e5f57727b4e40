package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/internal/mdtest"
	"udrbd/metadata"
)

// sockaddrIn is struct sockaddr_in as drbdsetup puts it into the cfg context.
func sockaddrIn(t testing.TB, hostport string) []byte {
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

// freePort returns a loopback port nobody listens on. It comes from below
// the kernel's ephemeral range (ip_local_port_range starts at 32768), so
// that no connect() of a concurrent test takes it between this check and
// the node's bind, as port 0's choice could be taken.
func freePort(t testing.TB) int {
	t.Helper()
	for range 2000 {
		port := 20000 + int(nextPort.Add(1)%10000)
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		return port
	}
	t.Fatal("no free port below 30000")
	return 0
}

// nextPort spreads the test processes of a run (go test runs packages
// side by side) over the range.
var nextPort = func() *atomic.Uint32 {
	var n atomic.Uint32
	n.Store(uint32(os.Getpid()%500) * 20)
	return &n
}()

// pair is two nodes with one resource r0, minor 0, replicated over loopback.
type pair struct {
	t          testing.TB
	a, b       *env
	diskA      string
	diskB      string
	addrA      string
	addrB      string
	size       int64
	netOptions func(*genl.NetConf)
}

// newPairWith is newPair with both nodes' options changed by opt.
func newPairWith(t testing.TB, size int64, opt func(*Options)) *pair {
	if opt == nil {
		return newPair(t, size)
	}
	return newPair(t, size, opt)
}

func newPair(t testing.TB, size int64, opts ...func(*Options)) *pair {
	p := &pair{t: t, size: size}
	da, db := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	_ = os.MkdirAll(da, 0o700)
	_ = os.MkdirAll(db, 0o700)
	p.diskA, p.diskB = mdtest.Disk(t, da, size), mdtest.Disk(t, db, size)
	p.a, p.b = start(t, da, &fakeLayer{}, opts...), start(t, db, &fakeLayer{}, opts...)
	p.addrA = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p.addrB = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	for _, e := range []*env{p.a, p.b} {
		disk := p.diskA
		if e == p.b {
			disk = p.diskB
		}
		e.want(e.req(genl.CmdNewResource, genl.MinorNone, res("r0")), noError, "new-resource")
		e.want(e.req(genl.CmdNewMinor, 0, res("r0", 0)), noError, "new-minor")
		dc := diskConf(disk, 67)
		dc.CPlanAhead, dc.ResyncRate = 0, 200<<10 // fixed rate, 200 MiB/s
		dc.Present.Add(genl.DiskConfCPlanAhead, genl.DiskConfResyncRate)
		e.want(e.req(genl.CmdAttach, 0, dc), noError, "attach")
	}
	return p
}

func (p *pair) connect(e *env, opts ...func(*genl.NetConf)) {
	p.t.Helper()
	my, peer := p.addrA, p.addrB
	if e == p.b {
		my, peer = peer, my
	}
	cc := res("r0")
	cc.CtxMyAddr, cc.CtxPeerAddr = sockaddrIn(p.t, my), sockaddrIn(p.t, peer)
	cc.Present.Add(genl.CfgContextCtxMyAddr, genl.CfgContextCtxPeerAddr)
	nc := &genl.NetConf{ConnectInt: 1, PingInt: 1, PingTimeo: 5, Timeout: 20}
	nc.Present.Add(genl.NetConfConnectInt, genl.NetConfPingInt, genl.NetConfPingTimeo, genl.NetConfTimeout)
	for _, o := range opts {
		o(nc)
	}
	e.want(e.req(genl.CmdConnect, genl.MinorNone, cc, nc), success, "connect")
}

// waitFor polls until cond holds for both nodes' minor 0.
func (p *pair) waitFor(what string, cond func(a, b drbd.State) bool) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond(p.a.state(0), p.b.state(0)) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("%s: timed out; a %s, b %s", what, stateString(p.a.state(0)), stateString(p.b.state(0)))
}

func upToDate(a, b drbd.State) bool {
	return a.Conn == drbd.CConnected && b.Conn == drbd.CConnected &&
		a.Disk == drbd.DUpToDate && b.Disk == drbd.DUpToDate && a.Pdsk == drbd.DUpToDate && b.Pdsk == drbd.DUpToDate
}

// dataSum compares the data areas of the two backing files.
func (p *pair) sameData(n int64) {
	p.t.Helper()
	ra, err := os.ReadFile(p.diskA)
	if err != nil {
		p.t.Fatal(err)
	}
	rb, err := os.ReadFile(p.diskB)
	if err != nil {
		p.t.Fatal(err)
	}
	if !bytes.Equal(ra[:n], rb[:n]) {
		for i := int64(0); i < n; i += 4096 {
			if !bytes.Equal(ra[i:i+4096], rb[i:i+4096]) {
				p.t.Fatalf("data differ at block %d (offset %d)", i/4096, i)
			}
		}
	}
}

func writeRandom(t *testing.T, e *env, rng *rand.Rand, n int, size int64) {
	t.Helper()
	h := e.blocks.dev(0).h
	for i := 0; i < n; i++ {
		blocks := 1 + rng.IntN(32)
		off := int64(rng.IntN(int(size/4096)-blocks)) * 4096
		buf := make([]byte, blocks*4096)
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		if err := submit(h, OpWrite, off, buf); err != nil {
			t.Fatalf("write at %d: %v", off, err)
		}
	}
}

func TestReplicationSyncAndResync(t *testing.T) {
	const size = 32 << 20
	p := newPair(t, size)
	p.connect(p.a)
	p.connect(p.b)
	p.waitFor("connected", func(a, b drbd.State) bool {
		return a.Conn == drbd.CConnected && b.Conn == drbd.CConnected &&
			a.Disk == drbd.DInconsistent && b.Pdsk == drbd.DInconsistent
	})
	p.a.want(p.a.req(genl.CmdPrimary, 0, force()), success, "primary --force")
	p.waitFor("initial full sync", upToDate)
	data := p.a.n.minor(0).Capacity() << 9
	p.sameData(int64(data))

	// replicated writes (protocol C)
	rng := rand.New(rand.NewPCG(1, 2))
	writeRandom(t, p.a, rng, 200, int64(data))
	p.sameData(int64(data))
	if w := p.a.n.minor(0).ld().oos(); w != 0 {
		t.Fatalf("%d blocks out of sync after replicated writes", w)
	}

	// disconnect, write, reconnect: a bitmap-based resync of only those blocks
	p.b.want(p.b.req(genl.CmdDisconnect, genl.MinorNone, res("r0")), noError, "disconnect")
	p.waitFor("disconnected", func(a, b drbd.State) bool { return b.Conn == drbd.CStandAlone && a.Conn == drbd.CWFConnection })
	writeRandom(t, p.a, rng, 20, int64(data))
	oos := p.a.n.minor(0).ld().oos()
	if oos == 0 {
		t.Fatal("writes while disconnected left no blocks out of sync")
	}
	p.connect(p.b)
	p.waitFor("resync", upToDate)
	p.sameData(int64(data))
	t.Logf("resynced %d of %d blocks", oos, data/4096)
	_ = context.Background
}

// new-current-uuid --clear-bitmap on a connected pair of fresh disks skips
// the initial sync (drbd_adm_new_c_uuid's skip_initial_sync): both UpToDate
// with the same current UUID and no bit set, nothing resynced; a second
// one, with the current UUID no longer fresh, is refused while connected.
func TestSkipInitialSync(t *testing.T) {
	const size = 16 << 20
	p := newPair(t, size)
	p.connect(p.a)
	p.connect(p.b)
	p.waitFor("connected", func(a, b drbd.State) bool {
		return a.Conn == drbd.CConnected && b.Conn == drbd.CConnected &&
			a.Disk == drbd.DInconsistent && b.Disk == drbd.DInconsistent
	})
	p.settle()
	clearBM := &genl.NewCUUIDParms{ClearBM: true}
	clearBM.Present.Add(genl.NewCUUIDParmsClearBM)
	p.a.want(p.a.req(genl.CmdNewCUUID, 0, clearBM), noError, "new-current-uuid --clear-bitmap")
	p.waitFor("UpToDate without a sync", upToDate)
	ua, ub := p.a.n.minor(0).ld().UUIDs(), p.b.n.minor(0).ld().UUIDs()
	if ua.Current()&^1 != ub.Current()&^1 || ua.Current() == metadata.UUIDJustCreated {
		t.Fatalf("current UUIDs %016X / %016X: want the same new one", ua.Current(), ub.Current())
	}
	if ua.Bitmap() != 0 || ub.Bitmap() != 0 {
		t.Fatalf("bitmap UUIDs %016X / %016X, want 0", ua.Bitmap(), ub.Bitmap())
	}
	for _, e := range []*env{p.a, p.b} {
		if n := e.n.minor(0).ld().oos(); n != 0 {
			t.Fatalf("%d bits set after skipping the initial sync", n)
		}
	}
	p.a.want(p.a.req(genl.CmdNewCUUID, 0, clearBM), drbd.Reply(drbd.ErrConnected), "a second one while connected")
	// Primary works at once, no --force needed
	p.a.want(p.a.req(genl.CmdPrimary, 0), success, "primary")
}

// BenchmarkReplicatedWrite measures replicated writes (protocol C) of a
// node pair over loopback TCP on files in the test's temp dir, with 32
// writes in flight.
func BenchmarkReplicatedWrite(b *testing.B) {
	for _, bs := range []int{4 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("%dK", bs>>10), func(b *testing.B) {
			p := newPair(b, 64<<20)
			p.connect(p.a)
			p.connect(p.b)
			p.waitFor("connected", func(a, c drbd.State) bool { return a.Conn == drbd.CConnected && c.Conn == drbd.CConnected })
			p.a.want(p.a.req(genl.CmdPrimary, 0, force()), success, "primary --force")
			p.waitFor("in sync", upToDate)
			h := p.a.blocks.dev(0).h
			blocks := int(p.a.n.minor(0).Capacity()<<9) / bs
			sem := make(chan struct{}, 32)
			buf := make([]byte, bs)
			b.SetBytes(int64(bs))
			b.ResetTimer()
			var wg sync.WaitGroup
			for i := 0; i < b.N; i++ {
				sem <- struct{}{}
				wg.Add(1)
				off := int64(i%blocks) * int64(bs)
				go func() {
					defer wg.Done()
					if err := submit(h, OpWrite, off, buf); err != nil {
						b.Error(err)
					}
					<-sem
				}()
			}
			wg.Wait()
		})
	}
}

// TestTwoResourcesOneNode: one daemon serving both ends of a connection
// (r0 and r1 connected to each other over loopback), as the cli-parity
// scenario does with the kernel: a second primary is refused at once.
func TestTwoResourcesOneNode(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir, &fakeLayer{})
	p0, p1 := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	for i, name := range []string{"r0", "r1"} {
		sub := filepath.Join(dir, name)
		_ = os.MkdirAll(sub, 0o700)
		disk := mdtest.Disk(t, sub, 16<<20)
		e.want(e.req(genl.CmdNewResource, genl.MinorNone, res(name)), noError, "new-resource")
		e.want(e.req(genl.CmdNewMinor, uint32(i), res(name, 0)), noError, "new-minor")
		e.want(e.req(genl.CmdAttach, uint32(i), diskConf(disk, 67)), noError, "attach")
	}
	for i, name := range []string{"r0", "r1"} {
		my, peer := p0, p1
		if i == 1 {
			my, peer = p1, p0
		}
		cc := res(name)
		cc.CtxMyAddr, cc.CtxPeerAddr = sockaddrIn(t, my), sockaddrIn(t, peer)
		cc.Present.Add(genl.CfgContextCtxMyAddr, genl.CfgContextCtxPeerAddr)
		nc := &genl.NetConf{ConnectInt: 1, PingInt: 1, PingTimeo: 5}
		nc.Present.Add(genl.NetConfConnectInt, genl.NetConfPingInt, genl.NetConfPingTimeo)
		e.want(e.req(genl.CmdConnect, genl.MinorNone, cc, nc), success, "connect")
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("%s: timed out (%s, %s)", what, stateString(e.state(0)), stateString(e.state(1)))
	}
	wait("connected", func() bool { return e.state(0).Conn == drbd.CConnected && e.state(1).Conn == drbd.CConnected })
	e.want(e.req(genl.CmdPrimary, 0, force()), success, "primary --force")
	wait("in sync", func() bool { return e.state(1).Disk == drbd.DUpToDate && e.state(0).Pdsk == drbd.DUpToDate })
	done := make(chan drbd.Reply, 1)
	go func() { done <- e.req(genl.CmdPrimary, 1) }()
	select {
	case rep := <-done:
		e.want(rep, drbd.Reply(drbd.SSTwoPrimaries), "second primary")
	case <-time.After(10 * time.Second):
		t.Fatal("primary on the second node hangs")
	}
}

// settle lets the P_STATE each node sends on reaching Connected arrive at
// the other before the test goes on. The kernel has the same window: a
// new-current-uuid --clear-bitmap right after the connection may see the
// peer's P_STATE of the handshake come in after the skip, and keep the
// peer's disk as Inconsistent.
func (p *pair) settle() {
	p.t.Helper()
	for _, e := range []*env{p.a, p.b} {
		if err := e.n.minor(0).dev.WaitIdle(context.Background()); err != nil {
			p.t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
}

// primaryWithoutSync waits for the connection, skips the initial sync
// (new-current-uuid --clear-bitmap) and makes a primary.
func (p *pair) primaryWithoutSync() {
	p.t.Helper()
	p.waitFor("connected", func(a, b drbd.State) bool { return a.Conn == drbd.CConnected && b.Conn == drbd.CConnected })
	p.settle()
	clearBM := &genl.NewCUUIDParms{ClearBM: true}
	clearBM.Present.Add(genl.NewCUUIDParmsClearBM)
	p.a.want(p.a.req(genl.CmdNewCUUID, 0, clearBM), noError, "new-current-uuid --clear-bitmap")
	p.waitFor("UpToDate", upToDate)
	p.a.want(p.a.req(genl.CmdPrimary, 0), success, "primary")
}

// Writes of every size up to the largest a peer takes (1 MiB), submitted
// side by side, with each wire protocol, sent and received by splice (the
// default) and by write and read: the secondary's disk ends equal to the
// primary's.
func TestReplicationLargeWrites(t *testing.T) {
	for _, c := range []struct {
		name     string
		protocol uint32
		noSplice bool
	}{
		{"C", 3, false}, {"B", 2, false}, {"A", 1, false}, {"C-nosplice", 3, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			const size = 48 << 20
			p := newPair(t, size, func(o *Options) { o.NoSplice = c.noSplice })
			proto := func(nc *genl.NetConf) {
				nc.WireProtocol = c.protocol
				nc.Present.Add(genl.NetConfWireProtocol)
			}
			p.connect(p.a, proto)
			p.connect(p.b, proto)
			p.primaryWithoutSync()
			data := int64(p.a.n.minor(0).Capacity() << 9)
			h := p.a.blocks.dev(0).h
			const writers = 6
			region := data / writers &^ (1<<20 - 1)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(w), 9))
					for range 25 {
						n := (1 + rng.IntN(256)) * 4096
						off := int64(w)*region + int64(rng.IntN(int(region-int64(n))/512))*512
						buf := make([]byte, n)
						for j := range buf {
							buf[j] = byte(rng.Uint32())
						}
						if err := submit(h, OpWrite, off, buf); err != nil {
							t.Errorf("write of %d at %d: %v", n, off, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			// protocol A completes writes once sent: give the peer time
			for deadline := time.Now().Add(10 * time.Second); c.protocol == 1 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				a, _ := os.ReadFile(p.diskA)
				b, _ := os.ReadFile(p.diskB)
				if bytes.Equal(a[:data], b[:data]) {
					break
				}
			}
			p.sameData(data)
		})
	}
}

// A replicated 4 KiB write allocates little on its way through both nodes
// (the request, the completion callbacks): each allocation costs a
// microsecond or more in the test VM, and the collector's work grows with
// them. The budget counts both nodes and the test's own submit.
func TestReplicatedWriteAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("connects a pair")
	}
	p := newPair(t, 16<<20)
	p.connect(p.a)
	p.connect(p.b)
	p.primaryWithoutSync()
	h := p.a.blocks.dev(0).h
	buf := make([]byte, 4096)
	i := 0
	write := func() {
		i++
		if err := submit(h, OpWrite, int64(i%1024)*4096, buf); err != nil {
			t.Fatal(err)
		}
	}
	write() // the first write of an extent takes an activity-log transaction
	allocs := testing.AllocsPerRun(2000, write)
	const budget = 16 // 11 measured; 37 before the sender and receiver reused their buffers
	t.Logf("%.1f allocations per replicated 4 KiB write", allocs)
	if allocs > budget {
		t.Fatalf("%.1f allocations per replicated 4 KiB write, want at most %d", allocs, budget)
	}
}
