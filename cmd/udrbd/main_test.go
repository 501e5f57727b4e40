package main

import (
	"slices"
	"testing"
)

func TestSocketConfig(t *testing.T) {
	sc, err := socketConfig("/run/x.sock", "0600", "", nil)
	if err != nil || sc.Mode != 0o600 || sc.Group != -1 || sc.AdminGroups != nil || sc.Path != "/run/x.sock" {
		t.Fatalf("defaults: %+v %v", sc, err)
	}
	// root's group resolves by name on any Debian; numbers pass as they are
	sc, err = socketConfig("/s", "660", "root", []string{"0", "4242", "root"})
	if err != nil || sc.Mode != 0o660 || sc.Group != 0 || !slices.Equal(sc.AdminGroups, []uint32{0, 4242, 0}) {
		t.Fatalf("groups: %+v %v", sc, err)
	}
	for _, bad := range []struct{ mode, group, admin string }{
		{"rw", "", ""}, {"0", "", ""}, {"1777", "", ""}, {"0600", "no-such-group-udrbd", ""},
		{"0600", "", "no-such-group-udrbd"},
	} {
		var admins []string
		if bad.admin != "" {
			admins = []string{bad.admin}
		}
		if _, err := socketConfig("/s", bad.mode, bad.group, admins); err == nil {
			t.Errorf("socketConfig(%q, %q, %q) accepted", bad.mode, bad.group, bad.admin)
		}
	}
}
