package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"udrbd/drbd"
	"udrbd/proto"
	"udrbd/statemachine"
)

// session is one established connection: the data and meta sockets and
// the goroutines serving them (the receiver, the ack receiver, the
// sender). It lives from the handshake to the cleanup after the sockets
// failed or were shut down; the next connection gets a new session.
type session struct {
	c    *Conn
	conf Config
	log  *slog.Logger

	data, meta     *net.TCPConn
	dr, mr         *bufio.Reader        // buffered readers of the two sockets (fewer syscalls per small packet)
	dataMu, metaMu sync.Mutex           // the socket mutexes; held for a whole packet
	rbuf           []byte               // the receiver's buffer for small payloads
	subBuf         [proto.SizeData]byte // the receiver's, for a data packet's p_data
	splice         bool                 // large writes cross the data socket by splice (splice.go)
	sin            *spliceReceiver      // the receiver's, nil if it reads payloads into memory

	agreed           int
	features         uint32
	resolveConflicts bool
	peerProto        proto.Protocol // the peer's P_PROTOCOL
	haveProto        bool

	failOnce sync.Once
	dead     chan struct{} // closed when the session failed
	stopping atomic.Bool   // an administrative stop (disconnect, down)
	lastRecv atomic.Int64  // unix nanoseconds of the last packet received on the data socket
	koCount  atomic.Int32

	wg sync.WaitGroup // ack receiver, sender, timers

	// the sender's queue
	sq sendQueue
	// the transfer log and the epochs of replicated writes
	tl transferLog
	// replies to our cluster-wide state change requests
	stReply chan int32
	// outstanding requests to the peer, by block_id
	reqMu   sync.Mutex
	nextID  uint64
	pending map[uint64]pendingReq
	// pages of peer data in flight here (max-buffers)
	pages *pageSem
	// the peer's current epoch, as received
	epoch peerEpoch
	// meta packets for the ack sender
	acks ackQueue
	// waiters for the next P_PING_ACK (ping_peer)
	pingMu      sync.Mutex
	pingWaiters []chan struct{}
	// ctx ends with the session
	cctx    context.Context
	ccancel context.CancelFunc
}

// ctx is a context that ends when the session fails.
func (s *session) ctx() context.Context { return s.cctx }

// pendingReq is a request that waits for the peer's answer on the meta
// socket (an ack) or the data socket (a read reply).
type pendingReq interface {
	// gotAck is called with the answering command.
	gotAck(s *session, cmd proto.Cmd)
	// lost is called when the session ends first.
	lost(s *session)
}

func newSession(c *Conn, conf Config, data, meta *net.TCPConn, resolveConflicts bool) *session {
	s := &session{c: c, conf: conf, log: c.log, data: data, meta: meta,
		dr: bufio.NewReaderSize(data, 256<<10), mr: bufio.NewReaderSize(meta, 16<<10),
		rbuf: make([]byte, 64<<10), agreed: proto.VersionPreNegotiation, resolveConflicts: resolveConflicts,
		dead: make(chan struct{}), stReply: make(chan int32, 1), pending: map[uint64]pendingReq{},
		pages: newPageSem(max(conf.MaxBuffers, 32)), splice: !c.noSplice.Load()}
	s.koCount.Store(int32(max(conf.KoCount, 1)))
	s.sq.init()
	s.tl.init()
	s.epoch.init()
	s.acks.cond.L = &s.acks.mu
	s.cctx, s.ccancel = context.WithCancel(context.Background())
	s.lastRecv.Store(time.Now().UnixNano())
	return s
}

func (s *session) closeSockets() {
	s.data.Close()
	s.meta.Close()
}

// alive reports whether the session has not failed yet.
func (s *session) alive() bool {
	select {
	case <-s.dead:
		return false
	default:
		return true
	}
}

// fail ends the session once: it logs why, moves every volume to cs
// (hard) and closes the sockets, which ends the goroutines.
func (s *session) fail(cs drbd.ConnState, why string) {
	s.failOnce.Do(func() {
		if why != "" {
			s.log.Error(why)
		}
		if cs != 0 {
			cur := s.c.cstate()
			if cur > drbd.CTearDown || (cs < cur && cur != drbd.CDisconnecting) {
				s.c.setConn(cs, statemachine.CSHard)
			}
		}
		close(s.dead)
		s.ccancel()
		s.closeSockets()
		s.sq.close()
		s.acks.close()
		s.pages.wakeAll()
		s.epoch.cond.Broadcast()
	})
}

// abort is an administrative stop of the session (disconnect, down).
func (s *session) abort(error) {
	s.stopping.Store(true)
	s.fail(0, "")
}

func (s *session) stopReq() bool { return s.stopping.Load() }

// ---- sending ----

// writeAll writes bufs to c, each chunk under a deadline of timeout. On the
// data socket a timeout costs one ko-count and asks for a ping (the
// kernel's we_should_drop_the_connection); on the meta socket it fails.
// It consumes *bufs (net.Buffers.WriteTo); a caller that sends often keeps
// bufs in a variable of its own, which saves an allocation per call.
func (s *session) writeAll(c *net.TCPConn, meta bool, bufs *net.Buffers) error {
	for {
		s.sendDeadline(c)
		_, err := bufs.WriteTo(c)
		if retry, err := s.retrySend(err, meta); !retry {
			return err
		}
	}
}

// spliceAll is writeAll for data sent by splice (splice.go).
func (s *session) spliceAll(sp *spliceSender, data []byte) error {
	for {
		s.sendDeadline(s.data)
		n, err := sp.send(data)
		data = data[n:]
		if retry, err := s.retrySend(err, false); !retry {
			return err
		}
	}
}

func (s *session) sendDeadline(c *net.TCPConn) {
	timeout := s.conf.Timeout
	if timeout <= 0 {
		timeout = 6 * time.Second
	}
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
}

// retrySend judges a send's outcome: done (nil), failed, or timed out on
// the data socket with ko-count left, which costs one and is retried.
func (s *session) retrySend(err error, meta bool) (bool, error) {
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || meta || !s.alive() {
		return false, err
	}
	ko := s.koCount.Add(-1)
	if ko <= 0 {
		return false, fmt.Errorf("sock_sendmsg time expired, ko exhausted: %w", err)
	}
	s.log.Error(fmt.Sprintf("[drbd_s_%s] sock_sendmsg time expired, ko = %d", s.c.name, ko))
	return true, nil
}

func (s *session) packet(vnr uint16, cmd proto.Cmd, parts [][]byte) net.Buffers {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	hdr := proto.AppendHeader(make([]byte, 0, proto.SizeHeader100), s.agreed, vnr, cmd, n)
	bufs := make(net.Buffers, 0, 1+len(parts))
	bufs = append(bufs, hdr)
	for _, p := range parts {
		if len(p) > 0 {
			bufs = append(bufs, p)
		}
	}
	return bufs
}

// sendData sends one packet on the data socket.
func (s *session) sendData(vnr uint16, cmd proto.Cmd, parts ...[]byte) error {
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	return s.sendDataLocked(vnr, cmd, parts...)
}

func (s *session) sendDataLocked(vnr uint16, cmd proto.Cmd, parts ...[]byte) error {
	pkt := s.packet(vnr, cmd, parts)
	if err := s.writeAll(s.data, false, &pkt); err != nil {
		s.fail(drbd.CNetworkFailure, "")
		return err
	}
	return nil
}

// sendMeta sends one packet on the meta socket.
func (s *session) sendMeta(vnr uint16, cmd proto.Cmd, payload []byte) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	pkt := s.packet(vnr, cmd, [][]byte{payload})
	if err := s.writeAll(s.meta, true, &pkt); err != nil {
		s.fail(drbd.CNetworkFailure, "")
		return err
	}
	return nil
}

func (s *session) sendAck(vnr uint16, cmd proto.Cmd, sector, blockID uint64, size uint32, seq uint32) error {
	var p [proto.SizeBlockAck]byte // on the stack: queueMeta copies it
	return s.queueMeta(vnr, cmd, proto.BlockAck{Sector: sector, BlockID: blockID, BlkSize: size, SeqNum: seq}.Append(p[:0]))
}

// queueMeta queues a packet for the ack sender (the kernel's ack_sender
// work, drbd_send_acks_wf): acks, barrier acks and state change replies go
// out in the order they were queued, many per write; pings do not wait
// behind them (sendMeta).
func (s *session) queueMeta(vnr uint16, cmd proto.Cmd, payload []byte) error {
	q := &s.acks
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return errConnReset
	}
	q.buf = proto.AppendHeader(q.buf, s.agreed, vnr, cmd, len(payload))
	q.buf = append(q.buf, payload...)
	q.queuedLocked()
	return nil
}

// pingPeer is ping_peer: a P_PING queued behind every ack already queued,
// and the wait for its P_PING_ACK. When it returns, the peer has seen
// those acks (the meta socket keeps order); false if the session ended.
func (s *session) pingPeer() bool {
	ch := make(chan struct{})
	s.pingMu.Lock()
	s.pingWaiters = append(s.pingWaiters, ch)
	s.pingMu.Unlock()
	if s.queueMeta(0, proto.CmdPing, nil) != nil {
		return false
	}
	select {
	case <-ch:
		return true
	case <-s.dead:
		return false
	}
}

// gotPingAck wakes every pingPeer waiting.
func (s *session) gotPingAck() {
	s.pingMu.Lock()
	w := s.pingWaiters
	s.pingWaiters = nil
	s.pingMu.Unlock()
	for _, ch := range w {
		close(ch)
	}
}

// ackQueue holds the packets for the ack sender.
type ackQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	buf    []byte // the packets queued, back to back
	n      int    // how many
	closed bool
	held   bool // the receiver has more writes buffered: let acks gather (hold)
}

// ackBatchMax is how many acks a hold gathers at most before they go.
const ackBatchMax = 32

// queuedLocked counts a packet appended to buf, unlocks q and wakes the ack
// sender unless a hold lets it gather more.
func (q *ackQueue) queuedLocked() {
	q.n++
	wake := !q.held || q.n >= ackBatchMax
	q.mu.Unlock()
	if wake {
		q.cond.Signal()
	}
}

// hold lets queued acks gather instead of waking the ack sender for each:
// the receiver holds while the next packet buffered is a write or barrier,
// whose acks can go out in the same send, and releases before anything
// else (and before it waits for the socket).
func (q *ackQueue) hold() {
	q.mu.Lock()
	q.held = true
	q.mu.Unlock()
}

// release ends a hold and wakes the ack sender for what gathered.
func (q *ackQueue) release() {
	q.mu.Lock()
	q.held = false
	wake := q.n > 0
	q.mu.Unlock()
	if wake {
		q.cond.Signal()
	}
}

func (q *ackQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.buf, q.n = nil, 0
	q.mu.Unlock()
	q.cond.Broadcast()
}

// ackSender writes the queued meta packets, all that are there at once.
func (s *session) ackSender() {
	defer s.wg.Done()
	q := &s.acks
	var spare []byte             // the buffer sent last, for the next packets
	pkts := make(net.Buffers, 1) // the buffer to send
	var out net.Buffers          // what writeAll consumes
	for {
		q.mu.Lock()
		for q.n == 0 && !q.closed {
			q.cond.Wait()
		}
		if q.closed {
			q.mu.Unlock()
			return
		}
		buf := q.buf
		q.buf, q.n = spare[:0], 0
		q.mu.Unlock()
		pkts[0] = buf
		s.metaMu.Lock()
		out = pkts
		err := s.writeAll(s.meta, true, &out)
		s.metaMu.Unlock()
		spare = buf
		if err != nil {
			s.fail(drbd.CNetworkFailure, "")
			return
		}
	}
}

// sendProtocol is drbd_send_protocol.
func (s *session) sendProtocol(cmd proto.Cmd) error {
	cf := uint32(0)
	if s.conf.DiscardMyData {
		cf |= proto.CFDiscardMyData
	}
	if s.conf.Tentative {
		cf |= proto.CFDryRun
	}
	two := uint32(0)
	if s.conf.TwoPrimaries {
		two = 1
	}
	p := proto.Protocol{Protocol: uint32(s.conf.Protocol), AfterSB0p: uint32(s.conf.AfterSB0p),
		AfterSB1p: uint32(s.conf.AfterSB1p), AfterSB2p: uint32(s.conf.AfterSB2p), ConnFlags: cf,
		TwoPrimaries: two, IntegrityAlg: s.conf.IntegrityAlg}
	return s.sendData(0, cmd, p.Append(nil, s.agreed))
}

// newID returns a block_id cookie and registers r under it.
func (s *session) register(r pendingReq) uint64 {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	s.nextID++
	id := s.nextID
	s.pending[id] = r
	return id
}

func (s *session) lookup(id uint64, remove bool) pendingReq {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	r := s.pending[id]
	if remove {
		delete(s.pending, id)
	}
	return r
}

// ---- serving ----

// serve runs the established session: drbd_connected for each volume,
// WFReportParams, the ack receiver and sender, and the receiver loop
// (drbdd) until the session fails.
func (s *session) serve() {
	c := s.c
	c.mu.Lock()
	c.sess = s
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.sess = nil
		c.mu.Unlock()
	}()
	if s.conf.Tentative && s.agreed < 92 {
		s.log.Error("--dry-run is not supported by peer")
		s.stopping.Store(true)
		s.fail(drbd.CDisconnecting, "")
		return
	}
	_ = s.meta.SetReadDeadline(time.Time{})
	for _, pd := range c.volumes() {
		pd.dev().SetStateSent(true)
	}
	if s.sendProtocol(proto.CmdProtocol) != nil {
		s.fail(drbd.CNetworkFailure, "")
		return
	}
	for _, pd := range c.volumes() {
		pd.connected(s)
	}
	c.connectCnt.Add(1)
	rv := c.setConn(drbd.CWFReportParams, statemachine.CSVerbose)
	if rv < drbd.SSSuccess || c.cstate() != drbd.CWFReportParams {
		for _, pd := range c.volumes() {
			pd.dev().SetStateSent(false)
		}
		s.fail(drbd.CNetworkFailure, "")
		return
	}
	// discard-my-data is a single-shot modifier of this handshake
	c.mu.Lock()
	c.conf.DiscardMyData = false
	c.mu.Unlock()

	s.wg.Add(4)
	go s.ackSender()
	go s.ackReceiver()
	go s.sender()
	go s.requestTimer()
	s.receiver()
	s.fail(drbd.CNetworkFailure, "")
	s.wg.Wait()
}

// disconnected is conn_disconnect: after the session ended, clean up
// every volume (drbd_disconnected) and go Unconnected, or StandAlone after
// an administrative disconnect.
func (c *Conn) disconnected(s *session) {
	if c.cstate() == drbd.CStandAlone {
		return
	}
	if cs := c.cstate(); cs > drbd.CNetworkFailure || cs == drbd.CUnconnected {
		c.setConn(drbd.CNetworkFailure, statemachine.CSHard)
	}
	if s != nil {
		s.tl.clear(s)
		s.failPending()
		for _, pd := range c.volumes() {
			pd.disconnected(s)
		}
		c.log.Info("Connection closed")
		if c.highestRole() == drbd.RPrimary && c.highestPdsk() >= drbd.DUnknown {
			c.tryOutdatePeerAsync()
		}
		if s.stopping.Load() {
			c.setConn(drbd.CDisconnecting, statemachine.CSHard)
		}
	}
	oc := c.cstate()
	if oc >= drbd.CUnconnected {
		c.setConn(drbd.CUnconnected, statemachine.CSVerbose)
	}
	if oc == drbd.CDisconnecting {
		c.setConn(drbd.CStandAlone, statemachine.CSVerbose|statemachine.CSHard)
	}
}

// failPending completes every request that still waits for the peer.
func (s *session) failPending() {
	s.reqMu.Lock()
	p := s.pending
	s.pending = map[uint64]pendingReq{}
	s.reqMu.Unlock()
	for _, r := range p {
		r.lost(s)
	}
}

// ---- max-buffers ----

// pageSem bounds the 4 KiB pages of peer data held here (drbd_alloc_pages
// against max-buffers): the receiver waits while the peer's writes and
// resync data in flight would exceed it.
type pageSem struct {
	mu   sync.Mutex
	cond sync.Cond
	free int
	max  int
}

func newPageSem(n int) *pageSem {
	p := &pageSem{free: n, max: n}
	p.cond.L = &p.mu
	return p
}

func pagesOf(size int) int { return max(1, (size+4095)/4096) }

// acquire takes n pages (at most max), waiting for them unless dead.
func (p *pageSem) acquire(n int, dead <-chan struct{}) bool {
	n = min(n, p.max)
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.free < n {
		select {
		case <-dead:
			return false
		default:
		}
		p.cond.Wait()
	}
	p.free -= n
	return true
}

func (p *pageSem) release(n int) {
	n = min(n, p.max)
	p.mu.Lock()
	p.free += n
	p.mu.Unlock()
	p.cond.Broadcast()
}

// wakeAll lets waiters re-check the session (called when it dies).
func (p *pageSem) wakeAll() {
	p.mu.Lock()
	p.mu.Unlock()
	p.cond.Broadcast()
}
