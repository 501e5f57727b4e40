package peer

import (
	"bytes"
	"fmt"

	"udrbd/drbd"
	"udrbd/proto"
	"udrbd/statemachine"
)

// receiveWrite is receive_Data (and P_TRIM, P_ZEROES): the peer's write
// goes to the local disk; the protocol's acks follow. data is nil for a
// trim or zeroes request of size bytes, else a max-buffers buffer this
// function owns. A P_DATA with nil data has its payload still on the data
// socket: it goes from there into the disk (splice.go), before this
// function returns.
func (pd *PeerDevice) receiveWrite(s *session, cmd proto.Cmd, d proto.Data, size int, data []byte) error {
	w := peerWrite{cmd: cmd, d: d, size: size, data: data, spliceFd: -1, onWire: cmd == proto.CmdData && data == nil}
	if !pd.dev().GetLdev() {
		w.release(s)
		if w.onWire {
			if err := s.skip(int64(size)); err != nil {
				return err
			}
		}
		pd.log.Error("Can not write mirrored data block to local disk.")
		if d.DPFlags&(proto.DPSendWriteAck|proto.DPSendReceiveAck) != 0 {
			return s.sendAck(pd.vnr, proto.CmdNegAck, d.Sector, d.BlockID, uint32(size), pd.nextSeq())
		}
		return nil
	}
	w.disk = pd.v.Disk()
	if w.onWire {
		if t, ok := w.disk.(SpliceTarget); ok {
			if fd, ok := t.SpliceFd(); ok {
				w.spliceFd = fd
			}
		}
		if w.spliceFd < 0 {
			// not a buffered file: read the payload as usual
			var err error
			if w.data, err = s.dataBuf(size); err != nil {
				pd.dev().PutLdev()
				return err
			}
			w.onWire = false
		}
	}
	if d.Sector+uint64(size>>9) > pd.v.Capacity() {
		pd.dev().PutLdev()
		w.release(s)
		return fmt.Errorf("write beyond the end of the device: sector %d +%d", d.Sector, size)
	}
	s.epoch.add(pd)
	pd.active.Add(1)
	pd.recvSect.Add(uint64(size) >> 9)
	acks := d.DPFlags&(proto.DPSendWriteAck|proto.DPSendReceiveAck) != 0
	if acks {
		pd.unacked.Add(1)
	}
	if d.DPFlags&proto.DPSendReceiveAck != 0 {
		pd.unacked.Add(-1)
		_ = s.sendAck(pd.vnr, proto.CmdRecvAck, d.Sector, d.BlockID, uint32(size), pd.nextSeq())
	}
	st := pd.dev().State()
	if st.Pdsk < drbd.DInconsistent {
		// we have the only disk of the cluster
		w.disk.SetOutOfSync(d.Sector, size)
	}
	pd.peerIO.lock(d.Sector, size)
	switch {
	case w.onWire:
		return pd.writePeer(s, w)
	case cmd == proto.CmdData && size <= InlineMax && d.DPFlags&(proto.DPFlush|proto.DPFUA) == 0 && writesInline(w.disk):
		_ = pd.writePeer(s, w)
	default:
		go pd.writePeer(s, w)
	}
	return nil
}

// peerWrite is a write of the peer on its way to the disk (a peer
// request).
type peerWrite struct {
	cmd      proto.Cmd
	d        proto.Data
	size     int
	data     []byte // the data; nil for trim and zeroes, and while onWire
	disk     Disk
	spliceFd int  // the disk's file for a payload onWire
	onWire   bool // the payload is still on the data socket
}

// release gives the data buffer back.
func (w *peerWrite) release(s *session) {
	if w.data != nil {
		s.putData(w.data)
	}
}

// writePeer is the second half of receiveWrite: the local write, its ack,
// and the references it held dropped. The error is a network error while
// reading a payload onWire, which ends the connection.
func (pd *PeerDevice) writePeer(s *session, w peerWrite) error {
	var err, netErr error
	d, size, disk := w.d, w.size, w.disk
	off := int64(d.Sector) << 9
	switch {
	case w.cmd == proto.CmdTrim || w.cmd == proto.CmdZeroes:
		discard := d.DPFlags&proto.DPDiscard != 0 && w.cmd == proto.CmdTrim
		err = disk.Zero(off, int64(size), discard)
	case w.onWire:
		err, netErr = s.writeFromWire(disk, w.spliceFd, off, size)
	default:
		if d.DPFlags&proto.DPFlush != 0 {
			err = disk.Flush()
		}
		if err == nil {
			err = disk.WriteAt(w.data, off, d.DPFlags&proto.DPFUA != 0)
		}
	}
	pd.peerIO.unlock(d.Sector, size)
	w.release(s)
	switch {
	case netErr != nil:
		// the connection is gone: the peer marks this write out of
		// sync, and so must we (we wrote part of it)
		disk.SetOutOfSync(d.Sector, size)
		if d.DPFlags&proto.DPSendWriteAck != 0 {
			pd.unacked.Add(-1)
		}
	case err != nil:
		pd.log.Error("local write of a peer request failed", "sector", d.Sector, "size", size, "err", err)
		pd.dev().IOError(statemachine.WriteError)
		disk.SetOutOfSync(d.Sector, size)
		if d.DPFlags&proto.DPSendWriteAck != 0 {
			pd.unacked.Add(-1)
			_ = s.sendAck(pd.vnr, proto.CmdNegAck, d.Sector, d.BlockID, uint32(size), pd.nextSeq())
		}
	case d.DPFlags&proto.DPSendWriteAck != 0:
		defer pd.unacked.Add(-1)
		ack := proto.CmdWriteAck
		if c := pd.dev().State().Conn; c >= drbd.CSyncSource && c <= drbd.CPausedSyncT && d.DPFlags&proto.DPMaySetInSync != 0 {
			ack = proto.CmdRSWriteAck
			n := disk.SetInSync(d.Sector, size)
			pd.rsProgress(n)
		}
		_ = s.sendAck(pd.vnr, ack, d.Sector, d.BlockID, uint32(size), pd.nextSeq())
	}
	pd.dev().PutLdev()
	pd.active.Done()
	s.epoch.done()
	return netErr
}

// InlineMax is the largest write worth doing on the goroutine that
// received it (see InlineWriter): a larger copy takes long enough that
// doing it side by side with the next request's wins, even at the price
// of a goroutine.
const InlineMax = 64 << 10

// InlineWriter is what a Disk may add: whether a plain write (no flush,
// no FUA) of at most InlineMax bytes returns about as soon as its data is
// copied, as on a buffered file, so that the receiver does it itself
// instead of in a goroutine of its own. A disk whose writes wait for a
// device says false.
type InlineWriter interface {
	InlineWrites() bool
}

func writesInline(d Disk) bool {
	w, ok := d.(InlineWriter)
	return ok && w.InlineWrites()
}

// receiveResyncData is receive_RSDataReply (data) and
// receive_rs_deallocated (data nil: zeroes): the SyncTarget writes the
// block, marks it in sync and answers P_RS_WRITE_ACK.
func (pd *PeerDevice) receiveResyncData(s *session, d proto.Data, size int, data []byte) error {
	release := func() {
		if data != nil {
			s.putData(data)
		}
	}
	pd.rsAnswered(size)
	pd.recvSect.Add(uint64(size) >> 9)
	if !pd.dev().GetLdevIfState(drbd.DInconsistent) {
		release()
		pd.log.Error("Can not write resync data to local disk.")
		return s.sendAck(pd.vnr, proto.CmdNegAck, d.Sector, d.BlockID, uint32(size), pd.nextSeq())
	}
	disk := pd.v.Disk()
	pd.active.Add(1)
	pd.peerIO.lock(d.Sector, size)
	go func() {
		var err error
		off := int64(d.Sector) << 9
		if data == nil {
			err = disk.Zero(off, int64(size), true)
		} else {
			err = disk.WriteAt(data, off, false)
		}
		pd.peerIO.unlock(d.Sector, size)
		release()
		if err != nil {
			pd.log.Error("resync write failed", "sector", d.Sector, "err", err)
			pd.dev().IOError(statemachine.WriteError)
			pd.rsFailedIO(size)
			_ = s.sendAck(pd.vnr, proto.CmdNegAck, d.Sector, d.BlockID, uint32(size), pd.nextSeq())
		} else {
			n := disk.SetInSync(d.Sector, size)
			_ = s.sendAck(pd.vnr, proto.CmdRSWriteAck, d.Sector, d.BlockID, uint32(size), pd.nextSeq())
			pd.rsProgress(n)
		}
		pd.dev().PutLdev()
		pd.active.Done()
	}()
	return nil
}

// receiveDataRequest is receive_DataRequest: the peer wants blocks of our
// disk (a read of a diskless peer, resync, online verify). The answer is
// sent from a goroutine; resync reads hold off application writes to the
// same blocks until the reply is on the socket.
func (pd *PeerDevice) receiveDataRequest(s *session, cmd proto.Cmd, q proto.BlockReq, digest []byte) error {
	size := int(q.BlkSize)
	capacity := pd.v.Capacity()
	if size <= 0 || size&511 != 0 || size > proto.MaxBioSize {
		pd.log.Error(fmt.Sprintf("receive_DataRequest: bad size %d", size))
		return fmt.Errorf("bad request size %d", size)
	}
	if q.Sector+uint64(size>>9) > capacity {
		pd.log.Error(fmt.Sprintf("receive_DataRequest: sector %d out of range", q.Sector))
		return fmt.Errorf("request beyond the end")
	}
	negCmd := proto.CmdNegRSDReply
	switch cmd {
	case proto.CmdDataRequest:
		negCmd = proto.CmdNegDReply
	case proto.CmdOVRequest, proto.CmdOVReply:
		negCmd = proto.CmdNegRSDReply
	}
	if !pd.dev().GetLdevIfState(drbd.DUpToDate) {
		verb := true
		if cmd == proto.CmdOVReply {
			pd.rsAnswered(size)
			verb = false
		}
		if verb {
			pd.log.Error(fmt.Sprintf("Can not satisfy peer's read request, no local data."))
		}
		return s.sendAck(pd.vnr, negCmd, q.Sector, q.BlockID, uint32(size), pd.nextSeq())
	}
	disk := pd.v.Disk()
	if !s.pages.acquire(pagesOf(size), s.dead) {
		pd.dev().PutLdev()
		return errConnReset
	}
	resync := cmd == proto.CmdRSDataRequest || cmd == proto.CmdRSThinReq || cmd == proto.CmdCsumRSRequest
	if resync {
		pd.writing.lock(q.Sector, size)
	}
	pd.active.Add(1)
	go func() {
		defer pd.active.Done()
		defer pd.dev().PutLdev()
		defer s.pages.release(pagesOf(size))
		if resync {
			defer pd.writing.unlock(q.Sector, size)
		}
		buf := getBuf(size)
		defer putBuf(buf)
		if err := disk.ReadAt(buf, int64(q.Sector)<<9); err != nil {
			pd.log.Error("local read for the peer failed", "sector", q.Sector, "err", err)
			pd.dev().IOError(statemachine.ReadError)
			_ = s.sendAck(pd.vnr, negCmd, q.Sector, q.BlockID, uint32(size), pd.nextSeq())
			return
		}
		if cmd == proto.CmdDataRequest || cmd == proto.CmdRSDataRequest || cmd == proto.CmdRSThinReq || cmd == proto.CmdCsumRSRequest {
			pd.sentSect.Add(uint64(size) >> 9)
		}
		switch cmd {
		case proto.CmdDataRequest:
			d := proto.Data{Sector: q.Sector, BlockID: q.BlockID}
			_ = s.sendData(pd.vnr, proto.CmdDataReply, d.Append(nil), s.integrityDigest(buf), buf)
		case proto.CmdRSDataRequest:
			d := proto.Data{Sector: q.Sector, BlockID: q.BlockID}
			_ = s.sendData(pd.vnr, proto.CmdRSDataReply, d.Append(nil), s.integrityDigest(buf), buf)
		case proto.CmdRSThinReq:
			if allZero(buf) {
				_ = s.sendData(pd.vnr, proto.CmdRSDeallocated, proto.BlockDesc{Sector: q.Sector, BlkSize: uint32(size)}.Append(nil))
			} else {
				d := proto.Data{Sector: q.Sector, BlockID: q.BlockID}
				_ = s.sendData(pd.vnr, proto.CmdRSDataReply, d.Append(nil), s.integrityDigest(buf), buf)
			}
		case proto.CmdCsumRSRequest:
			if sum := pd.csum(s, buf); sum != nil && bytes.Equal(sum, digest) {
				disk.SetInSync(q.Sector, size)
				_ = s.sendAck(pd.vnr, proto.CmdRSIsInSync, q.Sector, q.BlockID, uint32(size), pd.nextSeq())
			} else {
				d := proto.Data{Sector: q.Sector, BlockID: proto.IDSyncer}
				_ = s.sendData(pd.vnr, proto.CmdRSDataReply, d.Append(nil), s.integrityDigest(buf), buf)
			}
		case proto.CmdOVRequest:
			pd.ovRequested(s, q, buf)
		case proto.CmdOVReply:
			pd.ovReplied(s, q, buf, digest)
		}
	}()
	return nil
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
