//go:build linux

package ublk

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults for Config.
const (
	DefaultQueues = 1
	DefaultDepth  = 128
	DefaultMaxIO  = 1 << 20
)

// ErrBusy is returned by Stop when the block device is mounted or held open
// exclusively and force was not given.
var ErrBusy = errors.New("ublk: block device is in use (mounted or opened exclusively)")

// Config describes a device to create.
type Config struct {
	ID     int   // requested device id (/dev/ublkbID); -1 lets the kernel pick
	Queues int   // hardware queues (DefaultQueues if 0)
	Depth  int   // tags per queue (DefaultDepth if 0)
	MaxIO  int   // max bytes per request (DefaultMaxIO if 0)
	Size   int64 // capacity in bytes, a multiple of LogicalBlockSize

	LogicalBlockSize  int // 512 if 0
	PhysicalBlockSize int // 4096 if 0 (never below LogicalBlockSize)

	// Recovery keeps the device (QUIESCED) when the server dies so a new
	// server can Recover it; Reissue also re-sends requests the dead server
	// held (UBLK_F_USER_RECOVERY_REISSUE) instead of failing them.
	Recovery bool
	Reissue  bool

	ReadOnly      bool
	Rotational    bool
	VolatileCache bool // the target has a write cache: FLUSH requests arrive
	FUA           bool // FUA writes arrive (needs VolatileCache)
	Discard       bool // DISCARD requests arrive
	WriteZeroes   bool // WRITE_ZEROES requests arrive

	// Poll makes each queue busy-poll for new requests this long after a
	// busy round before it sleeps (0: never poll). It trades CPU for
	// latency.
	Poll time.Duration

	// Timeout bounds waits for queue start/stop (control commands use the
	// Control's Timeout). DefaultControlTimeout if 0.
	Timeout time.Duration
	// Logf receives diagnostics; nil discards them.
	Logf func(format string, args ...any)
}

// Device is a started ublk device served by this process.
type Device struct {
	ctrl    *Control
	info    DevInfo
	params  Params
	target  Target
	charFd  int
	queues  []*queue
	wg      sync.WaitGroup
	done    chan struct{}
	timeout time.Duration
	poll    time.Duration
	logfn   func(string, ...any)

	mu      sync.Mutex // guards stopped
	stopped bool
}

func (d *Device) logf(format string, args ...any) {
	if d.logfn != nil {
		d.logfn(format, args...)
	}
}

// ID returns the device id N of /dev/ublkbN.
func (d *Device) ID() int { return int(d.info.DevID) }

// Info returns the device info as negotiated at ADD_DEV (or read at recovery).
func (d *Device) Info() DevInfo { return d.info }

// Params returns the device parameters.
func (d *Device) Params() Params { return d.params }

// BlockPath returns /dev/ublkbN.
func (d *Device) BlockPath() string { return BlockPath(d.ID()) }

// BlockPath returns the block device path of device id.
func BlockPath(id int) string { return fmt.Sprintf("/dev/ublkb%d", id) }

// CharPath returns the char device path of device id.
func CharPath(id int) string { return fmt.Sprintf("/dev/ublkc%d", id) }

// Done is closed when every queue goroutine has exited (the device was
// stopped, here or by another process).
func (d *Device) Done() <-chan struct{} { return d.done }

func (cfg *Config) fill() error {
	if cfg.Queues == 0 {
		cfg.Queues = DefaultQueues
	}
	if cfg.Depth == 0 {
		cfg.Depth = DefaultDepth
	}
	if cfg.MaxIO == 0 {
		cfg.MaxIO = DefaultMaxIO
	}
	if cfg.LogicalBlockSize == 0 {
		cfg.LogicalBlockSize = 512
	}
	if cfg.PhysicalBlockSize == 0 {
		cfg.PhysicalBlockSize = 4096
	}
	if cfg.PhysicalBlockSize < cfg.LogicalBlockSize {
		cfg.PhysicalBlockSize = cfg.LogicalBlockSize
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultControlTimeout
	}
	switch {
	case cfg.ID < -1 || cfg.ID > maxDevID:
		return fmt.Errorf("ublk: device id %d out of range", cfg.ID)
	case cfg.Queues < 1 || cfg.Queues > maxNrQueues:
		return fmt.Errorf("ublk: %d queues out of range 1..%d", cfg.Queues, maxNrQueues)
	case cfg.Depth < 1 || cfg.Depth > maxQueueDepth:
		return fmt.Errorf("ublk: queue depth %d out of range 1..%d", cfg.Depth, maxQueueDepth)
	case cfg.MaxIO < 4096 || cfg.MaxIO%4096 != 0 || cfg.MaxIO > 1<<25:
		return fmt.Errorf("ublk: max io %d: want a multiple of 4096 up to 32 MiB", cfg.MaxIO)
	case !isPow2(cfg.LogicalBlockSize) || cfg.LogicalBlockSize < 512 || cfg.LogicalBlockSize > os.Getpagesize():
		return fmt.Errorf("ublk: logical block size %d: want a power of 2 in 512..page size", cfg.LogicalBlockSize)
	case !isPow2(cfg.PhysicalBlockSize):
		return fmt.Errorf("ublk: physical block size %d is not a power of 2", cfg.PhysicalBlockSize)
	case cfg.Size <= 0 || cfg.Size%int64(cfg.LogicalBlockSize) != 0:
		return fmt.Errorf("ublk: size %d: want a positive multiple of %d", cfg.Size, cfg.LogicalBlockSize)
	case cfg.Reissue && !cfg.Recovery:
		return errors.New("ublk: Reissue needs Recovery")
	case cfg.FUA && !cfg.VolatileCache:
		return errors.New("ublk: FUA needs VolatileCache")
	}
	return nil
}

func isPow2(n int) bool { return n > 0 && n&(n-1) == 0 }

func shift(n int) uint8 {
	s := uint8(0)
	for n > 1 {
		n >>= 1
		s++
	}
	return s
}

// paramsFor builds SET_PARAMS for cfg.
func paramsFor(cfg *Config, maxIO uint32) Params {
	p := Params{Types: paramTypeBasic}
	b := &p.Basic
	if cfg.ReadOnly {
		b.Attrs |= attrReadOnly
	}
	if cfg.Rotational {
		b.Attrs |= attrRotational
	}
	if cfg.VolatileCache {
		b.Attrs |= attrVolatileCache
	}
	if cfg.FUA {
		b.Attrs |= attrFUA
	}
	b.LogicalBSShift = shift(cfg.LogicalBlockSize)
	b.PhysicalBSShift = shift(cfg.PhysicalBlockSize)
	b.IOMinShift = b.PhysicalBSShift
	b.IOOptShift = b.PhysicalBSShift
	b.MaxSectors = maxIO >> sectorShift
	b.DevSectors = uint64(cfg.Size) >> sectorShift
	if cfg.Discard || cfg.WriteZeroes {
		p.Types |= paramTypeDiscard
		dc := &p.Discard
		dc.DiscardGranularity = uint32(cfg.PhysicalBlockSize)
		dc.MaxDiscardSegments = 1
		if cfg.Discard {
			dc.MaxDiscardSectors = 1<<32 - 1 - (1<<32-1)%uint32(cfg.PhysicalBlockSize>>sectorShift)
		}
		if cfg.WriteZeroes {
			dc.MaxWriteZeroesSectors = maxIO >> sectorShift
		}
	}
	return p
}

// Create adds, configures and starts a new device served by t.
func Create(ctrl *Control, cfg Config, t Target) (*Device, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	flags := uint64(FlagCmdIoctlEncode)
	if ctrl.legacy {
		flags = 0
	}
	if cfg.Recovery {
		flags |= FlagUserRecovery
		if cfg.Reissue {
			flags |= FlagUserRecoveryReissue
		}
	}
	id := uint32(devIDAuto)
	if cfg.ID >= 0 {
		id = uint32(cfg.ID)
	}
	info, err := ctrl.AddDev(DevInfo{
		NrHWQueues: uint16(cfg.Queues), QueueDepth: uint16(cfg.Depth),
		MaxIOBufBytes: uint32(cfg.MaxIO), DevID: id, ServerPID: -1, Flags: flags,
	})
	if err != nil {
		return nil, err
	}
	if cfg.Recovery && info.Flags&FlagUserRecovery == 0 {
		ctrl.DelDev(info.DevID)
		return nil, errors.New("ublk: kernel refused UBLK_F_USER_RECOVERY")
	}
	d := &Device{ctrl: ctrl, info: info, target: t, charFd: -1, done: make(chan struct{}),
		timeout: cfg.Timeout, logfn: cfg.Logf, poll: cfg.Poll}
	d.params = paramsFor(&cfg, info.MaxIOBufBytes)
	if err := ctrl.SetParams(info.DevID, d.params); err != nil {
		ctrl.DelDev(info.DevID)
		return nil, err
	}
	if err := d.startQueues(); err != nil {
		d.abort()
		return nil, err
	}
	if err := ctrl.StartDev(info.DevID, os.Getpid()); err != nil {
		d.abort()
		return nil, err
	}
	if i, err := ctrl.GetDevInfo(info.DevID); err == nil {
		d.info = i
	}
	return d, nil
}

// RecoverOptions tune Recover; the device's geometry, flags and
// parameters come from the kernel.
type RecoverOptions struct {
	Timeout time.Duration // as Config.Timeout
	Poll    time.Duration // as Config.Poll
	Logf    func(format string, args ...any)
}

// Recover re-attaches this process to device id after its previous server
// died (state QUIESCED, device created with Recovery). START_USER_RECOVERY
// is retried while the old server's resources are still being released
// (-EBUSY), up to the timeout. Requests queued meanwhile, and with Reissue
// those the old server held, are served once it returns.
func Recover(ctrl *Control, id int, t Target, o RecoverOptions) (*Device, error) {
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultControlTimeout
	}
	deadline := time.Now().Add(timeout)
	for {
		err := ctrl.StartUserRecovery(uint32(id))
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(50 * time.Millisecond)
	}
	info, err := ctrl.GetDevInfo(uint32(id))
	if err != nil {
		return nil, err
	}
	params, err := ctrl.GetParams(uint32(id))
	if err != nil {
		return nil, err
	}
	d := &Device{ctrl: ctrl, info: info, params: params, target: t, charFd: -1,
		done: make(chan struct{}), timeout: timeout, logfn: o.Logf, poll: o.Poll}
	if err := d.startQueues(); err != nil {
		d.closeQueues()
		return nil, err
	}
	if err := ctrl.EndUserRecovery(uint32(id), os.Getpid()); err != nil {
		d.closeQueues()
		return nil, err
	}
	if i, err := ctrl.GetDevInfo(uint32(id)); err == nil {
		d.info = i
	}
	return d, nil
}

func (d *Device) startQueues() error {
	path := CharPath(d.ID())
	deadline := time.Now().Add(3 * time.Second)
	for {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err == nil {
			d.charFd = fd
			break
		}
		if !errors.Is(err, unix.ENOENT) || time.Now().After(deadline) {
			return fmt.Errorf("ublk: open %s: %w", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ready := make(chan error, d.info.NrHWQueues)
	for i := range int(d.info.NrHWQueues) {
		q := newQueue(d, i)
		d.queues = append(d.queues, q)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			q.run(ready)
		}()
	}
	var first error
	for range d.queues {
		if err := <-ready; err != nil && first == nil {
			first = err
		}
	}
	go func() {
		d.wg.Wait()
		for _, q := range d.queues {
			if q.err != nil {
				d.logf("%v", q.err)
			}
		}
		close(d.done)
	}()
	return first
}

// abort tears down a device whose start failed.
func (d *Device) abort() {
	_ = d.ctrl.StopDev(d.info.DevID)
	d.closeQueues()
	_ = d.ctrl.DelDev(d.info.DevID)
}

// closeQueues waits (bounded) for the queue goroutines and closes ublkc.
func (d *Device) closeQueues() error {
	var err error
	if d.queues != nil {
		select {
		case <-d.done:
		case <-time.After(d.timeout):
			err = fmt.Errorf("ublk dev %d: queues did not exit within %v (target holding requests?)", d.ID(), d.timeout)
		}
	}
	if err == nil && d.charFd >= 0 {
		unix.Close(d.charFd)
		d.charFd = -1
	}
	return err
}

// InUse reports whether /dev/ublkbN is mounted or opened exclusively by
// someone (an O_EXCL open fails with EBUSY).
func (d *Device) InUse() bool {
	fd, err := unix.Open(d.BlockPath(), unix.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return errors.Is(err, unix.EBUSY)
	}
	unix.Close(fd)
	return false
}

// Stop stops the device: /dev/ublkbN goes away, the queues drain and exit,
// and /dev/ublkcN is closed. Unless force, a mounted or exclusively opened
// device is left alone and ErrBusy returned. Every wait is bounded.
func (d *Device) Stop(force bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return nil
	}
	if !force && d.InUse() {
		return fmt.Errorf("%s: %w", d.BlockPath(), ErrBusy)
	}
	if err := d.ctrl.StopDev(d.info.DevID); err != nil {
		return err
	}
	if err := d.closeQueues(); err != nil {
		return err
	}
	d.stopped = true
	return nil
}

// Delete removes a stopped device. It uses DEL_DEV_ASYNC (Linux 6.9+),
// which returns at once and lets the kernel free the device when its last
// user (say, a process still holding /dev/ublkbN open) lets go; older
// kernels get DEL_DEV, which waits for that, bounded by the control timeout.
func (d *Device) Delete() error {
	d.mu.Lock()
	stopped := d.stopped
	d.mu.Unlock()
	if !stopped {
		return errors.New("ublk: Delete before Stop")
	}
	err := d.ctrl.DelDevAsync(d.info.DevID)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
		err = d.ctrl.DelDev(d.info.DevID)
	}
	return err
}

// Close stops (without force) and deletes the device.
func (d *Device) Close() error {
	if d == nil {
		return nil
	}
	if err := d.Stop(false); err != nil {
		return err
	}
	return d.Delete()
}
