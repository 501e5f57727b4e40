package node

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/internal/mdtest"
)

// countingObserver counts the observations of each stage.
type countingObserver struct {
	local, network, app atomic.Int64
	localSum, appSum    atomic.Int64 // nanoseconds
}

func (o *countingObserver) ObserveLocalWrite(d time.Duration) {
	o.local.Add(1)
	o.localSum.Add(int64(d))
}
func (o *countingObserver) ObserveNetworkWrite(time.Duration) { o.network.Add(1) }
func (o *countingObserver) ObserveApplicationWrite(d time.Duration) {
	o.app.Add(1)
	o.appSum.Add(int64(d))
}

// observers hands out one countingObserver per resource/volume.
type observers struct {
	mu   sync.Mutex
	m    map[string]*countingObserver
	skip map[uint32]bool // volumes that get no observer
}

func (o *observers) observe(res string, vol uint32) WriteObserver {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.skip[vol] {
		return nil
	}
	if o.m == nil {
		o.m = map[string]*countingObserver{}
	}
	k := res + "/" + string(rune('0'+vol))
	if o.m[k] == nil {
		o.m[k] = &countingObserver{}
	}
	return o.m[k]
}

func (o *observers) get(t *testing.T, key string) *countingObserver {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.m[key]
	if c == nil {
		t.Fatalf("no observer was asked for %s", key)
	}
	return c
}

func TestSnapshotSingleNode(t *testing.T) {
	dir := t.TempDir()
	disk := mdtest.Disk(t, dir, 16<<20)
	e := start(t, dir, &fakeLayer{})

	e.want(e.req(genl.CmdNewResource, genl.MinorNone, res("r0")), noError, "new-resource")
	s := e.n.Snapshot()
	if len(s.Resources) != 1 {
		t.Fatalf("%d resources", len(s.Resources))
	}
	r := s.Resources[0]
	if r.Name != "r0" || r.Role != drbd.RSecondary || r.Suspended || len(r.Devices) != 0 ||
		r.Connection.State != drbd.CStandAlone || r.Connection.Configured || r.Connection.PeerRole != drbd.RUnknown {
		t.Fatalf("fresh resource: %+v", r)
	}

	d := e.up(disk, 67)
	for i, n := range []int{8 << 10, 8 << 10, 4 << 10, 8 << 10} {
		if err := submit(d.h, OpWrite, int64(i)*(1<<20), make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := submit(d.h, OpRead, 0, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	s = e.n.Snapshot()
	r = s.Resources[0]
	if r.Role != drbd.RPrimary || r.Suspended || r.WriteOrdering != woFlush || len(r.Devices) != 1 {
		t.Fatalf("resource after up: %+v", r)
	}
	dev := r.Devices[0]
	m := e.n.minor(0)
	// a fresh disk made UpToDate by force, never connected: every block is
	// out of sync, so writes bypass the activity log
	want := DeviceSnapshot{Volume: 0, Minor: 0, Disk: drbd.DUpToDate, SizeSectors: m.Capacity(),
		ReadKiB: 4, WrittenKiB: 28, ALWrites: dev.ALWrites, ALSuspended: true,
		Peer: PeerDeviceSnapshot{Replication: drbd.CWFReportParams, PeerDisk: drbd.DUnknown,
			OutOfSyncSectors: m.Capacity()}}
	if dev != want {
		t.Fatalf("device:\n got %+v\nwant %+v", dev, want)
	}
	if dev.SizeSectors == 0 || dev.ALWrites == 0 {
		t.Fatalf("size %d, al-writes %d", dev.SizeSectors, dev.ALWrites)
	}
}

func TestWriteObserver(t *testing.T) {
	dir := t.TempDir()
	obs := &observers{skip: map[uint32]bool{1: true}}
	e := startWith(t, dir, &fakeLayer{}, func(o *Options) { o.Observe = obs.observe })
	d := e.up(mdtest.Disk(t, dir, 16<<20), 67)
	o := obs.get(t, "r0/0")
	for i := range 5 {
		if err := submit(d.h, OpWrite, int64(i)*4096, make([]byte, 4096)); err != nil {
			t.Fatal(err)
		}
	}
	if err := submit(d.h, OpWriteZeroes, 0, make([]byte, 8192)); err != nil {
		t.Fatal(err)
	}
	// not writes, or failed: not observed
	if err := submit(d.h, OpRead, 0, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	if err := submit(d.h, OpFlush, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := submit(d.h, OpWrite, 1<<40, make([]byte, 4096)); err == nil {
		t.Fatal("write beyond the end succeeded")
	}
	if l, a, n := o.local.Load(), o.app.Load(), o.network.Load(); l != 6 || a != 6 || n != 0 {
		t.Fatalf("observed local %d, application %d, network %d; want 6, 6, 0", l, a, n)
	}
	if o.localSum.Load() <= 0 || o.appSum.Load() < o.localSum.Load() {
		t.Fatalf("durations: local %v, application %v", time.Duration(o.localSum.Load()), time.Duration(o.appSum.Load()))
	}
}

// TestWriteObserverAllocs: timing a write costs no allocation.
func TestWriteObserverAllocs(t *testing.T) {
	dir := t.TempDir()
	obs := &observers{skip: map[uint32]bool{1: true}}
	e := startWith(t, dir, &fakeLayer{}, func(o *Options) { o.Observe = obs.observe })
	e.want(e.req(genl.CmdNewResource, genl.MinorNone, res("r0")), noError, "new-resource")
	for vol := uint32(0); vol < 2; vol++ {
		sub := filepath.Join(dir, string(rune('a'+vol)))
		_ = os.MkdirAll(sub, 0o700)
		e.want(e.req(genl.CmdNewMinor, vol, res("r0", vol)), noError, "new-minor")
		e.want(e.req(genl.CmdAttach, vol, diskConf(mdtest.Disk(t, sub, 16<<20), 67)), noError, "attach")
	}
	e.want(e.req(genl.CmdPrimary, 0, force()), success, "primary --force")
	e.want(e.req(genl.CmdPrimary, 1, force()), success, "primary --force")
	buf := make([]byte, 4096)
	allocs := func(minor int) float64 {
		h := e.blocks.dev(minor).h
		done := make(chan error, 1)
		io := &IO{Op: OpWrite, Length: len(buf), Buf: buf, Done: func(err error) { done <- err }}
		write := func() {
			h.Submit(io)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		write() // the extent is hot
		return testing.AllocsPerRun(500, write)
	}
	timed, untimed := allocs(0), allocs(1)
	if n := obs.get(t, "r0/0").app.Load(); n < 500 {
		t.Fatalf("only %d writes observed", n)
	}
	if timed > untimed {
		t.Fatalf("a timed write allocates %.1f times, an untimed one %.1f", timed, untimed)
	}
	t.Logf("allocations per write: timed %.1f, untimed %.1f", timed, untimed)
}

func TestSnapshotAndObserverReplicated(t *testing.T) {
	obs := &observers{}
	p := newPairWith(t, 8<<20, func(o *Options) { o.Observe = obs.observe })
	p.connect(p.a)
	p.connect(p.b)
	p.waitFor("connected", func(a, b drbd.State) bool { return a.Conn == drbd.CConnected && b.Conn == drbd.CConnected })
	p.a.want(p.a.req(genl.CmdPrimary, 0, force()), success, "primary --force")
	p.waitFor("in sync", upToDate)
	// obs is shared by both nodes: one observer, counted on a's writes only
	o := obs.get(t, "r0/0")
	before := p.a.n.Snapshot().Resources[0].Devices[0].Peer.SentSectors
	h := p.a.blocks.dev(0).h
	for i := range 10 {
		if err := submit(h, OpWrite, int64(i)*8192, make([]byte, 8192)); err != nil {
			t.Fatal(err)
		}
	}
	if l, a, n := o.local.Load(), o.app.Load(), o.network.Load(); l != 10 || a != 10 || n != 10 {
		t.Fatalf("observed local %d, application %d, network %d; want 10 each", l, a, n)
	}
	s := p.a.n.Snapshot().Resources[0]
	c := s.Connection
	if !c.Configured || c.State != drbd.CWFReportParams || c.PeerRole != drbd.RSecondary || c.APInFlightSectors != 0 {
		t.Fatalf("connection: %+v", c)
	}
	pd := s.Devices[0].Peer
	if pd.Replication != drbd.CConnected || pd.PeerDisk != drbd.DUpToDate || pd.OutOfSyncSectors != 0 ||
		pd.SentSectors-before != 10*16 {
		t.Fatalf("peer device: %+v (sent before %d)", pd, before)
	}
	if got := p.b.n.Snapshot().Resources[0].Devices[0].Peer.ReceivedSectors; got < 10*16 {
		t.Fatalf("b received %d sectors", got)
	}
}

// BenchmarkLocalWrite: one 4 KiB write of a single node (no peer) on a
// hot extent, through the whole data path, untimed and timed.
func BenchmarkLocalWrite(b *testing.B) {
	for _, timed := range []bool{false, true} {
		name := "untimed"
		if timed {
			name = "timed"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			var opt func(*Options)
			if timed {
				obs := &observers{}
				opt = func(o *Options) { o.Observe = obs.observe }
			}
			e := startWith(b, dir, &fakeLayer{}, opt)
			d := e.up(mdtest.Disk(b, dir, 16<<20), 67)
			buf := make([]byte, 4096)
			done := make(chan error, 1)
			io := &IO{Op: OpWrite, Length: len(buf), Buf: buf, Done: func(err error) { done <- err }}
			b.ReportAllocs()
			for b.Loop() {
				d.h.Submit(io)
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
