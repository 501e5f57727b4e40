package drbd

import "strconv"

// RetCode is enum drbd_ret_code, the ret_code a DRBD 8.4 netlink reply
// carries (SS_* values travel in the same field). NoError (101) is
// success.
type RetCode int32

const (
	ErrCodeBase            RetCode = 100 // ERR_CODE_BASE
	NoError                RetCode = 101 // NO_ERROR
	ErrLocalAddr           RetCode = 102 // ERR_LOCAL_ADDR
	ErrPeerAddr            RetCode = 103 // ERR_PEER_ADDR
	ErrOpenDisk            RetCode = 104 // ERR_OPEN_DISK
	ErrOpenMDDisk          RetCode = 105 // ERR_OPEN_MD_DISK
	ErrDiskNotBdev         RetCode = 107 // ERR_DISK_NOT_BDEV
	ErrMDNotBdev           RetCode = 108 // ERR_MD_NOT_BDEV
	ErrDiskTooSmall        RetCode = 111 // ERR_DISK_TOO_SMALL
	ErrMDDiskTooSmall      RetCode = 112 // ERR_MD_DISK_TOO_SMALL
	ErrBdclaimDisk         RetCode = 114 // ERR_BDCLAIM_DISK
	ErrBdclaimMDDisk       RetCode = 115 // ERR_BDCLAIM_MD_DISK
	ErrMDIdxInvalid        RetCode = 116 // ERR_MD_IDX_INVALID
	ErrIOMDDisk            RetCode = 118 // ERR_IO_MD_DISK
	ErrMDInvalid           RetCode = 119 // ERR_MD_INVALID
	ErrAuthAlg             RetCode = 120 // ERR_AUTH_ALG
	ErrAuthAlgND           RetCode = 121 // ERR_AUTH_ALG_ND
	ErrNoMem               RetCode = 122 // ERR_NOMEM
	ErrDiscardImpossible   RetCode = 123 // ERR_DISCARD_IMPOSSIBLE
	ErrDiskConfigured      RetCode = 124 // ERR_DISK_CONFIGURED
	ErrNetConfigured       RetCode = 125 // ERR_NET_CONFIGURED
	ErrMandatoryTag        RetCode = 126 // ERR_MANDATORY_TAG
	ErrMinorInvalid        RetCode = 127 // ERR_MINOR_INVALID
	ErrIntr                RetCode = 129 // ERR_INTR
	ErrResizeResync        RetCode = 130 // ERR_RESIZE_RESYNC
	ErrNoPrimary           RetCode = 131 // ERR_NO_PRIMARY
	ErrResyncAfter         RetCode = 132 // ERR_RESYNC_AFTER
	ErrResyncAfterCycle    RetCode = 133 // ERR_RESYNC_AFTER_CYCLE
	ErrPauseIsSet          RetCode = 134 // ERR_PAUSE_IS_SET
	ErrPauseIsClear        RetCode = 135 // ERR_PAUSE_IS_CLEAR
	ErrPacketNr            RetCode = 137 // ERR_PACKET_NR
	ErrNoDisk              RetCode = 138 // ERR_NO_DISK
	ErrNotProtoC           RetCode = 139 // ERR_NOT_PROTO_C
	ErrNoMemBitmap         RetCode = 140 // ERR_NOMEM_BITMAP
	ErrIntegrityAlg        RetCode = 141 // ERR_INTEGRITY_ALG
	ErrIntegrityAlgND      RetCode = 142 // ERR_INTEGRITY_ALG_ND
	ErrCPUMaskParse        RetCode = 143 // ERR_CPU_MASK_PARSE
	ErrCsumsAlg            RetCode = 144 // ERR_CSUMS_ALG
	ErrCsumsAlgND          RetCode = 145 // ERR_CSUMS_ALG_ND
	ErrVerifyAlg           RetCode = 146 // ERR_VERIFY_ALG
	ErrVerifyAlgND         RetCode = 147 // ERR_VERIFY_ALG_ND
	ErrCsumsResyncRunning  RetCode = 148 // ERR_CSUMS_RESYNC_RUNNING
	ErrVerifyRunning       RetCode = 149 // ERR_VERIFY_RUNNING
	ErrDataNotCurrent      RetCode = 150 // ERR_DATA_NOT_CURRENT
	ErrConnected           RetCode = 151 // ERR_CONNECTED
	ErrPerm                RetCode = 152 // ERR_PERM
	ErrNeedAPV93           RetCode = 153 // ERR_NEED_APV_93
	ErrStonithAndProtA     RetCode = 154 // ERR_STONITH_AND_PROT_A
	ErrCongNotProtoA       RetCode = 155 // ERR_CONG_NOT_PROTO_A
	ErrPicAfterDep         RetCode = 156 // ERR_PIC_AFTER_DEP
	ErrPicPeerDep          RetCode = 157 // ERR_PIC_PEER_DEP
	ErrResNotKnown         RetCode = 158 // ERR_RES_NOT_KNOWN
	ErrResInUse            RetCode = 159 // ERR_RES_IN_USE
	ErrMinorConfigured     RetCode = 160 // ERR_MINOR_CONFIGURED
	ErrMinorOrVolumeExists RetCode = 161 // ERR_MINOR_OR_VOLUME_EXISTS
	ErrInvalidRequest      RetCode = 162 // ERR_INVALID_REQUEST
	ErrNeedAPV100          RetCode = 163 // ERR_NEED_APV_100
	ErrNeedAllowTwoPri     RetCode = 164 // ERR_NEED_ALLOW_TWO_PRI
	ErrMDUnclean           RetCode = 165 // ERR_MD_UNCLEAN
	ErrMDLayoutConnected   RetCode = 166 // ERR_MD_LAYOUT_CONNECTED
	ErrMDLayoutTooBig      RetCode = 167 // ERR_MD_LAYOUT_TOO_BIG
	ErrMDLayoutTooSmall    RetCode = 168 // ERR_MD_LAYOUT_TOO_SMALL
	ErrMDLayoutNoFit       RetCode = 169 // ERR_MD_LAYOUT_NO_FIT
	ErrImplicitShrink      RetCode = 170 // ERR_IMPLICIT_SHRINK
	AfterLastErrCode       RetCode = 171 // AFTER_LAST_ERR_CODE (8.4)
)

var retCodeNames = map[RetCode]string{
	ErrCodeBase: "ERR_CODE_BASE", NoError: "NO_ERROR", ErrLocalAddr: "ERR_LOCAL_ADDR",
	ErrPeerAddr: "ERR_PEER_ADDR", ErrOpenDisk: "ERR_OPEN_DISK", ErrOpenMDDisk: "ERR_OPEN_MD_DISK",
	ErrDiskNotBdev: "ERR_DISK_NOT_BDEV", ErrMDNotBdev: "ERR_MD_NOT_BDEV",
	ErrDiskTooSmall: "ERR_DISK_TOO_SMALL", ErrMDDiskTooSmall: "ERR_MD_DISK_TOO_SMALL",
	ErrBdclaimDisk: "ERR_BDCLAIM_DISK", ErrBdclaimMDDisk: "ERR_BDCLAIM_MD_DISK",
	ErrMDIdxInvalid: "ERR_MD_IDX_INVALID", ErrIOMDDisk: "ERR_IO_MD_DISK", ErrMDInvalid: "ERR_MD_INVALID",
	ErrAuthAlg: "ERR_AUTH_ALG", ErrAuthAlgND: "ERR_AUTH_ALG_ND", ErrNoMem: "ERR_NOMEM",
	ErrDiscardImpossible: "ERR_DISCARD_IMPOSSIBLE", ErrDiskConfigured: "ERR_DISK_CONFIGURED",
	ErrNetConfigured: "ERR_NET_CONFIGURED", ErrMandatoryTag: "ERR_MANDATORY_TAG",
	ErrMinorInvalid: "ERR_MINOR_INVALID", ErrIntr: "ERR_INTR", ErrResizeResync: "ERR_RESIZE_RESYNC",
	ErrNoPrimary: "ERR_NO_PRIMARY", ErrResyncAfter: "ERR_RESYNC_AFTER",
	ErrResyncAfterCycle: "ERR_RESYNC_AFTER_CYCLE", ErrPauseIsSet: "ERR_PAUSE_IS_SET",
	ErrPauseIsClear: "ERR_PAUSE_IS_CLEAR", ErrPacketNr: "ERR_PACKET_NR", ErrNoDisk: "ERR_NO_DISK",
	ErrNotProtoC: "ERR_NOT_PROTO_C", ErrNoMemBitmap: "ERR_NOMEM_BITMAP",
	ErrIntegrityAlg: "ERR_INTEGRITY_ALG", ErrIntegrityAlgND: "ERR_INTEGRITY_ALG_ND",
	ErrCPUMaskParse: "ERR_CPU_MASK_PARSE", ErrCsumsAlg: "ERR_CSUMS_ALG", ErrCsumsAlgND: "ERR_CSUMS_ALG_ND",
	ErrVerifyAlg: "ERR_VERIFY_ALG", ErrVerifyAlgND: "ERR_VERIFY_ALG_ND",
	ErrCsumsResyncRunning: "ERR_CSUMS_RESYNC_RUNNING", ErrVerifyRunning: "ERR_VERIFY_RUNNING",
	ErrDataNotCurrent: "ERR_DATA_NOT_CURRENT", ErrConnected: "ERR_CONNECTED", ErrPerm: "ERR_PERM",
	ErrNeedAPV93: "ERR_NEED_APV_93", ErrStonithAndProtA: "ERR_STONITH_AND_PROT_A",
	ErrCongNotProtoA: "ERR_CONG_NOT_PROTO_A", ErrPicAfterDep: "ERR_PIC_AFTER_DEP",
	ErrPicPeerDep: "ERR_PIC_PEER_DEP", ErrResNotKnown: "ERR_RES_NOT_KNOWN", ErrResInUse: "ERR_RES_IN_USE",
	ErrMinorConfigured: "ERR_MINOR_CONFIGURED", ErrMinorOrVolumeExists: "ERR_MINOR_OR_VOLUME_EXISTS",
	ErrInvalidRequest: "ERR_INVALID_REQUEST", ErrNeedAPV100: "ERR_NEED_APV_100",
	ErrNeedAllowTwoPri: "ERR_NEED_ALLOW_TWO_PRI", ErrMDUnclean: "ERR_MD_UNCLEAN",
	ErrMDLayoutConnected: "ERR_MD_LAYOUT_CONNECTED", ErrMDLayoutTooBig: "ERR_MD_LAYOUT_TOO_BIG",
	ErrMDLayoutTooSmall: "ERR_MD_LAYOUT_TOO_SMALL", ErrMDLayoutNoFit: "ERR_MD_LAYOUT_NO_FIT",
	ErrImplicitShrink: "ERR_IMPLICIT_SHRINK", AfterLastErrCode: "AFTER_LAST_ERR_CODE",
}

// retCodeTexts is drbd-utils user/v84/drbdsetup.c error_messages[], indexed
// by code-ERR_CODE_BASE, including the texts kept for retired codes (106,
// 109, 110, 113, 117, 128, 136). Index 0 (ERR_CODE_BASE) has no text.
var retCodeTexts = [...]string{
	NoError - ErrCodeBase:           "No further Information available.",
	ErrLocalAddr - ErrCodeBase:      "Local address(port) already in use.",
	ErrPeerAddr - ErrCodeBase:       "Remote address(port) already in use.",
	ErrOpenDisk - ErrCodeBase:       "Can not open backing device.",
	ErrOpenMDDisk - ErrCodeBase:     "Can not open meta device.",
	106 - ErrCodeBase:               "Lower device already in use.",
	ErrDiskNotBdev - ErrCodeBase:    "Lower device is not a block device.",
	ErrMDNotBdev - ErrCodeBase:      "Meta device is not a block device.",
	109 - ErrCodeBase:               "Open of lower device failed.",
	110 - ErrCodeBase:               "Open of meta device failed.",
	ErrDiskTooSmall - ErrCodeBase:   "Low.dev. smaller than requested DRBD-dev. size.",
	ErrMDDiskTooSmall - ErrCodeBase: "Meta device too small.",
	113 - ErrCodeBase:               "You have to use the disk command first.",
	ErrBdclaimDisk - ErrCodeBase:    "Lower device is already claimed. This usually means it is mounted.",
	ErrBdclaimMDDisk - ErrCodeBase:  "Meta device is already claimed. This usually means it is mounted.",
	ErrMDIdxInvalid - ErrCodeBase:   "Lower device / meta device / index combination invalid.",
	117 - ErrCodeBase: "Currently we only support devices up to 3.998TB.\n" +
		"(up to 2TB in case you do not have CONFIG_LBD set)\n" +
		"Contact office@linbit.com, if you need more.",
	ErrIOMDDisk - ErrCodeBase:  "IO error(s) occurred during initial access to meta-data.\n",
	ErrMDUnclean - ErrCodeBase: "Unclean meta-data found.\nYou need to 'drbdadm apply-al res'\n",
	ErrMDInvalid - ErrCodeBase: "No valid meta-data signature found.\n\n" +
		"\t==> Use 'drbdadm create-md res' to initialize meta-data area. <==\n",
	ErrAuthAlg - ErrCodeBase: "The 'cram-hmac-alg' you specified is not known in " +
		"the kernel. (Maybe you need to modprobe it, or modprobe hmac?)",
	ErrAuthAlgND - ErrCodeBase:         "The 'cram-hmac-alg' you specified is not a digest.",
	ErrNoMem - ErrCodeBase:             "kmalloc() failed. Out of memory?",
	ErrDiscardImpossible - ErrCodeBase: "--discard-my-data not allowed when primary.",
	ErrDiskConfigured - ErrCodeBase:    "Device is attached to a disk (use detach first)",
	ErrNetConfigured - ErrCodeBase:     "Device has a net-config (use disconnect first)",
	ErrMandatoryTag - ErrCodeBase:      "UnknownMandatoryTag",
	ErrMinorInvalid - ErrCodeBase:      "Device minor not allocated",
	128 - ErrCodeBase:                  "Resulting device state would be invalid",
	ErrIntr - ErrCodeBase:              "Interrupted by Signal",
	ErrResizeResync - ErrCodeBase:      "Resize not allowed during resync.",
	ErrNoPrimary - ErrCodeBase:         "Need one Primary node to resize.",
	ErrResyncAfter - ErrCodeBase:       "The resync-after minor number is invalid",
	ErrResyncAfterCycle - ErrCodeBase:  "This would cause a resync-after dependency cycle",
	ErrPauseIsSet - ErrCodeBase:        "Sync-pause flag is already set",
	ErrPauseIsClear - ErrCodeBase:      "Sync-pause flag is already cleared",
	136 - ErrCodeBase:                  "Disk state is lower than outdated",
	ErrPacketNr - ErrCodeBase: "Kernel does not know how to handle your request.\n" +
		"Maybe API_VERSION mismatch?",
	ErrNoDisk - ErrCodeBase:      "Device does not have a disk-config",
	ErrNotProtoC - ErrCodeBase:   "Protocol C required",
	ErrNoMemBitmap - ErrCodeBase: "vmalloc() failed. Out of memory?",
	ErrIntegrityAlg - ErrCodeBase: "The 'data-integrity-alg' you specified is not known in " +
		"the kernel. (Maybe you need to modprobe it, or modprobe hmac?)",
	ErrIntegrityAlgND - ErrCodeBase:     "The 'data-integrity-alg' you specified is not a digest.",
	ErrCPUMaskParse - ErrCodeBase:       "Invalid cpu-mask.",
	ErrVerifyAlg - ErrCodeBase:          "VERIFYAlgNotAvail",
	ErrVerifyAlgND - ErrCodeBase:        "VERIFYAlgNotDigest",
	ErrVerifyRunning - ErrCodeBase:      "Can not change verify-alg while online verify runs",
	ErrDataNotCurrent - ErrCodeBase:     "Can only attach to the data we lost last (see kernel log).",
	ErrConnected - ErrCodeBase:          "Need to be StandAlone",
	ErrCsumsAlg - ErrCodeBase:           "CSUMSAlgNotAvail",
	ErrCsumsAlgND - ErrCodeBase:         "CSUMSAlgNotDigest",
	ErrCsumsResyncRunning - ErrCodeBase: "Can not change csums-alg while resync is in progress",
	ErrPerm - ErrCodeBase:               "Permission denied. CAP_SYS_ADMIN necessary",
	ErrNeedAPV93 - ErrCodeBase:          "Protocol version 93 required to use --assume-clean",
	ErrStonithAndProtA - ErrCodeBase:    "Fencing policy resource-and-stonith only with prot B or C allowed",
	ErrCongNotProtoA - ErrCodeBase:      "on-congestion policy pull-ahead only with prot A allowed",
	ErrPicAfterDep - ErrCodeBase: "Sync-pause flag is already cleared.\n" +
		"Note: Resync pause caused by a local resync-after dependency.",
	ErrPicPeerDep - ErrCodeBase: "Sync-pause flag is already cleared.\n" +
		"Note: Resync pause caused by the peer node.",
	ErrResNotKnown - ErrCodeBase:         "Unknown resource",
	ErrResInUse - ErrCodeBase:            "Resource still in use (delete all minors first)",
	ErrMinorConfigured - ErrCodeBase:     "Minor still configured (down it first)",
	ErrMinorOrVolumeExists - ErrCodeBase: "Minor or volume exists already (delete it first)",
	ErrInvalidRequest - ErrCodeBase:      "Invalid configuration request",
	ErrNeedAPV100 - ErrCodeBase: "Prot version 100 required in order to change\n" +
		"these network options while connected",
	ErrNeedAllowTwoPri - ErrCodeBase: "Can not clear allow_two_primaries as long as\n" +
		"there a primaries on both sides",
	ErrMDLayoutConnected - ErrCodeBase: "DRBD need to be connected for online MD layout change\n",
	ErrMDLayoutTooBig - ErrCodeBase:    "Resulting AL area too big\n",
	ErrMDLayoutTooSmall - ErrCodeBase:  "Resulting AL are too small\n",
	ErrMDLayoutNoFit - ErrCodeBase:     "Resulting AL does not fit into available meta data space\n",
	ErrImplicitShrink - ErrCodeBase:    "Implicit device shrinking not allowed. See kernel log.\n",
}

// UnknownRetCodeText is what drbd-utils' error_to_string returns for a code
// outside its table.
const UnknownRetCodeText = "Unknown... maybe API_VERSION mismatch?"

// String returns the C constant name ("ERR_DISK_CONFIGURED"), or the
// number for values outside the enum.
func (c RetCode) String() string {
	if n, ok := retCodeNames[c]; ok {
		return n
	}
	return "ERR_" + strconv.Itoa(int(c))
}

// Text returns drbd-utils' error_to_string(c) for drbdsetup-84: the
// error_messages[] entry, "" for ERR_CODE_BASE itself, and
// UnknownRetCodeText outside the table.
func (c RetCode) Text() string {
	i := int(c - ErrCodeBase)
	if i < 0 || i >= len(retCodeTexts) {
		return UnknownRetCodeText
	}
	return retCodeTexts[i]
}

// Error implements error with drbdsetup-84's format "Failure: (%d) %s".
func (c RetCode) Error() string {
	return "Failure: (" + strconv.Itoa(int(c)) + ") " + c.Text()
}

// Err returns nil for NoError and c otherwise.
func (c RetCode) Err() error {
	if c == NoError {
		return nil
	}
	return c
}

// Reply is the ret_code field of a DRBD netlink reply, which carries
// either a RetCode (>= 100) or a StateRV (<= 4) depending on the command.
type Reply int32

// Err returns nil for NO_ERROR and successful StateRVs, and the RetCode or
// StateRV as an error otherwise.
func (r Reply) Err() error {
	if r > Reply(ErrCodeBase) {
		return RetCode(r).Err()
	}
	if r >= Reply(ErrCodeBase) || r > Reply(SSCWNoNeed) {
		return RetCode(r)
	}
	return StateRV(r).Err()
}

// String names the code (ERR_* or SS_*).
func (r Reply) String() string {
	if r >= Reply(ErrCodeBase) {
		return RetCode(r).String()
	}
	return StateRV(r).String()
}
