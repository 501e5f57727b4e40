package peer

import (
	"slices"
	"strings"
	"testing"

	"udrbd/drbd"
	"udrbd/metadata"
)

// UUID sets for the handshake tables. X is the common ancestor; the
// comments give drbd_uuid_compare's verdict for self against peer.
var (
	hX, hY, hZ, hB, hH, hA = uint64(0xAAAA0000), uint64(0xBBBB0000), uint64(0xCCCC0000), uint64(0xB1B10000), uint64(0xD0D00000), uint64(0xE0E00000)
	hh0, hh1               = uint64(0x1110000), uint64(0x2220000)
)

type pair struct{ self, peer metadata.UUIDSet }

var (
	equal     = pair{u(hX, 0, hh0, hh1), u(hX, 0, hh0, hh1)}           // 0, rule 40
	ahead     = pair{u(hY, hX, hh0, hh1), u(hX, 0, hh0, hh1)}          // 1, rule 70
	behind    = pair{u(hX, 0, hh0, hh1), u(hY, hX, hh0, hh1)}          // -1, rule 50
	fullAhead = pair{u(hY, 0, hX, hh0), u(hX, 0, hh0, hh1)}            // 2, rule 80
	fullBehnd = pair{u(hX, 0, hh0, hh1), u(hY, 0, hX, hh0)}            // -2, rule 60
	sb90      = pair{u(hY|1, hX|1, hh0, hh1), u(hZ|1, hX|1, hh0, hh1)} // 100, rule 90
	sb100     = pair{u(hY, 0, hH, hA), u(hZ, 0, hB, hH)}               // -100, rule 100
	unrelated = pair{u(hY, hZ, hh0, hh1), u(hB, hA, hH, hX)}           // -1000
)

func base(p pair) HandshakeInput {
	return HandshakeInput{
		Self:       Side{UUIDs: p.self, Role: drbd.RSecondary, Disk: drbd.DUpToDate},
		Peer:       Side{UUIDs: p.peer, Role: drbd.RSecondary, Disk: drbd.DUpToDate},
		Negotiated: v101,
	}
}

// sbWith is the rule 90 split brain with bit 0 of the bitmap UUIDs
// ("was primary when it rotated") and the bit counts given.
func sbWith(selfPri, peerPri uint64, selfBits, peerBits uint64) HandshakeInput {
	in := base(pair{u(hY, hX|selfPri, hh0, hh1), u(hZ, hX|peerPri, hh0, hh1)})
	in.Self.Bits, in.Peer.Bits = selfBits, peerBits
	return in
}

type hsCase struct {
	name    string
	in      HandshakeInput
	conn    drbd.ConnState
	hg      int
	full    bool
	sb      SplitBrain
	demote  bool
	helpers []string
	log     []string // must appear in this order among the logged lines
}

func runCases(t *testing.T, cases []hsCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := SyncHandshake(tc.in)
			if r.Conn != tc.conn || r.Hg != tc.hg || r.FullSync != tc.full || r.SplitBrain != tc.sb || r.BecomeSecondary != tc.demote {
				t.Errorf("conn %v hg %d full %v sb %v demote %v, want %v %d %v %v %v",
					r.Conn, r.Hg, r.FullSync, r.SplitBrain, r.BecomeSecondary, tc.conn, tc.hg, tc.full, tc.sb, tc.demote)
			}
			if h := r.Helpers(); !slices.Equal(h, tc.helpers) {
				t.Errorf("helpers %q, want %q", h, tc.helpers)
			}
			if r.Dropped() != (tc.conn == drbd.CMask) {
				t.Errorf("Dropped() = %v", r.Dropped())
			}
			got := texts(r.Log)
			i := 0
			for _, l := range got {
				if i < len(tc.log) && l == tc.log[i] {
					i++
				}
			}
			if i < len(tc.log) {
				t.Errorf("log line %q missing (in order) from\n%s", tc.log[i], strings.Join(got, "\n"))
			}
		})
	}
}

func with(in HandshakeInput, f func(*HandshakeInput)) HandshakeInput { f(&in); return in }

const (
	wfS = drbd.CWFBitMapS
	wfT = drbd.CWFBitMapT
	con = drbd.CConnected
	drp = drbd.CMask
)

var unresolvedLog = []string{"Split-Brain detected but unresolved, dropping connection!"}

func TestHandshakeBasics(t *testing.T) {
	runCases(t, []hsCase{
		{name: "no resync", in: base(equal), conn: con, hg: 0, log: []string{"drbd_sync_handshake:", "uuid_compare()=0 by rule 40"}},
		{name: "no resync but bits", in: with(base(equal), func(in *HandshakeInput) { in.Self.Bits = 12 }), conn: con, hg: 0, log: []string{"No resync, but 12 bits in bitmap!"}},
		{name: "bitmap resync as source", in: base(ahead), conn: wfS, hg: 1},
		{name: "bitmap resync as target", in: base(behind), conn: wfT, hg: -1},
		{name: "full resync as source", in: base(fullAhead), conn: wfS, hg: 2, full: true,
			log: []string{"uuid_compare()=2 by rule 80", "Writing the whole bitmap, full sync required after drbd_sync_handshake."}},
		{name: "full resync as target", in: base(fullBehnd), conn: wfT, hg: -2, full: true},
		{name: "unrelated data", in: base(unrelated), conn: drp, hg: -1000, log: []string{"uuid_compare()=-1000 by rule 100", "Unrelated data, aborting!"}},
		{name: "-1091: protocol 91 needed", in: with(base(pair{u(hX, hB, hh0, hh1), u(hX, 0, hB, hh0)}), func(in *HandshakeInput) { in.AgreedVersion = 90 }),
			conn: drp, hg: -1091, log: []string{"uuid_compare()=-1091 by rule 30", "To resolve this both sides have to support at least protocol 91"}},
		{name: "rule 41 without WSAME: protocol and features needed",
			in: with(base(equal), func(in *HandshakeInput) {
				in.AgreedFeatures = FFTrim
				in.Self.Flags = FlagCrashedPrimary
				in.Self.Role = drbd.RPrimary
			}),
			conn: drp, hg: HgNeedsWSame,
			log: []string{"Equivalent unrotated UUIDs, but current primary present.", "uuid_compare()=-66661 by rule 41",
				"To resolve this both sides have to support at least protocol 101 and feature flags 0x4"}},
		{name: "rule 41 both primary is a split brain", in: with(base(equal), func(in *HandshakeInput) {
			in.Self.Flags = FlagCrashedPrimary
			in.Self.Role, in.Peer.Role = drbd.RPrimary, drbd.RPrimary
		}), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{"initial-split-brain", "split-brain"}},
		{name: "lost P_SYNC_UUID corrected, peer set fixed", in: base(pair{u(hX, 0, hh0, hh1), u(hY|1, hX|1+off, hX|1, hh0)}), conn: wfT, hg: -1,
			log: []string{"Lost last syncUUID packet, corrected:", "uuid_compare()=-1 by rule 51"}},
	})
}

func TestHandshakeDiskStates(t *testing.T) {
	disks := func(p pair, self, peer drbd.DiskState) HandshakeInput {
		return with(base(p), func(in *HandshakeInput) { in.Self.Disk, in.Peer.Disk = self, peer })
	}
	const (
		inc = drbd.DInconsistent
		utd = drbd.DUpToDate
		out = drbd.DOutdated
	)
	runCases(t, []hsCase{
		{name: "inconsistent self becomes target over rule 70", in: disks(ahead, inc, utd), conn: wfT, hg: -1,
			log: []string{"uuid_compare()=1 by rule 70", "Becoming sync target due to disk states."}},
		{name: "inconsistent peer: source over rule 50", in: disks(behind, utd, inc), conn: wfS, hg: 1, log: []string{"Becoming sync source due to disk states."}},
		{name: "equal UUIDs, inconsistent self: bitmap resync", in: disks(equal, inc, utd), conn: wfT, hg: -1},
		{name: "full stays full", in: disks(fullAhead, inc, utd), conn: wfT, hg: -2, full: true},
		{name: "split brain -100 becomes a full sync", in: disks(sb100, utd, inc), conn: wfS, hg: 2, full: true},
		{name: "split brain 100 becomes a bitmap sync", in: disks(sb90, inc, out), conn: wfT, hg: -1},
		{name: "outdated is better than inconsistent", in: disks(equal, out, inc), conn: wfS, hg: 1},
		{name: "both inconsistent: no override, source refuses", in: disks(ahead, inc, inc), conn: drp, hg: 1,
			log: []string{"I shall become SyncSource, but I am inconsistent!"}},
		{name: "both inconsistent, target is fine", in: disks(behind, inc, inc), conn: wfT, hg: -1},
		{name: "both just created: connected", in: disks(pair{u(4, 0, 0, 0), u(4, 0, 0, 0)}, inc, inc), conn: con, hg: 0},
		{name: "late attach: negotiating disk counts as its target state", in: with(disks(ahead, drbd.DNegotiating, utd), func(in *HandshakeInput) {
			in.NegotiatingDisk = inc
		}), conn: wfT, hg: -1},
		{name: "peer negotiating towards inconsistent", in: disks(behind, utd, RealPeerDisk(drbd.DNegotiating, FlagInconsistent)), conn: wfS, hg: 1},
	})
}

func TestAfterSB0pri(t *testing.T) {
	pol := func(p drbd.AfterSBPolicy, in HandshakeInput) HandshakeInput {
		in.AfterSB0p = p
		return in
	}
	rc := func(in HandshakeInput) HandshakeInput { in.ResolveConflicts = true; return in }
	auto := func(n int, from string) []string {
		return []string{"Split-Brain detected, " + string(rune('0'+n)) + " primaries, automatically solved. Sync from " + from + " node"}
	}
	isb, sbh := "initial-split-brain", "split-brain"
	noDecision := "Discard younger/older primary did not find a decision\nUsing discard-least-changes instead"
	runCases(t, []hsCase{
		{name: "disconnect", in: pol(drbd.ASBDisconnect, sbWith(0, 0, 1, 1)), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}, log: unresolvedLog},
		{name: "discard-younger-primary: peer younger", in: pol(drbd.ASBDiscardYoungerPri, sbWith(1, 0, 1, 9)), conn: wfS, hg: 1, sb: SBAutoSolved, helpers: []string{isb}, log: auto(0, "this")},
		{name: "discard-younger-primary: self younger", in: pol(drbd.ASBDiscardYoungerPri, sbWith(0, 1, 9, 1)), conn: wfT, hg: -1, sb: SBAutoSolved, helpers: []string{isb}, log: auto(0, "peer")},
		{name: "discard-younger-primary: undecided, falls to least changes", in: pol(drbd.ASBDiscardYoungerPri, sbWith(1, 1, 3, 5)), conn: wfT, hg: -1, sb: SBAutoSolved, helpers: []string{isb}, log: []string{noDecision}},
		{name: "discard-younger-primary: undecided, zero changes first", in: pol(drbd.ASBDiscardYoungerPri, sbWith(0, 0, 5, 0)), conn: wfS, hg: 1, sb: SBAutoSolved, helpers: []string{isb}, log: []string{noDecision}},
		{name: "discard-older-primary: self older", in: pol(drbd.ASBDiscardOlderPri, sbWith(1, 0, 1, 9)), conn: wfT, hg: -1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "discard-older-primary: peer older", in: pol(drbd.ASBDiscardOlderPri, sbWith(0, 1, 1, 9)), conn: wfS, hg: 1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "discard-older-primary: undecided, equal changes, no RESOLVE_CONFLICTS", in: pol(drbd.ASBDiscardOlderPri, sbWith(0, 0, 4, 4)), conn: wfS, hg: 1, sb: SBAutoSolved, helpers: []string{isb}, log: []string{noDecision}},
		{name: "discard-zero-changes: self unchanged", in: pol(drbd.ASBDiscardZeroChg, sbWith(0, 0, 0, 5)), conn: wfT, hg: -1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "discard-zero-changes: peer unchanged", in: pol(drbd.ASBDiscardZeroChg, sbWith(0, 0, 5, 0)), conn: wfS, hg: 1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "discard-zero-changes: none changed, no RESOLVE_CONFLICTS", in: pol(drbd.ASBDiscardZeroChg, sbWith(0, 0, 0, 0)), conn: wfS, hg: 1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "discard-zero-changes: none changed, RESOLVE_CONFLICTS", in: rc(pol(drbd.ASBDiscardZeroChg, sbWith(0, 0, 0, 0))), conn: wfT, hg: -1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "discard-zero-changes: both changed", in: pol(drbd.ASBDiscardZeroChg, sbWith(0, 0, 5, 6)), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}},
		{name: "discard-least-changes: self fewer", in: pol(drbd.ASBDiscardLeastChg, sbWith(1, 0, 3, 5)), conn: wfT, hg: -1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "discard-least-changes: peer fewer", in: pol(drbd.ASBDiscardLeastChg, sbWith(0, 1, 5, 3)), conn: wfS, hg: 1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "discard-least-changes: tie, RESOLVE_CONFLICTS", in: rc(pol(drbd.ASBDiscardLeastChg, sbWith(0, 0, 4, 4))), conn: wfT, hg: -1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "discard-least-changes: zero beats any", in: pol(drbd.ASBDiscardLeastChg, sbWith(0, 0, 0, 4)), conn: wfT, hg: -1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "discard-local", in: pol(drbd.ASBDiscardLocal, sbWith(0, 0, 0, 9)), conn: wfT, hg: -1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "discard-remote", in: pol(drbd.ASBDiscardRemote, sbWith(0, 0, 9, 0)), conn: wfS, hg: 1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "consensus is a configuration error", in: pol(drbd.ASBConsensus, sbWith(0, 0, 1, 2)), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}, log: []string{"Configuration error."}},
		{name: "discard-secondary is a configuration error", in: pol(drbd.ASBDiscardSecondary, sbWith(0, 0, 1, 2)), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}, log: []string{"Configuration error."}},
		{name: "call-helper is a configuration error", in: pol(drbd.ASBCallHelper, sbWith(0, 0, 1, 2)), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}, log: []string{"Configuration error."}},
		{name: "violently is a configuration error", in: pol(drbd.ASBViolently, sbWith(0, 0, 1, 2)), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}, log: []string{"Configuration error."}},
		{name: "always-asbp: rule 100 solved by a policy is a full sync", in: with(pol(drbd.ASBDiscardLocal, base(sb100)), func(in *HandshakeInput) { in.AlwaysASBP = true }),
			conn: wfT, hg: -2, full: true, sb: SBAutoSolved, helpers: []string{isb},
			log: []string{"Split-Brain detected, 0 primaries, automatically solved. Sync from peer node", "Doing a full sync, since UUIDs where ambiguous."}},
		{name: "without always-asbp rule 100 stays unresolved", in: pol(drbd.ASBDiscardLocal, base(sb100)), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}},
	})
}

func TestAfterSB1pri(t *testing.T) {
	// Self primary (1) or secondary (0); 0pri policy discard-least-changes
	// with the bit counts given decides where the 1pri policy defers to it.
	one := func(p drbd.AfterSBPolicy, selfPrimary bool, selfBits, peerBits uint64) HandshakeInput {
		in := sbWith(0, 0, selfBits, peerBits)
		in.AfterSB0p, in.AfterSB1p = drbd.ASBDiscardLeastChg, p
		if selfPrimary {
			in.Self.Role = drbd.RPrimary
		} else {
			in.Peer.Role = drbd.RPrimary
		}
		return in
	}
	isb, sbh := "initial-split-brain", "split-brain"
	canDemote := func(in HandshakeInput) HandshakeInput { in.CanDemote = true; return in }
	violent := func(in HandshakeInput) HandshakeInput { in.RRConflict = drbd.ASBViolently; return in }
	runCases(t, []hsCase{
		{name: "disconnect", in: one(drbd.ASBDisconnect, true, 1, 2), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}},
		{name: "consensus: secondary loses", in: one(drbd.ASBConsensus, false, 1, 5), conn: wfT, hg: -1, sb: SBAutoSolved, helpers: []string{isb},
			log: []string{"Split-Brain detected, 1 primaries, automatically solved. Sync from peer node"}},
		{name: "consensus: primary wins", in: one(drbd.ASBConsensus, true, 5, 1), conn: wfS, hg: 1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "consensus: primary would lose: no decision", in: one(drbd.ASBConsensus, true, 1, 5), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}},
		{name: "consensus: secondary would win: no decision", in: one(drbd.ASBConsensus, false, 5, 1), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}},
		{name: "violently-as0p: primary loses, rr-conflict disconnect", in: one(drbd.ASBViolently, true, 1, 5), conn: drp, hg: -1, sb: SBAutoSolved, helpers: []string{isb},
			log: []string{"I shall become SyncTarget, but I am primary!"}},
		{name: "violently-as0p: primary loses, rr-conflict violently", in: violent(one(drbd.ASBViolently, true, 1, 5)), conn: wfT, hg: -1, sb: SBAutoSolved, helpers: []string{isb},
			log: []string{"Becoming SyncTarget, violating the stable-dataassumption"}},
		{name: "violently-as0p: secondary wins", in: one(drbd.ASBViolently, false, 5, 1), conn: wfS, hg: 1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "discard-secondary as primary", in: one(drbd.ASBDiscardSecondary, true, 0, 9), conn: wfS, hg: 1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "discard-secondary as secondary", in: one(drbd.ASBDiscardSecondary, false, 9, 0), conn: wfT, hg: -1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "call-pri-lost-after-sb: primary loses and gives up", in: canDemote(one(drbd.ASBCallHelper, true, 1, 5)), conn: wfT, hg: -1, sb: SBAutoSolved, demote: true, helpers: []string{isb},
			log: []string{"Successfully gave up primary role.", "Split-Brain detected, 1 primaries, automatically solved. Sync from peer node"}},
		{name: "call-pri-lost-after-sb: primary loses, cannot demote", in: one(drbd.ASBCallHelper, true, 1, 5), conn: drp, hg: -100, sb: SBUnresolved,
			helpers: []string{isb, "pri-lost-after-sb", sbh}, log: unresolvedLog},
		{name: "call-pri-lost-after-sb: primary wins", in: one(drbd.ASBCallHelper, true, 5, 1), conn: wfS, hg: 1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "call-pri-lost-after-sb: secondary loses", in: one(drbd.ASBCallHelper, false, 1, 5), conn: wfT, hg: -1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "discard-local is a configuration error", in: one(drbd.ASBDiscardLocal, true, 1, 5), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}, log: []string{"Configuration error."}},
		{name: "discard-zero-changes is a configuration error", in: one(drbd.ASBDiscardZeroChg, false, 1, 5), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}, log: []string{"Configuration error."}},
		{name: "consensus with a bad 0pri policy", in: with(one(drbd.ASBConsensus, false, 1, 5), func(in *HandshakeInput) { in.AfterSB0p = drbd.ASBConsensus }),
			conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}, log: []string{"Configuration error."}},
	})
}

func TestAfterSB2pri(t *testing.T) {
	two := func(p drbd.AfterSBPolicy, selfBits, peerBits uint64) HandshakeInput {
		in := sbWith(1, 1, selfBits, peerBits)
		in.AfterSB0p, in.AfterSB2p = drbd.ASBDiscardLeastChg, p
		in.Self.Role, in.Peer.Role = drbd.RPrimary, drbd.RPrimary
		return in
	}
	isb, sbh := "initial-split-brain", "split-brain"
	runCases(t, []hsCase{
		{name: "disconnect", in: two(drbd.ASBDisconnect, 1, 2), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}, log: unresolvedLog},
		{name: "violently-as0p: loser is primary, rr-conflict decides", in: two(drbd.ASBViolently, 1, 2), conn: drp, hg: -1, sb: SBAutoSolved, helpers: []string{isb},
			log: []string{"Split-Brain detected, 2 primaries, automatically solved. Sync from peer node", "I shall become SyncTarget, but I am primary!"}},
		{name: "violently-as0p: winner", in: two(drbd.ASBViolently, 2, 1), conn: wfS, hg: 1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "call-pri-lost-after-sb: loser gives up", in: with(two(drbd.ASBCallHelper, 1, 2), func(in *HandshakeInput) { in.CanDemote = true }),
			conn: wfT, hg: -1, sb: SBAutoSolved, demote: true, helpers: []string{isb}, log: []string{"Successfully gave up primary role."}},
		{name: "call-pri-lost-after-sb: loser cannot demote", in: two(drbd.ASBCallHelper, 1, 2), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, "pri-lost-after-sb", sbh}},
		{name: "call-pri-lost-after-sb: winner", in: two(drbd.ASBCallHelper, 2, 1), conn: wfS, hg: 1, sb: SBAutoSolved, helpers: []string{isb}},
		{name: "consensus is a configuration error", in: two(drbd.ASBConsensus, 1, 2), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}, log: []string{"Configuration error."}},
		{name: "discard-secondary is a configuration error", in: two(drbd.ASBDiscardSecondary, 1, 2), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}, log: []string{"Configuration error."}},
		{name: "discard-younger-primary is a configuration error", in: two(drbd.ASBDiscardYoungerPri, 1, 2), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}, log: []string{"Configuration error."}},
	})
}

func TestDiscardMyData(t *testing.T) {
	dmd := func(p pair, own, theirs bool) HandshakeInput {
		in := base(p)
		if own {
			in.Self.Flags |= FlagDiscardMyData
		}
		if theirs {
			in.Peer.Flags |= FlagDiscardMyData
		}
		return in
	}
	isb, sbh := "initial-split-brain", "split-brain"
	runCases(t, []hsCase{
		{name: "own discard-my-data", in: dmd(sb90, true, false), conn: wfT, hg: -1, sb: SBManualSolved, helpers: []string{isb},
			log: []string{"Split-Brain detected, manually solved. Sync from peer node"}},
		{name: "peer's discard-my-data", in: dmd(sb90, false, true), conn: wfS, hg: 1, sb: SBManualSolved, helpers: []string{isb},
			log: []string{"Split-Brain detected, manually solved. Sync from this node"}},
		{name: "both discard-my-data: unresolved", in: dmd(sb90, true, true), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}},
		{name: "neither", in: dmd(sb90, false, false), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{isb, sbh}},
		{name: "rule 100 solved manually is a bitmap resync", in: dmd(sb100, true, false), conn: wfT, hg: -1, sb: SBManualSolved, helpers: []string{isb}},
		{name: "discard-my-data without split brain changes nothing", in: dmd(ahead, true, false), conn: wfS, hg: 1},
		{name: "after a failed auto recovery", in: with(dmd(sb90, false, true), func(in *HandshakeInput) { in.AfterSB0p = drbd.ASBDiscardZeroChg; in.Self.Bits, in.Peer.Bits = 1, 1 }),
			conn: wfS, hg: 1, sb: SBManualSolved, helpers: []string{isb}},
		{name: "primary discarding its own data meets rr-conflict", in: with(dmd(sb90, true, false), func(in *HandshakeInput) { in.Self.Role = drbd.RPrimary }),
			conn: drp, hg: -1, sb: SBManualSolved, helpers: []string{isb}, log: []string{"I shall become SyncTarget, but I am primary!"}},
	})
}

func TestRRConflict(t *testing.T) {
	rr := func(p drbd.AfterSBPolicy) HandshakeInput {
		in := base(behind)
		in.Self.Role = drbd.RPrimary
		in.RRConflict = p
		return in
	}
	runCases(t, []hsCase{
		{name: "disconnect", in: rr(drbd.ASBDisconnect), conn: drp, hg: -1, log: []string{"I shall become SyncTarget, but I am primary!"}},
		{name: "call-pri-lost", in: rr(drbd.ASBCallHelper), conn: drp, hg: -1, helpers: []string{"pri-lost"}, log: []string{"I shall become SyncTarget, but I am primary!"}},
		{name: "violently", in: rr(drbd.ASBViolently), conn: wfT, hg: -1, log: []string{"Becoming SyncTarget, violating the stable-dataassumption"}},
		{name: "other value: no check", in: rr(drbd.ASBConsensus), conn: wfT, hg: -1},
		{name: "primary with an inconsistent disk is not asked", in: with(rr(drbd.ASBDisconnect), func(in *HandshakeInput) { in.Self.Disk = drbd.DInconsistent }), conn: wfT, hg: -1},
		{name: "the state disk counts, not the negotiated one", in: with(rr(drbd.ASBDisconnect), func(in *HandshakeInput) {
			in.Self.Disk, in.NegotiatingDisk = drbd.DNegotiating, drbd.DUpToDate
		}), conn: wfT, hg: -1},
		{name: "secondary is not asked", in: with(rr(drbd.ASBDisconnect), func(in *HandshakeInput) { in.Self.Role = drbd.RSecondary }), conn: wfT, hg: -1},
		{name: "full sync target too", in: with(rr(drbd.ASBDisconnect), func(in *HandshakeInput) { in.Self.UUIDs, in.Peer.UUIDs = fullBehnd.self, fullBehnd.peer }), conn: drp, hg: -2},
	})
}

func TestDryRun(t *testing.T) {
	tent := func(p pair, tentative bool) HandshakeInput {
		in := base(p)
		in.Tentative, in.DryRun = tentative, !tentative
		return in
	}
	runCases(t, []hsCase{
		{name: "tentative, no resync", in: tent(equal, true), conn: drp, hg: 0, log: []string{"dry-run connect: No resync, would become Connected immediately."}},
		{name: "peer's dry run, full resync", in: tent(fullAhead, false), conn: drp, hg: 2, log: []string{"dry-run connect: Would become SyncSource, doing a full resync."}},
		{name: "tentative, bitmap resync as target", in: tent(behind, true), conn: drp, hg: -1, log: []string{"dry-run connect: Would become SyncTarget, doing a bit-map based resync."}},
		{name: "dry run after a split brain still drops with the helper", in: tent(sb90, true), conn: drp, hg: -100, sb: SBUnresolved, helpers: []string{"initial-split-brain", "split-brain"}},
	})
}

// TestHandshakeFullLog pins one whole log: an auto-solved split brain.
func TestHandshakeFullLog(t *testing.T) {
	in := sbWith(1, 0, 3, 8)
	in.AfterSB0p = drbd.ASBDiscardYoungerPri
	r := SyncHandshake(in)
	want := []Line{
		{LevelInfo, "drbd_sync_handshake:"},
		{LevelInfo, "self 00000000BBBB0000:00000000AAAA0001:0000000001110000:0000000002220000 bits:3 flags:0"},
		{LevelInfo, "peer 00000000CCCC0000:00000000AAAA0000:0000000001110000:0000000002220000 bits:8 flags:0"},
		{LevelInfo, "uuid_compare()=100 by rule 90"},
		{LevelHelper, "initial-split-brain"},
		{LevelWarn, "Split-Brain detected, 0 primaries, automatically solved. Sync from this node"},
	}
	if !slices.Equal(r.Log, want) {
		t.Errorf("log\n%v\nwant\n%v", r.Log, want)
	}
	if r.Conn != wfS {
		t.Errorf("conn %v", r.Conn)
	}
}

func TestSmallHelpers(t *testing.T) {
	if f := UUIDFlags(true, true, drbd.DInconsistent, true); f != 15 {
		t.Errorf("UUIDFlags all = %d", f)
	}
	if f := UUIDFlags(false, false, drbd.DUpToDate, false); f != 0 {
		t.Errorf("UUIDFlags none = %d", f)
	}
	for _, tc := range []struct {
		d    drbd.DiskState
		f    uint64
		want drbd.DiskState
	}{
		{drbd.DNegotiating, FlagInconsistent, drbd.DInconsistent},
		{drbd.DNegotiating, 0, drbd.DConsistent},
		{drbd.DUpToDate, FlagInconsistent, drbd.DUpToDate},
	} {
		if got := RealPeerDisk(tc.d, tc.f); got != tc.want {
			t.Errorf("RealPeerDisk(%v, %d) = %v", tc.d, tc.f, got)
		}
	}
	for p, want := range map[drbd.AfterSBPolicy]drbd.AfterSBPolicy{
		drbd.ASBDiscardLocal: drbd.ASBDiscardRemote, drbd.ASBDiscardRemote: drbd.ASBDiscardLocal,
		drbd.ASBDiscardYoungerPri: drbd.ASBDiscardYoungerPri, drbd.ASBCallHelper: drbd.ASBCallHelper,
	} {
		if got := ConvertAfterSB(p); got != want {
			t.Errorf("ConvertAfterSB(%v) = %v", p, got)
		}
	}
}

func TestStrings(t *testing.T) {
	if s := PrintUUIDs("updated sync UUID", u(0x11, 0x22, 0x33, 0x44)); s != "updated sync UUID 0000000000000011:0000000000000022:0000000000000033:0000000000000044" {
		t.Errorf("PrintUUIDs: %q", s)
	}
	if s := DumpUUIDs("peer", u(1, 2, 3, 4), 5, 0xA); s != "peer 0000000000000001:0000000000000002:0000000000000003:0000000000000004 bits:5 flags:A" {
		t.Errorf("DumpUUIDs: %q", s)
	}
	for _, tc := range []struct{ got, want string }{
		{LevelHelper.String(), "helper"}, {Level(9).String(), "Level(?)"},
		{SBManualSolved.String(), "manually-solved"}, {SplitBrain(9).String(), "SplitBrain(?)"},
		{FixPeerLostSyncUUID.String(), "peer-lost-sync-uuid"}, {UUIDFix(9).String(), "UUIDFix(?)"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
}
