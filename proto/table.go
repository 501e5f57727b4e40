package proto

// Socket names one of the two TCP connections of a DRBD connection; each has
// its own receiver with its own table of accepted commands.
type Socket uint8

const (
	// DataSocket is read by the receiver thread (drbdd, drbd_cmd_handler).
	DataSocket Socket = iota
	// MetaSocket is read by the ack receiver (drbd_ack_receiver,
	// ack_receiver_tbl).
	MetaSocket
)

func (s Socket) String() string {
	if s == MetaSocket {
		return "meta"
	}
	return "data"
}

type rule struct {
	fixed int  // pkt_size: the sub-header read before the handler runs
	more  bool // expect_payload: bytes after the sub-header are allowed
}

// dataRules is the in-tree drbd_cmd_handler table. It has no P_WSAME entry
// (LINBIT's drbd-8.4 accepts P_WSAME with a p_wsame sub-header and data).
var dataRules = map[Cmd]rule{
	CmdData:             {SizeData, true},
	CmdDataReply:        {SizeData, true},
	CmdRSDataReply:      {SizeData, true},
	CmdBarrier:          {SizeBarrier, false},
	CmdBitmap:           {0, true},
	CmdCompressedBitmap: {0, true},
	CmdUnplugRemote:     {0, false},
	CmdDataRequest:      {SizeBlockReq, false},
	CmdRSDataRequest:    {SizeBlockReq, false},
	CmdSyncParam:        {0, true},
	CmdSyncParam89:      {0, true},
	CmdProtocol:         {SizeProtocol, true},
	CmdUUIDs:            {SizeUUIDs, false},
	CmdSizes:            {SizeSizes, false},
	CmdState:            {SizeState, false},
	CmdStateChgReq:      {SizeReqState, false},
	CmdSyncUUID:         {SizeRSUUID, false},
	CmdOVRequest:        {SizeBlockReq, false},
	CmdOVReply:          {SizeBlockReq, true},
	CmdCsumRSRequest:    {SizeBlockReq, true},
	CmdRSThinReq:        {SizeBlockReq, false},
	CmdDelayProbe:       {SizeDelayProbe, false},
	CmdOutOfSync:        {SizeBlockDesc, false},
	CmdConnStChgReq:     {SizeReqState, false},
	CmdProtocolUpdate:   {SizeProtocol, true},
	CmdTrim:             {SizeTrim, false},
	CmdZeroes:           {SizeTrim, false},
	CmdRSDeallocated:    {SizeBlockDesc, false},
}

// metaRules is ack_receiver_tbl; every payload there has exactly its size.
var metaRules = map[Cmd]int{
	CmdPing:           0,
	CmdPingAck:        0,
	CmdRecvAck:        SizeBlockAck,
	CmdWriteAck:       SizeBlockAck,
	CmdRSWriteAck:     SizeBlockAck,
	CmdSuperseded:     SizeBlockAck,
	CmdNegAck:         SizeBlockAck,
	CmdNegDReply:      SizeBlockAck,
	CmdNegRSDReply:    SizeBlockAck,
	CmdOVResult:       SizeBlockAck,
	CmdBarrierAck:     SizeBarrierAck,
	CmdStateChgReply:  SizeReqStateReply,
	CmdRSIsInSync:     SizeBlockAck,
	CmdDelayProbe:     SizeDelayProbe,
	CmdRSCancel:       SizeBlockAck,
	CmdConnStChgReply: SizeReqStateReply,
	CmdRetryWrite:     SizeBlockAck,
}

// dense holds dataRules and metaRules by command number (every command a
// receiver accepts is below 0x40), so that the lookup for each packet
// received is an index, not a map access.
var dense = func() (t [2][0x40]struct {
	rule
	ok bool
}) {
	for c, r := range dataRules {
		t[DataSocket][c].rule, t[DataSocket][c].ok = r, true
	}
	for c, n := range metaRules {
		t[MetaSocket][c].fixed, t[MetaSocket][c].ok = n, true
	}
	return t
}()

// PayloadSize reports how the kernel's receiver for sock sizes the payload of
// cmd once the connection is established: fixed is the sub-header it reads
// before handling the packet (for P_SIZES including o_qlim when features
// contain FFWSame), and more whether payload beyond fixed is allowed. On the
// meta socket more is always false and the payload must be exactly fixed. ok
// is false for a command that receiver does not accept at all, including the
// handshake commands (P_INITIAL_*, P_CONNECTION_FEATURES, P_AUTH_*), which
// conn_connect reads before either receiver runs.
func PayloadSize(sock Socket, cmd Cmd, features uint32) (fixed int, more, ok bool) {
	if int(cmd) >= len(dense[0]) {
		return 0, false, false
	}
	d := dense[sock&1][cmd]
	if sock == MetaSocket {
		return d.fixed, false, d.ok
	}
	r, ok := d.rule, d.ok
	if cmd == CmdSizes && features&FFWSame != 0 {
		r.fixed += SizeQueueLimits
	}
	return r.fixed, r.more, ok
}

// CheckPayload applies the kernel's length checks to a packet received on
// sock (drbdd; drbd_ack_receiver), with its messages: an unexpected command,
// payload where none is expected, a payload shorter than the sub-header, or
// on the meta socket any length but the exact one. Handlers check the
// variable part (P_BITMAP, P_SYNC_PARAM, the integrity_alg of P_PROTOCOL)
// themselves; the decoders of this package do.
func CheckPayload(sock Socket, cmd Cmd, features uint32, length int) error {
	fixed, more, ok := PayloadSize(sock, cmd, features)
	switch {
	case !ok && sock == MetaSocket:
		return protoErr("Unexpected meta packet %s (0x%04x)", cmd, uint16(cmd))
	case !ok:
		return protoErr("Unexpected data packet %s (0x%04x)", cmd, uint16(cmd))
	case sock == MetaSocket && length != fixed:
		return protoErr("Wrong packet size on meta (c: %d, l: %d)", uint16(cmd), length)
	case length > fixed && !more:
		return protoErr("No payload expected %s l:%d", cmd, length)
	case length < fixed:
		return protoErr("%s: unexpected packet size, expected:%d received:%d", cmd, fixed, length)
	}
	return nil
}
