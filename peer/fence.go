package peer

import (
	"fmt"

	"udrbd/drbd"
	"udrbd/statemachine"
)

// Fencing: conn_try_outdate_peer and the susp_fen freeze around it.
//
// A Primary that loses its peer without knowing the peer's disk to be
// Outdated runs the fence-peer handler (in the background, as
// conn_try_outdate_peer_async); with fencing resource-and-stonith the state
// engine froze application IO (susp_fen) in the same state change that lost
// the peer, and the freeze ends when the handler's answer puts the peer's
// disk at Outdated or worse, when the connection comes back, or by an
// administrator's resume-io. A node that is promoted while disconnected runs
// the handler in the foreground (drbd_set_role).

// fence-peer exit codes (enum drbd_peer_state in drbd.h).
const (
	fenceInconsistent = 3 // the peer's disk is Inconsistent or worse
	fenceOutdated     = 4 // the peer was outdated (or already was)
	fenceDown         = 5 // the peer is unreachable, assumed dead
	fencePrimary      = 6 // the peer is Primary: outdate ourselves
	fenceStonith      = 7 // the peer was shot (STONITH)
)

// fpNotAvail is FP_NOT_AVAIL: no volume has a local disk to fence for.
const fpNotAvail drbd.FencingPolicy = -1

// SetConnHelper sets the runner of the connection's usermode helpers
// (fence-peer, unfence-peer: conn_khelper); it returns the exit code.
// Without one those helpers behave as if they exited 0.
func (c *Conn) SetConnHelper(fn func(name string) int) {
	c.mu.Lock()
	c.connHelper = fn
	c.mu.Unlock()
}

func (c *Conn) runConnHelper(name string) int {
	c.mu.Lock()
	fn := c.connHelper
	c.mu.Unlock()
	if fn == nil {
		return 0
	}
	return fn(name)
}

// highestFencing is highest_fencing_policy: the strongest fencing policy
// of the volumes that have a local disk.
func (c *Conn) highestFencing() drbd.FencingPolicy {
	fp := fpNotAvail
	for _, pd := range c.volumes() {
		if !pd.dev().GetLdevIfState(drbd.DConsistent) {
			continue
		}
		fp = max(fp, pd.dev().Config().Fencing)
		pd.putDisk()
	}
	return fp
}

// highestRole and highestPdsk are conn_highest_role and conn_highest_pdsk.
func (c *Conn) highestRole() drbd.Role {
	r := drbd.RUnknown
	for _, pd := range c.volumes() {
		r = max(r, pd.dev().State().Role)
	}
	return r
}

func (c *Conn) highestPdsk() drbd.DiskState {
	d := drbd.DDiskless
	for _, pd := range c.volumes() {
		d = max(d, pd.dev().State().Pdsk)
	}
	return d
}

func (c *Conn) highestDisk() drbd.DiskState {
	d := drbd.DDiskless
	for _, pd := range c.volumes() {
		d = max(d, pd.dev().State().Disk)
	}
	return d
}

// TryOutdatePeer is conn_try_outdate_peer: with a fencing policy, run the
// fence-peer handler and apply its answer to every volume. It reports
// whether the peer's disk is now known to be Outdated or worse (with
// fencing dont-care: always true, without asking anybody).
func (c *Conn) TryOutdatePeer() bool {
	if c.cstate() >= drbd.CWFReportParams {
		c.log.Error("Expected cstate < C_WF_REPORT_PARAMS")
		return false
	}
	cnt := c.connectCnt.Load()
	fp := c.highestFencing()
	switch fp {
	case fpNotAvail:
		c.log.Warn("Not fencing peer, I'm not even Consistent myself.")
		if c.cstate() < drbd.CWFReportParams {
			c.change(statemachine.CSVerbose|statemachine.CSHard, func(s drbd.State) drbd.State {
				s.SuspFen = false
				return s
			})
		}
		return false
	case drbd.FPDontCare:
		return true
	}
	r := c.runConnHelper("fence-peer")
	var apply func(drbd.State) drbd.State
	why := ""
	pdsk := func(d drbd.DiskState) func(drbd.State) drbd.State {
		return func(s drbd.State) drbd.State { s.Pdsk = d; return s }
	}
	switch r {
	case fenceInconsistent:
		why, apply = "peer is inconsistent or worse", pdsk(drbd.DInconsistent)
	case fenceOutdated:
		why, apply = "peer was fenced", pdsk(drbd.DOutdated)
	case fenceDown:
		if c.highestDisk() == drbd.DUpToDate {
			why, apply = "peer is unreachable, assumed to be dead", pdsk(drbd.DOutdated)
		} else {
			why = "peer unreachable, doing nothing since disk != UpToDate"
		}
	case fencePrimary:
		why = "peer is active"
		c.log.Warn("Peer is primary, outdating myself.")
		apply = func(s drbd.State) drbd.State { s.Disk = drbd.DOutdated; return s }
	case fenceStonith:
		if fp != drbd.FPStonith {
			c.log.Error("fence-peer() = 7 && fencing != Stonith !!!")
		}
		why, apply = "peer was stonithed", pdsk(drbd.DOutdated)
	default:
		c.log.Error(fmt.Sprintf("fence-peer helper broken, returned %d", r))
		return false // IO stays frozen, if it is
	}
	c.log.Info(fmt.Sprintf("fence-peer helper returned %d (%s)", r, why))
	// The connection may have come back while the handler ran: then its
	// handshake knows better than the handler.
	if c.cstate() < drbd.CWFReportParams && apply != nil {
		if c.connectCnt.Load() != cnt {
			c.log.Info("Ignoring fence-peer exit code")
		} else {
			c.change(statemachine.CSVerbose, apply)
		}
	}
	c.fenced()
	return c.highestPdsk() <= drbd.DOutdated
}

// tryOutdatePeerAsync is conn_try_outdate_peer_async.
func (c *Conn) tryOutdatePeerAsync() {
	go c.TryOutdatePeer()
}

// fenced is the first case of the susp_fen thaw (after_conn_state_ch): the
// handler outdated the peer, so the frozen writes may complete as written
// locally only; the new current UUID that the freeze deferred is made now.
func (c *Conn) fenced() {
	if c.highestPdsk() > drbd.DOutdated {
		return
	}
	frozen := false
	for _, pd := range c.volumes() {
		if pd.dev().State().SuspFen {
			frozen = true
		}
	}
	if !frozen {
		return
	}
	for _, pd := range c.volumes() {
		if pd.newCurPending.Swap(false) {
			if d := pd.getDisk(drbd.DInconsistent); d != nil {
				pd.newCurrentUUID(d, pd.dev().State().Role == drbd.RPrimary)
				pd.putDisk()
			}
		}
	}
	c.change(statemachine.CSVerbose, func(s drbd.State) drbd.State { s.SuspFen = false; return s })
}

// thawReconnected is the second case (after_state_ch): the connection is
// back while IO was frozen for fencing; the frozen writes were marked out
// of sync when the peer was lost and reach it by resync, so they complete
// now (the kernel resends them instead).
func (pd *PeerDevice) thawReconnected(ns drbd.State) {
	if !ns.SuspFen || pd.c.cstate() < drbd.CConnected {
		return
	}
	for _, v := range pd.c.volumes() {
		v.newCurPending.Store(false)
	}
	pd.c.change(statemachine.CSVerbose, func(s drbd.State) drbd.State { s.SuspFen = false; return s })
}

// ResumedIO is resume-io's NEW_CUR_UUID part: a new current UUID that a
// freeze deferred is made when the administrator resumes IO.
func (pd *PeerDevice) ResumedIO() {
	if !pd.newCurPending.Swap(false) {
		return
	}
	if d := pd.getDisk(drbd.DInconsistent); d != nil {
		pd.newCurrentUUID(d, pd.dev().State().Role == drbd.RPrimary)
		pd.putDisk()
	}
}

// unfence is drbd_resync_finished's last part: a SyncSource with a fencing
// policy runs unfence-peer once every volume is back in sync.
func (pd *PeerDevice) unfence() {
	fp := drbd.FPDontCare
	if pd.dev().GetLdevIfState(drbd.DInconsistent) {
		fp = pd.dev().Config().Fencing
		pd.putDisk()
	}
	if fp == drbd.FPDontCare {
		return
	}
	for _, v := range pd.c.volumes() {
		if s := v.dev().State(); s.Disk != drbd.DUpToDate || s.Pdsk != drbd.DUpToDate {
			return
		}
	}
	pd.c.runConnHelper("unfence-peer")
}
