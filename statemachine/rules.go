package statemachine

import "udrbd/drbd"

// Env is everything besides the two states that DRBD 8.4's state rules
// read (configuration, peer facts, device flags). The rules below are pure
// functions of (Env, old state, new state).
type Env struct {
	// HaveNetConf: a net_conf exists (the resource was connected once).
	HaveNetConf bool
	// TwoPrimaries is net_conf allow-two-primaries.
	TwoPrimaries bool
	// HighestPeer is conn_highest_peer: the highest peer role over all
	// volumes of the connection, read from the current states.
	HighestPeer drbd.Role
	// Fencing is disk_conf fencing; the rules only see it while a local
	// disk reference can be had (get_ldev: current disk >= Inconsistent).
	Fencing drbd.FencingPolicy
	// CurDisk is the device's current disk state (what get_ldev sees).
	CurDisk drbd.DiskState
	// OpenCount is the number of openers of the block device.
	OpenCount int
	// VerifyAlg: net_conf verify-alg is set.
	VerifyAlg bool
	// AgreedProVersion is the protocol version agreed with the peer.
	AgreedProVersion int
	// OnNoData is res_opts on-no-data-accessible.
	OnNoData drbd.OnNoData
	// StateSent is the connection flag STATE_SENT (handshake in flight).
	StateSent bool
	// EdUUIDMatches: ed_uuid equals the attached disk's current UUID;
	// used when a connection is lost while Negotiating.
	EdUUIDMatches bool
	// NewStateTmp is the state an attach computed while connected
	// (device->new_state_tmp); its disk and pdsk are restored when the
	// connection is lost while Negotiating.
	NewStateTmp drbd.State
}

// fencing is the policy as the rules see it. The kernel reads disk_conf
// only if get_ldev(device) succeeds on the current state (disk >=
// Inconsistent), so a change out of Attaching/Negotiating/Failed is judged
// as if fencing were dont-care. udrbd deviates, deliberately and only in
// the stricter direction: the policy is also seen when the new state has a
// disk >= Inconsistent. Without that, one request could take
// Attaching -> UpToDate and promote to a StandAlone Primary with an
// unknown peer under fencing resource-only, a state is_valid_state then
// rejects (SS_PRIMARY_NOP) -- found by TestRequestsNeverCommitInvalidState.
func (e *Env) fencing(ns drbd.State) drbd.FencingPolicy {
	if e.CurDisk >= drbd.DInconsistent || ns.Disk >= drbd.DInconsistent {
		return e.Fencing
	}
	return drbd.FPDontCare
}

// IsValidState is drbd_state.c is_valid_state: may a device be in state ns
// at all? The first matching rule decides.
func IsValidState(e *Env, ns drbd.State) drbd.StateRV {
	rv := drbd.SSSuccess
	fp := e.fencing(ns)
	// V1: two primaries need allow-two-primaries.
	if e.HaveNetConf && !e.TwoPrimaries && ns.Role == drbd.RPrimary {
		if ns.Peer == drbd.RPrimary {
			rv = drbd.SSTwoPrimaries
		} else if e.HighestPeer == drbd.RPrimary {
			rv = drbd.SSOVolPeerPri
		}
	}
	switch {
	case rv <= 0:
	case ns.Role == drbd.RSecondary && e.OpenCount > 0: // V2
		rv = drbd.SSDeviceInUse
	case ns.Role == drbd.RPrimary && ns.Conn < drbd.CConnected && ns.Disk < drbd.DUpToDate: // V3
		rv = drbd.SSNoUpToDateDisk
	case fp >= drbd.FPResource && ns.Role == drbd.RPrimary && ns.Conn < drbd.CConnected && ns.Pdsk >= drbd.DUnknown: // V4
		rv = drbd.SSPrimaryNOP
	case ns.Role == drbd.RPrimary && ns.Disk <= drbd.DInconsistent && ns.Pdsk <= drbd.DInconsistent: // V5
		rv = drbd.SSNoUpToDateDisk
	case ns.Conn > drbd.CConnected && ns.Disk < drbd.DInconsistent: // V6
		rv = drbd.SSNoLocalDisk
	case ns.Conn > drbd.CConnected && ns.Pdsk < drbd.DInconsistent: // V7
		rv = drbd.SSNoRemoteDisk
	case ns.Conn > drbd.CConnected && ns.Disk < drbd.DUpToDate && ns.Pdsk < drbd.DUpToDate: // V8
		rv = drbd.SSNoUpToDateDisk
	case (ns.Conn == drbd.CConnected || ns.Conn == drbd.CWFBitMapS || ns.Conn == drbd.CSyncSource ||
		ns.Conn == drbd.CPausedSyncS) && ns.Disk == drbd.DOutdated: // V9
		rv = drbd.SSConnectedOutdates
	case (ns.Conn == drbd.CVerifyS || ns.Conn == drbd.CVerifyT) && !e.VerifyAlg: // V10
		rv = drbd.SSNoVerifyAlg
	case (ns.Conn == drbd.CVerifyS || ns.Conn == drbd.CVerifyT) && e.AgreedProVersion < 88: // V11
		rv = drbd.SSNotSupported
	case ns.Role == drbd.RPrimary && ns.Disk < drbd.DUpToDate && ns.Pdsk < drbd.DUpToDate: // V12
		rv = drbd.SSNoUpToDateDisk
	case (ns.Conn == drbd.CStartingSyncS || ns.Conn == drbd.CStartingSyncT) && ns.Pdsk == drbd.DUnknown: // V13
		rv = drbd.SSNeedConnection
	case ns.Conn >= drbd.CConnected && ns.Pdsk == drbd.DUnknown: // V14
		rv = drbd.SSConnectedOutdates
	}
	return rv
}

// IsValidSoftTransition is drbd_state.c is_valid_soft_transition: the
// transitions a user request may be refused. Every rule is checked and
// the LAST match wins (the kernel assigns rv in a row of plain ifs).
func IsValidSoftTransition(e *Env, os, ns drbd.State) drbd.StateRV {
	rv := drbd.SSSuccess
	// T1
	if (ns.Conn == drbd.CStartingSyncT || ns.Conn == drbd.CStartingSyncS) && os.Conn > drbd.CConnected {
		rv = drbd.SSResyncRunning
	}
	// T2
	if ns.Conn == drbd.CDisconnecting && os.Conn == drbd.CStandAlone {
		rv = drbd.SSAlreadyStandAlone
	}
	// T3
	if ns.Disk > drbd.DAttaching && os.Disk == drbd.DDiskless {
		rv = drbd.SSIsDiskless
	}
	// T4
	if ns.Conn == drbd.CWFConnection && os.Conn < drbd.CUnconnected {
		rv = drbd.SSNoNetConfig
	}
	// T5
	if ns.Disk == drbd.DOutdated && os.Disk < drbd.DOutdated && os.Disk != drbd.DAttaching {
		rv = drbd.SSLowerThanOutdated
	}
	// T6
	if ns.Conn == drbd.CDisconnecting && os.Conn == drbd.CUnconnected {
		rv = drbd.SSInTransientState
	}
	// T7: while the handshake is in flight only the connection may move.
	if e.StateSent && !((ns.Conn == drbd.CWFReportParams && os.Conn == drbd.CWFConnection) ||
		(ns.Conn >= drbd.CConnected && os.Conn == drbd.CWFReportParams)) {
		rv = drbd.SSInTransientState
	}
	// T8: no promotion during a resync handshake started by a forced primary.
	if os.Role != drbd.RPrimary && ns.Role == drbd.RPrimary && ns.Pdsk == drbd.DUpToDate &&
		ns.Disk != drbd.DUpToDate && ns.Disk != drbd.DDiskless &&
		(ns.Conn <= drbd.CWFSyncUUID || ns.Conn != os.Conn) {
		rv = drbd.SSInTransientState
	}
	// T9
	if (ns.Conn == drbd.CVerifyS || ns.Conn == drbd.CVerifyT) && os.Conn < drbd.CConnected {
		rv = drbd.SSNeedConnection
	}
	// T10
	if (ns.Conn == drbd.CVerifyS || ns.Conn == drbd.CVerifyT) && ns.Conn != os.Conn && os.Conn > drbd.CConnected {
		rv = drbd.SSResyncRunning
	}
	// T11
	if (ns.Conn == drbd.CStartingSyncS || ns.Conn == drbd.CStartingSyncT) && os.Conn < drbd.CConnected {
		rv = drbd.SSNeedConnection
	}
	// T12
	if (ns.Conn == drbd.CSyncTarget || ns.Conn == drbd.CSyncSource) && os.Conn < drbd.CWFReportParams {
		rv = drbd.SSNeedConnection
	}
	// T13
	if ns.Conn == drbd.CDisconnecting && ns.Pdsk == drbd.DOutdated && os.Conn < drbd.CConnected && os.Pdsk > drbd.DOutdated {
		rv = drbd.SSOutdateWOConn
	}
	return rv
}

// IsValidConnTransition is drbd_state.c is_valid_conn_transition; the
// first matching rule decides.
func IsValidConnTransition(oc, nc drbd.ConnState) drbd.StateRV {
	switch {
	case oc == nc: // C1
		return drbd.SSNothingToDo
	case oc == drbd.CStandAlone && nc == drbd.CDisconnecting: // C2
		return drbd.SSAlreadyStandAlone
	case oc == drbd.CStandAlone && nc != drbd.CUnconnected: // C3
		return drbd.SSNeedConnection
	case oc < drbd.CWFReportParams && nc >= drbd.CConnected: // C4
		return drbd.SSNeedConnection
	case oc >= drbd.CTimeout && oc <= drbd.CTearDown && nc != drbd.CUnconnected && nc != drbd.CDisconnecting: // C5
		return drbd.SSInTransientState
	case oc == drbd.CDisconnecting && nc != drbd.CStandAlone: // C6
		return drbd.SSInTransientState
	}
	return drbd.SSSuccess
}

// IsValidTransition is drbd_state.c is_valid_transition: the limits even
// hard (forced) changes obey. Note it returns SS_NOTHING_TO_DO when the
// connection state does not change; callers treat >= SS_SUCCESS as valid.
func IsValidTransition(os, ns drbd.State) drbd.StateRV {
	rv := IsValidConnTransition(os.Conn, ns.Conn)
	// H1: we cannot fail (again) once detached.
	if ns.Disk == drbd.DFailed && os.Disk == drbd.DDiskless {
		rv = drbd.SSIsDiskless
	}
	return rv
}

// Warning is enum sanitize_state_warnings; its String is the kernel's log
// text.
type Warning int

const (
	NoWarning Warning = iota
	AbortedOnlineVerify
	AbortedResync
	ConnectionLostNegotiating
	ImplicitlyUpgradedDisk
	ImplicitlyUpgradedPdsk
)

func (w Warning) String() string {
	return [...]string{"", "Online-verify aborted.", "Resync aborted.",
		"Connection lost while negotiating, no data!", "Implicitly upgraded disk",
		"Implicitly upgraded pdsk"}[w]
}

// Sanitize is drbd_state.c sanitize_state: it adds the implied
// consequences of a requested change, plus one rule from the seed fix
// (S0, see below). The rules are applied in order, each on the result of
// the one before.
func Sanitize(e *Env, os, ns drbd.State) (drbd.State, Warning) {
	warn := NoWarning
	fp := e.fencing(ns)

	// S0 (seed patch "fix potential deadlock on detach"): D_ATTACHING never
	// passes through D_FAILED, because ldev may not be installed yet and the
	// D_FAILED after-state work would use it. Current 8.4 instead checks
	// device->ldev in after_state_ch; we keep the seed's rule as well.
	if os.Disk == drbd.DAttaching && ns.Disk == drbd.DFailed {
		ns.Disk = drbd.DDiskless
	}
	// S1: no connection, no peer.
	if ns.Conn < drbd.CConnected {
		ns.PeerIsp = false
		ns.Peer = drbd.RUnknown
		if ns.Pdsk > drbd.DUnknown || ns.Pdsk < drbd.DInconsistent {
			ns.Pdsk = drbd.DUnknown
		}
	}
	// S2: an unconfigured device forgets its resync-after pause.
	if ns.Conn == drbd.CStandAlone && ns.Disk == drbd.DDiskless && ns.Role == drbd.RSecondary {
		ns.AftrIsp = false
	}
	// S3: a failing or missing disk aborts resync/verify.
	if ns.Conn > drbd.CConnected && (ns.Disk <= drbd.DFailed || ns.Pdsk <= drbd.DFailed) {
		if ns.Conn == drbd.CVerifyS || ns.Conn == drbd.CVerifyT {
			warn = AbortedOnlineVerify
		} else {
			warn = AbortedResync
		}
		ns.Conn = drbd.CConnected
	}
	// S4: connection lost while Negotiating (needs a local reference at
	// >= D_NEGOTIATING on the current state).
	if ns.Conn < drbd.CConnected && ns.Disk == drbd.DNegotiating &&
		e.CurDisk != drbd.DDiskless && e.CurDisk >= drbd.DNegotiating {
		if e.EdUUIDMatches {
			ns.Disk = e.NewStateTmp.Disk
			ns.Pdsk = e.NewStateTmp.Pdsk
		} else {
			warn = ConnectionLostNegotiating
			ns.Disk = drbd.DDiskless
			ns.Pdsk = drbd.DUnknown
		}
	}
	// S5: Consistent and Outdated vanish when connected.
	if ns.Conn >= drbd.CConnected && ns.Conn < drbd.CAhead {
		if ns.Disk == drbd.DConsistent || ns.Disk == drbd.DOutdated {
			ns.Disk = drbd.DUpToDate
		}
		if ns.Pdsk == drbd.DConsistent || ns.Pdsk == drbd.DOutdated {
			ns.Pdsk = drbd.DUpToDate
		}
	}
	// S6: clamp disk and pdsk to what the connection state implies.
	dmin, dmax, pmin, pmax := ConnDiskLimits(ns.Conn)
	if ns.Disk > dmax {
		ns.Disk = dmax
	}
	if ns.Disk < dmin {
		warn = ImplicitlyUpgradedDisk
		ns.Disk = dmin
	}
	if ns.Pdsk > pmax {
		ns.Pdsk = pmax
	}
	if ns.Pdsk < pmin {
		warn = ImplicitlyUpgradedPdsk
		ns.Pdsk = pmin
	}
	// S7: resource-and-stonith freezes IO when a Primary loses the peer.
	if fp == drbd.FPStonith &&
		(ns.Role == drbd.RPrimary && ns.Conn < drbd.CConnected && ns.Pdsk > drbd.DOutdated) &&
		!(os.Role == drbd.RPrimary && os.Conn < drbd.CConnected && os.Pdsk > drbd.DOutdated) {
		ns.SuspFen = true
	}
	// S8: on-no-data-accessible suspend-io.
	if e.OnNoData == drbd.ONDSuspendIO &&
		(ns.Role == drbd.RPrimary && ns.Disk < drbd.DUpToDate && ns.Pdsk < drbd.DUpToDate) &&
		!(os.Role == drbd.RPrimary && os.Disk < drbd.DUpToDate && os.Pdsk < drbd.DUpToDate) {
		ns.SuspNod = true
	}
	// S9: any isp bit pauses a resync, none resumes it.
	if ns.AftrIsp || ns.PeerIsp || ns.UserIsp {
		if ns.Conn == drbd.CSyncSource {
			ns.Conn = drbd.CPausedSyncS
		}
		if ns.Conn == drbd.CSyncTarget {
			ns.Conn = drbd.CPausedSyncT
		}
	} else {
		if ns.Conn == drbd.CPausedSyncS {
			ns.Conn = drbd.CSyncSource
		}
		if ns.Conn == drbd.CPausedSyncT {
			ns.Conn = drbd.CSyncTarget
		}
	}
	return ns, warn
}

// ConnDiskLimits is the per-connection-state clamp of sanitize_state (S6):
// the lowest and highest local and peer disk states a connection state
// allows.
func ConnDiskLimits(c drbd.ConnState) (dmin, dmax, pmin, pmax drbd.DiskState) {
	dmin, dmax, pmin, pmax = drbd.DDiskless, drbd.DUpToDate, drbd.DInconsistent, drbd.DUnknown
	switch c {
	case drbd.CWFBitMapT, drbd.CPausedSyncT, drbd.CStartingSyncT, drbd.CWFSyncUUID, drbd.CBehind:
		dmin, dmax, pmin, pmax = drbd.DInconsistent, drbd.DOutdated, drbd.DUpToDate, drbd.DUpToDate
	case drbd.CVerifyS, drbd.CVerifyT:
		dmin, dmax, pmin, pmax = drbd.DUpToDate, drbd.DUpToDate, drbd.DUpToDate, drbd.DUpToDate
	case drbd.CConnected:
		dmin, dmax, pmin, pmax = drbd.DDiskless, drbd.DUpToDate, drbd.DDiskless, drbd.DUpToDate
	case drbd.CWFBitMapS, drbd.CPausedSyncS, drbd.CStartingSyncS, drbd.CAhead:
		dmin, dmax, pmin, pmax = drbd.DUpToDate, drbd.DUpToDate, drbd.DInconsistent, drbd.DConsistent
	case drbd.CSyncTarget:
		dmin, dmax, pmin, pmax = drbd.DInconsistent, drbd.DInconsistent, drbd.DUpToDate, drbd.DUpToDate
	case drbd.CSyncSource:
		dmin, dmax, pmin, pmax = drbd.DUpToDate, drbd.DUpToDate, drbd.DInconsistent, drbd.DInconsistent
	}
	return
}

// ClusterWide is drbd_state.c cl_wide_st_chg: does the change need the
// peer's agreement (P_STATE_CHG_REQ)?
func ClusterWide(os, ns drbd.State) bool {
	return (os.Conn >= drbd.CConnected && ns.Conn >= drbd.CConnected &&
		((os.Role != drbd.RPrimary && ns.Role == drbd.RPrimary) ||
			(os.Conn != drbd.CStartingSyncT && ns.Conn == drbd.CStartingSyncT) ||
			(os.Conn != drbd.CStartingSyncS && ns.Conn == drbd.CStartingSyncS) ||
			(os.Disk != drbd.DFailed && ns.Disk == drbd.DFailed))) ||
		(os.Conn >= drbd.CConnected && ns.Conn == drbd.CDisconnecting) ||
		(os.Conn == drbd.CConnected && ns.Conn == drbd.CVerifyS) ||
		(os.Conn == drbd.CConnected && ns.Conn == drbd.CWFReportParams)
}

// StateIsStable is drbd_int.h drbd_state_is_stable: may new application IO
// start in state s? agreedProVersion matters for WFBitMapS (>= 96).
func StateIsStable(s drbd.State, agreedProVersion int) bool {
	switch s.Conn {
	case drbd.CWFBitMapS:
		if agreedProVersion < 96 {
			return false
		}
	case drbd.CWFBitMapT, drbd.CWFSyncUUID, drbd.CMask:
		return false
	}
	switch s.Disk {
	case drbd.DAttaching, drbd.DNegotiating, drbd.DUnknown, drbd.DMask:
		return false
	}
	return s.Conn <= drbd.CBehind && s.Disk <= drbd.DUpToDate
}

// Check is the validity decision _drbd_set_state makes for a non-hard
// change: is_valid_state(ns), tolerated when os fails with the same code,
// then is_valid_soft_transition.
func Check(e *Env, os, ns drbd.State) drbd.StateRV {
	rv := IsValidState(e, ns)
	if rv < drbd.SSSuccess {
		if IsValidState(e, os) == rv {
			rv = IsValidSoftTransition(e, os, ns)
		}
		return rv
	}
	return IsValidSoftTransition(e, os, ns)
}
