package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/genl/client"
	"udrbd/genl/server"
	"udrbd/internal/mdtest"
	"udrbd/metadata"
	"udrbd/statemachine"
)

// fakeLayer is a BlockLayer without a kernel: it keeps the handler so
// tests submit requests as the block layer would.
type fakeLayer struct {
	mu      sync.Mutex
	devs    map[int]*fakeDev
	recover map[int]bool // devices a previous daemon left behind
}

type fakeDev struct {
	minor   int
	size    int64
	h       IOHandler
	inUse   atomic.Bool
	removed atomic.Bool
}

func (d *fakeDev) Path() string { return fmt.Sprintf("/dev/ublkb%d", d.minor) }
func (d *fakeDev) Size() int64  { return d.size }
func (d *fakeDev) InUse() bool  { return d.inUse.Load() }
func (d *fakeDev) Remove() error {
	if d.inUse.Load() {
		return syscall.EBUSY
	}
	d.removed.Store(true)
	return nil
}

func (f *fakeLayer) Create(minor int, size int64, h IOHandler) (BlockDevice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.devs == nil {
		f.devs = map[int]*fakeDev{}
	}
	d := &fakeDev{minor: minor, size: size, h: h}
	f.devs[minor] = d
	return d, nil
}

func (f *fakeLayer) Recover(minor int, h IOHandler) (BlockDevice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.recover[minor] {
		return nil, os.ErrNotExist
	}
	d := f.devs[minor]
	d.h = h
	return d, nil
}

func (f *fakeLayer) Exists(minor int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.recover[minor]
}

func (f *fakeLayer) dev(minor int) *fakeDev {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.devs[minor]
}

// submit runs one request to completion.
func submit(h IOHandler, op Op, off int64, buf []byte) error {
	ch := make(chan error, 1)
	h.Submit(&IO{Op: op, Offset: off, Length: len(buf), Buf: buf, Done: func(err error) { ch <- err }})
	return <-ch
}

type env struct {
	t      testing.TB
	dir    string
	n      *Node
	srv    *server.Server
	c      *client.Client
	blocks *fakeLayer
}

// startWith is start with options changed by opt (if not nil).
func startWith(t testing.TB, dir string, blocks *fakeLayer, opt func(*Options)) *env {
	t.Helper()
	if opt == nil {
		return start(t, dir, blocks)
	}
	return start(t, dir, blocks, opt)
}

func start(t testing.TB, dir string, blocks *fakeLayer, opts ...func(*Options)) *env {
	t.Helper()
	var logw io.Writer = io.Discard
	if os.Getenv("UDRBD_TEST_LOG") != "" { // the nodes' logs on stderr, for debugging
		logw = os.Stderr
	}
	o := Options{StateDir: filepath.Join(dir, "state"), Blocks: blocks, DevDir: filepath.Join(dir, "dev"),
		Logger: slog.New(slog.NewTextHandler(logw, nil)).With("node", filepath.Base(dir))}
	for _, f := range opts {
		f(&o)
	}
	n := New(o)
	_ = os.MkdirAll(filepath.Join(dir, "state"), 0o700)
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
	e := &env{t: t, dir: dir, n: n, srv: srv, c: c, blocks: blocks}
	t.Cleanup(e.stop)
	return e
}

func (e *env) stop() {
	if e.c != nil {
		e.c.Close()
		e.srv.Close()
		e.n.Close()
		e.c = nil
	}
}

// req sends a request and returns the reply's ret_code.
func (e *env) req(cmd genl.Cmd, minor uint32, sets ...genl.Set) drbd.Reply {
	e.t.Helper()
	m := &genl.Message{Cmd: cmd, Version: genl.FamilyVersion, Minor: minor}
	m.Add(sets...)
	r, err := e.c.Do(m)
	if err != nil {
		e.t.Fatalf("%v: %v", cmd, err)
	}
	return drbd.Reply(r.RetCode())
}

func res(name string, vol ...uint32) *genl.CfgContext {
	c := &genl.CfgContext{CtxResourceName: name}
	c.Present.Add(genl.CfgContextCtxResourceName)
	if len(vol) > 0 {
		c.CtxVolume = vol[0]
		c.Present.Add(genl.CfgContextCtxVolume)
	}
	return c
}

func diskConf(disk string, alExtents uint32) *genl.DiskConf {
	d := &genl.DiskConf{BackingDev: disk, MetaDev: disk, MetaDevIdx: metadata.IndexFlexInt, ALExtents: alExtents}
	d.Present.Add(genl.DiskConfBackingDev, genl.DiskConfMetaDev, genl.DiskConfMetaDevIdx, genl.DiskConfALExtents)
	return d
}

func force() *genl.SetRoleParms {
	p := &genl.SetRoleParms{AssumeUptodate: true}
	p.Present.Add(genl.SetRoleParmsAssumeUptodate)
	return p
}

var (
	noError = drbd.Reply(drbd.NoError)
	success = drbd.Reply(drbd.SSSuccess)
)

func (e *env) want(got, want drbd.Reply, what string) {
	e.t.Helper()
	if got != want {
		e.t.Fatalf("%s: got %v (%d), want %v (%d)", what, got, got, want, want)
	}
}

func (e *env) state(minor uint32) drbd.State {
	return e.n.minor(minor).dev.State()
}

func readSB(t *testing.T, disk string) metadata.Superblock {
	t.Helper()
	f, err := os.Open(disk)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	sb, err := metadata.ReadSuperblock(f, int64(metadata.SuperblockOffset(metadata.IndexFlexInt, uint64(st.Size()))))
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

func (e *env) up(disk string, alExtents uint32) *fakeDev {
	e.want(e.req(genl.CmdNewResource, genl.MinorNone, res("r0")), noError, "new-resource")
	e.want(e.req(genl.CmdNewMinor, 0, res("r0", 0)), noError, "new-minor")
	e.want(e.req(genl.CmdAttach, 0, diskConf(disk, alExtents)), noError, "attach")
	e.want(e.req(genl.CmdPrimary, 0, force()), success, "primary --force")
	d := e.blocks.dev(0)
	if d == nil {
		e.t.Fatal("no block device after attach")
	}
	return d
}

func TestSingleNodeLifecycle(t *testing.T) {
	dir := t.TempDir()
	disk := mdtest.Disk(t, dir, 64<<20)
	e := start(t, dir, &fakeLayer{})

	e.want(e.req(genl.CmdNewResource, genl.MinorNone, res("r0")), noError, "new-resource")
	e.want(e.req(genl.CmdNewResource, genl.MinorNone, res("r0")), noError, "new-resource again")
	e.want(e.req(genl.CmdNewResource, genl.MinorNone, res("a/b")), drbd.Reply(drbd.ErrInvalidRequest), "new-resource a/b")
	e.want(e.req(genl.CmdNewMinor, 0, res("r0", 0)), noError, "new-minor")
	e.want(e.req(genl.CmdNewMinor, 1, res("r0", 0)), drbd.Reply(drbd.ErrMinorOrVolumeExists), "new-minor same volume")
	e.want(e.req(genl.CmdAttach, 7, diskConf(disk, 7)), drbd.Reply(drbd.ErrMinorInvalid), "attach unknown minor")
	if l, err := os.Readlink(filepath.Join(dir, "dev", "drbd", "by-res", "r0", "0")); err != nil || l != "/dev/ublkb0" {
		t.Fatalf("by-res link = %q, %v", l, err)
	}
	e.want(e.req(genl.CmdDetach, 0), drbd.Reply(drbd.SSNothingToDo), "detach diskless")

	// Refused attaches change nothing.
	e.want(e.req(genl.CmdAttach, 0, diskConf(filepath.Join(dir, "missing"), 7)), drbd.Reply(drbd.ErrOpenDisk), "attach missing")
	small := filepath.Join(dir, "small")
	_ = os.WriteFile(small, make([]byte, 512<<10), 0o600)
	e.want(e.req(genl.CmdAttach, 0, diskConf(small, 7)), drbd.Reply(drbd.ErrMDDiskTooSmall), "attach too small")
	bare := &genl.DiskConf{BackingDev: disk}
	bare.Present.Add(genl.DiskConfBackingDev)
	e.want(e.req(genl.CmdAttach, 0, bare), drbd.Reply(drbd.ErrMandatoryTag), "attach without meta_dev")
	if s := e.state(0); s.Disk != drbd.DDiskless {
		t.Fatalf("disk %v after refused attaches", s.Disk)
	}

	e.want(e.req(genl.CmdAttach, 0, diskConf(disk, 7)), noError, "attach")
	if s := e.state(0); s.Disk != drbd.DInconsistent {
		t.Fatalf("disk %v after attach of fresh meta-data", s.Disk)
	}
	if sb := readSB(t, disk); sb.Magic != metadata.MagicMD84Unclean {
		t.Fatalf("magic %#x while attached, want the unclean magic", sb.Magic)
	}
	// Fresh meta-data (la_size 0): like drbd_determine_dev_size, every bit
	// is out of sync and written, the activity log is re-initialized (8
	// counted writes of its 4 KiB blocks) and suspended; write ordering is
	// flush with the default disk options.
	m0 := e.n.minor(0)
	l0 := m0.ld()
	nbits := (l0.capacity + 7) / 8
	if got := l0.oos(); got != nbits {
		t.Fatalf("out-of-sync bits after attach of fresh meta-data = %d, want all %d", got, nbits)
	}
	if ds := m0.devStats(); !ds.DevALSuspended || ds.DevALWrites != 8 || ds.DevBMWrites != 0 {
		t.Fatalf("al-suspended %v al-writes %d bm-writes %d, want true 8 0 (the kernel never counts bm writes)",
			ds.DevALSuspended, ds.DevALWrites, ds.DevBMWrites)
	}
	if wo := m0.res.wo.Load(); wo != woFlush {
		t.Fatalf("write ordering %d, want flush", wo)
	}
	if sb := readSB(t, disk); sb.LaSizeSect != l0.capacity {
		t.Fatalf("la_size %d on disk, want %d", sb.LaSizeSect, l0.capacity)
	}
	onDisk := func() uint64 {
		f, err := os.Open(disk)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		raw := make([]byte, (nbits+63)/64*8)
		if _, err := f.ReadAt(raw, int64(l0.layout.BMOffset)); err != nil {
			t.Fatal(err)
		}
		return metadata.DecodeBitmap(raw).Count()
	}
	if got := onDisk(); got != nbits {
		t.Fatalf("on-disk bitmap holds %d bits, want %d", got, nbits)
	}
	// Re-attach at the agreed size keeps the on-disk bitmap as it is:
	// cleared here (as a finished resync would), it stays clear and the
	// activity log is live.
	e.want(e.req(genl.CmdDetach, 0), success, "detach fresh")
	if f, err := os.OpenFile(disk, os.O_RDWR, 0); err != nil {
		t.Fatal(err)
	} else {
		_, _ = f.WriteAt(make([]byte, (nbits+63)/64*8), int64(l0.layout.BMOffset))
		// and a clean activity log, as drbdmeta apply-al leaves it.
		sb := readSB(t, disk)
		sb.Magic = metadata.MagicMD08
		sb.Flags |= metadata.FlagALClean
		b, _ := sb.MarshalBinary()
		_, _ = f.WriteAt(b, int64(l0.layout.MDOffset))
		f.Close()
	}
	e.want(e.req(genl.CmdAttach, 0, diskConf(disk, 7)), noError, "re-attach")
	if l := m0.ld(); l.oos() != 0 {
		t.Fatalf("out-of-sync bits after re-attach at the agreed size = %d, want 0", l.oos())
	}
	if ds := m0.devStats(); ds.DevALSuspended || ds.DevALWrites != 0 {
		t.Fatalf("re-attach: al-suspended %v al-writes %d, want false 0", ds.DevALSuspended, ds.DevALWrites)
	}
	e.want(e.req(genl.CmdPrimary, 0), drbd.Reply(drbd.SSNoUpToDateDisk), "primary without UpToDate data")
	e.want(e.req(genl.CmdPrimary, 0, force()), success, "primary --force")
	d := e.blocks.dev(0)

	// Writes over 10 extents (more than al-extents), reads back.
	data := make([]byte, 64<<10)
	for i := 0; i < 10; i++ {
		for j := range data {
			data[j] = byte(i + j)
		}
		off := int64(i)<<22 + 8192
		if err := submit(d.h, OpWrite, off, data); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		got := make([]byte, len(data))
		if err := submit(d.h, OpRead, off, got); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %d: %v, equal %v", i, err, bytes.Equal(got, data))
		}
	}
	// A write crossing an extent boundary.
	if err := submit(d.h, OpWrite, 4<<20-4096, make([]byte, 8192)); err != nil {
		t.Fatal(err)
	}
	if err := submit(d.h, OpFlush, -512, nil); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if err := submit(d.h, OpWrite, int64(d.size), make([]byte, 4096)); err == nil {
		t.Fatal("write beyond the end succeeded")
	}
	l := e.n.minor(0).ld()
	if got := l.oos(); got != 10*16+2 {
		t.Fatalf("out-of-sync bits = %d, want %d", got, 10*16+2)
	}
	sb := readSB(t, disk)
	wantF := metadata.FlagConsistent | metadata.FlagWasUpToDate | metadata.FlagPrimaryInd
	if sb.Flags&(wantF|metadata.FlagALClean) != wantF {
		t.Fatalf("on-disk flags %v, want %v without AL_CLEAN", sb.Flags, wantF)
	}
	if sb.Current() == metadata.UUIDJustCreated || sb.Current()&1 != 1 {
		t.Fatalf("current UUID %#x: want a new one with the primary bit", sb.Current())
	}
	// The on-disk activity log replays to a hot set holding the last
	// extents written.
	f, _ := os.Open(disk)
	al := make([]byte, l.layout.ALSizeBytes())
	_, _ = f.ReadAt(al, int64(l.layout.ALOffset))
	f.Close()
	rp, err := metadata.ReplayAL(al, 1, 8)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	hot := map[uint32]bool{}
	for _, x := range rp.HotExtents() {
		hot[x] = true
	}
	for _, x := range []uint32{9, 8, 1, 0} {
		if !hot[x] {
			t.Fatalf("extent %d not in the on-disk activity log %v", x, rp.HotExtents())
		}
	}

	d.inUse.Store(true)
	e.want(e.req(genl.CmdSecondary, 0), drbd.Reply(drbd.SSDeviceInUse), "secondary while mounted")
	d.inUse.Store(false)
	e.want(e.req(genl.CmdSecondary, 0), success, "secondary")
	if err := submit(d.h, OpWrite, 0, make([]byte, 4096)); err == nil {
		t.Fatal("a Secondary accepted a write")
	}
	e.want(e.req(genl.CmdDelMinor, 0), drbd.Reply(drbd.ErrMinorConfigured), "del-minor while attached")
	e.want(e.req(genl.CmdDetach, 0), success, "detach")
	if s := e.state(0); s.Disk != drbd.DDiskless {
		t.Fatalf("disk %v after detach", s.Disk)
	}
	// as the kernel's: detach returns once the disk is Diskless; the worker
	// releases the backing device right after (an attach waits for that)
	for deadline := time.Now().Add(10 * time.Second); !l.closed.Load() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if !l.closed.Load() {
		t.Fatal("backing device not released after detach")
	}
	// The bitmap written out at detach has the bits.
	f, _ = os.Open(disk)
	raw := make([]byte, 8)
	_, _ = f.ReadAt(raw, int64(l.layout.BMOffset+uint64(2*metadata.BMBytesPerALExt)))
	f.Close()
	if metadata.DecodeBitmap(raw)[0] == 0 {
		t.Fatal("bitmap of extent 2 not on disk after detach")
	}
	e.want(e.req(genl.CmdAttach, 0, diskConf(disk, 7)), drbd.Reply(drbd.ErrMDUnclean), "attach of unclean meta-data")
	e.want(e.req(genl.CmdDown, genl.MinorNone, res("r0")), noError, "down")
	if !d.removed.Load() {
		t.Fatal("block device not removed at down")
	}
	if _, err := os.Lstat(filepath.Join(dir, "dev", "drbd0")); !os.IsNotExist(err) {
		t.Fatalf("drbd0 link left behind: %v", err)
	}
	if e.n.resource("r0") != nil {
		t.Fatal("resource left after down")
	}
}

// Once the disk is Diskless the daemon writes no more meta-data, as the
// kernel's drbd_ldev_destroy writes none: drbdadm's attach runs "drbdmeta
// apply-al" as soon as detach has returned, and a superblock written by
// the release after it would mark the meta-data unclean again, so that
// the attach that follows is refused. The apply-al is made here at the
// moment the Diskless state is committed, before the worker releases the
// backing device.
func TestNoMetaDataWriteAfterDiskless(t *testing.T) {
	dir := t.TempDir()
	disk := mdtest.Disk(t, dir, 64<<20)
	e := start(t, dir, &fakeLayer{})
	e.up(disk, 7)
	e.want(e.req(genl.CmdSecondary, 0), success, "secondary")
	m := e.n.minor(0)
	l := m.ld()
	mdOff := int64(l.layout.MDOffset)
	applied := make(chan error, 1)
	cancel := m.dev.Subscribe(func(c statemachine.StateChange) {
		if c.Old.Disk == drbd.DDiskless || c.New.Disk != drbd.DDiskless {
			return
		}
		applied <- applyAL(disk, mdOff)
	})
	defer cancel()
	e.want(e.req(genl.CmdDetach, 0), success, "detach")
	if err := <-applied; err != nil {
		t.Fatal(err)
	}
	if err := m.dev.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !l.closed.Load() {
		t.Fatal("backing device not released after detach")
	}
	f, err := os.Open(disk)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := metadata.ReadSuperblock(f, mdOff)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !sb.Clean() {
		t.Fatalf("superblock magic %#x flags %v after the release: written after Diskless", sb.Magic, sb.Flags)
	}
	e.want(e.req(genl.CmdAttach, 0, diskConf(disk, 7)), noError, "attach after apply-al")
}

// applyAL marks the superblock at off of disk clean, as drbdmeta apply-al
// leaves it.
func applyAL(disk string, off int64) error {
	f, err := os.OpenFile(disk, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	sb, err := metadata.ReadSuperblock(f, off)
	if err != nil {
		return err
	}
	sb.Magic = metadata.MagicMD08
	sb.Flags |= metadata.FlagALClean
	b, err := sb.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b, off)
	return err
}

// The seed scenario on the host: writers hammer an activity log of 7
// extents while the disk is detached by force; every request completes
// and the disk reaches Diskless (no hang).
func TestForceDetachUnderWriters(t *testing.T) {
	dir := t.TempDir()
	disk := mdtest.Disk(t, dir, 128<<20)
	e := start(t, dir, &fakeLayer{})
	d := e.up(disk, 7)
	e.want(e.req(genl.CmdDetach, 0), drbd.Reply(drbd.SSNoUpToDateDisk), "detach of a StandAlone Primary's only disk")

	var wg sync.WaitGroup
	var stop atomic.Bool
	var ok, failed atomic.Int64
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 1))
			buf := make([]byte, 4096)
			for !stop.Load() {
				if err := submit(d.h, OpWrite, int64(r.IntN(24))<<22+int64(r.IntN(1024))*4096, buf); err != nil {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
			}
		}(uint64(w))
	}
	for ok.Load() < 500 {
		runtimeGosched()
	}
	det := &genl.DetachParms{ForceDetach: true}
	det.Present.Add(genl.DetachParmsForceDetach)
	e.want(e.req(genl.CmdDetach, 0, det), success, "detach --force")
	m := e.n.minor(0)
	if err := m.dev.WaitState(context.Background(), func(s drbd.State) bool { return s.Disk == drbd.DDiskless }); err != nil {
		t.Fatal(err)
	}
	for failed.Load() < 100 {
		runtimeGosched()
	}
	stop.Store(true)
	wg.Wait()
	// the worker's own reference of the Diskless transition goes with the
	// ldev destroy it runs
	if err := m.dev.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m.dev.LocalCount() != 0 {
		t.Fatalf("local references left: %d", m.dev.LocalCount())
	}
	t.Logf("%d writes ok, %d failed after the detach", ok.Load(), failed.Load())
}

// A restarted daemon takes the configuration back, replays its activity
// log and recovers the block device instead of creating a new one.
func TestRestore(t *testing.T) {
	dir := t.TempDir()
	disk := mdtest.Disk(t, dir, 64<<20)
	blocks := &fakeLayer{}
	e := start(t, dir, blocks)
	d := e.up(disk, 67)
	data := bytes.Repeat([]byte("udrbd!!!"), 512)
	if err := submit(d.h, OpWrite, 5<<22, data); err != nil {
		t.Fatal(err)
	}
	// Lose the in-memory bitmap: only the activity log remembers extent 5.
	e.n.minor(0).ld().mu.Lock()
	e.n.minor(0).ld().bm.Clear(5 << 10)
	e.n.minor(0).ld().mu.Unlock()
	e.stop() // the daemon dies; nothing is detached

	blocks.recover = map[int]bool{0: true}
	e2 := start(t, dir, blocks)
	s := e2.state(0)
	if s.Role != drbd.RPrimary || s.Disk != drbd.DUpToDate {
		t.Fatalf("restored state %v/%v, want Primary/UpToDate", s.Role, s.Disk)
	}
	if got := blocks.dev(0); got != d {
		t.Fatal("a new block device was created instead of recovering")
	}
	got := make([]byte, len(data))
	if err := submit(d.h, OpRead, 5<<22, got); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after restore: %v", err)
	}
	if !e2.n.minor(0).ld().bm.Test(5 << 10) {
		t.Fatal("activity-log extent 5 not marked out of sync after restart")
	}

	// the host restarted: no block device survived, so the volume comes up
	// Secondary (the kernel's DRBD after a reboot), with a new block device
	e2.stop()
	blocks.recover = nil
	e3 := start(t, dir, blocks)
	if s := e3.state(0); s.Role != drbd.RSecondary || s.Disk != drbd.DUpToDate {
		t.Fatalf("after a host restart: %v/%v, want Secondary/UpToDate", s.Role, s.Disk)
	}
	if got := blocks.dev(0); got == d {
		t.Fatal("no new block device after a host restart")
	}
}

// The activity log's last extent reaches past the device end; replayed, it
// must set no bit beyond the last block, or a resync could never finish.
func TestRestoreLastExtent(t *testing.T) {
	dir := t.TempDir()
	disk := mdtest.Disk(t, dir, 64<<20)
	blocks := &fakeLayer{}
	e := start(t, dir, blocks)
	d := e.up(disk, 67)
	l := e.n.minor(0).ld()
	if l.Bits()%1024 == 0 {
		t.Fatalf("%d bits: the device ends on an extent boundary, the test needs it not to", l.Bits())
	}
	// in sync (new meta-data starts with every bit set, and the activity
	// log suspended while every bit is)
	l.mu.Lock()
	clear(l.bm)
	l.markAllBitmapDirty()
	l.mu.Unlock()
	l.alSuspended.Store(false)
	if err := l.writeBitmap(); err != nil {
		t.Fatal(err)
	}
	if err := submit(d.h, OpWrite, int64(d.size)-4096, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	e.stop()

	blocks.recover = map[int]bool{0: true}
	e2 := start(t, dir, blocks)
	l = e2.n.minor(0).ld()
	last := (l.Bits() - 1) / 1024 * 1024
	if got, want := l.oos(), l.Bits()-last; got != want {
		t.Fatalf("after the replay %d bits out of sync, want %d (the last extent's bits on the device)", got, want)
	}
	for b := l.Bits(); b < uint64(len(l.bm))*64; b++ {
		if l.bm.Test(b) {
			t.Fatalf("bit %d beyond the device end (%d bits) is set", b, l.Bits())
		}
	}
}

// Events: new-resource broadcasts a resource CREATE; a state change a
// DRBD_EVENT and a device CHANGE.
func TestEvents(t *testing.T) {
	dir := t.TempDir()
	disk := mdtest.Disk(t, dir, 64<<20)
	e := start(t, dir, &fakeLayer{})
	if err := e.c.JoinEvents(); err != nil {
		t.Fatal(err)
	}
	e.req(genl.CmdNewResource, genl.MinorNone, res("r0"))
	e.req(genl.CmdNewMinor, 0, res("r0", 0))
	e.req(genl.CmdAttach, 0, diskConf(disk, 7))
	seen := map[genl.Cmd]int{}
	var nh []uint32
	for seen[genl.CmdEvent] < 2 {
		evs, err := e.c.ReceiveEvents()
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			seen[ev.Msg.Cmd]++
			if h, _ := genl.Get[*genl.NotificationHeader](ev.Msg); h != nil {
				nh = append(nh, h.NHType)
			}
		}
	}
	if seen[genl.CmdResourceState] == 0 || seen[genl.CmdDeviceState] == 0 || nh[0] != genl.NotifyCreate {
		t.Fatalf("events %v, notification types %v", seen, nh)
	}
	// The initial-state dump ends with INITIAL_STATE_DONE.
	// A connection of its own: this one may still hold queued events.
	c2, err := client.Dial(e.srv.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	var cmds []genl.Cmd
	var ci *genl.ConnectionInfo
	var pi *genl.PeerDeviceInfo
	var nhs []uint32
	err = c2.Dump(&genl.Message{Cmd: genl.CmdGetInitialState, Version: 1, Minor: genl.MinorNone}, func(m *genl.Message) error {
		cmds = append(cmds, m.Cmd)
		if h, _ := genl.Get[*genl.NotificationHeader](m); h != nil {
			nhs = append(nhs, h.NHType)
		}
		if c, _ := genl.Get[*genl.ConnectionInfo](m); c != nil {
			ci = c
		}
		if p, _ := genl.Get[*genl.PeerDeviceInfo](m); p != nil {
			pi = p
		}
		return nil
	})
	// As drbd 8.4 sends it: the resource, its (StandAlone) connection, the device, the
	// peer device, then INITIAL_STATE_DONE; all but the last of an object group continue.
	want := []genl.Cmd{genl.CmdResourceState, genl.CmdConnectionState, genl.CmdDeviceState,
		genl.CmdPeerDeviceState, genl.CmdInitialStateDone}
	if err != nil || !slices.Equal(cmds, want) {
		t.Fatalf("initial state dump %v, %v; want %v", cmds, err, want)
	}
	c, x := genl.NotifyContinues, genl.NotifyExists
	if !slices.Equal(nhs, []uint32{x | c, x | c, x | c, x, x}) {
		t.Fatalf("notification types %#x", nhs)
	}
	if ci == nil || ci.ConnConnectionState != uint32(drbd.CStandAlone) || ci.ConnRole != uint32(drbd.RUnknown) {
		t.Fatalf("connection info %+v", ci)
	}
	if pi == nil || pi.PeerReplState != uint32(drbd.CWFReportParams) || pi.PeerDiskState != uint32(drbd.DUnknown) {
		t.Fatalf("peer device info %+v", pi)
	}
}

// The other admin ops change what the kernel's do, on the state word and
// on disk.
func TestAdminOps(t *testing.T) {
	dir := t.TempDir()
	disk := mdtest.Disk(t, dir, 64<<20)
	e := start(t, dir, &fakeLayer{})
	d := e.up(disk, 67)
	m := e.n.minor(0)

	sb0 := readSB(t, disk)
	uuid := sb0.Current()
	e.want(e.req(genl.CmdNewCUUID, 0), noError, "new-current-uuid")
	sb := readSB(t, disk)
	if sb.Current() == uuid || sb.Bitmap()|1 != uuid|1 {
		t.Fatalf("new-current-uuid: current %#x bitmap %#x, old current %#x", sb.Current(), sb.Bitmap(), uuid)
	}
	if err := submit(d.h, OpWrite, 0, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	clr := &genl.NewCUUIDParms{ClearBM: true}
	clr.Present.Add(genl.NewCUUIDParmsClearBM)
	cur := sb.Current()
	e.want(e.req(genl.CmdNewCUUID, 0, clr), noError, "new-current-uuid --clear-bitmap")
	// drbd_adm_new_c_uuid: the old bitmap UUID goes to the history, the old
	// current becomes the bitmap UUID, and only the bits are cleared (the
	// bitmap UUID is zeroed only when skipping the initial sync)
	if sb2 := readSB(t, disk); m.ld().oos() != 0 || sb2.Bitmap() != cur || sb2.UUID[metadata.UIHistoryStart]|1 != uuid|1 {
		t.Fatalf("--clear-bitmap: %d bits, UUIDs %016X, want no bits, bitmap %016X, history %016X", m.ld().oos(), sb2.UUID, cur, uuid)
	}

	e.want(e.req(genl.CmdSuspendIO, 0), success, "suspend-io")
	if !e.state(0).Susp {
		t.Fatal("not suspended")
	}
	done := make(chan error, 1)
	d.h.Submit(&IO{Op: OpWrite, Offset: 0, Length: 4096, Buf: make([]byte, 4096), Done: func(err error) { done <- err }})
	e.want(e.req(genl.CmdResumeIO, 0), success, "resume-io")
	if err := <-done; err != nil {
		t.Fatalf("write held over suspend-io: %v", err)
	}

	io := &genl.DiskConf{OnIOError: uint32(drbd.EPPassOn)}
	io.Present.Add(genl.DiskConfOnIOError)
	e.want(e.req(genl.CmdChgDiskOpts, 0, io), noError, "disk-options --on-io-error=pass_on")
	if m.dev.Config().OnIOError != drbd.EPPassOn {
		t.Fatal("on-io-error not applied")
	}
	inv := &genl.DiskConf{BackingDev: "/other"}
	inv.Present.Add(genl.DiskConfBackingDev)
	e.want(e.req(genl.CmdChgDiskOpts, 0, inv), drbd.Reply(drbd.ErrMandatoryTag), "disk-options changing an invariant")

	ond := &genl.ResOpts{OnNoData: uint32(drbd.ONDSuspendIO)}
	ond.Present.Add(genl.ResOptsOnNoData)
	e.want(e.req(genl.CmdResourceOpts, genl.MinorNone, res("r0"), ond), noError, "resource-options")
	if m.dev.Config().OnNoData != drbd.ONDSuspendIO {
		t.Fatal("on-no-data-accessible not applied")
	}

	e.want(e.req(genl.CmdOutdate, 0), drbd.Reply(drbd.SSNoUpToDateDisk), "outdate a Primary")
	e.want(e.req(genl.CmdSecondary, 0), success, "secondary")
	e.want(e.req(genl.CmdOutdate, 0), success, "outdate")
	if e.state(0).Disk != drbd.DOutdated {
		t.Fatalf("disk %v after outdate", e.state(0).Disk)
	}
	if f := readSB(t, disk).Flags; f&metadata.FlagConsistent == 0 || f&metadata.FlagWasUpToDate != 0 {
		t.Fatalf("on-disk flags after outdate: %v", f)
	}
	e.want(e.req(genl.CmdInvalidate, 0), success, "invalidate")
	if e.state(0).Disk != drbd.DInconsistent || m.ld().oos() != (m.ld().capacity+7)/8 {
		t.Fatalf("after invalidate: disk %v, %d bits", e.state(0).Disk, m.ld().oos())
	}
	e.want(e.req(genl.CmdConnect, genl.MinorNone, res("r0")), drbd.Reply(drbd.ErrInvalidRequest), "connect")
}
