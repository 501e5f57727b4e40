package node

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"udrbd/actlog"
	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/metadata"
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

	reads, writes atomic.Uint64 // KiB, for statistics
	upper         atomic.Int32  // requests in flight
	ctx           context.Context
	cancel        context.CancelFunc
}

func newMinor(n *Node, r *Resource, minor, vol uint32) *Minor {
	m := &Minor{n: n, res: r, minor: minor, vol: vol,
		log: n.log.With("resource", r.name, "minor", minor)}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.dev = statemachine.New(m, nil, statemachine.Config{OnNoData: drbd.OnNoData(r.opts.OnNoData)})
	m.dev.Subscribe(m.stateChanged)
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
		if l, ok := e.Ldev.(*ldev); ok {
			_ = l.writeBitmap()
			_ = l.writeSuperblock()
			l.close()
			m.log.Info("backing device released", "disk", l.conf.BackingDev)
		}
	case statemachine.EffHelper:
		m.n.runHelper(m, e.Helper)
	}
	return nil
}

// stateChanged runs on the worker for every committed change: the meta-data
// flags follow the state (after_state_ch), and the change is broadcast.
func (m *Minor) stateChanged(c statemachine.StateChange) {
	m.log.Info("state change", "from", stateString(c.Old), "to", stateString(c.New))
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

// Submit is the data path (drbd_make_request): each request runs in its
// own goroutine so the queue never blocks on the IO gate or the log.
func (m *Minor) Submit(io *IO) {
	go m.serve(io)
}

var (
	errIO   = unix.EIO
	errRO   = unix.EIO
	errNoSp = unix.ENOSPC
)

func (m *Minor) serve(io *IO) {
	if err := m.dev.IncApBio(m.ctx); err != nil {
		io.Done(errIO)
		return
	}
	m.upper.Add(1)
	err := m.do(io)
	if err != nil {
		m.log.Debug("request failed", "op", io.Op, "offset", io.Offset, "length", io.Length, "err", err)
	}
	m.upper.Add(-1)
	m.dev.DecApBio()
	io.Done(err)
}

func (m *Minor) do(io *IO) error {
	st := m.dev.State()
	if io.Op != OpRead && io.Op != OpFlush && st.Role != drbd.RPrimary {
		return errRO
	}
	if !m.dev.GetLdev() {
		// Diskless and no peer: nothing to read from or write to.
		return errIO
	}
	defer m.dev.PutLdev()
	l := m.ld()
	if l == nil {
		return errIO
	}
	if io.Op != OpFlush && (io.Offset < 0 || uint64(io.Offset)+uint64(io.Length) > l.capacity<<9) {
		return errNoSp
	}
	switch io.Op {
	case OpRead:
		m.reads.Add(uint64(io.Length) >> 10)
		if _, err := l.data.ReadAt(io.Buf[:io.Length], io.Offset); err != nil {
			m.log.Error("local read failed", "offset", io.Offset, "err", err)
			m.dev.IOError(statemachine.ReadError)
			return errIO
		}
		return nil
	case OpFlush:
		if l.conf.DiskFlushes {
			if err := unix.Fdatasync(int(l.data.Fd())); err != nil {
				m.dev.IOError(statemachine.WriteError)
				return errIO
			}
		}
		return nil
	}
	// Writes: extent by extent through the activity log.
	m.writes.Add(uint64(io.Length) >> 10)
	off, n := io.Offset, io.Length
	for n > 0 {
		enr := actlog.Extent(uint64(off))
		extEnd := int64(enr+1) << actlog.ExtentShift
		chunk := int(min(int64(n), extEnd-off))
		useAL := !l.alSuspended.Load()
		if useAL {
			l.al.BeginIO(enr)
		}
		err := m.writeChunk(l, io, off, chunk, io.Length-n)
		l.setOutOfSync(off, chunk)
		if useAL {
			l.al.CompleteIO(enr)
		}
		if err != nil {
			m.log.Error("local write failed", "op", io.Op, "offset", off, "err", err)
			m.dev.IOError(statemachine.WriteError)
			return errIO
		}
		off += int64(chunk)
		n -= chunk
	}
	if io.FUA && l.conf.DiskFlushes {
		if err := unix.Fdatasync(int(l.data.Fd())); err != nil {
			m.dev.IOError(statemachine.WriteError)
			return errIO
		}
	}
	return nil
}

func (m *Minor) writeChunk(l *ldev, io *IO, off int64, n, bufOff int) error {
	switch io.Op {
	case OpWrite:
		_, err := l.data.WriteAt(io.Buf[bufOff:bufOff+n], off)
		return err
	case OpDiscard, OpWriteZeroes:
		mode := uint32(unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE)
		if io.Op == OpWriteZeroes && io.NoUnmap {
			mode = unix.FALLOC_FL_ZERO_RANGE | unix.FALLOC_FL_KEEP_SIZE
		}
		err := unix.Fallocate(int(l.data.Fd()), mode, off, int64(n))
		if err == nil || io.Op == OpDiscard {
			return nil // a discard that cannot be done is no error
		}
		// Fall back to writing zeros (page aligned, for O_DIRECT).
		z := alignedZeros(min(n, 1<<20))
		for done := 0; done < n; {
			c := min(len(z), n-done)
			if _, err := l.data.WriteAt(z[:c], off+int64(done)); err != nil {
				return err
			}
			done += c
		}
		return nil
	}
	return errors.New("unsupported op")
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
		m.edUUID = l.sb.Current()
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
	b, err := m.n.opts.Blocks.Create(int(m.minor), size, m)
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
	if m.dev.GetLdevIfState(drbd.DInconsistent) {
		l := m.ld()
		l.mu.Lock()
		if role == drbd.RPrimary {
			forced := force && before.Disk < drbd.DUpToDate
			if (before.Conn < drbd.CConnected && l.sb.Bitmap() == 0) || forced {
				l.sb.NewCurrent(rand.Uint64(), true)
			}
			l.sb.SetUUIDRaw(metadata.UICurrent, l.sb.Current(), true)
		} else {
			l.sb.SetUUIDRaw(metadata.UICurrent, l.sb.Current(), false)
		}
		m.edUUID = l.sb.Current()
		l.mdDirty = true
		l.mu.Unlock()
		if err := l.writeSuperblock(); err != nil {
			m.dev.IOError(statemachine.MetaIOError)
		}
		m.dev.PutLdev()
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
