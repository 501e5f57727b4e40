package peer

import (
	"slices"
	"testing"

	"udrbd/drbd"
	"udrbd/metadata"
)

const off = UUIDNewBMOffset

func u(c, b, h0, h1 uint64) metadata.UUIDSet { return metadata.UUIDSet{c, b, h0, h1} }

func ptr(s metadata.UUIDSet) *metadata.UUIDSet { return &s }

var v101 = Negotiated{AgreedVersion: 101, AgreedFeatures: FFTrim | FFThinResync | FFWSame | FFWZeroes}

func ver(v int) Negotiated { n := v101; n.AgreedVersion = v; return n }

func texts(ls []Line) []string {
	var t []string
	for _, l := range ls {
		t = append(t, l.Text)
	}
	return t
}

// TestCompareUUIDsRules has a row for every rule of drbd_uuid_compare
// (drbd_receiver.c), each named after the rule it exercises.
func TestCompareUUIDsRules(t *testing.T) {
	const (
		jc      = metadata.UUIDJustCreated
		crashed = FlagCrashedPrimary
		P       = drbd.RPrimary
		S       = drbd.RSecondary
	)
	X, Y, Z, B, H, A := uint64(0xAAAA0000), uint64(0xBBBB0000), uint64(0xCCCC0000), uint64(0xB1B10000), uint64(0xD0D00000), uint64(0xE0E00000)
	h0, h1 := uint64(0x1110000), uint64(0x2220000)
	type side = Side
	seen := map[int]bool{}
	for _, tc := range []struct {
		name       string
		self, peer Side
		n          Negotiated
		hg, rule   int
		fix        UUIDFix
		self2      *metadata.UUIDSet // after the fix; nil: unchanged
		peer2      *metadata.UUIDSet
		log        []string
	}{
		{name: "rule 10: both just created", self: side{UUIDs: u(jc, 0, 0, 0)}, peer: side{UUIDs: u(jc, 0, 0, 0)}, hg: 0, rule: 10},
		{name: "rule 10: bit 0 masked", self: side{UUIDs: u(jc|1, 0, 0, 0)}, peer: side{UUIDs: u(jc, 0, 0, 0)}, hg: 0, rule: 10},
		{name: "rule 20: self just created", self: side{UUIDs: u(jc, 0, 0, 0)}, peer: side{UUIDs: u(X, 0, 0, 0)}, hg: -2, rule: 20},
		{name: "rule 20: self current 0", self: side{UUIDs: u(0, 0, 0, 0)}, peer: side{UUIDs: u(X, jc, 0, 0)}, hg: -2, rule: 20},
		{name: "rule 20: both current 0 (both ask to be target)", self: side{UUIDs: u(0, 0, 0, 0)}, peer: side{UUIDs: u(0, 0, 0, 0)}, hg: -2, rule: 20},
		{name: "rule 30: peer just created", self: side{UUIDs: u(X|1, jc, 0, 0)}, peer: side{UUIDs: u(jc, 0, 0, 0)}, hg: 2, rule: 30},
		{name: "rule 30: peer current 0", self: side{UUIDs: u(X, 0, 0, 0)}, peer: side{UUIDs: u(0, 0, 0, 0)}, hg: 2, rule: 30},
		{name: "rule 30: self 0, peer just created", self: side{UUIDs: u(0, 0, 0, 0)}, peer: side{UUIDs: u(jc, 0, 0, 0)}, hg: 2, rule: 30},

		{name: "rule 34: was SyncSource, missed resync finished: corrected myself",
			self: side{UUIDs: u(X|1, B|1, h0, h1), Bits: 7}, peer: side{UUIDs: u(X, 0, B, h0)},
			hg: 1, rule: 34, fix: FixSelfResyncFinished, self2: ptr(u(X|1, 0, B|1, h0)),
			log: []string{"was SyncSource, missed the resync finished event, corrected myself:",
				"self 00000000AAAA0001:0000000000000000:00000000B1B10001:0000000001110000 bits:7 flags:0"}},
		{name: "rule 36: was SyncSource, peer failed to write sync_uuid",
			self: side{UUIDs: u(X, B, h0, h1)}, peer: side{UUIDs: u(X, 0, h0, h1)},
			hg: 1, rule: 36, log: []string{"was SyncSource (peer failed to write sync_uuid)"}},
		{name: "rule 30 reported for -1091: bitmap only here, protocol 90",
			self: side{UUIDs: u(X, B, h0, h1)}, peer: side{UUIDs: u(X, 0, B, h0)}, n: ver(90), hg: -1091, rule: 30},
		{name: "rule 35: was SyncTarget, peer missed resync finished: corrected peer",
			self: side{UUIDs: u(X, 0, B, h0)}, peer: side{UUIDs: u(X|1, B|1, h0, h1), Bits: 3, Flags: 2},
			hg: -1, rule: 35, fix: FixPeerResyncFinished, peer2: ptr(u(X|1, 0, B|1, h0)),
			log: []string{"was SyncTarget, peer missed the resync finished event, corrected peer:",
				"peer 00000000AAAA0001:0000000000000000:00000000B1B10001:0000000001110000 bits:3 flags:2"}},
		{name: "rule 37: was SyncTarget, failed to write sync_uuid",
			self: side{UUIDs: u(X, 0, h0, h1)}, peer: side{UUIDs: u(X, B, h0, h1)},
			hg: -1, rule: 37, log: []string{"was SyncTarget (failed to write sync_uuid)"}},
		{name: "rule 30 reported for -1091: bitmap only there, protocol 90",
			self: side{UUIDs: u(X, 0, h0, h1)}, peer: side{UUIDs: u(X, B, h0, h1)}, n: ver(90), hg: -1091, rule: 30},

		{name: "rule 40: equal, no bitmaps, no crashed primary", self: side{UUIDs: u(X|1, 0, h0, h1), Role: P}, peer: side{UUIDs: u(X, 0, h0, h1)}, hg: 0, rule: 40},
		{name: "rule 40: equal bitmaps too", self: side{UUIDs: u(X, B, h0, h1)}, peer: side{UUIDs: u(X, B|1, h0, h1)}, hg: 0, rule: 40},
		{name: "rule 40: self crashed primary, both secondary", self: side{UUIDs: u(X, 0, h0, h1), Flags: crashed, Role: S}, peer: side{UUIDs: u(X, 0, h0, h1), Role: S}, hg: 1, rule: 40},
		{name: "rule 40: peer crashed primary, both secondary", self: side{UUIDs: u(X, 0, h0, h1), Role: S}, peer: side{UUIDs: u(X, 0, h0, h1), Flags: crashed, Role: S}, hg: -1, rule: 40},
		{name: "rule 40: both crashed, no RESOLVE_CONFLICTS", self: side{UUIDs: u(X, 0, h0, h1), Flags: crashed}, peer: side{UUIDs: u(X, 0, h0, h1), Flags: crashed}, hg: 1, rule: 40},
		{name: "rule 40: both crashed, RESOLVE_CONFLICTS", self: side{UUIDs: u(X, 0, h0, h1), Flags: crashed}, peer: side{UUIDs: u(X, 0, h0, h1), Flags: crashed},
			n: Negotiated{AgreedVersion: 101, AgreedFeatures: FFWSame, ResolveConflicts: true}, hg: -1, rule: 40},
		{name: "rule 40: the peer's discard-my-data flag is not a crash", self: side{UUIDs: u(X, 0, h0, h1)}, peer: side{UUIDs: u(X, 0, h0, h1), Flags: FlagDiscardMyData | FlagInconsistent}, hg: 0, rule: 40},
		{name: "rule 41: crashed peer, self primary now", self: side{UUIDs: u(X|1, 0, h0, h1), Role: P}, peer: side{UUIDs: u(X, 0, h0, h1), Flags: crashed, Role: S}, hg: 1, rule: 41},
		{name: "rule 41: crashed self, peer primary now", self: side{UUIDs: u(X, 0, h0, h1), Flags: crashed, Role: S}, peer: side{UUIDs: u(X|1, 0, h0, h1), Role: P}, hg: -1, rule: 41},
		{name: "rule 41: both primary now", self: side{UUIDs: u(X|1, 0, h0, h1), Flags: crashed, Role: P}, peer: side{UUIDs: u(X|1, 0, h0, h1), Role: P}, hg: -100, rule: 41,
			log: []string{"Equivalent unrotated UUIDs, but both are primary. Can not resolve this."}},
		{name: "rule 41: without DRBD_FF_WSAME", self: side{UUIDs: u(X|1, 0, h0, h1), Flags: crashed, Role: P}, peer: side{UUIDs: u(X, 0, h0, h1), Role: S},
			n: Negotiated{AgreedVersion: 101, AgreedFeatures: FFTrim | FFThinResync}, hg: -0x10465, rule: 41,
			log: []string{"Equivalent unrotated UUIDs, but current primary present."}},

		{name: "rule 50: own current is the peer's bitmap UUID", self: side{UUIDs: u(X, 0, h0, h1)}, peer: side{UUIDs: u(Y|1, X|1, h0, h1)}, hg: -1, rule: 50},
		{name: "rule 51: lost P_SYNC_UUID (protocol 96+), peer corrected",
			self: side{UUIDs: u(X, 0, h0, h1)}, peer: side{UUIDs: u(Y|1, X|1+off, X|1, h0), Bits: 9},
			hg: -1, rule: 51, fix: FixPeerLostSyncUUID, peer2: ptr(u(Y|1, X|1, h0, h0)),
			log: []string{"Lost last syncUUID packet, corrected:",
				"peer 00000000BBBB0001:00000000AAAA0001:0000000001110000:0000000001110000 bits:9 flags:0"}},
		{name: "rule 51: lost P_SYNC_UUID (protocol 95: history test)",
			self: side{UUIDs: u(X, 0, h0, h1)}, peer: side{UUIDs: u(Y, Z, X, h0)}, n: ver(95),
			hg: -1, rule: 51, fix: FixPeerLostSyncUUID, peer2: ptr(u(Y, X, h0, h0)),
			log: []string{"Lost last syncUUID packet, corrected:",
				"peer 00000000BBBB0000:00000000AAAA0000:0000000001110000:0000000001110000 bits:0 flags:0"}},
		{name: "rule 51: -1091 below protocol 91", self: side{UUIDs: u(X, 0, h0, h1)}, peer: side{UUIDs: u(Y, Z, X, h0)}, n: ver(90), hg: -1091, rule: 51},
		{name: "rule 60: own current is the peer's history[0] without a bumped bitmap", self: side{UUIDs: u(X, 0, h0, h1)}, peer: side{UUIDs: u(Y, Z, X, h0)}, hg: -2, rule: 60},
		{name: "rule 60: own current is the peer's history[1]", self: side{UUIDs: u(X, 0, h0, h1)}, peer: side{UUIDs: u(Y, Z, h0, X|1)}, hg: -2, rule: 60},
		{name: "rule 70: own bitmap UUID is the peer's current", self: side{UUIDs: u(X|1, Y|1, h0, h1)}, peer: side{UUIDs: u(Y, 0, h0, h1)}, hg: 1, rule: 70},
		{name: "rule 71: last P_SYNC_UUID did not get through (96+), self corrected",
			self: side{UUIDs: u(X|1, Y|1+off, Y|1, h0), Bits: 5}, peer: side{UUIDs: u(Y, 0, h0, h1)},
			hg: 1, rule: 71, fix: FixSelfLostSyncUUID, self2: ptr(u(X|1, Y|1, h0, h0)),
			log: []string{"Last syncUUID did not get through, corrected:",
				"self 00000000AAAA0001:00000000BBBB0001:0000000001110000:0000000001110000 bits:5 flags:0"}},
		{name: "rule 71: protocol 95 history test",
			self: side{UUIDs: u(X, Z, Y, h0)}, peer: side{UUIDs: u(Y, 0, h0, h1)}, n: ver(95),
			hg: 1, rule: 71, fix: FixSelfLostSyncUUID, self2: ptr(u(X, Y, h0, h0)),
			log: []string{"Last syncUUID did not get through, corrected:",
				"self 00000000AAAA0000:00000000BBBB0000:0000000001110000:0000000001110000 bits:0 flags:0"}},
		{name: "rule 71: -1091 below protocol 91", self: side{UUIDs: u(X, Z, Y, h0)}, peer: side{UUIDs: u(Y, 0, h0, h1)}, n: ver(90), hg: -1091, rule: 71},
		{name: "rule 80: the peer's current is own history[0] without a bumped bitmap", self: side{UUIDs: u(X, Z, Y, h0)}, peer: side{UUIDs: u(Y, 0, h0, h1)}, hg: 2, rule: 80},
		{name: "rule 80: the peer's current is own history[1]", self: side{UUIDs: u(X, 0, h0, Y|1)}, peer: side{UUIDs: u(Y, 0, A, H)}, hg: 2, rule: 80},
		{name: "rule 90: equal bitmap UUIDs: split brain", self: side{UUIDs: u(X|1, B|1, h0, h1)}, peer: side{UUIDs: u(Y|1, B, h0, h1)}, hg: 100, rule: 90},
		{name: "rule 100: a common history UUID: split brain", self: side{UUIDs: u(X, 0, H, A)}, peer: side{UUIDs: u(Y, Z, B, H|1)}, hg: -100, rule: 100},
		{name: "rule 100: zero history slots count as common", self: side{UUIDs: u(X, 0, 0, 0)}, peer: side{UUIDs: u(Y, 0, 0, 0)}, hg: -100, rule: 100},
		{name: "rule 100: unrelated data", self: side{UUIDs: u(X, Z, h0, h1)}, peer: side{UUIDs: u(Y, B, A, H)}, hg: -1000, rule: 100},
	} {
		seen[tc.rule] = true
		t.Run(tc.name, func(t *testing.T) {
			n := tc.n
			if n.AgreedVersion == 0 {
				n = v101
			}
			c := CompareUUIDs(tc.self, tc.peer, n)
			if c.Hg != tc.hg || c.Rule != tc.rule || c.Fix != tc.fix {
				t.Errorf("hg %d rule %d fix %v, want hg %d rule %d fix %v", c.Hg, c.Rule, c.Fix, tc.hg, tc.rule, tc.fix)
			}
			self2, peer2 := tc.self.UUIDs, tc.peer.UUIDs
			if tc.self2 != nil {
				self2 = *tc.self2
			}
			if tc.peer2 != nil {
				peer2 = *tc.peer2
			}
			if c.Self != self2 || c.Peer != peer2 {
				t.Errorf("sets after: self %x peer %x, want %x %x", c.Self, c.Peer, self2, peer2)
			}
			if got := texts(c.Log); !slices.Equal(got, tc.log) {
				t.Errorf("log %q, want %q", got, tc.log)
			}
			if c.Fix.Self() != (tc.self2 != nil) || c.Fix.Peer() != (tc.peer2 != nil) {
				t.Errorf("Fix.Self/Peer = %v/%v", c.Fix.Self(), c.Fix.Peer())
			}
		})
	}
	// Every rule number the kernel reports has a row.
	for _, r := range []int{10, 20, 30, 34, 35, 36, 37, 40, 41, 50, 51, 60, 70, 71, 80, 90, 100} {
		if !seen[r] {
			t.Errorf("no row for rule %d", r)
		}
	}
	if HgNeedsWSame != -0x10465 { // -(0x10000 | 101 | DRBD_FF_WSAME<<8)
		t.Errorf("HgNeedsWSame = %#x", HgNeedsWSame)
	}
}
