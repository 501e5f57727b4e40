package peer

import (
	"fmt"

	"udrbd/drbd"
	"udrbd/metadata"
)

// FullSyncWhy is the reason the kernel gives the bitmap IO that sets all
// bits when the handshake decides on a full sync.
const FullSyncWhy = "set_n_write from sync_handshake"

// HandshakeInput is everything drbd_sync_handshake looks at.
type HandshakeInput struct {
	// Self is this node; Self.Disk is device->state.disk. Self.Flags
	// carries the DISCARD_MY_DATA and CRASHED_PRIMARY bits.
	Self Side
	// Peer is the peer as received: P_UUIDS (UUIDs, Bits, Flags),
	// peer_state.role, and the real peer disk (RealPeerDisk).
	Peer Side
	Negotiated
	// NegotiatingDisk is new_state_tmp.disk, the disk state a late attach
	// is heading for; it counts as the local disk while Self.Disk is
	// D_NEGOTIATING.
	NegotiatingDisk drbd.DiskState

	// Net options: after-sb-0pri, after-sb-1pri, after-sb-2pri,
	// always-asbp, rr-conflict, tentative (connect --dry-run).
	AfterSB0p, AfterSB1p, AfterSB2p drbd.AfterSBPolicy
	AlwaysASBP                      bool
	RRConflict                      drbd.AfterSBPolicy
	Tentative                       bool
	// DryRun is CONN_DRY_RUN: the peer connected with CF_DRY_RUN.
	DryRun bool
	// CanDemote tells whether this node could become Secondary right now
	// (drbd_change_state(R_SECONDARY) would succeed). call-pri-lost-after-sb
	// needs it: the kernel demotes the primary on the losing side during
	// the handshake, or runs pri-lost-after-sb when that fails.
	CanDemote bool
}

// SplitBrain is what became of a detected split brain.
type SplitBrain int

const (
	SBNone         SplitBrain = iota // no split brain
	SBAutoSolved                     // an after-sb policy decided
	SBManualSolved                   // discard-my-data on one side decided
	SBUnresolved                     // the connection is dropped
)

var sbNames = [...]string{"none", "auto-solved", "manually-solved", "unresolved"}

func (s SplitBrain) String() string {
	if s >= 0 && int(s) < len(sbNames) {
		return sbNames[s]
	}
	return "SplitBrain(?)"
}

// HandshakeResult is drbd_sync_handshake's decision.
type HandshakeResult struct {
	// Conn is drbd.CWFBitMapS (become SyncSource), drbd.CWFBitMapT (become
	// SyncTarget), drbd.CConnected (no resync), or drbd.CMask: the
	// handshake failed and receive_state drops the connection (or fails a
	// late attach; a dry run ends here too).
	Conn drbd.ConnState
	// Hg is the final decision: sign = direction, |Hg| >= 2 full sync.
	Hg int
	// FullSync: before going on, set all bitmap bits and write the bitmap
	// (drbd_bmio_set_n_write, reason FullSyncWhy); if that IO fails the
	// kernel drops the connection too.
	FullSync bool
	// Compare is the UUID comparison, with the corrected UUID sets.
	Compare    Comparison
	SplitBrain SplitBrain
	// BecomeSecondary: call-pri-lost-after-sb made this node give up the
	// primary role; perform the demotion before acting on Conn.
	BecomeSecondary bool
	// Log is what the kernel logs during the handshake, in order, helper
	// calls included (LevelHelper).
	Log []Line
}

// Dropped reports whether the handshake drops the connection.
func (r HandshakeResult) Dropped() bool { return r.Conn == drbd.CMask }

// Helpers returns the user-mode helpers the handshake runs, in order:
// "initial-split-brain", "pri-lost-after-sb", "split-brain", "pri-lost".
func (r HandshakeResult) Helpers() []string {
	var h []string
	for _, l := range r.Log {
		if l.Level == LevelHelper {
			h = append(h, l.Text)
		}
	}
	return h
}

func (r *HandshakeResult) log(l Level, format string, args ...any) {
	if len(args) > 0 {
		format = fmt.Sprintf(format, args...)
	}
	r.Log = append(r.Log, Line{l, format})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func from(hg int) string {
	if hg < 0 {
		return "peer"
	}
	return "this"
}

// SyncHandshake decides how a (re)connected pair goes on; it mirrors, as
// facts, drbd_receiver.c drbd_sync_handshake:
//
//  1. CompareUUIDs; unrelated data (-1000) and missing protocol versions
//     or features drop the connection.
//  2. Disk states override: if exactly one side is D_INCONSISTENT (and the
//     other better), the better one becomes SyncSource; full sync if the
//     UUIDs said split brain (-100) or full sync.
//  3. |hg| == 100: split brain; the initial-split-brain helper runs.
//  4. hg 100, or -100 with always-asbp: the after-sb policy for the number
//     of primaries decides (RecoverAfterSB0p, 1p, 2p); solving a -100
//     forces a full sync.
//  5. Still -100: discard-my-data on exactly one side decides (own
//     FlagDiscardMyData in Self.Flags, the peer's in Peer.Flags); on both
//     or neither the split brain stays unresolved: split-brain helper,
//     drop.
//  6. SyncSource with an inconsistent disk: drop.
//  7. SyncTarget while primary with a consistent disk: rr-conflict
//     decides (disconnect drops, call-pri-lost runs pri-lost and drops,
//     violently goes on).
//  8. Tentative or the peer's dry run: log the outcome and drop.
//  9. |hg| >= 2: full sync; then WFBitMapS / WFBitMapT / Connected.
func SyncHandshake(in HandshakeInput) HandshakeResult {
	r := HandshakeResult{Conn: drbd.CMask}
	mydisk := in.Self.Disk
	if mydisk == drbd.DNegotiating {
		mydisk = in.NegotiatingDisk
	}

	r.log(LevelInfo, "drbd_sync_handshake:")
	r.log(LevelInfo, DumpUUIDs("self", in.Self.UUIDs, in.Self.Bits, 0))
	r.log(LevelInfo, DumpUUIDs("peer", in.Peer.UUIDs, in.Peer.Bits, in.Peer.Flags))
	c := CompareUUIDs(in.Self, in.Peer, in.Negotiated)
	r.Compare = c
	r.Log = append(r.Log, c.Log...)
	hg := c.Hg
	r.Hg = hg
	r.log(LevelInfo, "uuid_compare()=%d by rule %d", hg, c.Rule)

	switch {
	case hg == -1000:
		r.log(LevelAlert, "Unrelated data, aborting!")
		return r
	case hg < -0x10000:
		need := -hg
		r.log(LevelAlert, "To resolve this both sides have to support at least protocol %d and feature flags 0x%x",
			need&0xff, (need>>8)&0xff)
		return r
	case hg < -1000:
		r.log(LevelAlert, "To resolve this both sides have to support at least protocol %d", -hg-1000)
		return r
	}

	peerDisk := in.Peer.Disk
	if (mydisk == drbd.DInconsistent && peerDisk > drbd.DInconsistent) ||
		(peerDisk == drbd.DInconsistent && mydisk > drbd.DInconsistent) {
		full := hg == -100 || abs(hg) == 2
		dir := "target"
		hg = -1
		if mydisk > drbd.DInconsistent {
			dir, hg = "source", 1
		}
		if full {
			hg *= 2
		}
		r.log(LevelInfo, "Becoming sync %s due to disk states.", dir)
	}

	if abs(hg) == 100 {
		r.SplitBrain = SBUnresolved
		r.log(LevelHelper, "initial-split-brain")
	}

	// The after-sb policies see the UUID sets as corrected by the compare.
	asb := in
	asb.Self.UUIDs, asb.Peer.UUIDs = c.Self, c.Peer
	if hg == 100 || (hg == -100 && in.AlwaysASBP) {
		pcount := 0
		if in.Self.Role == drbd.RPrimary {
			pcount++
		}
		if in.Peer.Role == drbd.RPrimary {
			pcount++
		}
		forced := hg == -100
		var lines []Line
		switch pcount {
		case 0:
			hg, lines = RecoverAfterSB0p(asb)
		case 1:
			hg, r.BecomeSecondary, lines = RecoverAfterSB1p(asb)
		case 2:
			hg, r.BecomeSecondary, lines = RecoverAfterSB2p(asb)
		}
		r.Log = append(r.Log, lines...)
		if abs(hg) < 100 {
			r.SplitBrain = SBAutoSolved
			r.log(LevelWarn, "Split-Brain detected, %d primaries, automatically solved. Sync from %s node",
				pcount, from(hg))
			if forced {
				r.log(LevelWarn, "Doing a full sync, since UUIDs where ambiguous.")
				hg *= 2
			}
		}
	}

	if hg == -100 {
		own := in.Self.Flags&FlagDiscardMyData != 0
		theirs := in.Peer.Flags&FlagDiscardMyData != 0
		if own && !theirs {
			hg = -1
		}
		if !own && theirs {
			hg = 1
		}
		if abs(hg) < 100 {
			r.SplitBrain = SBManualSolved
			r.log(LevelWarn, "Split-Brain detected, manually solved. Sync from %s node", from(hg))
		}
	}
	r.Hg = hg

	if hg == -100 {
		r.log(LevelAlert, "Split-Brain detected but unresolved, dropping connection!")
		r.log(LevelHelper, "split-brain")
		return r
	}

	if hg > 0 && mydisk <= drbd.DInconsistent {
		r.log(LevelErr, "I shall become SyncSource, but I am inconsistent!")
		return r
	}

	role := in.Self.Role
	if r.BecomeSecondary {
		role = drbd.RSecondary
	}
	// The kernel tests the disk state itself here, not mydisk.
	if hg < 0 && role == drbd.RPrimary && in.Self.Disk >= drbd.DConsistent {
		switch in.RRConflict {
		case drbd.ASBCallHelper:
			r.log(LevelHelper, "pri-lost")
			fallthrough
		case drbd.ASBDisconnect:
			r.log(LevelErr, "I shall become SyncTarget, but I am primary!")
			return r
		case drbd.ASBViolently:
			// Two literals joined without a space in the kernel.
			r.log(LevelWarn, "Becoming SyncTarget, violating the stable-dataassumption")
		}
	}

	if in.Tentative || in.DryRun {
		if hg == 0 {
			r.log(LevelInfo, "dry-run connect: No resync, would become Connected immediately.")
		} else {
			to, kind := drbd.CSyncTarget, "bit-map based"
			if hg > 0 {
				to = drbd.CSyncSource
			}
			if abs(hg) >= 2 {
				kind = "full"
			}
			r.log(LevelInfo, "dry-run connect: Would become %s, doing a %s resync.", to, kind)
		}
		return r
	}

	if abs(hg) >= 2 {
		r.log(LevelInfo, "Writing the whole bitmap, full sync required after drbd_sync_handshake.")
		r.FullSync = true
	}

	switch {
	case hg > 0:
		r.Conn = drbd.CWFBitMapS
	case hg < 0:
		r.Conn = drbd.CWFBitMapT
	default:
		r.Conn = drbd.CConnected
		if in.Self.Bits != 0 {
			r.log(LevelInfo, "No resync, but %d bits in bitmap!", in.Self.Bits)
		}
	}
	return r
}

// RecoverAfterSB0p is the after-sb-0pri policy (no primary):
// drbd_asb_recover_0p. It returns 1 (this node is SyncSource), -1 (this
// node discards its data) or -100 (no decision). "Younger" and "older"
// primary are told by bit 0 of the bitmap UUIDs (set when the node was
// primary as it rotated its current UUID), "changes" by the bit counts
// (Self.Bits, Peer.Bits); ties go by ResolveConflicts (-1 on its holder).
func RecoverAfterSB0p(in HandshakeInput) (hg int, log []Line) {
	self := in.Self.UUIDs[metadata.UIBitmap] & 1
	peer := in.Peer.UUIDs[metadata.UIBitmap] & 1
	chSelf, chPeer := in.Self.Bits, in.Peer.Bits
	tie := 1
	if in.ResolveConflicts {
		tie = -1
	}

	switch in.AfterSB0p {
	case drbd.ASBConsensus, drbd.ASBDiscardSecondary, drbd.ASBCallHelper, drbd.ASBViolently:
		log = append(log, Line{LevelErr, "Configuration error."})
	case drbd.ASBDisconnect:
	case drbd.ASBDiscardYoungerPri:
		if self == 0 && peer == 1 {
			return -1, log
		}
		if self == 1 && peer == 0 {
			return 1, log
		}
		fallthrough
	case drbd.ASBDiscardOlderPri:
		if self == 0 && peer == 1 {
			return 1, log
		}
		if self == 1 && peer == 0 {
			return -1, log
		}
		log = append(log, Line{LevelWarn, "Discard younger/older primary did not find a decision\nUsing discard-least-changes instead"})
		fallthrough
	case drbd.ASBDiscardZeroChg:
		switch {
		case chPeer == 0 && chSelf == 0:
			return tie, log
		case chPeer == 0:
			return 1, log
		case chSelf == 0:
			return -1, log
		}
		if in.AfterSB0p == drbd.ASBDiscardZeroChg {
			break
		}
		fallthrough
	case drbd.ASBDiscardLeastChg:
		switch {
		case chSelf < chPeer:
			return -1, log
		case chSelf > chPeer:
			return 1, log
		}
		return tie, log
	case drbd.ASBDiscardLocal:
		return -1, log
	case drbd.ASBDiscardRemote:
		return 1, log
	}
	return -100, log
}

// RecoverAfterSB1p is the after-sb-1pri policy (one primary):
// drbd_asb_recover_1p. consensus takes the 0pri decision only if it
// discards the secondary's data; violently-as0p takes it in any case;
// discard-secondary discards the secondary's data; call-pri-lost-after-sb
// takes the 0pri decision and, if it goes against this node as primary,
// gives up the primary role (demote: CanDemote) or, failing that, runs
// pri-lost-after-sb and decides nothing.
func RecoverAfterSB1p(in HandshakeInput) (hg int, demote bool, log []Line) {
	primary := in.Self.Role == drbd.RPrimary
	switch in.AfterSB1p {
	case drbd.ASBDiscardYoungerPri, drbd.ASBDiscardOlderPri, drbd.ASBDiscardLeastChg,
		drbd.ASBDiscardLocal, drbd.ASBDiscardRemote, drbd.ASBDiscardZeroChg:
		log = append(log, Line{LevelErr, "Configuration error."})
	case drbd.ASBDisconnect:
	case drbd.ASBConsensus:
		hg, log = RecoverAfterSB0p(in)
		if hg == -1 && in.Self.Role == drbd.RSecondary {
			return hg, false, log
		}
		if hg == 1 && primary {
			return hg, false, log
		}
	case drbd.ASBViolently:
		hg, log = RecoverAfterSB0p(in)
		return hg, false, log
	case drbd.ASBDiscardSecondary:
		if primary {
			return 1, false, log
		}
		return -1, false, log
	case drbd.ASBCallHelper:
		hg, log = RecoverAfterSB0p(in)
		if hg == -1 && primary {
			return giveUpPrimary(in, log)
		}
		return hg, false, log
	}
	return -100, false, log
}

// RecoverAfterSB2p is the after-sb-2pri policy (two primaries):
// drbd_asb_recover_2p. violently-as0p takes the 0pri decision;
// call-pri-lost-after-sb takes it and makes the losing primary give up its
// role, as in RecoverAfterSB1p.
func RecoverAfterSB2p(in HandshakeInput) (hg int, demote bool, log []Line) {
	switch in.AfterSB2p {
	case drbd.ASBDiscardYoungerPri, drbd.ASBDiscardOlderPri, drbd.ASBDiscardLeastChg,
		drbd.ASBDiscardLocal, drbd.ASBDiscardRemote, drbd.ASBConsensus,
		drbd.ASBDiscardSecondary, drbd.ASBDiscardZeroChg:
		log = append(log, Line{LevelErr, "Configuration error."})
	case drbd.ASBViolently:
		hg, log = RecoverAfterSB0p(in)
		return hg, false, log
	case drbd.ASBDisconnect:
	case drbd.ASBCallHelper:
		hg, log = RecoverAfterSB0p(in)
		if hg == -1 {
			return giveUpPrimary(in, log)
		}
		return hg, false, log
	}
	return -100, false, log
}

func giveUpPrimary(in HandshakeInput, log []Line) (int, bool, []Line) {
	if !in.CanDemote {
		return -100, false, append(log, Line{LevelHelper, "pri-lost-after-sb"})
	}
	return -1, true, append(log, Line{LevelWarn, "Successfully gave up primary role."})
}
