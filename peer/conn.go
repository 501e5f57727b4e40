package peer

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"udrbd/drbd"
	"udrbd/metadata"
	"udrbd/statemachine"
)

// Config is a connection's net_conf, in the units the code uses.
type Config struct {
	MyAddr, PeerAddr string // host:port

	Protocol     int // 1 (A), 2 (B), 3 (C)
	CramHMACAlg  string
	SharedSecret string
	IntegrityAlg string
	VerifyAlg    string
	CsumsAlg     string

	Timeout          time.Duration // timeout: ack and send timeout
	PingInt          time.Duration
	PingTimeout      time.Duration
	ConnectInt       time.Duration
	SockCheckTimeout time.Duration
	KoCount          int
	MaxBuffers       int // pages of 4 KiB a peer may have in flight here
	MaxEpochSize     int
	SndBuf, RcvBuf   int

	AfterSB0p, AfterSB1p, AfterSB2p drbd.AfterSBPolicy
	RRConflict                      drbd.AfterSBPolicy
	TwoPrimaries                    bool
	DiscardMyData                   bool
	Tentative                       bool
	AlwaysASBP                      bool
	UseRLE                          bool
}

// SyncConf is the part of a volume's disk_conf the resync reads and
// announces in P_SYNC_PARAM (resync-rate in KiB/s; c-plan-ahead and
// c-delay-target in 0.1 s; c-fill-target in sectors; c-max-rate and
// c-min-rate in KiB/s).
type SyncConf struct {
	ResyncRate   uint32
	CPlanAhead   uint32
	CDelayTarget uint32
	CFillTarget  uint32
	CMaxRate     uint32
	CMinRate     uint32
}

// Defaults of drbd_limits.h for a volume without a disk.
var DefaultSyncConf = SyncConf{ResyncRate: 250, CPlanAhead: 20, CDelayTarget: 10, CFillTarget: 100, CMaxRate: 102400, CMinRate: 250}

// Disk is the attached backing device as a connection uses it. Every
// method is called with a local-disk reference held. Offsets and sizes are
// in bytes, sectors in 512-byte units; the bitmap has one bit per 4 KiB.
type Disk interface {
	ReadAt(p []byte, off int64) error
	// WriteAt writes p; fua makes it durable before returning.
	WriteAt(p []byte, off int64, fua bool) error
	// Zero deallocates (discard) or zeroes the range.
	Zero(off, n int64, discard bool) error
	Flush() error

	UUIDs() metadata.UUIDSet
	// SetUUIDs replaces the UUID set in memory; SyncMD writes it.
	SetUUIDs(u metadata.UUIDSet)
	// Flags are the superblock's MDF_* flags.
	Flags() metadata.Flags
	SetFlags(set, clear metadata.Flags)
	SyncMD() error

	// MaxCapacity is drbd_get_max_capacity in sectors; UserSize the
	// disk_conf disk-size (0: none).
	MaxCapacity() uint64
	UserSize() uint64
	SyncConf() SyncConf

	// The bitmap.
	Bits() uint64
	Weight() uint64
	SetOutOfSync(sector uint64, size int) (newly uint64)
	SetInSync(sector uint64, size int) (cleared uint64)
	TestBit(bit uint64) bool
	// FindNext returns the first set bit at or after bit, or Bits().
	FindNext(bit uint64) uint64
	// Words returns a copy of the bitmap; OrWords ORs words into it.
	Words() []uint64
	OrWords(w []uint64)
	SetAll()
	WriteBitmap() error
}

// Volume is a local device (a DRBD minor) as its connection sees it.
type Volume interface {
	// VNR is the volume number.
	VNR() uint16
	Device() *statemachine.Device
	// Disk returns the backing device; only while a local reference is held.
	Disk() Disk
	// Capacity is the exposed device size in sectors.
	Capacity() uint64
	// SetCapacity changes the exposed size (a diskless node takes the
	// peer's). It fails while the device is in use.
	SetCapacity(sectors uint64) error
	// EdUUID is the effective data UUID (the current UUID of the data this
	// node exposes, kept when diskless).
	EdUUID() uint64
	SetEdUUID(u uint64)
	// InUse reports whether the block device is open (a demotion would fail).
	InUse() bool
	// Helper runs a usermode helper and returns its exit code.
	Helper(name string) int
	Logger() *slog.Logger
}

// Conn is the connection of one resource to its peer (struct
// drbd_connection): configuration, the volumes it replicates, and while
// connected a session with the two sockets and their goroutines.
type Conn struct {
	name string
	log  *slog.Logger

	mu   sync.Mutex
	conf Config
	// vols is copy-on-write: replaced whole (under mu) on each change,
	// read per packet without mu
	vols    atomic.Pointer[map[uint16]*PeerDevice]
	sess    *session // nil unless connected (or connecting)
	running bool
	cancel  context.CancelFunc
	stopped chan struct{}
	stats   ConnStats

	connHelper func(name string) int // fence-peer, unfence-peer (SetConnHelper)
	connectCnt atomic.Uint64         // connect_cnt: handshakes that reached WFReportParams
	noSplice   atomic.Bool           // SetSplice(false)
}

// ConnStats are counters for status output.
type ConnStats struct {
	Congested bool
}

// New returns an idle connection for the named resource.
func New(name string, log *slog.Logger) *Conn {
	if log == nil {
		log = slog.Default()
	}
	return &Conn{name: name, log: log.With("resource", name)}
}

// SetSplice chooses how large writes cross the data socket from the next
// connection on: by splice(2), without copying their data in and out of
// memory (the default, see splice.go), or by write(2) and read(2).
func (c *Conn) SetSplice(on bool) { c.noSplice.Store(!on) }

// Config returns the configuration in effect.
func (c *Conn) Config() Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conf
}

// SetConfig replaces the configuration; a running connection takes the
// timeouts at its next use and the rest at its next handshake.
func (c *Conn) SetConfig(conf Config) {
	c.mu.Lock()
	c.conf = conf
	c.mu.Unlock()
}

// AddVolume makes v part of the connection; the returned PeerDevice is the
// volume's side of it.
func (c *Conn) AddVolume(v Volume) *PeerDevice {
	c.mu.Lock()
	defer c.mu.Unlock()
	pd := newPeerDevice(c, v)
	c.changeVolsLocked(func(m map[uint16]*PeerDevice) { m[v.VNR()] = pd })
	return pd
}

// RemoveVolume drops a volume (del-minor).
func (c *Conn) RemoveVolume(vnr uint16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changeVolsLocked(func(m map[uint16]*PeerDevice) { delete(m, vnr) })
}

// changeVolsLocked replaces vols with a copy that f changed (c.mu held).
func (c *Conn) changeVolsLocked(f func(map[uint16]*PeerDevice)) {
	m := map[uint16]*PeerDevice{}
	if old := c.vols.Load(); old != nil {
		m = maps.Clone(*old)
	}
	f(m)
	c.vols.Store(&m)
}

// volumes returns the peer devices by volume number.
func (c *Conn) volumes() []*PeerDevice {
	m := c.vols.Load()
	if m == nil {
		return nil
	}
	out := make([]*PeerDevice, 0, len(*m))
	for _, pd := range *m {
		out = append(out, pd)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].vnr < out[j].vnr })
	return out
}

func (c *Conn) volume(vnr uint16) *PeerDevice {
	if m := c.vols.Load(); m != nil {
		return (*m)[vnr]
	}
	return nil
}

// session returns the current session, if any.
func (c *Conn) session() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// Connected reports whether a session is established (handshake done).
func (c *Conn) Connected() bool {
	s := c.session()
	return s != nil && s.alive()
}

// Agreed returns the agreed protocol version and features of the session.
func (c *Conn) Agreed() (version int, features uint32, ok bool) {
	s := c.session()
	if s == nil {
		return 0, 0, false
	}
	return s.agreed, s.features, true
}

// Running reports whether the connection is configured (not StandAlone).
func (c *Conn) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.running
}

// setConn is conn_request_state for every volume with a state word
// change computed from each volume's state.
func (c *Conn) change(f statemachine.ChgFlags, fn func(drbd.State) drbd.State) drbd.StateRV {
	rv := drbd.SSNothingToDo
	for _, pd := range c.volumes() {
		r := pd.dev().Change(f, fn)
		if r < drbd.SSSuccess {
			return r
		}
		if r == drbd.SSSuccess {
			rv = r
		}
	}
	return rv
}

func (c *Conn) setConn(cs drbd.ConnState, f statemachine.ChgFlags) drbd.StateRV {
	return c.change(f, func(s drbd.State) drbd.State { s.Conn = cs; return s })
}

// cstate is the connection state (the lowest over the volumes, as
// conn_lowest_conn; StandAlone without volumes).
func (c *Conn) cstate() drbd.ConnState {
	vols := c.volumes()
	if len(vols) == 0 {
		return drbd.CStandAlone
	}
	low := drbd.CMask
	for _, pd := range vols {
		if s := pd.dev().State().Conn; s < low {
			low = s
		}
	}
	return low
}

// Start is drbd_adm_connect after the configuration was stored: the
// volumes go Unconnected and the connection loop starts.
func (c *Conn) Start() error {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return fmt.Errorf("already connecting")
	}
	c.running = true
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.stopped = make(chan struct{})
	c.mu.Unlock()
	c.setConn(drbd.CUnconnected, statemachine.CSVerbose)
	go c.run(ctx)
	return nil
}

// Stop ends the connection loop and waits until the sockets are closed and
// every volume is StandAlone (the receiver's exit after C_DISCONNECTING).
func (c *Conn) Stop(ctx context.Context) {
	c.mu.Lock()
	if !c.running {
		c.mu.Unlock()
		return
	}
	cancel, stopped, s := c.cancel, c.stopped, c.sess
	c.mu.Unlock()
	cancel()
	if s != nil {
		s.abort(nil)
	}
	select {
	case <-stopped:
	case <-ctx.Done():
	}
}

// run is the receiver thread (drbd_receiver): connect, serve, clean up,
// again, until stopped.
func (c *Conn) run(ctx context.Context) {
	defer func() {
		c.setConn(drbd.CStandAlone, statemachine.CSVerbose|statemachine.CSHard)
		c.mu.Lock()
		c.running = false
		close(c.stopped)
		c.mu.Unlock()
		c.log.Info("receiver terminated")
	}()
	c.log.Info("receiver (re)started")
	for ctx.Err() == nil {
		s, verdict := c.connect(ctx)
		switch verdict {
		case connectRetry:
			c.disconnected(nil)
			sleep(ctx, time.Second)
			continue
		case connectGiveUp:
			if ctx.Err() == nil {
				c.log.Warn("Discarding network configuration.")
				c.setConn(drbd.CDisconnecting, statemachine.CSHard)
			}
			return
		}
		s.serve()
		c.disconnected(s)
		if s.stopReq() || ctx.Err() != nil {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
