//go:build linux

package ublk

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"udrbd/ublk/uring"
)

// user_data of the queue ring: the tag in the low 16 bits for ublk IO
// commands; udWake marks the eventfd read that wakes the queue for
// completions made on other goroutines.
const (
	udWake   = 1 << 32
	udTarget = 1 << 33 // a RingTarget's own SQE for the tag
	udIgnore = 1 << 34 // a NOP filling an SQE slot a RingTarget declined
)

const prSetIOFlusher = 57 // PR_SET_IO_FLUSHER

// queue serves one hardware queue. Everything except the fields guarded by
// mu is owned by the queue goroutine.
type queue struct {
	d      *Device
	id     int
	depth  int
	maxIO  int
	fd     int // /dev/ublkcN
	legacy bool
	target Target
	ringT  RingTarget // target, if it implements RingTarget

	ring  *uring.Ring
	descs []byte // read-only mmap of depth ioDesc
	bufs  []byte // depth * maxIO bytes of anonymous memory
	reqs  []Request
	cqes  []uring.CQE

	efd     int
	efdBuf  *[8]byte // the netpoller wait's reads of efd
	ringBuf *[8]byte // the ring's read of efd (armWake)
	// efdRC, when set, is efd registered with the ring and with the Go
	// netpoller (efdFile owns efd then): the queue sleeps there, not in
	// io_uring_enter (see wait).
	efdFile   *os.File
	efdRC     syscall.RawConn
	wakeArmed bool // the eventfd read that wakes the ring wait is queued

	cmdsOut int // ublk IO commands the kernel holds
	owned   int // requests handed to the target, not committed yet
	aborted int // tags that got UBLK_IO_RES_ABORT or an error

	mu       sync.Mutex // guards done and wakeSent
	done     []uint16   // tags completed off the queue goroutine
	spare    []uint16
	wakeSent bool // the eventfd was written and its read not reaped yet

	err error // first fatal error, reported by run

	poll time.Duration // busy-poll this long for new work before sleeping

	lastYield time.Time // when the queue goroutine last let the scheduler run
}

// yieldEvery is how often a busy queue goroutine calls runtime.Gosched. The
// runtime's sysmon treats a goroutine that has not been rescheduled for 10 ms
// as running too long: it preempts it with a signal and, since the queue
// goroutine is nearly always inside io_uring_enter or pread, takes its P away
// in the syscall, after which sysmon itself polls every 20 us for a while.
// Under a TCG guest that cost a fifth of a CPU at full IO load; a voluntary
// yield well inside the 10 ms keeps the scheduler's tick moving for the
// price of one thread handoff.
const yieldEvery = 5 * time.Millisecond

func newQueue(d *Device, id int) *queue {
	q := &queue{
		d: d, id: id, depth: int(d.info.QueueDepth), maxIO: int(d.info.MaxIOBufBytes),
		fd: d.charFd, legacy: d.ctrl.legacy, target: d.target, efd: -1,
		efdBuf: new([8]byte), ringBuf: new([8]byte), poll: d.poll,
	}
	q.ringT, _ = d.target.(RingTarget)
	q.reqs = make([]Request, q.depth)
	for i := range q.reqs {
		q.reqs[i].q = q
		q.reqs[i].tag = uint16(i)
	}
	q.cqes = make([]uring.CQE, 2*q.depth+2)
	q.done = make([]uint16, 0, q.depth)
	q.spare = make([]uint16, 0, q.depth)
	return q
}

// run is the queue goroutine. It signals ready once every FETCH is
// submitted and returns when every tag was aborted (device stopped or
// killed) and the target holds no request.
func (q *queue) run(ready chan<- error) {
	// The kernel (< 6.16) accepts IO commands of a queue only from the task
	// that fetched it: keep this goroutine on one OS thread for its life.
	// The thread is not unlocked, so it exits with the goroutine.
	runtime.LockOSThread()
	_ = unix.Prctl(prSetIOFlusher, 1, 0, 0, 0)
	if err := q.setup(); err != nil {
		q.teardown()
		ready <- err
		return
	}
	ready <- nil
	q.err = q.loop()
	q.teardown()
}

func (q *queue) setup() error {
	var err error
	page := os.Getpagesize()
	q.descs, err = unix.Mmap(q.fd, descOffset(q.id, page), descLen(q.depth, page), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("ublk queue %d: mmap descriptors: %w", q.id, err)
	}
	q.bufs, err = unix.Mmap(-1, 0, q.depth*q.maxIO, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return fmt.Errorf("ublk queue %d: mmap buffers: %w", q.id, err)
	}
	// Huge pages cut TLB misses and page-table walks on the copy paths
	// (ours and the kernel's get_user_pages); best effort.
	_ = unix.Madvise(q.bufs, unix.MADV_HUGEPAGE)
	entries := uint32(q.depth + 1)
	opts := uring.Options{
		Flags:     uring.SetupCoopTaskrun | uring.SetupSingleIssuer | uring.SetupDeferTaskrun,
		CQEntries: 2 * entries,
	}
	q.ring, err = uring.New(entries, opts)
	if err != nil {
		opts.Flags = 0
		if q.ring, err = uring.New(entries, opts); err != nil {
			return fmt.Errorf("ublk queue %d: io_uring: %w", q.id, err)
		}
	}
	q.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("ublk queue %d: eventfd: %w", q.id, err)
	}
	_ = q.pollEventfd()
	if err := q.armWake(); err != nil {
		return err
	}
	for tag := range q.depth {
		if err := q.prepCmd(ioFetchReq, uint16(tag), 0); err != nil {
			return err
		}
	}
	if _, err := q.ring.Submit(); err != nil {
		return fmt.Errorf("ublk queue %d: submit fetches: %w", q.id, err)
	}
	// A FETCH the kernel rejects completes at once; report that now rather
	// than letting START_DEV wait forever.
	n := q.ring.Reap(q.cqes)
	for _, c := range q.cqes[:n] {
		if c.UserData&udWake == 0 && c.Res < 0 {
			return fmt.Errorf("ublk queue %d: FETCH_REQ tag %d: %w", q.id, c.UserData&0xffff, unix.Errno(-c.Res))
		}
	}
	if n > 0 {
		return fmt.Errorf("ublk queue %d: unexpected completion during setup", q.id)
	}
	return nil
}

func (q *queue) teardown() {
	if q.ring != nil {
		q.ring.Close()
		q.ring = nil
	}
	if q.efdFile != nil {
		q.efdFile.Close() // closes efd
		q.efdFile, q.efdRC, q.efd = nil, nil, -1
	}
	if q.efd >= 0 {
		unix.Close(q.efd)
		q.efd = -1
	}
	if q.descs != nil {
		unix.Munmap(q.descs)
		q.descs = nil
	}
	if q.bufs != nil && q.owned == 0 {
		unix.Munmap(q.bufs)
		q.bufs = nil
	}
}

func (q *queue) buf(tag uint16) []byte {
	off := int(tag) * q.maxIO
	return q.bufs[off : off+q.maxIO : off+q.maxIO]
}

func (q *queue) prepCmd(nr uint32, tag uint16, result int32) error {
	sqe, err := q.ring.GetSQE()
	if err != nil {
		return fmt.Errorf("ublk queue %d: %w", q.id, err)
	}
	uring.PrepURingCmd(sqe, q.fd, ioOp(nr, q.legacy), uint64(tag))
	cmd := (*ioCmd)(unsafe.Pointer(&q.ring.Cmd(sqe)[0]))
	cmd.QID = uint16(q.id)
	cmd.Tag = tag
	cmd.Result = result
	cmd.Addr = uint64(uintptr(unsafe.Pointer(&q.bufs[int(tag)*q.maxIO])))
	q.cmdsOut++
	return nil
}

// pollEventfd lets the queue sleep in the Go netpoller (sleepNetpoll): efd
// is registered with the ring, so that the kernel can signal it when a ublk
// request's task work (or any completion) is queued, and completeAsync
// signals the same eventfd. It reports false where the kernel or the
// runtime does not support it; the queue then always waits in the ring.
func (q *queue) pollEventfd() bool {
	if err := q.ring.RegisterEventfd(q.efd); err != nil {
		return false
	}
	f := os.NewFile(uintptr(q.efd), "ublk-queue-eventfd")
	rc, err := f.SyscallConn()
	if err == nil {
		err = f.SetReadDeadline(time.Time{}) // fails unless the netpoller took it
	}
	if err != nil {
		// Not pollable: the queue waits in io_uring_enter as before, on
		// the same fd (f only owns it).
		_ = q.ring.UnregisterEventfd()
		q.efdFile = f
		return false
	}
	q.efdFile, q.efdRC = f, rc
	q.ring.SetEventfdDisabled(true) // until a wait sleeps in the netpoller
	return true
}

func (q *queue) armWake() error {
	sqe, err := q.ring.GetSQE()
	if err != nil {
		return fmt.Errorf("ublk queue %d: %w", q.id, err)
	}
	uring.PrepRead(sqe, q.efd, q.ringBuf[:], 0, udWake)
	q.wakeArmed = true
	return nil
}

func (q *queue) loop() error {
	busy := false
	for {
		if q.aborted == q.depth && q.owned == 0 {
			return nil
		}
		if err := q.wait(busy); err != nil {
			return fmt.Errorf("ublk queue %d: %w", q.id, err)
		}
		busy = q.ring.Ready() > 0
		q.maybeYield(time.Now())
		for {
			n := q.ring.Reap(q.cqes)
			if n == 0 {
				break
			}
			for i := range n {
				if err := q.handleCQE(&q.cqes[i]); err != nil {
					return err
				}
			}
		}
	}
}

// maybeYield reschedules the queue goroutine (it stays on its locked thread)
// when yieldEvery has passed since the last time; see yieldEvery.
func (q *queue) maybeYield(now time.Time) bool {
	if now.Sub(q.lastYield) < yieldEvery {
		return false
	}
	q.lastYield = now
	runtime.Gosched()
	return true
}

// wait submits what is pending and waits for completions. After a busy
// round it first polls for up to q.poll, which saves the sleep and wakeup
// when requests arrive back to back.
//
// Where the goroutines have one P between them (a connected daemon,
// pinned to one CPU), the queue sleeps in the Go netpoller instead
// (sleepNetpoll): asleep in io_uring_enter, an ordinary syscall, it would
// keep the P, and the goroutines woken meanwhile (the sender a write was
// queued for; the ack receiver, whose socket nobody polls) would wait
// until sysmon takes it away, milliseconds under load. With more Ps that
// costs nothing, and the netpoller's wakeup (a second thread handing the
// goroutine to its locked one) would: a lone ublkfile lost 30 % of its
// 4 KiB IOPS to it.
func (q *queue) wait(busy bool) error {
	netpoll := q.efdRC != nil && runtime.GOMAXPROCS(0) == 1
	if q.efdRC != nil {
		// Notifications on only while the netpoller watches the eventfd;
		// in the ring wait they would complete its own read of it again
		// and again.
		q.ring.SetEventfdDisabled(!netpoll)
	}
	if !netpoll && !q.wakeArmed {
		if err := q.armWake(); err != nil {
			return err
		}
	}
	if busy && q.poll > 0 {
		deadline := time.Now().Add(q.poll)
		for {
			n, err := q.ring.Poll()
			if err != nil {
				return err
			}
			if (netpoll && q.drainAsync()) || n > 0 {
				return nil
			}
			if time.Now().After(deadline) {
				break
			}
		}
	}
	if netpoll {
		return q.sleepNetpoll()
	}
	_, err := q.ring.SubmitAndWait(1)
	return err
}

// sleepNetpoll is wait's sleep for a queue whose eventfd the netpoller
// watches: it submits and runs the ring's pending task work without
// sleeping, and sleeps on the eventfd until either the kernel or
// completeAsync signals it. Completions queued by completeAsync are
// committed here. A read of the eventfd queued on the ring by an earlier
// ring wait may take a signal first; its completion signals the eventfd
// again.
func (q *queue) sleepNetpoll() error {
	for {
		n, err := q.ring.Poll()
		if err != nil {
			return err
		}
		if q.drainAsync() || n > 0 {
			return nil
		}
		// Asleep until signalled. A signal that came since the last read
		// leaves the counter set, so the read returns at once and the
		// ring is polled again: nothing is missed between Poll and here.
		err = q.efdRC.Read(func(fd uintptr) bool {
			_, err := unix.Read(int(fd), q.efdBuf[:])
			return err != unix.EAGAIN
		})
		if err != nil {
			return err
		}
	}
}

func (q *queue) handleCQE(c *uring.CQE) error {
	if c.UserData&udIgnore != 0 {
		return nil
	}
	if c.UserData&udWake != 0 {
		q.wakeArmed = false // the ring wait queues it again
		q.drainAsync()
		return nil
	}
	tag := uint16(c.UserData)
	if c.UserData&udTarget != 0 {
		r := &q.reqs[tag]
		var res int32
		if err := q.ringT.RingDone(r, c.Res); err != nil {
			res = errnoResult(err)
		} else {
			res = int32(r.Length)
		}
		return q.commit(tag, res)
	}
	q.cmdsOut--
	switch {
	case c.Res == ioResOK:
		return q.dispatch(tag)
	case c.Res == ioResAbort:
		q.aborted++
		return nil
	case c.Res < 0:
		// Command rejected (bad task, state, buffer...): this tag is dead.
		q.aborted++
		q.d.logf("ublk queue %d tag %d: io command failed: %v", q.id, tag, unix.Errno(-c.Res))
		return nil
	default:
		q.aborted++
		q.d.logf("ublk queue %d tag %d: unexpected io command result %d", q.id, tag, c.Res)
		return nil
	}
}

func (q *queue) dispatch(tag uint16) error {
	d := (*ioDesc)(unsafe.Pointer(&q.descs[int(tag)*ioDescSize]))
	opFlags := d.OpFlags
	r := &q.reqs[tag]
	r.Op = Op(opFlags & 0xff)
	r.Flags = opFlags &^ 0xff
	r.Offset = int64(d.StartSector) << sectorShift
	r.Length = int(d.NrSectors) << sectorShift
	r.Buf = nil
	q.owned++
	switch r.Op {
	case OpRead, OpWrite:
		if r.Length > q.maxIO || r.Length == 0 {
			return q.commit(tag, -int32(unix.EIO))
		}
		r.Buf = q.buf(tag)[:r.Length]
	case OpFlush:
		r.Length = 0
	case OpDiscard, OpWriteZeroes:
	default:
		return q.commit(tag, -int32(unix.EOPNOTSUPP))
	}
	if q.ringT != nil && (r.Op == OpRead || r.Op == OpWrite) {
		sqe, err := q.ring.GetSQE()
		if err != nil {
			return fmt.Errorf("ublk queue %d: %w", q.id, err)
		}
		if q.ringT.PrepRing(r, sqe) {
			sqe.UserData = udTarget | uint64(tag)
			return nil
		}
		uring.PrepNop(sqe, udIgnore) // slot taken: make it harmless
	}
	r.state.Store(reqDispatched)
	q.target.Handle(r)
	if r.state.CompareAndSwap(reqDispatched, reqAsync) {
		return nil // completes later through completeAsync
	}
	// Completed inside Handle.
	r.state.Store(reqIdle)
	return q.commit(tag, r.result)
}

func (q *queue) commit(tag uint16, res int32) error {
	if res == 0 {
		r := &q.reqs[tag]
		if r.Op == OpWrite {
			// A WRITE committed with 0 bytes is requeued forever.
			res = -int32(unix.EIO)
		}
	}
	q.owned--
	return q.prepCmd(ioCommitAndFetchReq, tag, res)
}

// completeAsync queues tag's result for the queue goroutine and wakes it.
func (q *queue) completeAsync(tag uint16) {
	q.mu.Lock()
	q.done = append(q.done, tag)
	wake := !q.wakeSent
	q.wakeSent = true
	q.mu.Unlock()
	if wake {
		var one = [8]byte{1}
		for {
			_, err := unix.Write(q.efd, one[:])
			if !errors.Is(err, unix.EINTR) {
				break
			}
		}
	}
}

// drainAsync commits the tags completeAsync queued; it reports whether
// there were any.
func (q *queue) drainAsync() bool {
	q.mu.Lock()
	done := q.done
	q.done = q.spare[:0]
	q.wakeSent = false
	q.mu.Unlock()
	for _, tag := range done {
		_ = q.commit(tag, q.reqs[tag].result)
	}
	q.spare = done
	return len(done) > 0
}
