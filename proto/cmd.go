package proto

// Cmd is a packet command (enum drbd_packet), the command field of every
// header.
type Cmd uint16

// Commands of drbd_protocol.h. The comment names the kernel constant and the
// socket the kernel's receivers accept it on.
const (
	CmdData             Cmd = 0x00 // P_DATA, data socket
	CmdDataReply        Cmd = 0x01 // P_DATA_REPLY, answer to P_DATA_REQUEST
	CmdRSDataReply      Cmd = 0x02 // P_RS_DATA_REPLY, answer to P_RS_DATA_REQUEST
	CmdBarrier          Cmd = 0x03 // P_BARRIER
	CmdBitmap           Cmd = 0x04 // P_BITMAP
	CmdBecomeSyncTarget Cmd = 0x05 // P_BECOME_SYNC_TARGET, not received by 8.4
	CmdBecomeSyncSource Cmd = 0x06 // P_BECOME_SYNC_SOURCE, not received by 8.4
	CmdUnplugRemote     Cmd = 0x07 // P_UNPLUG_REMOTE
	CmdDataRequest      Cmd = 0x08 // P_DATA_REQUEST
	CmdRSDataRequest    Cmd = 0x09 // P_RS_DATA_REQUEST
	CmdSyncParam        Cmd = 0x0a // P_SYNC_PARAM, agreed version < 89
	CmdProtocol         Cmd = 0x0b // P_PROTOCOL
	CmdUUIDs            Cmd = 0x0c // P_UUIDS
	CmdSizes            Cmd = 0x0d // P_SIZES
	CmdState            Cmd = 0x0e // P_STATE
	CmdSyncUUID         Cmd = 0x0f // P_SYNC_UUID
	CmdAuthChallenge    Cmd = 0x10 // P_AUTH_CHALLENGE, handshake
	CmdAuthResponse     Cmd = 0x11 // P_AUTH_RESPONSE, handshake
	CmdStateChgReq      Cmd = 0x12 // P_STATE_CHG_REQ

	CmdPing             Cmd = 0x13 // P_PING, meta socket
	CmdPingAck          Cmd = 0x14 // P_PING_ACK, meta socket
	CmdRecvAck          Cmd = 0x15 // P_RECV_ACK, meta socket (protocol B)
	CmdWriteAck         Cmd = 0x16 // P_WRITE_ACK, meta socket (protocol C)
	CmdRSWriteAck       Cmd = 0x17 // P_RS_WRITE_ACK, meta socket
	CmdSuperseded       Cmd = 0x18 // P_SUPERSEDED, meta socket
	CmdNegAck           Cmd = 0x19 // P_NEG_ACK, meta socket
	CmdNegDReply        Cmd = 0x1a // P_NEG_DREPLY, meta socket
	CmdNegRSDReply      Cmd = 0x1b // P_NEG_RS_DREPLY, meta socket
	CmdBarrierAck       Cmd = 0x1c // P_BARRIER_ACK, meta socket
	CmdStateChgReply    Cmd = 0x1d // P_STATE_CHG_REPLY, meta socket
	CmdOVRequest        Cmd = 0x1e // P_OV_REQUEST
	CmdOVReply          Cmd = 0x1f // P_OV_REPLY
	CmdOVResult         Cmd = 0x20 // P_OV_RESULT, meta socket
	CmdCsumRSRequest    Cmd = 0x21 // P_CSUM_RS_REQUEST
	CmdRSIsInSync       Cmd = 0x22 // P_RS_IS_IN_SYNC, meta socket
	CmdSyncParam89      Cmd = 0x23 // P_SYNC_PARAM89, agreed version >= 89
	CmdCompressedBitmap Cmd = 0x24 // P_COMPRESSED_BITMAP
	CmdDelayProbe       Cmd = 0x27 // P_DELAY_PROBE, both sockets, ignored
	CmdOutOfSync        Cmd = 0x28 // P_OUT_OF_SYNC
	CmdRSCancel         Cmd = 0x29 // P_RS_CANCEL, meta socket
	CmdConnStChgReq     Cmd = 0x2a // P_CONN_ST_CHG_REQ, agreed version >= 100
	CmdConnStChgReply   Cmd = 0x2b // P_CONN_ST_CHG_REPLY, meta socket
	CmdRetryWrite       Cmd = 0x2c // P_RETRY_WRITE, meta socket
	CmdProtocolUpdate   Cmd = 0x2d // P_PROTOCOL_UPDATE
	CmdTrim             Cmd = 0x31 // P_TRIM, needs FFTrim
	CmdRSThinReq        Cmd = 0x32 // P_RS_THIN_REQ, needs FFThinResync
	CmdRSDeallocated    Cmd = 0x33 // P_RS_DEALLOCATED, needs FFThinResync
	CmdWSame            Cmd = 0x34 // P_WSAME, not received by the in-tree driver
	CmdZeroes           Cmd = 0x36 // P_ZEROES, needs FFWZeroes

	CmdMayIgnore Cmd = 0x100 // P_MAY_IGNORE, an obsolete flag value
	CmdMaxOptCmd Cmd = 0x101 // P_MAX_OPT_CMD, an obsolete flag value

	CmdInitialMeta        Cmd = 0xfff1 // P_INITIAL_META, first packet on the meta socket
	CmdInitialData        Cmd = 0xfff2 // P_INITIAL_DATA, first packet on the data socket
	CmdConnectionFeatures Cmd = 0xfffe // P_CONNECTION_FEATURES
)

// cmdNames is the in-tree cmdname() table. Its empty slots are NULL in the
// kernel's array: 0x25, 0x26, 0x2e-0x30, 0x35 and also P_RETRY_WRITE, which
// the in-tree table does not name.
var cmdNames = [...]string{
	CmdData:             "Data",
	CmdDataReply:        "DataReply",
	CmdRSDataReply:      "RSDataReply",
	CmdBarrier:          "Barrier",
	CmdBitmap:           "ReportBitMap",
	CmdBecomeSyncTarget: "BecomeSyncTarget",
	CmdBecomeSyncSource: "BecomeSyncSource",
	CmdUnplugRemote:     "UnplugRemote",
	CmdDataRequest:      "DataRequest",
	CmdRSDataRequest:    "RSDataRequest",
	CmdSyncParam:        "SyncParam",
	CmdProtocol:         "ReportProtocol",
	CmdUUIDs:            "ReportUUIDs",
	CmdSizes:            "ReportSizes",
	CmdState:            "ReportState",
	CmdSyncUUID:         "ReportSyncUUID",
	CmdAuthChallenge:    "AuthChallenge",
	CmdAuthResponse:     "AuthResponse",
	CmdStateChgReq:      "StateChgRequest",
	CmdPing:             "Ping",
	CmdPingAck:          "PingAck",
	CmdRecvAck:          "RecvAck",
	CmdWriteAck:         "WriteAck",
	CmdRSWriteAck:       "RSWriteAck",
	CmdSuperseded:       "Superseded",
	CmdNegAck:           "NegAck",
	CmdNegDReply:        "NegDReply",
	CmdNegRSDReply:      "NegRSDReply",
	CmdBarrierAck:       "BarrierAck",
	CmdStateChgReply:    "StateChgReply",
	CmdOVRequest:        "OVRequest",
	CmdOVReply:          "OVReply",
	CmdOVResult:         "OVResult",
	CmdCsumRSRequest:    "CsumRSRequest",
	CmdRSIsInSync:       "CsumRSIsInSync",
	CmdSyncParam89:      "SyncParam89",
	CmdCompressedBitmap: "CBitmap",
	CmdDelayProbe:       "DelayProbe",
	CmdOutOfSync:        "OutOfSync",
	CmdRSCancel:         "RSCancel",
	CmdConnStChgReq:     "conn_st_chg_req",
	CmdConnStChgReply:   "conn_st_chg_reply",
	CmdProtocolUpdate:   "protocol_update",
	CmdTrim:             "Trim",
	CmdRSThinReq:        "rs_thin_req",
	CmdRSDeallocated:    "rs_deallocated",
	CmdWSame:            "WriteSame",
	CmdZeroes:           "Zeroes",
}

// String returns the name the kernel's cmdname() gives c, so that log lines
// can be compared with the kernel's: "InitialMeta", "InitialData" and
// "ConnectionFeatures" for the handshake commands, "Unknown" beyond the
// table, and "(null)" (what printk makes of the NULL entry) for a slot inside
// the table that has no name, such as P_RETRY_WRITE.
func (c Cmd) String() string {
	switch c {
	case CmdInitialMeta:
		return "InitialMeta"
	case CmdInitialData:
		return "InitialData"
	case CmdConnectionFeatures:
		return "ConnectionFeatures"
	}
	if int(c) >= len(cmdNames) {
		return "Unknown"
	}
	if s := cmdNames[c]; s != "" {
		return s
	}
	return "(null)"
}
