package failover

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFencePeerScript runs scripts/fence-peer (the fence-peer handler the
// agent relies on) against stub peers and checks its exit codes, which DRBD
// reads as conn_try_outdate_peer does.
func TestFencePeerScript(t *testing.T) {
	script, err := filepath.Abs("../scripts/fence-peer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	// peer is a stub for PEER_CMD: "peer ROLE DSTATE OUTDATE_RC CMD..."
	// answers role/dstate/outdate; "unreachable" exits 255 like ssh.
	dir := t.TempDir()
	stub := filepath.Join(dir, "peer")
	if err := os.WriteFile(stub, []byte(`#!/bin/sh
role=$1 dstate=$2 orc=$3; shift 3
case "$*" in
*role*) echo "$role/Unknown" ;;
*dstate*) if [ -e `+dir+`/outdated ]; then echo Outdated/DUnknown; else echo "$dstate/DUnknown"; fi ;;
*outdate*) [ "$orc" = 0 ] && touch `+dir+`/outdated; exit $orc ;;
esac
`), 0o755); err != nil {
		t.Fatal(err)
	}
	down := filepath.Join(dir, "down")
	if err := os.WriteFile(down, []byte("#!/bin/sh\necho 'ssh: connect to host: No route to host'\nexit 255\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		env   []string
		want  int
		log   string // a decision the log must hold
		noLog string
	}{
		{"peer primary", nil, []string{"PEER_CMD=" + stub + " Primary UpToDate 1"}, 6, "exit 6", ""},
		{"peer outdated", nil, []string{"PEER_CMD=" + stub + " Secondary UpToDate 0"}, 4, "Outdated now: exit 4", ""},
		{"peer inconsistent", nil, []string{"PEER_CMD=" + stub + " Secondary Inconsistent 1"}, 3, "exit 3", ""},
		{"peer refuses", nil, []string{"PEER_CMD=" + stub + " Secondary UpToDate 1"}, 1, "did not outdate", ""},
		{"unreachable, stonith", nil, []string{"PEER_CMD=" + down, "STONITH_CMD=true",
			"LOCAL_ROLE_CMD=echo Primary/Unknown"}, 7, "exit 7", "waiting"},
		{"unreachable, secondary waits", nil, []string{"PEER_CMD=" + down, "STONITH_CMD=true",
			"STONITH_DELAY=1", "LOCAL_ROLE_CMD=echo Secondary/Unknown"}, 7, "waiting 1s", ""},
		{"unreachable, stonith fails", nil, []string{"PEER_CMD=" + down, "STONITH_CMD=false",
			"LOCAL_ROLE_CMD=echo Primary/Unknown"}, 1, "STONITH failed", ""},
		{"unreachable, refuse", nil, []string{"PEER_CMD=" + down}, 1, "not 'dead': exit 1", ""},
		{"unreachable, dead", nil, []string{"PEER_CMD=" + down, "UNREACHABLE=dead"}, 5, "exit 5", ""},
		{"as udrbd's helper", []string{"fence-peer", "r9"}, []string{"DRBD_RESOURCE=", "PEER_CMD=" + stub + " Primary UpToDate 1"}, 6, "fence-peer r9:", ""},
		{"unfence", []string{"unfence-peer", "r0"}, nil, 0, "nothing to undo", ""},
		{"other handler", []string{"split-brain", "minor-0"}, nil, 0, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = os.Remove(filepath.Join(dir, "outdated"))
			logf := filepath.Join(dir, "fence.log")
			_ = os.Remove(logf)
			cmd := exec.Command(script, tc.args...)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "DRBD_RESOURCE=r0", "DRBD_PEER_ADDRESS=10.0.0.2",
				"FENCE_PEER_CONF=/nonexistent", "FENCE_LOG=" + logf}, tc.env...)
			t0 := time.Now()
			out, err := cmd.CombinedOutput()
			if strings.Contains(strings.Join(tc.env, " "), "STONITH_DELAY=1") && time.Since(t0) < time.Second {
				t.Errorf("a Secondary did not wait STONITH_DELAY before STONITH")
			}
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.want {
				t.Fatalf("exit %d, want %d; output:\n%s", code, tc.want, out)
			}
			b, _ := os.ReadFile(logf)
			if tc.log != "" && !strings.Contains(string(b), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, b)
			}
			if tc.noLog != "" && strings.Contains(string(b), tc.noLog) {
				t.Errorf("log has %q:\n%s", tc.noLog, b)
			}
		})
	}
}
