package proto

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

var be = binary.BigEndian

// checkLen rejects a payload that is not exactly want bytes.
func checkLen(what string, b []byte, want int) error {
	if len(b) != want {
		return protoErr("%s: payload of %d bytes, want %d", what, len(b), want)
	}
	return nil
}

// ConnectionFeatures is p_connection_features, the payload of
// P_CONNECTION_FEATURES (drbd_send_features, drbd_do_features). The kernel
// sends Pad and Reserved as zero and ignores them on receipt; they are kept so
// that a decoded packet re-encodes to the same bytes.
type ConnectionFeatures struct {
	ProtocolMin  uint32
	FeatureFlags uint32
	ProtocolMax  uint32
	Pad          uint32
	Reserved     [7]uint64
}

// Append appends the 72-byte encoding of p.
func (p ConnectionFeatures) Append(b []byte) []byte {
	b = be.AppendUint32(b, p.ProtocolMin)
	b = be.AppendUint32(b, p.FeatureFlags)
	b = be.AppendUint32(b, p.ProtocolMax)
	b = be.AppendUint32(b, p.Pad)
	for _, r := range p.Reserved {
		b = be.AppendUint64(b, r)
	}
	return b
}

// Decode decodes exactly SizeConnectionFeatures bytes; the kernel refuses
// any other length ("expected ConnectionFeatures length").
func (p *ConnectionFeatures) Decode(b []byte) error {
	if len(b) != SizeConnectionFeatures {
		return protoErr("expected ConnectionFeatures length: %d, received: %d", SizeConnectionFeatures, len(b))
	}
	p.ProtocolMin = be.Uint32(b)
	p.FeatureFlags = be.Uint32(b[4:])
	p.ProtocolMax = be.Uint32(b[8:])
	p.Pad = be.Uint32(b[12:])
	for i := range p.Reserved {
		p.Reserved[i] = be.Uint64(b[16+8*i:])
	}
	return nil
}

// LocalFeatures is what the kernel sends: versions VersionMin to VersionMax
// and the Features flags.
func LocalFeatures() ConnectionFeatures {
	return ConnectionFeatures{ProtocolMin: VersionMin, FeatureFlags: Features, ProtocolMax: VersionMax}
}

// Negotiate computes what the kernel agrees on when it receives peer's
// features (drbd_do_features): a ProtocolMax of 0 stands for ProtocolMin; the
// ranges VersionMin..VersionMax and the peer's must overlap, and then the
// agreed version is the smaller maximum and the agreed features are the AND
// of Features and the peer's flags.
func Negotiate(peer ConnectionFeatures) (agreed int, features uint32, err error) {
	lo, hi := peer.ProtocolMin, peer.ProtocolMax
	if hi == 0 {
		hi = lo
	}
	if VersionMax < lo || VersionMin > hi {
		return 0, 0, protoErr("incompatible DRBD dialects: I support %d-%d, peer supports %d-%d",
			VersionMin, VersionMax, lo, hi)
	}
	return int(min(VersionMax, hi)), Features & peer.FeatureFlags, nil
}

// Data is p_data, the sub-header of P_DATA, P_DATA_REPLY and P_RS_DATA_REPLY,
// which is followed by the data (and, with a data-integrity-alg, preceded in
// the data by its digest). BlockID is the sender's opaque cookie, echoed in
// the acknowledgement.
type Data struct {
	Sector  uint64
	BlockID uint64
	SeqNum  uint32
	DPFlags uint32
}

// Append appends the 24-byte encoding of p.
func (p Data) Append(b []byte) []byte {
	b = be.AppendUint64(b, p.Sector)
	b = be.AppendUint64(b, p.BlockID)
	b = be.AppendUint32(b, p.SeqNum)
	return be.AppendUint32(b, p.DPFlags)
}

// Decode decodes exactly SizeData bytes; for a packet that carries data, pass
// the first SizeData bytes of the payload.
func (p *Data) Decode(b []byte) error {
	if err := checkLen("p_data", b, SizeData); err != nil {
		return err
	}
	p.Sector = be.Uint64(b)
	p.BlockID = be.Uint64(b[8:])
	p.SeqNum = be.Uint32(b[16:])
	p.DPFlags = be.Uint32(b[20:])
	return nil
}

// Trim is p_trim, the payload of P_TRIM and P_ZEROES: a p_data followed by
// the size of the range in bytes (bi_size), with no data.
type Trim struct {
	Data Data
	Size uint32
}

// WSame is p_wsame, the sub-header of P_WSAME, which has the layout of p_trim
// and is followed by one logical block of data.
type WSame = Trim

// Append appends the 28-byte encoding of p.
func (p Trim) Append(b []byte) []byte {
	return be.AppendUint32(p.Data.Append(b), p.Size)
}

// Decode decodes exactly SizeTrim bytes.
func (p *Trim) Decode(b []byte) error {
	if err := checkLen("p_trim", b, SizeTrim); err != nil {
		return err
	}
	_ = p.Data.Decode(b[:SizeData])
	p.Size = be.Uint32(b[SizeData:])
	return nil
}

// BlockAck is p_block_ack, the payload of the acknowledgements on the meta
// socket (P_RECV_ACK, P_WRITE_ACK, P_RS_WRITE_ACK, P_SUPERSEDED, P_NEG_ACK,
// P_NEG_DREPLY, P_NEG_RS_DREPLY, P_OV_RESULT, P_RS_IS_IN_SYNC, P_RS_CANCEL,
// P_RETRY_WRITE). BlockID echoes the request's cookie, or is IDSyncer,
// IDInSync or IDOutOfSync.
type BlockAck struct {
	Sector  uint64
	BlockID uint64
	BlkSize uint32
	SeqNum  uint32
}

// Append appends the 24-byte encoding of p.
func (p BlockAck) Append(b []byte) []byte {
	b = be.AppendUint64(b, p.Sector)
	b = be.AppendUint64(b, p.BlockID)
	b = be.AppendUint32(b, p.BlkSize)
	return be.AppendUint32(b, p.SeqNum)
}

// Decode decodes exactly SizeBlockAck bytes.
func (p *BlockAck) Decode(b []byte) error {
	if err := checkLen("p_block_ack", b, SizeBlockAck); err != nil {
		return err
	}
	p.Sector = be.Uint64(b)
	p.BlockID = be.Uint64(b[8:])
	p.BlkSize = be.Uint32(b[16:])
	p.SeqNum = be.Uint32(b[20:])
	return nil
}

// BlockReq is p_block_req, the sub-header of P_DATA_REQUEST,
// P_RS_DATA_REQUEST, P_RS_THIN_REQ, P_OV_REQUEST, and of P_OV_REPLY and
// P_CSUM_RS_REQUEST, which append a digest. The kernel leaves Pad as whatever
// its send buffer held; it is kept, not checked.
type BlockReq struct {
	Sector  uint64
	BlockID uint64
	BlkSize uint32
	Pad     uint32
}

// Append appends the 24-byte encoding of p.
func (p BlockReq) Append(b []byte) []byte {
	b = be.AppendUint64(b, p.Sector)
	b = be.AppendUint64(b, p.BlockID)
	b = be.AppendUint32(b, p.BlkSize)
	return be.AppendUint32(b, p.Pad)
}

// Decode decodes exactly SizeBlockReq bytes; for a packet with a digest,
// pass the first SizeBlockReq bytes of the payload.
func (p *BlockReq) Decode(b []byte) error {
	if err := checkLen("p_block_req", b, SizeBlockReq); err != nil {
		return err
	}
	p.Sector = be.Uint64(b)
	p.BlockID = be.Uint64(b[8:])
	p.BlkSize = be.Uint32(b[16:])
	p.Pad = be.Uint32(b[20:])
	return nil
}

// BlockDesc is p_block_desc, the payload of P_OUT_OF_SYNC and
// P_RS_DEALLOCATED.
type BlockDesc struct {
	Sector  uint64
	BlkSize uint32
	Pad     uint32
}

// Append appends the 16-byte encoding of p.
func (p BlockDesc) Append(b []byte) []byte {
	b = be.AppendUint64(b, p.Sector)
	b = be.AppendUint32(b, p.BlkSize)
	return be.AppendUint32(b, p.Pad)
}

// Decode decodes exactly SizeBlockDesc bytes.
func (p *BlockDesc) Decode(b []byte) error {
	if err := checkLen("p_block_desc", b, SizeBlockDesc); err != nil {
		return err
	}
	p.Sector = be.Uint64(b)
	p.BlkSize = be.Uint32(b[8:])
	p.Pad = be.Uint32(b[12:])
	return nil
}

// Barrier is p_barrier, the payload of P_BARRIER. Barrier is the sender's
// epoch number, an opaque cookie echoed in P_BARRIER_ACK (the kernel writes
// its own number without byte swapping).
type Barrier struct {
	Barrier uint32
	Pad     uint32
}

// Append appends the 8-byte encoding of p.
func (p Barrier) Append(b []byte) []byte {
	return be.AppendUint32(be.AppendUint32(b, p.Barrier), p.Pad)
}

// Decode decodes exactly SizeBarrier bytes.
func (p *Barrier) Decode(b []byte) error {
	if err := checkLen("p_barrier", b, SizeBarrier); err != nil {
		return err
	}
	p.Barrier = be.Uint32(b)
	p.Pad = be.Uint32(b[4:])
	return nil
}

// BarrierAck is p_barrier_ack, the payload of P_BARRIER_ACK: the echoed
// barrier cookie and the number of writes in the epoch.
type BarrierAck struct {
	Barrier uint32
	SetSize uint32
}

// Append appends the 8-byte encoding of p.
func (p BarrierAck) Append(b []byte) []byte {
	return be.AppendUint32(be.AppendUint32(b, p.Barrier), p.SetSize)
}

// Decode decodes exactly SizeBarrierAck bytes.
func (p *BarrierAck) Decode(b []byte) error {
	if err := checkLen("p_barrier_ack", b, SizeBarrierAck); err != nil {
		return err
	}
	p.Barrier = be.Uint32(b)
	p.SetSize = be.Uint32(b[4:])
	return nil
}

// SyncParam holds the resync parameters of P_SYNC_PARAM / P_SYNC_PARAM89,
// whose layout depends on the agreed protocol version (drbd_send_sync_param,
// receive_SyncParam):
//
//	<= 87   p_rs_param: resync_rate only (4 bytes)
//	   88   p_rs_param + verify_alg with its NUL (5 to 68 bytes)
//	89-94   p_rs_param_89: rate, verify_alg[64], csums_alg[64] (132 bytes)
//	>= 95   p_rs_param_95: p_rs_param_89 + c_plan_ahead, c_delay_target,
//	        c_fill_target, c_max_rate (148 bytes)
//
// Fields a layout lacks are not sent and decode as zero.
type SyncParam struct {
	ResyncRate   uint32
	VerifyAlg    string
	CsumsAlg     string
	CPlanAhead   uint32
	CDelayTarget uint32
	CFillTarget  uint32
	CMaxRate     uint32
}

// SyncParamCmd is the command that carries SyncParam at an agreed version.
func SyncParamCmd(agreed int) Cmd {
	if agreed >= 89 {
		return CmdSyncParam89
	}
	return CmdSyncParam
}

// Append appends the encoding of p for the agreed version; the name fields
// are NUL-padded to 64 bytes, as the kernel zeroes them before copying. It
// panics if an algorithm name that the layout carries is 64 bytes or longer
// or contains a NUL.
func (p SyncParam) Append(b []byte, agreed int) []byte {
	b = be.AppendUint32(b, p.ResyncRate)
	switch {
	case agreed <= 87:
		return b
	case agreed == 88:
		return appendCString(b, "verify_alg", p.VerifyAlg)
	}
	b = appendFixedString(b, "verify_alg", p.VerifyAlg)
	b = appendFixedString(b, "csums_alg", p.CsumsAlg)
	if agreed <= 94 {
		return b
	}
	b = be.AppendUint32(b, p.CPlanAhead)
	b = be.AppendUint32(b, p.CDelayTarget)
	b = be.AppendUint32(b, p.CFillTarget)
	return be.AppendUint32(b, p.CMaxRate)
}

// Decode decodes the layout of the agreed version, which must fill b exactly.
// The kernel itself only warns about an unterminated name and cuts it at 63
// bytes; here a name must be NUL-terminated and, in the fixed fields, be
// followed by zero bytes only, as the kernel sends it.
func (p *SyncParam) Decode(b []byte, agreed int) error {
	*p = SyncParam{}
	if len(b) < SizeRSParam {
		return protoErr("SyncParam packet too short: received %d bytes", len(b))
	}
	p.ResyncRate = be.Uint32(b)
	var err error
	switch {
	case agreed <= 87:
		return checkLen("p_rs_param", b, SizeRSParam)
	case agreed == 88:
		if n := len(b) - SizeRSParam; n == 0 || n > SharedSecretMax {
			return protoErr("verify-alg of wrong size, peer wants %d, accepting only up to %d byte", n, SharedSecretMax)
		}
		p.VerifyAlg, err = decodeCString("verify_alg", b[SizeRSParam:])
		return err
	case agreed <= 94:
		if err := checkLen("p_rs_param_89", b, SizeRSParam89); err != nil {
			return err
		}
	default:
		if err := checkLen("p_rs_param_95", b, SizeRSParam95); err != nil {
			return err
		}
		p.CPlanAhead = be.Uint32(b[132:])
		p.CDelayTarget = be.Uint32(b[136:])
		p.CFillTarget = be.Uint32(b[140:])
		p.CMaxRate = be.Uint32(b[144:])
	}
	if p.VerifyAlg, err = decodeFixedString("verify_alg", b[4:68]); err != nil {
		return err
	}
	p.CsumsAlg, err = decodeFixedString("csums_alg", b[68:132])
	return err
}

// Protocol is p_protocol, the payload of P_PROTOCOL and P_PROTOCOL_UPDATE
// (__drbd_send_protocol, receive_protocol). From agreed version 87 on the
// kernel appends the data-integrity-alg name with its terminating NUL, i.e.
// strlen+1 bytes, so an empty name is one zero byte.
type Protocol struct {
	Protocol     uint32 // ProtA, ProtB or ProtC
	AfterSB0p    uint32 // enum drbd_after_sb_p
	AfterSB1p    uint32
	AfterSB2p    uint32
	ConnFlags    uint32 // CFDiscardMyData, CFDryRun
	TwoPrimaries uint32
	IntegrityAlg string
}

// Append appends the encoding of p for the agreed version. It panics if the
// name is sent and is 64 bytes or longer or contains a NUL.
func (p Protocol) Append(b []byte, agreed int) []byte {
	b = be.AppendUint32(b, p.Protocol)
	b = be.AppendUint32(b, p.AfterSB0p)
	b = be.AppendUint32(b, p.AfterSB1p)
	b = be.AppendUint32(b, p.AfterSB2p)
	b = be.AppendUint32(b, p.ConnFlags)
	b = be.AppendUint32(b, p.TwoPrimaries)
	if agreed >= 87 {
		b = appendCString(b, "integrity_alg", p.IntegrityAlg)
	}
	return b
}

// Decode decodes the whole payload for the agreed version: exactly
// SizeProtocol bytes before version 87; from 87 on, SizeProtocol bytes and a
// NUL-terminated name of at most 64 bytes including the NUL (the kernel
// refuses a longer tail, and always sends the NUL).
func (p *Protocol) Decode(b []byte, agreed int) error {
	*p = Protocol{}
	if len(b) < SizeProtocol {
		return protoErr("ReportProtocol: unexpected packet size, expected:%d received:%d", SizeProtocol, len(b))
	}
	p.Protocol = be.Uint32(b)
	p.AfterSB0p = be.Uint32(b[4:])
	p.AfterSB1p = be.Uint32(b[8:])
	p.AfterSB2p = be.Uint32(b[12:])
	p.ConnFlags = be.Uint32(b[16:])
	p.TwoPrimaries = be.Uint32(b[20:])
	tail := b[SizeProtocol:]
	if agreed < 87 {
		if len(tail) != 0 {
			return protoErr("ReportProtocol: %d unexpected bytes after p_protocol in protocol version %d", len(tail), agreed)
		}
		return nil
	}
	if len(tail) > SharedSecretMax {
		return protoErr("ReportProtocol: integrity_alg of %d bytes, at most %d", len(tail), SharedSecretMax)
	}
	var err error
	p.IntegrityAlg, err = decodeCString("integrity_alg", tail)
	return err
}

// UUIDs is p_uuids, the payload of P_UUIDS (_drbd_send_uuids): the four
// data-generation UUIDs (current, bitmap, history start, history end), the
// number of bits set in the sender's bitmap (uuid[UI_SIZE]) and the UUIDFlag*
// bits (uuid[UI_FLAGS]).
type UUIDs struct {
	UUID         [4]uint64
	BitmapWeight uint64
	Flags        uint64
}

// Append appends the 48-byte encoding of p.
func (p UUIDs) Append(b []byte) []byte {
	for _, u := range p.UUID {
		b = be.AppendUint64(b, u)
	}
	b = be.AppendUint64(b, p.BitmapWeight)
	return be.AppendUint64(b, p.Flags)
}

// Decode decodes exactly SizeUUIDs bytes.
func (p *UUIDs) Decode(b []byte) error {
	if err := checkLen("p_uuids", b, SizeUUIDs); err != nil {
		return err
	}
	for i := range p.UUID {
		p.UUID[i] = be.Uint64(b[8*i:])
	}
	p.BitmapWeight = be.Uint64(b[32:])
	p.Flags = be.Uint64(b[40:])
	return nil
}

// RSUUID is p_rs_uuid, the payload of P_SYNC_UUID: the SyncSource's new
// bitmap UUID.
type RSUUID struct {
	UUID uint64
}

// Append appends the 8-byte encoding of p.
func (p RSUUID) Append(b []byte) []byte { return be.AppendUint64(b, p.UUID) }

// Decode decodes exactly SizeRSUUID bytes.
func (p *RSUUID) Decode(b []byte) error {
	if err := checkLen("p_rs_uuid", b, SizeRSUUID); err != nil {
		return err
	}
	p.UUID = be.Uint64(b)
	return nil
}

// QueueLimits is o_qlim, appended to p_sizes when FFWSame is agreed. The
// flag bytes are 0 or 1; the in-tree driver sets only DiscardEnabled and
// always sends DiscardZeroesData and WriteSameCapable as 0.
type QueueLimits struct {
	PhysicalBlockSize uint32
	LogicalBlockSize  uint32
	AlignmentOffset   uint32
	IOMin             uint32
	IOOpt             uint32
	DiscardEnabled    uint8
	DiscardZeroesData uint8
	WriteSameCapable  uint8
	Pad               uint8
}

// Sizes is p_sizes, the payload of P_SIZES (drbd_send_sizes). Sizes are in
// 512-byte sectors, MaxBioSize in bytes. QueueLimits travels only when the
// agreed features contain FFWSame.
type Sizes struct {
	DSize          uint64 // backing device size
	USize          uint64 // user-requested size
	CSize          uint64 // current exported size; 0 asks for a reply
	MaxBioSize     uint32
	QueueOrderType uint16
	DDSFlags       uint16 // DDSFForced, DDSFNoResync
	Qlim           QueueLimits
}

// Append appends the encoding of p: 32 bytes, plus the 24-byte o_qlim when
// features contain FFWSame.
func (p Sizes) Append(b []byte, features uint32) []byte {
	b = be.AppendUint64(b, p.DSize)
	b = be.AppendUint64(b, p.USize)
	b = be.AppendUint64(b, p.CSize)
	b = be.AppendUint32(b, p.MaxBioSize)
	b = be.AppendUint16(b, p.QueueOrderType)
	b = be.AppendUint16(b, p.DDSFlags)
	if features&FFWSame == 0 {
		return b
	}
	q := p.Qlim
	b = be.AppendUint32(b, q.PhysicalBlockSize)
	b = be.AppendUint32(b, q.LogicalBlockSize)
	b = be.AppendUint32(b, q.AlignmentOffset)
	b = be.AppendUint32(b, q.IOMin)
	b = be.AppendUint32(b, q.IOOpt)
	return append(b, q.DiscardEnabled, q.DiscardZeroesData, q.WriteSameCapable, q.Pad)
}

// SizesLen is the payload length of P_SIZES for the agreed features.
func SizesLen(features uint32) int {
	if features&FFWSame != 0 {
		return SizeSizes + SizeQueueLimits
	}
	return SizeSizes
}

// Decode decodes exactly SizesLen(features) bytes; without FFWSame, Qlim is
// zero.
func (p *Sizes) Decode(b []byte, features uint32) error {
	*p = Sizes{}
	if err := checkLen("p_sizes", b, SizesLen(features)); err != nil {
		return err
	}
	p.DSize = be.Uint64(b)
	p.USize = be.Uint64(b[8:])
	p.CSize = be.Uint64(b[16:])
	p.MaxBioSize = be.Uint32(b[24:])
	p.QueueOrderType = be.Uint16(b[28:])
	p.DDSFlags = be.Uint16(b[30:])
	if len(b) == SizeSizes {
		return nil
	}
	q := b[SizeSizes:]
	p.Qlim = QueueLimits{
		PhysicalBlockSize: be.Uint32(q),
		LogicalBlockSize:  be.Uint32(q[4:]),
		AlignmentOffset:   be.Uint32(q[8:]),
		IOMin:             be.Uint32(q[12:]),
		IOOpt:             be.Uint32(q[16:]),
		DiscardEnabled:    q[20],
		DiscardZeroesData: q[21],
		WriteSameCapable:  q[22],
		Pad:               q[23],
	}
	return nil
}

// State is p_state, the payload of P_STATE: the 32-bit union drbd_state.
type State struct {
	State uint32
}

// Append appends the 4-byte encoding of p.
func (p State) Append(b []byte) []byte { return be.AppendUint32(b, p.State) }

// Decode decodes exactly SizeState bytes.
func (p *State) Decode(b []byte) error {
	if err := checkLen("p_state", b, SizeState); err != nil {
		return err
	}
	p.State = be.Uint32(b)
	return nil
}

// ReqState is p_req_state, the payload of P_STATE_CHG_REQ and
// P_CONN_ST_CHG_REQ: a mask and value of union drbd_state.
type ReqState struct {
	Mask uint32
	Val  uint32
}

// Append appends the 8-byte encoding of p.
func (p ReqState) Append(b []byte) []byte {
	return be.AppendUint32(be.AppendUint32(b, p.Mask), p.Val)
}

// Decode decodes exactly SizeReqState bytes.
func (p *ReqState) Decode(b []byte) error {
	if err := checkLen("p_req_state", b, SizeReqState); err != nil {
		return err
	}
	p.Mask = be.Uint32(b)
	p.Val = be.Uint32(b[4:])
	return nil
}

// ReqStateReply is p_req_state_reply, the payload of P_STATE_CHG_REPLY and
// P_CONN_ST_CHG_REPLY: an enum drbd_state_rv (negative on failure).
type ReqStateReply struct {
	Retcode int32
}

// Append appends the 4-byte encoding of p.
func (p ReqStateReply) Append(b []byte) []byte { return be.AppendUint32(b, uint32(p.Retcode)) }

// Decode decodes exactly SizeReqStateReply bytes.
func (p *ReqStateReply) Decode(b []byte) error {
	if err := checkLen("p_req_state_reply", b, SizeReqStateReply); err != nil {
		return err
	}
	p.Retcode = int32(be.Uint32(b))
	return nil
}

// DelayProbe is p_delay_probe93, the payload of P_DELAY_PROBE, which 8.4
// receives and ignores on both sockets.
type DelayProbe struct {
	SeqNum uint32
	Offset uint32 // microseconds after the reference point
}

// Append appends the 8-byte encoding of p.
func (p DelayProbe) Append(b []byte) []byte {
	return be.AppendUint32(be.AppendUint32(b, p.SeqNum), p.Offset)
}

// Decode decodes exactly SizeDelayProbe bytes.
func (p *DelayProbe) Decode(b []byte) error {
	if err := checkLen("p_delay_probe93", b, SizeDelayProbe); err != nil {
		return err
	}
	p.SeqNum = be.Uint32(b)
	p.Offset = be.Uint32(b[4:])
	return nil
}

// CheckAuthChallenge checks the payload of a peer's P_AUTH_CHALLENGE, raw
// random bytes, as drbd_do_auth does: ChallengeLen to 2*ChallengeLen bytes,
// and not equal in its first ChallengeLen bytes to mine (the challenge this
// side sent).
func CheckAuthChallenge(peer, mine []byte) error {
	switch {
	case len(peer) > 2*ChallengeLen:
		return protoErr("expected AuthChallenge payload too big.")
	case len(peer) < ChallengeLen:
		return protoErr("AuthChallenge payload too small.")
	case len(mine) >= ChallengeLen && bytes.Equal(peer[:ChallengeLen], mine[:ChallengeLen]):
		return protoErr("Peer presented the same challenge!")
	}
	return nil
}

// CheckAuthResponse checks the length of a P_AUTH_RESPONSE payload, the raw
// HMAC of the challenge, against the digest size of the cram-hmac-alg.
func CheckAuthResponse(resp []byte, digestSize int) error {
	if len(resp) != digestSize {
		return protoErr("expected AuthResponse payload of wrong size")
	}
	return nil
}

// appendCString appends s and a NUL.
func appendCString(b []byte, field, s string) []byte {
	checkName(field, s)
	return append(append(b, s...), 0)
}

// appendFixedString appends s NUL-padded to SharedSecretMax bytes.
func appendFixedString(b []byte, field, s string) []byte {
	checkName(field, s)
	b = append(b, s...)
	return append(b, make([]byte, SharedSecretMax-len(s))...)
}

func checkName(field, s string) {
	if len(s) >= SharedSecretMax || strings.IndexByte(s, 0) >= 0 {
		panic(fmt.Sprintf("proto: %s %q: want fewer than %d bytes and no NUL", field, s, SharedSecretMax))
	}
}

// decodeCString decodes a name sent as strlen+1 bytes: the last byte and no
// other is NUL.
func decodeCString(field string, b []byte) (string, error) {
	if len(b) == 0 || b[len(b)-1] != 0 {
		return "", protoErr("%s is not NUL-terminated", field)
	}
	s := b[:len(b)-1]
	if bytes.IndexByte(s, 0) >= 0 {
		return "", protoErr("%s has bytes after its NUL", field)
	}
	return string(s), nil
}

// decodeFixedString decodes a NUL-padded SharedSecretMax-byte field.
func decodeFixedString(field string, b []byte) (string, error) {
	n := bytes.IndexByte(b, 0)
	if n < 0 {
		return "", protoErr("%s is not NUL-terminated", field)
	}
	for _, c := range b[n:] {
		if c != 0 {
			return "", protoErr("%s has bytes after its NUL", field)
		}
	}
	return string(b[:n]), nil
}
