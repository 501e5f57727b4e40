package peer

import (
	"slices"
	"strings"
	"testing"

	"udrbd/drbd"
	"udrbd/metadata"
)

// TestLife walks a resource through its life and checks each handshake:
// create-md, initial connect, primary --force and the full sync,
// disconnect and writes, the bitmap resync back, a split brain, its manual
// resolution, and a crashed primary.
func TestLife(t *testing.T) {
	s := newSim(simPolicy{})
	defer func() {
		if t.Failed() {
			t.Log("trace:\n" + strings.Join(s.trace, "\n"))
		}
	}()
	a, b := s.a, s.b
	step := func(name string, wantA, wantB drbd.ConnState, ruleA, ruleB int) {
		t.Helper()
		if s.err != nil {
			t.Fatalf("%s: %v", name, s.err)
		}
		ra, rb := s.lastA, s.lastB
		if ra.Conn != wantA || rb.Conn != wantB || ra.Compare.Rule != ruleA || rb.Compare.Rule != ruleB {
			t.Fatalf("%s: a %v by rule %d, b %v by rule %d; want %v/%d, %v/%d",
				name, ra.Conn, ra.Compare.Rule, rb.Conn, rb.Compare.Rule, wantA, ruleA, wantB, ruleB)
		}
	}
	connect := func() {
		t.Helper()
		if err := s.connect(stageComplete); err != nil {
			t.Fatal(err)
		}
	}
	inSync := func(name string) {
		t.Helper()
		if masked(a.md) != masked(b.md) || a.disk != drbd.DUpToDate || b.disk != drbd.DUpToDate || !s.connected {
			t.Fatalf("%s: not in sync: a %x %v, b %x %v, connected %v", name, a.md, a.disk, b.md, b.disk, s.connected)
		}
	}

	// Both fresh: UUID_JUST_CREATED, Inconsistent. Rule 10: no resync.
	connect()
	step("initial connect", drbd.CConnected, drbd.CConnected, 10, 10)
	if a.disk != drbd.DInconsistent || b.disk != drbd.DInconsistent {
		t.Fatal("fresh disks should stay Inconsistent")
	}

	// primary --force on a: a new current UUID, UpToDate; both handshake
	// again (CONSIDER_RESYNC). Rule 30/20 and the disk states: full sync.
	if !s.primary(a, true) {
		t.Fatal("primary --force refused")
	}
	step("primary --force", drbd.CWFBitMapS, drbd.CWFBitMapT, 30, 20)
	if !s.lastA.FullSync || !s.lastB.FullSync {
		t.Fatal("initial sync must be a full sync")
	}
	if !slices.Contains(texts(s.lastB.Log), "Becoming sync target due to disk states.") {
		t.Errorf("b log %q", texts(s.lastB.Log))
	}
	inSync("after the full sync")
	if a.md[metadata.UIHistoryEnd] != metadata.UUIDJustCreated {
		t.Errorf("the just-created UUID should be in the history: %x", a.md)
	}

	// Disconnect while primary: a starts a new data generation; writes.
	s.disconnect()
	gen := a.md[metadata.UIBitmap]
	if gen&^1 != b.md[metadata.UICurrent]&^1 {
		t.Fatalf("a's bitmap UUID %x should be b's current %x", gen, b.md[metadata.UICurrent])
	}
	s.write(a, 3)
	s.write(a, 9)

	// Reconnect: rule 70 on a, 50 on b: a bitmap-based resync a -> b.
	connect()
	step("reconnect", drbd.CWFBitMapS, drbd.CWFBitMapT, 70, 50)
	if s.lastA.FullSync || s.lastB.FullSync {
		t.Fatal("bitmap resync expected")
	}
	inSync("after the bitmap resync")

	// Split brain: both primary while disconnected, both write.
	s.disconnect()
	s.write(a, 1)
	if !s.primary(b, false) {
		t.Fatal("b primary refused")
	}
	s.write(b, 2)
	s.write(b, 4)
	connect()
	step("split brain, two primaries", drbd.CMask, drbd.CMask, 90, 90)
	for _, r := range []HandshakeResult{s.lastA, s.lastB} {
		if r.SplitBrain != SBUnresolved || !slices.Equal(r.Helpers(), []string{"initial-split-brain", "split-brain"}) ||
			!slices.Contains(texts(r.Log), "Split-Brain detected but unresolved, dropping connection!") {
			t.Fatalf("split brain not reported: %v %q", r.SplitBrain, texts(r.Log))
		}
	}

	// Manual recovery: b gives up, discards its data; one primary left.
	s.secondary(b)
	b.discard = true
	connect()
	step("discard-my-data", drbd.CWFBitMapS, drbd.CWFBitMapT, 90, 90)
	if s.lastA.SplitBrain != SBManualSolved || s.lastB.SplitBrain != SBManualSolved || s.lastA.FullSync {
		t.Fatalf("manual resolution: %v %v", s.lastA.SplitBrain, s.lastB.SplitBrain)
	}
	inSync("after the split brain resync")

	// a crashes as primary while connected; b stays secondary. a comes
	// back with CRASHED_PRIMARY: rule 40 makes it the SyncSource.
	s.crash(a, 7)
	if !a.crashed {
		t.Fatal("crash flag")
	}
	connect()
	step("crashed primary", drbd.CWFBitMapS, drbd.CWFBitMapT, 40, 40)
	inSync("after the crashed-primary resync")
	if a.crashed {
		t.Error("CRASHED_PRIMARY not cleared")
	}

	// A lost P_SYNC_UUID: rules 71 and 51 repair it on the next connect.
	s.primary(a, false)
	s.disconnect()
	s.write(a, 5)
	if err := s.connect(stageLostSyncUUID); err != nil {
		t.Fatal(err)
	}
	connect()
	step("lost P_SYNC_UUID", drbd.CWFBitMapS, drbd.CWFBitMapT, 71, 51)
	if s.lastA.Compare.Fix != FixSelfLostSyncUUID || s.lastB.Compare.Fix != FixPeerLostSyncUUID {
		t.Fatalf("fixes %v %v", s.lastA.Compare.Fix, s.lastB.Compare.Fix)
	}
	inSync("after the repaired resync")

	// The source missed the resync-finished event: rules 34 and 35.
	s.disconnect()
	s.write(a, 6)
	if err := s.connect(stageSourceMissed); err != nil {
		t.Fatal(err)
	}
	connect()
	step("source missed resync finished", drbd.CWFBitMapS, drbd.CWFBitMapT, 34, 35)
	inSync("after the corrected finish")
}
