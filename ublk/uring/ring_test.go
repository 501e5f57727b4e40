//go:build linux

package uring

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func newRing(t *testing.T, entries uint32, o Options) *Ring {
	t.Helper()
	r, err := New(entries, o)
	if err != nil {
		t.Fatalf("New(%d, %+v): %v", entries, o, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func reapAll(t *testing.T, r *Ring, n int) []CQE {
	t.Helper()
	out := make([]CQE, 0, n)
	buf := make([]CQE, 16)
	for len(out) < n {
		if r.Ready() == 0 {
			if _, err := r.SubmitAndWait(1); err != nil {
				t.Fatalf("SubmitAndWait: %v", err)
			}
		}
		k := r.Reap(buf)
		out = append(out, buf[:k]...)
	}
	return out
}

// TestBatching fills the whole SQ, submits it with one call, and reaps every
// completion in one batch.
func TestBatching(t *testing.T) {
	r := newRing(t, 8, Options{})
	if r.SQEntries() != 8 {
		t.Fatalf("SQEntries = %d, want 8", r.SQEntries())
	}
	for i := range 8 {
		s, err := r.GetSQE()
		if err != nil {
			t.Fatalf("GetSQE %d: %v", i, err)
		}
		PrepNop(s, uint64(100+i))
	}
	if _, err := r.GetSQE(); !errors.Is(err, ErrSQFull) {
		t.Fatalf("GetSQE on full SQ: err = %v, want ErrSQFull", err)
	}
	if got := r.Pending(); got != 8 {
		t.Fatalf("Pending = %d, want 8", got)
	}
	n, err := r.SubmitAndWait(8)
	if err != nil || n != 8 {
		t.Fatalf("SubmitAndWait(8) = %d, %v; want 8, nil", n, err)
	}
	if got := r.Ready(); got != 8 {
		t.Fatalf("Ready = %d, want 8", got)
	}
	cqes := make([]CQE, 16)
	if k := r.Reap(cqes); k != 8 {
		t.Fatalf("Reap = %d, want 8", k)
	}
	for i, c := range cqes[:8] {
		if c.UserData != uint64(100+i) || c.Res != 0 {
			t.Errorf("cqe %d = %+v, want user_data %d res 0", i, c, 100+i)
		}
	}
	if k := r.Reap(cqes); k != 0 {
		t.Fatalf("second Reap = %d, want 0", k)
	}
}

// TestWrapAround drives a 4-entry ring through many laps with batches of
// varying size, writing and reading back a file through the ring, and
// checks every completion comes back exactly once with the right result.
func TestWrapAround(t *testing.T) {
	for _, o := range []Options{{}, {CQEntries: 8}, {Flags: SetupSQE128}} {
		r := newRing(t, 4, o)
		f, err := os.Create(filepath.Join(t.TempDir(), "data"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		const blk = 512
		const nblk = 300
		want := make([]byte, blk*nblk)
		for i := range want {
			want[i] = byte(i*7 + i/blk)
		}
		// Writes, in batches of 1..4.
		seen := map[uint64]bool{}
		next := 0
		for batch := 1; next < nblk; batch = batch%4 + 1 {
			k := 0
			for ; k < batch && next < nblk; k++ {
				s, err := r.GetSQE()
				if err != nil {
					t.Fatalf("GetSQE: %v", err)
				}
				PrepWrite(s, int(f.Fd()), want[next*blk:(next+1)*blk], int64(next*blk), uint64(next))
				next++
			}
			for _, c := range reapAll(t, r, k) {
				if c.Res != blk {
					t.Fatalf("write %d: res %d", c.UserData, c.Res)
				}
				if seen[c.UserData] {
					t.Fatalf("write %d completed twice", c.UserData)
				}
				seen[c.UserData] = true
			}
		}
		if len(seen) != nblk {
			t.Fatalf("%d writes completed, want %d", len(seen), nblk)
		}
		// Reads back, interleaved with NOPs, 3 per batch.
		got := make([]byte, len(want))
		for i := 0; i < nblk; {
			k := 0
			for ; k < 3 && i < nblk; k++ {
				s, _ := r.GetSQE()
				PrepRead(s, int(f.Fd()), got[i*blk:(i+1)*blk], int64(i*blk), uint64(i))
				i++
			}
			s, _ := r.GetSQE()
			PrepNop(s, 1<<40)
			for _, c := range reapAll(t, r, k+1) {
				if c.UserData != 1<<40 && c.Res != blk {
					t.Fatalf("read %d: res %d", c.UserData, c.Res)
				}
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%+v: data read back through the ring differs", o)
		}
	}
}

// TestSQE128 checks that a 128-byte SQE is fully zeroed when reused and that
// the 80-byte command area reaches the kernel: a URING_CMD to a regular file
// fails with EOPNOTSUPP (no ->uring_cmd), proving opcode and fd were read.
func TestSQE128(t *testing.T) {
	r := newRing(t, 2, Options{Flags: SetupSQE128})
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for lap := range 6 {
		s, err := r.GetSQE()
		if err != nil {
			t.Fatal(err)
		}
		cmd := r.Cmd(s)
		if len(cmd) != 80 {
			t.Fatalf("Cmd len = %d, want 80", len(cmd))
		}
		for i, b := range cmd {
			if b != 0 {
				t.Fatalf("lap %d: cmd byte %d = %#x, want 0 (SQE not cleared)", lap, i, b)
			}
		}
		PrepURingCmd(s, int(f.Fd()), 0xC0207504, uint64(lap))
		for i := range cmd {
			cmd[i] = 0xff
		}
		c := reapAll(t, r, 1)[0]
		if c.UserData != uint64(lap) || c.Res != -int32(unix.EOPNOTSUPP) {
			t.Fatalf("lap %d: cqe %+v, want res -EOPNOTSUPP", lap, c)
		}
	}
}

// TestEINTR blocks in io_uring_enter waiting on a pipe read while another
// goroutine signals the waiting thread; the wait must be retried and finish
// with the read once data arrives.
func TestEINTR(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newRing(t, 4, Options{Flags: SetupSingleIssuer | SetupDeferTaskrun | SetupCoopTaskrun})
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	buf := make([]byte, 8)
	s, _ := r.GetSQE()
	PrepRead(s, p[0], buf, -1, 7)
	tid := unix.Gettid()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r.EINTRs.Load() < 3 {
			_ = unix.Tgkill(unix.Getpid(), tid, unix.SIGURG)
			time.Sleep(time.Millisecond)
		}
		_, _ = unix.Write(p[1], []byte("wakeup!!"))
	}()
	c := reapAll(t, r, 1)[0]
	<-done
	if c.UserData != 7 || c.Res != 8 || string(buf) != "wakeup!!" {
		t.Fatalf("cqe %+v buf %q, want read of 8 bytes", c, buf)
	}
	if r.EINTRs.Load() < 3 {
		t.Fatalf("EINTRs = %d, want >= 3", r.EINTRs.Load())
	}
}

// TestWaitTimeout returns without a CQE when nothing completes.
func TestWaitTimeout(t *testing.T) {
	r := newRing(t, 2, Options{})
	if err := r.WaitTimeout(10 * time.Millisecond); err != nil {
		t.Fatalf("WaitTimeout: %v", err)
	}
	if r.Ready() != 0 {
		t.Fatalf("Ready = %d after idle wait", r.Ready())
	}
	s, _ := r.GetSQE()
	PrepNop(s, 5)
	if err := r.WaitTimeout(time.Hour); err != nil {
		t.Fatalf("WaitTimeout: %v", err)
	}
	if r.Ready() != 1 {
		t.Fatalf("Ready = %d, want 1", r.Ready())
	}
}

func TestRegisterFiles(t *testing.T) {
	r := newRing(t, 2, Options{})
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := r.RegisterFiles([]int32{int32(f.Fd())}); err != nil {
		t.Fatal(err)
	}
	s, _ := r.GetSQE()
	PrepWrite(s, 0, []byte("fixed"), 0, 1)
	s.Flags |= SQEFixedFile
	if c := reapAll(t, r, 1)[0]; c.Res != 5 {
		t.Fatalf("fixed-file write res %d, want 5", c.Res)
	}
	b, _ := os.ReadFile(f.Name())
	if string(b) != "fixed" {
		t.Fatalf("file = %q", b)
	}
	if err := r.UnregisterFiles(); err != nil {
		t.Fatal(err)
	}
}

func TestPeekSQE(t *testing.T) {
	r := newRing(t, 4, Options{})
	for i := range 3 {
		s, _ := r.GetSQE()
		PrepNop(s, uint64(10+i))
	}
	for i := range uint32(3) {
		if s := r.PeekSQE(i); s == nil || s.UserData != uint64(10+i) {
			t.Fatalf("PeekSQE(%d) = %+v, want user_data %d", i, s, 10+i)
		}
	}
	if r.PeekSQE(3) != nil {
		t.Fatal("PeekSQE beyond pending SQEs is not nil")
	}
	reapAll(t, r, 3)
	if r.PeekSQE(0) != nil {
		t.Fatal("PeekSQE after submit is not nil")
	}
}

// TestRegisterEventfd: the registered eventfd fires when deferred task work
// is queued (a read on a pipe becomes ready), before anyone enters the
// ring; Poll then runs the work and the CQE is there. The ublk queue sleeps
// on that eventfd in the Go netpoller instead of inside io_uring_enter.
func TestRegisterEventfd(t *testing.T) {
	r, err := New(4, Options{Flags: SetupSingleIssuer | SetupDeferTaskrun})
	if err != nil {
		t.Skipf("DEFER_TASKRUN ring: %v", err)
	}
	defer r.Close()
	runtime.LockOSThread() // a SINGLE_ISSUER ring is entered by one task
	defer runtime.UnlockOSThread()
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	if err := r.RegisterEventfd(efd); err != nil {
		t.Fatal(err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	buf := make([]byte, 8)
	s, _ := r.GetSQE()
	PrepRead(s, p[0], buf, 0, 7)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	var cnt [8]byte
	for {
		if _, err := unix.Read(efd, cnt[:]); err != nil {
			break // drained what the submit itself signalled
		}
	}
	if r.Ready() != 0 {
		t.Fatalf("read of an empty pipe completed at once")
	}
	if _, err := unix.Write(p[1], []byte("wake")); err != nil {
		t.Fatal(err)
	}
	pfd := []unix.PollFd{{Fd: int32(efd), Events: unix.POLLIN}}
	if n, err := unix.Poll(pfd, 5000); err != nil || n != 1 {
		t.Fatalf("eventfd did not fire for the queued task work: poll %d, %v", n, err)
	}
	if n, err := r.Poll(); err != nil || n != 1 {
		t.Fatalf("Poll: %d CQEs, %v; want 1", n, err)
	}
	c := reapAll(t, r, 1)[0]
	if c.UserData != 7 || c.Res != 4 || string(buf[:4]) != "wake" {
		t.Fatalf("CQE %+v, buf %q", c, buf[:4])
	}
	// Disabled, a completion leaves the eventfd alone.
	if !r.SetEventfdDisabled(true) {
		t.Fatal("the ring has no CQ flags")
	}
	for {
		if _, err := unix.Read(efd, cnt[:]); err != nil {
			break
		}
	}
	s, _ = r.GetSQE()
	PrepRead(s, p[0], buf, 0, 8)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(p[1], []byte("more")); err != nil {
		t.Fatal(err)
	}
	if c := reapAll(t, r, 1)[0]; c.UserData != 8 || c.Res != 4 {
		t.Fatalf("CQE %+v", c)
	}
	if n, err := unix.Poll(pfd, 100); err != nil || n != 0 {
		t.Fatalf("eventfd fired while disabled: poll %d, %v", n, err)
	}
	r.SetEventfdDisabled(false)
	if err := r.UnregisterEventfd(); err != nil {
		t.Fatal(err)
	}
}
