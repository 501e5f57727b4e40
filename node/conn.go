package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"net"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/metadata"
	"udrbd/peer"
	"udrbd/statemachine"
)

// ---- the minor as the connection's Volume ----

var _ peer.Volume = (*Minor)(nil)

func (m *Minor) VNR() uint16                       { return uint16(m.vol) }
func (m *Minor) Device() *statemachine.Device      { return m.dev }
func (m *Minor) Logger() *slog.Logger              { return m.log }
func (m *Minor) InUse() bool                       { return m.inUse() }
func (m *Minor) Helper(name string) int            { return m.n.runHelper(m, name) }
func (m *Minor) EdUUID() uint64                    { m.mu.Lock(); defer m.mu.Unlock(); return m.edUUID }
func (m *Minor) SetEdUUID(u uint64)                { m.mu.Lock(); m.edUUID = u; m.mu.Unlock() }
func (m *Minor) peerDevice() *peer.PeerDevice      { return m.pd.Load() }
func (m *Minor) setPeerDevice(pd *peer.PeerDevice) { m.pd.Store(pd) }

// Disk returns the attached backing device (a local reference is held).
func (m *Minor) Disk() peer.Disk {
	if l := m.ld(); l != nil {
		return l
	}
	return nil
}

// Capacity is the exposed size in sectors: the block device's, else the
// attached disk's. The data path calls it: it takes no lock but the
// state engine's.
func (m *Minor) Capacity() uint64 {
	if size := m.exposed.Load(); size != 0 {
		return size
	}
	if m.dev.GetLdevIfState(drbd.DFailed) {
		defer m.dev.PutLdev()
		if l := m.ld(); l != nil {
			return l.capacity
		}
	}
	return 0
}

// SetCapacity changes the exposed size: the block device is made anew,
// which only works while nobody has it open.
func (m *Minor) SetCapacity(sectors uint64) error {
	m.mu.Lock()
	b := m.block
	m.mu.Unlock()
	if b == nil {
		m.exposed.Store(sectors)
		return nil
	}
	if uint64(b.Size())>>9 == sectors {
		return nil
	}
	if b.InUse() {
		return errors.New("the device is in use")
	}
	if l := m.ld(); l != nil && sectors > l.capacity {
		return fmt.Errorf("%d sectors exceed the local disk (%d)", sectors, l.capacity)
	}
	return m.ensureBlock(int64(sectors << 9))
}

// minorPeer is the Device's view of the replication layer: the cluster-wide
// half of state changes goes to the minor's peer device, if any.
type minorPeer struct{ m *Minor }

func (p minorPeer) RequestStateChange(ctx context.Context, ch statemachine.Change) drbd.StateRV {
	if pd := p.m.peerDevice(); pd != nil {
		return pd.RequestStateChange(ctx, ch)
	}
	return drbd.SSCWFailedByPeer
}

func (p minorPeer) TryOutdatePeer(ctx context.Context) bool {
	if pd := p.m.peerDevice(); pd != nil {
		return pd.TryOutdatePeer(ctx)
	}
	return false
}

// ---- the backing device as the connection's Disk ----

var _ peer.Disk = (*ldev)(nil)

func (l *ldev) ReadAt(p []byte, off int64) error {
	_, err := l.data.ReadAt(p, off)
	return err
}

func (l *ldev) WriteAt(p []byte, off int64, fua bool) error {
	if _, err := l.data.WriteAt(p, off); err != nil {
		return err
	}
	if fua && l.cfg().DiskFlushes {
		return unix.Fdatasync(int(l.data.Fd()))
	}
	return nil
}

// InlineWrites implements peer.InlineWriter: a file's writes go to the
// page cache; a block device's go around it (O_DIRECT) and wait for it.
func (l *ldev) InlineWrites() bool { return l.direct == nil }

// SpliceFd implements peer.SpliceTarget: a file's descriptor, which the
// receiver splices large writes of the peer into.
func (l *ldev) SpliceFd() (int, bool) {
	if l.direct != nil {
		return -1, false
	}
	return int(l.data.Fd()), true
}

func (l *ldev) Zero(off, n int64, discard bool) error {
	return zeroRange(l, off, n, !discard)
}

func (l *ldev) Flush() error {
	if !l.cfg().DiskFlushes {
		return nil
	}
	return unix.Fdatasync(int(l.data.Fd()))
}

func (l *ldev) UUIDs() metadata.UUIDSet {
	l.mu.Lock()
	defer l.mu.Unlock()
	return metadata.UUIDSet(l.sb.UUID)
}

func (l *ldev) SetUUIDs(u metadata.UUIDSet) {
	l.mu.Lock()
	l.sb.UUID = u
	l.mdDirty = true
	l.mu.Unlock()
}

func (l *ldev) Flags() metadata.Flags {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb.Flags
}

func (l *ldev) SetFlags(set, clear metadata.Flags) {
	l.mu.Lock()
	if f := l.sb.Flags&^clear | set; f != l.sb.Flags {
		l.sb.Flags = f
		l.mdDirty = true
	}
	l.mu.Unlock()
}

func (l *ldev) SyncMD() error {
	l.mu.Lock()
	dirty := l.mdDirty
	l.mu.Unlock()
	if !dirty {
		return nil
	}
	return l.writeSuperblock()
}

func (l *ldev) MaxCapacity() uint64 { return l.capacity }
func (l *ldev) UserSize() uint64    { return l.cfg().DiskSize }

func (l *ldev) SyncConf() peer.SyncConf {
	c := l.cfg()
	return peer.SyncConf{ResyncRate: c.ResyncRate, CPlanAhead: c.CPlanAhead, CDelayTarget: c.CDelayTarget,
		CFillTarget: c.CFillTarget, CMaxRate: c.CMaxRate, CMinRate: c.CMinRate}
}

func (l *ldev) Bits() uint64 { return (l.capacity + 7) / 8 }

func (l *ldev) Weight() uint64 { return l.oos() }

func (l *ldev) SetOutOfSync(sector uint64, size int) uint64 {
	return l.setBits(sector, size, true)
}

func (l *ldev) SetInSync(sector uint64, size int) uint64 {
	return l.setBits(sector, size, false)
}

// setBits sets or clears the bits of whole 4 KiB blocks of a range (a
// partial block is never marked in sync, as drbd_set_in_sync rounds
// inwards) and returns how many bits changed.
func (l *ldev) setBits(sector uint64, size int, set bool) uint64 {
	if size <= 0 {
		return 0
	}
	lo, hi := sector, sector+uint64(size>>9)
	var first, last uint64 // [first, last)
	if set {
		first, last = lo>>3, (hi+7)>>3
	} else {
		first, last = (lo+7)>>3, hi>>3
		if hi == l.capacity {
			last = (hi + 7) >> 3 // the odd-sized end counts as a whole block
		}
	}
	nb := l.Bits()
	last = min(last, nb)
	n := uint64(0)
	l.mu.Lock()
	for b := first; b < last; b++ {
		if l.bm.Test(b) != set {
			if set {
				l.bm.Set(b)
			} else {
				l.bm.Clear(b)
			}
			l.bmDirty[b/(4096*8)] = true
			n++
		}
	}
	l.mu.Unlock()
	return n
}

func (l *ldev) TestBit(b uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return b < l.Bits() && l.bm.Test(b)
}

func (l *ldev) FindNext(b uint64) uint64 {
	nb := l.Bits()
	l.mu.Lock()
	defer l.mu.Unlock()
	for b < nb {
		w := l.bm[b/64] >> (b % 64)
		if w != 0 {
			b += uint64(bits.TrailingZeros64(w))
			return min(b, nb)
		}
		b = (b/64 + 1) * 64
	}
	return nb
}

func (l *ldev) Words() []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]uint64(nil), l.bm...)
}

func (l *ldev) OrWords(w []uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range min(len(w), len(l.bm)) {
		if n := l.bm[i] | w[i]; n != l.bm[i] {
			l.bm[i] = n
			l.bmDirty[uint64(i)*8/4096] = true
		}
	}
}

func (l *ldev) SetAll() {
	l.mu.Lock()
	nb := l.Bits()
	for b := uint64(0); b < nb; b++ {
		l.bm.Set(b)
	}
	l.markAllBitmapDirty()
	l.mu.Unlock()
}

func (l *ldev) WriteBitmap() error { return l.writeBitmap() }

// ---- connect, disconnect, net-options ----

// sockaddr decodes a struct sockaddr_in / sockaddr_in6 of the cfg context
// into host:port.
func sockaddr(b []byte) (string, error) {
	if len(b) < 2 {
		return "", errors.New("address missing")
	}
	switch binary.NativeEndian.Uint16(b) {
	case unix.AF_INET:
		if len(b) < 8 {
			return "", errors.New("short sockaddr_in")
		}
		port := binary.BigEndian.Uint16(b[2:])
		return net.JoinHostPort(net.IP(b[4:8]).String(), strconv.Itoa(int(port))), nil
	case unix.AF_INET6:
		if len(b) < 24 {
			return "", errors.New("short sockaddr_in6")
		}
		port := binary.BigEndian.Uint16(b[2:])
		return net.JoinHostPort(net.IP(b[8:24]).String(), strconv.Itoa(int(port))), nil
	}
	return "", fmt.Errorf("address family %d not supported", binary.NativeEndian.Uint16(b))
}

// peerConfig turns a net_conf into the connection's configuration.
func peerConfig(nc *genl.NetConf, my, peerAddr string) peer.Config {
	tenths := func(v uint32) time.Duration { return time.Duration(v) * 100 * time.Millisecond }
	return peer.Config{MyAddr: my, PeerAddr: peerAddr,
		Protocol: int(nc.WireProtocol), CramHMACAlg: nc.CramHMACAlg, SharedSecret: nc.SharedSecret,
		IntegrityAlg: nc.IntegrityAlg, VerifyAlg: nc.VerifyAlg, CsumsAlg: nc.CsumsAlg,
		Timeout: tenths(nc.Timeout), PingInt: time.Duration(nc.PingInt) * time.Second, PingTimeout: tenths(nc.PingTimeo),
		ConnectInt: time.Duration(nc.ConnectInt) * time.Second, SockCheckTimeout: tenths(nc.SockCheckTimeo),
		KoCount: int(nc.KoCount), MaxBuffers: int(nc.MaxBuffers), MaxEpochSize: int(nc.MaxEpochSize),
		SndBuf: int(nc.SndbufSize), RcvBuf: int(nc.RcvbufSize),
		AfterSB0p: drbd.AfterSBPolicy(nc.AfterSB0P), AfterSB1p: drbd.AfterSBPolicy(nc.AfterSB1P),
		AfterSB2p: drbd.AfterSBPolicy(nc.AfterSB2P), RRConflict: drbd.AfterSBPolicy(nc.RRConflict),
		TwoPrimaries: nc.TwoPrimaries, DiscardMyData: nc.DiscardMyData, Tentative: nc.Tentative,
		AlwaysASBP: nc.AlwaysASBP, UseRLE: nc.UseRLE}
}

// checkNetOptions is check_net_options plus what alloc_crypto refuses.
func checkNetOptions(nc *genl.NetConf, conf peer.Config) (drbd.RetCode, string) {
	if nc.TwoPrimaries {
		// Dual-primary conflict resolution is not implemented.
		return drbd.ErrInvalidRequest, "allow-two-primaries is not supported by udrbd"
	}
	if nc.DiscardMyData && nc.TwoPrimaries {
		return drbd.ErrDiscardImpossible, ""
	}
	if err := peer.CheckConfig(conf); err != nil {
		switch {
		case nc.CramHMACAlg != "" && conf.CramHMACAlg != "" && containsAlg(err, "cram-hmac-alg"):
			return drbd.ErrAuthAlg, err.Error()
		case containsAlg(err, "data-integrity-alg"):
			return drbd.ErrIntegrityAlg, err.Error()
		case containsAlg(err, "verify-alg"):
			return drbd.ErrVerifyAlg, err.Error()
		case containsAlg(err, "csums-alg"):
			return drbd.ErrCsumsAlg, err.Error()
		}
		return drbd.ErrInvalidRequest, err.Error()
	}
	return drbd.NoError, ""
}

func containsAlg(err error, what string) bool {
	s := err.Error()
	return len(s) >= len(what) && s[:len(what)] == what
}

// connect is drbd_adm_connect.
func (n *Node) connect(q *request) (drbd.Reply, string) {
	r := q.res
	cc := q.ctx
	if cc == nil || !cc.Present.Has(genl.CfgContextCtxMyAddr) || !cc.Present.Has(genl.CfgContextCtxPeerAddr) {
		return drbd.Reply(drbd.ErrInvalidRequest), "connection endpoint(s) missing"
	}
	my, err := sockaddr(cc.CtxMyAddr)
	if err != nil {
		return drbd.Reply(drbd.ErrInvalidRequest), err.Error()
	}
	pa, err := sockaddr(cc.CtxPeerAddr)
	if err != nil {
		return drbd.Reply(drbd.ErrInvalidRequest), err.Error()
	}
	for _, o := range n.sortedResources() {
		if o == r || !o.conn.Running() {
			continue
		}
		oc := o.conn.Config()
		if oc.MyAddr == my {
			return drbd.Reply(drbd.ErrLocalAddr), ""
		}
		if oc.PeerAddr == pa {
			return drbd.Reply(drbd.ErrPeerAddr), ""
		}
	}
	if r.conn.Running() {
		return drbd.Reply(drbd.ErrNetConfigured), ""
	}
	nc := &genl.NetConf{}
	genl.SetDefaults(nc)
	in, err := genl.Get[*genl.NetConf](q.r.Msg)
	if err != nil {
		return setErr(err)
	}
	if in != nil {
		if err := genl.CheckSet(in, false); err != nil {
			return setErr(err)
		}
		genl.Overlay(nc, in)
	}
	if code, text := checkNetOptions(nc, peerConfig(nc, my, pa)); code != drbd.NoError {
		return drbd.Reply(code), text
	}
	if err := n.startConnection(r, nc, cc.CtxMyAddr, cc.CtxPeerAddr); err != nil {
		return drbd.Reply(drbd.ErrNetConfigured), err.Error()
	}
	n.saveConfig()
	return drbd.Reply(drbd.SSSuccess), ""
}

// startConnection stores a checked net_conf and starts connecting (also
// what a restarted daemon does for a resource that was connected).
func (n *Node) startConnection(r *Resource, nc *genl.NetConf, myRaw, peerRaw []byte) error {
	my, err := sockaddr(myRaw)
	if err != nil {
		return err
	}
	pa, err := sockaddr(peerRaw)
	if err != nil {
		return err
	}
	n.mu.Lock()
	r.netConf = nc
	r.myAddr, r.peerAddr = myRaw, peerRaw
	vols := r.sortedVols()
	n.applyCPUs()
	n.mu.Unlock()
	r.conn.SetConfig(peerConfig(nc, my, pa))
	for _, m := range vols {
		c := m.dev.Config()
		c.HaveNetConf, c.TwoPrimaries, c.VerifyAlg = true, nc.TwoPrimaries, nc.VerifyAlg != ""
		c.AgreedProVersion = 101
		c.MaxBuffers = int(nc.MaxBuffers)
		c.PingTimeout = time.Duration(nc.PingTimeo) * 100 * time.Millisecond
		m.dev.SetConfig(c)
	}
	return r.conn.Start()
}

// connState requests a connection-wide change on every volume (the
// cluster-wide part goes to the peer once, through the first volume).
func (r *Resource) connState(ctx context.Context, n *Node, f statemachine.ChgFlags, ch statemachine.Change) drbd.StateRV {
	n.mu.Lock()
	vols := r.sortedVols()
	n.mu.Unlock()
	rv := drbd.SSNothingToDo
	for i, m := range vols {
		var v drbd.StateRV
		if i == 0 {
			v = m.dev.RequestState(ctx, ch, f)
		} else {
			v = m.dev.RequestState(ctx, ch, f|statemachine.CSHard)
		}
		if v < drbd.SSSuccess {
			return v
		}
		if v == drbd.SSSuccess {
			rv = v
		}
	}
	if len(vols) == 0 {
		if r.conn.Running() {
			return drbd.SSSuccess
		}
		return drbd.SSAlreadyStandAlone
	}
	return rv
}

// disconnect is drbd_adm_disconnect (conn_try_disconnect).
func (n *Node) disconnect(ctx context.Context, r *Resource, force bool) drbd.Reply {
	if !r.conn.Running() {
		return drbd.Reply(drbd.NoError) // SS_ALREADY_STANDALONE counts as success
	}
	f := statemachine.ChgFlags(0)
	if force {
		f = statemachine.CSHard
	}
	disc := statemachine.NSConn(drbd.CDisconnecting)
	rv := r.connState(ctx, n, f, disc)
	switch rv {
	case drbd.SSNothingToDo:
	case drbd.SSAlreadyStandAlone:
		rv = drbd.SSSuccess
	case drbd.SSPrimaryNOP:
		rv = r.connState(ctx, n, 0, disc.And(statemachine.NSPdsk(drbd.DOutdated)))
		if rv == drbd.SSOutdateWOConn {
			rv = r.connState(ctx, n, statemachine.CSVerbose, disc)
		}
	case drbd.SSCWFailedByPeer:
		rv = r.connState(ctx, n, 0, disc.And(statemachine.NSDisk(drbd.DOutdated)))
		if rv == drbd.SSIsDiskless || rv == drbd.SSLowerThanOutdated {
			r.connState(ctx, n, statemachine.CSHard, disc)
			rv = drbd.SSSuccess
		}
	}
	if rv < drbd.SSSuccess {
		return drbd.Reply(rv)
	}
	r.conn.Stop(ctx)
	n.mu.Lock()
	r.netConf = nil
	r.myAddr, r.peerAddr = nil, nil
	vols := r.sortedVols()
	n.applyCPUs()
	n.mu.Unlock()
	for _, m := range vols {
		c := m.dev.Config()
		c.HaveNetConf = false
		m.dev.SetConfig(c)
	}
	n.saveConfig()
	return drbd.Reply(drbd.NoError)
}

// netOptions is drbd_adm_net_opts: change the options of a configured
// connection; what the handshake negotiates takes effect at the next one.
func (n *Node) netOptions(q *request) (drbd.Reply, string) {
	r := q.res
	n.mu.Lock()
	cur := r.netConf
	n.mu.Unlock()
	if cur == nil || !r.conn.Running() {
		return drbd.Reply(drbd.ErrInvalidRequest), "resource is not connected"
	}
	nc := *cur
	if q.r.Msg.Flags&genl.FlagSetDefaults != 0 {
		nc = genl.NetConf{SharedSecret: cur.SharedSecret}
		genl.SetDefaults(&nc)
	}
	in, err := genl.Get[*genl.NetConf](q.r.Msg)
	if err != nil {
		return setErr(err)
	}
	if in != nil {
		if err := genl.CheckSet(in, true); err != nil {
			return setErr(err)
		}
		genl.Overlay(&nc, in)
	}
	old := r.conn.Config()
	conf := peerConfig(&nc, old.MyAddr, old.PeerAddr)
	if code, text := checkNetOptions(&nc, conf); code != drbd.NoError {
		return drbd.Reply(code), text
	}
	if old.Protocol != conf.Protocol && r.conn.Connected() {
		return drbd.Reply(drbd.ErrInvalidRequest), "changing the protocol of an established connection is not supported by udrbd"
	}
	n.mu.Lock()
	r.netConf = &nc
	n.mu.Unlock()
	r.conn.SetConfig(conf)
	n.saveConfig()
	return drbd.Reply(drbd.NoError), ""
}

// zeroRange zeroes (noUnmap) or deallocates a range of the backing data,
// falling back to writing zeros.
func zeroRange(l *ldev, off, n int64, noUnmap bool) error {
	mode := uint32(unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE)
	if noUnmap {
		mode = unix.FALLOC_FL_ZERO_RANGE | unix.FALLOC_FL_KEEP_SIZE
	}
	if err := unix.Fallocate(int(l.data.Fd()), mode, off, n); err == nil {
		return nil
	}
	z := alignedZeros(int(min(n, 1<<20)))
	for done := int64(0); done < n; {
		c := min(int64(len(z)), n-done)
		if _, err := l.data.WriteAt(z[:c], off+done); err != nil {
			return err
		}
		done += c
	}
	return nil
}

// resize is drbd_adm_resize's checks; udrbd does not change the size of a
// device yet, so a resize that would change it is refused, one that would
// not succeeds (and tells a connected peer the sizes again, as the kernel
// does).
func (m *Minor) resize(msg *genl.Message) (drbd.Reply, string) {
	if !m.dev.GetLdev() {
		return drbd.Reply(drbd.ErrNoDisk), ""
	}
	defer m.dev.PutLdev()
	l := m.ld()
	l.mu.Lock()
	stripes, stripeSize := l.sb.ALStripes, l.sb.ALStripeSize4k*4
	l.mu.Unlock()
	rs := genl.ResizeParms{ALStripes: stripes, ALStripeSize: stripeSize}
	in, err := genl.Get[*genl.ResizeParms](msg)
	if err != nil {
		return setErr(err)
	}
	if in != nil {
		genl.Overlay(&rs, in)
	}
	st := m.dev.State()
	if st.Conn > drbd.CConnected {
		return drbd.Reply(drbd.ErrResizeResync), ""
	}
	if st.Role == drbd.RSecondary && st.Peer == drbd.RSecondary {
		return drbd.Reply(drbd.ErrNoPrimary), ""
	}
	agreed, _, _ := m.res.conn.Agreed()
	if rs.NoResync && agreed < 93 {
		return drbd.Reply(drbd.ErrNeedAPV93), ""
	}
	if rs.ALStripes != stripes || rs.ALStripeSize != stripeSize {
		alK := rs.ALStripes * rs.ALStripeSize
		switch {
		case alK > 16*1024*1024:
			return drbd.Reply(drbd.ErrMDLayoutTooBig), ""
		case alK < 32:
			return drbd.Reply(drbd.ErrMDLayoutTooSmall), ""
		case st.Conn != drbd.CConnected && !rs.ResizeForce:
			return drbd.Reply(drbd.ErrMDLayoutConnected), ""
		}
		return drbd.Reply(drbd.ErrInvalidRequest), "changing the activity log layout is not supported by udrbd"
	}
	size := l.MaxCapacity()
	if rs.ResizeSize != 0 && rs.ResizeSize < size {
		size = rs.ResizeSize
	}
	if size != m.Capacity() || rs.ResizeSize != l.cfg().DiskSize {
		return drbd.Reply(drbd.ErrInvalidRequest), "changing the size of a device is not supported by udrbd yet"
	}
	if pd := m.peerDevice(); pd != nil && st.Conn == drbd.CConnected {
		pd.SendUUIDs()
		pd.SendSizes()
	}
	return drbd.Reply(drbd.NoError), ""
}
