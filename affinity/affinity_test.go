//go:build linux

package affinity

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func cpus(list ...int) unix.CPUSet {
	var s unix.CPUSet
	for _, c := range list {
		s.Set(c)
	}
	return s
}

// The cases follow lib/bitmap-str.c's bitmap_parse: chunks of 32 bits from
// the right, whitespace and empty groups allowed, overflow by digits,
// chunks or bits past nbits.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in    string
		nbits int
		want  unix.CPUSet
		err   error
	}{
		{"", 4, cpus(), nil},
		{"1", 4, cpus(0), nil},
		{"3", 4, cpus(0, 1), nil},
		{"a", 4, cpus(1, 3), nil},
		{"F", 4, cpus(0, 1, 2, 3), nil},
		{" 2 \n", 4, cpus(1), nil},
		{"2\n5", 4, cpus(1), nil}, // the text ends at the newline
		{"1,0", 64, cpus(32), nil},
		{"1,,5", 64, cpus(32, 0, 2), nil},
		{",4", 8, cpus(2), nil},
		{",", 8, cpus(), nil},
		{"00000001", 4, cpus(0), nil},
		{"x00000001", 4, cpus(0), nil},         // a non-digit before eight digits is skipped
		{"100000000", 64, cpus(), ErrOverflow}, // the chunk too long is not kept
		{"1,100000000", 64, cpus(), ErrOverflow},
		{"100000000,1", 64, cpus(0), ErrOverflow},
		{"1,0", 4, cpus(), ErrOverflow},   // two chunks, room for one
		{"0,1", 4, cpus(0), ErrOverflow},  // even a zero one
		{"f", 2, cpus(0, 1), ErrOverflow}, // bits 2 and 3 are past the CPUs, cut
		{"0x1", 4, cpus(), ErrSyntax},
		{"g", 4, cpus(), ErrSyntax},
		{"-1", 4, cpus(), ErrSyntax},
	} {
		got, err := Parse(tc.in, tc.nbits)
		if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
			t.Errorf("Parse(%q, %d) error %v, want %v", tc.in, tc.nbits, err, tc.err)
			continue
		}
		if tc.err != ErrSyntax && got != tc.want {
			t.Errorf("Parse(%q, %d) = %s, want %s", tc.in, tc.nbits, String(got), String(tc.want))
		}
	}
}

func TestPick(t *testing.T) {
	all := cpus(0, 1, 2, 3)
	for _, tc := range []struct {
		allowed unix.CPUSet
		load    map[int]int
		want    int
	}{
		{all, nil, 0},
		{all, map[int]int{0: 1}, 1},
		{all, map[int]int{0: 1, 1: 1, 2: 1, 3: 1}, 0},
		{all, map[int]int{0: 2, 1: 1, 2: 2, 3: 1}, 1},
		{cpus(2, 3), map[int]int{0: 0, 2: 1}, 3},
		{cpus(), nil, -1},
	} {
		if got := Pick(tc.allowed, tc.load); got != tc.want {
			t.Errorf("Pick(%s, %v) = %d, want %d", String(tc.allowed), tc.load, got, tc.want)
		}
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		s    unix.CPUSet
		want string
	}{
		{cpus(), ""}, {cpus(0), "0"}, {cpus(0, 1), "0-1"}, {cpus(0, 1, 3, 5, 6, 7), "0-1,3,5-7"},
	} {
		if got := String(tc.s); got != tc.want {
			t.Errorf("String = %q, want %q", got, tc.want)
		}
	}
}

// allowedLists reads Cpus_allowed_list of every thread of the process.
func allowedLists(t *testing.T) map[string]string {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tk := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + tk.Name() + "/status")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
				out[tk.Name()] = strings.TrimSpace(v)
			}
		}
	}
	return out
}

// twoCPUs returns this process's CPUs, or skips the test when it has
// fewer than two.
func twoCPUs(t *testing.T) unix.CPUSet {
	t.Helper()
	set, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	if set.Count() < 2 {
		t.Skip("needs two CPUs")
	}
	return set
}

func TestSetProcess(t *testing.T) {
	orig := twoCPUs(t)
	defer func() {
		if err := SetProcess(orig); err != nil {
			t.Error(err)
		}
	}()
	// threads locked by goroutines, so there are several to set
	stop := make(chan struct{})
	defer close(stop)
	for range 3 {
		go func() {
			runtime.LockOSThread()
			<-stop
		}()
	}
	one := Pick(orig, nil)
	if err := SetProcess(cpus(one)); err != nil {
		t.Fatal(err)
	}
	lists := allowedLists(t)
	if len(lists) < 2 {
		t.Fatalf("threads: %v", lists)
	}
	for tid, l := range lists {
		if l != String(cpus(one)) {
			t.Errorf("thread %s allowed %s, want %d", tid, l, one)
		}
	}
	// a thread started now inherits the mask
	got := make(chan unix.CPUSet)
	go func() {
		runtime.LockOSThread()
		s, _ := Current()
		got <- s
		<-stop
	}()
	if s := <-got; s != cpus(one) {
		t.Errorf("new thread allowed %s", String(s))
	}
	if err := SetProcess(orig); err != nil {
		t.Fatal(err)
	}
	for tid, l := range allowedLists(t) {
		if l != String(orig) {
			t.Errorf("thread %s allowed %s after restore, want %s", tid, l, String(orig))
		}
	}
}

func TestPossible(t *testing.T) {
	if n := Possible(); n < runtime.NumCPU() {
		t.Errorf("Possible() = %d, fewer than NumCPU %d", n, runtime.NumCPU())
	}
}

// TestMain lets the test binary run as the other daemon of TestOthers.
func TestMain(m *testing.M) {
	if os.Getenv("AFFINITY_TEST_SLEEP") != "" {
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Another process of the same name pinned to a CPU counts as load there;
// unpinned, it does not.
func TestOthers(t *testing.T) {
	orig := twoCPUs(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "AFFINITY_TEST_SLEEP=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	load := map[int]int{}
	Others(orig, load)
	if len(load) != 0 {
		t.Fatalf("an unpinned process counted: %v", load)
	}
	last := -1
	for c := range len(orig) * 64 {
		if orig.IsSet(c) {
			last = c
		}
	}
	if err := unix.SchedSetaffinity(cmd.Process.Pid, ptr(cpus(last))); err != nil {
		t.Fatal(err)
	}
	Others(orig, load)
	if len(load) != 1 || load[last] != 1 {
		t.Fatalf("load %v, want CPU %d once", load, last)
	}
	if c := Pick(orig, load); c == last {
		t.Fatalf("Pick took the other daemon's CPU %d", c)
	}
}

func ptr(s unix.CPUSet) *unix.CPUSet { return &s }
