package peer

import (
	"udrbd/drbd"
	"udrbd/metadata"
)

// Negotiated is what the two nodes of a connection agreed on.
type Negotiated struct {
	AgreedVersion  int    // agreed_pro_version (drbd.ProVersionMin .. drbd.ProVersionMax)
	AgreedFeatures uint32 // agreed_features, FF* bits
	// ResolveConflicts is the connection's RESOLVE_CONFLICTS bit; exactly
	// one of the two nodes has it, and it breaks the ties of rule 40 and
	// of the after-sb policies.
	ResolveConflicts bool
}

// UUIDFix names the correction drbd_uuid_compare applied to a UUID set.
type UUIDFix int

const (
	FixNone UUIDFix = iota
	// FixSelfResyncFinished (rule 34): this node was SyncSource and missed
	// the resync-finished event; its bitmap UUID retires into the history.
	FixSelfResyncFinished
	// FixPeerResyncFinished (rule 35): the peer was SyncSource and missed
	// the resync-finished event; the same correction on the peer's set.
	FixPeerResyncFinished
	// FixPeerLostSyncUUID (rule 51): the peer, as SyncSource, bumped its
	// bitmap UUID but this node never got the P_SYNC_UUID; the peer's bump
	// is undone: its history[0] returns to the bitmap slot, history[1] to
	// history[0].
	FixPeerLostSyncUUID
	// FixSelfLostSyncUUID (rule 71): the same undo on this node's set.
	FixSelfLostSyncUUID
)

var fixNames = [...]string{"none", "self-resync-finished", "peer-resync-finished", "peer-lost-sync-uuid", "self-lost-sync-uuid"}

func (f UUIDFix) String() string {
	if f >= 0 && int(f) < len(fixNames) {
		return fixNames[f]
	}
	return "UUIDFix(?)"
}

// Self reports whether the fix changed the local set, which then has to be
// written to the meta-data (the kernel marks it dirty).
func (f UUIDFix) Self() bool { return f == FixSelfResyncFinished || f == FixSelfLostSyncUUID }

// Peer reports whether the fix changed the copy of the peer's set.
func (f UUIDFix) Peer() bool { return f == FixPeerResyncFinished || f == FixPeerLostSyncUUID }

// Comparison is the result of CompareUUIDs.
type Comparison struct {
	Hg   int // the kernel's hg; see the package documentation
	Rule int // rule_nr as the kernel logs it ("uuid_compare()=%d by rule %d")
	Fix  UUIDFix
	// Self and Peer are the UUID sets after Fix; without a fix, the inputs.
	Self, Peer metadata.UUIDSet
	Log        []Line // lines drbd_uuid_compare logs, in order
}

// HgNeedsWSame is the hg of rule 41 when FFWSame was not agreed: both sides
// need protocol drbd.ProVersionMax and feature FFWSame.
const HgNeedsWSame = -(0x10000 | drbd.ProVersionMax | int(FFWSame)<<8)

const noPrimaryBit = ^uint64(1)

// CompareUUIDs decides from the two UUID sets whether and which way to
// resync; it mirrors, as facts, drbd_receiver.c drbd_uuid_compare. Bit 0
// of every UUID is masked. The rules, in the order they are tried:
//
//	10   both current UUIDs UUID_JUST_CREATED: 0
//	20   own current just created or 0, the peer's not just created: -2
//	30   own current not just created, the peer's just created or 0: 2
//	     equal current UUIDs:
//	       only this node has a bitmap UUID: below protocol 91 -1091 (logged
//	       as rule 30); 34 if that is the peer's history[0] and own
//	       history[0] the peer's history[1] (missed the resync-finished
//	       event as SyncSource; FixSelfResyncFinished), else 36: 1
//	       only the peer has a bitmap UUID: the mirror image, 35
//	       (FixPeerResyncFinished) or 37: -1
//	40   neither crashed primary (own FlagCrashedPrimary, the peer's flag
//	     2): 0
//	41   a crashed primary and a node primary now: without FFWSame
//	     HgNeedsWSame; both primary -100; else 1 if this node is primary, -1
//	40   both secondary: the crashed primary becomes SyncSource; both
//	     crashed: -1 with ResolveConflicts, else 1
//	50   own current is the peer's bitmap UUID: -1
//	51   own current is the peer's history[0] and the peer's bitmap UUID is
//	     that plus UUIDNewBMOffset (below protocol 96: own history[0] is the
//	     peer's history[1]): the P_SYNC_UUID got lost; below 91 -1091,
//	     else FixPeerLostSyncUUID and -1
//	60   own current in the peer's history: -2
//	70   own bitmap UUID is the peer's current: 1
//	71   own history[0] is the peer's current and own bitmap UUID is that
//	     plus UUIDNewBMOffset (below 96: own history[1] is the peer's
//	     history[0]): below 91 -1091, else FixSelfLostSyncUUID and 1
//	80   the peer's current in own history: 2
//	90   equal non-zero bitmap UUIDs: 100 (split brain)
//	100  any own history UUID equal to any of the peer's (zeros included):
//	     -100 (split brain); otherwise -1000 (unrelated), also rule 100
//
// Roles and FlagCrashedPrimary feed rules 40 and 41; the bit counts and
// the peer's other flags only appear in the logged UUID dumps.
func CompareUUIDs(self, peer Side, n Negotiated) Comparison {
	c := Comparison{Self: self.UUIDs, Peer: peer.UUIDs}
	c.Hg, c.Rule = c.compare(self, peer, n)
	return c
}

func (c *Comparison) info(text string)        { c.Log = append(c.Log, Line{LevelInfo, text}) }
func (c *Comparison) add(l Level, t string)   { c.Log = append(c.Log, Line{l, t}) }
func (c *Comparison) dumpSelf(bits uint64)    { c.info(DumpUUIDs("self", c.Self, bits, 0)) }
func (c *Comparison) dumpPeer(bits, f uint64) { c.info(DumpUUIDs("peer", c.Peer, bits, f)) }

func (c *Comparison) compare(selfSide, peerSide Side, n Negotiated) (hg, rule int) {
	const (
		cur = metadata.UICurrent
		bm  = metadata.UIBitmap
		h0  = metadata.UIHistoryStart
		h1  = metadata.UIHistoryEnd
		jc  = metadata.UUIDJustCreated
	)
	s, p := &c.Self, &c.Peer
	self := s[cur] & noPrimaryBit
	peer := p[cur] & noPrimaryBit

	if self == jc && peer == jc {
		return 0, 10
	}
	if (self == jc || self == 0) && peer != jc {
		return -2, 20
	}
	if self != jc && (peer == jc || peer == 0) {
		return 2, 30
	}

	if self == peer {
		if p[bm] == 0 && s[bm] != 0 {
			if n.AgreedVersion < 91 {
				return -1091, 30
			}
			if s[bm]&noPrimaryBit == p[h0]&noPrimaryBit && s[h0]&noPrimaryBit == p[h1]&noPrimaryBit {
				c.info("was SyncSource, missed the resync finished event, corrected myself:")
				s.SetBitmap(0)
				c.dumpSelf(selfSide.Bits)
				c.Fix = FixSelfResyncFinished
				return 1, 34
			}
			c.info("was SyncSource (peer failed to write sync_uuid)")
			return 1, 36
		}
		if s[bm] == 0 && p[bm] != 0 {
			if n.AgreedVersion < 91 {
				return -1091, 30
			}
			if s[h0]&noPrimaryBit == p[bm]&noPrimaryBit && s[h1]&noPrimaryBit == p[h0]&noPrimaryBit {
				c.info("was SyncTarget, peer missed the resync finished event, corrected peer:")
				p.SetBitmap(0)
				c.dumpPeer(peerSide.Bits, peerSide.Flags)
				c.Fix = FixPeerResyncFinished
				return -1, 35
			}
			c.info("was SyncTarget (failed to write sync_uuid)")
			return -1, 37
		}

		// Roles at crash time: 1 this node, 2 the peer.
		rct := int(peerSide.Flags & FlagCrashedPrimary)
		if selfSide.Flags&FlagCrashedPrimary != 0 {
			rct++
		}
		if rct == 0 {
			return 0, 40
		}
		selfPri, peerPri := selfSide.Role == drbd.RPrimary, peerSide.Role == drbd.RPrimary
		if selfPri || peerPri {
			if n.AgreedFeatures&FFWSame == 0 {
				c.add(LevelWarn, "Equivalent unrotated UUIDs, but current primary present.")
				return HgNeedsWSame, 41
			}
			if selfPri && peerPri {
				c.add(LevelErr, "Equivalent unrotated UUIDs, but both are primary. Can not resolve this.")
				return -100, 41
			}
			if selfPri {
				return 1, 41
			}
			return -1, 41
		}
		switch rct {
		case 1:
			return 1, 40
		case 2:
			return -1, 40
		}
		if n.ResolveConflicts {
			return -1, 40
		}
		return 1, 40
	}

	if self == p[bm]&noPrimaryBit {
		return -1, 50
	}

	if peer = p[h0] & noPrimaryBit; self == peer {
		var lost bool
		if n.AgreedVersion < 96 {
			lost = s[h0]&noPrimaryBit == p[h1]&noPrimaryBit
		} else {
			lost = peer+UUIDNewBMOffset == p[bm]&noPrimaryBit
		}
		if lost {
			if n.AgreedVersion < 91 {
				return -1091, 51
			}
			undoSyncUUID(p)
			c.info("Lost last syncUUID packet, corrected:")
			c.dumpPeer(peerSide.Bits, peerSide.Flags)
			c.Fix = FixPeerLostSyncUUID
			return -1, 51
		}
	}

	self = s[cur] & noPrimaryBit
	for i := h0; i <= h1; i++ {
		if self == p[i]&noPrimaryBit {
			return -2, 60
		}
	}

	self = s[bm] & noPrimaryBit
	peer = p[cur] & noPrimaryBit
	if self == peer {
		return 1, 70
	}

	if self = s[h0] & noPrimaryBit; self == peer {
		var lost bool
		if n.AgreedVersion < 96 {
			lost = s[h1]&noPrimaryBit == p[h0]&noPrimaryBit
		} else {
			lost = self+UUIDNewBMOffset == s[bm]&noPrimaryBit
		}
		if lost {
			if n.AgreedVersion < 91 {
				return -1091, 71
			}
			undoSyncUUID(s)
			c.info("Last syncUUID did not get through, corrected:")
			c.dumpSelf(selfSide.Bits)
			c.Fix = FixSelfLostSyncUUID
			return 1, 71
		}
	}

	peer = p[cur] & noPrimaryBit
	for i := h0; i <= h1; i++ {
		if s[i]&noPrimaryBit == peer {
			return 2, 80
		}
	}

	self = s[bm] & noPrimaryBit
	peer = p[bm] & noPrimaryBit
	if self == peer && self != 0 {
		return 100, 90
	}

	for i := h0; i <= h1; i++ {
		for j := h0; j <= h1; j++ {
			if s[i]&noPrimaryBit == p[j]&noPrimaryBit {
				return -100, 100
			}
		}
	}
	return -1000, 100
}

// undoSyncUUID takes back GenSyncUUID's history push: history[0] returns
// to the bitmap slot and history[1] to history[0], both as they are
// (rules 51 and 71; the kernel leaves history[1] in place).
func undoSyncUUID(u *metadata.UUIDSet) {
	u[metadata.UIBitmap] = u[metadata.UIHistoryStart]
	u[metadata.UIHistoryStart] = u[metadata.UIHistoryEnd]
}
