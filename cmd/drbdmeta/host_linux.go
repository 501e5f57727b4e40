package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Paths drbd-utils is built with on Debian (DRBD_LOCK_DIR, DRBD_LIB_DIR).
const (
	lockDir = "/var/lock"
	libDir  = "/var/lib/drbd"
)

func isatty(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

func onlyDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// minorOfDev is dt_minor_of_dev: "N" or "/dev/drbdN", or an existing block
// device with the DRBD major; -1 otherwise. drbd-utils does not reject -1
// (it keeps it in an unsigned and goes on with minor -1), neither do we.
func minorOfDev(dev string) int {
	c := dev
	if !onlyDigits(dev) {
		var st unix.Stat_t
		switch {
		case strings.HasPrefix(dev, "/dev/drbd") && onlyDigits(dev[9:]):
			c = dev[9:]
		case unix.Stat(dev, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK && unix.Major(uint64(st.Rdev)) == drbdMajor:
			return int(unix.Minor(uint64(st.Rdev)))
		default:
			return -1
		}
	}
	m, err := strconv.ParseInt(c, 10, 64)
	if err != nil {
		return -1
	}
	return int(int32(m))
}

// lockMinor is dt_lock_drbd: a write lock on /var/lock/drbd-147-<minor>,
// waiting up to one second. The lock is held until the process exits.
func lockMinor(minor int) {
	path := fmt.Sprintf("%s/drbd-%d-%d", lockDir, drbdMajor, minor)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT, 0o600)
	if err != nil {
		fail(20, "open(%s): %s\n", path, strerror(err))
	}
	fl := unix.Flock_t{Type: unix.F_WRLCK}
	deadline := time.Now().Add(time.Second)
	for {
		err = unix.FcntlFlock(uintptr(fd), unix.F_SETLK, &fl)
		if err == nil {
			return
		}
		if (err != unix.EAGAIN && err != unix.EACCES) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != unix.EAGAIN && err != unix.EACCES {
		fail(20, "fcntl(%s,...): %s\n", path, strerror(err))
	}
	q := unix.Flock_t{Type: unix.F_WRLCK}
	if unix.FcntlFlock(uintptr(fd), unix.F_GETLK, &q) == nil {
		errf("lock on %s currently held by pid:%d\n", path, q.Pid)
	}
	exit(20)
}

var diskStateNames = []string{"Diskless", "Attaching", "Failed", "Negotiating", "Inconsistent", "Outdated", "DUnknown", "Consistent", "UpToDate"}

// isAttached is drbd-utils' is_attached: run "drbdsetup <minor> dstate" from
// PATH; exit code 10 or 20 (no such minor, no module) means not attached,
// otherwise a local disk state better than Diskless means attached.
func isAttached(minor int) bool {
	cmd := exec.Command("drbdsetup", strconv.Itoa(minor), "dstate")
	out, err := cmd.Output()
	code := 0
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			code = 20 // could not exec: drbd-utils' child exits 20
		}
	}
	if code == 20 || code == 10 {
		return false
	}
	if len(out) > 40 {
		out = out[:40]
	}
	if len(out) < 1 {
		fail(20, "read from drbdsetup\n: Success\n")
	}
	res := string(out[:len(out)-1])
	local := res
	if i := strings.IndexByte(res, '/'); i >= 0 {
		local = res[:i]
	}
	for n, name := range diskStateNames {
		if strings.HasPrefix(name, local) {
			return n > 0
		}
	}
	if res == "Unconfigured" {
		return false
	}
	fail(20, "Unexpected output from drbdsetup >%s<\n", res)
	return false
}

func lkbdPath(minor int) string { return fmt.Sprintf("%s/drbd-minor-%d.lkbd", libDir, minor) }

// lkbdSave is lk_bdev_save: "<size>\t<name>\n" and "uuid:\t<HEX>\n".
func lkbdSave(minor int, size uint64, name string, uuid uint64) {
	path := lkbdPath(minor)
	s := fmt.Sprintf("%d\t%s\n", size, name)
	if uuid != 0 {
		s += fmt.Sprintf("uuid:\t%016X\n", uuid)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err == nil {
		_, err = f.WriteString(s)
		_ = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		errf("lk_bdev_save(%s) failed: %s\n", path, strerror(underlying(err)))
	}
}

// lkbdDelete is lk_bdev_delete.
func lkbdDelete(minor int) {
	path := lkbdPath(minor)
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		errf("lk_bdev_delete(%s) failed: %s\n", path, strerror(underlying(err)))
	}
}

func underlying(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
