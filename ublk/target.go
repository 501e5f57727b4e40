package ublk

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"

	"udrbd/ublk/uring"
)

// Op is a block request operation (UBLK_IO_OP_*).
type Op uint8

// The operations a Target sees.
const (
	OpRead        Op = opRead
	OpWrite       Op = opWrite
	OpFlush       Op = opFlush
	OpDiscard     Op = opDiscard
	OpWriteZeroes Op = opWriteZeroes
)

func (o Op) String() string {
	switch o {
	case OpRead:
		return "READ"
	case OpWrite:
		return "WRITE"
	case OpFlush:
		return "FLUSH"
	case OpDiscard:
		return "DISCARD"
	case OpWriteZeroes:
		return "WRITE_ZEROES"
	}
	return fmt.Sprintf("OP(%d)", uint8(o))
}

// Target serves block requests. Handle is called on the queue's goroutine
// and must not block for long; it must eventually call r.Complete exactly
// once, either before returning (synchronous targets: cheapest) or later
// from any goroutine.
type Target interface {
	Handle(r *Request)
}

// RingTarget is an optional interface: a Target whose READ and WRITE can
// be expressed as one io_uring SQE on the queue's own ring (for example a
// read or write of a backing file). The queue submits it together with its
// ublk commands (one io_uring_enter per batch) and calls RingDone with the
// CQE result on the queue goroutine; the request is then committed.
type RingTarget interface {
	Target
	// PrepRing fills s for r and returns true, or returns false to have
	// the request go through Handle instead. Only READ and WRITE are
	// offered.
	PrepRing(r *Request, s *uring.SQE) bool
	// RingDone turns the SQE's result into the request's outcome (it may
	// finish a short transfer synchronously).
	RingDone(r *Request, res int32) error
}

// TargetFunc adapts a function to Target.
type TargetFunc func(r *Request)

// Handle calls f(r).
func (f TargetFunc) Handle(r *Request) { f(r) }

// Request is one block request. Its fields are valid from Handle until
// Complete; the Request is reused afterwards.
type Request struct {
	Op     Op
	Flags  uint32 // raw UBLK_IO_F_* bits of op_flags
	Offset int64  // byte offset on the device
	Length int    // bytes (0 for FLUSH)
	// Buf is the request's data for WRITE, or the buffer to fill for READ
	// (len(Buf) == Length). Nil for other operations.
	Buf []byte
	// Private is the Target's: the queue leaves it alone, and it stays
	// from one request of the tag to the next (a Target may keep its own
	// per-request state there instead of allocating it each time).
	Private any

	q      *queue
	tag    uint16
	state  atomic.Uint32
	result int32
}

const (
	reqIdle       = iota
	reqDispatched // inside Target.Handle
	reqAsync      // Handle returned without completing
	reqDone       // completed inside Handle
)

// FUA reports whether a WRITE must be durable before it completes.
func (r *Request) FUA() bool { return r.Flags&ioFlagFUA != 0 }

// NoUnmap reports whether a WRITE_ZEROES must keep the range allocated.
func (r *Request) NoUnmap() bool { return r.Flags&ioFlagNoUnmap != 0 }

// Queue returns the hardware queue and tag of the request.
func (r *Request) Queue() (q int, tag int) { return r.q.id, int(r.tag) }

// Complete finishes the request: nil is success; an error carrying a
// syscall.Errno (errors.As) is passed to the block layer as that errno,
// any other error as EIO. It may be called from any goroutine, once.
func (r *Request) Complete(err error) {
	res := int32(0)
	if err != nil {
		res = errnoResult(err)
	} else if r.Op == OpRead || r.Op == OpWrite {
		res = int32(r.Length)
	}
	r.complete(res)
}

func errnoResult(err error) int32 {
	var e syscall.Errno
	if errors.As(err, &e) && e != 0 {
		return -int32(e)
	}
	return -int32(syscall.EIO)
}

func (r *Request) complete(res int32) {
	r.result = res
	if r.state.CompareAndSwap(reqDispatched, reqDone) {
		return // the queue goroutine commits it when Handle returns
	}
	if !r.state.CompareAndSwap(reqAsync, reqIdle) {
		panic("ublk: Request completed twice or after reuse")
	}
	r.q.completeAsync(r.tag)
}
