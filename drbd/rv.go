package drbd

import "strconv"

// StateRV is enum drbd_state_rv, the result of a state change request.
// Values >= SSSuccess mean success; SSUnknownError and the negative values
// are failures. A failing StateRV is an error (see Err).
type StateRV int32

const (
	SSCWNoNeed          StateRV = 4   // SS_CW_NO_NEED
	SSCWSuccess         StateRV = 3   // SS_CW_SUCCESS
	SSNothingToDo       StateRV = 2   // SS_NOTHING_TO_DO
	SSSuccess           StateRV = 1   // SS_SUCCESS
	SSUnknownError      StateRV = 0   // SS_UNKNOWN_ERROR
	SSTwoPrimaries      StateRV = -1  // SS_TWO_PRIMARIES
	SSNoUpToDateDisk    StateRV = -2  // SS_NO_UP_TO_DATE_DISK
	SSNoLocalDisk       StateRV = -4  // SS_NO_LOCAL_DISK
	SSNoRemoteDisk      StateRV = -5  // SS_NO_REMOTE_DISK
	SSConnectedOutdates StateRV = -6  // SS_CONNECTED_OUTDATES
	SSPrimaryNOP        StateRV = -7  // SS_PRIMARY_NOP
	SSResyncRunning     StateRV = -8  // SS_RESYNC_RUNNING
	SSAlreadyStandAlone StateRV = -9  // SS_ALREADY_STANDALONE
	SSCWFailedByPeer    StateRV = -10 // SS_CW_FAILED_BY_PEER
	SSIsDiskless        StateRV = -11 // SS_IS_DISKLESS
	SSDeviceInUse       StateRV = -12 // SS_DEVICE_IN_USE
	SSNoNetConfig       StateRV = -13 // SS_NO_NET_CONFIG
	SSNoVerifyAlg       StateRV = -14 // SS_NO_VERIFY_ALG
	SSNeedConnection    StateRV = -15 // SS_NEED_CONNECTION
	SSLowerThanOutdated StateRV = -16 // SS_LOWER_THAN_OUTDATED
	SSNotSupported      StateRV = -17 // SS_NOT_SUPPORTED
	SSInTransientState  StateRV = -18 // SS_IN_TRANSIENT_STATE
	SSConcurrentStChg   StateRV = -19 // SS_CONCURRENT_ST_CHG
	SSOVolPeerPri       StateRV = -20 // SS_O_VOL_PEER_PRI
	SSOutdateWOConn     StateRV = -21 // SS_OUTDATE_WO_CONN
	SSAfterLastError    StateRV = -22 // SS_AFTER_LAST_ERROR
)

var stateRVNames = map[StateRV]string{
	SSCWNoNeed: "SS_CW_NO_NEED", SSCWSuccess: "SS_CW_SUCCESS", SSNothingToDo: "SS_NOTHING_TO_DO",
	SSSuccess: "SS_SUCCESS", SSUnknownError: "SS_UNKNOWN_ERROR", SSTwoPrimaries: "SS_TWO_PRIMARIES",
	SSNoUpToDateDisk: "SS_NO_UP_TO_DATE_DISK", SSNoLocalDisk: "SS_NO_LOCAL_DISK",
	SSNoRemoteDisk: "SS_NO_REMOTE_DISK", SSConnectedOutdates: "SS_CONNECTED_OUTDATES",
	SSPrimaryNOP: "SS_PRIMARY_NOP", SSResyncRunning: "SS_RESYNC_RUNNING",
	SSAlreadyStandAlone: "SS_ALREADY_STANDALONE", SSCWFailedByPeer: "SS_CW_FAILED_BY_PEER",
	SSIsDiskless: "SS_IS_DISKLESS", SSDeviceInUse: "SS_DEVICE_IN_USE", SSNoNetConfig: "SS_NO_NET_CONFIG",
	SSNoVerifyAlg: "SS_NO_VERIFY_ALG", SSNeedConnection: "SS_NEED_CONNECTION",
	SSLowerThanOutdated: "SS_LOWER_THAN_OUTDATED", SSNotSupported: "SS_NOT_SUPPORTED",
	SSInTransientState: "SS_IN_TRANSIENT_STATE", SSConcurrentStChg: "SS_CONCURRENT_ST_CHG",
	SSOVolPeerPri: "SS_O_VOL_PEER_PRI", SSOutdateWOConn: "SS_OUTDATE_WO_CONN",
	SSAfterLastError: "SS_AFTER_LAST_ERROR",
}

// stateRVTexts is drbd_state_sw_errors[] of drbd_strings.c, indexed by -rv.
var stateRVTexts = [...]string{
	-SSTwoPrimaries:      "Multiple primaries not allowed by config",
	-SSNoUpToDateDisk:    "Need access to UpToDate data",
	-SSNoLocalDisk:       "Can not resync without local disk",
	-SSNoRemoteDisk:      "Can not resync without remote disk",
	-SSConnectedOutdates: "Refusing to be Outdated while Connected",
	-SSPrimaryNOP:        "Refusing to be Primary while peer is not outdated",
	-SSResyncRunning:     "Can not start OV/resync since it is already active",
	-SSAlreadyStandAlone: "Can not disconnect a StandAlone device",
	-SSCWFailedByPeer:    "State change was refused by peer node",
	-SSIsDiskless:        "Device is diskless, the requested operation requires a disk",
	-SSDeviceInUse:       "Device is held open by someone",
	-SSNoNetConfig:       "Have no net/connection configuration",
	-SSNoVerifyAlg:       "Need a verify algorithm to start online verify",
	-SSNeedConnection:    "Need a connection to start verify or resync",
	-SSNotSupported:      "Peer does not support protocol",
	-SSLowerThanOutdated: "Disk state is lower than outdated",
	-SSInTransientState:  "In transient state, retry after next state change",
	-SSConcurrentStChg:   "Concurrent state changes detected and aborted",
	-SSOutdateWOConn:     "Need a connection for a graceful disconnect/outdate peer",
	-SSOVolPeerPri:       "Other vol primary on peer not allowed by config",
}

// String returns the C constant name ("SS_NO_UP_TO_DATE_DISK"), or the
// number for values outside the enum.
func (rv StateRV) String() string {
	if n, ok := stateRVNames[rv]; ok {
		return n
	}
	return "SS_" + strconv.Itoa(int(rv))
}

// Text returns drbd_set_st_err_str(rv) byte for byte: "TOO_SMALL" at or
// below SS_AFTER_LAST_ERROR, "TOO_LARGE" above SS_TWO_PRIMARIES (that
// includes SS_UNKNOWN_ERROR and every success code), "" for the unused -3.
func (rv StateRV) Text() string {
	switch {
	case rv <= SSAfterLastError:
		return "TOO_SMALL"
	case rv > SSTwoPrimaries:
		return "TOO_LARGE"
	}
	return stateRVTexts[-rv]
}

// OK reports rv >= SS_SUCCESS.
func (rv StateRV) OK() bool { return rv >= SSSuccess }

// Error implements error. drbdsetup-84 prints failures as
// "State change failed: (%d) %s" (and SS_UNKNOWN_ERROR as
// "State change failed: (0)unknown error."); Error returns that text.
func (rv StateRV) Error() string {
	if rv == SSUnknownError {
		return "State change failed: (0)unknown error."
	}
	return "State change failed: (" + strconv.Itoa(int(rv)) + ") " + rv.Text()
}

// Err returns nil for a successful rv and rv itself otherwise, so callers
// can write errors.Is(err, drbd.SSNoUpToDateDisk).
func (rv StateRV) Err() error {
	if rv.OK() {
		return nil
	}
	return rv
}
