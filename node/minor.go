package node

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"udrbd/actlog"
	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/metadata"
	"udrbd/peer"
	"udrbd/statemachine"
)

// Minor is one DRBD minor (a volume of a resource): its state engine,
// its block device and, while attached, its backing device.
type Minor struct {
	n     *Node
	res   *Resource
	minor uint32
	vol   uint32
	dev   *statemachine.Device
	log   *slog.Logger

	mu       sync.Mutex
	block    BlockDevice
	diskConf *genl.DiskConf // the attached (or last attached) disk_conf
	edUUID   uint64         // exposed data UUID
	noBlock  bool           // attach must not create the block device (restore)
	exposed  atomic.Uint64  // the exposed size in sectors (0: none yet); read by the data path without mu
	pd       atomic.Pointer[peer.PeerDevice]
	obs      WriteObserver // nil: writes are not timed; set at creation

	reads, writes atomic.Uint64 // KiB, for statistics
	creating      atomic.Bool   // the block device is being made: its reads are the kernel's partition probe
	upper         atomic.Int32  // requests in flight
	ctx           context.Context
	cancel        context.CancelFunc
}

func newMinor(n *Node, r *Resource, minor, vol uint32) *Minor {
	m := &Minor{n: n, res: r, minor: minor, vol: vol,
		log: n.log.With("resource", r.name, "minor", minor)}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.dev = statemachine.New(m, minorPeer{m}, statemachine.Config{OnNoData: drbd.OnNoData(r.opts.OnNoData)})
	m.dev.Subscribe(m.stateChanged)
	if n.opts.Observe != nil {
		m.obs = n.opts.Observe(r.name, vol)
	}
	pd := r.conn.AddVolume(m)
	if m.obs != nil {
		pd.SetObserver(m.obs)
	}
	m.pd.Store(pd)
	return m
}

// ld returns the attached backing device; the caller holds a reference.
func (m *Minor) ld() *ldev {
	l, _ := m.dev.Ldev().(*ldev)
	return l
}

// Execute runs the state engine's I/O effects (the worker's part of
// after_state_ch, go_diskless and drbd_ldev_destroy).
func (m *Minor) Execute(d *statemachine.Device, e statemachine.Effect) error {
	switch e.Kind {
	case statemachine.EffMDSync:
		if d.GetLdevIfState(drbd.DFailed) {
			l := m.ld()
			if e.FullSync {
				l.mu.Lock()
				l.sb.Flags |= metadata.FlagFullSync
				l.mu.Unlock()
			}
			if err := l.writeSuperblock(); err != nil {
				m.log.Error("meta data update failed!", "err", err)
				d.IOError(statemachine.MetaIOError)
			}
			d.PutLdev()
		}
	case statemachine.EffBitmapWrite:
		if d.GetLdevIfState(drbd.DFailed) {
			if err := m.ld().writeBitmap(); err != nil {
				m.log.Error("bitmap write failed", "reason", e.Reason, "err", err)
			}
			d.PutLdev()
		}
	case statemachine.EffDestroyLdev:
		// No meta-data writes here, as drbd_ldev_destroy makes none: the
		// bitmap went out in go_diskless and the superblock at Failed,
		// and the disk is Diskless already, so that drbdmeta (apply-al
		// before the next attach) may own the meta-data now.
		if l, ok := e.Ldev.(*ldev); ok {
			l.close()
			m.log.Info("backing device released", "disk", l.cfg().BackingDev)
		}
	case statemachine.EffHelper:
		m.n.runHelper(m, e.Helper)
	case statemachine.EffSendState:
		if pd := m.peerDevice(); pd != nil {
			pd.SendState(e.State)
		}
	case statemachine.EffSendUUIDs:
		if pd := m.peerDevice(); pd != nil {
			pd.SendUUIDs()
		}
	case statemachine.EffSendSizes:
		if pd := m.peerDevice(); pd != nil {
			pd.SendSizes()
		}
	}
	return nil
}

// stateChanged runs on the worker for every committed change: the meta-data
// flags follow the state (after_state_ch), and the change is broadcast.
func (m *Minor) stateChanged(c statemachine.StateChange) {
	m.log.Info("state change", "from", stateString(c.Old), "to", stateString(c.New))
	if c.Old.Conn < drbd.CConnected && c.New.Conn >= drbd.CConnected && m.dev.GetLdevIfState(drbd.DInconsistent) {
		// drbd_resume_al: with a connection, writes go through the activity log again
		if m.ld().alSuspended.Swap(false) {
			m.log.Info("Resumed AL updates")
		}
		m.dev.PutLdev()
	}
	if pd := m.peerDevice(); pd != nil {
		pd.AfterStateChange(c.Old, c.New)
	}
	if c.New.Disk >= drbd.DInconsistent && m.dev.GetLdevIfState(drbd.DInconsistent) {
		l := m.ld()
		l.mu.Lock()
		f := l.sb.Flags &^ (metadata.FlagConsistent | metadata.FlagPrimaryInd | metadata.FlagConnectedInd |
			metadata.FlagWasUpToDate | metadata.FlagPeerOutDated | metadata.FlagCrashedPrimary | metadata.FlagALClean)
		if c.New.Role == drbd.RPrimary {
			f |= metadata.FlagPrimaryInd
		}
		if c.New.Conn > drbd.CWFReportParams {
			f |= metadata.FlagConnectedInd
		}
		if c.New.Disk > drbd.DInconsistent {
			f |= metadata.FlagConsistent
		}
		if c.New.Disk > drbd.DOutdated {
			f |= metadata.FlagWasUpToDate
		}
		if c.New.Pdsk <= drbd.DOutdated && c.New.Pdsk >= drbd.DInconsistent {
			f |= metadata.FlagPeerOutDated
		}
		if f != l.sb.Flags {
			l.sb.Flags = f
			l.mdDirty = true
		}
		dirty := l.mdDirty
		l.mu.Unlock()
		if dirty {
			if err := l.writeSuperblock(); err != nil {
				m.dev.IOError(statemachine.MetaIOError)
			}
		}
		m.dev.PutLdev()
	}
	m.n.broadcastStateChange(m, c)
	if (c.New.Disk == drbd.DDiskless) != (c.Old.Disk == drbd.DDiskless) || c.New.Role != c.Old.Role {
		// An IO error may have detached the disk: the next daemon must
		// not re-attach it. (Asynchronous: the worker never waits.)
		go m.n.saveConfig()
	}
}

// Submit is the data path (drbd_make_request). A read or write that can
// go through without waiting (see serveInline) is served on the caller's
// goroutine, the ublk queue's; every other request runs in a goroutine of
// its own, so that the queue never blocks on the IO gate, the activity log
// or a conflicting write.
func (m *Minor) Submit(io *IO) {
	var arrived time.Time // zero: not timed
	if m.obs != nil && isWrite(io.Op) {
		arrived = time.Now()
	}
	if m.serveInline(io, arrived) {
		return
	}
	go m.serve(io, arrived)
}

// serveInline serves io without a goroutine of its own when nothing on its
// way would wait: it is no larger than peer.InlineMax, the IO gate admits
// it at once, the disk is attached and is a buffered file (not a block
// device, whose O_DIRECT requests are left to run side by side), a read
// may be served locally, and a write is not
// FUA, finds every activity-log extent hot and no overlapping write or
// resync read in flight. It is the same request path as serve, with the
// same references held for the same time: a read and an unreplicated
// write complete before it returns, a replicated write once its network
// half is done (from the goroutine that receives the ack). It reports
// false, holding nothing and having done nothing, for a request serve must
// take; a local read that fails is left to serve too, which reads again
// and reports the error.
func (m *Minor) serveInline(io *IO, arrived time.Time) bool {
	if (io.Op != OpRead && io.Op != OpWrite) || io.FUA || io.Offset < 0 || io.Length > peer.InlineMax {
		return false
	}
	if !m.dev.TryIncApBio() {
		return false
	}
	st := m.dev.State()
	if (io.Op == OpWrite && st.Role != drbd.RPrimary) || !m.dev.GetLdev() {
		m.dev.DecApBio()
		return false
	}
	l := m.ld()
	refuse := func() bool {
		m.dev.PutLdev()
		m.dev.DecApBio()
		return false
	}
	if !l.InlineWrites() || uint64(io.Offset)+uint64(io.Length) > m.Capacity()<<9 {
		return refuse()
	}
	buf := io.Buf[:io.Length]
	if io.Op == OpRead {
		if !mayReadLocally(st, l, io.Offset, io.Length) {
			return refuse()
		}
		m.upper.Add(1)
		if _, err := l.data.ReadAt(buf, io.Offset); err != nil {
			m.upper.Add(-1)
			return refuse()
		}
		if !m.creating.Load() {
			m.reads.Add(uint64(io.Length) >> 10)
		}
		m.dev.PutLdev()
		m.end(io, arrived, nil)
		return true
	}
	useAL := !l.alSuspended.Load()
	first, last := actlog.Extent(uint64(io.Offset)), actlog.Extent(uint64(io.Offset)+uint64(max(io.Length, 1))-1)
	if useAL && !l.al.TryBeginIORange(first, last) {
		return refuse()
	}
	var r *peer.Request
	if pd := m.peerDevice(); pd != nil {
		var ok bool
		r, ok = pd.TryStartWrite(peer.Write{Sector: uint64(io.Offset) >> 9, Size: io.Length, Data: buf})
		if !ok {
			if useAL {
				l.al.CompleteIORange(first, last)
			}
			return refuse()
		}
	}
	m.upper.Add(1)
	m.writes.Add(uint64(io.Length) >> 10)
	// The local and the network half end in either order; the second
	// completes the request. Each sets its result before its Add.
	w := &io.inline
	*w = inlineWrite{m: m, l: l, io: io, r: r, arrived: arrived, useAL: useAL, first: first, last: last}
	if r == nil {
		w.left.Store(1)
		w.localOK = m.localWrite(l, io)
		w.finish()
		return true
	}
	w.left.Store(2)
	if io.netDone == nil {
		io.netDone = w.netHalfDone // bound once: the IO is reused (IO.Done)
	}
	r.Then(io.netDone)
	w.localOK = m.localWrite(l, io)
	w.finish()
	return true
}

// inlineWrite is a write on serveInline's path between its two halves.
type inlineWrite struct {
	m           *Minor
	l           *ldev
	io          *IO
	r           *peer.Request // nil: not replicated
	arrived     time.Time
	useAL       bool
	first, last uint32 // its activity-log extents
	localOK     bool
	netOK       bool
	left        atomic.Int32 // halves not done
}

// netHalfDone is the network half's end (Request.Then).
func (w *inlineWrite) netHalfDone(ok bool) {
	if !ok && w.m.dev.State().SuspFen {
		// frozen for fencing: hold the write, off the ack path
		go func() {
			w.m.waitUnfrozen()
			w.finish()
		}()
		return
	}
	w.netOK = ok
	w.finish()
}

// finish ends one half; the second completes the request.
func (w *inlineWrite) finish() {
	if w.left.Add(-1) != 0 {
		return
	}
	m, l, io := w.m, w.l, w.io
	if w.r != nil {
		w.r.Complete()
	} else {
		l.setOutOfSync(io.Offset, io.Length)
	}
	if w.useAL {
		l.al.CompleteIORange(w.first, w.last)
	}
	m.dev.PutLdev()
	var err error
	if !w.localOK && !w.netOK {
		err = errIO
	}
	m.end(io, w.arrived, err)
}

var (
	errIO   = unix.EIO
	errRO   = unix.EIO
	errNoSp = unix.ENOSPC
)

func (m *Minor) serve(io *IO, arrived time.Time) {
	if err := m.dev.IncApBio(m.ctx); err != nil {
		io.Done(errIO)
		return
	}
	m.upper.Add(1)
	err := m.do(io)
	if err != nil {
		m.log.Debug("request failed", "op", io.Op, "offset", io.Offset, "length", io.Length, "err", err)
	}
	m.end(io, arrived, err)
}

// end finishes an admitted request: it leaves the requests in flight and
// the IO gate (dec_ap_bio) and completes io with err. A timed write that
// succeeded is observed before the completion, so that whoever saw it
// complete also sees it counted.
func (m *Minor) end(io *IO, arrived time.Time, err error) {
	m.upper.Add(-1)
	m.dev.DecApBio()
	if err == nil && !arrived.IsZero() {
		m.obs.ObserveApplicationWrite(time.Since(arrived))
	}
	io.Done(err)
}

func (m *Minor) do(io *IO) error {
	st := m.dev.State()
	if io.Op != OpRead && io.Op != OpFlush && st.Role != drbd.RPrimary {
		return errRO
	}
	pd := m.peerDevice()
	var l *ldev
	if m.dev.GetLdev() {
		defer m.dev.PutLdev()
		l = m.ld()
	}
	if l == nil && (pd == nil || (!peer.CanReadRemote(st) && !peer.ShouldReplicate(st))) {
		// Diskless and no peer with data: nothing to read from or write to.
		return errIO
	}
	if io.Op != OpFlush && (io.Offset < 0 || uint64(io.Offset)+uint64(io.Length) > m.Capacity()<<9) {
		return errNoSp
	}
	switch io.Op {
	case OpRead:
		if !m.creating.Load() { // the kernel's DRBD device sees no partition probe
			m.reads.Add(uint64(io.Length) >> 10)
		}
		if l != nil && mayReadLocally(st, l, io.Offset, io.Length) {
			_, err := l.data.ReadAt(io.Buf[:io.Length], io.Offset)
			if err == nil {
				return nil
			}
			m.log.Error("local read failed", "offset", io.Offset, "err", err)
			m.dev.IOError(statemachine.ReadError)
		}
		if pd != nil && peer.CanReadRemote(m.dev.State()) {
			if err := pd.Read(io.Buf[:io.Length], uint64(io.Offset)>>9); err == nil {
				return nil
			}
		}
		return errIO
	case OpFlush:
		var err error
		if l != nil && l.cfg().DiskFlushes {
			if err = unix.Fdatasync(int(l.data.Fd())); err != nil {
				m.dev.IOError(statemachine.WriteError)
			}
		}
		if pd != nil {
			pd.StartWrite(peer.Write{}) // an empty flush closes the epoch
		}
		if err != nil && l != nil && !peer.ShouldReplicate(m.dev.State()) {
			return errIO
		}
		return nil
	}
	// Writes: the activity log covers every extent first, then the write
	// goes to the peer and to the local disk.
	m.writes.Add(uint64(io.Length) >> 10)
	useAL := l != nil && !l.alSuspended.Load()
	firstExt, lastExt := actlog.Extent(uint64(io.Offset)), actlog.Extent(uint64(io.Offset)+uint64(max(io.Length, 1))-1)
	if useAL {
		l.al.BeginIORange(firstExt, lastExt)
		defer l.al.CompleteIORange(firstExt, lastExt)
	}
	var r *peer.Request
	if pd != nil {
		w := peer.Write{Sector: uint64(io.Offset) >> 9, Size: io.Length, FUA: io.FUA, NoUnmap: io.NoUnmap}
		switch io.Op {
		case OpWrite:
			w.Data = io.Buf[:io.Length]
		case OpDiscard:
			w.Kind = peer.KindDiscard
		case OpWriteZeroes:
			w.Kind = peer.KindZeroes
		}
		r = pd.StartWrite(w)
	}
	// The local write goes on while the peer's ack is awaited: on this
	// goroutine, or on an unbound writer (a large write of a pinned daemon).
	var localDone <-chan bool
	localOK := false
	if u := m.n.unboundFor(io); u != nil && l != nil {
		localDone = u.start(func() bool { return m.localWrite(l, io) })
	} else {
		localOK = l != nil && m.localWrite(l, io)
	}
	netOK := false
	if r != nil {
		netOK = r.Wait()
	}
	if localDone != nil {
		localOK = <-localDone
	}
	if r != nil {
		if !netOK {
			m.waitUnfrozen()
		}
		r.Complete()
	} else if l != nil {
		l.setOutOfSync(io.Offset, io.Length)
	}
	if !localOK && !netOK {
		return errIO
	}
	return nil
}

// waitUnfrozen holds a write that lost its peer while IO is frozen for
// fencing (susp_fen, resource-and-stonith): it completes once the
// fence-peer handler outdated the peer, the connection came back, or IO was
// resumed, never before (the kernel keeps such requests in the transfer
// log until then).
func (m *Minor) waitUnfrozen() {
	if !m.dev.State().SuspFen {
		return
	}
	_ = m.dev.WaitState(m.ctx, func(s drbd.State) bool { return !s.SuspFen })
}

// mayReadLocally is drbd_may_do_local_read: UpToDate data, or an
// Inconsistent disk whose blocks of the range are in sync.
func mayReadLocally(st drbd.State, l *ldev, off int64, n int) bool {
	if st.Disk == drbd.DUpToDate {
		return true
	}
	if st.Disk != drbd.DInconsistent {
		return false
	}
	first := uint64(off) >> metadata.BMBlockShift
	last := (uint64(off) + uint64(max(n, 1)) - 1) >> metadata.BMBlockShift
	return l.FindNext(first) > last
}

// localWrite is the local half of a write: writeLocal, timed; a failure
// is logged and reported to the state engine. It reports success.
func (m *Minor) localWrite(l *ldev, io *IO) bool {
	var began time.Time
	if m.obs != nil {
		began = time.Now()
	}
	if err := m.writeLocal(l, io); err != nil {
		m.log.Error("local write failed", "op", io.Op, "offset", io.Offset, "err", err)
		m.dev.IOError(statemachine.WriteError)
		return false
	}
	if m.obs != nil {
		m.obs.ObserveLocalWrite(time.Since(began))
	}
	return true
}

// writeLocal writes a request's data (or zeroes a range) on the backing
// device, FUA included.
func (m *Minor) writeLocal(l *ldev, io *IO) error {
	switch io.Op {
	case OpWrite:
		if _, err := l.data.WriteAt(io.Buf[:io.Length], io.Offset); err != nil {
			return err
		}
	case OpDiscard:
		// a discard that cannot be done is no error
		_ = zeroRange(l, io.Offset, int64(io.Length), false)
	case OpWriteZeroes:
		if err := zeroRange(l, io.Offset, int64(io.Length), io.NoUnmap); err != nil {
			return err
		}
	default:
		return errors.New("unsupported op")
	}
	if io.FUA && l.cfg().DiskFlushes {
		return unix.Fdatasync(int(l.data.Fd()))
	}
	return nil
}

// attach is drbd_adm_attach around the state engine.
func (m *Minor) attach(ctx context.Context, conf *genl.DiskConf, replayAL bool) (drbd.Reply, error) {
	var opened *ldev
	var openErr error
	p := statemachine.AttachParams{
		Open: func() (any, uint32, drbd.RetCode) {
			l, code, err := openLdev(conf, replayAL)
			if code != drbd.NoError {
				openErr = err
				return nil, 0, code
			}
			l.alw.onErr = func(error) { m.dev.IOError(statemachine.MetaIOError) }
			opened = l
			return l, uint32(l.sb.Flags), drbd.NoError
		},
		Release: func(x any) {
			if l, ok := x.(*ldev); ok {
				l.close()
			}
		},
		Check: func() drbd.RetCode {
			// The exposed device must fit on the new disk.
			m.mu.Lock()
			b := m.block
			m.mu.Unlock()
			if b != nil && uint64(b.Size())>>9 > opened.capacity && !b.InUse() {
				return drbd.NoError // recreated below
			}
			if b != nil && uint64(b.Size())>>9 > opened.capacity {
				return drbd.ErrDiskTooSmall
			}
			return drbd.NoError
		},
		OnIOError: drbd.IOErrorPolicy(conf.OnIOError),
		Fencing:   drbd.FencingPolicy(conf.Fencing),
	}
	rep := m.dev.Attach(ctx, p)
	if rep != drbd.Reply(drbd.NoError) {
		return rep, openErr
	}
	m.mu.Lock()
	c := *conf
	m.diskConf = &c
	m.mu.Unlock()
	m.res.bumpWriteOrdering(m.n)
	if m.dev.GetLdevIfState(drbd.DInconsistent) {
		l := m.ld()
		m.SetEdUUID(l.sb.Current())
		m.dev.PutLdev()
		if m.noBlock {
			return rep, nil
		}
		if err := m.ensureBlock(int64(l.capacity << 9)); err != nil {
			m.log.Error("cannot expose block device", "err", err)
		}
	}
	return rep, nil
}

// ensureBlock makes sure the block device exists with the given size.
func (m *Minor) ensureBlock(size int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.block != nil {
		if m.block.Size() == size || m.block.InUse() {
			return nil
		}
		if err := m.block.Remove(); err != nil {
			return err
		}
		m.block = nil
	}
	if m.n.opts.Blocks == nil {
		return nil
	}
	m.exposed.Store(uint64(size) >> 9) // requests come in while Create runs (the partition scan)
	m.creating.Store(true)
	b, err := m.n.opts.Blocks.Create(int(m.minor), size, m)
	m.creating.Store(false)
	if err != nil {
		return err
	}
	m.block = b
	m.log.Info("block device up", "path", b.Path(), "bytes", size)
	return nil
}

// recoverBlock re-attaches to a device a previous daemon left behind.
func (m *Minor) recoverBlock() error {
	if m.n.opts.Blocks == nil {
		return nil
	}
	b, err := m.n.opts.Blocks.Recover(int(m.minor), m)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.block = b
	m.mu.Unlock()
	m.log.Info("block device recovered", "path", b.Path())
	return nil
}

func (m *Minor) inUse() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.block != nil && m.block.InUse()
}

// setRole is drbd_set_role plus what drbd_adm_set_role does after a
// successful promotion (new current UUID when forced or without a peer).
func (m *Minor) setRole(ctx context.Context, role drbd.Role, force bool) drbd.Reply {
	open := 0
	if m.inUse() {
		open = 1
	}
	m.dev.SetOpenCount(open)
	before := m.dev.State()
	rep := m.dev.SetRole(ctx, role, force)
	if drbd.StateRV(rep) < drbd.SSSuccess || drbd.StateRV(rep) == drbd.SSNothingToDo {
		return rep
	}
	forced := role == drbd.RPrimary && force && before.Disk < drbd.DUpToDate
	if forced {
		m.log.Warn("Forced to consider local data as UpToDate!")
	}
	if m.dev.GetLdevIfState(drbd.DInconsistent) {
		l := m.ld()
		l.mu.Lock()
		if role == drbd.RPrimary {
			cur := m.dev.State()
			if ((cur.Conn < drbd.CConnected || cur.Pdsk <= drbd.DFailed) && l.sb.Bitmap() == 0) || forced {
				l.sb.NewCurrent(rand.Uint64(), true)
			}
			l.sb.SetUUIDRaw(metadata.UICurrent, l.sb.Current(), true)
		} else {
			l.sb.SetUUIDRaw(metadata.UICurrent, l.sb.Current(), false)
		}
		m.SetEdUUID(l.sb.Current())
		l.mdDirty = true
		l.mu.Unlock()
		if err := l.writeSuperblock(); err != nil {
			m.dev.IOError(statemachine.MetaIOError)
		}
		m.dev.PutLdev()
	}
	if pd := m.peerDevice(); pd != nil && m.dev.State().Conn >= drbd.CWFReportParams {
		// if this was forced, the peer should consider a resync
		if forced {
			pd.SendUUIDs()
		}
		pd.SendState(m.dev.State())
	}
	return rep
}

// removeBlock removes the block device (del-minor).
func (m *Minor) removeBlock() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.block == nil {
		return nil
	}
	if err := m.block.Remove(); err != nil {
		return err
	}
	m.block = nil
	return nil
}

func (m *Minor) close() {
	m.cancel()
	m.dev.Close()
}

var _ = os.ErrNotExist

func alignedZeros(n int) []byte {
	b := make([]byte, n+4096)
	off := int(-uintptr(unsafe.Pointer(&b[0])) & 4095)
	return b[off : off+n]
}

func stateString(s drbd.State) string {
	return s.Role.String() + "/" + s.Conn.String() + "/" + s.Disk.String() + "/" + s.Pdsk.String()
}
