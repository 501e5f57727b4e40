package node

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"udrbd/actlog"
	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/metadata"
)

// minMDDeviceSect is the smallest flexible meta-data device the kernel
// accepts at attach (2<<10 sectors, 1 MiB).
const minMDDeviceSect = 2 << 10

// ldev is an attached backing device: the data file, the meta-data file
// (the same one for internal meta-data), the superblock, the in-memory
// bitmap and the activity log. It is the statemachine's Ldev.
type ldev struct {
	confp    atomic.Pointer[genl.DiskConf] // the disk options in effect (replaced whole by disk-options)
	data, md *os.File
	sameFile bool
	layout   metadata.Layout
	capacity uint64 // DRBD device size in sectors

	mu      sync.Mutex // superblock, bitmap, dirty pages
	sb      metadata.Superblock
	mdDirty bool
	bm      metadata.Bitmap
	bmDirty map[uint64]bool // dirty 4 KiB bitmap blocks

	al  *actlog.Log
	alw *alWriter

	alSuspended atomic.Bool // AL_SUSPENDED: every bit set, writes skip the activity log
	direct      *os.File    // O_DIRECT data descriptor of a block device (nil for files)
	owned       []*os.File  // every descriptor opened, closed by close
	alWrites    atomic.Uint64
	closed      atomic.Bool
}

func fileSize(f *os.File) (uint64, error) {
	n, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	return uint64(n), nil
}

func openDev(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode()&os.ModeDevice != 0 {
		// Claim block devices exclusively, as the kernel does.
		f.Close()
		return os.OpenFile(path, os.O_RDWR|unix.O_EXCL, 0)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file or block device", path)
	}
	return f, nil
}

func isInternal(idx int32) bool {
	return idx == metadata.IndexInternal || idx == metadata.IndexFlexInt
}

// openLdev is the I/O half of drbd_adm_attach up to the point of no
// return: open and claim, size checks, read and check the meta-data.
// replayAL makes an unclean activity log be applied to the bitmap first
// (the daemon's own restart; users run drbdmeta apply-al).
func openLdev(conf *genl.DiskConf, replayAL bool) (*ldev, drbd.RetCode, error) {
	if conf.MetaDevIdx < metadata.IndexFlexInt {
		return nil, drbd.ErrMDIdxInvalid, nil
	}
	data, err := openDev(conf.BackingDev)
	if err != nil {
		return nil, drbd.ErrOpenDisk, err
	}
	l := &ldev{data: data, md: data, sameFile: true, bmDirty: map[uint64]bool{},
		owned: []*os.File{data}}
	c := *conf
	l.confp.Store(&c)
	fail := func(c drbd.RetCode, err error) (*ldev, drbd.RetCode, error) {
		l.close()
		return nil, c, err
	}
	// Block devices: application data goes around the page cache
	// (O_DIRECT; ublk's IO buffers are page aligned), so IO errors and
	// durability are the device's. The claimed descriptor serves the
	// meta-data.
	if st, err := data.Stat(); err == nil && st.Mode()&os.ModeDevice != 0 {
		if d, err := os.OpenFile(conf.BackingDev, os.O_RDWR|unix.O_DIRECT, 0); err == nil {
			l.direct = d
			l.data = d
			l.owned = append(l.owned, d)
		}
	}
	if !isInternal(conf.MetaDevIdx) && conf.MetaDev != conf.BackingDev {
		md, err := openDev(conf.MetaDev)
		if err != nil {
			return fail(drbd.ErrOpenMDDisk, err)
		}
		l.md, l.sameFile = md, false
		l.owned = append(l.owned, md)
	} else if !isInternal(conf.MetaDevIdx) {
		return fail(drbd.ErrMDIdxInvalid, errors.New("external meta-data on the backing device"))
	}
	dataBytes, err := fileSize(l.data)
	if err != nil {
		return fail(drbd.ErrOpenDisk, err)
	}
	mdBytes, err := fileSize(l.md)
	if err != nil {
		return fail(drbd.ErrOpenMDDisk, err)
	}
	// drbd_md_set_sector_offsets with the default AL, then the size checks.
	minMD := uint64(minMDDeviceSect)
	if conf.MetaDevIdx >= 0 {
		minMD = uint64(metadata.MD128MBSect) * uint64(conf.MetaDevIdx+1)
	}
	pre, err := metadata.NewLayout(int(conf.MetaDevIdx), mdBytes, metadata.DefaultALStripes, metadata.DefaultALStripeSize4k)
	if err == nil && conf.DiskSize > pre.MaxCapacity(dataBytes>>9) {
		return fail(drbd.ErrDiskTooSmall, fmt.Errorf("disk-size %d > max capacity", conf.DiskSize))
	}
	if mdBytes>>9 < minMD || err != nil {
		return fail(drbd.ErrMDDiskTooSmall, fmt.Errorf("meta-data device %d bytes", mdBytes))
	}
	// drbd_md_read.
	sbOff := metadata.SuperblockOffset(int(conf.MetaDevIdx), mdBytes)
	sb, err := metadata.ReadSuperblock(l.md, int64(sbOff))
	if err != nil {
		return fail(drbd.ErrIOMDDisk, err)
	}
	if err := sb.CheckAttach(int(conf.MetaDevIdx), mdBytes>>9); err != nil {
		if !errors.Is(err, metadata.ErrUnclean) {
			return fail(drbd.ErrMDInvalid, err)
		}
		if !replayAL || sb.Magic != metadata.MagicMD84Unclean && sb.Magic != metadata.MagicMD08 {
			return fail(drbd.ErrMDUnclean, err)
		}
	}
	l.sb = sb
	l.layout = metadata.LayoutOf(&sb, int(conf.MetaDevIdx), mdBytes)
	l.capacity = l.layout.MaxCapacity(dataBytes >> 9)
	if conf.DiskSize != 0 {
		l.capacity = min(l.capacity, conf.DiskSize)
	}
	if l.capacity == 0 {
		return fail(drbd.ErrDiskTooSmall, errors.New("no room for data"))
	}
	// The bitmap covers the device; read it.
	nbits := (l.capacity + 7) / 8
	nwords := (nbits + 63) / 64
	raw := make([]byte, nwords*8)
	if _, err := l.md.ReadAt(raw, int64(l.layout.BMOffset)); err != nil && !errors.Is(err, io.EOF) {
		return fail(drbd.ErrIOMDDisk, err)
	}
	l.bm = metadata.DecodeBitmap(raw)
	l.clearSurplus()
	if replayAL && !sb.Clean() {
		if err := l.applyAL(); err != nil {
			return fail(drbd.ErrIOMDDisk, err)
		}
	}
	if sb.Flags&metadata.FlagFullSync != 0 {
		for b := uint64(0); b < nbits; b++ {
			l.bm.Set(b)
		}
		l.markAllBitmapDirty()
		l.sb.Flags &^= metadata.FlagFullSync
	}
	// drbd_determine_dev_size at attach: the bitmap starts empty and
	// grows with new bits set, so a size other than the last agreed one
	// (fresh meta-data has 0) leaves every bit set; the kernel then
	// re-initializes the activity log (one counted write per 4 KiB block
	// when al-updates is on) and writes the whole bitmap.
	if sb.LaSizeSect != l.capacity {
		for b := uint64(0); b < nbits; b++ {
			l.bm.Set(b)
		}
		l.markAllBitmapDirty()
		if err := metadata.InitializeAL(l.md, l.layout); err != nil {
			return fail(drbd.ErrIOMDDisk, err)
		}
		if conf.ALUpdates {
			l.alWrites.Add(l.layout.ALSizeBytes() / metadata.ALTransactionSize)
		}
	}
	// drbd_suspend_al: with every bit set (and no connection) activity
	// log updates are pointless.
	l.alSuspended.Store(l.bm.Count() == nbits)
	alN := int(conf.ALExtents)
	if alN <= 0 {
		alN = 1237
	}
	l.alw = &alWriter{l: l, slots: make([]uint32, alN)}
	for i := range l.alw.slots {
		l.alw.slots[i] = metadata.LCFree
	}
	l.al = actlog.New(alN, l.alw)
	// While attached the meta-data says "unclean" (drbd_md_write).
	l.sb.Flags &^= metadata.FlagALClean
	l.sb.ALNrExtents = uint32(alN)
	l.sb.LaSizeSect = l.capacity
	if err := l.writeSuperblock(); err != nil {
		return fail(drbd.ErrIOMDDisk, err)
	}
	if err := l.writeBitmap(); err != nil {
		return fail(drbd.ErrIOMDDisk, err)
	}
	return l, drbd.NoError, nil
}

// applyAL marks every extent of the on-disk activity log out of sync and
// re-initializes the log (drbdmeta apply-al).
func (l *ldev) applyAL() error {
	al := make([]byte, l.layout.ALSizeBytes())
	if _, err := l.md.ReadAt(al, int64(l.layout.ALOffset)); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	r, err := metadata.ReplayAL(al, l.sb.ALStripes, l.sb.ALStripeSize4k)
	if err != nil && !errors.Is(err, metadata.ErrNoValidUpdate) && !errors.Is(err, metadata.ErrNoUsableAL) {
		return err
	}
	for _, enr := range r.HotExtents() {
		l.bm.SetALExtent(enr)
	}
	// the last extent may reach past the device end
	l.clearSurplus()
	l.markAllBitmapDirty()
	if err := metadata.InitializeAL(l.md, l.layout); err != nil {
		return err
	}
	return l.flushMD()
}

// clearSurplus clears the bits of the last bitmap word that lie beyond the
// device end (the kernel's bm_clear_surplus): no resync ever clears them, so
// a set one would keep a SyncTarget from ever finishing.
func (l *ldev) clearSurplus() {
	for b := l.Bits(); b < uint64(len(l.bm))*64; b++ {
		l.bm.Clear(b)
	}
}

func (l *ldev) markAllBitmapDirty() {
	blocks := (uint64(len(l.bm))*8 + 4095) / 4096
	for i := uint64(0); i < blocks; i++ {
		l.bmDirty[i] = true
	}
}

// cfg returns the disk options in effect; callers must not change them.
func (l *ldev) cfg() *genl.DiskConf { return l.confp.Load() }

func (l *ldev) flushMD() error {
	if !l.cfg().MDFlushes {
		return nil
	}
	return unix.Fdatasync(int(l.md.Fd()))
}

// writeSuperblock is drbd_md_write: always the unclean 8.4 magic while
// attached, then a flush.
func (l *ldev) writeSuperblock() error {
	l.mu.Lock()
	sb := l.sb
	l.mdDirty = false
	l.mu.Unlock()
	sb.Magic = metadata.MagicMD84Unclean
	b, _ := sb.MarshalBinary()
	if _, err := l.md.WriteAt(b, int64(l.layout.MDOffset)); err != nil {
		return err
	}
	return l.flushMD()
}

// writeBitmapBlocks writes the given dirty 4 KiB bitmap blocks (all dirty
// ones if blocks is nil).
func (l *ldev) writeBitmapBlocks(blocks []uint64) error {
	l.mu.Lock()
	if blocks == nil {
		for b := range l.bmDirty {
			blocks = append(blocks, b)
		}
	}
	img := l.bm.Encode()
	var todo []uint64
	for _, b := range blocks {
		if l.bmDirty[b] {
			todo = append(todo, b)
			delete(l.bmDirty, b)
		}
	}
	l.mu.Unlock()
	for _, b := range todo {
		lo := b * 4096
		if lo >= uint64(len(img)) {
			continue
		}
		hi := min(lo+4096, uint64(len(img)))
		buf := make([]byte, 4096)
		copy(buf, img[lo:hi])
		if _, err := l.md.WriteAt(buf[:hi-lo], int64(l.layout.BMOffset+lo)); err != nil {
			return err
		}
	}
	if len(todo) == 0 {
		return nil
	}
	return l.flushMD()
}

func (l *ldev) writeBitmap() error { return l.writeBitmapBlocks(nil) }

// setOutOfSync marks the 4 KiB blocks of a written range out of sync.
func (l *ldev) setOutOfSync(off int64, n int) {
	if n <= 0 {
		return
	}
	first := uint64(off) >> metadata.BMBlockShift
	last := (uint64(off) + uint64(n) - 1) >> metadata.BMBlockShift
	l.mu.Lock()
	for b := first; b <= last; b++ {
		if !l.bm.Test(b) {
			l.bm.Set(b)
			l.bmDirty[b/(4096*8)] = true
		}
	}
	l.mu.Unlock()
}

func (l *ldev) oos() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bm.Count()
}

func (l *ldev) close() {
	if l.closed.Swap(true) {
		return
	}
	for _, f := range l.owned {
		f.Close()
	}
}

// alWriter stores activity-log transactions in the on-disk AL ring with
// the kernel's ordering: the bitmap blocks of evicted extents first, then
// the transaction block, flushed.
type alWriter struct {
	l     *ldev
	slots []uint32 // the committed slot table (for the context window)
	cycle int      // al_tr_cycle: first slot of the next context window
	onErr func(error)
}

func (w *alWriter) WriteTransaction(tx actlog.Transaction) error {
	l := w.l
	// Bitmap blocks of the extents leaving the log (drbd_bm_write_hinted).
	var blocks []uint64
	for _, u := range tx.Updates {
		if old := w.slots[u.Slot]; old != metadata.LCFree {
			// 4 MiB extent = 1024 bits = 128 bytes of bitmap.
			blocks = append(blocks, uint64(old)*metadata.BMBytesPerALExt/4096)
		}
	}
	if len(blocks) > 0 {
		if err := l.writeBitmapBlocks(blocks); err != nil {
			return w.ioErr(err)
		}
	}
	var t metadata.Transaction
	t.Magic = metadata.MagicAL
	t.TrNumber = uint32(tx.Seq)
	t.Type = metadata.ALTrUpdate
	n := 0
	for _, u := range tx.Updates {
		if n == metadata.ALUpdatesPerTransaction {
			break
		}
		t.UpdateSlotNr[n] = uint16(u.Slot)
		t.UpdateExtentNr[n] = u.Extent
		w.slots[u.Slot] = u.Extent
		n++
	}
	t.NUpdates = uint16(n)
	for i := n; i < metadata.ALUpdatesPerTransaction; i++ {
		t.UpdateSlotNr[i] = 0xffff
		t.UpdateExtentNr[i] = metadata.LCFree
	}
	t.ContextSize = uint16(len(w.slots))
	t.ContextStartSlotNr = uint16(w.cycle)
	mx := min(metadata.ALContextPerTransaction, len(w.slots)-w.cycle)
	for i := 0; i < mx; i++ {
		t.Context[i] = w.slots[w.cycle+i]
	}
	for i := mx; i < metadata.ALContextPerTransaction; i++ {
		t.Context[i] = metadata.LCFree
	}
	w.cycle += metadata.ALContextPerTransaction
	if w.cycle >= len(w.slots) {
		w.cycle = 0
	}
	buf := make([]byte, metadata.ALTransactionSize)
	t.Put(buf)
	sect := l.layout.TransactionSector(t.TrNumber)
	if _, err := l.md.WriteAt(buf, int64(sect)*metadata.SectorSize); err != nil {
		return w.ioErr(err)
	}
	if err := l.flushMD(); err != nil {
		return w.ioErr(err)
	}
	l.alWrites.Add(1)
	return nil
}

// ioErr is filled in by the minor: a meta-data IO error detaches.
func (w *alWriter) ioErr(err error) error {
	if w.onErr != nil {
		w.onErr(err)
	}
	return err
}
