package drbd

import "strconv"

// The configuration policies (u32 enums in disk_conf, net_conf and
// res_opts). String returns the spelling drbdsetup-84 accepts and prints
// (drbd-utils user/v84/config_flags.c); values without a spelling print as
// their number.

func enumString(names []string, v int) string {
	if v >= 0 && v < len(names) && names[v] != "" {
		return names[v]
	}
	return strconv.Itoa(v)
}

func enumParse(names []string, s string) (int, bool) {
	for i, n := range names {
		if n != "" && n == s {
			return i, true
		}
	}
	return 0, false
}

// IOErrorPolicy is enum drbd_io_error_p (disk option on-io-error).
type IOErrorPolicy uint32

const (
	EPPassOn     IOErrorPolicy = 0 // EP_PASS_ON
	EPCallHelper IOErrorPolicy = 1 // EP_CALL_HELPER
	EPDetach     IOErrorPolicy = 2 // EP_DETACH (default)
)

var ioErrorNames = []string{"pass_on", "call-local-io-error", "detach"}

func (p IOErrorPolicy) String() string { return enumString(ioErrorNames, int(p)) }

// ParseIOErrorPolicy parses a drbdsetup spelling.
func ParseIOErrorPolicy(s string) (IOErrorPolicy, bool) {
	v, ok := enumParse(ioErrorNames, s)
	return IOErrorPolicy(v), ok
}

// FencingPolicy is enum drbd_fencing_p (disk option fencing).
type FencingPolicy int32

const (
	FPNotAvail FencingPolicy = -1 // FP_NOT_AVAIL (internal, not a policy)
	FPDontCare FencingPolicy = 0  // FP_DONT_CARE (default)
	FPResource FencingPolicy = 1  // FP_RESOURCE
	FPStonith  FencingPolicy = 2  // FP_STONITH
)

var fencingNames = []string{"dont-care", "resource-only", "resource-and-stonith"}

func (p FencingPolicy) String() string { return enumString(fencingNames, int(p)) }

// ParseFencingPolicy parses a drbdsetup spelling.
func ParseFencingPolicy(s string) (FencingPolicy, bool) {
	v, ok := enumParse(fencingNames, s)
	return FencingPolicy(v), ok
}

// AfterSBPolicy is enum drbd_after_sb_p (after-sb-0pri, after-sb-1pri,
// after-sb-2pri, rr-conflict). Each option allows a different subset with
// partly different spellings; use the Names* tables.
type AfterSBPolicy uint32

const (
	ASBDisconnect        AfterSBPolicy = 0  // ASB_DISCONNECT
	ASBDiscardYoungerPri AfterSBPolicy = 1  // ASB_DISCARD_YOUNGER_PRI
	ASBDiscardOlderPri   AfterSBPolicy = 2  // ASB_DISCARD_OLDER_PRI
	ASBDiscardZeroChg    AfterSBPolicy = 3  // ASB_DISCARD_ZERO_CHG
	ASBDiscardLeastChg   AfterSBPolicy = 4  // ASB_DISCARD_LEAST_CHG
	ASBDiscardLocal      AfterSBPolicy = 5  // ASB_DISCARD_LOCAL
	ASBDiscardRemote     AfterSBPolicy = 6  // ASB_DISCARD_REMOTE
	ASBConsensus         AfterSBPolicy = 7  // ASB_CONSENSUS
	ASBDiscardSecondary  AfterSBPolicy = 8  // ASB_DISCARD_SECONDARY
	ASBCallHelper        AfterSBPolicy = 9  // ASB_CALL_HELPER
	ASBViolently         AfterSBPolicy = 10 // ASB_VIOLENTLY
)

// Spellings per option (config_flags.c after_sb_0p_map, after_sb_1p_map,
// after_sb_2p_map, rr_conflict_map), indexed by AfterSBPolicy; "" = not
// allowed for that option.
var (
	NamesAfterSB0Pri = []string{
		ASBDisconnect: "disconnect", ASBDiscardYoungerPri: "discard-younger-primary",
		ASBDiscardOlderPri: "discard-older-primary", ASBDiscardZeroChg: "discard-zero-changes",
		ASBDiscardLeastChg: "discard-least-changes", ASBDiscardLocal: "discard-local",
		ASBDiscardRemote: "discard-remote",
	}
	NamesAfterSB1Pri = []string{
		ASBDisconnect: "disconnect", ASBConsensus: "consensus", ASBViolently: "violently-as0p",
		ASBDiscardSecondary: "discard-secondary", ASBCallHelper: "call-pri-lost-after-sb",
	}
	NamesAfterSB2Pri = []string{
		ASBDisconnect: "disconnect", ASBViolently: "violently-as0p", ASBCallHelper: "call-pri-lost-after-sb",
	}
	NamesRRConflict = []string{
		ASBDisconnect: "disconnect", ASBViolently: "violently", ASBCallHelper: "call-pri-lost",
	}
)

// StringFor returns the spelling of p in the given table (one of the
// Names* variables).
func (p AfterSBPolicy) StringFor(names []string) string { return enumString(names, int(p)) }

// ParseAfterSBPolicy parses s against one of the Names* tables.
func ParseAfterSBPolicy(names []string, s string) (AfterSBPolicy, bool) {
	v, ok := enumParse(names, s)
	return AfterSBPolicy(v), ok
}

// OnNoData is enum drbd_on_no_data (resource option on-no-data-accessible).
type OnNoData uint32

const (
	ONDIOError   OnNoData = 0 // OND_IO_ERROR (default)
	ONDSuspendIO OnNoData = 1 // OND_SUSPEND_IO
)

var onNoDataNames = []string{"io-error", "suspend-io"}

func (p OnNoData) String() string { return enumString(onNoDataNames, int(p)) }

// ParseOnNoData parses a drbdsetup spelling.
func ParseOnNoData(s string) (OnNoData, bool) {
	v, ok := enumParse(onNoDataNames, s)
	return OnNoData(v), ok
}

// OnCongestion is enum drbd_on_congestion (net option on-congestion).
type OnCongestion uint32

const (
	OCBlock      OnCongestion = 0 // OC_BLOCK (default)
	OCPullAhead  OnCongestion = 1 // OC_PULL_AHEAD
	OCDisconnect OnCongestion = 2 // OC_DISCONNECT
)

var onCongestionNames = []string{"block", "pull-ahead", "disconnect"}

func (p OnCongestion) String() string { return enumString(onCongestionNames, int(p)) }

// ParseOnCongestion parses a drbdsetup spelling.
func ParseOnCongestion(s string) (OnCongestion, bool) {
	v, ok := enumParse(onCongestionNames, s)
	return OnCongestion(v), ok
}

// ReadBalancing is enum drbd_read_balancing (disk option read-balancing).
type ReadBalancing uint32

const (
	RBPreferLocal     ReadBalancing = 0  // RB_PREFER_LOCAL (default)
	RBPreferRemote    ReadBalancing = 1  // RB_PREFER_REMOTE
	RBRoundRobin      ReadBalancing = 2  // RB_ROUND_ROBIN
	RBLeastPending    ReadBalancing = 3  // RB_LEAST_PENDING
	RBCongestedRemote ReadBalancing = 4  // RB_CONGESTED_REMOTE
	RB32KStriping     ReadBalancing = 5  // RB_32K_STRIPING
	RB64KStriping     ReadBalancing = 6  // RB_64K_STRIPING
	RB128KStriping    ReadBalancing = 7  // RB_128K_STRIPING
	RB256KStriping    ReadBalancing = 8  // RB_256K_STRIPING
	RB512KStriping    ReadBalancing = 9  // RB_512K_STRIPING
	RB1MStriping      ReadBalancing = 10 // RB_1M_STRIPING
)

var readBalancingNames = []string{
	"prefer-local", "prefer-remote", "round-robin", "least-pending", "when-congested-remote",
	"32K-striping", "64K-striping", "128K-striping", "256K-striping", "512K-striping", "1M-striping",
}

func (p ReadBalancing) String() string { return enumString(readBalancingNames, int(p)) }

// ParseReadBalancing parses a drbdsetup spelling.
func ParseReadBalancing(s string) (ReadBalancing, bool) {
	v, ok := enumParse(readBalancingNames, s)
	return ReadBalancing(v), ok
}

// Protocol is the net option protocol (DRBD_PROT_A/B/C).
type Protocol uint32

const (
	ProtA Protocol = 1 // DRBD_PROT_A
	ProtB Protocol = 2 // DRBD_PROT_B
	ProtC Protocol = 3 // DRBD_PROT_C (default)
)

var protocolNames = []string{ProtA: "A", ProtB: "B", ProtC: "C"}

func (p Protocol) String() string { return enumString(protocolNames, int(p)) }

// ParseProtocol parses "A", "B" or "C"; drbdsetup accepts lower case too.
func ParseProtocol(s string) (Protocol, bool) {
	if len(s) == 1 && s[0] >= 'a' && s[0] <= 'c' {
		s = string(s[0] - 'a' + 'A')
	}
	v, ok := enumParse(protocolNames, s)
	return Protocol(v), ok
}

// Constants of include/linux/drbd.h used across packages.
const (
	APIVersion      = 1   // API_VERSION (genl family version)
	ProVersionMin   = 86  // PRO_VERSION_MIN
	ProVersionMax   = 101 // PRO_VERSION_MAX
	SharedSecretMax = 64  // SHARED_SECRET_MAX

	MDFConsistent     = 1 << 0 // MDF_CONSISTENT
	MDFPrimaryInd     = 1 << 1 // MDF_PRIMARY_IND
	MDFConnectedInd   = 1 << 2 // MDF_CONNECTED_IND
	MDFFullSync       = 1 << 3 // MDF_FULL_SYNC
	MDFWasUpToDate    = 1 << 4 // MDF_WAS_UP_TO_DATE
	MDFPeerOutDated   = 1 << 5 // MDF_PEER_OUT_DATED
	MDFCrashedPrimary = 1 << 6 // MDF_CRASHED_PRIMARY
	MDFALClean        = 1 << 7 // MDF_AL_CLEAN
	MDFALDisabled     = 1 << 8 // MDF_AL_DISABLED

	MDIndexInternal = -1 // DRBD_MD_INDEX_INTERNAL
	MDIndexFlexExt  = -2 // DRBD_MD_INDEX_FLEX_EXT
	MDIndexFlexInt  = -3 // DRBD_MD_INDEX_FLEX_INT

	Magic            = 0x83740267 // DRBD_MAGIC
	MagicBig         = 0x835a     // DRBD_MAGIC_BIG
	Magic100         = 0x8620ec20 // DRBD_MAGIC_100
	MDMagic08        = Magic + 4  // DRBD_MD_MAGIC_08
	MDMagic84Unclean = Magic + 5  // DRBD_MD_MAGIC_84_UNCLEAN
	ALMagic          = 0x69cb65a2 // DRBD_AL_MAGIC

	UUIDJustCreated = 4 // UUID_JUST_CREATED
)

// UUIDIndex is enum drbd_uuid_index.
type UUIDIndex int

const (
	UICurrent      UUIDIndex = 0 // UI_CURRENT
	UIBitmap       UUIDIndex = 1 // UI_BITMAP
	UIHistoryStart UUIDIndex = 2 // UI_HISTORY_START
	UIHistoryEnd   UUIDIndex = 3 // UI_HISTORY_END
	UISize         UUIDIndex = 4 // UI_SIZE
	UIFlags        UUIDIndex = 5 // UI_FLAGS
	UIExtendedSize UUIDIndex = 6 // UI_EXTENDED_SIZE
)

// TimeoutType is enum drbd_timeout_flag (get-timeout-type reply).
type TimeoutType uint32

const (
	UTDefault      TimeoutType = 0 // UT_DEFAULT
	UTDegraded     TimeoutType = 1 // UT_DEGRADED
	UTPeerOutdated TimeoutType = 2 // UT_PEER_OUTDATED
)

// NotificationType is enum drbd_notification_type (events2).
type NotificationType uint32

const (
	NotifyExists    NotificationType = 0      // NOTIFY_EXISTS
	NotifyCreate    NotificationType = 1      // NOTIFY_CREATE
	NotifyChange    NotificationType = 2      // NOTIFY_CHANGE
	NotifyDestroy   NotificationType = 3      // NOTIFY_DESTROY
	NotifyCall      NotificationType = 4      // NOTIFY_CALL
	NotifyResponse  NotificationType = 5      // NOTIFY_RESPONSE
	NotifyContinues NotificationType = 0x8000 // NOTIFY_CONTINUES
	NotifyFlags     NotificationType = 0x8000 // NOTIFY_FLAGS
)

// PeerState is enum drbd_peer_state: the fence-peer helper's exit codes.
type PeerState int

const (
	PInconsistent PeerState = 3 // P_INCONSISTENT
	POutdated     PeerState = 4 // P_OUTDATED
	PDown         PeerState = 5 // P_DOWN
	PPrimary      PeerState = 6 // P_PRIMARY
	PFencing      PeerState = 7 // P_FENCING
)
