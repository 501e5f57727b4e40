package genl

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// genSet draws a value of the set for t with a random subset of fields.
func genSet(t *rapid.T, tla TLA) Set {
	sp := SpecOf(tla)
	s := NewSet(tla)
	b := bindingOf(s)
	v := reflect.ValueOf(s).Elem()
	pf := v.Field(b.present).Addr().Interface().(*Fields)
	for _, f := range sp.Fields {
		if !rapid.Bool().Draw(t, f.Name+"?") {
			continue
		}
		fv := v.Field(b.index[f.Nr])
		switch f.Kind {
		case KindFlag:
			fv.SetBool(rapid.Bool().Draw(t, f.Name))
		case KindU32:
			fv.SetUint(uint64(rapid.Uint32().Draw(t, f.Name)))
		case KindS32:
			fv.SetInt(int64(rapid.Int32().Draw(t, f.Name)))
		case KindU64:
			fv.SetUint(rapid.Uint64().Draw(t, f.Name))
		case KindStr:
			n := f.MaxLen - 1
			if f.MaxLen == 0 {
				n = 300
			}
			fv.SetString(rapid.StringOfN(rapid.RuneFrom([]rune("abc/-_.01 é")), 0, n/2, n).Draw(t, f.Name))
		case KindBin:
			fv.SetBytes(rapid.SliceOfN(rapid.Byte(), 0, f.MaxLen).Draw(t, f.Name))
		}
		pf.Add(f.Nr)
	}
	return s
}

// TestRoundTrip: any message built from the table encodes, decodes to the
// same values, and re-encodes to the same bytes, in both wire styles and with
// shuffled attribute order.
func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := Message{
			Cmd:      Cmd(rapid.Uint8().Draw(t, "cmd")),
			Version:  1,
			Reserved: rapid.Uint16().Draw(t, "reserved"),
			Minor:    rapid.Uint32().Draw(t, "minor"),
			Flags:    rapid.Uint32().Draw(t, "flags"),
		}
		n := rapid.IntRange(0, 4).Draw(t, "nattrs")
		for i := 0; i < n; i++ {
			sp := rapid.SampledFrom(Sets).Draw(t, "set")
			s := genSet(t, sp.TLA)
			if rapid.Bool().Draw(t, "kernel style") {
				m.Attrs = append(m.Attrs, Kernel(s))
			} else {
				m.Attrs = append(m.Attrs, Tagged(s))
			}
		}
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back Message
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if len(back.Attrs) != len(m.Attrs) {
			t.Fatalf("%d attrs back, want %d", len(back.Attrs), len(m.Attrs))
		}
		for i := range m.Attrs {
			if back.Attrs[i].Err != nil {
				t.Fatalf("attr %d: %v", i, back.Attrs[i].Err)
			}
			if d := cmp.Diff(m.Attrs[i].Set, back.Attrs[i].Set, cmpSets); d != "" {
				t.Fatalf("attr %d (-sent +decoded)\n%s", i, d)
			}
		}
		again, err := back.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encode differs:\n%x\n%x", b, again)
		}
		// a permuted layout is honoured and survives another round trip
		for i := range back.Attrs {
			l := back.Attrs[i].Layout
			for j := len(l) - 1; j > 0; j-- {
				k := rapid.IntRange(0, j).Draw(t, "swap")
				l[j], l[k] = l[k], l[j]
			}
		}
		shuffled, err := back.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back2 Message
		if err := back2.UnmarshalBinary(shuffled); err != nil {
			t.Fatal(err)
		}
		for i := range back.Attrs {
			if d := cmp.Diff(back.Attrs[i].Layout, back2.Attrs[i].Layout, cmpSets); d != "" {
				t.Fatalf("attr %d layout (-want +got)\n%s", i, d)
			}
			if d := cmp.Diff(m.Attrs[i].Set, back2.Attrs[i].Set, cmpSets); d != "" {
				t.Fatalf("attr %d after shuffle (-sent +decoded)\n%s", i, d)
			}
		}
		if again2, _ := back2.MarshalBinary(); !bytes.Equal(again2, shuffled) {
			t.Fatalf("shuffled re-encode differs")
		}
	})
}
