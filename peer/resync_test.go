package peer

import (
	"testing"

	"udrbd/metadata"
)

func TestGenSyncUUID(t *testing.T) {
	const jc = metadata.UUIDJustCreated
	for _, tc := range []struct {
		name     string
		in       metadata.UUIDSet
		random   uint64
		want     metadata.UUIDSet
		wantSync uint64
	}{
		{"bitmap UUID bumped, old one into history", u(0x21, 0x11, 0xA, 0xB), 0x77, u(0x21, 0x11+off, 0x11, 0xA), 0x11 + off},
		{"just created bitmap UUID: random", u(0x21, jc, 0, 0), 0x77, u(0x21, 0x77, jc, 0), 0x77},
		{"no bitmap UUID: random, history untouched", u(0x21, 0, 0xA, 0xB), 0x76, u(0x21, 0x76, 0xA, 0xB), 0x76},
	} {
		got, sync := GenSyncUUID(tc.in, tc.random)
		if got != tc.want || sync != tc.wantSync {
			t.Errorf("%s: %x sync %x, want %x %x", tc.name, got, sync, tc.want, tc.wantSync)
		}
	}
}

func TestReceiveSyncUUID(t *testing.T) {
	// The old bitmap UUID is dropped, not retired into the history.
	if got := ReceiveSyncUUID(u(0x10, 0x31, 0xA, 0xB), 0x51, false); got != u(0x50, 0, 0xA, 0xB) {
		t.Errorf("secondary: %x", got)
	}
	if got := ReceiveSyncUUID(u(0x10, 0, 0xA, 0xB), 0x50, true); got != u(0x51, 0, 0xA, 0xB) {
		t.Errorf("primary: %x", got)
	}
}

// TestResyncUUIDRoundTrip walks one bitmap resync through the kernel's
// steps and checks that both nodes end with the same UUIDs, and the lost
// packet cases in between.
func TestResyncUUIDRoundTrip(t *testing.T) {
	const C1, C2, h0, h1 = 0x1000, 0x2000, 0xA00, 0xB00
	// The source wrote while disconnected as primary: C2|1 new, C1|1 in the
	// bitmap slot; the target stayed at C1.
	src := u(C2|1, C1|1, h0, h1)
	tgt := u(C1, 0, h0, h1)
	tgtView := src // what the target knows of the source from P_UUIDS

	src2, sync := GenSyncUUID(src, 0)
	if src2 != u(C2|1, C1|1+off, C1|1, h0) || sync != C1|1+off {
		t.Fatalf("source after bump %x sync %x", src2, sync)
	}
	// P_SYNC_UUID lost, reconnect: rule 71 on the source, 51 on the target,
	// both undo the bump back to the pre-resync picture.
	a := CompareUUIDs(Side{UUIDs: src2}, Side{UUIDs: tgt}, v101)
	b := CompareUUIDs(Side{UUIDs: tgt}, Side{UUIDs: src2}, v101)
	if a.Rule != 71 || a.Hg != 1 || b.Rule != 51 || b.Hg != -1 || a.Self != b.Peer || a.Self != u(C2|1, C1|1, h0, h0) {
		t.Errorf("lost sync UUID: source %d/%d %x, target %d/%d %x", a.Hg, a.Rule, a.Self, b.Hg, b.Rule, b.Peer)
	}

	tgt2 := ReceiveSyncUUID(tgt, sync, false)
	if tgt2 != u(C1+off, 0, h0, h1) {
		t.Fatalf("target after P_SYNC_UUID %x", tgt2)
	}
	tgt3, tgtView3 := FinishResyncAsTarget(tgt2, tgtView, false)
	src3, srcView3 := FinishResyncAsSource(src2)
	// Equal but for bit 0: the target's sync UUID went through its own
	// current slot (bit 0 by its role).
	if tgt3 != u(C2, 0, C1+off, C1|1) || src3 != u(C2|1, 0, C1|1+off, C1|1) {
		t.Errorf("after resync: target %x source %x", tgt3, src3)
	}
	if tgtView3 != tgt3 || srcView3 != src3 {
		t.Errorf("views not updated")
	}
	if c := CompareUUIDs(Side{UUIDs: src3}, Side{UUIDs: tgt3}, v101); c.Hg != 0 || c.Rule != 40 {
		t.Errorf("after resync: %d by rule %d", c.Hg, c.Rule)
	}

	// The source missed the resync-finished event: rule 34 on the source,
	// 35 on the target.
	a = CompareUUIDs(Side{UUIDs: src2}, Side{UUIDs: tgt3}, v101)
	b = CompareUUIDs(Side{UUIDs: tgt3}, Side{UUIDs: src2}, v101)
	if a.Rule != 34 || a.Hg != 1 || b.Rule != 35 || b.Hg != -1 || a.Self != src3 || b.Peer != src3 {
		t.Errorf("source missed finish: %d/%d %x, %d/%d %x", a.Hg, a.Rule, a.Self, b.Hg, b.Rule, b.Peer)
	}
}

func TestSkipInitialSync(t *testing.T) {
	jc := u(metadata.UUIDJustCreated, 0, 0, 0)
	for _, tc := range []struct {
		name      string
		connected bool
		version   int
		u         metadata.UUIDSet
		flags     uint64
		want      bool
	}{
		{"accepted", true, 90, jc, FlagSkipInitialSync, true},
		{"not connected", false, 101, jc, FlagSkipInitialSync, false},
		{"protocol 89", true, 89, jc, FlagSkipInitialSync, false},
		{"not just created", true, 101, u(0x40, 0, 0, 0), FlagSkipInitialSync, false},
		{"just created with bit 0 is not just created", true, 101, u(metadata.UUIDJustCreated|1, 0, 0, 0), FlagSkipInitialSync, false},
		{"flag not sent", true, 101, jc, FlagDiscardMyData | FlagCrashedPrimary | FlagInconsistent, false},
	} {
		if got := SkipInitialSync(tc.connected, tc.version, tc.u, tc.flags); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
	if got := AcceptPeerCurrent(u(metadata.UUIDJustCreated, 0x30, 0, 0), 0x81, false); got != u(0x80, 0, 0, 0) {
		t.Errorf("AcceptPeerCurrent: %x", got)
	}
}
