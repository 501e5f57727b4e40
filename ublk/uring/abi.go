package uring

import "unsafe"

// Setup flags (io_uring_params.flags).
const (
	SetupIOPoll        = 1 << 0
	SetupSQPoll        = 1 << 1
	SetupCQSize        = 1 << 3
	SetupClamp         = 1 << 4
	SetupCoopTaskrun   = 1 << 8
	SetupTaskrunFlag   = 1 << 9
	SetupSQE128        = 1 << 10
	SetupCQE32         = 1 << 11
	SetupSingleIssuer  = 1 << 12
	SetupDeferTaskrun  = 1 << 13
	FeatSingleMmap     = 1 << 0
	FeatNoDrop         = 1 << 1
	FeatExtArg         = 1 << 8
	EnterGetEvents     = 1 << 0
	EnterSQWakeup      = 1 << 1
	EnterExtArg        = 1 << 3
	sqNeedWakeup       = 1 << 0
	offSQRing          = 0
	offCQRing          = 0x8000000
	offSQEs            = 0x10000000
	registerFiles      = 2
	unregisterFiles    = 3
	registerBuffers    = 0
	unregisterBuffers  = 1
	registerIOWQMaxWrk = 19
	registerEventfd    = 4
	unregisterEventfd  = 5
	cqEventfdDisabled  = 1 << 0 // IORING_CQ_EVENTFD_DISABLED in cq_flags
)

// SQE flags (io_uring_sqe.flags).
const (
	SQEFixedFile      = 1 << 0
	SQEIODrain        = 1 << 1
	SQEIOLink         = 1 << 2
	SQEIOHardlink     = 1 << 3
	SQEAsync          = 1 << 4
	SQECQESkipSuccess = 1 << 6
)

// Opcodes (io_uring_sqe.opcode) used by udrbd.
const (
	OpNop         = 0
	OpReadv       = 1
	OpWritev      = 2
	OpFsync       = 3
	OpReadFixed   = 4
	OpWriteFixed  = 5
	OpPollAdd     = 6
	OpAsyncCancel = 14
	OpFallocate   = 17
	OpRead        = 22
	OpWrite       = 23
	OpURingCmd    = 46
)

// FsyncDatasync is IORING_FSYNC_DATASYNC (io_uring_sqe.fsync_flags).
const FsyncDatasync = 1 << 0

// sqringOffsets is struct io_sqring_offsets (40 bytes).
type sqringOffsets struct {
	Head        uint32
	Tail        uint32
	RingMask    uint32
	RingEntries uint32
	Flags       uint32
	Dropped     uint32
	Array       uint32
	Resv1       uint32
	UserAddr    uint64
}

// cqringOffsets is struct io_cqring_offsets (40 bytes).
type cqringOffsets struct {
	Head        uint32
	Tail        uint32
	RingMask    uint32
	RingEntries uint32
	Overflow    uint32
	CQEs        uint32
	Flags       uint32
	Resv1       uint32
	UserAddr    uint64
}

// params is struct io_uring_params (120 bytes).
type params struct {
	SQEntries    uint32
	CQEntries    uint32
	Flags        uint32
	SQThreadCPU  uint32
	SQThreadIdle uint32
	Features     uint32
	WQFd         uint32
	Resv         [3]uint32
	SQOff        sqringOffsets
	CQOff        cqringOffsets
}

// SQE is the first (or only) 64 bytes of struct io_uring_sqe. In a ring
// created with SetupSQE128 each entry is 128 bytes and the command area
// (Cmd) continues into the second half; use Ring.Cmd to reach all 80 bytes.
type SQE struct {
	Opcode   uint8
	Flags    uint8
	Ioprio   uint16
	Fd       int32
	Off      uint64 // off / addr2 / cmd_op (low 32 bits) + __pad1
	Addr     uint64 // addr / splice_off_in
	Len      uint32
	OpFlags  uint32 // rw_flags / fsync_flags / uring_cmd_flags / ...
	UserData uint64
	BufIndex uint16
	Personal uint16
	FileIdx  int32    // splice_fd_in / file_index
	Cmd      [16]byte // addr3 + __pad2, or the start of the uring_cmd payload
}

// SetCmdOp stores the 32-bit cmd_op of an IORING_OP_URING_CMD at byte 8
// (the rest of that 64-bit word, __pad1, is zero).
func (s *SQE) SetCmdOp(op uint32) { s.Off = uint64(op) }

// CmdOp returns the cmd_op field.
func (s *SQE) CmdOp() uint32 { return uint32(s.Off) }

// CQE is struct io_uring_cqe (16 bytes; the ring never uses CQE32).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

const (
	sqeSize     = 64
	cmdOffset   = 48 // offsetof(struct io_uring_sqe, cmd)
	cqeSize     = 16
	paramsSize  = 120
	sqOffSize   = 40
	cqOffSize   = 40
	cmd128Bytes = 80
)

var (
	_ [sqeSize - unsafe.Sizeof(SQE{})]struct{}
	_ [unsafe.Sizeof(SQE{}) - sqeSize]struct{}
	_ [cqeSize - unsafe.Sizeof(CQE{})]struct{}
	_ [paramsSize - unsafe.Sizeof(params{})]struct{}
)

// getEventsArg is struct io_uring_getevents_arg (24 bytes).
type getEventsArg struct {
	Sigmask   uint64
	SigmaskSz uint32
	MinWaitUs uint32
	Ts        uint64
}
