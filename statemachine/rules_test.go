package statemachine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"udrbd/drbd"
)

// Shorthands for states in the tables.
const (
	Pri = drbd.RPrimary
	Sec = drbd.RSecondary
	Unk = drbd.RUnknown
)

func st(role, peer drbd.Role, conn drbd.ConnState, disk, pdsk drbd.DiskState) drbd.State {
	return drbd.State{Role: role, Peer: peer, Conn: conn, Disk: disk, Pdsk: pdsk}
}

// Rule ids cite drbd_state.c (8.4, LINBIT/drbd-8.4 27deda9): V = the
// branches of is_valid_state in source order, T = the ifs of
// is_valid_soft_transition, C = is_valid_conn_transition, H =
// is_valid_transition's own rule, S = sanitize_state.

func TestIsValidState(t *testing.T) {
	net := Env{HaveNetConf: true, AgreedProVersion: 101, VerifyAlg: true, CurDisk: drbd.DUpToDate}
	fenced := net
	fenced.Fencing = drbd.FPResource
	fencedNoDisk := fenced
	fencedNoDisk.CurDisk = drbd.DDiskless
	twoPri := net
	twoPri.TwoPrimaries = true
	peerPri := net
	peerPri.HighestPeer = Pri
	open := net
	open.OpenCount = 1
	noVerify := net
	noVerify.VerifyAlg = false
	oldProto := net
	oldProto.AgreedProVersion = 87

	tests := []struct {
		rule string
		env  Env
		ns   drbd.State
		want drbd.StateRV
	}{
		{"V1 two primaries", net, st(Pri, Pri, drbd.CConnected, drbd.DUpToDate, drbd.DUpToDate), drbd.SSTwoPrimaries},
		{"V1 allowed with allow-two-primaries", twoPri, st(Pri, Pri, drbd.CConnected, drbd.DUpToDate, drbd.DUpToDate), drbd.SSSuccess},
		{"V1 no net_conf: no check", Env{CurDisk: drbd.DUpToDate}, st(Pri, Pri, drbd.CConnected, drbd.DUpToDate, drbd.DUpToDate), drbd.SSSuccess},
		{"V1 other volume primary on peer", peerPri, st(Pri, Sec, drbd.CConnected, drbd.DUpToDate, drbd.DUpToDate), drbd.SSOVolPeerPri},
		{"V1 wins over V3", net, st(Pri, Pri, drbd.CStandAlone, drbd.DDiskless, drbd.DUnknown), drbd.SSTwoPrimaries},
		{"V2 secondary while open", open, st(Sec, Unk, drbd.CStandAlone, drbd.DUpToDate, drbd.DUnknown), drbd.SSDeviceInUse},
		{"V2 primary may be open", open, st(Pri, Unk, drbd.CStandAlone, drbd.DUpToDate, drbd.DUnknown), drbd.SSSuccess},
		{"V3 primary standalone needs UpToDate", net, st(Pri, Unk, drbd.CStandAlone, drbd.DConsistent, drbd.DUnknown), drbd.SSNoUpToDateDisk},
		{"V3 primary standalone failed disk", net, st(Pri, Unk, drbd.CStandAlone, drbd.DFailed, drbd.DUnknown), drbd.SSNoUpToDateDisk},
		{"V3 ok when UpToDate", net, st(Pri, Unk, drbd.CWFConnection, drbd.DUpToDate, drbd.DUnknown), drbd.SSSuccess},
		{"V4 fencing and peer unknown", fenced, st(Pri, Unk, drbd.CWFConnection, drbd.DUpToDate, drbd.DUnknown), drbd.SSPrimaryNOP},
		{"V4 fencing, peer outdated", fenced, st(Pri, Unk, drbd.CWFConnection, drbd.DUpToDate, drbd.DOutdated), drbd.SSSuccess},
		{"V4 fencing seen through the new disk (udrbd: stricter than 8.4)", fencedNoDisk, st(Pri, Unk, drbd.CWFConnection, drbd.DUpToDate, drbd.DUnknown), drbd.SSPrimaryNOP},
		{"V5 both inconsistent", net, st(Pri, Sec, drbd.CConnected, drbd.DInconsistent, drbd.DInconsistent), drbd.SSNoUpToDateDisk},
		{"V6 resync without local disk", net, st(Sec, Sec, drbd.CSyncTarget, drbd.DDiskless, drbd.DUpToDate), drbd.SSNoLocalDisk},
		{"V7 resync without remote disk", net, st(Sec, Sec, drbd.CSyncSource, drbd.DUpToDate, drbd.DFailed), drbd.SSNoRemoteDisk},
		{"V8 resync without UpToDate", net, st(Sec, Sec, drbd.CSyncSource, drbd.DInconsistent, drbd.DInconsistent), drbd.SSNoUpToDateDisk},
		{"V9 connected outdated", net, st(Sec, Sec, drbd.CConnected, drbd.DOutdated, drbd.DUpToDate), drbd.SSConnectedOutdates},
		{"V9 WFBitMapS outdated", net, st(Sec, Sec, drbd.CWFBitMapS, drbd.DOutdated, drbd.DUpToDate), drbd.SSConnectedOutdates},
		{"V9 not for SyncTarget", net, st(Sec, Sec, drbd.CSyncTarget, drbd.DOutdated, drbd.DUpToDate), drbd.SSSuccess},
		{"V10 verify without alg", noVerify, st(Sec, Sec, drbd.CVerifyS, drbd.DUpToDate, drbd.DUpToDate), drbd.SSNoVerifyAlg},
		{"V11 verify needs proto 88", oldProto, st(Sec, Sec, drbd.CVerifyT, drbd.DUpToDate, drbd.DUpToDate), drbd.SSNotSupported},
		{"V12 primary needs an UpToDate copy", net, st(Pri, Sec, drbd.CConnected, drbd.DConsistent, drbd.DConsistent), drbd.SSNoUpToDateDisk},
		{"V12 diskless primary with UpToDate peer", net, st(Pri, Sec, drbd.CConnected, drbd.DDiskless, drbd.DUpToDate), drbd.SSSuccess},
		{"V13 starting sync with peer unknown", net, st(Sec, Sec, drbd.CStartingSyncS, drbd.DUpToDate, drbd.DUnknown), drbd.SSNeedConnection},
		{"V14 connected with peer disk unknown", net, st(Sec, Sec, drbd.CConnected, drbd.DUpToDate, drbd.DUnknown), drbd.SSConnectedOutdates},
		{"valid standalone secondary diskless", Env{}, st(Sec, Unk, drbd.CStandAlone, drbd.DDiskless, drbd.DUnknown), drbd.SSSuccess},
		{"valid failed secondary", Env{}, st(Sec, Unk, drbd.CStandAlone, drbd.DFailed, drbd.DUnknown), drbd.SSSuccess},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			if got := IsValidState(&tc.env, tc.ns); got != tc.want {
				t.Fatalf("IsValidState(%v) = %v, want %v", tc.ns, got, tc.want)
			}
		})
	}
}

func TestIsValidSoftTransition(t *testing.T) {
	none := Env{}
	sent := Env{StateSent: true}
	sa := st(Sec, Unk, drbd.CStandAlone, drbd.DUpToDate, drbd.DUnknown)
	tests := []struct {
		rule   string
		env    Env
		os, ns drbd.State
		want   drbd.StateRV
	}{
		{"T1 resync running", none, st(Sec, Sec, drbd.CSyncSource, drbd.DUpToDate, drbd.DInconsistent), st(Sec, Sec, drbd.CStartingSyncS, drbd.DUpToDate, drbd.DInconsistent), drbd.SSResyncRunning},
		{"T2 disconnect standalone", none, sa, st(Sec, Unk, drbd.CDisconnecting, drbd.DUpToDate, drbd.DUnknown), drbd.SSAlreadyStandAlone},
		{"T3 diskless to inconsistent", none, st(Sec, Unk, drbd.CStandAlone, drbd.DDiskless, drbd.DUnknown), st(Sec, Unk, drbd.CStandAlone, drbd.DInconsistent, drbd.DUnknown), drbd.SSIsDiskless},
		{"T3 diskless to attaching ok", none, st(Sec, Unk, drbd.CStandAlone, drbd.DDiskless, drbd.DUnknown), st(Sec, Unk, drbd.CStandAlone, drbd.DAttaching, drbd.DUnknown), drbd.SSSuccess},
		{"T4 connect without net config", none, sa, st(Sec, Unk, drbd.CWFConnection, drbd.DUpToDate, drbd.DUnknown), drbd.SSNoNetConfig},
		{"T5 inconsistent to outdated", none, st(Sec, Unk, drbd.CStandAlone, drbd.DInconsistent, drbd.DUnknown), st(Sec, Unk, drbd.CStandAlone, drbd.DOutdated, drbd.DUnknown), drbd.SSLowerThanOutdated},
		{"T5 attaching to outdated ok", none, st(Sec, Unk, drbd.CStandAlone, drbd.DAttaching, drbd.DUnknown), st(Sec, Unk, drbd.CStandAlone, drbd.DOutdated, drbd.DUnknown), drbd.SSSuccess},
		{"T3 then T5: last match wins (outdate a diskless device)", none, st(Sec, Unk, drbd.CStandAlone, drbd.DDiskless, drbd.DUnknown), st(Sec, Unk, drbd.CStandAlone, drbd.DOutdated, drbd.DUnknown), drbd.SSLowerThanOutdated},
		{"T6 disconnect while unconnected", none, st(Sec, Unk, drbd.CUnconnected, drbd.DUpToDate, drbd.DUnknown), st(Sec, Unk, drbd.CDisconnecting, drbd.DUpToDate, drbd.DUnknown), drbd.SSInTransientState},
		{"T7 role change during handshake", sent, st(Sec, Unk, drbd.CWFReportParams, drbd.DUpToDate, drbd.DUnknown), st(Pri, Unk, drbd.CWFReportParams, drbd.DUpToDate, drbd.DUnknown), drbd.SSInTransientState},
		{"T7 handshake step allowed", sent, st(Sec, Unk, drbd.CWFReportParams, drbd.DUpToDate, drbd.DUnknown), st(Sec, Sec, drbd.CConnected, drbd.DUpToDate, drbd.DUpToDate), drbd.SSSuccess},
		{"T8 promote during forced-primary handshake", none, st(Sec, Pri, drbd.CWFSyncUUID, drbd.DInconsistent, drbd.DUpToDate), st(Pri, Pri, drbd.CWFSyncUUID, drbd.DInconsistent, drbd.DUpToDate), drbd.SSInTransientState},
		{"T9 verify without connection", none, st(Sec, Unk, drbd.CWFConnection, drbd.DUpToDate, drbd.DUnknown), st(Sec, Unk, drbd.CVerifyS, drbd.DUpToDate, drbd.DUnknown), drbd.SSNeedConnection},
		{"T10 verify while resyncing", none, st(Sec, Sec, drbd.CSyncSource, drbd.DUpToDate, drbd.DInconsistent), st(Sec, Sec, drbd.CVerifyS, drbd.DUpToDate, drbd.DInconsistent), drbd.SSResyncRunning},
		{"T11 invalidate without connection", none, st(Sec, Unk, drbd.CWFConnection, drbd.DUpToDate, drbd.DUnknown), st(Sec, Unk, drbd.CStartingSyncT, drbd.DUpToDate, drbd.DUnknown), drbd.SSNeedConnection},
		{"T12 network failure to sync target", none, st(Sec, Unk, drbd.CNetworkFailure, drbd.DInconsistent, drbd.DUnknown), st(Sec, Unk, drbd.CSyncTarget, drbd.DInconsistent, drbd.DUnknown), drbd.SSNeedConnection},
		{"T13 outdate peer without connection", none, st(Pri, Unk, drbd.CWFConnection, drbd.DUpToDate, drbd.DUnknown), st(Pri, Unk, drbd.CDisconnecting, drbd.DUpToDate, drbd.DOutdated), drbd.SSOutdateWOConn},
		{"plain detach", none, sa, st(Sec, Unk, drbd.CStandAlone, drbd.DFailed, drbd.DUnknown), drbd.SSSuccess},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			if got := IsValidSoftTransition(&tc.env, tc.os, tc.ns); got != tc.want {
				t.Fatalf("IsValidSoftTransition(%v -> %v) = %v, want %v", tc.os, tc.ns, got, tc.want)
			}
		})
	}
}

func TestIsValidConnTransition(t *testing.T) {
	tests := []struct {
		rule   string
		oc, nc drbd.ConnState
		want   drbd.StateRV
	}{
		{"C1 same", drbd.CConnected, drbd.CConnected, drbd.SSNothingToDo},
		{"C2 standalone disconnect", drbd.CStandAlone, drbd.CDisconnecting, drbd.SSAlreadyStandAlone},
		{"C3 standalone to WFConnection", drbd.CStandAlone, drbd.CWFConnection, drbd.SSNeedConnection},
		{"C3 standalone to unconnected ok", drbd.CStandAlone, drbd.CUnconnected, drbd.SSSuccess},
		{"C4 skip WFReportParams", drbd.CWFConnection, drbd.CConnected, drbd.SSNeedConnection},
		{"C4 skip to StartingSyncT", drbd.CUnconnected, drbd.CStartingSyncT, drbd.SSNeedConnection},
		{"C5 after network error", drbd.CBrokenPipe, drbd.CWFConnection, drbd.SSInTransientState},
		{"C5 network error to unconnected", drbd.CTimeout, drbd.CUnconnected, drbd.SSSuccess},
		{"C5 teardown to disconnecting", drbd.CTearDown, drbd.CDisconnecting, drbd.SSSuccess},
		{"C6 disconnecting only to standalone", drbd.CDisconnecting, drbd.CUnconnected, drbd.SSInTransientState},
		{"C6 disconnecting to standalone", drbd.CDisconnecting, drbd.CStandAlone, drbd.SSSuccess},
		{"ok WFReportParams to Connected", drbd.CWFReportParams, drbd.CConnected, drbd.SSSuccess},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			if got := IsValidConnTransition(tc.oc, tc.nc); got != tc.want {
				t.Fatalf("%v -> %v = %v, want %v", tc.oc, tc.nc, got, tc.want)
			}
		})
	}
}

func TestIsValidTransition(t *testing.T) {
	tests := []struct {
		rule   string
		os, ns drbd.State
		want   drbd.StateRV
	}{
		{"H1 diskless cannot fail", st(Sec, Unk, drbd.CStandAlone, drbd.DDiskless, drbd.DUnknown), st(Sec, Unk, drbd.CStandAlone, drbd.DFailed, drbd.DUnknown), drbd.SSIsDiskless},
		{"H1 overrides the conn result", st(Sec, Unk, drbd.CStandAlone, drbd.DDiskless, drbd.DUnknown), st(Sec, Unk, drbd.CUnconnected, drbd.DFailed, drbd.DUnknown), drbd.SSIsDiskless},
		{"failed to diskless (same conn)", st(Sec, Unk, drbd.CStandAlone, drbd.DFailed, drbd.DUnknown), st(Sec, Unk, drbd.CStandAlone, drbd.DDiskless, drbd.DUnknown), drbd.SSNothingToDo},
		{"conn rule applies", st(Sec, Unk, drbd.CStandAlone, drbd.DUpToDate, drbd.DUnknown), st(Sec, Unk, drbd.CConnected, drbd.DUpToDate, drbd.DUnknown), drbd.SSNeedConnection},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			if got := IsValidTransition(tc.os, tc.ns); got != tc.want {
				t.Fatalf("%v -> %v = %v, want %v", tc.os, tc.ns, got, tc.want)
			}
		})
	}
}

func TestSanitize(t *testing.T) {
	stonith := Env{Fencing: drbd.FPStonith, CurDisk: drbd.DUpToDate}
	stonithNoDisk := Env{Fencing: drbd.FPStonith, CurDisk: drbd.DDiskless}
	nod := Env{OnNoData: drbd.ONDSuspendIO}
	negoMatch := Env{CurDisk: drbd.DNegotiating, EdUUIDMatches: true, NewStateTmp: st(Sec, Unk, drbd.CStandAlone, drbd.DConsistent, drbd.DOutdated)}
	negoNoMatch := Env{CurDisk: drbd.DNegotiating}
	conSec := st(Sec, Sec, drbd.CConnected, drbd.DUpToDate, drbd.DUpToDate)
	with := func(s drbd.State, f func(*drbd.State)) drbd.State { f(&s); return s }

	tests := []struct {
		rule     string
		env      Env
		os, ns   drbd.State
		want     drbd.State
		wantWarn Warning
	}{
		{"S0 attaching never passes through failed (seed)", Env{},
			st(Sec, Unk, drbd.CStandAlone, drbd.DAttaching, drbd.DUnknown), st(Sec, Unk, drbd.CStandAlone, drbd.DFailed, drbd.DUnknown),
			st(Sec, Unk, drbd.CStandAlone, drbd.DDiskless, drbd.DUnknown), NoWarning},
		{"S0 does not touch UpToDate -> Failed", Env{},
			st(Sec, Unk, drbd.CStandAlone, drbd.DUpToDate, drbd.DUnknown), st(Sec, Unk, drbd.CStandAlone, drbd.DFailed, drbd.DUnknown),
			st(Sec, Unk, drbd.CStandAlone, drbd.DFailed, drbd.DUnknown), NoWarning},
		{"S1 lost connection forgets the peer", Env{},
			conSec, with(conSec, func(s *drbd.State) { s.Conn = drbd.CNetworkFailure; s.PeerIsp = true }),
			st(Sec, Unk, drbd.CNetworkFailure, drbd.DUpToDate, drbd.DUnknown), NoWarning},
		{"S1 keeps an Outdated peer disk", Env{},
			conSec, st(Sec, Sec, drbd.CWFConnection, drbd.DUpToDate, drbd.DOutdated),
			st(Sec, Unk, drbd.CWFConnection, drbd.DUpToDate, drbd.DOutdated), NoWarning},
		{"S1 diskless peer becomes DUnknown", Env{},
			conSec, st(Sec, Sec, drbd.CWFConnection, drbd.DUpToDate, drbd.DDiskless),
			st(Sec, Unk, drbd.CWFConnection, drbd.DUpToDate, drbd.DUnknown), NoWarning},
		{"S2 unconfigured clears aftr_isp", Env{},
			st(Sec, Unk, drbd.CStandAlone, drbd.DFailed, drbd.DUnknown), with(st(Sec, Unk, drbd.CStandAlone, drbd.DDiskless, drbd.DUnknown), func(s *drbd.State) { s.AftrIsp = true }),
			st(Sec, Unk, drbd.CStandAlone, drbd.DDiskless, drbd.DUnknown), NoWarning},
		{"S3 failing disk aborts resync", Env{},
			st(Sec, Sec, drbd.CSyncSource, drbd.DUpToDate, drbd.DInconsistent), st(Sec, Sec, drbd.CSyncSource, drbd.DFailed, drbd.DInconsistent),
			st(Sec, Sec, drbd.CConnected, drbd.DFailed, drbd.DInconsistent), AbortedResync},
		{"S3 aborts verify", Env{},
			st(Sec, Sec, drbd.CVerifyS, drbd.DUpToDate, drbd.DUpToDate), st(Sec, Sec, drbd.CVerifyS, drbd.DUpToDate, drbd.DDiskless),
			st(Sec, Sec, drbd.CConnected, drbd.DUpToDate, drbd.DDiskless), AbortedOnlineVerify},
		{"S4 negotiating, ed_uuid matches", negoMatch,
			st(Sec, Sec, drbd.CConnected, drbd.DNegotiating, drbd.DUpToDate), st(Sec, Sec, drbd.CNetworkFailure, drbd.DNegotiating, drbd.DUpToDate),
			st(Sec, Unk, drbd.CNetworkFailure, drbd.DConsistent, drbd.DOutdated), NoWarning},
		{"S4 negotiating, no data", negoNoMatch,
			st(Sec, Sec, drbd.CConnected, drbd.DNegotiating, drbd.DUpToDate), st(Sec, Sec, drbd.CNetworkFailure, drbd.DNegotiating, drbd.DUpToDate),
			st(Sec, Unk, drbd.CNetworkFailure, drbd.DDiskless, drbd.DUnknown), ConnectionLostNegotiating},
		{"S5 consistent/outdated vanish when connected", Env{},
			st(Sec, Unk, drbd.CWFReportParams, drbd.DConsistent, drbd.DUnknown), st(Sec, Sec, drbd.CConnected, drbd.DConsistent, drbd.DOutdated),
			st(Sec, Sec, drbd.CConnected, drbd.DUpToDate, drbd.DUpToDate), NoWarning},
		{"S5 not in Ahead", Env{},
			st(Sec, Sec, drbd.CAhead, drbd.DUpToDate, drbd.DConsistent), st(Sec, Sec, drbd.CAhead, drbd.DUpToDate, drbd.DConsistent),
			st(Sec, Sec, drbd.CAhead, drbd.DUpToDate, drbd.DConsistent), NoWarning},
		{"S6 SyncTarget clamps both disks", Env{},
			st(Sec, Sec, drbd.CWFSyncUUID, drbd.DInconsistent, drbd.DUpToDate), st(Sec, Sec, drbd.CSyncTarget, drbd.DUpToDate, drbd.DInconsistent),
			st(Sec, Sec, drbd.CSyncTarget, drbd.DInconsistent, drbd.DUpToDate), ImplicitlyUpgradedPdsk},
		{"S6 WFBitMapT disk max Outdated", Env{},
			conSec, st(Sec, Sec, drbd.CWFBitMapT, drbd.DUpToDate, drbd.DUpToDate),
			st(Sec, Sec, drbd.CWFBitMapT, drbd.DOutdated, drbd.DUpToDate), NoWarning},
		{"S6 StartingSyncS pdsk max Consistent", Env{},
			conSec, st(Sec, Sec, drbd.CStartingSyncS, drbd.DUpToDate, drbd.DUpToDate),
			st(Sec, Sec, drbd.CStartingSyncS, drbd.DUpToDate, drbd.DConsistent), NoWarning},
		{"S6 VerifyS upgrades disk", Env{},
			conSec, st(Sec, Sec, drbd.CVerifyS, drbd.DInconsistent, drbd.DUpToDate),
			st(Sec, Sec, drbd.CVerifyS, drbd.DUpToDate, drbd.DUpToDate), ImplicitlyUpgradedDisk},
		{"S6 standalone pdsk at least Inconsistent", Env{},
			st(Sec, Unk, drbd.CStandAlone, drbd.DUpToDate, drbd.DUnknown), st(Sec, Unk, drbd.CStandAlone, drbd.DUpToDate, drbd.DUnknown),
			st(Sec, Unk, drbd.CStandAlone, drbd.DUpToDate, drbd.DUnknown), NoWarning},
		{"S7 stonith freezes IO when the peer is lost", stonith,
			st(Pri, Sec, drbd.CConnected, drbd.DUpToDate, drbd.DUpToDate), st(Pri, Sec, drbd.CNetworkFailure, drbd.DUpToDate, drbd.DUpToDate),
			with(st(Pri, Unk, drbd.CNetworkFailure, drbd.DUpToDate, drbd.DUnknown), func(s *drbd.State) { s.SuspFen = true }), NoWarning},
		{"S7 only on the edge", stonith,
			st(Pri, Unk, drbd.CNetworkFailure, drbd.DUpToDate, drbd.DUnknown), st(Pri, Unk, drbd.CUnconnected, drbd.DUpToDate, drbd.DUnknown),
			st(Pri, Unk, drbd.CUnconnected, drbd.DUpToDate, drbd.DUnknown), NoWarning},
		{"S7 fencing unseen without ldev", stonithNoDisk,
			st(Pri, Sec, drbd.CConnected, drbd.DDiskless, drbd.DUpToDate), st(Pri, Sec, drbd.CNetworkFailure, drbd.DDiskless, drbd.DUpToDate),
			st(Pri, Unk, drbd.CNetworkFailure, drbd.DDiskless, drbd.DUnknown), NoWarning},
		{"S8 on-no-data suspend-io", nod,
			st(Pri, Sec, drbd.CConnected, drbd.DDiskless, drbd.DUpToDate), st(Pri, Sec, drbd.CNetworkFailure, drbd.DDiskless, drbd.DUpToDate),
			with(st(Pri, Unk, drbd.CNetworkFailure, drbd.DDiskless, drbd.DUnknown), func(s *drbd.State) { s.SuspNod = true }), NoWarning},
		{"S9 user_isp pauses SyncSource", Env{},
			st(Sec, Sec, drbd.CSyncSource, drbd.DUpToDate, drbd.DInconsistent), with(st(Sec, Sec, drbd.CSyncSource, drbd.DUpToDate, drbd.DInconsistent), func(s *drbd.State) { s.UserIsp = true }),
			with(st(Sec, Sec, drbd.CPausedSyncS, drbd.DUpToDate, drbd.DInconsistent), func(s *drbd.State) { s.UserIsp = true }), NoWarning},
		{"S9 no isp resumes PausedSyncT", Env{},
			with(st(Sec, Sec, drbd.CPausedSyncT, drbd.DInconsistent, drbd.DUpToDate), func(s *drbd.State) { s.PeerIsp = true }), st(Sec, Sec, drbd.CPausedSyncT, drbd.DInconsistent, drbd.DUpToDate),
			st(Sec, Sec, drbd.CSyncTarget, drbd.DInconsistent, drbd.DUpToDate), NoWarning},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			got, warn := Sanitize(&tc.env, tc.os, tc.ns)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("Sanitize(%v -> %v) (-want +got):\n%s", tc.os, tc.ns, diff)
			}
			if warn != tc.wantWarn {
				t.Fatalf("warning %q, want %q", warn, tc.wantWarn)
			}
		})
	}
}

func TestClusterWide(t *testing.T) {
	con := st(Sec, Sec, drbd.CConnected, drbd.DUpToDate, drbd.DUpToDate)
	with := func(s drbd.State, f func(*drbd.State)) drbd.State { f(&s); return s }
	tests := []struct {
		name   string
		os, ns drbd.State
		want   bool
	}{
		{"promote connected", con, with(con, func(s *drbd.State) { s.Role = Pri }), true},
		{"promote standalone", st(Sec, Unk, drbd.CStandAlone, drbd.DUpToDate, drbd.DUnknown), st(Pri, Unk, drbd.CStandAlone, drbd.DUpToDate, drbd.DUnknown), false},
		{"demote", with(con, func(s *drbd.State) { s.Role = Pri }), con, false},
		{"invalidate", con, with(con, func(s *drbd.State) { s.Conn = drbd.CStartingSyncT }), true},
		{"invalidate-remote", con, with(con, func(s *drbd.State) { s.Conn = drbd.CStartingSyncS }), true},
		{"detach connected", con, with(con, func(s *drbd.State) { s.Disk = drbd.DFailed }), true},
		{"disconnect", con, with(con, func(s *drbd.State) { s.Conn = drbd.CDisconnecting }), true},
		{"verify", con, with(con, func(s *drbd.State) { s.Conn = drbd.CVerifyS }), true},
		{"to WFReportParams", con, with(con, func(s *drbd.State) { s.Conn = drbd.CWFReportParams }), true},
		{"outdate connected is local", con, with(con, func(s *drbd.State) { s.Disk = drbd.DOutdated }), false},
	}
	for _, tc := range tests {
		if got := ClusterWide(tc.os, tc.ns); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

func TestStateIsStable(t *testing.T) {
	tests := []struct {
		s     drbd.State
		proto int
		want  bool
	}{
		{st(Sec, Unk, drbd.CStandAlone, drbd.DUpToDate, drbd.DUnknown), 0, true},
		{st(Sec, Unk, drbd.CStandAlone, drbd.DFailed, drbd.DUnknown), 0, true},
		{st(Sec, Unk, drbd.CStandAlone, drbd.DDiskless, drbd.DUnknown), 0, true},
		{st(Sec, Unk, drbd.CStandAlone, drbd.DAttaching, drbd.DUnknown), 0, false},
		{st(Sec, Sec, drbd.CConnected, drbd.DNegotiating, drbd.DUpToDate), 101, false},
		{st(Sec, Sec, drbd.CWFBitMapT, drbd.DInconsistent, drbd.DUpToDate), 101, false},
		{st(Sec, Sec, drbd.CWFSyncUUID, drbd.DInconsistent, drbd.DUpToDate), 101, false},
		{st(Sec, Sec, drbd.CWFBitMapS, drbd.DUpToDate, drbd.DInconsistent), 95, false},
		{st(Sec, Sec, drbd.CWFBitMapS, drbd.DUpToDate, drbd.DInconsistent), 96, true},
	}
	for _, tc := range tests {
		if got := StateIsStable(tc.s, tc.proto); got != tc.want {
			t.Errorf("StateIsStable(%v, %d) = %v", tc.s, tc.proto, got)
		}
	}
}

func TestChange(t *testing.T) {
	s := st(Sec, Unk, drbd.CStandAlone, drbd.DUpToDate, drbd.DUnknown)
	got := NSRole(Pri).And(NSDisk(drbd.DFailed)).And(NSSusp(true)).Apply(s)
	want := s
	want.Role, want.Disk, want.Susp = Pri, drbd.DFailed, true
	if got != want {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := NSSusp(false).Apply(want); got.Susp {
		t.Fatal("NSSusp(false) did not clear")
	}
	// later change wins on overlap
	if got := NSDisk(drbd.DFailed).And(NSDisk(drbd.DOutdated)).Apply(s); got.Disk != drbd.DOutdated {
		t.Fatalf("got %v", got.Disk)
	}
}
