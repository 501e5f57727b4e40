//go:build linux

package uring

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrSQFull is returned by GetSQE when every submission slot is taken by
// SQEs that have not been submitted yet.
var ErrSQFull = errors.New("uring: submission queue full")

// Ring is one io_uring instance.
type Ring struct {
	fd      int
	flags   uint32
	feats   uint32
	sqeSize uintptr

	sqMap  []byte // SQ ring mapping (also the CQ ring with FeatSingleMmap)
	cqMap  []byte // separate CQ ring mapping, nil with FeatSingleMmap
	sqeMap []byte // SQE array mapping

	sqHead    *uint32 // written by the kernel
	sqTail    *uint32 // written by us
	sqFlags   *uint32
	sqMask    uint32
	sqEntries uint32
	sqes      unsafe.Pointer
	sqeTail   uint32 // next SQE to hand out; published to *sqTail by Submit

	cqHead     *uint32 // written by us
	cqTail     *uint32 // written by the kernel
	cqMask     uint32
	cqEntries  uint32
	cqes       unsafe.Pointer
	cqOverflow *uint32
	cqFlags    *uint32 // nil if the kernel has none (before 5.8)

	// EINTRs counts io_uring_enter calls interrupted by a signal and retried.
	EINTRs atomic.Uint64
}

// Options tune New.
type Options struct {
	// Flags are IORING_SETUP_* flags (SetupSQE128, SetupSingleIssuer, ...).
	Flags uint32
	// CQEntries, when non-zero, sizes the CQ ring (SetupCQSize is added).
	CQEntries uint32
}

// New creates a ring with at least entries submission slots.
func New(entries uint32, o Options) (*Ring, error) {
	var p params
	p.Flags = o.Flags
	if o.CQEntries != 0 {
		p.Flags |= SetupCQSize
		p.CQEntries = o.CQEntries
	}
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, os.NewSyscallError("io_uring_setup", errno)
	}
	r := &Ring{fd: int(fd), flags: p.Flags, feats: p.Features, sqeSize: sqeSize}
	if p.Flags&SetupSQE128 != 0 {
		r.sqeSize = 2 * sqeSize
	}
	if err := r.mmap(&p); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Ring) mmap(p *params) error {
	sqLen := uintptr(p.SQOff.Array) + uintptr(p.SQEntries)*4
	cqLen := uintptr(p.CQOff.CQEs) + uintptr(p.CQEntries)*cqeSize
	single := p.Features&FeatSingleMmap != 0
	if single && cqLen > sqLen {
		sqLen = cqLen
	}
	var err error
	r.sqMap, err = unix.Mmap(r.fd, offSQRing, int(sqLen), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("uring: mmap sq ring: %w", err)
	}
	cq := r.sqMap
	if !single {
		r.cqMap, err = unix.Mmap(r.fd, offCQRing, int(cqLen), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return fmt.Errorf("uring: mmap cq ring: %w", err)
		}
		cq = r.cqMap
	}
	r.sqeMap, err = unix.Mmap(r.fd, offSQEs, int(uintptr(p.SQEntries)*r.sqeSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("uring: mmap sqes: %w", err)
	}
	sq := unsafe.Pointer(&r.sqMap[0])
	r.sqHead = (*uint32)(unsafe.Add(sq, p.SQOff.Head))
	r.sqTail = (*uint32)(unsafe.Add(sq, p.SQOff.Tail))
	r.sqFlags = (*uint32)(unsafe.Add(sq, p.SQOff.Flags))
	r.sqMask = *(*uint32)(unsafe.Add(sq, p.SQOff.RingMask))
	r.sqEntries = *(*uint32)(unsafe.Add(sq, p.SQOff.RingEntries))
	// The SQ index array maps ring slots to SQEs; we keep it the identity so
	// slot i always names SQE i and never touch it again.
	arr := unsafe.Slice((*uint32)(unsafe.Add(sq, p.SQOff.Array)), r.sqEntries)
	for i := range arr {
		arr[i] = uint32(i)
	}
	r.sqes = unsafe.Pointer(&r.sqeMap[0])
	r.sqeTail = atomic.LoadUint32(r.sqTail)

	c := unsafe.Pointer(&cq[0])
	r.cqHead = (*uint32)(unsafe.Add(c, p.CQOff.Head))
	r.cqTail = (*uint32)(unsafe.Add(c, p.CQOff.Tail))
	r.cqMask = *(*uint32)(unsafe.Add(c, p.CQOff.RingMask))
	r.cqEntries = *(*uint32)(unsafe.Add(c, p.CQOff.RingEntries))
	r.cqOverflow = (*uint32)(unsafe.Add(c, p.CQOff.Overflow))
	if p.CQOff.Flags != 0 {
		r.cqFlags = (*uint32)(unsafe.Add(c, p.CQOff.Flags))
	}
	r.cqes = unsafe.Add(c, p.CQOff.CQEs)
	return nil
}

// Close unmaps the rings and closes the ring fd. In-flight requests are
// cancelled by the kernel.
func (r *Ring) Close() error {
	if r == nil || r.fd < 0 {
		return nil
	}
	for _, m := range [][]byte{r.sqeMap, r.cqMap, r.sqMap} {
		if m != nil {
			_ = unix.Munmap(m)
		}
	}
	r.sqeMap, r.cqMap, r.sqMap = nil, nil, nil
	err := unix.Close(r.fd)
	r.fd = -1
	return err
}

// Fd returns the ring file descriptor.
func (r *Ring) Fd() int { return r.fd }

// Flags returns the IORING_SETUP_* flags the ring was created with.
func (r *Ring) Flags() uint32 { return r.flags }

// Features returns the IORING_FEAT_* bits reported by the kernel.
func (r *Ring) Features() uint32 { return r.feats }

// SQEntries and CQEntries return the ring sizes the kernel chose.
func (r *Ring) SQEntries() uint32 { return r.sqEntries }

// CQEntries returns the completion ring size.
func (r *Ring) CQEntries() uint32 { return r.cqEntries }

// Pending returns the number of SQEs handed out but not yet consumed by the
// kernel.
func (r *Ring) Pending() uint32 { return r.sqeTail - atomic.LoadUint32(r.sqHead) }

// GetSQE returns the next free SQE, zeroed (all 128 bytes in an SQE128
// ring), or ErrSQFull.
func (r *Ring) GetSQE() (*SQE, error) {
	if r.sqeTail-atomic.LoadUint32(r.sqHead) >= r.sqEntries {
		return nil, ErrSQFull
	}
	p := unsafe.Add(r.sqes, uintptr(r.sqeTail&r.sqMask)*r.sqeSize)
	clear(unsafe.Slice((*byte)(p), r.sqeSize))
	r.sqeTail++
	return (*SQE)(p), nil
}

// PeekSQE returns the i-th SQE handed out by GetSQE and not yet consumed
// by the kernel (0 is the oldest), or nil. Useful for tests and debugging.
func (r *Ring) PeekSQE(i uint32) *SQE {
	head := atomic.LoadUint32(r.sqHead)
	if i >= r.sqeTail-head {
		return nil
	}
	return (*SQE)(unsafe.Add(r.sqes, uintptr((head+i)&r.sqMask)*r.sqeSize))
}

// Cmd returns the uring_cmd payload area of s (16 bytes in a 64-byte SQE
// ring, 80 bytes in an SQE128 ring). s must come from r.GetSQE.
func (r *Ring) Cmd(s *SQE) []byte {
	n := uintptr(16)
	if r.sqeSize == 2*sqeSize {
		n = cmd128Bytes
	}
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(s), cmdOffset)), n)
}

// flush publishes handed-out SQEs to the kernel and returns how many the
// kernel has not consumed yet.
func (r *Ring) flush() uint32 {
	atomic.StoreUint32(r.sqTail, r.sqeTail)
	return r.sqeTail - atomic.LoadUint32(r.sqHead)
}

// Submit publishes all handed-out SQEs and submits them without waiting.
func (r *Ring) Submit() (int, error) { return r.SubmitAndWait(0) }

// SubmitAndWait submits every pending SQE and, if wait > 0, blocks until at
// least wait CQEs are available. A signal (Go preempts goroutines with SIGURG)
// interrupting the call is retried; SQEs the kernel already consumed are not
// resubmitted. It returns how many SQEs were submitted by this call.
func (r *Ring) SubmitAndWait(wait uint32) (int, error) {
	before := atomic.LoadUint32(r.sqHead)
	for {
		toSubmit := r.flush()
		flags := uintptr(0)
		if wait > 0 || r.flags&SetupDeferTaskrun != 0 {
			// DEFER_TASKRUN rings only run task work inside GETEVENTS.
			flags |= EnterGetEvents
		}
		if toSubmit == 0 && flags == 0 {
			return 0, nil
		}
		if wait > 0 && r.Ready() >= wait {
			// Completions already there: only submit, but still run
			// deferred task work so new completions keep flowing.
			wait = 0
		}
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(wait), flags, 0, 0)
		switch errno {
		case 0:
			return int(atomic.LoadUint32(r.sqHead) - before), nil
		case unix.EINTR:
			r.EINTRs.Add(1)
			continue
		case unix.EAGAIN, unix.EBUSY:
			// Out of resources or CQ overflow backlog: the caller must reap
			// completions before the kernel takes more SQEs.
			if n := atomic.LoadUint32(r.sqHead) - before; n > 0 || r.Ready() > 0 {
				return int(n), nil
			}
			return 0, os.NewSyscallError("io_uring_enter", errno)
		default:
			return int(atomic.LoadUint32(r.sqHead) - before), os.NewSyscallError("io_uring_enter", errno)
		}
	}
}

// Poll submits pending SQEs and lets the kernel run pending task work
// (io_uring_enter with GETEVENTS and min_complete 0) without sleeping. It
// returns the number of CQEs ready afterwards.
func (r *Ring) Poll() (uint32, error) {
	for {
		toSubmit := r.flush()
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), 0, EnterGetEvents, 0, 0)
		switch errno {
		case 0, unix.EAGAIN, unix.EBUSY:
			return r.Ready(), nil
		case unix.EINTR:
			r.EINTRs.Add(1)
		default:
			return r.Ready(), os.NewSyscallError("io_uring_enter", errno)
		}
	}
}

// WaitTimeout submits pending SQEs and waits up to d for at least one CQE.
// It returns (0, nil) with no CQE ready when d expires. Needs FeatExtArg
// (Linux 5.11+).
func (r *Ring) WaitTimeout(d time.Duration) error {
	ts := unix.NsecToTimespec(int64(d))
	arg := getEventsArg{Ts: uint64(uintptr(unsafe.Pointer(&ts)))}
	deadline := time.Now().Add(d)
	for {
		toSubmit := r.flush()
		if r.Ready() > 0 {
			if toSubmit == 0 {
				return nil
			}
			_, err := r.Submit()
			return err
		}
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), 1,
			EnterGetEvents|EnterExtArg, uintptr(unsafe.Pointer(&arg)), unsafe.Sizeof(arg))
		switch errno {
		case 0:
			return nil
		case unix.ETIME:
			return nil
		case unix.EINTR:
			r.EINTRs.Add(1)
			left := time.Until(deadline)
			if left <= 0 {
				return nil
			}
			ts = unix.NsecToTimespec(int64(left))
		default:
			return os.NewSyscallError("io_uring_enter", errno)
		}
	}
}

// Ready returns the number of CQEs waiting to be reaped.
func (r *Ring) Ready() uint32 {
	return atomic.LoadUint32(r.cqTail) - *r.cqHead
}

// Reap copies up to len(dst) available CQEs into dst, marks them consumed
// and returns how many it copied. It never blocks.
func (r *Ring) Reap(dst []CQE) int {
	head := *r.cqHead
	tail := atomic.LoadUint32(r.cqTail)
	n := 0
	for head != tail && n < len(dst) {
		dst[n] = *(*CQE)(unsafe.Add(r.cqes, uintptr(head&r.cqMask)*cqeSize))
		head++
		n++
	}
	if n > 0 {
		atomic.StoreUint32(r.cqHead, head)
	}
	return n
}

// Overflow returns the kernel's count of CQEs it had to drop or hold back
// because the CQ ring was full.
func (r *Ring) Overflow() uint32 { return atomic.LoadUint32(r.cqOverflow) }

func (r *Ring) register(op, arg uintptr, n int) error {
	for {
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), op, arg, uintptr(n), 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return os.NewSyscallError("io_uring_register", errno)
		}
		return nil
	}
}

// RegisterFiles registers fds as the ring's fixed-file table; SQEs then
// name file i by Fd = i with SQEFixedFile.
func (r *Ring) RegisterFiles(fds []int32) error {
	if len(fds) == 0 {
		return errors.New("uring: no files to register")
	}
	return r.register(registerFiles, uintptr(unsafe.Pointer(&fds[0])), len(fds))
}

// UnregisterFiles drops the fixed-file table.
func (r *Ring) UnregisterFiles() error { return r.register(unregisterFiles, 0, 0) }

// RegisterEventfd makes the kernel signal the eventfd fd when it posts
// CQEs and, on a DEFER_TASKRUN ring, when task work is queued that a
// GETEVENTS would run: a thread can sleep on the eventfd (in epoll) and
// call Poll when it fires, instead of sleeping in io_uring_enter.
func (r *Ring) RegisterEventfd(fd int) error {
	v := int32(fd)
	return r.register(registerEventfd, uintptr(unsafe.Pointer(&v)), 1)
}

// SetEventfdDisabled sets or clears IORING_CQ_EVENTFD_DISABLED: while set,
// the kernel does not signal the registered eventfd. It reports false if
// the ring has no CQ flags.
func (r *Ring) SetEventfdDisabled(off bool) bool {
	if r.cqFlags == nil {
		return false
	}
	for {
		old := atomic.LoadUint32(r.cqFlags)
		v := old &^ cqEventfdDisabled
		if off {
			v |= cqEventfdDisabled
		}
		if v == old || atomic.CompareAndSwapUint32(r.cqFlags, old, v) {
			return true
		}
	}
}

// UnregisterEventfd drops the eventfd RegisterEventfd set.
func (r *Ring) UnregisterEventfd() error { return r.register(unregisterEventfd, 0, 0) }

// SetMaxWorkers limits the io-wq worker pools (bounded, unbounded); 0 keeps
// a value unchanged.
func (r *Ring) SetMaxWorkers(bounded, unbounded uint32) error {
	v := [2]uint32{bounded, unbounded}
	return r.register(registerIOWQMaxWrk, uintptr(unsafe.Pointer(&v)), 2)
}

// PrepNop fills s as IORING_OP_NOP.
func PrepNop(s *SQE, userData uint64) {
	s.Opcode = OpNop
	s.UserData = userData
}

// PrepRead fills s as IORING_OP_READ of len(buf) bytes at off. buf must stay
// valid and unmoved until the CQE arrives (use mmap'd or pinned memory).
func PrepRead(s *SQE, fd int, buf []byte, off int64, userData uint64) {
	s.Opcode = OpRead
	s.Fd = int32(fd)
	s.Off = uint64(off)
	if len(buf) > 0 {
		s.Addr = uint64(uintptr(unsafe.Pointer(&buf[0])))
	}
	s.Len = uint32(len(buf))
	s.UserData = userData
}

// PrepWrite fills s as IORING_OP_WRITE; see PrepRead for buf's lifetime.
func PrepWrite(s *SQE, fd int, buf []byte, off int64, userData uint64) {
	PrepRead(s, fd, buf, off, userData)
	s.Opcode = OpWrite
}

// PrepFsync fills s as IORING_OP_FSYNC (flags: FsyncDatasync).
func PrepFsync(s *SQE, fd int, flags uint32, userData uint64) {
	s.Opcode = OpFsync
	s.Fd = int32(fd)
	s.OpFlags = flags
	s.UserData = userData
}

// PrepURingCmd fills s as IORING_OP_URING_CMD with cmd_op op on fd; the
// caller writes the payload into r.Cmd(s).
func PrepURingCmd(s *SQE, fd int, op uint32, userData uint64) {
	s.Opcode = OpURingCmd
	s.Fd = int32(fd)
	s.SetCmdOp(op)
	s.UserData = userData
}
