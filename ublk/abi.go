package ublk

import "unsafe"

// ioctl encoding of the UBLK_U_* command numbers (generic _IOC layout).
const (
	iocWrite    = 1
	iocRead     = 2
	iocType     = 'u'
	ctrlCmdSize = 32 // sizeof(struct ublksrv_ctrl_cmd)
	ioCmdSize   = 16 // sizeof(struct ublksrv_io_cmd)
)

func ioc(dir, nr, size uint32) uint32 { return dir<<30 | size<<16 | iocType<<8 | nr }

// Legacy control command numbers (UBLK_CMD_*).
const (
	cmdGetQueueAffinity  = 0x01
	cmdGetDevInfo        = 0x02
	cmdAddDev            = 0x04
	cmdDelDev            = 0x05
	cmdStartDev          = 0x06
	cmdStopDev           = 0x07
	cmdSetParams         = 0x08
	cmdGetParams         = 0x09
	cmdStartUserRecovery = 0x10
	cmdEndUserRecovery   = 0x11
	cmdGetDevInfo2       = 0x12
	cmdGetFeatures       = 0x13
	cmdDelDevAsync       = 0x14
	cmdUpdateSize        = 0x15
)

// ctrlOp returns the command code for control command nr: the ioctl-encoded
// UBLK_U_CMD_* value, or the legacy number when legacy is set.
func ctrlOp(nr uint32, legacy bool) uint32 {
	if legacy {
		return nr
	}
	switch nr {
	case cmdGetQueueAffinity, cmdGetDevInfo, cmdGetParams, cmdGetDevInfo2, cmdGetFeatures, cmdDelDevAsync:
		return ioc(iocRead, nr, ctrlCmdSize)
	}
	return ioc(iocRead|iocWrite, nr, ctrlCmdSize)
}

// IO command numbers (UBLK_IO_*; the encoded UBLK_U_IO_* are _IOWR).
const (
	ioFetchReq          = 0x20
	ioCommitAndFetchReq = 0x21
	ioNeedGetData       = 0x22
)

func ioOp(nr uint32, legacy bool) uint32 {
	if legacy {
		return nr
	}
	return ioc(iocRead|iocWrite, nr, ioCmdSize)
}

// IO command results (cqe.res of FETCH/COMMIT_AND_FETCH).
const (
	ioResOK          = 0
	ioResNeedGetData = 1
	ioResAbort       = -19 // -ENODEV
)

// Feature flags (UBLK_F_*), in ublksrv_ctrl_dev_info.flags and GET_FEATURES.
const (
	FlagSupportZeroCopy     = 1 << 0
	FlagURingCmdCompInTask  = 1 << 1
	FlagNeedGetData         = 1 << 2
	FlagUserRecovery        = 1 << 3
	FlagUserRecoveryReissue = 1 << 4
	FlagUnprivilegedDev     = 1 << 5
	FlagCmdIoctlEncode      = 1 << 6
	FlagUserCopy            = 1 << 7
	FlagZoned               = 1 << 8
	FlagUserRecoveryFailIO  = 1 << 9
	FlagUpdateSize          = 1 << 10
	FlagAutoBufReg          = 1 << 11
	FlagQuiesce             = 1 << 12
	FlagPerIODaemon         = 1 << 13
	FlagBufRegOffDaemon     = 1 << 14
	FlagBatchIO             = 1 << 15
	FlagIntegrity           = 1 << 16
	FlagSafeStopDev         = 1 << 17
	FlagNoAutoPartScan      = 1 << 18
	FlagShmemZC             = 1 << 19
)

// Device states (UBLK_S_DEV_*).
const (
	StateDead     = 0
	StateLive     = 1
	StateQuiesced = 2
	StateFailIO   = 3
)

// IO operations (UBLK_IO_OP_*, bits 0-7 of ublksrv_io_desc.op_flags).
const (
	opRead        = 0
	opWrite       = 1
	opFlush       = 2
	opDiscard     = 3
	opWriteSame   = 4
	opWriteZeroes = 5
)

// IO flags (UBLK_IO_F_*), at their raw bit positions in op_flags.
const (
	ioFlagFailfastDev       = 1 << 8
	ioFlagFailfastTransport = 1 << 9
	ioFlagFailfastDriver    = 1 << 10
	ioFlagMeta              = 1 << 11
	ioFlagFUA               = 1 << 13
	ioFlagNoUnmap           = 1 << 15
	ioFlagSwap              = 1 << 16
)

// Parameter types (UBLK_PARAM_TYPE_*) and basic attributes (UBLK_ATTR_*).
const (
	paramTypeBasic    = 1 << 0
	paramTypeDiscard  = 1 << 1
	paramTypeDevt     = 1 << 2
	paramTypeZoned    = 1 << 3
	paramTypeDMAAlign = 1 << 4
	paramTypeSegment  = 1 << 5

	attrReadOnly      = 1 << 0
	attrRotational    = 1 << 1
	attrVolatileCache = 1 << 2
	attrFUA           = 1 << 3
)

// Limits and mmap offsets.
const (
	maxQueueDepth = 4096 // UBLK_MAX_QUEUE_DEPTH
	maxNrQueues   = 4096 // UBLK_MAX_NR_QUEUES
	cmdBufOffset  = 0    // UBLKSRV_CMD_BUF_OFFSET
	ioBufOffset   = 0x80000000
	ioDescSize    = 24
	featuresLen   = 8 // UBLK_FEATURES_LEN
	devIDAuto     = 0xFFFFFFFF
	queueIDNone   = 0xFFFF
	maxDevID      = 1<<20 - 1
	sectorShift   = 9
)

// ctrlCmd is struct ublksrv_ctrl_cmd (32 bytes, at SQE offset 48).
type ctrlCmd struct {
	DevID      uint32
	QueueID    uint16
	Len        uint16
	Addr       uint64
	Data       uint64
	DevPathLen uint16
	Pad        uint16
	Reserved   uint32
}

// DevInfo is struct ublksrv_ctrl_dev_info (64 bytes).
type DevInfo struct {
	NrHWQueues    uint16
	QueueDepth    uint16
	State         uint16
	Pad0          uint16
	MaxIOBufBytes uint32
	DevID         uint32
	ServerPID     int32
	Pad1          uint32
	Flags         uint64
	ServerFlags   uint64 // ublksrv_flags: opaque to the kernel
	OwnerUID      uint32
	OwnerGID      uint32
	Reserved1     uint64
	Reserved2     uint64
}

// ioDesc is struct ublksrv_io_desc (24 bytes, one per tag, read-only mmap).
type ioDesc struct {
	OpFlags     uint32
	NrSectors   uint32
	StartSector uint64
	Addr        uint64
}

// ioCmd is struct ublksrv_io_cmd (16 bytes, at SQE offset 48).
type ioCmd struct {
	QID    uint16
	Tag    uint16
	Result int32
	Addr   uint64
}

// ParamBasic is struct ublk_param_basic (32 bytes).
type ParamBasic struct {
	Attrs            uint32
	LogicalBSShift   uint8
	PhysicalBSShift  uint8
	IOOptShift       uint8
	IOMinShift       uint8
	MaxSectors       uint32
	ChunkSectors     uint32
	DevSectors       uint64
	VirtBoundaryMask uint64
}

// ParamDiscard is struct ublk_param_discard (20 bytes).
type ParamDiscard struct {
	DiscardAlignment      uint32
	DiscardGranularity    uint32
	MaxDiscardSectors     uint32
	MaxWriteZeroesSectors uint32
	MaxDiscardSegments    uint16
	Reserved0             uint16
}

// ParamDevt is struct ublk_param_devt (16 bytes, read-only).
type ParamDevt struct {
	CharMajor, CharMinor, DiskMajor, DiskMinor uint32
}

// ParamZoned is struct ublk_param_zoned (32 bytes).
type ParamZoned struct {
	MaxOpenZones         uint32
	MaxActiveZones       uint32
	MaxZoneAppendSectors uint32
	Reserved             [20]byte
}

// ParamDMAAlign is struct ublk_param_dma_align (8 bytes).
type ParamDMAAlign struct {
	Alignment uint32
	Pad       [4]byte
}

// ParamSegment is struct ublk_param_segment (16 bytes).
type ParamSegment struct {
	SegBoundaryMask uint64
	MaxSegmentSize  uint32
	MaxSegments     uint16
	Pad             [2]byte
}

// ParamIntegrity is struct ublk_param_integrity (16 bytes).
type ParamIntegrity struct {
	Flags                uint32
	MaxIntegritySegments uint16
	IntervalExp          uint8
	MetadataSize         uint8
	PIOffset             uint8
	CsumType             uint8
	TagSize              uint8
	Pad                  [5]byte
}

// Params is struct ublk_params (152 bytes in the newest UAPI; kernels copy
// only the prefix they know: 112 bytes on 6.12).
type Params struct {
	Len       uint32
	Types     uint32
	Basic     ParamBasic
	Discard   ParamDiscard
	Devt      ParamDevt
	Zoned     ParamZoned
	DMA       ParamDMAAlign
	Seg       ParamSegment
	Integrity ParamIntegrity
}

// Compile-time size checks; the tests check every offset.
var (
	_ [unsafe.Sizeof(ctrlCmd{}) - ctrlCmdSize]struct{}
	_ [ctrlCmdSize - unsafe.Sizeof(ctrlCmd{})]struct{}
	_ [unsafe.Sizeof(ioCmd{}) - ioCmdSize]struct{}
	_ [ioCmdSize - unsafe.Sizeof(ioCmd{})]struct{}
	_ [unsafe.Sizeof(ioDesc{}) - ioDescSize]struct{}
	_ [ioDescSize - unsafe.Sizeof(ioDesc{})]struct{}
	_ [unsafe.Sizeof(DevInfo{}) - 64]struct{}
	_ [64 - unsafe.Sizeof(DevInfo{})]struct{}
	_ [unsafe.Sizeof(Params{}) - 152]struct{}
	_ [152 - unsafe.Sizeof(Params{})]struct{}
)

// params612Len is sizeof(struct ublk_params) on Linux 6.12 (len, types,
// basic, discard, devt, zoned; padded to 8).
const params612Len = unsafe.Offsetof(Params{}.DMA) + 4

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// descOffset is the mmap offset of queue q's descriptor array on /dev/ublkcN.
func descOffset(q, pageSize int) int64 {
	return cmdBufOffset + int64(q)*int64(roundUp(maxQueueDepth*ioDescSize, pageSize))
}

// descLen is the mmap length of a queue's descriptor array.
func descLen(depth, pageSize int) int { return roundUp(depth*ioDescSize, pageSize) }
