package server_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"udrbd/genl"
	"udrbd/genl/client"
	"udrbd/genl/server"
)

const childEnv = "GENL_SERVER_TEST_CHILD_SOCKET"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		if err := nonRootChild(path); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// nonRootChild runs in a subprocess with uid/gid 65534: a state change must
// be refused with EPERM, status must be answered without the shared secret.
func nonRootChild(path string) error {
	if os.Getuid() == 0 {
		return errors.New("still root")
	}
	c, err := client.Dial(path)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Do(&genl.Message{Cmd: genl.CmdPrimary, Minor: 0}); !errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("primary: %v, want EPERM", err)
	}
	reply, err := c.Do(&genl.Message{Cmd: genl.CmdGetStatus, Minor: 0})
	if err != nil {
		return fmt.Errorf("status: %v", err)
	}
	nc, err := genl.Get[*genl.NetConf](reply)
	if err != nil || nc == nil || nc.Present.Has(genl.NetConfSharedSecret) || reply.RetCode() != genl.NoError {
		return fmt.Errorf("status reply: %+v %v", nc, err)
	}
	return nil
}

// TestNonRootCaller drops privileges for real: the test binary re-runs
// itself as nobody against a server using the default SO_PEERCRED check.
func TestNonRootCaller(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a subprocess as another user")
	}
	dir, err := os.MkdirTemp("", "genl-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "server.test")
	if err := copyFile(self, bin); err != nil {
		t.Fatal(err)
	}
	h := &fakeHandler{}
	s := startServerRaw(t, server.Config{Path: filepath.Join(dir, "control.sock"), Mode: 0o666}, h)

	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+s.Path())
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("non-root child: %v\n%s", err, out)
	}
	if got := h.seen(); len(got) != 1 || got[0] != genl.CmdGetStatus || h.admin[0] {
		t.Fatalf("handler saw %v (admin %v), want only a non-admin status", got, h.admin)
	}

	// the same requests as root pass the default check
	c := dial(t, s)
	if _, err := c.Do(&genl.Message{Cmd: genl.CmdPrimary, Minor: 0}); err != nil {
		t.Fatalf("primary as root: %v", err)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
