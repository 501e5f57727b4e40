package metadata

import (
	"testing"

	"pgregory.net/rapid"
)

// Writing the kernel's update transactions into the on-disk ring and
// replaying them as drbdmeta apply-al does recovers the active set, for any
// sequence of updates, any al-extents (large ones need several context
// windows) and any striping, as long as the ring holds enough transactions
// to cover a full context cycle (the kernel's design assumption).
func TestALRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		stripes := rapid.Uint32Range(1, 4).Draw(t, "stripes")
		size4k := rapid.Uint32Range(max(1, (8+stripes-1)/stripes), 16).Draw(t, "stripe_size_4k")
		nSlots := rapid.IntRange(1, 4000).Draw(t, "al_extents")
		ring := int(stripes * size4k)
		cycles := (nSlots + ALContextPerTransaction - 1) / ALContextPerTransaction
		if cycles > ring {
			t.Skip("ring too small for a full context cycle")
		}
		nTr := rapid.IntRange(cycles, 40).Draw(t, "transactions")
		tr := rapid.Uint32().Draw(t, "first_tr")
		slots := make([]uint32, nSlots)
		for i := range slots {
			slots[i] = LCFree
		}
		al := make([]byte, 0, ring*ALTransactionSize)
		for range ring {
			al = append(al, InitializedTransaction()...)
		}
		cycle := 0
		for k := 0; k < nTr; k++ {
			n := rapid.IntRange(0, 8).Draw(t, "n_updates")
			var ups []SlotUpdate
			for range n {
				s := uint16(rapid.IntRange(0, nSlots-1).Draw(t, "slot"))
				e := rapid.Uint32Range(0, 1<<20).Draw(t, "extent")
				ups = append(ups, SlotUpdate{s, e})
				slots[s] = e
			}
			x, next, err := UpdateTransaction(tr, slots, ups, cycle)
			if err != nil {
				t.Fatal(err)
			}
			cycle = next
			blk := TransactionBlock(tr, stripes, size4k)
			x.Put(al[blk*ALTransactionSize:])
			tr++
		}
		r, err := ReplayAL(al, stripes, size4k)
		if err != nil {
			t.Fatal(err)
		}
		want := map[uint32]uint32{}
		for i, e := range slots {
			want[uint32(i)] = e
		}
		// slots never covered by a replayed context and never updated stay
		// absent; compare on what replay knows plus require full coverage
		for s, e := range want {
			if got, ok := r.Hot[s]; ok && got != e {
				t.Fatalf("slot %d: replay %d, want %d", s, got, e)
			} else if !ok && e != LCFree {
				t.Fatalf("slot %d (extent %d) lost by replay", s, e)
			}
		}
		for s := range r.Hot {
			if _, ok := want[s]; !ok {
				t.Fatalf("replay invented slot %d", s)
			}
		}
	})
}
