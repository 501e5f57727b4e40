package drbd

import (
	"errors"
	"fmt"
	"testing"
)

// Names from drbd_strings.c, in enum order.
func TestConnStateStrings(t *testing.T) {
	want := []string{"StandAlone", "Disconnecting", "Unconnected", "Timeout", "BrokenPipe",
		"NetworkFailure", "ProtocolError", "TearDown", "WFConnection", "WFReportParams",
		"Connected", "StartingSyncS", "StartingSyncT", "WFBitMapS", "WFBitMapT", "WFSyncUUID",
		"SyncSource", "SyncTarget", "VerifyS", "VerifyT", "PausedSyncS", "PausedSyncT",
		"Ahead", "Behind"}
	for i, w := range want {
		if got := ConnState(i).String(); got != w {
			t.Errorf("ConnState(%d) = %q, want %q", i, got, w)
		}
	}
	for _, c := range []ConnState{24, CMask} {
		if got := c.String(); got != "TOO_LARGE" {
			t.Errorf("ConnState(%d) = %q, want TOO_LARGE", c, got)
		}
	}
}

func TestDiskRoleStrings(t *testing.T) {
	want := []string{"Diskless", "Attaching", "Failed", "Negotiating", "Inconsistent",
		"Outdated", "DUnknown", "Consistent", "UpToDate"}
	for i, w := range want {
		if got := DiskState(i).String(); got != w {
			t.Errorf("DiskState(%d) = %q, want %q", i, got, w)
		}
	}
	if got := DiskState(9).String(); got != "TOO_LARGE" {
		t.Errorf("DiskState(9) = %q", got)
	}
	for r, w := range map[Role]string{RUnknown: "Unknown", RPrimary: "Primary", RSecondary: "Secondary", RMask: "TOO_LARGE"} {
		if got := r.String(); got != w {
			t.Errorf("Role(%d) = %q, want %q", r, got, w)
		}
	}
}

// Golden values: bit positions of union drbd_state (little-endian bitfields,
// include/linux/drbd.h).
func TestStatePackGolden(t *testing.T) {
	tests := []struct {
		name string
		s    State
		want uint32
	}{
		{"zero", State{}, 0},
		{"role", State{Role: RSecondary}, 2},
		{"peer", State{Peer: RPrimary}, 1 << 2},
		{"conn", State{Conn: CBehind}, 23 << 4},
		{"disk", State{Disk: DUpToDate}, 8 << 9},
		{"pdsk", State{Pdsk: DUnknown}, 6 << 13},
		{"susp", State{Susp: true}, 1 << 17},
		{"aftr_isp", State{AftrIsp: true}, 1 << 18},
		{"peer_isp", State{PeerIsp: true}, 1 << 19},
		{"user_isp", State{UserIsp: true}, 1 << 20},
		{"susp_nod", State{SuspNod: true}, 1 << 21},
		{"susp_fen", State{SuspFen: true}, 1 << 22},
		// Secondary/Unknown StandAlone UpToDate/DUnknown
		{"typical standalone", State{Role: RSecondary, Peer: RUnknown, Conn: CStandAlone, Disk: DUpToDate, Pdsk: DUnknown}, 0x2 | 8<<9 | 6<<13},
		// Primary/Secondary Connected UpToDate/UpToDate = 0x110a9 + ...
		{"connected primary", State{Role: RPrimary, Peer: RSecondary, Conn: CConnected, Disk: DUpToDate, Pdsk: DUpToDate}, 0x1 | 0x2<<2 | 10<<4 | 8<<9 | 8<<13},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Pack(); got != tc.want {
				t.Fatalf("Pack = %#x, want %#x", got, tc.want)
			}
			if got := Unpack(tc.want); got != tc.s {
				t.Fatalf("Unpack(%#x) = %v, want %v", tc.want, got, tc.s)
			}
		})
	}
	if got := (State{Role: RPrimary, Peer: RSecondary, Conn: CConnected, Disk: DUpToDate, Pdsk: DUpToDate}).Pack(); got != 0x110a9 {
		t.Fatalf("connected primary = %#x, want 0x110a9", got)
	}
}

func TestStatePackRoundTrip(t *testing.T) {
	for i := uint32(0); i < 1<<23; i += 4099 {
		if got := Unpack(i).Pack(); got != i {
			t.Fatalf("Unpack(%#x).Pack() = %#x", i, got)
		}
	}
	if got := Unpack(0xff800000).Pack(); got != 0 {
		t.Fatalf("pad bits leak: %#x", got)
	}
}

func TestStateString(t *testing.T) {
	s := State{Role: RPrimary, Peer: RSecondary, Conn: CSyncSource, Disk: DUpToDate, Pdsk: DInconsistent, SuspFen: true, UserIsp: true}
	want := "{ cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent s--uF- }"
	if got := s.String(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// drbd_set_st_err_str texts (drbd_strings.c) and the out-of-range answers.
func TestStateRVText(t *testing.T) {
	tests := []struct {
		rv   StateRV
		name string
		text string
	}{
		{SSTwoPrimaries, "SS_TWO_PRIMARIES", "Multiple primaries not allowed by config"},
		{SSNoUpToDateDisk, "SS_NO_UP_TO_DATE_DISK", "Need access to UpToDate data"},
		{-3, "SS_-3", ""},
		{SSNoLocalDisk, "SS_NO_LOCAL_DISK", "Can not resync without local disk"},
		{SSNoRemoteDisk, "SS_NO_REMOTE_DISK", "Can not resync without remote disk"},
		{SSConnectedOutdates, "SS_CONNECTED_OUTDATES", "Refusing to be Outdated while Connected"},
		{SSPrimaryNOP, "SS_PRIMARY_NOP", "Refusing to be Primary while peer is not outdated"},
		{SSResyncRunning, "SS_RESYNC_RUNNING", "Can not start OV/resync since it is already active"},
		{SSAlreadyStandAlone, "SS_ALREADY_STANDALONE", "Can not disconnect a StandAlone device"},
		{SSCWFailedByPeer, "SS_CW_FAILED_BY_PEER", "State change was refused by peer node"},
		{SSIsDiskless, "SS_IS_DISKLESS", "Device is diskless, the requested operation requires a disk"},
		{SSDeviceInUse, "SS_DEVICE_IN_USE", "Device is held open by someone"},
		{SSNoNetConfig, "SS_NO_NET_CONFIG", "Have no net/connection configuration"},
		{SSNoVerifyAlg, "SS_NO_VERIFY_ALG", "Need a verify algorithm to start online verify"},
		{SSNeedConnection, "SS_NEED_CONNECTION", "Need a connection to start verify or resync"},
		{SSLowerThanOutdated, "SS_LOWER_THAN_OUTDATED", "Disk state is lower than outdated"},
		{SSNotSupported, "SS_NOT_SUPPORTED", "Peer does not support protocol"},
		{SSInTransientState, "SS_IN_TRANSIENT_STATE", "In transient state, retry after next state change"},
		{SSConcurrentStChg, "SS_CONCURRENT_ST_CHG", "Concurrent state changes detected and aborted"},
		{SSOVolPeerPri, "SS_O_VOL_PEER_PRI", "Other vol primary on peer not allowed by config"},
		{SSOutdateWOConn, "SS_OUTDATE_WO_CONN", "Need a connection for a graceful disconnect/outdate peer"},
		{SSAfterLastError, "SS_AFTER_LAST_ERROR", "TOO_SMALL"},
		{-30, "SS_-30", "TOO_SMALL"},
		{SSUnknownError, "SS_UNKNOWN_ERROR", "TOO_LARGE"},
		{SSSuccess, "SS_SUCCESS", "TOO_LARGE"},
		{SSNothingToDo, "SS_NOTHING_TO_DO", "TOO_LARGE"},
		{SSCWSuccess, "SS_CW_SUCCESS", "TOO_LARGE"},
		{SSCWNoNeed, "SS_CW_NO_NEED", "TOO_LARGE"},
	}
	for _, tc := range tests {
		if got := tc.rv.String(); got != tc.name {
			t.Errorf("%d.String() = %q, want %q", int(tc.rv), got, tc.name)
		}
		if got := tc.rv.Text(); got != tc.text {
			t.Errorf("%d.Text() = %q, want %q", int(tc.rv), got, tc.text)
		}
	}
}

func TestStateRVError(t *testing.T) {
	if SSSuccess.Err() != nil || SSNothingToDo.Err() != nil || SSCWNoNeed.Err() != nil {
		t.Fatal("success codes must give a nil error")
	}
	err := fmt.Errorf("primary: %w", SSNoUpToDateDisk.Err())
	if !errors.Is(err, SSNoUpToDateDisk) {
		t.Fatal("errors.Is through wrapping failed")
	}
	if got, want := SSNoUpToDateDisk.Error(), "State change failed: (-2) Need access to UpToDate data"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got, want := SSUnknownError.Error(), "State change failed: (0)unknown error."; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// error_messages[] of drbd-utils user/v84/drbdsetup.c.
func TestRetCodeText(t *testing.T) {
	tests := []struct {
		c    RetCode
		name string
		text string
	}{
		{NoError, "NO_ERROR", "No further Information available."},
		{ErrLocalAddr, "ERR_LOCAL_ADDR", "Local address(port) already in use."},
		{106, "ERR_106", "Lower device already in use."},
		{ErrDiskConfigured, "ERR_DISK_CONFIGURED", "Device is attached to a disk (use detach first)"},
		{ErrMDInvalid, "ERR_MD_INVALID", "No valid meta-data signature found.\n\n\t==> Use 'drbdadm create-md res' to initialize meta-data area. <==\n"},
		{117, "ERR_117", "Currently we only support devices up to 3.998TB.\n(up to 2TB in case you do not have CONFIG_LBD set)\nContact office@linbit.com, if you need more."},
		{ErrIntr, "ERR_INTR", "Interrupted by Signal"},
		{128, "ERR_128", "Resulting device state would be invalid"},
		{ErrNoDisk, "ERR_NO_DISK", "Device does not have a disk-config"},
		{ErrPacketNr, "ERR_PACKET_NR", "Kernel does not know how to handle your request.\nMaybe API_VERSION mismatch?"},
		{ErrVerifyAlg, "ERR_VERIFY_ALG", "VERIFYAlgNotAvail"},
		{ErrCsumsAlgND, "ERR_CSUMS_ALG_ND", "CSUMSAlgNotDigest"},
		{ErrDataNotCurrent, "ERR_DATA_NOT_CURRENT", "Can only attach to the data we lost last (see kernel log)."},
		{ErrPicPeerDep, "ERR_PIC_PEER_DEP", "Sync-pause flag is already cleared.\nNote: Resync pause caused by the peer node."},
		{ErrMDUnclean, "ERR_MD_UNCLEAN", "Unclean meta-data found.\nYou need to 'drbdadm apply-al res'\n"},
		{ErrImplicitShrink, "ERR_IMPLICIT_SHRINK", "Implicit device shrinking not allowed. See kernel log.\n"},
		{AfterLastErrCode, "AFTER_LAST_ERR_CODE", UnknownRetCodeText},
		{99, "ERR_99", UnknownRetCodeText},
		{ErrCodeBase, "ERR_CODE_BASE", ""},
	}
	for _, tc := range tests {
		if got := tc.c.String(); got != tc.name {
			t.Errorf("%d.String() = %q, want %q", int(tc.c), got, tc.name)
		}
		if got := tc.c.Text(); got != tc.text {
			t.Errorf("%d.Text() = %q, want %q", int(tc.c), got, tc.text)
		}
	}
	// Every named code from 101 to 170 has a text.
	for c := NoError; c < AfterLastErrCode; c++ {
		if _, named := retCodeNames[c]; named && c.Text() == "" {
			t.Errorf("%v has no text", c)
		}
	}
	if NoError.Err() != nil || !errors.Is(fmt.Errorf("x: %w", ErrNoDisk.Err()), ErrNoDisk) {
		t.Fatal("RetCode.Err")
	}
	if got, want := ErrNoDisk.Error(), "Failure: (138) Device does not have a disk-config"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// Spellings from drbd-utils user/v84/config_flags.c.
func TestPolicyStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{EPPassOn.String(), "pass_on"},
		{EPCallHelper.String(), "call-local-io-error"},
		{EPDetach.String(), "detach"},
		{FPDontCare.String(), "dont-care"},
		{FPResource.String(), "resource-only"},
		{FPStonith.String(), "resource-and-stonith"},
		{FPNotAvail.String(), "-1"},
		{ASBDiscardYoungerPri.StringFor(NamesAfterSB0Pri), "discard-younger-primary"},
		{ASBViolently.StringFor(NamesAfterSB1Pri), "violently-as0p"},
		{ASBViolently.StringFor(NamesRRConflict), "violently"},
		{ASBCallHelper.StringFor(NamesRRConflict), "call-pri-lost"},
		{ASBCallHelper.StringFor(NamesAfterSB2Pri), "call-pri-lost-after-sb"},
		{ASBConsensus.StringFor(NamesAfterSB0Pri), "7"},
		{ONDSuspendIO.String(), "suspend-io"},
		{OCPullAhead.String(), "pull-ahead"},
		{RBCongestedRemote.String(), "when-congested-remote"},
		{RB1MStriping.String(), "1M-striping"},
		{ProtC.String(), "C"},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%d: got %q, want %q", i, tc.got, tc.want)
		}
	}
	if p, ok := ParseIOErrorPolicy("call-local-io-error"); !ok || p != EPCallHelper {
		t.Error("ParseIOErrorPolicy")
	}
	if _, ok := ParseFencingPolicy("stonith"); ok {
		t.Error("ParseFencingPolicy accepted a bad spelling")
	}
	if p, ok := ParseAfterSBPolicy(NamesAfterSB1Pri, "discard-secondary"); !ok || p != ASBDiscardSecondary {
		t.Error("ParseAfterSBPolicy")
	}
	if _, ok := ParseAfterSBPolicy(NamesAfterSB2Pri, "discard-secondary"); ok {
		t.Error("after-sb-2pri must not accept discard-secondary")
	}
	if p, ok := ParseProtocol("b"); !ok || p != ProtB {
		t.Error("ParseProtocol lower case")
	}
}

func TestReply(t *testing.T) {
	tests := []struct {
		r       Reply
		name    string
		wantErr error
	}{
		{Reply(NoError), "NO_ERROR", nil},
		{Reply(SSSuccess), "SS_SUCCESS", nil},
		{Reply(SSNothingToDo), "SS_NOTHING_TO_DO", nil},
		{Reply(ErrDiskConfigured), "ERR_DISK_CONFIGURED", ErrDiskConfigured},
		{Reply(SSIsDiskless), "SS_IS_DISKLESS", SSIsDiskless},
		{Reply(SSUnknownError), "SS_UNKNOWN_ERROR", SSUnknownError},
		{Reply(ErrCodeBase), "ERR_CODE_BASE", ErrCodeBase},
		{Reply(50), "SS_50", RetCode(50)},
	}
	for _, tc := range tests {
		if got := tc.r.String(); got != tc.name {
			t.Errorf("%d: String %q, want %q", int(tc.r), got, tc.name)
		}
		err := tc.r.Err()
		if tc.wantErr == nil {
			if err != nil {
				t.Errorf("%d: Err = %v", int(tc.r), err)
			}
			continue
		}
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%d: Err = %v, want %v", int(tc.r), err, tc.wantErr)
		}
	}
}
