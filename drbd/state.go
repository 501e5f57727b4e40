package drbd

import "fmt"

// Role is enum drbd_role.
type Role uint8

const (
	RUnknown   Role = 0 // R_UNKNOWN
	RPrimary   Role = 1 // R_PRIMARY
	RSecondary Role = 2 // R_SECONDARY
	RMask      Role = 3 // R_MASK
)

// String returns drbd_role_str: "Unknown", "Primary", "Secondary", and
// "TOO_LARGE" above R_SECONDARY.
func (r Role) String() string {
	switch r {
	case RUnknown:
		return "Unknown"
	case RPrimary:
		return "Primary"
	case RSecondary:
		return "Secondary"
	}
	return "TOO_LARGE"
}

// ConnState is enum drbd_conns, the 8.4 per-device connection state.
// The order matters: below CWFReportParams there is no socket.
type ConnState uint8

const (
	CStandAlone     ConnState = 0  // C_STANDALONE
	CDisconnecting  ConnState = 1  // C_DISCONNECTING
	CUnconnected    ConnState = 2  // C_UNCONNECTED
	CTimeout        ConnState = 3  // C_TIMEOUT
	CBrokenPipe     ConnState = 4  // C_BROKEN_PIPE
	CNetworkFailure ConnState = 5  // C_NETWORK_FAILURE
	CProtocolError  ConnState = 6  // C_PROTOCOL_ERROR
	CTearDown       ConnState = 7  // C_TEAR_DOWN
	CWFConnection   ConnState = 8  // C_WF_CONNECTION
	CWFReportParams ConnState = 9  // C_WF_REPORT_PARAMS
	CConnected      ConnState = 10 // C_CONNECTED
	CStartingSyncS  ConnState = 11 // C_STARTING_SYNC_S
	CStartingSyncT  ConnState = 12 // C_STARTING_SYNC_T
	CWFBitMapS      ConnState = 13 // C_WF_BITMAP_S
	CWFBitMapT      ConnState = 14 // C_WF_BITMAP_T
	CWFSyncUUID     ConnState = 15 // C_WF_SYNC_UUID
	CSyncSource     ConnState = 16 // C_SYNC_SOURCE
	CSyncTarget     ConnState = 17 // C_SYNC_TARGET
	CVerifyS        ConnState = 18 // C_VERIFY_S
	CVerifyT        ConnState = 19 // C_VERIFY_T
	CPausedSyncS    ConnState = 20 // C_PAUSED_SYNC_S
	CPausedSyncT    ConnState = 21 // C_PAUSED_SYNC_T
	CAhead          ConnState = 22 // C_AHEAD
	CBehind         ConnState = 23 // C_BEHIND
	CMask           ConnState = 31 // C_MASK
)

var connNames = [...]string{
	CStandAlone:     "StandAlone",
	CDisconnecting:  "Disconnecting",
	CUnconnected:    "Unconnected",
	CTimeout:        "Timeout",
	CBrokenPipe:     "BrokenPipe",
	CNetworkFailure: "NetworkFailure",
	CProtocolError:  "ProtocolError",
	CTearDown:       "TearDown",
	CWFConnection:   "WFConnection",
	CWFReportParams: "WFReportParams",
	CConnected:      "Connected",
	CStartingSyncS:  "StartingSyncS",
	CStartingSyncT:  "StartingSyncT",
	CWFBitMapS:      "WFBitMapS",
	CWFBitMapT:      "WFBitMapT",
	CWFSyncUUID:     "WFSyncUUID",
	CSyncSource:     "SyncSource",
	CSyncTarget:     "SyncTarget",
	CVerifyS:        "VerifyS",
	CVerifyT:        "VerifyT",
	CPausedSyncS:    "PausedSyncS",
	CPausedSyncT:    "PausedSyncT",
	CAhead:          "Ahead",
	CBehind:         "Behind",
}

// String returns drbd_conn_str ("TOO_LARGE" above C_BEHIND).
func (c ConnState) String() string {
	if c > CBehind {
		return "TOO_LARGE"
	}
	return connNames[c]
}

// IsSyncSource reports C_SYNC_SOURCE or C_PAUSED_SYNC_S (is_sync_source_state).
func (c ConnState) IsSyncSource() bool { return c == CSyncSource || c == CPausedSyncS }

// IsSyncTarget reports C_SYNC_TARGET or C_PAUSED_SYNC_T (is_sync_target_state).
func (c ConnState) IsSyncTarget() bool { return c == CSyncTarget || c == CPausedSyncT }

// IsSync reports a resync state (is_sync_state).
func (c ConnState) IsSync() bool { return c.IsSyncSource() || c.IsSyncTarget() }

// DiskState is enum drbd_disk_state as of 8.4 (DRBD 9 inserts D_DETACHING
// and renumbers; never mix the two tables).
type DiskState uint8

const (
	DDiskless     DiskState = 0  // D_DISKLESS
	DAttaching    DiskState = 1  // D_ATTACHING: reading the meta-data
	DFailed       DiskState = 2  // D_FAILED: on the way to D_DISKLESS; ldev still valid
	DNegotiating  DiskState = 3  // D_NEGOTIATING: late attach, talking to the peer
	DInconsistent DiskState = 4  // D_INCONSISTENT
	DOutdated     DiskState = 5  // D_OUTDATED
	DUnknown      DiskState = 6  // D_UNKNOWN: only for the peer's disk
	DConsistent   DiskState = 7  // D_CONSISTENT
	DUpToDate     DiskState = 8  // D_UP_TO_DATE
	DMask         DiskState = 15 // D_MASK
)

var diskNames = [...]string{
	DDiskless:     "Diskless",
	DAttaching:    "Attaching",
	DFailed:       "Failed",
	DNegotiating:  "Negotiating",
	DInconsistent: "Inconsistent",
	DOutdated:     "Outdated",
	DUnknown:      "DUnknown",
	DConsistent:   "Consistent",
	DUpToDate:     "UpToDate",
}

// String returns drbd_disk_str ("TOO_LARGE" above D_UP_TO_DATE).
func (d DiskState) String() string {
	if d > DUpToDate {
		return "TOO_LARGE"
	}
	return diskNames[d]
}

// State is union drbd_state unpacked. The zero value is
// Unknown/Unknown StandAlone Diskless/Diskless.
type State struct {
	Role    Role
	Peer    Role
	Conn    ConnState
	Disk    DiskState
	Pdsk    DiskState
	Susp    bool // IO suspended by the user (resource-wide)
	AftrIsp bool // sync paused: resync-after dependency
	PeerIsp bool // sync paused by the peer
	UserIsp bool // sync paused by the user
	SuspNod bool // IO suspended: no data accessible
	SuspFen bool // IO suspended while the fence-peer handler runs
}

// Bit layout of union drbd_state on a little-endian host: the u32 value
// (the one sent as cpu_to_be32 on the wire and used as mask/val in
// P_STATE_CHG_REQ) has these fields at these shifts.
const (
	ShiftRole    = 0  // role:2
	ShiftPeer    = 2  // peer:2
	ShiftConn    = 4  // conn:5
	ShiftDisk    = 9  // disk:4
	ShiftPdsk    = 13 // pdsk:4
	ShiftSusp    = 17 // susp:1
	ShiftAftrIsp = 18 // aftr_isp:1
	ShiftPeerIsp = 19 // peer_isp:1
	ShiftUserIsp = 20 // user_isp:1
	ShiftSuspNod = 21 // susp_nod:1
	ShiftSuspFen = 22 // susp_fen:1

	MaskRole    uint32 = 3 << ShiftRole
	MaskPeer    uint32 = 3 << ShiftPeer
	MaskConn    uint32 = 31 << ShiftConn
	MaskDisk    uint32 = 15 << ShiftDisk
	MaskPdsk    uint32 = 15 << ShiftPdsk
	MaskSusp    uint32 = 1 << ShiftSusp
	MaskAftrIsp uint32 = 1 << ShiftAftrIsp
	MaskPeerIsp uint32 = 1 << ShiftPeerIsp
	MaskUserIsp uint32 = 1 << ShiftUserIsp
	MaskSuspNod uint32 = 1 << ShiftSuspNod
	MaskSuspFen uint32 = 1 << ShiftSuspFen
	// MaskAll covers the 23 used bits; bits 23..31 are _pad.
	MaskAll uint32 = 1<<23 - 1
)

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// Pack returns the state as the 32-bit value of union drbd_state.i on a
// little-endian host. Fields wider than their bitfield are truncated as the
// C bitfield assignment would.
func (s State) Pack() uint32 {
	return uint32(s.Role)&3<<ShiftRole |
		uint32(s.Peer)&3<<ShiftPeer |
		uint32(s.Conn)&31<<ShiftConn |
		uint32(s.Disk)&15<<ShiftDisk |
		uint32(s.Pdsk)&15<<ShiftPdsk |
		b2u(s.Susp)<<ShiftSusp |
		b2u(s.AftrIsp)<<ShiftAftrIsp |
		b2u(s.PeerIsp)<<ShiftPeerIsp |
		b2u(s.UserIsp)<<ShiftUserIsp |
		b2u(s.SuspNod)<<ShiftSuspNod |
		b2u(s.SuspFen)<<ShiftSuspFen
}

// Unpack decodes union drbd_state.i; the 9 pad bits are ignored.
func Unpack(i uint32) State {
	return State{
		Role:    Role(i >> ShiftRole & 3),
		Peer:    Role(i >> ShiftPeer & 3),
		Conn:    ConnState(i >> ShiftConn & 31),
		Disk:    DiskState(i >> ShiftDisk & 15),
		Pdsk:    DiskState(i >> ShiftPdsk & 15),
		Susp:    i>>ShiftSusp&1 != 0,
		AftrIsp: i>>ShiftAftrIsp&1 != 0,
		PeerIsp: i>>ShiftPeerIsp&1 != 0,
		UserIsp: i>>ShiftUserIsp&1 != 0,
		SuspNod: i>>ShiftSuspNod&1 != 0,
		SuspFen: i>>ShiftSuspFen&1 != 0,
	}
}

// IsSusp reports whether application IO is suspended for any reason
// (susp, susp_nod or susp_fen).
func (s State) IsSusp() bool { return s.Susp || s.SuspNod || s.SuspFen }

func flag(b bool, c byte) byte {
	if b {
		return c
	}
	return '-'
}

// String formats the state the way the kernel's print_st does (STATE_FMT
// without the tag): "{ cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate r----- }".
func (s State) String() string {
	susp := byte('r')
	if s.IsSusp() {
		susp = 's'
	}
	return fmt.Sprintf("{ cs:%s ro:%s/%s ds:%s/%s %c%c%c%c%c%c }",
		s.Conn, s.Role, s.Peer, s.Disk, s.Pdsk, susp,
		flag(s.AftrIsp, 'a'), flag(s.PeerIsp, 'p'), flag(s.UserIsp, 'u'),
		flag(s.SuspFen, 'F'), flag(s.SuspNod, 'N'))
}
