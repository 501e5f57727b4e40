package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"udrbd/metadata"
)

func TestStrtoull16(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want uint64
	}{
		{"0", 0}, {"ff", 0xff}, {"FF", 0xff}, {"0x1A", 0x1a}, {"0X1a", 0x1a}, {"  \t12", 0x12},
		{"+10", 0x10}, {"-1", ^uint64(0)}, {"-0x2", ^uint64(0) - 1}, {"12zz", 0x12}, {"zz", 0},
		{"", 0}, {"0x", 0}, {"0xg", 0}, {"FFFFFFFFFFFFFFFF", ^uint64(0)},
		{"10000000000000000", ^uint64(0)}, {"-10000000000000000", ^uint64(0)},
		{"0123456789ABCDEF", 0x0123456789abcdef},
	} {
		if got := strtoull16(tc.s); got != tc.want {
			t.Errorf("strtoull16(%q) = %#x, want %#x", tc.s, got, tc.want)
		}
	}
}

// write-dev-uuid after create-md (what drbdadm create-md runs) changes
// only the device UUID of the superblock; read-dev-uuid prints it.
func TestWriteReadDevUUID(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "drbdmeta")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	img := filepath.Join(dir, "img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 16<<20); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		cmd := exec.Command(bin, append([]string{"--force", "0", "v08", img, "internal"}, args...)...)
		cmd.Dir = dir
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		rc := 0
		if err := cmd.Run(); err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatal(err)
			}
			rc = ee.ExitCode()
		}
		return rc, o.String(), e.String()
	}
	if rc, o, e := run("create-md"); rc != 0 {
		t.Fatalf("create-md: rc %d\n%s%s", rc, o, e)
	}
	sbOff := int64(metadata.SuperblockOffset(metadata.IndexFlexInt, 16<<20))
	readSB := func() metadata.Superblock {
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sb, err := metadata.ReadSuperblock(f, sbOff)
		if err != nil {
			t.Fatal(err)
		}
		return sb
	}
	before := readSB()
	if rc, o, e := run("write-dev-uuid", "0xDEADBEEF01234567"); rc != 0 {
		t.Fatalf("write-dev-uuid: rc %d\n%s%s", rc, o, e)
	}
	after := readSB()
	if after.DeviceUUID != 0xdeadbeef01234567 {
		t.Fatalf("device UUID %#x on disk", after.DeviceUUID)
	}
	after.DeviceUUID = before.DeviceUUID
	if after != before {
		t.Fatalf("write-dev-uuid changed more than the device UUID:\n%+v\n%+v", before, after)
	}
	if rc, o, e := run("read-dev-uuid"); rc != 0 || o != "DEADBEEF01234567\n" || strings.Contains(e, "Ignoring") {
		t.Fatalf("read-dev-uuid: rc %d out %q err %q", rc, o, e)
	}
	if rc, _, e := run("write-dev-uuid", "1", "2"); rc != 0 || !strings.Contains(e, "Ignoring additional arguments") {
		t.Fatalf("extra argument: rc %d err %q", rc, e)
	}
	if rc, o, _ := run("read-dev-uuid"); rc != 0 || o != "0000000000000001\n" {
		t.Fatalf("read-dev-uuid after write 1: rc %d out %q", rc, o)
	}
	if rc, _, e := run("write-dev-uuid"); rc != 10 || !strings.HasSuffix(e, "Required Argument missing\n") {
		t.Fatalf("missing argument: rc %d err %q", rc, e)
	}
}
