package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"udrbd/drbd"
	"udrbd/metadata"
	"udrbd/proto"
	"udrbd/statemachine"
)

// PeerDevice is one volume's side of the connection (struct
// drbd_peer_device plus the per-device peer facts of struct drbd_device):
// what the peer told us about its copy, the handshake, the bitmap
// exchange and the resync.
type PeerDevice struct {
	c   *Conn
	v   Volume
	vnr uint16
	log *slog.Logger

	packetSeq     atomic.Uint32 // packet_seq of P_DATA
	newCurPending atomic.Bool   // NEW_CUR_UUID: the peer was lost while IO was suspended

	// statistics (peer_device_statistics): sectors sent and received,
	// requests waiting for the peer's answer, peer requests not yet answered
	sentSect, recvSect atomic.Uint64
	pending, unacked   atomic.Int32
	apInFlight         atomic.Int64 // sectors of application writes whose network half is not done

	// obs, if set, is told how long each replicated write's network half
	// took; set before the volume's first write (SetObserver)
	obs Observer

	mu           sync.Mutex
	pUUIDs       metadata.UUIDSet // p_uuid, valid while havePUUIDs
	pBits        uint64
	pFlags       uint64
	havePUUIDs   bool
	pSize        uint64 // peer's backing size (p_size)
	pMaxBio      uint32
	pSync        proto.SyncParam
	discardMy    bool // DISCARD_MY_DATA for this handshake
	considerRS   bool // CONSIDER_RESYNC
	crashedPrim  bool
	bmRecv       *proto.BitmapReceiver
	bmWords      []uint64
	rs           resync // resync and verify progress
	lastSentUUID metadata.UUIDSet

	writing rangeLock // application writes in flight, against resync reads
	peerIO  rangeLock // peer writes in flight here, applied in arrival order
	active  sync.WaitGroup
}

func newPeerDevice(c *Conn, v Volume) *PeerDevice {
	pd := &PeerDevice{c: c, v: v, vnr: v.VNR(), log: v.Logger()}
	pd.writing.init()
	pd.peerIO.init()
	return pd
}

func (pd *PeerDevice) dev() *statemachine.Device { return pd.v.Device() }

func (pd *PeerDevice) nextSeq() uint32 { return pd.packetSeq.Add(1) }

// disk returns the backing device with a reference at least min held, or nil.
func (pd *PeerDevice) getDisk(min drbd.DiskState) Disk {
	if !pd.dev().GetLdevIfState(min) {
		return nil
	}
	if d := pd.v.Disk(); d != nil {
		return d
	}
	pd.dev().PutLdev()
	return nil
}

func (pd *PeerDevice) putDisk() { pd.dev().PutLdev() }

// outOfSync marks blocks out of sync (drbd_set_out_of_sync).
func (pd *PeerDevice) outOfSync(sector uint64, size int) {
	if size <= 0 {
		return
	}
	if d := pd.getDisk(drbd.DInconsistent); d != nil {
		d.SetOutOfSync(sector, size)
		pd.putDisk()
	}
}

// inSync marks blocks in sync (drbd_set_in_sync) and counts resync progress.
func (pd *PeerDevice) inSync(sector uint64, size int) {
	if d := pd.getDisk(drbd.DInconsistent); d != nil {
		n := d.SetInSync(sector, size)
		pd.putDisk()
		pd.rsProgress(n)
	}
}

// Stats are the peer device's counters.
type Stats struct {
	SentSectors, ReceivedSectors uint64
	Pending, Unacked             uint32
	// sectors in flight: application writes handed to the peer whose
	// network half is not done (ap_in_flight), resync requests not yet
	// answered (rs_in_flight)
	APInFlightSectors, RSInFlightSectors uint64
}

// Stats returns the counters (send_cnt, recv_cnt, ap_pending_cnt plus
// rs_pending_cnt, unacked_cnt, ap_in_flight, rs_in_flight).
func (pd *PeerDevice) Stats() Stats {
	pd.rs.mu.Lock()
	rsInFlight := pd.rs.inFlight
	pd.rs.mu.Unlock()
	rsPending := rsInFlight >> 3
	return Stats{SentSectors: pd.sentSect.Load(), ReceivedSectors: pd.recvSect.Load(),
		Pending: uint32(max(pd.pending.Load(), 0) + int32(rsPending)), Unacked: uint32(max(pd.unacked.Load(), 0)),
		APInFlightSectors: uint64(max(pd.apInFlight.Load(), 0)), RSInFlightSectors: uint64(max(rsInFlight, 0))}
}

// Observer is told how long the network half of each replicated
// application write took: from StartWrite until the peer's answer the
// protocol waits for (B: P_RECV_ACK, C: P_WRITE_ACK), or until the data
// was sent (protocol A). Writes that fail on the network are not
// reported. It is called from the connection's goroutines: it must be
// quick and must not block.
type Observer interface {
	ObserveNetworkWrite(time.Duration)
}

// SetObserver sets the observer of the volume's replicated writes (nil:
// none); call it before the volume's first write.
func (pd *PeerDevice) SetObserver(o Observer) { pd.obs = o }

// PeerUUIDs returns what the peer last sent in P_UUIDS.
func (pd *PeerDevice) PeerUUIDs() (u metadata.UUIDSet, bits, flags uint64, ok bool) {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return pd.pUUIDs, pd.pBits, pd.pFlags, pd.havePUUIDs
}

// ---- drbd_connected: what we tell the peer about this volume ----

func (pd *PeerDevice) connected(s *session) {
	pd.packetSeq.Store(0)
	pd.mu.Lock()
	pd.discardMy = s.conf.DiscardMyData
	pd.mu.Unlock()
	_ = pd.sendSyncParam(s)
	_ = pd.sendSizes(s, false, 0)
	_ = pd.sendUUIDs(s, 0)
	_ = pd.sendState(s, pd.dev().State())
}

func (pd *PeerDevice) sendSyncParam(s *session) error {
	sc := DefaultSyncConf
	if d := pd.getDisk(drbd.DInconsistent); d != nil {
		sc = d.SyncConf()
		pd.putDisk()
	}
	p := proto.SyncParam{ResyncRate: sc.ResyncRate, VerifyAlg: s.conf.VerifyAlg, CsumsAlg: s.conf.CsumsAlg,
		CPlanAhead: sc.CPlanAhead, CDelayTarget: sc.CDelayTarget, CFillTarget: sc.CFillTarget, CMaxRate: sc.CMaxRate}
	return s.sendData(pd.vnr, proto.SyncParamCmd(s.agreed), p.Append(nil, s.agreed))
}

// sendSizes is drbd_send_sizes; triggerReply sends c_size 0.
func (pd *PeerDevice) sendSizes(s *session, triggerReply bool, ddsf uint16) error {
	var p proto.Sizes
	maxBio := uint32(proto.MaxBioSize)
	if d := pd.getDisk(drbd.DNegotiating); d != nil {
		p.DSize = d.MaxCapacity()
		p.USize = d.UserSize()
		pd.putDisk()
		p.Qlim.DiscardEnabled = 1
	}
	p.Qlim.PhysicalBlockSize, p.Qlim.LogicalBlockSize, p.Qlim.IOMin = 512, 512, 512
	maxBio = min(maxBio, uint32(proto.MaxBioSizeFor(s.agreed)))
	if !triggerReply {
		p.CSize = pd.v.Capacity()
	}
	p.MaxBioSize = maxBio
	p.DDSFlags = ddsf
	return s.sendData(pd.vnr, proto.CmdSizes, p.Append(nil, s.features))
}

// sendUUIDs is _drbd_send_uuids: only with a disk of at least Negotiating.
func (pd *PeerDevice) sendUUIDs(s *session, extraFlags uint64) error {
	d := pd.getDisk(drbd.DNegotiating)
	if d == nil {
		return nil
	}
	u := d.UUIDs()
	bits := d.Weight()
	crashed := d.Flags()&metadata.FlagCrashedPrimary != 0
	pd.putDisk()
	pd.mu.Lock()
	flags := extraFlags | UUIDFlags(pd.discardMy, crashed, pd.dev().Env().NewStateTmp.Disk, false)
	pd.lastSentUUID = u
	pd.mu.Unlock()
	p := proto.UUIDs{UUID: u, BitmapWeight: bits, Flags: flags}
	return s.sendData(pd.vnr, proto.CmdUUIDs, p.Append(nil))
}

func (pd *PeerDevice) sendState(s *session, st drbd.State) error {
	return s.sendData(pd.vnr, proto.CmdState, proto.State{State: st.Pack()}.Append(nil))
}

// SendState, SendUUIDs and SendSizes are the after-state-change sends
// (drbd_send_state and friends) the state engine asks for.
func (pd *PeerDevice) SendState(st drbd.State) {
	if s := pd.c.session(); s != nil && s.alive() {
		_ = pd.sendState(s, st)
	}
}

func (pd *PeerDevice) SendUUIDs() {
	if s := pd.c.session(); s != nil && s.alive() {
		_ = pd.sendUUIDs(s, 0)
	}
}

// CanSkipInitialSync reports whether the connection is up with protocol 90
// or later, which new-current-uuid --clear-bitmap needs to skip the
// initial sync while connected.
func (pd *PeerDevice) CanSkipInitialSync() bool {
	s := pd.c.session()
	return s != nil && s.alive() && s.agreed >= 90
}

// SendUUIDsSkipInitialSync sends our UUIDs with the skip-initial-sync
// flag (drbd_send_uuids_skip_initial_sync): a peer whose current UUID is
// still the just-created one takes ours and both disks become UpToDate.
func (pd *PeerDevice) SendUUIDsSkipInitialSync() error {
	s := pd.c.session()
	if s == nil || !s.alive() {
		return errors.New("not connected")
	}
	return pd.sendUUIDs(s, FlagSkipInitialSync)
}

func (pd *PeerDevice) SendSizes() {
	if s := pd.c.session(); s != nil && s.alive() {
		_ = pd.sendSizes(s, false, 0)
	}
}

// ---- what the peer tells us ----

func (pd *PeerDevice) gotSyncParam(s *session, p *proto.SyncParam) error {
	if s.agreed >= 88 && p.VerifyAlg != s.conf.VerifyAlg && s.c.cstate() == drbd.CWFReportParams {
		pd.log.Error(fmt.Sprintf("Different verify-alg settings. me=\"%s\" peer=\"%s\"", s.conf.VerifyAlg, p.VerifyAlg))
		return errDisconnect
	}
	if s.agreed >= 89 && p.CsumsAlg != s.conf.CsumsAlg && s.c.cstate() == drbd.CWFReportParams {
		pd.log.Error(fmt.Sprintf("Different csums-alg settings. me=\"%s\" peer=\"%s\"", s.conf.CsumsAlg, p.CsumsAlg))
		return errDisconnect
	}
	if p.VerifyAlg != "" && digestNew(p.VerifyAlg) == nil {
		pd.log.Error(fmt.Sprintf("Can not allocate \"%s\" as verify-alg", p.VerifyAlg))
		return errDisconnect
	}
	if p.CsumsAlg != "" && digestNew(p.CsumsAlg) == nil {
		pd.log.Error(fmt.Sprintf("Can not allocate \"%s\" as csums-alg", p.CsumsAlg))
		return errDisconnect
	}
	pd.mu.Lock()
	pd.pSync = *p
	pd.mu.Unlock()
	return nil
}

// gotSizes is receive_sizes, for what udrbd can do: agree on the smaller
// of the two disks while no data is exposed beyond it, accept the peer's
// size when diskless.
func (pd *PeerDevice) gotSizes(s *session, p *proto.Sizes) error {
	cur := pd.v.Capacity()
	pd.mu.Lock()
	pd.pSize = p.DSize
	pd.pMaxBio = p.MaxBioSize
	pd.mu.Unlock()
	st := pd.dev().State()
	if d := pd.getDisk(drbd.DNegotiating); d != nil {
		my := d.MaxCapacity()
		usize := d.UserSize()
		pd.putDisk()
		if st.Conn == drbd.CWFReportParams && p.USize != 0 && (usize == 0 || p.USize < usize) {
			usize = p.USize
		}
		newSize := my
		if p.DSize != 0 && p.DSize < newSize {
			newSize = p.DSize
		}
		if usize != 0 && usize < newSize {
			newSize = usize
		}
		if newSize < cur && st.Disk >= drbd.DOutdated && (st.Conn < drbd.CConnected || st.Pdsk == drbd.DDiskless) {
			pd.log.Error(fmt.Sprintf("The peer's disk size is too small! (%d < %d sectors)", newSize, cur))
			return errDisconnect
		}
		if newSize != cur {
			if err := pd.v.SetCapacity(newSize); err != nil {
				pd.log.Error(fmt.Sprintf("cannot change the device size from %d to %d sectors: %v", cur, newSize, err))
				if newSize < cur {
					return errDisconnect
				}
			}
		}
	} else {
		newSize := p.CSize
		if newSize == 0 {
			newSize = p.USize
		}
		if newSize == 0 {
			newSize = p.DSize
		}
		switch {
		case newSize == 0 || newSize == cur:
		case cur != 0 && p.DSize == 0:
			pd.log.Warn(fmt.Sprintf("Ignored diskless peer device size (peer:%d != me:%d sectors)!", newSize, cur))
		case newSize < cur && st.Role == drbd.RPrimary:
			pd.log.Error(fmt.Sprintf("The peer's device size is too small! (%d < %d sectors); demote me first!", newSize, cur))
			return errDisconnect
		default:
			if err := pd.v.SetCapacity(newSize); err != nil {
				pd.log.Error(fmt.Sprintf("cannot take the peer's size %d sectors: %v", newSize, err))
			}
		}
	}
	if st.Conn > drbd.CWFReportParams && p.CSize != pd.v.Capacity() {
		_ = pd.sendSizes(s, false, p.DDSFlags)
	}
	return nil
}

// gotUUIDs is receive_uuids.
func (pd *PeerDevice) gotUUIDs(s *session, p *proto.UUIDs) error {
	pd.mu.Lock()
	pd.pUUIDs = p.UUID
	pd.pBits = p.BitmapWeight
	pd.pFlags = p.Flags
	pd.havePUUIDs = true
	pd.mu.Unlock()
	st := pd.dev().State()
	if (st.Conn < drbd.CConnected || st.Pdsk == drbd.DDiskless) && st.Disk < drbd.DInconsistent &&
		st.Role == drbd.RPrimary && pd.v.EdUUID()&^1 != p.UUID[metadata.UICurrent]&^1 {
		pd.log.Error(fmt.Sprintf("Can only connect to data with current UUID=%016X", pd.v.EdUUID()))
		return errDisconnect
	}
	updated := false
	if d := pd.getDisk(drbd.DInconsistent); d != nil {
		u := d.UUIDs()
		if SkipInitialSync(st.Conn == drbd.CConnected, s.agreed, u, p.Flags) {
			pd.log.Info("Accepted new current UUID, preparing to skip initial sync")
			d.SetUUIDs(AcceptPeerCurrent(u, p.UUID[metadata.UICurrent], st.Role == drbd.RPrimary))
			pd.clearBitmap(d)
			pd.dev().Change(statemachine.CSVerbose, func(s drbd.State) drbd.State {
				s.Disk, s.Pdsk = drbd.DUpToDate, drbd.DUpToDate
				return s
			})
			_ = d.SyncMD()
			updated = true
		}
		pd.putDisk()
	} else if st.Disk < drbd.DInconsistent && st.Role == drbd.RPrimary {
		updated = pd.setEdUUID(p.UUID[metadata.UICurrent])
	}
	if st := pd.dev().State(); st.Conn >= drbd.CConnected && st.Disk < drbd.DInconsistent {
		updated = pd.setEdUUID(p.UUID[metadata.UICurrent]) || updated
	}
	if updated {
		pd.printUUIDs("receiver updated UUIDs to")
	}
	return nil
}

func (pd *PeerDevice) setEdUUID(u uint64) bool {
	if pd.v.EdUUID() == u {
		return false
	}
	pd.v.SetEdUUID(u)
	return true
}

func (pd *PeerDevice) clearBitmap(d Disk) {
	for b := d.FindNext(0); b < d.Bits(); b = d.FindNext(b + 1) {
		d.SetInSync(b<<3, 4096)
	}
	_ = d.WriteBitmap()
}

func (pd *PeerDevice) printUUIDs(text string) {
	if d := pd.getDisk(drbd.DNegotiating); d != nil {
		pd.log.Info(PrintUUIDs(text, d.UUIDs()))
		pd.putDisk()
		return
	}
	pd.log.Info(fmt.Sprintf("%s effective data uuid: %016X", text, pd.v.EdUUID()))
}

var (
	errDisconnect = errors.New("disconnect")
	errConnReset  = errors.New("connection reset")
)

// convertState is convert_state: the peer's view turned into ours.
func convertState(ps drbd.State) drbd.State {
	ms := ps
	switch ps.Conn {
	case drbd.CStartingSyncS:
		ms.Conn = drbd.CStartingSyncT
	case drbd.CStartingSyncT:
		ms.Conn = drbd.CStartingSyncS
	case drbd.CDisconnecting:
		ms.Conn = drbd.CTearDown
	case drbd.CVerifyS:
		ms.Conn = drbd.CVerifyT
	case drbd.CWFReportParams, drbd.CConnected, drbd.CMask:
	default:
		ms.Conn = drbd.CStandAlone // c_tab: every other entry is 0
	}
	ms.Peer, ms.Role = ps.Role, ps.Peer
	ms.Pdsk, ms.Disk = ps.Disk, ps.Pdsk
	ms.PeerIsp = ps.AftrIsp || ps.UserIsp
	return ms
}

// gotState is receive_state.
func (pd *PeerDevice) gotState(s *session, ps drbd.State) error {
	dev := pd.dev()
	realPeerDisk := ps.Disk
	pd.mu.Lock()
	pflags, have := pd.pFlags, pd.havePUUIDs
	pd.mu.Unlock()
	if ps.Disk == drbd.DNegotiating {
		realPeerDisk = RealPeerDisk(ps.Disk, pflags)
		pd.log.Info("real peer disk state = " + realPeerDisk.String())
	}
	os := dev.State()
	if os.Conn <= drbd.CTearDown {
		return errConnReset
	}
	if (os.Pdsk == drbd.DInconsistent || os.Pdsk == drbd.DConsistent) && realPeerDisk == drbd.DUpToDate &&
		os.Conn > drbd.CConnected && os.Disk == drbd.DUpToDate {
		if ps.Conn > drbd.CConnected && ps.Conn < drbd.CSyncSource {
			realPeerDisk = drbd.DInconsistent
		} else if os.Conn >= drbd.CSyncSource && ps.Conn == drbd.CConnected {
			if d := pd.getDisk(drbd.DInconsistent); d != nil {
				w := d.Weight()
				pd.putDisk()
				if w <= pd.rsFailed() {
					pd.resyncFinished()
				}
			}
			return nil
		}
	}
	if os.Conn == drbd.CVerifyT && os.Disk == drbd.DUpToDate && ps.Conn == drbd.CConnected && realPeerDisk == drbd.DUpToDate {
		pd.verifyPrintOOS()
		pd.resyncFinished()
		return nil
	}
	if os.Pdsk == drbd.DUpToDate && realPeerDisk == drbd.DInconsistent && os.Conn == drbd.CConnected && ps.Conn > drbd.CSyncSource {
		realPeerDisk = drbd.DUpToDate
	}
	nsConn := os.Conn
	if nsConn == drbd.CWFReportParams {
		nsConn = drbd.CConnected
	}
	if ps.Conn == drbd.CAhead {
		nsConn = drbd.CBehind
	}
	peerDisk := ps.Disk
	if have && ps.Disk >= drbd.DNegotiating && dev.GetLdevIfState(drbd.DNegotiating) {
		pd.mu.Lock()
		cr := os.Conn < drbd.CConnected ||
			(os.Conn == drbd.CConnected && (ps.Disk == drbd.DNegotiating || os.Disk == drbd.DNegotiating)) ||
			pd.considerRS ||
			(os.Conn == drbd.CConnected && ps.Conn >= drbd.CStartingSyncS && ps.Conn <= drbd.CWFBitMapT)
		pd.mu.Unlock()
		if cr {
			nsConn = pd.syncHandshake(s, ps.Role, realPeerDisk)
		}
		dev.PutLdev()
		if nsConn == drbd.CMask {
			nsConn = drbd.CConnected
			switch {
			case dev.State().Disk == drbd.DNegotiating:
				dev.ForceState(statemachine.NSDisk(drbd.DFailed))
			case ps.Disk == drbd.DNegotiating:
				pd.log.Error("Disk attach process on the peer node was aborted.")
				peerDisk, realPeerDisk = drbd.DDiskless, drbd.DDiskless
			default:
				if s.peerDryRun() {
					return errDisconnect
				}
				return errDisconnect
			}
		}
	}
	_ = peerDisk
	flags := statemachine.CSVerbose
	if !(os.Conn < drbd.CConnected && nsConn >= drbd.CConnected) {
		flags |= statemachine.CSHard
	}
	pd.mu.Lock()
	pd.considerRS = false
	tmpDisk := dev.Env().NewStateTmp.Disk
	pd.mu.Unlock()
	rv := dev.Change(flags, func(cur drbd.State) drbd.State {
		ns := cur
		ns.Conn = nsConn
		ns.Peer = ps.Role
		ns.Pdsk = realPeerDisk
		ns.PeerIsp = ps.AftrIsp || ps.UserIsp
		if (ns.Conn == drbd.CConnected || ns.Conn == drbd.CWFBitMapS) && ns.Disk == drbd.DNegotiating {
			ns.Disk = tmpDisk
		}
		return ns
	})
	if rv < drbd.SSSuccess && rv != drbd.SSNothingToDo {
		pd.log.Error(fmt.Sprintf("State change failed: %s", rv))
		return errDisconnect
	}
	if os.Conn > drbd.CWFReportParams && nsConn > drbd.CConnected && ps.Conn <= drbd.CConnected && ps.Disk != drbd.DNegotiating {
		_ = pd.sendUUIDs(s, 0)
		_ = pd.sendState(s, dev.State())
	}
	pd.mu.Lock()
	pd.discardMy = false
	pd.mu.Unlock()
	pd.syncMD()
	return nil
}

func (pd *PeerDevice) syncMD() {
	if d := pd.getDisk(drbd.DFailed); d != nil {
		_ = d.SyncMD()
		pd.putDisk()
	}
}

// syncHandshake is drbd_sync_handshake around the pure decision: it
// applies the UUID corrections, runs the helpers, demotes, sets the whole
// bitmap for a full sync, and returns the connection state to go to
// (drbd.CMask: drop).
func (pd *PeerDevice) syncHandshake(s *session, peerRole drbd.Role, peerDisk drbd.DiskState) drbd.ConnState {
	d := pd.v.Disk()
	st := pd.dev().State()
	pd.mu.Lock()
	in := HandshakeInput{
		Self: Side{UUIDs: d.UUIDs(), Bits: d.Weight(), Role: st.Role, Disk: st.Disk,
			Flags: UUIDFlags(pd.discardMy, d.Flags()&metadata.FlagCrashedPrimary != 0, drbd.DDiskless, false)},
		Peer:            Side{UUIDs: pd.pUUIDs, Bits: pd.pBits, Flags: pd.pFlags, Role: peerRole, Disk: peerDisk},
		Negotiated:      Negotiated{AgreedVersion: s.agreed, AgreedFeatures: s.features, ResolveConflicts: s.resolveConflicts},
		NegotiatingDisk: pd.dev().Env().NewStateTmp.Disk,
		AfterSB0p:       s.conf.AfterSB0p, AfterSB1p: s.conf.AfterSB1p, AfterSB2p: s.conf.AfterSB2p,
		AlwaysASBP: s.conf.AlwaysASBP, RRConflict: s.conf.RRConflict, Tentative: s.conf.Tentative,
		DryRun: s.peerDryRun(), CanDemote: !pd.v.InUse(),
	}
	pd.mu.Unlock()
	r := SyncHandshake(in)
	for _, l := range r.Log {
		switch l.Level {
		case LevelHelper:
			pd.v.Helper(l.Text)
		case LevelWarn:
			pd.log.Warn(l.Text)
		case LevelErr, LevelAlert:
			pd.log.Error(l.Text)
		default:
			pd.log.Info(l.Text)
		}
	}
	if r.Compare.Fix.Self() {
		d.SetUUIDs(r.Compare.Self)
		_ = d.SyncMD()
	}
	if r.Compare.Fix.Peer() {
		pd.mu.Lock()
		pd.pUUIDs = r.Compare.Peer
		pd.mu.Unlock()
	}
	if r.BecomeSecondary {
		pd.dev().Change(statemachine.CSVerbose, func(s drbd.State) drbd.State { s.Role = drbd.RSecondary; return s })
	}
	if r.Dropped() {
		return drbd.CMask
	}
	if r.FullSync { // the handshake logged "Writing the whole bitmap, full sync required ..."
		d.SetAll()
		if err := d.WriteBitmap(); err != nil {
			return drbd.CMask
		}
	}
	return r.Conn
}

func (s *session) peerDryRun() bool { return s.peerProto.ConnFlags&proto.CFDryRun != 0 }

// ---- cluster-wide state changes ----

// RequestStateChange is the cluster-wide half of drbd_req_state: send
// P_STATE_CHG_REQ (or P_CONN_ST_CHG_REQ for a connection-wide change)
// and wait for the peer's reply. It implements statemachine.Peer.
func (pd *PeerDevice) RequestStateChange(ctx context.Context, ch statemachine.Change) drbd.StateRV {
	s := pd.c.session()
	if s == nil || !s.alive() {
		return drbd.SSCWFailedByPeer
	}
	select {
	case <-s.stReply:
	default:
	}
	cmd := proto.CmdStateChgReq
	if ch.Mask == drbd.MaskConn && s.agreed >= 100 {
		cmd = proto.CmdConnStChgReq
	}
	if err := s.sendData(pd.vnr, cmd, proto.ReqState{Mask: ch.Mask, Val: ch.Val}.Append(nil)); err != nil {
		return drbd.SSCWFailedByPeer
	}
	// As the kernel's _req_st_cond: wait for the reply, however long the
	// peer takes, until the connection is declared lost.
	select {
	case rv := <-s.stReply:
		if rv >= int32(drbd.SSSuccess) {
			return drbd.SSCWSuccess
		}
		return drbd.StateRV(rv)
	case <-s.dead:
		// the connection went away: the change no longer needs the peer
		if ch.Mask == drbd.MaskConn {
			return drbd.SSCWSuccess
		}
		return drbd.SSCWFailedByPeer
	case <-ctx.Done():
		return drbd.SSCWFailedByPeer
	}
}

// TryOutdatePeer is conn_try_outdate_peer for the device's connection
// (the state engine's Peer, used by drbd_set_role).
func (pd *PeerDevice) TryOutdatePeer(context.Context) bool { return pd.c.TryOutdatePeer() }

// gotReqState is receive_req_state / receive_req_conn_state.
func (pd *PeerDevice) gotReqState(s *session, cmd proto.Cmd, p *proto.ReqState) error {
	replyCmd := proto.CmdStateChgReply
	if cmd == proto.CmdConnStChgReq {
		replyCmd = proto.CmdConnStChgReply
	}
	mask := convertMask(drbd.Unpack(p.Mask))
	val := convertState(drbd.Unpack(p.Val))
	ch := statemachine.Change{Mask: mask.Pack(), Val: val.Pack() & mask.Pack()}
	os := pd.dev().State()
	var rv drbd.StateRV
	if cmd == proto.CmdConnStChgReq {
		rv = s.c.change(statemachine.CSVerbose|statemachine.CSLocalOnly, func(cur drbd.State) drbd.State { return ch.Apply(cur) })
	} else {
		rv = pd.dev().Change(statemachine.CSVerbose, func(cur drbd.State) drbd.State { return ch.Apply(cur) })
	}
	if rv == drbd.SSNothingToDo {
		rv = drbd.SSSuccess
	}
	// the peer was forced UpToDate and Primary: consider a resync
	if ns := pd.dev().State(); rv >= drbd.SSSuccess && os.Disk == drbd.DInconsistent && os.Pdsk == drbd.DInconsistent &&
		os.Peer == drbd.RSecondary && ns.Peer == drbd.RPrimary {
		pd.mu.Lock()
		pd.considerRS = true
		pd.mu.Unlock()
	}
	err := s.queueMeta(pd.vnr, replyCmd, proto.ReqStateReply{Retcode: int32(rv)}.Append(nil))
	pd.syncMD()
	return err
}

// convertMask is convert_state applied to a mask (every field either all
// ones or zero; the conn field of a mask stays all ones).
func convertMask(m drbd.State) drbd.State {
	c := m
	c.Peer, c.Role = m.Role, m.Peer
	c.Pdsk, c.Disk = m.Disk, m.Pdsk
	c.PeerIsp = m.AftrIsp || m.UserIsp
	return c
}

// ---- after-state-change work of the connection ----

// AfterStateChange is the connection's part of after_state_ch; the daemon
// calls it on the device's worker for every committed change, before the
// state engine's own effects.
func (pd *PeerDevice) AfterStateChange(os, ns drbd.State) {
	s := pd.c.session()
	live := s != nil && s.alive()
	if (os.Disk != drbd.DUpToDate || os.Pdsk != drbd.DUpToDate) && ns.Disk == drbd.DUpToDate && ns.Pdsk == drbd.DUpToDate {
		if d := pd.getDisk(drbd.DInconsistent); d != nil {
			d.SetFlags(0, metadata.FlagCrashedPrimary)
			pd.putDisk()
		}
		pd.mu.Lock()
		pd.pFlags &^= proto.UUIDFlagCrashedPrimary
		pd.mu.Unlock()
	}
	// became sync source: send the sync UUID first (protocol 96 on)
	if os.Conn != drbd.CSyncSource && os.Conn != drbd.CPausedSyncS &&
		(ns.Conn == drbd.CSyncSource || ns.Conn == drbd.CPausedSyncS) && live && s.agreed >= 96 {
		pd.genAndSendSyncUUID(s)
	}
	if os.Pdsk == drbd.DDiskless && ns.Pdsk > drbd.DDiskless && ns.Pdsk != drbd.DUnknown && live {
		pd.rsReset()
		_ = pd.sendUUIDs(s, 0)
		_ = pd.sendState(s, ns)
	}
	if os.Conn != drbd.CWFBitMapS && ns.Conn == drbd.CWFBitMapS && pd.dev().State().Conn == drbd.CWFBitMapS && live {
		s.sq.push(func() error { return pd.sendBitmap(s) })
	}
	if lostContactToPeerData(os.Pdsk, ns.Pdsk) {
		if d := pd.getDisk(drbd.DInconsistent); d != nil {
			u := d.UUIDs()
			if (ns.Role == drbd.RPrimary || ns.Peer == drbd.RPrimary) && u[metadata.UIBitmap] == 0 && ns.Disk >= drbd.DUpToDate {
				if ns.IsSusp() {
					// NEW_CUR_UUID: made when IO is thawed
					pd.newCurPending.Store(true)
				} else {
					pd.newCurrentUUID(d, ns.Role == drbd.RPrimary)
					if live {
						_ = pd.sendUUIDs(s, 0)
					}
				}
			}
			pd.putDisk()
		}
	}
	pd.thawReconnected(ns)
	if ns.Pdsk < drbd.DInconsistent {
		if d := pd.getDisk(drbd.DInconsistent); d != nil {
			u := d.UUIDs()
			if os.Peer != drbd.RPrimary && ns.Peer == drbd.RPrimary && u[metadata.UIBitmap] == 0 && ns.Disk >= drbd.DUpToDate {
				pd.newCurrentUUID(d, ns.Role == drbd.RPrimary)
				if live {
					_ = pd.sendUUIDs(s, 0)
				}
			}
			if os.Peer == drbd.RPrimary && ns.Peer == drbd.RSecondary {
				_ = d.WriteBitmap()
			}
			pd.putDisk()
		}
	}
	if ns.Conn >= drbd.CConnected && (os.AftrIsp != ns.AftrIsp || os.UserIsp != ns.UserIsp) && live {
		_ = pd.sendState(s, ns)
	}
	if os.Conn == drbd.CWFReportParams && ns.Conn >= drbd.CConnected && live {
		_ = pd.sendState(s, ns)
	}
	if os.Conn != drbd.CAhead && ns.Conn == drbd.CAhead && live {
		_ = pd.sendState(s, ns)
	}
	if (os.Conn != drbd.CStartingSyncT && ns.Conn == drbd.CStartingSyncT) ||
		(os.Conn != drbd.CStartingSyncS && ns.Conn == drbd.CStartingSyncS) {
		pd.startingSync(ns.Conn)
	}
	if os.Disk < drbd.DUpToDate && os.Conn >= drbd.CSyncSource && ns.Conn == drbd.CConnected && live {
		_ = pd.sendState(s, ns)
	}
	if os.Conn == drbd.CVerifyS && ns.Conn == drbd.CConnected && live {
		_ = pd.sendState(s, ns)
	}
	if os.Conn > drbd.CConnected && os.Conn < drbd.CAhead && (ns.Conn == drbd.CConnected || ns.Conn >= drbd.CAhead) {
		if d := pd.getDisk(drbd.DInconsistent); d != nil {
			_ = d.WriteBitmap()
			pd.putDisk()
		}
	}
	// the resync engine follows the state
	pd.rsFollowState(os, ns)
}

// lostContactToPeerData: the peer's copy was usable and is no more.
func lostContactToPeerData(os, ns drbd.DiskState) bool {
	if (os >= drbd.DInconsistent && os != drbd.DUnknown && os != drbd.DOutdated) &&
		(ns < drbd.DInconsistent || ns == drbd.DUnknown || ns == drbd.DOutdated) {
		return true
	}
	// Scenario, starting with normal operation: Connected Primary/Secondary
	// UpToDate/UpToDate, the peer's disk fails: the new current UUID
	// must be made when the peer is seen Diskless, Unknown may follow.
	if os == drbd.DInconsistent && ns == drbd.DUnknown {
		return true
	}
	return false
}

// newCurrentUUID is drbd_uuid_new_current.
func (pd *PeerDevice) newCurrentUUID(d Disk, primary bool) {
	u := d.UUIDs()
	u.NewCurrent(rand.Uint64(), primary)
	d.SetUUIDs(u)
	pd.v.SetEdUUID(u[metadata.UICurrent])
	pd.log.Info(PrintUUIDs("new current UUID", u))
	_ = d.SyncMD()
}

// NewCurrentUUID is the primary's new current UUID on promotion while the
// peer is not connected (drbd_set_role).
func (pd *PeerDevice) genAndSendSyncUUID(s *session) {
	d := pd.getDisk(drbd.DUpToDate)
	if d == nil {
		return
	}
	next, id := GenSyncUUID(d.UUIDs(), rand.Uint64())
	d.SetUUIDs(next)
	pd.log.Info(PrintUUIDs("updated sync UUID", next))
	_ = d.SyncMD()
	pd.putDisk()
	_ = s.sendData(pd.vnr, proto.CmdSyncUUID, proto.RSUUID{UUID: id}.Append(nil))
}

// gotSyncUUID is receive_sync_uuid.
func (pd *PeerDevice) gotSyncUUID(s *session, id uint64) error {
	_ = pd.dev().WaitState(s.ctx(), func(st drbd.State) bool {
		return st.Conn == drbd.CWFSyncUUID || st.Conn == drbd.CBehind || st.Conn < drbd.CConnected || st.Disk < drbd.DNegotiating
	})
	d := pd.getDisk(drbd.DNegotiating)
	if d == nil {
		pd.log.Error("Ignoring SyncUUID packet!")
		return nil
	}
	next := ReceiveSyncUUID(d.UUIDs(), id, pd.dev().State().Role == drbd.RPrimary)
	d.SetUUIDs(next)
	pd.log.Info(PrintUUIDs("updated sync uuid", next))
	pd.putDisk()
	pd.startResync(s, drbd.CSyncTarget)
	return nil
}

// startingSync is the StartingSync[ST] after-state work: set and write the
// whole bitmap, then move on to WFBitMap[ST] (abw_start_sync).
func (pd *PeerDevice) startingSync(cs drbd.ConnState) {
	d := pd.getDisk(drbd.DInconsistent)
	if d == nil {
		return
	}
	d.SetAll()
	err := d.WriteBitmap()
	pd.putDisk()
	if err != nil {
		pd.log.Error("Writing the bitmap failed not starting resync.")
		pd.dev().Change(statemachine.CSVerbose, func(s drbd.State) drbd.State { s.Conn = drbd.CConnected; return s })
		return
	}
	switch cs {
	case drbd.CStartingSyncT:
		pd.dev().Change(statemachine.CSVerbose, func(s drbd.State) drbd.State {
			if s.Conn == drbd.CStartingSyncT {
				s.Conn = drbd.CWFSyncUUID
				s.Disk = drbd.DInconsistent
			}
			return s
		})
	case drbd.CStartingSyncS:
		pd.dev().Change(statemachine.CSVerbose, func(s drbd.State) drbd.State {
			if s.Conn == drbd.CStartingSyncS {
				s.Conn = drbd.CWFBitMapS
			}
			return s
		})
	}
}

// disconnected is drbd_disconnected for this volume.
func (pd *PeerDevice) disconnected(s *session) {
	pd.active.Wait() // peer writes in flight here
	pd.rsStop()
	pd.mu.Lock()
	pd.havePUUIDs = false
	pd.bmRecv, pd.bmWords = nil, nil
	pd.mu.Unlock()
	if d := pd.getDisk(drbd.DFailed); d != nil {
		_ = d.SyncMD()
		_ = d.WriteBitmap()
		pd.putDisk()
	}
}

// ---- the bitmap exchange ----

// sendBitmap is drbd_send_bitmap: the whole transfer under the data
// socket's mutex, so that nothing comes between its packets.
func (pd *PeerDevice) sendBitmap(s *session) error {
	d := pd.getDisk(drbd.DInconsistent)
	if d == nil {
		return errors.New("no disk for the bitmap")
	}
	defer pd.putDisk()
	if d.Flags()&metadata.FlagFullSync != 0 {
		pd.log.Info("Writing the whole bitmap, MDF_FullSync was set.")
		d.SetAll()
		if err := d.WriteBitmap(); err == nil {
			d.SetFlags(0, metadata.FlagFullSync)
			_ = d.SyncMD()
		}
	}
	words := d.Words()
	bs, err := proto.NewBitmapSender(words, d.Bits(), s.agreed, s.conf.UseRLE)
	if err != nil {
		return err
	}
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	buf := make([]byte, 0, proto.SocketBufferSize)
	for !bs.Done() {
		cmd, payload, err := bs.Next(buf[:0])
		if err != nil {
			return err
		}
		if err := s.sendDataLocked(pd.vnr, cmd, payload); err != nil {
			return err
		}
	}
	if line, ok := bs.Stats().Summary("send"); ok {
		pd.log.Info(line)
	}
	return nil
}

// gotBitmap is receive_bitmap, one packet at a time: the packets of a
// transfer come back to back, and the receiver calls this until done.
func (pd *PeerDevice) gotBitmap(s *session, cmd proto.Cmd, payload []byte) (done bool, err error) {
	pd.mu.Lock()
	if pd.bmRecv == nil {
		d := pd.getDisk(drbd.DInconsistent)
		if d == nil {
			pd.mu.Unlock()
			return false, errors.New("bitmap received without a disk")
		}
		bits := d.Bits()
		pd.putDisk()
		pd.bmWords = make([]uint64, (bits+63)/64)
		r, err := proto.NewBitmapReceiver(pd.bmWords, bits, s.agreed)
		if err != nil {
			pd.mu.Unlock()
			return false, err
		}
		pd.bmRecv = r
	}
	r, words := pd.bmRecv, pd.bmWords
	pd.mu.Unlock()
	done, err = r.Receive(cmd, payload)
	if err != nil || !done {
		return done, err
	}
	pd.mu.Lock()
	pd.bmRecv, pd.bmWords = nil, nil
	pd.mu.Unlock()
	if d := pd.getDisk(drbd.DInconsistent); d != nil {
		d.OrWords(words)
		pd.putDisk()
	}
	if line, ok := r.Stats().Summary("receive"); ok {
		pd.log.Info(line)
	}
	switch st := pd.dev().State(); st.Conn {
	case drbd.CWFBitMapT:
		if err := pd.sendBitmap(s); err != nil {
			return true, err
		}
		pd.dev().Change(statemachine.CSVerbose, func(s drbd.State) drbd.State {
			if s.Conn == drbd.CWFBitMapT {
				s.Conn = drbd.CWFSyncUUID
			}
			return s
		})
	case drbd.CWFBitMapS:
		pd.startResync(s, drbd.CSyncSource)
	default:
		pd.log.Info(fmt.Sprintf("unexpected cstate (%s) in receive_bitmap", st.Conn))
	}
	return true, nil
}
