package peer

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"udrbd/drbd"
	"udrbd/proto"
	"udrbd/statemachine"
)

// nextIsWrite reports whether the next packet's header is buffered already
// and is a P_DATA or P_BARRIER: handling those does not wait for long, so
// their acks may gather for one send (the ack queue's hold) without
// delaying acks of writes done meanwhile by more than that.
func (s *session) nextIsWrite(hs int) bool {
	if s.dr.Buffered() < hs {
		return false
	}
	b, err := s.dr.Peek(hs)
	if err != nil {
		return false
	}
	h, err := proto.DecodeHeader(b, s.agreed)
	return err == nil && (h.Cmd == proto.CmdData || h.Cmd == proto.CmdBarrier)
}

// receiver is drbdd: read packets from the data socket and handle them,
// until the socket fails or a handler gives up on the connection.
func (s *session) receiver() {
	if s.splice {
		if sr, err := s.newSpliceReceiver(); err != nil {
			s.log.Warn("large writes of the peer are read into memory", "err", err)
		} else {
			s.sin = sr
			defer sr.p.close()
		}
	}
	hs := proto.HeaderSize(s.agreed)
	hdr := make([]byte, hs)
	var inBitmap *PeerDevice // a bitmap transfer in progress: nothing else may come between its packets
	holding := false         // acks gather while more writes are buffered
	defer func() {
		if holding {
			s.acks.release()
		}
	}()
	for {
		if more := s.nextIsWrite(hs); more != holding {
			if more {
				s.acks.hold()
			} else {
				s.acks.release()
			}
			holding = more
		}
		if _, err := io.ReadFull(s.dr, hdr); err != nil {
			if s.alive() && !s.stopping.Load() {
				if errors.Is(err, io.EOF) {
					s.log.Error("sock was shut down by peer")
				} else {
					s.log.Error(fmt.Sprintf("sock_recvmsg returned %v", err))
				}
			}
			s.fail(drbd.CNetworkFailure, "")
			return
		}
		s.lastRecv.Store(time.Now().UnixNano())
		h, err := proto.DecodeHeader(hdr, s.agreed)
		if err != nil {
			s.fail(drbd.CProtocolError, err.Error())
			return
		}
		if err := proto.CheckPayload(proto.DataSocket, h.Cmd, s.features, int(h.Length)); err != nil {
			s.fail(drbd.CProtocolError, err.Error())
			return
		}
		if inBitmap != nil && h.Cmd != proto.CmdBitmap && h.Cmd != proto.CmdCompressedBitmap {
			s.fail(drbd.CProtocolError, fmt.Sprintf("receive_bitmap: cmd neither ReportBitMap nor ReportCBitMap (is 0x%x)", uint16(h.Cmd)))
			return
		}
		err = s.handle(h, &inBitmap)
		switch {
		case err == nil:
			continue
		case errors.Is(err, errDisconnect):
			s.stopping.Store(true)
			s.drain()
			s.fail(drbd.CDisconnecting, "")
		case errors.Is(err, errConnReset), !s.alive():
			s.fail(drbd.CNetworkFailure, "")
		default:
			s.fail(drbd.CProtocolError, fmt.Sprintf("error receiving %s, e: %v l: %d!", h.Cmd, err, h.Length))
		}
		return
	}
}

// drain lets the peer read what we sent before we go (our P_STATE, so it
// reaches the same verdict, e.g. on a split brain): the data socket is shut
// for writing, and we read until the peer closes or a second passes.
func (s *session) drain() {
	_ = s.data.CloseWrite()
	_ = s.data.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.Copy(io.Discard, s.dr)
}

// payload reads the rest of a packet into the small buffer.
func (s *session) payload(h proto.Header) ([]byte, error) {
	if int(h.Length) > len(s.rbuf) {
		return nil, &proto.ProtocolError{Msg: fmt.Sprintf("%s: packet too long (%d)", h.Cmd, h.Length)}
	}
	b := s.rbuf[:h.Length]
	_, err := io.ReadFull(s.dr, b)
	return b, err
}

// skip drains a payload (ignore_remaining_packet).
func (s *session) skip(n int64) error {
	_, err := io.CopyN(io.Discard, s.dr, n)
	return err
}

// dataBuf reads size bytes of packet data into a buffer counted against
// max-buffers. The caller releases it with s.putData.
func (s *session) dataBuf(size int) ([]byte, error) {
	if !s.pages.acquire(pagesOf(size), s.dead) {
		return nil, errConnReset
	}
	b := getBuf(size)
	if _, err := io.ReadFull(s.dr, b); err != nil {
		s.putData(b)
		return nil, err
	}
	return b, nil
}

func (s *session) putData(b []byte) {
	s.pages.release(pagesOf(len(b)))
	putBuf(b)
}

func (s *session) handle(h proto.Header, inBitmap **PeerDevice) error {
	pd := s.c.volume(h.Volume)
	if pd == nil {
		switch h.Cmd {
		case proto.CmdProtocol, proto.CmdProtocolUpdate, proto.CmdBarrier, proto.CmdUnplugRemote, proto.CmdDelayProbe:
		case proto.CmdSyncParam, proto.CmdSyncParam89, proto.CmdSizes, proto.CmdUUIDs, proto.CmdState:
			s.log.Warn(fmt.Sprintf("%s packet received for volume %d, which is not configured locally", h.Cmd, h.Volume))
			return s.skip(int64(h.Length))
		default:
			return fmt.Errorf("%s for unknown volume %d", h.Cmd, h.Volume)
		}
	}
	switch h.Cmd {
	case proto.CmdData, proto.CmdDataReply, proto.CmdRSDataReply:
		return s.receiveDataPacket(pd, h)
	case proto.CmdTrim, proto.CmdZeroes:
		b, err := s.payload(h)
		if err != nil {
			return err
		}
		var t proto.Trim
		if err := t.Decode(b); err != nil {
			return err
		}
		return pd.receiveWrite(s, h.Cmd, t.Data, int(t.Size), nil)
	case proto.CmdBarrier:
		b, err := s.payload(h)
		if err != nil {
			return err
		}
		var p proto.Barrier
		if err := p.Decode(b); err != nil {
			return err
		}
		return s.receiveBarrier(p.Barrier)
	case proto.CmdBitmap, proto.CmdCompressedBitmap:
		b, err := s.payload(h)
		if err != nil {
			return err
		}
		done, err := pd.gotBitmap(s, h.Cmd, b)
		if err != nil {
			return err
		}
		if done {
			*inBitmap = nil
		} else {
			*inBitmap = pd
		}
		return nil
	case proto.CmdUnplugRemote, proto.CmdDelayProbe:
		return s.skip(int64(h.Length))
	case proto.CmdDataRequest, proto.CmdRSDataRequest, proto.CmdOVRequest, proto.CmdOVReply,
		proto.CmdCsumRSRequest, proto.CmdRSThinReq:
		b, err := s.payload(h)
		if err != nil {
			return err
		}
		var q proto.BlockReq
		if err := q.Decode(b[:proto.SizeBlockReq]); err != nil {
			return err
		}
		return pd.receiveDataRequest(s, h.Cmd, q, append([]byte(nil), b[proto.SizeBlockReq:]...))
	case proto.CmdSyncParam, proto.CmdSyncParam89:
		b, err := s.payload(h)
		if err != nil {
			return err
		}
		var p proto.SyncParam
		if err := p.Decode(b, s.agreed); err != nil {
			return err
		}
		return pd.gotSyncParam(s, &p)
	case proto.CmdProtocol, proto.CmdProtocolUpdate:
		b, err := s.payload(h)
		if err != nil {
			return err
		}
		var p proto.Protocol
		if err := p.Decode(b, s.agreed); err != nil {
			return err
		}
		return s.gotProtocol(h.Cmd, &p)
	case proto.CmdUUIDs:
		b, err := s.payload(h)
		if err != nil {
			return err
		}
		var p proto.UUIDs
		if err := p.Decode(b); err != nil {
			return err
		}
		return pd.gotUUIDs(s, &p)
	case proto.CmdSizes:
		b, err := s.payload(h)
		if err != nil {
			return err
		}
		var p proto.Sizes
		if err := p.Decode(b, s.features); err != nil {
			return err
		}
		return pd.gotSizes(s, &p)
	case proto.CmdState:
		b, err := s.payload(h)
		if err != nil {
			return err
		}
		var p proto.State
		if err := p.Decode(b); err != nil {
			return err
		}
		return pd.gotState(s, drbd.Unpack(p.State))
	case proto.CmdStateChgReq, proto.CmdConnStChgReq:
		b, err := s.payload(h)
		if err != nil {
			return err
		}
		var p proto.ReqState
		if err := p.Decode(b); err != nil {
			return err
		}
		if pd == nil {
			pd = s.c.firstVolume()
			if pd == nil {
				return fmt.Errorf("state change request without volumes")
			}
		}
		return pd.gotReqState(s, h.Cmd, &p)
	case proto.CmdSyncUUID:
		b, err := s.payload(h)
		if err != nil {
			return err
		}
		var p proto.RSUUID
		if err := p.Decode(b); err != nil {
			return err
		}
		return pd.gotSyncUUID(s, p.UUID)
	case proto.CmdOutOfSync:
		b, err := s.payload(h)
		if err != nil {
			return err
		}
		var p proto.BlockDesc
		if err := p.Decode(b); err != nil {
			return err
		}
		switch st := pd.dev().State(); st.Conn {
		case drbd.CWFSyncUUID, drbd.CWFBitMapT, drbd.CBehind:
		default:
			pd.log.Error(fmt.Sprintf("ASSERT FAILED cstate = %s, expected: WFSyncUUID|WFBitMapT|Behind", st.Conn))
		}
		pd.outOfSync(p.Sector, int(p.BlkSize))
		return nil
	case proto.CmdRSDeallocated:
		b, err := s.payload(h)
		if err != nil {
			return err
		}
		var p proto.BlockDesc
		if err := p.Decode(b); err != nil {
			return err
		}
		return pd.receiveResyncData(s, proto.Data{Sector: p.Sector, BlockID: proto.IDSyncer}, int(p.BlkSize), nil)
	}
	return fmt.Errorf("unexpected data packet %s (0x%04x)", h.Cmd, uint16(h.Cmd))
}

func (c *Conn) firstVolume() *PeerDevice {
	v := c.volumes()
	if len(v) == 0 {
		return nil
	}
	return v[0]
}

// receiveDataPacket reads a p_data and its data (with a digest first when
// the peer uses a data-integrity-alg) and hands it on.
func (s *session) receiveDataPacket(pd *PeerDevice, h proto.Header) error {
	sub := s.subBuf[:]
	if _, err := io.ReadFull(s.dr, sub); err != nil {
		return err
	}
	var d proto.Data
	if err := d.Decode(sub); err != nil {
		return err
	}
	size := int(h.Length) - proto.SizeData
	var dig []byte
	if n := s.peerDigestSize(); n > 0 {
		if size < n {
			return &proto.ProtocolError{Msg: "data packet shorter than its digest"}
		}
		dig = make([]byte, n)
		if _, err := io.ReadFull(s.dr, dig); err != nil {
			return err
		}
		size -= n
	}
	if size < 0 || size > proto.MaxBioSize || size&511 != 0 {
		return &proto.ProtocolError{Msg: fmt.Sprintf("%s: bad data size %d", h.Cmd, size)}
	}
	if h.Cmd == proto.CmdData && dig == nil && s.sin != nil && size >= spliceMin &&
		d.DPFlags&(proto.DPFlush|proto.DPFUA|proto.DPSendReceiveAck) == 0 {
		// A large plain write goes from the socket into the backing
		// file (splice.go); one that waits for a flush, or whose
		// P_RECV_ACK is due before its write, is read first.
		return pd.receiveWrite(s, h.Cmd, d, size, nil)
	}
	data, err := s.dataBuf(size)
	if err != nil {
		return err
	}
	if dig != nil && !s.checkDigest(dig, data) {
		s.putData(data)
		pd.log.Error(fmt.Sprintf("Digest integrity check FAILED: %d +%d", d.Sector, size))
		return errors.New("digest integrity check failed")
	}
	switch h.Cmd {
	case proto.CmdData:
		return pd.receiveWrite(s, h.Cmd, d, size, data)
	case proto.CmdRSDataReply:
		return pd.receiveResyncData(s, d, size, data)
	default: // P_DATA_REPLY
		defer s.putData(data)
		r, _ := s.lookup(d.BlockID, true).(*readReq)
		if r == nil {
			pd.log.Error(fmt.Sprintf("Got a corrupt block_id/sector pair(1) for sector %d", d.Sector))
			return errors.New("unknown read reply")
		}
		if len(r.buf) != size {
			r.finish(errNoData)
			return fmt.Errorf("data reply of %d bytes for a read of %d", size, len(r.buf))
		}
		copy(r.buf, data)
		r.finish(nil)
		return nil
	}
}

// gotProtocol is receive_protocol.
func (s *session) gotProtocol(cmd proto.Cmd, p *proto.Protocol) error {
	if cmd == proto.CmdProtocol {
		incompatible := func(what string) error {
			s.log.Error(fmt.Sprintf("incompatible %s settings", what))
			return errDisconnect
		}
		conf := s.conf
		switch {
		case int(p.Protocol) != conf.Protocol:
			return incompatible("protocol")
		case ConvertAfterSB(drbd.AfterSBPolicy(p.AfterSB0p)) != conf.AfterSB0p:
			return incompatible("after-sb-0pri")
		case ConvertAfterSB(drbd.AfterSBPolicy(p.AfterSB1p)) != conf.AfterSB1p:
			return incompatible("after-sb-1pri")
		case ConvertAfterSB(drbd.AfterSBPolicy(p.AfterSB2p)) != conf.AfterSB2p:
			return incompatible("after-sb-2pri")
		case p.ConnFlags&proto.CFDiscardMyData != 0 && conf.DiscardMyData:
			return incompatible("discard-my-data")
		case (p.TwoPrimaries != 0) != conf.TwoPrimaries:
			return incompatible("allow-two-primaries")
		case p.IntegrityAlg != conf.IntegrityAlg:
			return incompatible("data-integrity-alg")
		}
	}
	if p.IntegrityAlg != "" && digestNew(p.IntegrityAlg) == nil {
		s.log.Error(fmt.Sprintf("peer data-integrity-alg %s not supported", p.IntegrityAlg))
		return errDisconnect
	}
	if cmd == proto.CmdProtocolUpdate && p.IntegrityAlg != s.peerProto.IntegrityAlg {
		alg := p.IntegrityAlg
		if alg == "" {
			alg = "(none)"
		}
		s.log.Info("peer data-integrity-alg: " + alg)
	}
	s.peerProto = *p
	s.haveProto = true
	if cmd == proto.CmdProtocolUpdate {
		s.conf.Protocol = int(p.Protocol)
		s.conf.AfterSB0p = ConvertAfterSB(drbd.AfterSBPolicy(p.AfterSB0p))
		s.conf.AfterSB1p = ConvertAfterSB(drbd.AfterSBPolicy(p.AfterSB1p))
		s.conf.AfterSB2p = ConvertAfterSB(drbd.AfterSBPolicy(p.AfterSB2p))
		s.conf.TwoPrimaries = p.TwoPrimaries != 0
	}
	return nil
}

// ---- epochs on the receiving side ----

// peerEpoch counts the writes of the peer's current epoch: received,
// and still being written here.
type peerEpoch struct {
	mu      sync.Mutex
	cond    sync.Cond
	size    uint32        // writes received in the epoch
	pending int           // of those, not yet written
	vols    []*PeerDevice // the volumes written in the epoch (a few: a set kept as a slice)
	spare   []*PeerDevice // the slice of the epoch before, for the next
}

func (e *peerEpoch) init() { e.cond.L = &e.mu }

func (e *peerEpoch) add(pd *PeerDevice) {
	e.mu.Lock()
	e.size++
	e.pending++
	if !slices.Contains(e.vols, pd) {
		e.vols = append(e.vols, pd)
	}
	e.mu.Unlock()
}

// takeLocked ends the epoch: it returns its size and volumes and starts the
// next one empty. The caller hands the volumes back when done with them.
func (e *peerEpoch) takeLocked() (uint32, []*PeerDevice) {
	size, vols := e.size, e.vols
	e.size, e.vols, e.spare = 0, e.spare[:0], nil
	return size, vols
}

// giveBack keeps the slice takeLocked returned for a later epoch.
func (e *peerEpoch) giveBack(vols []*PeerDevice) {
	clear(vols)
	e.mu.Lock()
	e.spare = vols
	e.mu.Unlock()
}

func (e *peerEpoch) done() {
	e.mu.Lock()
	e.pending--
	e.mu.Unlock()
	e.cond.Broadcast()
}

// receiveBarrier is receive_Barrier with write ordering drain or flush:
// every write of the epoch is on disk (and flushed) before P_BARRIER_ACK.
func (s *session) receiveBarrier(nr uint32) error {
	e := &s.epoch
	e.mu.Lock()
	for e.pending > 0 && s.alive() {
		e.cond.Wait()
	}
	size, vols := e.takeLocked()
	e.mu.Unlock()
	defer e.giveBack(vols)
	if !s.alive() {
		return errConnReset
	}
	for _, pd := range vols {
		if d := pd.getDisk(drbd.DInconsistent); d != nil {
			if err := d.Flush(); err != nil {
				pd.log.Error("local disk flush failed", "err", err)
				pd.dev().IOError(statemachine.WriteError)
			}
			pd.putDisk()
		}
	}
	return s.queueMeta(0, proto.CmdBarrierAck, proto.BarrierAck{Barrier: nr, SetSize: size}.Append(nil))
}
