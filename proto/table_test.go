package proto

import (
	"errors"
	"strings"
	"testing"
)

func TestPayloadSize(t *testing.T) {
	for _, tc := range []struct {
		sock     Socket
		cmd      Cmd
		features uint32
		fixed    int
		more, ok bool
	}{
		{DataSocket, CmdData, 0, 24, true, true},
		{DataSocket, CmdDataReply, 0, 24, true, true},
		{DataSocket, CmdRSDataReply, 0, 24, true, true},
		{DataSocket, CmdBarrier, 0, 8, false, true},
		{DataSocket, CmdBitmap, 0, 0, true, true},
		{DataSocket, CmdCompressedBitmap, 0, 0, true, true},
		{DataSocket, CmdUnplugRemote, 0, 0, false, true},
		{DataSocket, CmdDataRequest, 0, 24, false, true},
		{DataSocket, CmdRSDataRequest, 0, 24, false, true},
		{DataSocket, CmdSyncParam, 0, 0, true, true},
		{DataSocket, CmdSyncParam89, 0, 0, true, true},
		{DataSocket, CmdProtocol, 0, 24, true, true},
		{DataSocket, CmdUUIDs, 0, 48, false, true},
		{DataSocket, CmdSizes, 0, 32, false, true},
		{DataSocket, CmdSizes, FFTrim | FFThinResync | FFWZeroes, 32, false, true},
		{DataSocket, CmdSizes, FFWSame, 56, false, true},
		{DataSocket, CmdState, 0, 4, false, true},
		{DataSocket, CmdStateChgReq, 0, 8, false, true},
		{DataSocket, CmdSyncUUID, 0, 8, false, true},
		{DataSocket, CmdOVRequest, 0, 24, false, true},
		{DataSocket, CmdOVReply, 0, 24, true, true},
		{DataSocket, CmdCsumRSRequest, 0, 24, true, true},
		{DataSocket, CmdRSThinReq, 0, 24, false, true},
		{DataSocket, CmdDelayProbe, 0, 8, false, true},
		{DataSocket, CmdOutOfSync, 0, 16, false, true},
		{DataSocket, CmdConnStChgReq, 0, 8, false, true},
		{DataSocket, CmdProtocolUpdate, 0, 24, true, true},
		{DataSocket, CmdTrim, 0, 28, false, true},
		{DataSocket, CmdZeroes, 0, 28, false, true},
		{DataSocket, CmdRSDeallocated, 0, 16, false, true},
		{DataSocket, CmdWSame, Features, 0, false, false}, // in-tree has no handler
		{DataSocket, CmdPing, 0, 0, false, false},
		{DataSocket, CmdBecomeSyncTarget, 0, 0, false, false},
		{DataSocket, CmdConnectionFeatures, 0, 0, false, false},
		{DataSocket, CmdAuthChallenge, 0, 0, false, false},
		{DataSocket, 0x25, 0, 0, false, false},
		{MetaSocket, CmdPing, 0, 0, false, true},
		{MetaSocket, CmdPingAck, 0, 0, false, true},
		{MetaSocket, CmdRecvAck, 0, 24, false, true},
		{MetaSocket, CmdWriteAck, 0, 24, false, true},
		{MetaSocket, CmdRSWriteAck, 0, 24, false, true},
		{MetaSocket, CmdSuperseded, 0, 24, false, true},
		{MetaSocket, CmdNegAck, 0, 24, false, true},
		{MetaSocket, CmdNegDReply, 0, 24, false, true},
		{MetaSocket, CmdNegRSDReply, 0, 24, false, true},
		{MetaSocket, CmdOVResult, 0, 24, false, true},
		{MetaSocket, CmdBarrierAck, 0, 8, false, true},
		{MetaSocket, CmdStateChgReply, 0, 4, false, true},
		{MetaSocket, CmdRSIsInSync, 0, 24, false, true},
		{MetaSocket, CmdDelayProbe, 0, 8, false, true},
		{MetaSocket, CmdRSCancel, 0, 24, false, true},
		{MetaSocket, CmdConnStChgReply, 0, 4, false, true},
		{MetaSocket, CmdRetryWrite, 0, 24, false, true},
		{MetaSocket, CmdData, 0, 0, false, false},
		{MetaSocket, CmdSizes, FFWSame, 0, false, false},
	} {
		fixed, more, ok := PayloadSize(tc.sock, tc.cmd, tc.features)
		if ok != tc.ok || (ok && (fixed != tc.fixed || more != tc.more)) {
			t.Errorf("PayloadSize(%v, %v, %#x) = %d, %v, %v; want %d, %v, %v",
				tc.sock, tc.cmd, tc.features, fixed, more, ok, tc.fixed, tc.more, tc.ok)
		}
	}
}

func TestCheckPayload(t *testing.T) {
	for _, tc := range []struct {
		sock     Socket
		cmd      Cmd
		features uint32
		length   int
		err      string
	}{
		{DataSocket, CmdData, 0, 24, ""},
		{DataSocket, CmdData, 0, 24 + 4096, ""},
		{DataSocket, CmdData, 0, 23, "Data: unexpected packet size, expected:24 received:23"},
		{DataSocket, CmdBarrier, 0, 9, "No payload expected Barrier l:9"},
		{DataSocket, CmdSizes, FFWSame, 32, "ReportSizes: unexpected packet size, expected:56 received:32"},
		{DataSocket, CmdSizes, 0, 56, "No payload expected ReportSizes l:56"},
		{DataSocket, CmdWSame, Features, 28 + 512, "Unexpected data packet WriteSame (0x0034)"},
		{DataSocket, CmdRetryWrite, 0, 24, "Unexpected data packet (null) (0x002c)"},
		{MetaSocket, CmdWriteAck, 0, 24, ""},
		{MetaSocket, CmdPing, 0, 0, ""},
		{MetaSocket, CmdPing, 0, 1, "Wrong packet size on meta (c: 19, l: 1)"},
		{MetaSocket, CmdWriteAck, 0, 32, "Wrong packet size on meta (c: 22, l: 32)"},
		{MetaSocket, CmdData, 0, 24, "Unexpected meta packet Data (0x0000)"},
	} {
		err := CheckPayload(tc.sock, tc.cmd, tc.features, tc.length)
		if tc.err == "" {
			if err != nil {
				t.Errorf("CheckPayload(%v, %v, %d): %v", tc.sock, tc.cmd, tc.length, err)
			}
			continue
		}
		if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("CheckPayload(%v, %v, %d) = %v, want %q", tc.sock, tc.cmd, tc.length, err, tc.err)
		}
	}
}
