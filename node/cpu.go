package node

import (
	"errors"

	"golang.org/x/sys/unix"

	"udrbd/affinity"
	"udrbd/drbd"
)

// cpuState is what the node knows of CPU affinity: the CPUs it may use
// (its affinity at start) and the set last applied to its threads.
type cpuState struct {
	nbits   int         // nr_cpu_ids
	allowed unix.CPUSet // the process's affinity when the node was made
	applied unix.CPUSet // what SetProcess was last given
	ok      bool        // allowed was read: pinning is possible
}

func (n *Node) initCPUs() {
	n.cpu.nbits = affinity.Possible()
	if !n.opts.CPUAffinity || n.cpu.nbits < 2 {
		return
	}
	set, err := affinity.Current()
	if err != nil {
		n.log.Warn("cannot read the CPU affinity: threads are not pinned", "err", err)
		return
	}
	n.cpu.allowed, n.cpu.applied, n.cpu.ok = set, set, true
}

// resourceCPUs is the CPU part of set_resource_options: the CPUs of
// resource r from its cpu-mask, those the daemon may use. Empty means
// none named (or none that exists): r gets the least used CPU once it is
// pinned (pickCPU). A mask that is not hexadecimal is an error (r keeps
// its CPUs); one naming CPUs that do not exist is cut, with a warning, as
// the kernel does.
func (n *Node) resourceCPUs(r *Resource, mask string) (unix.CPUSet, error) {
	var set unix.CPUSet
	if n.cpu.nbits > 1 && mask != "" {
		var err error
		set, err = affinity.Parse(mask, n.cpu.nbits)
		switch {
		case errors.Is(err, affinity.ErrOverflow):
			n.log.Warn("cpu-mask overflows the CPUs, cut", "resource", r.name, "cpu-mask", mask, "cpus", affinity.String(set))
		case err != nil:
			n.log.Warn("cpu-mask", "resource", r.name, "cpu-mask", mask, "err", err)
			return set, err
		}
	}
	if !n.cpu.ok {
		return set, nil
	}
	use := and(set, n.cpu.allowed)
	if use.Count() == 0 && set.Count() > 0 {
		n.log.Warn("cpu-mask names no CPU the daemon may use: it picks one", "resource", r.name, "cpu-mask", mask)
	}
	return use, nil
}

// pickCPU is drbd_calc_cpu_mask for r, at the time it is first pinned:
// the CPU the fewest resources use, those of the host's other udrbd
// daemons counted by their pinned threads. The kernel picks when the
// resource is made, counting every resource of the host; here two nodes
// on one host (under test) make their resources before either is pinned,
// and would both take the first CPU.
func (n *Node) pickCPU(r *Resource) unix.CPUSet {
	load := map[int]int{}
	for _, o := range n.resources {
		if o == r {
			continue
		}
		for c := range n.cpu.nbits {
			if o.cpus.IsSet(c) {
				load[c]++
			}
		}
	}
	affinity.Others(n.cpu.allowed, load)
	var one unix.CPUSet
	if c := affinity.Pick(n.cpu.allowed, load); c >= 0 {
		one.Set(c)
	}
	return one
}

func and(a, b unix.CPUSet) unix.CPUSet {
	var out unix.CPUSet
	for i := range a {
		out[i] = a[i] & b[i]
	}
	return out
}

// applyCPUs pins the daemon's threads to the union of the CPUs of its
// resources that have a connection configured; with none, to all the
// CPUs it may use. The kernel pins the threads of a resource's
// connection (receiver, ack receiver, sender): a standalone resource's
// IO runs in the submitter's context there, on any CPU. Here that IO is
// the daemon's own (ublk queue and request goroutines), and one CPU for
// it cost a single node a quarter of its 4 KiB write IOPS and a third of
// its 1 MiB reads in the test VM; with a connection, one CPU per node
// gained a pair 16-30 %. Called with n.mu held.
func (n *Node) applyCPUs() {
	if !n.cpu.ok {
		return
	}
	var want unix.CPUSet
	for _, r := range n.resources {
		if r.netConf == nil {
			continue
		}
		if r.cpus.Count() == 0 {
			r.cpus = n.pickCPU(r)
		}
		for i := range want {
			want[i] |= r.cpus[i]
		}
	}
	want = and(want, n.cpu.allowed)
	if want.Count() == 0 {
		want = n.cpu.allowed
	}
	if want == n.cpu.applied {
		return
	}
	if err := affinity.SetProcess(want); err != nil {
		n.log.Warn("cannot pin the daemon's threads", "cpus", affinity.String(want), "err", err)
		return
	}
	n.cpu.applied = want
	pinned := want != n.cpu.allowed
	n.pinned.Store(pinned)
	if pinned && n.unbound.Load() == nil {
		n.unbound.Store(newUnboundWriters(n.cpu.allowed, min(n.cpu.allowed.Count(), 4)))
	}
	n.log.Info("daemon threads pinned", "cpus", affinity.String(want))
}

// unboundFor is the unbound writers that take io's local write, or nil
// when it is written where it arrives.
func (n *Node) unboundFor(io *IO) *unboundWriters {
	if io.Op != OpWrite || io.Length < unboundMin || !n.pinned.Load() {
		return nil
	}
	return n.unbound.Load()
}

// cpuMaskError is the reply to a cpu-mask set_resource_options refused:
// resource-options answers ERR_INVALID_REQUEST; new-resource, whose
// conn_create fails on it, ERR_NOMEM.
func cpuMaskError(create bool) drbd.RetCode {
	if create {
		return drbd.ErrNoMem
	}
	return drbd.ErrInvalidRequest
}
