//go:build linux

// Package affinity keeps the daemon's threads on the CPUs of its
// resources, as DRBD keeps every kernel thread of a resource on one CPU:
// it reads a resource's cpu-mask the way the kernel's bitmap_parse does,
// picks the least used CPU for a resource without one (drbd_calc_cpu_mask),
// and sets the affinity of every thread of the process.
//
// Goroutines are not threads, so the daemon cannot pin each resource on
// its own: package node pins the whole process to the union of its
// connected resources' CPUs. With one (the usual node) that is one CPU,
// which saves the cross-CPU wakeups between the ublk queue, sender,
// receiver and ack threads of a replicated write, as the kernel's pinning
// does for its threads.
package affinity

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Errors of Parse, the kernel's -EINVAL and -EOVERFLOW of bitmap_parse.
var (
	ErrSyntax   = errors.New("cpu mask: not hexadecimal")
	ErrOverflow = errors.New("cpu mask: larger than the number of CPUs")
)

// Parse reads mask as bitmap_parse(mask, nbits) does: hexadecimal digits,
// grouped by commas into 32-bit chunks counted from the right; whitespace
// and empty groups are allowed; the text ends at a newline. A chunk of
// more than 8 digits, more chunks than nbits needs, or a bit at or above
// nbits is ErrOverflow: the set returned then holds the chunks read
// before it, cut to nbits, which is what DRBD goes on with.
func Parse(mask string, nbits int) (unix.CPUSet, error) {
	var set unix.CPUSet
	if i := strings.IndexAny(mask, "\n\x00"); i >= 0 {
		mask = mask[:i]
	}
	nbits = min(nbits, len(set)*64)
	chunks := (nbits + 31) / 32
	used := 0
	end := len(mask) - 1
	put := func(chunk int, v uint32) {
		for b := range 32 {
			if v&(1<<b) != 0 {
				set.Set(chunk*32 + b)
			}
		}
	}
	cut := func() unix.CPUSet {
		var out unix.CPUSet
		for c := range nbits {
			if set.IsSet(c) {
				out.Set(c)
			}
		}
		return out
	}
	for {
		for end >= 0 && separator(mask[end]) {
			end--
		}
		if end < 0 {
			break
		}
		if used == chunks {
			return cut(), ErrOverflow
		}
		var v uint32
		for i := 0; ; i += 4 {
			d, ok := hexDigit(mask[end])
			if !ok {
				return cut(), fmt.Errorf("%w: %q", ErrSyntax, mask)
			}
			v |= uint32(d) << i
			end--
			if end < 0 || separator(mask[end]) {
				break
			}
			if i == 28 {
				// a ninth digit; anything else before the eight is skipped
				if _, ok := hexDigit(mask[end]); ok {
					return cut(), ErrOverflow
				}
				end--
				break
			}
		}
		put(used, v)
		used++
	}
	for c := nbits; c < used*32; c++ {
		if set.IsSet(c) {
			return cut(), ErrOverflow
		}
	}
	return set, nil
}

func separator(c byte) bool {
	return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Possible is nr_cpu_ids: one more than the highest possible CPU.
func Possible() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/possible")
	if err == nil {
		hi := -1
		for _, r := range strings.Split(strings.TrimSpace(string(b)), ",") {
			_, last, _ := strings.Cut(r, "-")
			if last == "" {
				last = r
			}
			if n, err := strconv.Atoi(last); err == nil && n > hi {
				hi = n
			}
		}
		if hi >= 0 {
			return hi + 1
		}
	}
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil {
		hi := 0
		for c := range len(set) * 64 {
			if set.IsSet(c) {
				hi = c + 1
			}
		}
		return hi
	}
	return 1
}

// Pick is drbd_calc_cpu_mask: the CPU of allowed that the fewest
// resources use (load, per CPU), the lowest of those; -1 if allowed is
// empty.
func Pick(allowed unix.CPUSet, load map[int]int) int {
	best, bestLoad := -1, 0
	for c := range len(allowed) * 64 {
		if !allowed.IsSet(c) {
			continue
		}
		if best < 0 || load[c] < bestLoad {
			best, bestLoad = c, load[c]
		}
	}
	return best
}

// Current is the affinity of the calling thread.
func Current() (unix.CPUSet, error) {
	var set unix.CPUSet
	err := unix.SchedGetaffinity(0, &set)
	return set, err
}

// Others adds to load, per CPU, the DRBD resources of the host that are
// not this daemon's: each other process with this process's name whose
// affinity is narrower than allowed (another udrbd daemon that pinned
// itself), and each kernel DRBD resource, by the CPUs of its worker thread
// (drbd_w_NAME). The kernel counts every resource of the host; a daemon
// only knows its own, and two nodes on one host (under test) should not
// both take the first CPU.
func Others(allowed unix.CPUSet, load map[int]int) {
	self, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		return
	}
	countPinned(allowed, load, func(comm string) bool {
		return comm == string(self) || strings.HasPrefix(comm, "drbd_w_")
	})
}

// countPinned adds to load the CPUs of every other process whose name
// (comm, with its newline) match accepts and whose affinity is narrower
// than allowed.
func countPinned(allowed unix.CPUSet, load map[int]int, match func(comm string) bool) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	me := os.Getpid()
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == me {
			continue
		}
		if comm, err := os.ReadFile(d + "/comm"); err != nil || !match(string(comm)) {
			continue
		}
		var set unix.CPUSet
		if unix.SchedGetaffinity(pid, &set) != nil || set.Count() >= allowed.Count() {
			continue
		}
		for c := range len(set) * 64 {
			if set.IsSet(c) && allowed.IsSet(c) {
				load[c]++
			}
		}
	}
}

// SetProcess sets the affinity of every thread of the process to set.
// Threads started meanwhile inherit the mask of the thread that starts
// them, so a second pass catches those started from a thread not yet
// set. The kernel's io_uring workers refuse a mask (EINVAL); threads gone
// meanwhile are skipped.
func SetProcess(set unix.CPUSet) error {
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			err = unix.SchedSetaffinity(tid, &set)
			if err != nil && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("sched_setaffinity thread %d: %w", tid, err)
			}
		}
	}
	return nil
}

// String is the set as a CPU list ("0-1,3"), as /proc shows one.
func String(set unix.CPUSet) string {
	var parts []string
	n := len(set) * 64
	for c := 0; c < n; c++ {
		if !set.IsSet(c) {
			continue
		}
		e := c
		for e+1 < n && set.IsSet(e+1) {
			e++
		}
		if e == c {
			parts = append(parts, strconv.Itoa(c))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", c, e))
		}
		c = e
	}
	return strings.Join(parts, ",")
}
