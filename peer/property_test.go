package peer

import (
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"udrbd/drbd"
	"udrbd/metadata"
)

// A small pool, so that random sets share UUIDs the way related data
// generations do: 0, UUID_JUST_CREATED, three generations, and the
// generations bumped by UUIDNewBMOffset (a resync start).
var uuidPool = []uint64{0, metadata.UUIDJustCreated, 0x1000, 0x2000, 0x3000, 0x1000 + off, 0x2000 + off}

func drawSet(t *rapid.T, label string) metadata.UUIDSet {
	var u metadata.UUIDSet
	for i := range u {
		u[i] = rapid.SampledFrom(uuidPool).Draw(t, label) | uint64(rapid.IntRange(0, 1).Draw(t, label+"-bit0"))
	}
	return u
}

// crossed reports UUID sets that name each other's current UUID as an
// older generation (each current in the other's bitmap or history): a
// cycle in the generation history, which random UUIDs cannot produce. The
// kernel's rules are not symmetric for them (TestCompareAsymmetric).
func crossed(a, b metadata.UUIDSet) bool {
	older := func(x uint64, u metadata.UUIDSet) bool {
		for i := metadata.UIBitmap; i <= metadata.UIHistoryEnd; i++ {
			if u[i]&^1 == x&^1 {
				return true
			}
		}
		return false
	}
	return older(a[metadata.UICurrent], b) && older(b[metadata.UICurrent], a)
}

func bothZero(a, b metadata.UUIDSet) bool {
	return a[metadata.UICurrent]&^1 == 0 && b[metadata.UICurrent]&^1 == 0
}

func drawNegotiated(t *rapid.T) Negotiated {
	n := Negotiated{AgreedVersion: rapid.SampledFrom([]int{90, 91, 95, 96, 101}).Draw(t, "version")}
	if rapid.Bool().Draw(t, "wsame") {
		n.AgreedFeatures = FFWSame
	}
	return n
}

var roles = []drbd.Role{drbd.RPrimary, drbd.RSecondary}

// TestPropertyCompareSymmetry: for unrelated random UUID sets, the two
// nodes' uuid_compare agree: opposite hg, or both split brain, both
// unrelated, or both lacking protocol support; and the corrections one
// node makes to its own set are the corrections the other makes to its
// copy.
func TestPropertyCompareSymmetry(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := Side{UUIDs: drawSet(t, "a"), Role: rapid.SampledFrom(roles).Draw(t, "roleA")}
		b := Side{UUIDs: drawSet(t, "b"), Role: rapid.SampledFrom(roles).Draw(t, "roleB")}
		if crossed(a.UUIDs, b.UUIDs) || bothZero(a.UUIDs, b.UUIDs) {
			t.Skip("outside the kernel's symmetry")
		}
		if rapid.Bool().Draw(t, "crashedA") {
			a.Flags |= FlagCrashedPrimary
		}
		if rapid.Bool().Draw(t, "crashedB") {
			b.Flags |= FlagCrashedPrimary
		}
		n := drawNegotiated(t)
		na, nb := n, n
		na.ResolveConflicts = true
		ca := CompareUUIDs(a, b, na)
		cb := CompareUUIDs(b, a, nb)
		if err := checkCompare(ca, cb); err != nil {
			t.Fatalf("%v\na %x flags %d %v\nb %x flags %d %v", err, a.UUIDs, a.Flags, a.Role, b.UUIDs, b.Flags, b.Role)
		}
	})
}

var (
	disks    = []drbd.DiskState{drbd.DInconsistent, drbd.DOutdated, drbd.DConsistent, drbd.DUpToDate}
	policies = func() []drbd.AfterSBPolicy {
		var p []drbd.AfterSBPolicy
		for v := drbd.ASBDisconnect; v <= drbd.ASBViolently; v++ {
			p = append(p, v)
		}
		return p
	}()
)

// TestPropertyHandshakeComplementary: the two nodes' handshakes fit: one
// WFBitMapS and the other WFBitMapT with the same kind of resync, both
// Connected, or the connection dropped (by either, hence by both).
func TestPropertyHandshakeComplementary(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sides := [2]Side{}
		negDisk := [2]drbd.DiskState{}
		for i, name := range []string{"a", "b"} {
			s := Side{UUIDs: drawSet(t, name), Role: rapid.SampledFrom(roles).Draw(t, name+"role")}
			s.Disk = rapid.SampledFrom(disks).Draw(t, name+"disk")
			if rapid.IntRange(0, 5).Draw(t, name+"negotiating") == 0 {
				negDisk[i], s.Disk = s.Disk, drbd.DNegotiating
			}
			s.Bits = uint64(rapid.IntRange(0, 3).Draw(t, name+"bits"))
			// discard-my-data is refused on a primary (ERR_DISCARD_IMPOSSIBLE).
			discard := rapid.Bool().Draw(t, name+"discard") && s.Role != drbd.RPrimary
			s.Flags = UUIDFlags(discard, rapid.Bool().Draw(t, name+"crashed"), negDisk[i], false)
			sides[i] = s
		}
		if crossed(sides[0].UUIDs, sides[1].UUIDs) || bothZero(sides[0].UUIDs, sides[1].UUIDs) {
			t.Skip("outside the kernel's symmetry")
		}
		if sides[0].Flags&sides[1].Flags&FlagDiscardMyData != 0 {
			t.Skip("both discard-my-data: refused by receive_protocol")
		}
		n := drawNegotiated(t)
		cfg := HandshakeInput{
			AfterSB0p:  rapid.SampledFrom(policies).Draw(t, "sb0"),
			AfterSB1p:  rapid.SampledFrom(policies).Draw(t, "sb1"),
			AfterSB2p:  rapid.SampledFrom(policies).Draw(t, "sb2"),
			AlwaysASBP: rapid.Bool().Draw(t, "always"),
			RRConflict: rapid.SampledFrom(policies).Draw(t, "rr"),
		}
		tentative := rapid.IntRange(0, 9).Draw(t, "tentative") == 0
		in := func(i int) HandshakeInput {
			x := cfg
			x.Self, x.Peer = sides[i], sides[1-i]
			x.NegotiatingDisk = negDisk[i]
			x.Peer.Disk = RealPeerDisk(x.Peer.Disk, x.Peer.Flags)
			x.Negotiated = n
			x.ResolveConflicts = i == 0
			x.CanDemote = rapid.Bool().Draw(t, "canDemote")
			if i == 1 {
				x.AfterSB0p, x.AfterSB1p, x.AfterSB2p = ConvertAfterSB(x.AfterSB0p), ConvertAfterSB(x.AfterSB1p), ConvertAfterSB(x.AfterSB2p)
			}
			// a connects tentatively; b sees CF_DRY_RUN.
			x.Tentative = tentative && i == 0
			x.DryRun = tentative && i == 1
			return x
		}
		ra, rb := SyncHandshake(in(0)), SyncHandshake(in(1))
		if err := checkPair(ra, rb); err != nil {
			t.Fatalf("%v\na: %q\nb: %q", err, texts(ra.Log), texts(rb.Log))
		}
		if tentative && (!ra.Dropped() || !rb.Dropped()) {
			t.Fatalf("a dry run must not connect: %v %v", ra.Conn, rb.Conn)
		}
	})
}

// TestPropertyLife drives the two-node model through random sequences of
// admin actions, writes, crashes and connects with interrupted resyncs;
// every handshake pair must fit, and every completed resync must leave
// equal UUIDs.
func TestPropertyLife(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pol := simPolicy{
			sb0:        rapid.SampledFrom(policies[:7]).Draw(t, "sb0"),
			sb1:        rapid.SampledFrom([]drbd.AfterSBPolicy{drbd.ASBDisconnect, drbd.ASBConsensus, drbd.ASBViolently, drbd.ASBDiscardSecondary, drbd.ASBCallHelper}).Draw(t, "sb1"),
			sb2:        rapid.SampledFrom([]drbd.AfterSBPolicy{drbd.ASBDisconnect, drbd.ASBViolently, drbd.ASBCallHelper}).Draw(t, "sb2"),
			alwaysASBP: rapid.Bool().Draw(t, "always"),
			rr:         rapid.SampledFrom([]drbd.AfterSBPolicy{drbd.ASBDisconnect, drbd.ASBViolently, drbd.ASBCallHelper}).Draw(t, "rr"),
		}
		s := newSim(pol)
		node := func() *simNode {
			if rapid.Bool().Draw(t, "node") {
				return s.a
			}
			return s.b
		}
		steps := rapid.IntRange(1, 40).Draw(t, "steps")
		for range steps {
			switch rapid.IntRange(0, 10).Draw(t, "op") {
			case 0, 1, 2:
				stage := stageComplete
				if rapid.IntRange(0, 3).Draw(t, "interrupt") == 0 {
					stage = rapid.IntRange(stageBeforeSyncUUID, numStages-1).Draw(t, "stage")
				}
				s.connect(stage)
			case 3:
				s.disconnect()
			case 4:
				s.primary(node(), rapid.Bool().Draw(t, "force"))
			case 5:
				s.secondary(node())
			case 6, 7:
				s.write(node(), rapid.IntRange(0, 63).Draw(t, "block"))
			case 8:
				s.crash(node(), rapid.IntRange(0, 63).Draw(t, "al"))
			case 9:
				n := node()
				// ERR_DISCARD_IMPOSSIBLE: not on a primary.
				n.discard = !n.discard && n.role != drbd.RPrimary
				n.canDemote = rapid.Bool().Draw(t, "canDemote")
			case 10:
				if n := node(); !s.connected && rapid.IntRange(0, 3).Draw(t, "recreate") == 0 {
					s.createMD(n)
				}
			}
			if s.err != nil {
				t.Fatalf("%v (policies %+v)\ntrace:\n%s\na: %s\nb: %s", s.err, pol, strings.Join(s.trace, "\n"),
					strings.Join(texts(s.lastA.Log), "\n   "), strings.Join(texts(s.lastB.Log), "\n   "))
			}
		}
	})
}

// TestCompareAsymmetric records the UUID sets for which the kernel's rules
// are not symmetric, as facts: both nodes then want the same direction.
// Neither shape arises from random UUIDs (TestPropertyLife).
func TestCompareAsymmetric(t *testing.T) {
	for _, tc := range []struct {
		name       string
		a, b       metadata.UUIDSet
		hgA, ruleA int
		hgB, ruleB int
	}{
		{"both current UUIDs zero: both SyncTarget", u(0, 0, 0, 0), u(0, 0, 0, 0), -2, 20, -2, 20},
		{"crossed bitmap UUIDs: both SyncTarget", u(0x100, 0x200, 0, 0), u(0x200, 0x100, 0, 0), -1, 50, -1, 50},
		{"crossed history: both full SyncTarget", u(0x100, 0, 0x200, 0), u(0x200, 0, 0x100, 0), -2, 60, -2, 60},
	} {
		ca := CompareUUIDs(Side{UUIDs: tc.a}, Side{UUIDs: tc.b}, Negotiated{AgreedVersion: 101, ResolveConflicts: true})
		cb := CompareUUIDs(Side{UUIDs: tc.b}, Side{UUIDs: tc.a}, v101)
		if ca.Hg != tc.hgA || ca.Rule != tc.ruleA || cb.Hg != tc.hgB || cb.Rule != tc.ruleB {
			t.Errorf("%s: %d/%d and %d/%d", tc.name, ca.Hg, ca.Rule, cb.Hg, cb.Rule)
		}
		if !bothZero(tc.a, tc.b) && !crossed(tc.a, tc.b) {
			t.Errorf("%s: not excluded from the properties", tc.name)
		}
	}
}

// TestHandshakePriLostAsymmetry pins a kernel asymmetry: split brain with
// one primary, after-sb-1pri call-pri-lost-after-sb, the 0pri policy
// against the primary, the primary unable to become secondary, and
// discard-my-data on the secondary. The primary runs pri-lost-after-sb,
// stays at -100, and the secondary's discard-my-data makes it SyncSource;
// the secondary won by the policy and ignores its own discard-my-data:
// both end in WFBitMapS.
func TestHandshakePriLostAsymmetry(t *testing.T) {
	pri := sbWith(0, 0, 1, 5)
	pri.AfterSB0p, pri.AfterSB1p = drbd.ASBDiscardLeastChg, drbd.ASBCallHelper
	pri.Self.Role = drbd.RPrimary
	pri.Peer.Flags = FlagDiscardMyData
	sec := pri
	sec.Self, sec.Peer = pri.Peer, pri.Self
	sec.Self.Flags, sec.Peer.Flags = FlagDiscardMyData, 0
	sec.ResolveConflicts = true
	rp, rs := SyncHandshake(pri), SyncHandshake(sec)
	if rp.Conn != wfS || rp.SplitBrain != SBManualSolved || !slices.Equal(rp.Helpers(), []string{"initial-split-brain", "pri-lost-after-sb"}) {
		t.Errorf("primary: %v %v %q", rp.Conn, rp.SplitBrain, rp.Helpers())
	}
	if rs.Conn != wfS || rs.SplitBrain != SBAutoSolved {
		t.Errorf("secondary: %v %v", rs.Conn, rs.SplitBrain)
	}
	if err := checkPair(rp, rs); err != nil {
		t.Errorf("checkPair should accept the known asymmetry: %v", err)
	}
}
