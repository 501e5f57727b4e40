package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/peer"
)

// Options configure a Node.
type Options struct {
	// StateDir keeps the running configuration (state.json) so a restarted
	// daemon can take it back. Empty: nothing is persisted.
	StateDir string
	// Blocks creates the block devices (nil: none, for tests of the
	// control plane alone).
	Blocks BlockLayer
	// DevDir is where /dev/drbdN and /dev/drbd/by-res/RES/VOL symlinks go
	// ("" disables them). The daemon uses "/dev".
	DevDir string
	// BlockPath names the block device of a minor for the symlinks
	// (default /dev/ublkbN).
	BlockPath func(minor uint32) string
	// UsermodeHelper is the program the handlers run as (the kernel's
	// usermode_helper module parameter, there /sbin/drbdadm): it is called
	// as PROGRAM HANDLER minor-N, or PROGRAM HANDLER RESOURCE for the
	// connection's fence-peer and unfence-peer. "" runs nothing: every
	// handler then answers 0, as drbdadm does for one not configured.
	UsermodeHelper string
	// HelperTimeout bounds each handler call (0: DefaultHelperTimeout);
	// a handler still running then is killed with its process group.
	HelperTimeout time.Duration
	Logger        *slog.Logger
	// Observe, if set, returns the latency observer of a volume; it is
	// called when the minor is created (off the data path). Nil, or a
	// nil result: the volume's writes are not timed.
	Observe func(resource string, volume uint32) WriteObserver
	// CPUAffinity pins the daemon's threads to its resources' CPUs, as
	// DRBD pins each resource's threads to one CPU (cpu-mask, or the
	// least used CPU); false leaves them to the scheduler (tests). The
	// cpu-mask option is checked either way.
	CPUAffinity bool
	// NoSplice sends and receives large writes with write(2) and read(2),
	// copying them, instead of splice(2) (peer.Conn.SetSplice).
	NoSplice bool
}

// Multicaster sends events ("events" group of the genl family).
type Multicaster interface {
	Multicast(seq uint32, m *genl.Message) error
}

// Node is one host's DRBD: every resource and minor.
type Node struct {
	opts Options
	log  *slog.Logger

	mu        sync.Mutex // resources, minors
	resources map[string]*Resource
	minors    map[uint32]*Minor
	resSeq    uint64     // creation counter of resources
	confMu    sync.Mutex // serializes state.json writes

	mc      atomic.Pointer[Multicaster]
	evSeq   atomic.Uint32 // DRBD_EVENT sequence (drbd_genl_seq)
	notiSeq atomic.Uint32 // events2 sequence (notify_genl_seq)

	hmu      sync.Mutex // handler calls: Close waits for the running ones
	hdone    sync.Cond  // on hmu, when hrunning drops to 0
	hrunning int
	hclosed  bool // no more handler calls

	cpu cpuState // under mu
	// pinned is set while the threads are pinned to fewer CPUs than
	// allowed; unbound holds the writers started at the first pinning.
	pinned  atomic.Bool
	unbound atomic.Pointer[unboundWriters]
}

// Resource is a DRBD resource: options and volumes (its single
// connection stays StandAlone until replication exists).
type Resource struct {
	name string
	opts genl.ResOpts
	vols map[uint32]*Minor
	wo   atomic.Uint32 // write_ordering (woNone..woFlush), starts at flush

	created          uint64        // creation order: the kernel lists resources so
	conn             *peer.Conn    // the resource's one connection (StandAlone until connect)
	netConf          *genl.NetConf // set while connect is configured
	myAddr, peerAddr []byte        // the connect's sockaddrs, as given
	cpus             unix.CPUSet   // resource->cpu_mask: where its threads belong (under Node.mu)
}

// Write-ordering methods (enum write_ordering_e, as reported in
// res_stat_write_ordering).
const (
	woNone    = 0
	woDrain   = 1
	woFlush   = 2
	woBarrier = 3
)

// maxAllowedWO is max_allowed_wo: the strongest method a disk's options permit.
func maxAllowedWO(c *genl.DiskConf, wo uint32) uint32 {
	if wo == woBarrier && !c.DiskBarrier {
		wo = woFlush
	}
	if wo == woFlush && !c.DiskFlushes {
		wo = woDrain
	}
	if wo == woDrain && !c.DiskDrain {
		wo = woNone
	}
	return wo
}

// bumpWriteOrdering is the in-tree drbd_bump_write_ordering(WO_BDEV_FLUSH)
// of attach and disk-options: flush, limited by each attached disk's
// options (the in-tree driver has no barrier method).
func (r *Resource) bumpWriteOrdering(n *Node) {
	n.mu.Lock()
	vols := r.sortedVols()
	n.mu.Unlock()
	wo := uint32(woFlush)
	for _, v := range vols {
		if c := v.attachedConf(); c != nil {
			wo = maxAllowedWO(c, wo)
		}
	}
	r.wo.Store(wo)
}

// New returns an empty node.
func New(opts Options) *Node {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.BlockPath == nil {
		opts.BlockPath = func(minor uint32) string { return fmt.Sprintf("/dev/ublkb%d", minor) }
	}
	n := &Node{opts: opts, log: opts.Logger, resources: map[string]*Resource{}, minors: map[uint32]*Minor{}}
	n.hdone.L = &n.hmu
	n.initCPUs()
	n.evSeq.Store(2)
	n.notiSeq.Store(2)
	return n
}

// SetMulticaster connects the event broadcasts to the control socket.
func (n *Node) SetMulticaster(m Multicaster) { n.mc.Store(&m) }

func (n *Node) multicast(seq *atomic.Uint32, m *genl.Message) {
	p := n.mc.Load()
	if p == nil {
		return
	}
	if err := (*p).Multicast(seq.Add(1), m); err != nil {
		n.log.Debug("multicast", "err", err)
	}
}

// Close stops every minor's worker (the daemon's exit: block devices and
// backing devices are left as they are, for recovery).
func (n *Node) Close() {
	// Not under n.mu: a worker finishing its last state change reads the
	// node (events) before it stops.
	for _, m := range n.sortedMinors() {
		m.close()
	}
	for _, r := range n.sortedResources() {
		r.conn.Stop(context.Background())
	}
	if u := n.unbound.Load(); u != nil {
		u.stop() // the minors are closed: no write starts a job now
	}
	n.hmu.Lock()
	n.hclosed = true
	for n.hrunning > 0 {
		n.hdone.Wait()
	}
	n.hmu.Unlock()
}

func (n *Node) resource(name string) *Resource {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.resources[name]
}

func (n *Node) minor(nr uint32) *Minor {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.minors[nr]
}

// sortedResources returns the resources in the order they were created,
// the order of the kernel's resource list.
func (n *Node) sortedResources() []*Resource {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*Resource, 0, len(n.resources))
	for _, r := range n.resources {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].created < out[j].created })
	return out
}

// sortedMinors returns the minors by number.
func (n *Node) sortedMinors() []*Minor {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*Minor, 0, len(n.minors))
	for _, m := range n.minors {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].minor < out[j].minor })
	return out
}

func (r *Resource) sortedVols() []*Minor {
	out := make([]*Minor, 0, len(r.vols))
	for _, m := range r.vols {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].vol < out[j].vol })
	return out
}

// newResource is drbd_adm_new_resource: existing is no error.
func (n *Node) newResource(name string, opts *genl.ResOpts) (drbd.RetCode, string) {
	if name == "" {
		return drbd.ErrMandatoryTag, "resource name missing"
	}
	if strings.Contains(name, "/") {
		return drbd.ErrInvalidRequest, "invalid resource name"
	}
	n.mu.Lock()
	if _, ok := n.resources[name]; ok {
		n.mu.Unlock()
		return drbd.NoError, ""
	}
	n.resSeq++
	r := &Resource{name: name, vols: map[uint32]*Minor{}, conn: peer.New(name, n.log), created: n.resSeq}
	r.conn.SetSplice(!n.opts.NoSplice)
	r.wo.Store(woFlush)
	r.conn.SetConnHelper(func(h string) int { return n.runConnHelper(r, h) })
	genl.SetDefaults(&r.opts)
	if opts != nil {
		genl.Overlay(&r.opts, opts)
	}
	cpus, err := n.resourceCPUs(r, r.opts.CPUMask)
	if err != nil {
		n.mu.Unlock()
		return cpuMaskError(true), ""
	}
	r.cpus = cpus // pinned once it has a connection (applyCPUs)
	n.resources[name] = r
	n.mu.Unlock()
	n.log.Info("resource created", "resource", name)
	n.notifyResource(r, genl.NotifyCreate)
	n.saveConfig()
	return drbd.NoError, ""
}

const (
	minorMask = 1<<20 - 1 // MINORMASK
	volumeMax = 65535     // DRBD_VOLUME_MAX
)

// newMinor is drbd_adm_new_minor.
func (n *Node) newMinor(r *Resource, minor, vol uint32) (drbd.RetCode, string) {
	if minor > minorMask {
		return drbd.ErrInvalidRequest, "requested minor out of range"
	}
	if vol > volumeMax {
		return drbd.ErrInvalidRequest, "requested volume-id out of range"
	}
	n.mu.Lock()
	if m, ok := n.minors[minor]; ok {
		n.mu.Unlock()
		if m.res == r && m.vol == vol {
			return drbd.NoError, ""
		}
		return drbd.ErrMinorOrVolumeExists, ""
	}
	if _, ok := r.vols[vol]; ok {
		n.mu.Unlock()
		return drbd.ErrMinorOrVolumeExists, ""
	}
	m := newMinor(n, r, minor, vol)
	n.minors[minor] = m
	r.vols[vol] = m
	n.mu.Unlock()
	n.makeLinks(m)
	n.log.Info("minor created", "resource", r.name, "minor", minor, "volume", vol)
	n.notifyDevice(m, genl.NotifyCreate)
	n.saveConfig()
	return drbd.NoError, ""
}

// delMinor is adm_del_minor: only a Diskless Secondary may go.
func (n *Node) delMinor(m *Minor) (drbd.RetCode, string) {
	s := m.dev.State()
	if s.Disk != drbd.DDiskless || s.Role != drbd.RSecondary {
		return drbd.ErrMinorConfigured, ""
	}
	if err := m.removeBlock(); err != nil {
		n.log.Error("cannot remove block device", "minor", m.minor, "err", err)
		return drbd.ErrMinorConfigured, err.Error()
	}
	n.mu.Lock()
	delete(n.minors, m.minor)
	delete(m.res.vols, m.vol)
	n.mu.Unlock()
	m.res.conn.RemoveVolume(uint16(m.vol))
	m.setPeerDevice(nil)
	n.removeLinks(m)
	n.notifyDevice(m, genl.NotifyDestroy)
	m.close()
	n.log.Info("minor deleted", "minor", m.minor)
	n.saveConfig()
	return drbd.NoError, ""
}

// delResource is adm_del_resource.
func (n *Node) delResource(r *Resource) (drbd.RetCode, string) {
	n.mu.Lock()
	if len(r.vols) > 0 {
		n.mu.Unlock()
		return drbd.ErrResInUse, ""
	}
	delete(n.resources, r.name)
	n.applyCPUs()
	n.mu.Unlock()
	n.notifyResource(r, genl.NotifyDestroy)
	n.log.Info("resource deleted", "resource", r.name)
	n.saveConfig()
	return drbd.NoError, ""
}

// down is drbd_adm_down: demote every volume, disconnect, detach and
// delete every volume, then the resource.
func (n *Node) down(ctx context.Context, r *Resource) (drbd.Reply, string) {
	n.mu.Lock()
	vols := r.sortedVols()
	n.mu.Unlock()
	for _, m := range vols {
		rep := m.setRole(ctx, drbd.RSecondary, false)
		if drbd.StateRV(rep) < drbd.SSSuccess {
			return rep, "failed to demote"
		}
	}
	if rep := n.disconnect(ctx, r, false); rep != drbd.Reply(drbd.NoError) {
		return rep, "failed to disconnect"
	}
	for _, m := range vols {
		rep := m.dev.Detach(ctx, false)
		if drbd.StateRV(rep) < drbd.SSSuccess || rep > drbd.Reply(drbd.NoError) {
			return rep, "failed to detach"
		}
		if code, info := n.delMinor(m); code != drbd.NoError {
			return drbd.Reply(code), info
		}
	}
	code, info := n.delResource(r)
	return drbd.Reply(code), info
}

func (n *Node) makeLinks(m *Minor) {
	if n.opts.DevDir == "" {
		return
	}
	target := n.opts.BlockPath(m.minor)
	link := filepath.Join(n.opts.DevDir, fmt.Sprintf("drbd%d", m.minor))
	byRes := filepath.Join(n.opts.DevDir, "drbd", "by-res", m.res.name, fmt.Sprint(m.vol))
	for _, l := range []string{link, byRes} {
		_ = os.MkdirAll(filepath.Dir(l), 0o755)
		_ = os.Remove(l)
		if err := os.Symlink(target, l); err != nil {
			n.log.Warn("symlink", "link", l, "err", err)
		}
	}
}

func (n *Node) removeLinks(m *Minor) {
	if n.opts.DevDir == "" {
		return
	}
	_ = os.Remove(filepath.Join(n.opts.DevDir, fmt.Sprintf("drbd%d", m.minor)))
	dir := filepath.Join(n.opts.DevDir, "drbd", "by-res", m.res.name)
	_ = os.Remove(filepath.Join(dir, fmt.Sprint(m.vol)))
	_ = os.Remove(dir) // only if empty
}
