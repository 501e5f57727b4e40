package metadata

import (
	"encoding/binary"
	"errors"
	"maps"
	"testing"
)

// alImage builds an activity-log area of stripes x size4k blocks, all
// initialized, then writes the given transactions at their ring position.
func alImage(stripes, size4k uint32, trs ...Transaction) []byte {
	n := stripes * size4k
	al := make([]byte, 0, n*ALTransactionSize)
	for range n {
		al = append(al, InitializedTransaction()...)
	}
	for i := range trs {
		blk := TransactionBlock(trs[i].TrNumber, stripes, size4k)
		trs[i].Put(al[blk*ALTransactionSize:])
	}
	return al
}

// update makes an update transaction with context window start..start+len(ctx)
// and the given slot->extent updates.
func update(tr uint32, ctxSize, start uint16, ctx []uint32, upd ...[2]uint32) Transaction {
	t := Transaction{Magic: MagicAL, TrNumber: tr, Type: ALTrUpdate, ContextSize: ctxSize, ContextStartSlotNr: start, NUpdates: uint16(len(upd))}
	for i := range t.UpdateSlotNr {
		t.UpdateSlotNr[i] = 0xffff
		t.UpdateExtentNr[i] = LCFree
	}
	for i, u := range upd {
		t.UpdateSlotNr[i], t.UpdateExtentNr[i] = uint16(u[0]), u[1]
	}
	for i := range t.Context {
		t.Context[i] = LCFree
	}
	copy(t.Context[:], ctx)
	return t
}

func TestTransactionRoundTrip(t *testing.T) {
	tr := update(7, 3, 0, []uint32{10, 11, 12}, [2]uint32{2, 99})
	tr.Reserved = [4]uint32{1, 2, 3, 4}
	b, _ := tr.MarshalBinary()
	if got := binary.BigEndian.Uint32(b[offTrUpdateExtentNr:]); got != 99 {
		t.Errorf("update_extent_nr[0] at %d = %d", offTrUpdateExtentNr, got)
	}
	if got := binary.BigEndian.Uint32(b[offTrContext+8:]); got != 12 {
		t.Errorf("context[2] = %d", got)
	}
	got, ok, err := DecodeTransaction(b)
	if err != nil || !ok {
		t.Fatalf("decode: ok=%v err=%v", ok, err)
	}
	if got != tr {
		t.Errorf("round trip differs")
	}
	b[100] ^= 1
	if _, ok, _ := DecodeTransaction(b); ok {
		t.Error("corrupt block decoded as valid")
	}
	b[100] ^= 1
	binary.BigEndian.PutUint32(b, MagicAL+1)
	if _, ok, _ := DecodeTransaction(b); ok {
		t.Error("bad magic decoded as valid")
	}
	if _, _, err := DecodeTransaction(b[:100]); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short: %v", err)
	}
}

func TestTransactionBlock(t *testing.T) {
	for _, tc := range []struct{ tr, stripes, size, want uint32 }{
		{0, 1, 8, 0}, {7, 1, 8, 7}, {8, 1, 8, 0}, {13, 1, 8, 5},
		// two stripes of 16: even transactions in stripe 0, odd in stripe 1
		{0, 2, 16, 0}, {1, 2, 16, 16}, {2, 2, 16, 1}, {3, 2, 16, 17}, {31, 2, 16, 31}, {32, 2, 16, 0},
		{4, 3, 8, 9},
	} {
		if got := TransactionBlock(tc.tr, tc.stripes, tc.size); got != tc.want {
			t.Errorf("TransactionBlock(%d, %d, %d) = %d, want %d", tc.tr, tc.stripes, tc.size, got, tc.want)
		}
	}
	l, _ := NewLayout(IndexInternal, 80<<20, 1, 8)
	if got, want := l.TransactionSector(9), l.ALOffset/512+8; got != want {
		t.Errorf("TransactionSector(9) = %d, want %d", got, want)
	}
}

func TestReplayAL(t *testing.T) {
	for _, tc := range []struct {
		name     string
		al       func() []byte
		err      error
		updates  int
		hot      map[uint32]uint32
		hotList  []uint32
		corrupt  int
		warnings int
	}{
		{name: "fresh", al: func() []byte { return alImage(1, 8) }, hot: map[uint32]uint32{}},
		{name: "zeroed", al: func() []byte { return make([]byte, 8*4096) }, err: ErrNoUsableAL, corrupt: 8, hot: map[uint32]uint32{}},
		{name: "first block torn", al: func() []byte {
			a := alImage(1, 8)
			a[5] ^= 0xff
			return a
		}, corrupt: 1, hot: map[uint32]uint32{}},
		{name: "two torn, no update", al: func() []byte {
			a := alImage(1, 8)
			a[5] ^= 0xff
			a[4096*3+5] ^= 0xff
			return a
		}, err: ErrNoValidUpdate, corrupt: 2, hot: map[uint32]uint32{}},
		{name: "one update", al: func() []byte {
			return alImage(1, 8, update(0, 4, 0, []uint32{LCFree, LCFree, LCFree, LCFree}, [2]uint32{1, 42}))
		}, updates: 1, hot: map[uint32]uint32{0: LCFree, 1: 42, 2: LCFree, 3: LCFree}, hotList: []uint32{42}},
		{name: "newer update wins, context replays older state", al: func() []byte {
			return alImage(1, 8,
				update(5, 3, 0, []uint32{7, 8, 9}, [2]uint32{0, 7}),
				update(6, 3, 0, []uint32{7, 8, 9}, [2]uint32{1, 20}))
		}, updates: 2, hot: map[uint32]uint32{0: 7, 1: 20, 2: 9}, hotList: []uint32{7, 9, 20}},
		{name: "ring wrap: tr 7..12 over 8 blocks", al: func() []byte {
			var trs []Transaction
			for tr := uint32(7); tr <= 12; tr++ {
				trs = append(trs, update(tr, 2, 0, []uint32{tr, tr + 100}, [2]uint32{1, tr + 200}))
			}
			return alImage(1, 8, trs...)
		}, updates: 6, hot: map[uint32]uint32{0: 12, 1: 212}, hotList: []uint32{12, 212}},
		{name: "tr number wraps around 2^32", al: func() []byte {
			return alImage(1, 8,
				update(0xffffffff, 1, 0, []uint32{1}, [2]uint32{0, 1}),
				update(0, 1, 0, []uint32{2}, [2]uint32{0, 2}))
		}, updates: 2, hot: map[uint32]uint32{0: 2}, hotList: []uint32{2}},
		{name: "striped 2x16", al: func() []byte {
			return alImage(2, 16,
				update(1, 2, 0, []uint32{5, 6}),
				update(2, 2, 0, []uint32{5, 6}, [2]uint32{1, 66}))
		}, updates: 2, hot: map[uint32]uint32{0: 5, 1: 66}, hotList: []uint32{5, 66}},
		{name: "slot out of range", al: func() []byte {
			return alImage(1, 8, update(1, 0, 65530, []uint32{1, 2, 3, 4, 5}))
		}, updates: 1, hot: map[uint32]uint32{65530: 1, 65531: 2, 65532: 3, 65533: 4}, hotList: []uint32{1, 2, 3, 4}, warnings: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, sz := uint32(1), uint32(8)
			if tc.name == "striped 2x16" {
				st, sz = 2, 16
			}
			r, err := ReplayAL(tc.al(), st, sz)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if r.Updates != tc.updates || r.Corrupt != tc.corrupt || len(r.Warnings) != tc.warnings {
				t.Errorf("updates %d corrupt %d warnings %v", r.Updates, r.Corrupt, r.Warnings)
			}
			if !maps.Equal(r.Hot, tc.hot) {
				t.Errorf("hot = %v, want %v", r.Hot, tc.hot)
			}
			if got := r.HotExtents(); len(got) != len(tc.hotList) || (len(got) > 0 && !equalU32(got, tc.hotList)) {
				t.Errorf("HotExtents = %v, want %v", got, tc.hotList)
			}
		})
	}
}

func equalU32(a, b []uint32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestInitializeAL(t *testing.T) {
	l, _ := NewLayout(IndexInternal, 1<<30, 2, 16)
	m := newMem(1 << 30)
	if err := InitializeAL(m, l); err != nil {
		t.Fatal(err)
	}
	for b := uint64(0); b < 32; b++ {
		tr, ok, _ := DecodeTransaction(m.b[l.ALOffset+b*4096:])
		if !ok || tr.Type != ALTrInitialized {
			t.Fatalf("block %d: ok=%v type=%#x", b, ok, tr.Type)
		}
	}
	if m.b[l.ALOffset-1] != 0 || m.b[l.MDOffset] != 0 {
		t.Error("wrote outside the AL")
	}
}
