package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"udrbd/genl/server"
	"udrbd/metrics"
	"udrbd/node"
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

func TestStartMetrics(t *testing.T) {
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	n := node.New(node.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer n.Close()
	s, err := startMetrics(log, "127.0.0.1:0", n, metrics.NewLatencies())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.Contains(logBuf.String(), "address="+s.Addr().String()) {
		t.Errorf("the address is not logged: %q", logBuf.String())
	}
	resp, err := http.Get("http://" + s.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\ndrbd_resource_resources 0\n") {
		t.Errorf("/metrics of an empty node:\n%s", body)
	}
}

// TestRunBadMetricsAddress: a bad --metrics-listen stops the start with an
// error that names the flag's value.
func TestRunBadMetricsAddress(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sc := server.Config{Path: filepath.Join(dir, "control.sock"), Mode: 0o600, Group: -1}
	for _, bad := range []string{"nonsense", "127.0.0.1:99999"} {
		err := run(log, sc, filepath.Join(dir, "state"), "", bad, node.Options{})
		if err == nil || !strings.Contains(err.Error(), "metrics") || !strings.Contains(err.Error(), bad) {
			t.Errorf("run with --metrics-listen %q: %v", bad, err)
		}
		if _, err := os.Stat(sc.Path); err == nil {
			t.Errorf("the control socket was made before the metrics address was checked")
		}
	}
}
