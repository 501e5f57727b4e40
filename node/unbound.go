package node

import (
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// unboundMin is the smallest local write of a pinned daemon that goes to
// the unbound writers. Smaller ones are written where they arrive: for them
// the handoff costs more than the copy (a 4 KiB randwrite lost 6 % to it).
const unboundMin = 64 << 10

// unboundWriters write large local writes on threads allowed on every CPU
// the daemon may use, as the kernel's loop device copies a bio into its
// backing file from an unbound workqueue. A connected daemon runs pinned to
// its resources' CPUs (usually one); there the ublk queue, the sender and
// the copy of each write into the backing file took turns on that one CPU,
// and 1 MiB writes ran at half the kernel pair's rate whenever the
// application shared the other CPU with the peer's daemon.
//
// Each writer is a goroutine locked to its thread; it sets the thread's
// affinity before each write, because pinning the daemon again (a resource
// connects or its cpu-mask changes) sets every thread of the process.
type unboundWriters struct {
	cpus unix.CPUSet
	jobs chan unboundJob
	wg   sync.WaitGroup
	once sync.Once
	ran  atomic.Uint64 // jobs done
}

type unboundJob struct {
	fn   func() bool
	done chan<- bool
}

// newUnboundWriters starts n writers allowed on cpus.
func newUnboundWriters(cpus unix.CPUSet, n int) *unboundWriters {
	u := &unboundWriters{cpus: cpus, jobs: make(chan unboundJob, 64)}
	u.wg.Add(n)
	for range n {
		go u.run()
	}
	return u
}

func (u *unboundWriters) run() {
	defer u.wg.Done()
	// Never unlocked: the thread's affinity is not the process's, so it
	// ends with the goroutine instead of running others.
	runtime.LockOSThread()
	for j := range u.jobs {
		_ = unix.SchedSetaffinity(0, &u.cpus) // best effort: on failure the write runs where the thread is
		ok := j.fn()
		u.ran.Add(1)
		j.done <- ok
	}
}

// start runs fn on a writer; its result arrives on the channel returned.
func (u *unboundWriters) start(fn func() bool) <-chan bool {
	done := make(chan bool, 1)
	u.jobs <- unboundJob{fn: fn, done: done}
	return done
}

// stop ends the writers once the jobs queued are done. Nothing may start
// a job after it.
func (u *unboundWriters) stop() {
	u.once.Do(func() { close(u.jobs) })
	u.wg.Wait()
}
