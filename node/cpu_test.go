package node

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"udrbd/affinity"
	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/internal/mdtest"
)

func cpuMask(m string) *genl.ResOpts {
	o := &genl.ResOpts{CPUMask: m}
	o.Present.Add(genl.ResOptsCPUMask)
	return o
}

// threadsOn reports whether every thread of the process may run exactly on set.
func threadsOn(t *testing.T, set unix.CPUSet) bool {
	t.Helper()
	var got unix.CPUSet
	for _, tid := range threadIDs(t) {
		if unix.SchedGetaffinity(tid, &got) == nil && got != set {
			return false
		}
	}
	return true
}

// twoCPUs returns the process's affinity, restored when t ends; it skips t
// on a machine with fewer than two CPUs.
func twoCPUs(t *testing.T) unix.CPUSet {
	t.Helper()
	orig, err := affinity.Current()
	if err != nil {
		t.Fatal(err)
	}
	if orig.Count() < 2 || affinity.Possible() < 2 {
		t.Skip("needs two CPUs")
	}
	t.Cleanup(func() { _ = affinity.SetProcess(orig) })
	return orig
}

// connectNowhere connects resource name to a port nobody listens on: the
// connection is configured (WFConnection), which is what pinning needs.
func connectNowhere(e *env, name string) {
	e.t.Helper()
	cc := res(name)
	cc.CtxMyAddr = sockaddrIn(e.t, fmt.Sprintf("127.0.0.1:%d", freePort(e.t)))
	cc.CtxPeerAddr = sockaddrIn(e.t, fmt.Sprintf("127.0.0.1:%d", freePort(e.t)))
	cc.Present.Add(genl.CfgContextCtxMyAddr, genl.CfgContextCtxPeerAddr)
	nc := &genl.NetConf{ConnectInt: 1}
	nc.Present.Add(genl.NetConfConnectInt)
	e.want(e.req(genl.CmdConnect, genl.MinorNone, cc, nc), success, "connect "+name)
}

// cpu-mask is set_resource_options: a mask that does not parse is refused
// (new-resource answers ERR_NOMEM as conn_create's failure, resource-options
// ERR_INVALID_REQUEST) and changes nothing. The daemon's threads go to
// the CPUs of its connected resources, one each, the least used, when the
// resource names none; back to all once none is connected.
func TestCPUMask(t *testing.T) {
	orig := twoCPUs(t)
	dir := t.TempDir()
	e := start(t, dir, &fakeLayer{}, func(o *Options) { o.CPUAffinity = true })

	e.want(e.req(genl.CmdNewResource, genl.MinorNone, res("bad"), cpuMask("zz")), drbd.Reply(drbd.ErrNoMem), "new-resource --cpu-mask=zz")
	if e.n.resource("bad") != nil {
		t.Fatal("resource made with a bad cpu-mask")
	}
	e.want(e.req(genl.CmdNewResource, genl.MinorNone, res("r0")), noError, "new-resource r0")
	e.want(e.req(genl.CmdNewMinor, 0, res("r0", 0)), noError, "new-minor 0")
	if !threadsOn(t, orig) {
		t.Fatal("threads pinned for a standalone resource")
	}
	connectNowhere(e, "r0")
	first := affinity.Pick(orig, nil)
	var one unix.CPUSet
	one.Set(first)
	if !threadsOn(t, one) {
		t.Fatalf("threads not on CPU %d after connect", first)
	}

	// a second connected resource takes the other CPU: the daemon runs on both
	e.want(e.req(genl.CmdNewResource, genl.MinorNone, res("r1")), noError, "new-resource r1")
	e.want(e.req(genl.CmdNewMinor, 1, res("r1", 0)), noError, "new-minor 1")
	connectNowhere(e, "r1")
	e.n.mu.Lock()
	r1 := e.n.resources["r1"].cpus
	e.n.mu.Unlock()
	if r1.IsSet(first) || r1.Count() != 1 {
		t.Fatalf("r1 on %s, want a CPU other than %d", affinity.String(r1), first)
	}
	e.want(e.req(genl.CmdDisconnect, genl.MinorNone, res("r1")), noError, "disconnect r1")
	if !threadsOn(t, one) {
		t.Fatal("threads not back on r0's CPU after r1's disconnect")
	}

	e.want(e.req(genl.CmdResourceOpts, genl.MinorNone, res("r0"), cpuMask("x1")), drbd.Reply(drbd.ErrInvalidRequest), "resource-options --cpu-mask=x1")
	e.n.mu.Lock()
	mask0, cpus0 := e.n.resources["r0"].opts.CPUMask, e.n.resources["r0"].cpus
	e.n.mu.Unlock()
	if mask0 != "" || cpus0 != one {
		t.Fatalf("refused cpu-mask changed r0: %q on %s", mask0, affinity.String(cpus0))
	}
	// a mask naming every CPU, and more, is cut and unpins
	e.want(e.req(genl.CmdResourceOpts, genl.MinorNone, res("r0"), cpuMask("ffffffff")), noError, "resource-options --cpu-mask=ffffffff")
	if !threadsOn(t, orig) {
		t.Fatal("threads still pinned under cpu-mask ffffffff")
	}
	e.want(e.req(genl.CmdResourceOpts, genl.MinorNone, res("r0"), cpuMask("")), noError, "resource-options --cpu-mask=")
	if !threadsOn(t, one) {
		t.Fatal("threads not pinned again with an empty cpu-mask")
	}
	e.want(e.req(genl.CmdDisconnect, genl.MinorNone, res("r0")), noError, "disconnect r0")
	if !threadsOn(t, orig) {
		t.Fatal("threads still pinned with no connected resource")
	}
}

func threadIDs(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		if id, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// A pinned daemon's large local writes run on threads allowed on every
// CPU the daemon may use, also after it was pinned again (which sets every
// thread); small writes, and an unpinned daemon's, stay where they arrive.
func TestUnboundWrites(t *testing.T) {
	orig := twoCPUs(t)
	dir := t.TempDir()
	disk := mdtest.Disk(t, dir, 64<<20)
	e := start(t, dir, &fakeLayer{}, func(o *Options) { o.CPUAffinity = true })
	d := e.up(disk, 7)
	big := &IO{Op: OpWrite, Length: 1 << 20}
	if e.n.unboundFor(big) != nil {
		t.Fatal("unbound writes for a daemon that is not pinned")
	}
	connectNowhere(e, "r0")
	u := e.n.unboundFor(big)
	if u == nil {
		t.Fatal("no unbound writes for a pinned daemon")
	}
	if e.n.unboundFor(&IO{Op: OpWrite, Length: unboundMin - 4096}) != nil {
		t.Fatal("a small write goes to the unbound writers")
	}
	var one unix.CPUSet
	one.Set(affinity.Pick(orig, nil))
	for range 4 {
		var got unix.CPUSet
		if ok := <-u.start(func() bool { return unix.SchedGetaffinity(0, &got) == nil }); !ok || got != orig {
			t.Fatalf("an unbound writer runs on %s, want %s", affinity.String(got), affinity.String(orig))
		}
		if err := affinity.SetProcess(one); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i*7 + i>>12)
	}
	before := u.ran.Load()
	if err := submit(d.h, OpWrite, 8<<20, buf); err != nil {
		t.Fatal(err)
	}
	if u.ran.Load() == before {
		t.Fatal("the 1 MiB write was not written by an unbound writer")
	}
	f, err := os.Open(disk)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, len(buf))
	if _, err := f.ReadAt(got, 8<<20); err != nil || !bytes.Equal(got, buf) {
		t.Fatalf("the 1 MiB write is not on the disk (%v)", err)
	}
}
