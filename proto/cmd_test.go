package proto

import "testing"

// TestCmd checks every command number of drbd_protocol.h and the name the
// in-tree cmdname() gives it.
func TestCmd(t *testing.T) {
	for _, tc := range []struct {
		cmd  Cmd
		num  uint16
		name string
	}{
		{CmdData, 0x00, "Data"},
		{CmdDataReply, 0x01, "DataReply"},
		{CmdRSDataReply, 0x02, "RSDataReply"},
		{CmdBarrier, 0x03, "Barrier"},
		{CmdBitmap, 0x04, "ReportBitMap"},
		{CmdBecomeSyncTarget, 0x05, "BecomeSyncTarget"},
		{CmdBecomeSyncSource, 0x06, "BecomeSyncSource"},
		{CmdUnplugRemote, 0x07, "UnplugRemote"},
		{CmdDataRequest, 0x08, "DataRequest"},
		{CmdRSDataRequest, 0x09, "RSDataRequest"},
		{CmdSyncParam, 0x0a, "SyncParam"},
		{CmdProtocol, 0x0b, "ReportProtocol"},
		{CmdUUIDs, 0x0c, "ReportUUIDs"},
		{CmdSizes, 0x0d, "ReportSizes"},
		{CmdState, 0x0e, "ReportState"},
		{CmdSyncUUID, 0x0f, "ReportSyncUUID"},
		{CmdAuthChallenge, 0x10, "AuthChallenge"},
		{CmdAuthResponse, 0x11, "AuthResponse"},
		{CmdStateChgReq, 0x12, "StateChgRequest"},
		{CmdPing, 0x13, "Ping"},
		{CmdPingAck, 0x14, "PingAck"},
		{CmdRecvAck, 0x15, "RecvAck"},
		{CmdWriteAck, 0x16, "WriteAck"},
		{CmdRSWriteAck, 0x17, "RSWriteAck"},
		{CmdSuperseded, 0x18, "Superseded"},
		{CmdNegAck, 0x19, "NegAck"},
		{CmdNegDReply, 0x1a, "NegDReply"},
		{CmdNegRSDReply, 0x1b, "NegRSDReply"},
		{CmdBarrierAck, 0x1c, "BarrierAck"},
		{CmdStateChgReply, 0x1d, "StateChgReply"},
		{CmdOVRequest, 0x1e, "OVRequest"},
		{CmdOVReply, 0x1f, "OVReply"},
		{CmdOVResult, 0x20, "OVResult"},
		{CmdCsumRSRequest, 0x21, "CsumRSRequest"},
		{CmdRSIsInSync, 0x22, "CsumRSIsInSync"},
		{CmdSyncParam89, 0x23, "SyncParam89"},
		{CmdCompressedBitmap, 0x24, "CBitmap"},
		{0x25, 0x25, "(null)"}, // P_CKPT_FENCE_REQ, reserved
		{0x26, 0x26, "(null)"}, // P_CKPT_DISABLE_REQ, reserved
		{CmdDelayProbe, 0x27, "DelayProbe"},
		{CmdOutOfSync, 0x28, "OutOfSync"},
		{CmdRSCancel, 0x29, "RSCancel"},
		{CmdConnStChgReq, 0x2a, "conn_st_chg_req"},
		{CmdConnStChgReply, 0x2b, "conn_st_chg_reply"},
		{CmdRetryWrite, 0x2c, "(null)"}, // unnamed in-tree; "retry_write" in LINBIT 8.4
		{CmdProtocolUpdate, 0x2d, "protocol_update"},
		{0x2e, 0x2e, "(null)"},
		{0x30, 0x30, "(null)"},
		{CmdTrim, 0x31, "Trim"},
		{CmdRSThinReq, 0x32, "rs_thin_req"},
		{CmdRSDeallocated, 0x33, "rs_deallocated"},
		{CmdWSame, 0x34, "WriteSame"},
		{0x35, 0x35, "(null)"},
		{CmdZeroes, 0x36, "Zeroes"}, // "Unknown" in LINBIT 8.4
		{0x37, 0x37, "Unknown"},
		{CmdMayIgnore, 0x100, "Unknown"},
		{CmdMaxOptCmd, 0x101, "Unknown"},
		{CmdInitialMeta, 0xfff1, "InitialMeta"},
		{CmdInitialData, 0xfff2, "InitialData"},
		{0xfff3, 0xfff3, "Unknown"},
		{CmdConnectionFeatures, 0xfffe, "ConnectionFeatures"},
	} {
		if uint16(tc.cmd) != tc.num {
			t.Errorf("%s = 0x%x, want 0x%x", tc.name, uint16(tc.cmd), tc.num)
		}
		if got := tc.cmd.String(); got != tc.name {
			t.Errorf("Cmd(0x%x).String() = %q, want %q", tc.num, got, tc.name)
		}
	}
}

func TestMaxBioSizeFor(t *testing.T) {
	for _, tc := range []struct{ agreed, want int }{
		{86, 32 << 10}, {94, 32 << 10}, {95, 128 << 10}, {99, 128 << 10}, {100, 1 << 20}, {101, 1 << 20},
	} {
		if got := MaxBioSizeFor(tc.agreed); got != tc.want {
			t.Errorf("MaxBioSizeFor(%d) = %d, want %d", tc.agreed, got, tc.want)
		}
		// Every data packet of that size fits the header chosen for it.
		AppendHeader(nil, tc.agreed, 0, CmdData, tc.want+SizeData)
	}
}
