package proto

// Packet header magics (include/linux/drbd.h).
const (
	Magic    uint32 = 0x83740267 // DRBD_MAGIC: p_header80
	MagicBig uint16 = 0x835a     // DRBD_MAGIC_BIG: p_header95
	Magic100 uint32 = 0x8620ec20 // DRBD_MAGIC_100: p_header100
)

// Protocol versions (drbd_config.h PRO_VERSION_MIN/MAX). A connection's
// agreed version is VersionPreNegotiation until P_CONNECTION_FEATURES have
// been exchanged (conn_connect sets agreed_pro_version to 80), so the first
// packets on both sockets use p_header80.
const (
	VersionMin            = 86
	VersionMax            = 101
	VersionPreNegotiation = 80
)

// Feature flags of p_connection_features (DRBD_FF_*); the agreed set is the
// AND of both sides' flags.
const (
	FFTrim       uint32 = 1 // DRBD_FF_TRIM: P_TRIM
	FFThinResync uint32 = 2 // DRBD_FF_THIN_RESYNC: P_RS_THIN_REQ, P_RS_DEALLOCATED
	FFWSame      uint32 = 4 // DRBD_FF_WSAME: also means p_sizes carries o_qlim
	FFWZeroes    uint32 = 8 // DRBD_FF_WZEROES: P_ZEROES
	// Features is PRO_FEATURES, what the kernel advertises.
	Features = FFTrim | FFThinResync | FFWSame | FFWZeroes
)

// Flags of p_data.dp_flags (DP_*).
const (
	DPHardBarrier    uint32 = 1 // no longer used
	DPRWSync         uint32 = 2
	DPMaySetInSync   uint32 = 4
	DPUnplug         uint32 = 8 // no longer used
	DPFUA            uint32 = 16
	DPFlush          uint32 = 32
	DPDiscard        uint32 = 64
	DPSendReceiveAck uint32 = 128 // protocol B: answer with P_RECV_ACK
	DPSendWriteAck   uint32 = 256 // protocol C: answer with P_WRITE_ACK
	DPWSame          uint32 = 512
	DPZeroes         uint32 = 1024
)

// Flags in UUIDs.Flags, the uuid[UI_FLAGS] word of P_UUIDS (_drbd_send_uuids,
// drbd_send_uuids_skip_initial_sync).
const (
	UUIDFlagDiscardMyData   uint64 = 1
	UUIDFlagCrashedPrimary  uint64 = 2
	UUIDFlagInconsistent    uint64 = 4 // disk is D_INCONSISTENT in the state being negotiated
	UUIDFlagSkipInitialSync uint64 = 8
)

// Connection flags of p_protocol.conn_flags (enum drbd_conn_flags).
const (
	CFDiscardMyData uint32 = 1
	CFDryRun        uint32 = 2
)

// Replication protocols of p_protocol.protocol (DRBD_PROT_*).
const (
	ProtA = 1
	ProtB = 2
	ProtC = 3
)

// Flags of p_sizes.dds_flags (enum dds_flags).
const (
	DDSFForced   uint16 = 1
	DDSFNoResync uint16 = 2
)

// Special block ids (drbd_int.h). IDSyncer marks resync traffic; IDInSync and
// IDOutOfSync are the verdict of P_OV_RESULT, which the kernel writes with
// cpu_to_be64, so they compare equal to BlockAck.BlockID as decoded here.
const (
	IDSyncer    uint64 = ^uint64(0)
	IDInSync    uint64 = 4711
	IDOutOfSync uint64 = 4712
)

// Size limits (drbd_protocol.h, drbd_int.h, drbd.h).
const (
	// SocketBufferSize is DRBD_SOCKET_BUFFER_SIZE: a bitmap packet, header
	// included, never exceeds it.
	SocketBufferSize = 4096
	// SharedSecretMax is SHARED_SECRET_MAX, the size of the algorithm-name
	// fields; a name has at most SharedSecretMax-1 bytes.
	SharedSecretMax = 64
	// ChallengeLen is CHALLENGE_LEN, the size of the kernel's
	// P_AUTH_CHALLENGE; it accepts a peer challenge of ChallengeLen to
	// 2*ChallengeLen bytes.
	ChallengeLen = 64

	MaxBioSize       = 1 << 20 // DRBD_MAX_BIO_SIZE
	MaxBioSizeSafe   = 1 << 12 // DRBD_MAX_BIO_SIZE_SAFE
	MaxSizeH80Packet = 1 << 15 // DRBD_MAX_SIZE_H80_PACKET
	MaxBioSizeP95    = 1 << 17 // DRBD_MAX_BIO_SIZE_P95
)

// MaxBioSizeFor is the largest bio the kernel announces in P_SIZES for an
// agreed protocol version (drbd_send_sizes): 32 KiB up to version 94,
// 128 KiB for 95 to 99, 1 MiB from 100 on.
func MaxBioSizeFor(agreed int) int {
	switch {
	case agreed <= 94:
		return MaxSizeH80Packet
	case agreed < 100:
		return MaxBioSizeP95
	default:
		return MaxBioSize
	}
}

// Sizes of the fixed payload structs, in bytes.
const (
	SizeConnectionFeatures = 72  // p_connection_features
	SizeData               = 24  // p_data
	SizeTrim               = 28  // p_trim, p_wsame
	SizeBlockAck           = 24  // p_block_ack
	SizeBlockReq           = 24  // p_block_req
	SizeBlockDesc          = 16  // p_block_desc
	SizeBarrier            = 8   // p_barrier
	SizeBarrierAck         = 8   // p_barrier_ack
	SizeRSParam            = 4   // p_rs_param, without its verify_alg tail
	SizeRSParam89          = 132 // p_rs_param_89
	SizeRSParam95          = 148 // p_rs_param_95
	SizeProtocol           = 24  // p_protocol, without its integrity_alg tail
	SizeUUIDs              = 48  // p_uuids
	SizeRSUUID             = 8   // p_rs_uuid
	SizeSizes              = 32  // p_sizes, without o_qlim
	SizeQueueLimits        = 24  // o_qlim
	SizeState              = 4   // p_state
	SizeReqState           = 8   // p_req_state
	SizeReqStateReply      = 4   // p_req_state_reply
	SizeDelayProbe         = 8   // p_delay_probe93
)
