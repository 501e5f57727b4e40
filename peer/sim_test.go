package peer

import (
	"fmt"
	"math/bits"
	"slices"

	"udrbd/drbd"
	"udrbd/metadata"
)

// A two-node model of the life of a resource, just detailed enough to
// drive the sync decision with the UUIDs the kernel would have: the UUID
// rotations of drbd_set_role, after_state_ch (lost contact to the peer's
// data while primary), attach, the handshake on both sides, and the UUID
// updates of a resync with its lost-packet and lost-event variants.

type simNode struct {
	name      string
	md        metadata.UUIDSet
	bm        uint64 // the bitmap: 64 blocks
	role      drbd.Role
	disk      drbd.DiskState
	crashed   bool // CRASHED_PRIMARY
	discard   bool // net option discard-my-data for the next connect
	canDemote bool
}

func (n *simNode) bits() uint64 { return uint64(bits.OnesCount64(n.bm)) }

func (n *simNode) side() Side {
	return Side{
		UUIDs: n.md,
		Bits:  n.bits(),
		Flags: UUIDFlags(n.discard, n.crashed, n.disk, false),
		Role:  n.role,
		Disk:  n.disk,
	}
}

type simPolicy struct {
	sb0, sb1, sb2 drbd.AfterSBPolicy
	alwaysASBP    bool
	rr            drbd.AfterSBPolicy
}

type sim struct {
	a, b      *simNode
	connected bool
	pol       simPolicy // as configured on a; b has the converted values
	seq       uint64
	trace     []string
	// lastA, lastB are the two handshakes of the last connect.
	lastA, lastB HandshakeResult
	err          error // the first misfit found
}

func newSim(pol simPolicy) *sim {
	s := &sim{a: &simNode{name: "a"}, b: &simNode{name: "b"}, pol: pol}
	s.createMD(s.a)
	s.createMD(s.b)
	return s
}

func (s *sim) tracef(format string, args ...any) {
	s.trace = append(s.trace, fmt.Sprintf(format, args...))
}

// random draws a fresh UUID (get_random_bytes), never 0 or 4.
func (s *sim) random() uint64 {
	s.seq++
	return (s.seq*0x9E3779B97F4A7C15 ^ 0x5555000000000000) &^ 0xff
}

func (s *sim) other(n *simNode) *simNode {
	if n == s.a {
		return s.b
	}
	return s.a
}

// createMD: drbdmeta create-md, then attach: UUID_JUST_CREATED,
// Inconsistent, the whole bitmap set.
func (s *sim) createMD(n *simNode) {
	n.md = metadata.UUIDSet{metadata.UUIDJustCreated}
	n.bm = ^uint64(0)
	n.role, n.disk, n.crashed = drbd.RSecondary, drbd.DInconsistent, false
}

// primary is drbd_set_role(R_PRIMARY, force): a new current UUID when
// disconnected without a bitmap UUID, or when forced; bit 0 set.
func (s *sim) primary(n *simNode, force bool) bool {
	peer := s.other(n)
	if n.role == drbd.RPrimary || (s.connected && peer.role == drbd.RPrimary) {
		return false
	}
	forced := false
	if n.disk != drbd.DUpToDate {
		// Forcing is for the initial sync or a lone node.
		if !force || (s.connected && peer.disk == drbd.DUpToDate) {
			return false
		}
		forced = true
		n.disk = drbd.DUpToDate
	}
	n.discard = false // set_role clears net_conf->discard_my_data
	if (!s.connected && n.md[metadata.UIBitmap] == 0) || forced {
		n.md.NewCurrent(s.random(), true)
	}
	n.md[metadata.UICurrent] |= 1
	n.role = drbd.RPrimary
	s.tracef("%s primary%s: %x", n.name, map[bool]string{true: " --force"}[forced], n.md)
	if forced && s.connected {
		// The peer sees us forced UpToDate and primary: CONSIDER_RESYNC,
		// and both run the handshake.
		s.handshake(stageComplete)
	}
	return true
}

func (s *sim) secondary(n *simNode) {
	if n.role != drbd.RPrimary {
		return
	}
	n.role = drbd.RSecondary
	n.md[metadata.UICurrent] &^= 1
	s.tracef("%s secondary", n.name)
}

// write marks a block out of sync while disconnected.
func (s *sim) write(n *simNode, block int) {
	if n.role != drbd.RPrimary || s.connected {
		return
	}
	n.bm |= 1 << (block & 63)
}

// lostContact is after_state_ch's "lost contact to peer's data": a primary
// with an UpToDate disk and no bitmap UUID starts a new data generation.
func (s *sim) lostContact(n *simNode) {
	if n.role == drbd.RPrimary && n.md[metadata.UIBitmap] == 0 && n.disk >= drbd.DUpToDate {
		n.md.NewCurrent(s.random(), true)
	}
}

func (s *sim) disconnect() {
	if !s.connected {
		return
	}
	s.connected = false
	s.lostContact(s.a)
	s.lostContact(s.b)
	s.tracef("disconnect: a %x b %x", s.a.md, s.b.md)
}

// crash: the node goes down hard; a primary comes back with
// CRASHED_PRIMARY and its activity log marked out of sync; attach sets
// bit 0 of the current UUID by the (secondary) role.
func (s *sim) crash(n *simNode, block int) {
	if s.connected {
		s.connected = false
		s.lostContact(s.other(n))
	}
	if n.role == drbd.RPrimary {
		n.crashed = true
		n.bm |= 1 << (block & 63)
	}
	n.role = drbd.RSecondary
	n.md[metadata.UICurrent] &^= 1
	s.tracef("%s crash: %x", n.name, n.md)
}

func (s *sim) input(self, peer *simNode, resolveConflicts bool, convert bool) HandshakeInput {
	cv := func(p drbd.AfterSBPolicy) drbd.AfterSBPolicy {
		if convert {
			return ConvertAfterSB(p)
		}
		return p
	}
	n := v101
	n.ResolveConflicts = resolveConflicts
	return HandshakeInput{
		Self: self.side(), Peer: peer.side(), Negotiated: n,
		AfterSB0p: cv(s.pol.sb0), AfterSB1p: cv(s.pol.sb1), AfterSB2p: cv(s.pol.sb2),
		AlwaysASBP: s.pol.alwaysASBP, RRConflict: s.pol.rr, CanDemote: self.canDemote,
	}
}

// Resync interruptions for connect.
const (
	stageComplete       = iota // resync runs to the end on both
	stageBeforeSyncUUID        // connection lost after the bitmap exchange
	stageLostSyncUUID          // the source bumped its bitmap UUID, P_SYNC_UUID lost
	stageMidResync             // the target got the sync UUID, resync interrupted
	stageSourceMissed          // the target finished, the source missed the event
	stageTargetMissed          // the source finished, the target missed the event
	numStages
)

// connect runs the handshake on both nodes and, on a decision to resync,
// the resync up to the given stage. It returns an error if the two
// decisions do not fit together.
func (s *sim) connect(stage int) error {
	if s.connected {
		return nil
	}
	if s.a.discard && s.b.discard {
		// receive_protocol: "incompatible discard-my-data settings".
		return nil
	}
	s.connected = true
	return s.handshake(stage)
}

func (s *sim) handshake(stage int) error {
	err := s.doHandshake(stage)
	if err != nil && s.err == nil {
		s.err = err
	}
	return err
}

func (s *sim) doHandshake(stage int) error {
	a, b := s.a, s.b
	ra := SyncHandshake(s.input(a, b, true, false))
	rb := SyncHandshake(s.input(b, a, false, true))
	s.lastA, s.lastB = ra, rb
	s.tracef("handshake: a %d by rule %d -> %v (%v), b %d by rule %d -> %v (%v)",
		ra.Compare.Hg, ra.Compare.Rule, ra.Conn, ra.Hg, rb.Compare.Hg, rb.Compare.Rule, rb.Conn, rb.Hg)
	if err := checkPair(ra, rb); err != nil {
		return err
	}
	a.md, b.md = ra.Compare.Self, rb.Compare.Self
	for _, x := range []struct {
		n *simNode
		r HandshakeResult
	}{{a, ra}, {b, rb}} {
		if x.r.BecomeSecondary {
			x.n.role = drbd.RSecondary // drbd_change_state: bit 0 stays
		}
		x.n.discard = false // DISCARD_MY_DATA is cleared after receive_state
	}
	if ra.Dropped() || rb.Dropped() {
		s.connected = false
		return nil
	}
	if ra.Conn == drbd.CConnected {
		s.bothUpToDate()
		return nil
	}
	src, tgt, rs, rt := a, b, ra, rb
	if ra.Conn == drbd.CWFBitMapT {
		src, tgt, rs, rt = b, a, rb, ra
	}
	if rs.FullSync || rt.FullSync {
		src.bm, tgt.bm = ^uint64(0), ^uint64(0)
	}
	src.bm |= tgt.bm // P_BITMAP both ways
	tgt.bm = src.bm
	tgtView := rt.Compare.Peer // the source's UUIDs as the target has them
	if stage == stageBeforeSyncUUID {
		s.disconnect()
		return nil
	}
	srcMD, sync := GenSyncUUID(src.md, s.random())
	src.md = srcMD
	if stage == stageLostSyncUUID {
		s.disconnect()
		return nil
	}
	tgt.md = ReceiveSyncUUID(tgt.md, sync, tgt.role == drbd.RPrimary)
	tgt.disk = drbd.DInconsistent
	if stage == stageMidResync {
		src.bm &= src.bm - 1 // one block synced
		tgt.bm = src.bm
		s.disconnect()
		return nil
	}
	src.bm, tgt.bm = 0, 0
	if stage != stageSourceMissed {
		src.md, _ = FinishResyncAsSource(src.md)
	}
	if stage != stageTargetMissed {
		tgt.md, _ = FinishResyncAsTarget(tgt.md, tgtView, tgt.role == drbd.RPrimary)
		tgt.disk = drbd.DUpToDate
	}
	if stage != stageComplete {
		s.disconnect()
		return nil
	}
	if masked(src.md) != masked(tgt.md) {
		return fmt.Errorf("after resync the UUIDs differ: source %x target %x", src.md, tgt.md)
	}
	s.bothUpToDate()
	return nil
}

// bothUpToDate: the pair is connected and in sync; after_state_ch clears
// CRASHED_PRIMARY on both.
func (s *sim) bothUpToDate() {
	if s.a.disk == drbd.DUpToDate && s.b.disk == drbd.DUpToDate {
		s.a.crashed, s.b.crashed = false, false
	}
}

func masked(u metadata.UUIDSet) metadata.UUIDSet {
	for i := range u {
		u[i] &^= 1
	}
	return u
}

// checkPair: the two handshakes of one connection must fit together. If
// either drops the connection, both lose it; otherwise one is
// WFBitMapS and the other WFBitMapT with the same kind of resync, or both
// Connected. The UUID corrections must agree too.
func checkPair(ra, rb HandshakeResult) error {
	if err := checkCompare(ra.Compare, rb.Compare); err != nil {
		return err
	}
	if (ra.SplitBrain == SBNone) != (rb.SplitBrain == SBNone) {
		return fmt.Errorf("split brain seen on one side only: %v / %v", ra.SplitBrain, rb.SplitBrain)
	}
	if ra.Dropped() || rb.Dropped() {
		return nil
	}
	switch {
	case ra.Conn == drbd.CWFBitMapS && rb.Conn == drbd.CWFBitMapT,
		ra.Conn == drbd.CWFBitMapT && rb.Conn == drbd.CWFBitMapS:
		if ra.FullSync != rb.FullSync {
			return fmt.Errorf("full sync %v / %v", ra.FullSync, rb.FullSync)
		}
	case ra.Conn == drbd.CConnected && rb.Conn == drbd.CConnected:
	case priLostAsymmetry(ra, rb) || priLostAsymmetry(rb, ra):
	default:
		return fmt.Errorf("not complementary: %v (hg %d) / %v (hg %d)", ra.Conn, ra.Hg, rb.Conn, rb.Hg)
	}
	return nil
}

// priLostAsymmetry is a kernel asymmetry (TestHandshakePriLostAsymmetry):
// with after-sb-1pri call-pri-lost-after-sb the losing primary could not
// give up its role, ran pri-lost-after-sb and kept -100, which the
// secondary's discard-my-data flag then turned into "SyncSource"; the
// secondary had already won by the policy and is SyncSource as well.
func priLostAsymmetry(primary, secondary HandshakeResult) bool {
	return primary.Conn == drbd.CWFBitMapS && secondary.Conn == drbd.CWFBitMapS &&
		primary.SplitBrain == SBManualSolved && slices.Contains(primary.Helpers(), "pri-lost-after-sb") &&
		secondary.SplitBrain == SBAutoSolved
}

// checkCompare: the hg values are negatives of each other, or both a split
// brain, or both unrelated, or both missing protocol support; a node that
// corrects its own UUIDs is matched by the other correcting its copy.
func checkCompare(a, b Comparison) error {
	switch {
	case a.Hg == -b.Hg:
	case abs(a.Hg) == 100 && abs(b.Hg) == 100:
	case a.Hg == -1000 && b.Hg == -1000:
	case a.Hg < -1000 && b.Hg < -1000:
	default:
		return fmt.Errorf("uuid_compare %d by rule %d / %d by rule %d", a.Hg, a.Rule, b.Hg, b.Rule)
	}
	if a.Self != b.Peer || a.Peer != b.Self {
		return fmt.Errorf("corrections differ: rule %d fix %v / rule %d fix %v", a.Rule, a.Fix, b.Rule, b.Fix)
	}
	return nil
}
