package genl

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// seedMessages are encodings of representative messages for the fuzzers.
func seedMessages(tb testing.TB) [][]byte {
	var out [][]byte
	ri := &ResourceInfo{ResRole: 2}
	ri.Present = AllFields(ri)
	nc := new(NetConf)
	SetDefaults(nc)
	nc.SharedSecret = "secret"
	dc := &DiskConf{BackingDev: "/dev/loop0", MetaDev: "/dev/loop0", MetaDevIdx: -3, ResyncRate: 1000}
	dc.Present.Add(DiskConfBackingDev, DiskConfMetaDev, DiskConfMetaDevIdx, DiskConfResyncRate)
	si := &StateInfo{SIBReason: 1, CurrentState: 0x1234, UUIDs: make([]byte, 32), Helper: "fence-peer"}
	si.Present = AllFields(si)
	msgs := []Message{
		{Cmd: CmdNewResource, Version: 1, Minor: MinorNone, Attrs: []Attr{Tagged(&CfgContext{CtxResourceName: "r0", Present: 1 << 2})}},
		{Cmd: CmdAttach, Version: 1, Minor: 1, Attrs: []Attr{Tagged(&CfgContext{CtxVolume: 0, Present: 1 << 1}), Tagged(dc)}},
		{Cmd: CmdConnect, Version: 1, Minor: MinorNone, Attrs: []Attr{Tagged(&CfgContext{CtxMyAddr: make([]byte, 16), CtxPeerAddr: make([]byte, 16), Present: 1<<3 | 1<<4}), Tagged(nc)}},
		{Cmd: CmdResourceState, Version: 1, Minor: MinorNone, Flags: 101, Attrs: []Attr{Kernel(ri)}},
		{Cmd: CmdGetStatus, Version: 1, Minor: 0, Flags: 101, Attrs: []Attr{Tagged(si), Kernel(nc)}},
		{Cmd: CmdPrimary, Version: 1, Flags: 0xfffffffe, Attrs: []Attr{Tagged(&CfgReply{InfoText: "x", Present: 2})}},
	}
	for _, m := range msgs {
		b, err := m.MarshalBinary()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzMessage: decoding never panics; whatever decodes re-encodes, decodes
// to the same values, and a second re-encode is byte-identical.
func FuzzMessage(f *testing.F) {
	for _, b := range seedMessages(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := m.UnmarshalBinary(b); err != nil {
			return
		}
		out, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encode of decoded message: %v", err)
		}
		var m2 Message
		if err := m2.UnmarshalBinary(out); err != nil {
			t.Fatalf("decode of re-encoded message: %v", err)
		}
		if len(m.Attrs) != len(m2.Attrs) {
			t.Fatalf("%d attrs, then %d", len(m.Attrs), len(m2.Attrs))
		}
		for i := range m.Attrs {
			if d := cmp.Diff(m.Attrs[i].Set, m2.Attrs[i].Set, cmpSets); d != "" {
				t.Fatalf("attr %d (-first +second)\n%s", i, d)
			}
			if (m.Attrs[i].Err == nil) != (m2.Attrs[i].Err == nil) {
				t.Fatalf("attr %d: err %v then %v", i, m.Attrs[i].Err, m2.Attrs[i].Err)
			}
		}
		out2, err := m2.MarshalBinary()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not idempotent: %v\n%x\n%x", err, out, out2)
		}
	})
}

// FuzzSet drives each attribute set's decoder (the first byte picks the set).
func FuzzSet(f *testing.F) {
	for _, b := range seedMessages(f) {
		var m Message
		if err := m.UnmarshalBinary(b); err != nil {
			f.Fatal(err)
		}
		for _, a := range m.Attrs {
			f.Add(uint8(a.TLA()), a.Raw)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		sp := &Sets[int(which)%len(Sets)]
		s, layout, err := decodeSet(sp.TLA, b)
		if err != nil {
			if _, ok := IsSetError(err); !ok {
				t.Fatalf("error of wrong type: %v", err)
			}
			return
		}
		if err := CheckSet(s, false); err != nil {
			if _, ok := IsSetError(err); !ok {
				t.Fatal(err)
			}
		}
		out, err := encodeSet(s, layout, false)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		s2, layout2, err := decodeSet(sp.TLA, out)
		if err != nil {
			t.Fatalf("decode of re-encoded set: %v", err)
		}
		if d := cmp.Diff(s, s2, cmpSets); d != "" {
			t.Fatalf("(-first +second)\n%s", d)
		}
		if d := cmp.Diff(layout, layout2, cmpSets); d != "" {
			t.Fatalf("layout (-first +second)\n%s", d)
		}
	})
}

// TestSeedCorpus keeps testdata/fuzz in step with seedMessages (-update
// rewrites it), so the committed corpus is what `go test -fuzz` starts from.
func TestSeedCorpus(t *testing.T) {
	seeds := seedMessages(t)
	for i, b := range seeds {
		msg := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		var m Message
		if err := m.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{filepath.Join("testdata", "fuzz", "FuzzMessage", fmt.Sprintf("seed%d", i)): msg}
		for j, a := range m.Attrs {
			files[filepath.Join("testdata", "fuzz", "FuzzSet", fmt.Sprintf("seed%d_%d", i, j))] =
				fmt.Sprintf("go test fuzz v1\nbyte(%q)\n[]byte(%q)\n", byte(a.TLA()), a.Raw)
		}
		for name, content := range files {
			if *update {
				if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(name)
			if err != nil || string(got) != content {
				t.Fatalf("%s stale or missing (go test -run TestSeedCorpus -update): %v", name, err)
			}
		}
	}
}
