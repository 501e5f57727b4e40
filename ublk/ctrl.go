//go:build linux

package ublk

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"udrbd/ublk/uring"
)

// ControlPath is the ublk control device.
const ControlPath = "/dev/ublk-control"

// DefaultControlTimeout bounds every control command unless overridden.
const DefaultControlTimeout = 30 * time.Second

// ErrTimeout is returned (wrapped) when a control command does not complete
// within the control timeout. The command may still complete in the kernel
// later; check dmesg (some 6.17/6.18 kernels oops in ADD_DEV).
var ErrTimeout = errors.New("ublk: control command timed out (check dmesg)")

// CmdError is a failed ublk control command; errors.Is(err, unix.EBUSY) and
// the like work through Unwrap.
type CmdError struct {
	Cmd   string
	DevID uint32
	Err   error
}

func (e *CmdError) Error() string {
	if e.DevID == devIDAuto {
		return fmt.Sprintf("ublk %s: %v", e.Cmd, e.Err)
	}
	return fmt.Sprintf("ublk %s dev %d: %v", e.Cmd, e.DevID, e.Err)
}

func (e *CmdError) Unwrap() error { return e.Err }

var cmdNames = map[uint32]string{
	cmdGetQueueAffinity: "GET_QUEUE_AFFINITY", cmdGetDevInfo: "GET_DEV_INFO",
	cmdAddDev: "ADD_DEV", cmdDelDev: "DEL_DEV", cmdStartDev: "START_DEV",
	cmdStopDev: "STOP_DEV", cmdSetParams: "SET_PARAMS", cmdGetParams: "GET_PARAMS",
	cmdStartUserRecovery: "START_USER_RECOVERY", cmdEndUserRecovery: "END_USER_RECOVERY",
	cmdGetDevInfo2: "GET_DEV_INFO2", cmdGetFeatures: "GET_FEATURES",
	cmdDelDevAsync: "DEL_DEV_ASYNC", cmdUpdateSize: "UPDATE_SIZE",
}

// Control is an open /dev/ublk-control with its 128-byte-SQE io_uring.
// It is safe for concurrent use; commands are serialized.
type Control struct {
	// Timeout bounds each command (DefaultControlTimeout if zero).
	Timeout time.Duration

	mu       sync.Mutex // guards everything below
	fd       int
	ring     *uring.Ring
	legacy   bool
	features uint64
	seq      uint64
	// stale holds the buffers of commands that timed out, keyed by
	// user_data, until their CQE arrives: the kernel may still write them.
	stale map[uint64]*pinned
	cqes  [8]uring.CQE
}

type pinned struct {
	p   runtime.Pinner
	buf []byte
}

// OpenControl opens /dev/ublk-control, creates the control ring and probes
// GET_FEATURES; kernels without it (< 6.5) get the legacy command numbers.
func OpenControl() (*Control, error) {
	fd, err := unix.Open(ControlPath, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("ublk: open %s: %w (is ublk_drv loaded?)", ControlPath, err)
	}
	r, err := uring.New(8, uring.Options{Flags: uring.SetupSQE128})
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ublk: control ring: %w", err)
	}
	c := &Control{fd: fd, ring: r, stale: map[uint64]*pinned{}}
	f, err := c.GetFeatures()
	switch {
	case err == nil:
		c.features = f
	case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL):
		c.legacy = true
	default:
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the control ring and fd.
func (c *Control) Close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return nil
	}
	c.ring.Close()
	err := unix.Close(c.fd)
	c.fd = -1
	return err
}

// Features returns the driver's UBLK_F_* mask (0 on kernels < 6.5).
func (c *Control) Features() uint64 { return c.features }

// Legacy reports whether the legacy (non-ioctl) command numbers are used.
func (c *Control) Legacy() bool { return c.legacy }

// do runs one control command. buf, if non-nil, is passed as addr/len and
// must not be referenced by the caller after a timeout.
func (c *Control) do(nr uint32, devID uint32, data uint64, buf []byte) (int32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := cmdNames[nr]
	if c.fd < 0 {
		return 0, &CmdError{name, devID, os.ErrClosed}
	}
	pin := &pinned{buf: buf}
	hdr := ctrlCmd{DevID: devID, QueueID: queueIDNone, Data: data}
	if len(buf) > 0 {
		pin.p.Pin(&buf[0])
		hdr.Addr = uint64(uintptr(unsafe.Pointer(&buf[0])))
		hdr.Len = uint16(len(buf))
	}
	c.seq++
	ud := c.seq
	sqe, err := c.ring.GetSQE()
	if err != nil {
		pin.p.Unpin()
		return 0, &CmdError{name, devID, err}
	}
	uring.PrepURingCmd(sqe, c.fd, ctrlOp(nr, c.legacy), ud)
	*(*ctrlCmd)(unsafe.Pointer(&c.ring.Cmd(sqe)[0])) = hdr
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultControlTimeout
	}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			c.stale[ud] = pin
			return 0, &CmdError{name, devID, ErrTimeout}
		}
		if err := c.ring.WaitTimeout(left); err != nil {
			c.stale[ud] = pin
			return 0, &CmdError{name, devID, err}
		}
		n := c.ring.Reap(c.cqes[:])
		for _, cqe := range c.cqes[:n] {
			if cqe.UserData == ud {
				pin.p.Unpin()
				if cqe.Res < 0 {
					return cqe.Res, &CmdError{name, devID, unix.Errno(-cqe.Res)}
				}
				return cqe.Res, nil
			}
			if p, ok := c.stale[cqe.UserData]; ok {
				p.p.Unpin()
				delete(c.stale, cqe.UserData)
			}
		}
	}
}

// GetFeatures returns the driver's supported UBLK_F_* flags (Linux 6.5+).
func (c *Control) GetFeatures() (uint64, error) {
	buf := make([]byte, featuresLen)
	if _, err := c.do(cmdGetFeatures, devIDAuto, 0, buf); err != nil {
		return 0, err
	}
	return *(*uint64)(unsafe.Pointer(&buf[0])), nil
}

// AddDev creates a device from info (DevID devIDAuto lets the kernel pick)
// and returns the info the kernel settled on (clamped queues, rounded
// max_io_buf_bytes, negotiated flags).
func (c *Control) AddDev(info DevInfo) (DevInfo, error) {
	buf := make([]byte, unsafe.Sizeof(info))
	*(*DevInfo)(unsafe.Pointer(&buf[0])) = info
	if _, err := c.do(cmdAddDev, info.DevID, 0, buf); err != nil {
		return DevInfo{}, err
	}
	return *(*DevInfo)(unsafe.Pointer(&buf[0])), nil
}

// GetDevInfo returns the device's current info.
func (c *Control) GetDevInfo(id uint32) (DevInfo, error) {
	buf := make([]byte, unsafe.Sizeof(DevInfo{}))
	if _, err := c.do(cmdGetDevInfo, id, 0, buf); err != nil {
		return DevInfo{}, err
	}
	return *(*DevInfo)(unsafe.Pointer(&buf[0])), nil
}

// SetParams sets the device parameters (before START_DEV only).
func (c *Control) SetParams(id uint32, p Params) error {
	p.Len = uint32(unsafe.Sizeof(p))
	buf := make([]byte, unsafe.Sizeof(p))
	*(*Params)(unsafe.Pointer(&buf[0])) = p
	_, err := c.do(cmdSetParams, id, 0, buf)
	return err
}

// GetParams returns the device parameters (devt filled in by the kernel).
func (c *Control) GetParams(id uint32) (Params, error) {
	buf := make([]byte, unsafe.Sizeof(Params{}))
	(*Params)(unsafe.Pointer(&buf[0])).Len = uint32(len(buf))
	if _, err := c.do(cmdGetParams, id, 0, buf); err != nil {
		return Params{}, err
	}
	return *(*Params)(unsafe.Pointer(&buf[0])), nil
}

// StartDev starts the device; every tag of every queue must have a FETCH
// outstanding (it waits for them). pid is the serving process.
func (c *Control) StartDev(id uint32, pid int) error {
	_, err := c.do(cmdStartDev, id, uint64(pid), nil)
	return err
}

// StopDev removes /dev/ublkbN and aborts outstanding fetches.
func (c *Control) StopDev(id uint32) error {
	_, err := c.do(cmdStopDev, id, 0, nil)
	return err
}

// DelDev removes the device, waiting until its last reference is gone.
func (c *Control) DelDev(id uint32) error {
	_, err := c.do(cmdDelDev, id, 0, nil)
	return err
}

// DelDevAsync removes the device without waiting for its release (6.9+).
func (c *Control) DelDevAsync(id uint32) error {
	_, err := c.do(cmdDelDevAsync, id, 0, nil)
	return err
}

// StartUserRecovery begins re-attaching a server to a quiesced device.
func (c *Control) StartUserRecovery(id uint32) error {
	_, err := c.do(cmdStartUserRecovery, id, 0, nil)
	return err
}

// EndUserRecovery finishes recovery once every tag has a FETCH outstanding.
func (c *Control) EndUserRecovery(id uint32, pid int) error {
	_, err := c.do(cmdEndUserRecovery, id, uint64(pid), nil)
	return err
}

// UpdateSize changes the capacity of a live device (6.16+, UBLK_F_UPDATE_SIZE).
func (c *Control) UpdateSize(id uint32, sectors uint64) error {
	_, err := c.do(cmdUpdateSize, id, sectors, nil)
	return err
}
