package peer

import (
	"fmt"
	"sync"
	"time"

	"udrbd/drbd"
	"udrbd/metadata"
	"udrbd/proto"
	"udrbd/statemachine"
)

// sleepTime is the resync timer's period (SLEEP_TIME, HZ/10).
const sleepTime = 100 * time.Millisecond

// bitsPerExtent is BM_BLOCKS_PER_BM_EXT (16 MiB of 4 KiB blocks): a resync
// request does not cross a resync extent.
const bitsPerExtent = 1 << (24 - 12)

// resync is the progress of a resync or online verify on one volume.
type resync struct {
	mu       sync.Mutex
	gen      chan struct{} // closed to stop the request generator
	cursor   uint64        // bm_resync_fo / ov_position, in bits
	inFlight int           // sectors requested and not yet answered (rs_in_flight)
	sectIn   int           // sectors answered since the last turn (rs_sect_in)
	total    uint64        // rs_total, bits
	failed   uint64        // rs_failed, bits
	done     uint64        // bits synced (or verified)
	start    time.Time
	plan     []int // the controller's plan-ahead fifo
	planHead int
	planTot  int
	verify   bool
	ovLeft   uint64 // bits left to verify
	ovOOS    uint64 // bits found out of sync
	ovStart  uint64 // sector where the verify started
	ovRunLo  uint64 // an out-of-sync run being collected for the log
	ovRunN   uint64
	finished bool
}

// ResyncProgress is what status shows of a running resync or verify.
type ResyncProgress struct {
	Total, Left, Failed uint64 // bits
	Start               time.Time
	Verify              bool
	OOS                 uint64 // verify: bits found out of sync
}

// Progress reports the resync or verify progress.
func (pd *PeerDevice) Progress() ResyncProgress {
	pd.rs.mu.Lock()
	p := ResyncProgress{Total: pd.rs.total, Failed: pd.rs.failed, Start: pd.rs.start, Verify: pd.rs.verify, OOS: pd.rs.ovOOS}
	if pd.rs.verify {
		p.Left = pd.rs.ovLeft
	}
	pd.rs.mu.Unlock()
	if !p.Verify {
		if d := pd.getDisk(drbd.DInconsistent); d != nil {
			p.Left = d.Weight()
			pd.putDisk()
		}
	}
	return p
}

func (pd *PeerDevice) rsFailed() uint64 {
	pd.rs.mu.Lock()
	defer pd.rs.mu.Unlock()
	return pd.rs.failed
}

func (pd *PeerDevice) rsReset() {
	pd.rs.mu.Lock()
	pd.rs.total, pd.rs.failed, pd.rs.inFlight, pd.rs.sectIn = 0, 0, 0, 0
	pd.rs.mu.Unlock()
}

// rsAnswered counts a resync or verify answer (rs_sect_in).
func (pd *PeerDevice) rsAnswered(size int) {
	pd.rs.mu.Lock()
	pd.rs.sectIn += size >> 9
	pd.rs.mu.Unlock()
}

// rsFailedIO is drbd_rs_failed_io.
func (pd *PeerDevice) rsFailedIO(size int) {
	pd.rs.mu.Lock()
	pd.rs.failed += uint64(pagesOf(size))
	pd.rs.mu.Unlock()
	pd.checkResyncDone()
}

// rsProgress counts bits brought in sync and finishes the resync when the
// bitmap holds only failed blocks (update_sync_bits, resync_done).
func (pd *PeerDevice) rsProgress(cleared uint64) {
	if cleared == 0 {
		return
	}
	pd.rs.mu.Lock()
	pd.rs.done += cleared
	pd.rs.mu.Unlock()
	pd.checkResyncDone()
}

func (pd *PeerDevice) checkResyncDone() {
	st := pd.dev().State()
	if !st.Conn.IsSync() {
		return
	}
	d := pd.getDisk(drbd.DInconsistent)
	if d == nil {
		return
	}
	w := d.Weight()
	pd.putDisk()
	if w <= pd.rsFailed() {
		go pd.resyncFinished()
	}
}

// startResync is drbd_start_resync.
func (pd *PeerDevice) startResync(s *session, side drbd.ConnState) {
	st := pd.dev().State()
	if st.Conn >= drbd.CSyncSource && st.Conn < drbd.CAhead {
		pd.log.Error("Resync already running!")
		return
	}
	helper := "before-resync-source"
	if side == drbd.CSyncTarget {
		helper = "before-resync-target"
	}
	if r := pd.v.Helper(helper); r > 0 && r <= 255 {
		if side == drbd.CSyncSource && r == 3 {
			pd.log.Info(fmt.Sprintf("%s handler returned %d, ignoring. Old userland tools?", helper, r))
		} else {
			pd.log.Info(fmt.Sprintf("%s handler returned %d, dropping connection.", helper, r))
			pd.c.setConn(drbd.CDisconnecting, statemachine.CSHard)
			s.stopping.Store(true)
			s.fail(0, "")
			return
		}
	}
	d := pd.getDisk(drbd.DNegotiating)
	if d == nil {
		return
	}
	defer pd.putDisk()
	if pd.dev().State().Conn < drbd.CConnected {
		return
	}
	rv := pd.dev().Change(statemachine.CSVerbose, func(cur drbd.State) drbd.State {
		ns := cur
		ns.AftrIsp = false
		ns.Conn = side
		if side == drbd.CSyncTarget {
			ns.Disk = drbd.DInconsistent
		} else {
			ns.Pdsk = drbd.DInconsistent
		}
		return ns
	})
	if pd.dev().State().Conn < drbd.CConnected {
		rv = drbd.SSUnknownError
	}
	if rv != drbd.SSSuccess {
		return
	}
	tw := d.Weight()
	pd.rs.mu.Lock()
	pd.rs.total, pd.rs.failed, pd.rs.done, pd.rs.start = tw, 0, 0, time.Now()
	pd.rs.inFlight, pd.rs.sectIn = 0, 0
	pd.rs.cursor = 0
	pd.rs.verify = false
	pd.rs.finished = false
	pd.rs.mu.Unlock()
	pd.log.Info(fmt.Sprintf("Began resync as %s (will sync %d KB [%d bits set]).", side, tw<<2, tw))
	if side == drbd.CSyncSource && s.agreed < 96 {
		pd.genAndSendSyncUUID(s)
	}
	pd.controllerReset(d.SyncConf())
	_ = d.SyncMD()
	if tw == 0 && side == drbd.CSyncTarget {
		go pd.resyncFinished()
	}
}

// rsFollowState starts and stops the request generator with the state.
func (pd *PeerDevice) rsFollowState(os, ns drbd.State) {
	target := func(c drbd.ConnState) bool {
		return c == drbd.CSyncTarget || c == drbd.CPausedSyncT || c == drbd.CVerifyS
	}
	if ns.Conn == drbd.CVerifyS && os.Conn != drbd.CVerifyS || ns.Conn == drbd.CVerifyT && os.Conn != drbd.CVerifyT {
		pd.startVerify(ns.Conn)
	}
	if target(ns.Conn) && !target(os.Conn) {
		pd.rsStartGenerator()
	}
	if !target(ns.Conn) && target(os.Conn) {
		pd.rsStopGenerator()
	}
}

func (pd *PeerDevice) rsStartGenerator() {
	pd.rs.mu.Lock()
	if pd.rs.gen != nil {
		pd.rs.mu.Unlock()
		return
	}
	stop := make(chan struct{})
	pd.rs.gen = stop
	pd.rs.mu.Unlock()
	go pd.generator(stop)
}

func (pd *PeerDevice) rsStopGenerator() {
	pd.rs.mu.Lock()
	if pd.rs.gen != nil {
		close(pd.rs.gen)
		pd.rs.gen = nil
	}
	pd.rs.mu.Unlock()
}

// rsStop ends every resync activity (drbd_rs_cancel_all at disconnect).
func (pd *PeerDevice) rsStop() {
	pd.rsStopGenerator()
	pd.rsReset()
}

// generator is the resync timer with make_resync_request /
// make_ov_request: every SLEEP_TIME it asks for as many blocks as the
// controller allows.
func (pd *PeerDevice) generator(stop chan struct{}) {
	t := time.NewTicker(sleepTime)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		s := pd.c.session()
		if s == nil || !s.alive() {
			continue
		}
		st := pd.dev().State()
		switch st.Conn {
		case drbd.CSyncTarget:
			pd.makeResyncRequests(s)
		case drbd.CVerifyS:
			pd.makeOVRequests(s)
		}
	}
}

// controllerReset prepares the plan-ahead fifo (drbd_rs_controller_reset).
func (pd *PeerDevice) controllerReset(sc SyncConf) {
	steps := int(sc.CPlanAhead) // c-plan-ahead is in 0.1 s, one step per SLEEP_TIME
	pd.rs.mu.Lock()
	pd.rs.plan = make([]int, steps)
	pd.rs.planHead, pd.rs.planTot = 0, 0
	pd.rs.mu.Unlock()
}

// numberRequests is drbd_rs_number_requests with drbd_rs_controller: how
// many 4 KiB blocks to request in this turn. Called with rs.mu held.
func (pd *PeerDevice) numberRequests(sc SyncConf, maxBuffers int) int {
	rs := &pd.rs
	sectIn := rs.sectIn
	rs.sectIn = 0
	rs.inFlight -= sectIn
	if rs.inFlight < 0 {
		rs.inFlight = 0
	}
	var number int
	if steps := len(rs.plan); steps > 0 {
		var want int
		if rs.inFlight+sectIn == 0 {
			want = int(sc.ResyncRate) * 2 / 10 * steps
		} else if sc.CFillTarget != 0 {
			want = int(sc.CFillTarget)
		} else {
			want = sectIn * int(sc.CDelayTarget)
		}
		correction := want - rs.inFlight - rs.planTot
		cps := correction / steps
		for i := range rs.plan {
			rs.plan[i] += cps
		}
		rs.planTot += cps * steps
		cur := rs.plan[rs.planHead]
		rs.plan[rs.planHead] = 0
		rs.planHead = (rs.planHead + 1) % steps
		rs.planTot -= cur
		req := sectIn + cur
		if req < 0 {
			req = 0
		}
		if mx := int(sc.CMaxRate) * 2 / 10; req > mx {
			req = mx
		}
		number = req >> 3
	} else {
		number = int(sc.ResyncRate) / 40
	}
	mxb := maxBuffers / 2
	if mxb-rs.inFlight/8 < number {
		number = mxb - rs.inFlight/8
	}
	return number
}

// makeResyncRequests is make_resync_request: P_RS_DATA_REQUESTs for the
// next out-of-sync blocks, adjacent bits merged into aligned requests up
// to the peer's max bio size, never across a resync extent.
func (pd *PeerDevice) makeResyncRequests(s *session) {
	d := pd.getDisk(drbd.DInconsistent)
	if d == nil {
		pd.log.Error("Disk broke down during resync!")
		return
	}
	defer pd.putDisk()
	capacity := pd.v.Capacity()
	maxBio := proto.MaxBioSizeFor(s.agreed)
	pd.mu.Lock()
	if pd.pMaxBio != 0 && int(pd.pMaxBio) < maxBio {
		maxBio = int(pd.pMaxBio)
	}
	pd.mu.Unlock()
	pd.rs.mu.Lock()
	number := pd.numberRequests(d.SyncConf(), s.conf.MaxBuffers)
	cursor := pd.rs.cursor
	pd.rs.mu.Unlock()
	bits := d.Bits()
	for i := 0; i < number; i++ {
		bit := d.FindNext(cursor)
		if bit >= bits {
			cursor = bits
			break
		}
		sector := bit << 3
		size := 4096
		align := 1
		for i < number {
			if size+4096 > maxBio {
				break
			}
			if sector&(1<<(align+3)-1) != 0 {
				break
			}
			if (bit+1)%bitsPerExtent == 0 {
				break
			}
			if bit+1 >= bits || !d.TestBit(bit+1) {
				break
			}
			bit++
			size += 4096
			if 4096<<align <= size {
				align++
			}
			i++
		}
		cursor = bit + 1
		if sector+uint64(size>>9) > capacity {
			size = int(capacity-sector) << 9
		}
		pd.rs.mu.Lock()
		pd.rs.inFlight += size >> 9
		pd.rs.mu.Unlock()
		cmd := proto.CmdRSDataRequest
		var extra []byte
		if s.conf.CsumsAlg != "" && s.agreed >= 89 {
			// checksum-based resync: the source compares with its block
			buf := getBuf(size)
			if d.ReadAt(buf, int64(sector)<<9) == nil {
				cmd = proto.CmdCsumRSRequest
				extra = pd.csum(s, buf)
			}
			putBuf(buf)
		}
		q := proto.BlockReq{Sector: sector, BlockID: proto.IDSyncer, BlkSize: uint32(size)}
		if err := s.sendData(pd.vnr, cmd, q.Append(nil), extra); err != nil {
			return
		}
	}
	pd.rs.mu.Lock()
	pd.rs.cursor = cursor
	atEnd := cursor >= bits && pd.rs.inFlight == 0 && pd.rs.sectIn == 0
	pd.rs.mu.Unlock()
	if atEnd {
		if d.Weight() <= pd.rsFailed() {
			go pd.resyncFinished()
		} else {
			// bits were set behind the cursor: go round once more
			pd.rs.mu.Lock()
			pd.rs.cursor = 0
			pd.rs.mu.Unlock()
		}
	}
}

// resyncFinished is drbd_resync_finished.
func (pd *PeerDevice) resyncFinished() {
	pd.rs.mu.Lock()
	if pd.rs.finished {
		pd.rs.mu.Unlock()
		return
	}
	pd.rs.finished = true
	start, total, failed, ovOOS := pd.rs.start, pd.rs.total, pd.rs.failed, pd.rs.ovOOS
	pd.rs.mu.Unlock()
	pd.rsStopGenerator()
	d := pd.getDisk(drbd.DInconsistent)
	if d == nil {
		return
	}
	defer pd.putDisk()
	// ping_peer: our acks are with the peer before our new state is (the
	// SyncSource finishes when it sees that state with a clean bitmap)
	if s := pd.c.session(); s != nil {
		s.pingPeer()
	}
	dt := uint64(time.Since(start) / time.Second)
	if dt == 0 {
		dt = 1
	}
	os := pd.dev().State()
	if os.Conn <= drbd.CConnected {
		return
	}
	verifyDone := os.Conn == drbd.CVerifyS || os.Conn == drbd.CVerifyT
	what := "Resync"
	if verifyDone {
		what = "Online verify"
	}
	pd.log.Info(fmt.Sprintf("%s done (total %d sec; paused %d sec; %d K/sec)", what, dt, 0, (total/dt)<<2))
	helper := ""
	if verifyDone {
		if ovOOS > 0 {
			pd.log.Error(fmt.Sprintf("Online verify found %d 4k block out of sync!", ovOOS))
			helper = "out-of-sync"
		}
	} else if os.Conn == drbd.CSyncTarget || os.Conn == drbd.CPausedSyncT {
		helper = "after-resync-target"
	}
	var nsDisk, nsPdsk drbd.DiskState
	if failed > 0 && !verifyDone {
		pd.log.Info(fmt.Sprintf("            %d failed blocks", failed))
		if os.Conn == drbd.CSyncTarget || os.Conn == drbd.CPausedSyncT {
			nsDisk, nsPdsk = drbd.DInconsistent, drbd.DUpToDate
		} else {
			nsDisk, nsPdsk = drbd.DUpToDate, drbd.DInconsistent
		}
	} else {
		nsDisk, nsPdsk = drbd.DUpToDate, drbd.DUpToDate
		if !verifyDone {
			pd.mu.Lock()
			pu, have := pd.pUUIDs, pd.havePUUIDs
			pd.mu.Unlock()
			var self, peer metadata.UUIDSet
			if os.Conn == drbd.CSyncTarget || os.Conn == drbd.CPausedSyncT {
				if !have {
					pd.log.Error("device->p_uuid is NULL! BUG")
				}
				self, peer = FinishResyncAsTarget(d.UUIDs(), pu, os.Role == drbd.RPrimary)
			} else {
				self, peer = FinishResyncAsSource(d.UUIDs())
			}
			d.SetUUIDs(self)
			pd.log.Info(PrintUUIDs("updated UUIDs", self))
			if have {
				pd.mu.Lock()
				pd.pUUIDs = peer
				pd.mu.Unlock()
			}
		}
	}
	if verifyDone {
		nsDisk, nsPdsk = os.Disk, os.Pdsk
	}
	pd.dev().Change(statemachine.CSVerbose, func(cur drbd.State) drbd.State {
		if cur.Conn <= drbd.CConnected {
			return cur
		}
		cur.Conn = drbd.CConnected
		cur.Disk, cur.Pdsk = nsDisk, nsPdsk
		return cur
	})
	pd.rs.mu.Lock()
	pd.rs.total, pd.rs.failed = 0, 0
	pd.rs.mu.Unlock()
	_ = d.SyncMD()
	if os.Conn == drbd.CSyncSource {
		pd.unfence()
	}
	if helper != "" {
		pd.v.Helper(helper)
	}
}

// ---- online verify ----

// StartVerifyAt sets where the next verify starts (verify --start).
func (pd *PeerDevice) StartVerifyAt(sector uint64) {
	pd.rs.mu.Lock()
	pd.rs.ovStart = sector
	pd.rs.mu.Unlock()
}

// startVerify prepares the verify counters on entering VerifyS or VerifyT.
func (pd *PeerDevice) startVerify(cs drbd.ConnState) {
	d := pd.getDisk(drbd.DInconsistent)
	if d == nil {
		return
	}
	bits := d.Bits()
	pd.putDisk()
	pd.rs.mu.Lock()
	start := pd.rs.ovStart &^ 7
	if start>>3 >= bits {
		start = 0
	}
	pd.rs.verify = true
	pd.rs.finished = false
	pd.rs.cursor = start >> 3
	pd.rs.total = bits - start>>3
	pd.rs.ovLeft = pd.rs.total
	pd.rs.ovOOS, pd.rs.ovRunN = 0, 0
	pd.rs.inFlight, pd.rs.sectIn = 0, 0
	pd.rs.start = time.Now()
	pd.rs.mu.Unlock()
	if cs == drbd.CVerifyS {
		if d := pd.getDisk(drbd.DInconsistent); d != nil {
			pd.controllerReset(d.SyncConf())
			pd.putDisk()
		}
	}
	pd.log.Info(fmt.Sprintf("Starting Online Verify from sector %d", start))
}

// makeOVRequests is make_ov_request: P_OV_REQUEST for the next blocks.
func (pd *PeerDevice) makeOVRequests(s *session) {
	d := pd.getDisk(drbd.DInconsistent)
	if d == nil {
		return
	}
	sc := d.SyncConf()
	bits := d.Bits()
	pd.putDisk()
	capacity := pd.v.Capacity()
	pd.rs.mu.Lock()
	number := pd.numberRequests(sc, s.conf.MaxBuffers)
	cursor := pd.rs.cursor
	pd.rs.mu.Unlock()
	for i := 0; i < number && cursor < bits; i++ {
		sector := cursor << 3
		size := 4096
		if sector+8 > capacity {
			size = int(capacity-sector) << 9
		}
		pd.rs.mu.Lock()
		pd.rs.inFlight += size >> 9
		pd.rs.mu.Unlock()
		q := proto.BlockReq{Sector: sector, BlockID: proto.IDSyncer, BlkSize: uint32(size)}
		if err := s.sendData(pd.vnr, proto.CmdOVRequest, q.Append(nil)); err != nil {
			return
		}
		cursor++
	}
	pd.rs.mu.Lock()
	pd.rs.cursor = cursor
	pd.rs.mu.Unlock()
}

// ovRequested is w_e_end_ov_req on the VerifyT side: answer with the
// block's digest.
func (pd *PeerDevice) ovRequested(s *session, q proto.BlockReq, data []byte) {
	sum := pd.vsum(s, data)
	_ = s.sendData(pd.vnr, proto.CmdOVReply, q.Append(nil), sum)
}

// ovReplied is w_e_end_ov_reply on the VerifyS side: compare, record,
// answer P_OV_RESULT.
func (pd *PeerDevice) ovReplied(s *session, q proto.BlockReq, data, peerSum []byte) {
	pd.rsAnswered(int(q.BlkSize))
	sum := pd.vsum(s, data)
	inSync := sum != nil && string(sum) == string(peerSum)
	id := proto.IDInSync
	if !inSync {
		id = proto.IDOutOfSync
		pd.ovFound(q.Sector, int(q.BlkSize))
	} else {
		pd.ovPrintRun()
	}
	_ = s.sendAck(pd.vnr, proto.CmdOVResult, q.Sector, id, q.BlkSize, pd.nextSeq())
	pd.ovStep()
}

// gotOVResult is got_OVResult on the VerifyT side.
func (pd *PeerDevice) gotOVResult(a *proto.BlockAck) {
	if a.BlockID == proto.IDOutOfSync {
		pd.ovFound(a.Sector, int(a.BlkSize))
	} else {
		pd.ovPrintRun()
	}
	pd.ovStep()
}

func (pd *PeerDevice) ovStep() {
	pd.rs.mu.Lock()
	if pd.rs.ovLeft > 0 {
		pd.rs.ovLeft--
	}
	left := pd.rs.ovLeft
	pd.rs.mu.Unlock()
	if left == 0 {
		pd.ovPrintRun()
		go pd.resyncFinished()
	}
}

// ovFound is drbd_ov_out_of_sync_found: mark and collect a run for the log.
func (pd *PeerDevice) ovFound(sector uint64, size int) {
	pd.rs.mu.Lock()
	if pd.rs.ovRunN > 0 && pd.rs.ovRunLo+pd.rs.ovRunN == sector {
		pd.rs.ovRunN += uint64(size >> 9)
	} else {
		pd.rs.mu.Unlock()
		pd.ovPrintRun()
		pd.rs.mu.Lock()
		pd.rs.ovRunLo, pd.rs.ovRunN = sector, uint64(size>>9)
	}
	pd.rs.ovOOS += uint64(pagesOf(size))
	pd.rs.mu.Unlock()
	pd.outOfSync(sector, size)
}

// ovPrintRun is ov_out_of_sync_print.
func (pd *PeerDevice) ovPrintRun() {
	pd.rs.mu.Lock()
	lo, n := pd.rs.ovRunLo, pd.rs.ovRunN
	pd.rs.ovRunN = 0
	pd.rs.mu.Unlock()
	if n > 0 {
		pd.log.Error(fmt.Sprintf("Out of sync: start=%d, size=%d (sectors)", lo, n))
	}
}

func (pd *PeerDevice) verifyPrintOOS() { pd.ovPrintRun() }
