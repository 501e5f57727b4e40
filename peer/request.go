package peer

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"udrbd/drbd"
	"udrbd/proto"
)

// WriteKind says what an application write is.
type WriteKind int

const (
	KindWrite   WriteKind = iota // data
	KindDiscard                  // REQ_OP_DISCARD (P_TRIM)
	KindZeroes                   // REQ_OP_WRITE_ZEROES (P_ZEROES, or P_TRIM without FF_WZEROES)
)

// Write is one application write as the replication sees it.
type Write struct {
	Sector  uint64
	Size    int
	Data    []byte // KindWrite only; valid until Wait returns
	Kind    WriteKind
	FUA     bool
	Flush   bool // REQ_PREFLUSH on a write with data
	NoUnmap bool // WRITE_ZEROES with REQ_NOUNMAP
}

// Request is a replicated application write (the network half of struct
// drbd_request): it is queued for the sender, sent as P_DATA (or P_TRIM,
// P_ZEROES), acknowledged by the peer as its protocol promises, and kept
// in the transfer log until the peer's P_BARRIER_ACK for its epoch.
type Request struct {
	pd    *PeerDevice
	s     *session
	w     Write
	id    uint64
	epoch uint32
	proto int

	mu      sync.Mutex
	netDone bool // the protocol's promise is kept, or the request failed
	netOK   bool
	sent    bool
	acked   bool // the barrier for its epoch was acked
	// counted in the peer device's ap_in_flight
	inFlight bool
	then     func(ok bool) // set by Then: called once the network half is done
	start    time.Time
}

// Then arranges for f to be called once with what Wait would return, as
// soon as the network half is done: at once (on the caller's goroutine)
// if it is already, else on the goroutine that finishes it (the ack
// receiver, the sender for protocol A, or the connection teardown). f
// must not block. Use Then or Wait, not both.
func (r *Request) Then(f func(ok bool)) {
	r.mu.Lock()
	if r.netDone {
		ok := r.netOK
		r.mu.Unlock()
		f(ok)
		return
	}
	r.then = f
	r.mu.Unlock()
}

// Wait blocks until the network half is done as the protocol promises
// (A: sent, B: received by the peer, C: written by the peer) and reports
// whether the peer has the data. On false the blocks were marked out of
// sync already.
func (r *Request) Wait() bool {
	ch := make(chan bool, 1)
	r.Then(func(ok bool) { ch <- ok })
	return <-ch
}

// Complete tells the replication that the whole application request
// (local and network half) completed; a completed write closes the
// current epoch, so writes that depend on it go into the next one
// (drbd_req_complete).
func (r *Request) Complete() {
	r.s.tl.completed(r)
}

// finishNet ends the network half once.
func (r *Request) finishNet(ok bool) {
	r.mu.Lock()
	if r.netDone {
		r.mu.Unlock()
		return
	}
	r.netDone, r.netOK = true, ok
	waited := r.sent && r.proto != proto.ProtA
	r.leaveFlightLocked()
	then := r.then
	r.then = nil
	r.mu.Unlock()
	if ok && r.pd.obs != nil {
		r.pd.obs.ObserveNetworkWrite(time.Since(r.start))
	}
	if waited {
		r.pd.pending.Add(-1)
	}
	if !ok {
		r.pd.outOfSync(r.w.Sector, r.w.Size)
	}
	if then != nil {
		then(ok)
	}
}

func (r *Request) gotAck(s *session, cmd proto.Cmd) {
	switch cmd {
	case proto.CmdRecvAck, proto.CmdWriteAck:
		r.finishNet(true)
	case proto.CmdRSWriteAck:
		r.pd.inSync(r.w.Sector, r.w.Size)
		r.finishNet(true)
	case proto.CmdNegAck:
		r.finishNet(false)
	case proto.CmdSuperseded, proto.CmdRetryWrite:
		// two primaries' conflict resolution: not supported, see
		// Config.TwoPrimaries refusal; treat as not replicated
		r.finishNet(false)
	}
}

func (r *Request) lost(*session) { r.finishNet(false) }

// dpFlags are the wire flags of the write (bio_flags_to_wire plus the
// protocol's ack request and, during a resync, DP_MAY_SET_IN_SYNC).
func (r *Request) dpFlags(st drbd.State) uint32 {
	f := uint32(0)
	if r.w.FUA {
		f |= proto.DPFUA
	}
	if r.w.Flush {
		f |= proto.DPFlush
	}
	switch r.w.Kind {
	case KindDiscard:
		f |= proto.DPDiscard
	case KindZeroes:
		f |= proto.DPZeroes
		if !r.w.NoUnmap {
			f |= proto.DPDiscard
		}
	}
	switch r.proto {
	case proto.ProtB:
		f |= proto.DPSendReceiveAck
	case proto.ProtC:
		f |= proto.DPSendWriteAck
	}
	if st.Conn >= drbd.CSyncSource && st.Conn <= drbd.CPausedSyncT {
		f |= proto.DPMaySetInSync
	}
	return f
}

// ShouldReplicate is drbd_should_do_remote: replicate writes in this state.
func ShouldReplicate(s drbd.State) bool {
	return s.Pdsk == drbd.DUpToDate ||
		(s.Pdsk >= drbd.DInconsistent && s.Conn >= drbd.CWFBitMapT && s.Conn < drbd.CAhead)
}

// ShouldSendOutOfSync is drbd_should_send_out_of_sync.
func ShouldSendOutOfSync(s drbd.State) bool {
	return s.Conn == drbd.CAhead || s.Conn == drbd.CWFBitMapS
}

// StartWrite is the replication part of drbd_send_and_submit for a write:
// if the state asks for it, the write gets an epoch, enters the transfer
// log and is queued for the sender; the caller then does the local write
// and waits. It returns nil when the write is not replicated; the caller
// then marks it out of sync (and, in Ahead or WFBitMapS, the peer is told
// with P_OUT_OF_SYNC).
func (pd *PeerDevice) StartWrite(w Write) *Request {
	r, _ := pd.startWrite(w, true)
	return r
}

// TryStartWrite is StartWrite when it would not wait for an overlapping
// write or resync read in flight: it reports false, having done nothing,
// where StartWrite would have waited.
func (pd *PeerDevice) TryStartWrite(w Write) (*Request, bool) {
	return pd.startWrite(w, false)
}

func (pd *PeerDevice) startWrite(w Write, wait bool) (*Request, bool) {
	s := pd.c.session()
	if s == nil || !s.alive() {
		return nil, true
	}
	st := pd.dev().State()
	if !ShouldReplicate(st) {
		if ShouldSendOutOfSync(st) && w.Size > 0 {
			s.sq.push(&oosItem{pd: pd, sector: w.Sector, size: w.Size})
		}
		return nil, true
	}
	if w.Size == 0 {
		// an empty flush maps to a P_BARRIER: close the epoch
		s.tl.closeEpoch(s)
		return nil, true
	}
	if wait {
		pd.writing.lock(w.Sector, w.Size)
	} else if !pd.writing.tryLock(w.Sector, w.Size) {
		return nil, false
	}
	r := &Request{pd: pd, s: s, w: w, proto: s.protocol(), start: time.Now(), inFlight: true}
	pd.apInFlight.Add(int64(w.Size >> 9))
	if r.proto != proto.ProtA {
		r.id = s.register(r)
	} else {
		s.reqMu.Lock()
		s.nextID++
		r.id = s.nextID
		s.reqMu.Unlock()
	}
	if !s.tl.add(s, r) {
		r.mu.Lock()
		r.leaveFlightLocked()
		r.mu.Unlock()
		pd.writing.unlock(w.Sector, w.Size)
		s.lookup(r.id, true)
		return nil, true
	}
	return r, true
}

// leaveFlightLocked takes the request off ap_in_flight, once (a failed
// StartWrite and a lost session may both try).
func (r *Request) leaveFlightLocked() {
	if r.inFlight {
		r.inFlight = false
		r.pd.apInFlight.Add(-int64(r.w.Size >> 9))
	}
}

// Release drops the request's hold on its blocks (the application request
// is done with them).
func (r *Request) release() { r.pd.writing.unlock(r.w.Sector, r.w.Size) }

// protocol is the wire protocol in effect (the peer's P_PROTOCOL agreed).
func (s *session) protocol() int { return s.conf.Protocol }

// appendPacket appends the write on the wire (w_send_dblock) to b: P_DATA
// up to its data, which it returns apart, or P_TRIM / P_ZEROES, which
// carry none.
func (r *Request) appendPacket(s *session, st drbd.State, b []byte) ([]byte, []byte) {
	seq := r.pd.nextSeq()
	d := proto.Data{Sector: r.w.Sector, BlockID: r.id, SeqNum: seq, DPFlags: r.dpFlags(st)}
	if r.w.Kind == KindWrite {
		dig := s.integrityDigest(r.w.Data)
		b = proto.AppendHeader(b, s.agreed, r.pd.vnr, proto.CmdData, proto.SizeData+len(dig)+len(r.w.Data))
		b = d.Append(b)
		return append(b, dig...), r.w.Data
	}
	cmd := proto.CmdTrim
	if r.w.Kind == KindZeroes && s.features&proto.FFWZeroes != 0 {
		cmd = proto.CmdZeroes
	}
	b = proto.AppendHeader(b, s.agreed, r.pd.vnr, cmd, proto.SizeTrim)
	return proto.Trim{Data: d, Size: uint32(r.w.Size)}.Append(b), nil
}

// wasSent records that the write left (protocol A: it is done); the
// sender counted its bytes already.
func (r *Request) wasSent() {
	r.mu.Lock()
	r.sent = true
	if r.proto != proto.ProtA && !r.netDone {
		r.pd.pending.Add(1)
	}
	r.mu.Unlock()
	if r.proto == proto.ProtA {
		r.finishNet(true)
	}
}

// ---- the transfer log and epochs ----

// transferLog is the list of replicated writes, oldest first, and the
// epoch bookkeeping of the request side (current_tle_nr,
// current_tle_writes).
type transferLog struct {
	mu       sync.Mutex
	reqs     []*Request
	cur      uint32 // current epoch number
	curCount int    // writes in the current epoch
	closed   bool   // the log is cleared: no more writes
}

func (t *transferLog) init() { t.cur = 1 }

func (t *transferLog) add(s *session, r *Request) bool {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return false
	}
	r.epoch = t.cur
	t.curCount++
	t.reqs = append(t.reqs, r)
	// queued under the lock, so a barrier closing this epoch cannot
	// overtake the write on its way to the sender
	s.sq.push(r)
	if s.conf.MaxEpochSize > 0 && t.curCount >= s.conf.MaxEpochSize {
		t.closeEpochLocked(s)
	}
	t.mu.Unlock()
	return true
}

// closeEpoch is start_new_tl_epoch: no point closing an empty epoch.
func (t *transferLog) closeEpoch(s *session) {
	t.mu.Lock()
	t.closeEpochLocked(s)
	t.mu.Unlock()
}

func (t *transferLog) closeEpochLocked(s *session) {
	if t.curCount == 0 {
		return
	}
	e := t.cur
	t.cur++
	t.curCount = 0
	s.sq.push(barrierItem(e))
}

func (t *transferLog) completed(r *Request) {
	r.release()
	t.mu.Lock()
	cur := r.epoch == t.cur
	t.mu.Unlock()
	if cur {
		t.closeEpoch(r.s)
	}
}

// barrierAcked is tl_release: the writes of epoch e, the oldest in the
// log, are on the peer's stable storage.
func (t *transferLog) barrierAcked(s *session, e uint32, n uint32) error {
	t.mu.Lock()
	i := 0
	for i < len(t.reqs) && t.reqs[i].epoch == e {
		i++
	}
	if len(t.reqs) > 0 && t.reqs[0].epoch != e {
		exp := t.reqs[0].epoch
		t.mu.Unlock()
		return fmt.Errorf("BAD! BarrierAck #%d received, expected #%d!", e, exp)
	}
	if uint32(i) != n {
		t.mu.Unlock()
		return fmt.Errorf("BAD! BarrierAck #%d received with n_writes=%d, expected n_writes=%d!", e, n, i)
	}
	done := t.reqs[:i]
	t.reqs = append([]*Request(nil), t.reqs[i:]...)
	t.mu.Unlock()
	for _, r := range done {
		r.mu.Lock()
		r.acked = true
		r.mu.Unlock()
	}
	return nil
}

// clear is tl_clear after the connection is lost: every write not yet
// covered by a barrier ack may be missing on the peer, so its blocks go
// out of sync, and writes still waiting for an ack complete.
func (t *transferLog) clear(s *session) {
	t.mu.Lock()
	reqs := t.reqs
	t.reqs = nil
	t.closed = true
	t.mu.Unlock()
	for _, r := range reqs {
		r.finishNet(false)
		r.mu.Lock()
		acked := r.acked
		r.mu.Unlock()
		if !acked {
			r.pd.outOfSync(r.w.Sector, r.w.Size)
		}
	}
}

// oldest returns the oldest write still waiting for its ack (for the
// request timeout), or nil.
func (t *transferLog) oldest() *Request {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.reqs {
		r.mu.Lock()
		d := r.netDone
		r.mu.Unlock()
		if !d {
			return r
		}
	}
	return nil
}

// ---- the sender ----

// sendItem is work for the sender goroutine (the kernel's sender work
// queue), which keeps P_DATA and P_BARRIER in order.
type sendItem any

type barrierItem uint32

type oosItem struct {
	pd     *PeerDevice
	sector uint64
	size   int
}

// sendQueue is an unbounded FIFO with a close.
type sendQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	items  []sendItem
	closed bool
}

func (q *sendQueue) init() { q.cond.L = &q.mu }

func (q *sendQueue) push(it sendItem) {
	q.mu.Lock()
	if !q.closed {
		q.items = append(q.items, it)
	}
	q.mu.Unlock()
	q.cond.Signal()
}

// popAll waits for items and takes every one queued. spare is the slice
// it returned last, done with: it takes the next items.
func (q *sendQueue) popAll(spare []sendItem) ([]sendItem, bool) {
	clear(spare)
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil, false
	}
	items := q.items
	q.items = spare[:0]
	return items, true
}

func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.items = nil
	q.mu.Unlock()
	q.cond.Broadcast()
}

// sender is the sender thread for writes: P_DATA in transfer-log order,
// each epoch closed by a P_BARRIER before the first write of the next
// (maybe_send_barrier), P_OUT_OF_SYNC. What is queued when it wakes goes
// out in one write (the kernel corks the socket for the same effect).
func (s *session) sender() {
	defer s.wg.Done()
	sendEpoch, sendWrites := uint32(1), 0
	var bufs net.Buffers
	// The packets' own bytes (headers, small payloads) go into one buffer,
	// reused from send to send; bufs has slices of it. When it grows, the
	// slices already taken keep the old array.
	var hdrs []byte
	var out net.Buffers // what writeAll consumes of bufs
	var sent []*Request
	var sp *spliceSender // large writes' data goes by splice (splice.go)
	if s.splice {
		var err error
		if sp, err = s.newSpliceSender(); err != nil {
			s.log.Warn("large writes are copied to the peer", "err", err)
		} else {
			defer sp.p.close()
		}
	}
	// flush sends bufs, then tail without copying it.
	flush := func(tail []byte) error {
		if len(bufs) == 0 {
			return nil
		}
		// Counted before the send, as resync replies are: the peer's ack
		// can complete a write before writeAll has returned here, and
		// whoever saw the write complete must see it counted.
		for _, r := range sent {
			r.pd.sentSect.Add(uint64(r.w.Size) >> 9)
		}
		s.dataMu.Lock()
		out = bufs
		err := s.writeAll(s.data, false, &out)
		if err == nil && tail != nil {
			err = s.spliceAll(sp, tail)
		}
		s.dataMu.Unlock()
		clear(bufs) // no references to sent data
		bufs, hdrs = bufs[:0], hdrs[:0]
		if err == nil {
			for _, r := range sent {
				r.wasSent()
			}
		}
		clear(sent)
		sent = sent[:0]
		return err
	}
	// own appends a packet's own bytes to hdrs (f does it) and to bufs.
	own := func(f func([]byte) []byte) {
		n := len(hdrs)
		hdrs = f(hdrs)
		bufs = append(bufs, hdrs[n:len(hdrs):len(hdrs)])
	}
	barrier := func(e uint32) {
		own(func(b []byte) []byte {
			b = proto.AppendHeader(b, s.agreed, 0, proto.CmdBarrier, proto.SizeBarrier)
			return proto.Barrier{Barrier: e}.Append(b)
		})
	}
	var items []sendItem
	for {
		var ok bool
		items, ok = s.sq.popAll(items)
		if !ok {
			return
		}
		var err error
		for _, it := range items {
			switch it := it.(type) {
			case *Request:
				if it.epoch != sendEpoch {
					if sendWrites > 0 {
						barrier(sendEpoch)
					}
					sendEpoch, sendWrites = it.epoch, 0
				}
				n := len(hdrs)
				var data []byte
				hdrs, data = it.appendPacket(s, it.pd.dev().State(), hdrs)
				bufs = append(bufs, hdrs[n:len(hdrs):len(hdrs)])
				sent = append(sent, it)
				sendWrites++
				if sp != nil && it.proto != proto.ProtA && len(data) >= spliceMin {
					// the packet up to its data is copied, the data not
					err = flush(data)
					break
				}
				if len(data) > 0 {
					bufs = append(bufs, data)
				}
			case barrierItem:
				if uint32(it) == sendEpoch && sendWrites > 0 {
					barrier(sendEpoch)
					sendEpoch, sendWrites = sendEpoch+1, 0
				}
			case *oosItem:
				own(func(b []byte) []byte {
					b = proto.AppendHeader(b, s.agreed, it.pd.vnr, proto.CmdOutOfSync, proto.SizeBlockDesc)
					return proto.BlockDesc{Sector: it.sector, BlkSize: uint32(it.size)}.Append(b)
				})
			case func() error:
				// sends of its own (the bitmap): what came before goes first
				if err = flush(nil); err == nil {
					err = it()
				}
			}
			if err != nil {
				break
			}
		}
		if err == nil {
			err = flush(nil)
		}
		if err != nil {
			s.fail(drbd.CNetworkFailure, "")
			return
		}
	}
}

// requestTimer is request_timer_fn: a write the peer does not answer
// within timeout * ko-count ends the connection.
func (s *session) requestTimer() {
	defer s.wg.Done()
	ent := s.conf.Timeout * time.Duration(max(s.conf.KoCount, 1))
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.dead:
			return
		case <-t.C:
		}
		if s.conf.KoCount == 0 || s.conf.Timeout == 0 {
			continue
		}
		if r := s.tl.oldest(); r != nil {
			r.mu.Lock()
			sent, start := r.sent, r.start
			r.mu.Unlock()
			if sent && time.Since(start) > ent {
				s.log.Warn("Remote failed to finish a request within ko-count * timeout")
				s.fail(drbd.CTimeout, "")
				return
			}
		}
	}
}

// ---- reads from the peer ----

// readReq is a P_DATA_REQUEST waiting for its P_DATA_REPLY.
type readReq struct {
	buf  []byte
	err  error
	done chan struct{}
	once sync.Once
}

var errNoData = errors.New("peer has no good data")

func (r *readReq) finish(err error) {
	r.once.Do(func() { r.err = err; close(r.done) })
}

func (r *readReq) gotAck(_ *session, cmd proto.Cmd) {
	if cmd == proto.CmdNegDReply {
		r.finish(errNoData)
	}
}

func (r *readReq) lost(*session) { r.finish(errNoData) }

// Read reads from the peer's disk (a diskless node, or a read of blocks
// that are not in sync here): P_DATA_REQUEST, answered by P_DATA_REPLY or
// P_NEG_DREPLY.
func (pd *PeerDevice) Read(buf []byte, sector uint64) error {
	s := pd.c.session()
	if s == nil || !s.alive() || pd.dev().State().Pdsk != drbd.DUpToDate {
		return errNoData
	}
	r := &readReq{buf: buf, done: make(chan struct{})}
	id := s.register(r)
	if err := s.sendData(pd.vnr, proto.CmdDataRequest, proto.BlockReq{Sector: sector, BlockID: id, BlkSize: uint32(len(buf))}.Append(nil)); err != nil {
		s.lookup(id, true)
		return errNoData
	}
	<-r.done
	return r.err
}

// CanReadRemote is what do_remote_read checks first: the peer has good data.
func CanReadRemote(s drbd.State) bool { return s.Pdsk == drbd.DUpToDate }
