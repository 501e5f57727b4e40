package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"udrbd/metadata"
)

// The bitmap text of dump-md, against drbd-utils 9.22's output for the same
// bitmap (testdata/bmdump.golden: "bm {" ... "# bits-set").
func TestBitmapDumpGolden(t *testing.T) {
	want, err := os.ReadFile("testdata/bmdump.golden")
	if err != nil {
		t.Fatal(err)
	}
	bm := make(metadata.Bitmap, 512)
	bm[3] = 0xF0F0
	for i := 40; i < 80; i++ {
		bm[i] = ^uint64(0)
	}
	bm[81] = 0x8000000000000001
	for i := 100; i < 104; i++ {
		bm[i] = 0x0101010101010101
	}
	var out bytes.Buffer
	out.WriteString("bm ")
	n := writeBitmapDump(&out, bm.Encode())
	fmt.Fprintf(&out, "# bits-set %d;\n", n)
	if out.String() != string(want) {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	if n != bm.Count() {
		t.Errorf("bits %d, Count %d", n, bm.Count())
	}
}

func TestBitmapDumpShapes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		words []uint64
		want  string
	}{
		{"empty", nil, "{\n}\n"},
		{"one word", []uint64{0x1122334455667788}, "{\n   # at 0kB\n    0x1122334455667788;\n}\n"},
		// runs are counted in 32-bit words, rounded down to whole lines of 8,
		// and compressed only when longer than one line: 8 64-bit words are,
		// 4 are not
		{"8 equal words", make([]uint64, 8), "{\n   # at 0kB\n    8 times 0x0000000000000000;\n}\n"},
		{"4 equal words", make([]uint64, 4), "{\n   # at 0kB\n    0x0000000000000000; 0x0000000000000000; 0x0000000000000000; 0x0000000000000000;\n}\n"},
		// a line starting at a multiple of 64 32-bit words (8 MiB of data) gets a "# at" header
		{"33 words", make([]uint64, 33), "{\n   # at 0kB\n    32 times 0x0000000000000000;\n   # at 8192kB\n    0x0000000000000000;\n}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			writeBitmapDump(&out, metadata.Bitmap(tc.words).Encode())
			if out.String() != tc.want {
				t.Errorf("got %q\nwant %q", out.String(), tc.want)
			}
		})
	}
}

func TestGetoptLong(t *testing.T) {
	for _, tc := range []struct {
		args []string
		opts string
		rest string
		err  string
	}{
		{[]string{"p", "--force", "0", "v08"}, "force=", "0 v08", ""},
		{[]string{"p", "0", "v08", "--forc", "-v"}, "force= verbose=", "0 v08", ""},
		{[]string{"p", "0", "--al-stripes", "2", "x", "--al-stripe-size-kB=64"}, "al-stripes=2 al-stripe-size-kB=64", "0 x", ""},
		{[]string{"p", "-fvs3", "a"}, "force= verbose= al-stripes=3", "a", ""},
		{[]string{"p", "-s", "4", "--", "--force"}, "al-stripes=4", "--force", ""},
		{[]string{"p", "--frob"}, "", "", "p: unrecognized option '--frob'"},
		{[]string{"p", "--al-stripe"}, "", "", "p: option '--al-stripe' is ambiguous; possibilities: '--al-stripes' '--al-stripe-size-kB'"},
		{[]string{"p", "--al-stripes"}, "", "", "p: option '--al-stripes' requires an argument"},
		{[]string{"p", "--force=1"}, "", "", "p: option '--force' doesn't allow an argument"},
		{[]string{"p", "-x"}, "", "", "p: invalid option -- 'x'"},
		{[]string{"p", "-s"}, "", "", "p: option requires an argument -- 's'"},
	} {
		hits, rest, msg := getoptLong("p", tc.args, optSpecs)
		var got []string
		for _, h := range hits {
			got = append(got, h.spec.long+"="+h.arg)
		}
		if msg != tc.err || (msg == "" && (strings.Join(got, " ") != tc.opts || strings.Join(rest, " ") != tc.rest)) {
			t.Errorf("%v: opts %q rest %q err %q", tc.args, got, rest, msg)
		}
	}
}

func TestNumbers(t *testing.T) {
	for _, tc := range []struct {
		s    string
		def  byte
		want uint64
	}{
		{"64", 'k', 64}, {"64k", 'k', 64}, {"1M", 'k', 1024}, {"1M", 1, 1 << 20},
		{"128k", 1, 128 << 10}, {"8s", 'k', 4}, {"1s", 'k', 1}, {"2G", 1, 2 << 30},
	} {
		if got := mStrtoll(tc.s, tc.def); got != tc.want {
			t.Errorf("mStrtoll(%q, %q) = %d, want %d", tc.s, tc.def, got, tc.want)
		}
	}
	for _, tc := range []struct {
		s  string
		v  int64
		ok bool
	}{
		{"0", 0, true}, {"255", 255, true}, {"0x10", 16, true}, {"010", 8, true}, {" 7", 7, true},
		{"-1", -1, true}, {"12a", 0, false}, {"", 0, false}, {"0x", 0, false}, {"09", 0, false},
	} {
		v, ok := strtolBase0(tc.s)
		if v != tc.v || ok != tc.ok {
			t.Errorf("strtolBase0(%q) = %d %v", tc.s, v, ok)
		}
	}
	for _, tc := range []struct {
		kb   uint64
		want string
	}{
		{4, "4 KB"}, {9999, "9999 KB"}, {10000, "10 MB"}, {45056, "44 MB"}, {81880, "80 MB"}, {1 << 30, "1024 GB"},
	} {
		if got := ppsize(tc.kb); got != tc.want {
			t.Errorf("ppsize(%d) = %q, want %q", tc.kb, got, tc.want)
		}
	}
}

func TestMinorOfDev(t *testing.T) {
	for _, tc := range []struct {
		dev  string
		want int
	}{
		{"0", 0}, {"17", 17}, {"/dev/drbd9", 9}, {"foo", -1}, {"/dev/drbd", -1}, {"/dev/drbdx1", -1}, {"99999999999999999999", -1},
	} {
		if got := minorOfDev(tc.dev); got != tc.want {
			t.Errorf("minorOfDev(%q) = %d, want %d", tc.dev, got, tc.want)
		}
	}
}
