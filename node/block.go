package node

import (
	"errors"
	"fmt"
	"os"
	"time"

	"udrbd/ublk"
)

// Op is a block request operation.
type Op uint8

// The operations the data path handles.
const (
	OpRead Op = iota + 1
	OpWrite
	OpFlush
	OpDiscard
	OpWriteZeroes
)

func (o Op) String() string {
	switch o {
	case OpRead:
		return "read"
	case OpWrite:
		return "write"
	case OpFlush:
		return "flush"
	case OpDiscard:
		return "discard"
	case OpWriteZeroes:
		return "write-zeroes"
	}
	return fmt.Sprintf("op%d", uint8(o))
}

// IO is one block request handed to a minor.
type IO struct {
	Op      Op
	Offset  int64
	Length  int
	Buf     []byte // WRITE data or READ destination (len == Length)
	FUA     bool
	NoUnmap bool
	// Done completes the request; it is called exactly once, from any
	// goroutine. The IO and Buf are not touched after it: the block layer
	// reuses them for a later request.
	Done func(error)

	inline  inlineWrite // serveInline's state of a write
	netDone func(bool)  // inline.netHalfDone, bound once
}

// IOHandler receives block requests. Submit must not block.
type IOHandler interface {
	Submit(io *IO)
}

// BlockDevice is one exposed block device (/dev/ublkbN).
type BlockDevice interface {
	Path() string
	Size() int64
	// InUse reports whether the device is mounted or held open
	// exclusively.
	InUse() bool
	// Remove stops and deletes the device; it fails while in use.
	Remove() error
}

// BlockLayer creates block devices for minors.
type BlockLayer interface {
	// Create exposes a new device with id minor and size bytes.
	Create(minor int, size int64, h IOHandler) (BlockDevice, error)
	// Recover re-attaches to the device a previous daemon left quiesced;
	// it returns an error wrapping os.ErrNotExist if there is none.
	Recover(minor int, h IOHandler) (BlockDevice, error)
}

// BlockProber is what a BlockLayer may add: whether a device a previous
// daemon served is still there. Restore promotes a volume that was Primary
// only if it is (the daemon restarted, and the application may still have
// it open); without it the host restarted, and like the kernel's DRBD after
// a reboot the volume comes up Secondary.
type BlockProber interface {
	Exists(minor int) bool
}

// UblkLayer is the BlockLayer of the daemon: ublk devices with user
// recovery (a killed daemon leaves them quiesced; the next one recovers
// them and reissues the requests the dead one held).
type UblkLayer struct {
	Ctrl *ublk.Control
	Logf func(string, ...any)
}

type ublkDev struct {
	d    *ublk.Device
	size int64
}

func (u *ublkDev) Path() string { return u.d.BlockPath() }
func (u *ublkDev) Size() int64  { return u.size }
func (u *ublkDev) InUse() bool  { return u.d.InUse() }
func (u *ublkDev) Remove() error {
	if err := u.d.Stop(false); err != nil {
		return err
	}
	return u.d.Delete()
}

type ublkTarget struct{ h IOHandler }

func (t ublkTarget) Handle(r *ublk.Request) {
	// one IO per tag, reused: Done is bound to the tag's request once
	io, _ := r.Private.(*IO)
	if io == nil {
		io = &IO{Done: r.Complete}
		r.Private = io
	}
	*io = IO{Offset: r.Offset, Length: r.Length, Buf: r.Buf, Done: io.Done, netDone: io.netDone}
	switch r.Op {
	case ublk.OpRead:
		io.Op = OpRead
	case ublk.OpWrite:
		io.Op, io.FUA = OpWrite, r.FUA()
	case ublk.OpFlush:
		io.Op = OpFlush
	case ublk.OpDiscard:
		io.Op = OpDiscard
	case ublk.OpWriteZeroes:
		io.Op, io.NoUnmap = OpWriteZeroes, r.NoUnmap()
	default:
		r.Complete(errors.New("unsupported op"))
		return
	}
	t.h.Submit(io)
}

// Create implements BlockLayer.
func (l *UblkLayer) Create(minor int, size int64, h IOHandler) (BlockDevice, error) {
	d, err := ublk.Create(l.Ctrl, ublk.Config{
		ID: minor, Size: size,
		LogicalBlockSize: 512, PhysicalBlockSize: 4096,
		Recovery: true, Reissue: true,
		VolatileCache: true, FUA: true, Discard: true, WriteZeroes: true,
		Logf: l.Logf,
	}, ublkTarget{h})
	if err != nil {
		return nil, err
	}
	return &ublkDev{d: d, size: size}, nil
}

// Exists implements BlockProber: the kernel still has device minor.
func (l *UblkLayer) Exists(minor int) bool {
	_, err := l.Ctrl.GetDevInfo(uint32(minor))
	return err == nil
}

// Recover implements BlockLayer.
func (l *UblkLayer) Recover(minor int, h IOHandler) (BlockDevice, error) {
	info, err := l.Ctrl.GetDevInfo(uint32(minor))
	if err != nil {
		return nil, fmt.Errorf("ublk device %d: %w (%v)", minor, os.ErrNotExist, err)
	}
	if info.State != ublk.StateQuiesced && info.State != ublk.StateFailIO {
		// Not recoverable (never started or dead): remove the leftover.
		_ = l.Ctrl.StopDev(uint32(minor))
		_ = l.Ctrl.DelDev(uint32(minor))
		return nil, fmt.Errorf("ublk device %d in state %d: %w", minor, info.State, os.ErrNotExist)
	}
	d, err := ublk.Recover(l.Ctrl, minor, ublkTarget{h}, ublk.RecoverOptions{Timeout: 10 * time.Second, Logf: l.Logf})
	if err != nil {
		return nil, err
	}
	return &ublkDev{d: d, size: int64(d.Params().Basic.DevSectors) << 9}, nil
}
