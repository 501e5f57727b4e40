package peer

import (
	"slices"
	"testing"
)

// TestPeerEpochVolumes: an epoch names each volume written in it once, and
// the next epoch starts with none, also when it reuses the slice of one
// before.
func TestPeerEpochVolumes(t *testing.T) {
	var e peerEpoch
	e.init()
	a, b := &PeerDevice{vnr: 0}, &PeerDevice{vnr: 1}
	for round := range 3 {
		e.add(a)
		e.add(b)
		e.add(a)
		if round == 1 {
			e.add(b)
		}
		e.done()
		e.mu.Lock()
		size, vols := e.takeLocked()
		e.mu.Unlock()
		if want := uint32(3 + round%2); size != want {
			t.Errorf("round %d: size %d, want %d", round, size, want)
		}
		if !slices.Equal(vols, []*PeerDevice{a, b}) {
			t.Errorf("round %d: volumes %v, want [a b]", round, vols)
		}
		e.giveBack(vols)
		if len(e.vols) != 0 || e.size != 0 {
			t.Errorf("round %d: next epoch starts with %d volumes, size %d", round, len(e.vols), e.size)
		}
	}
}
