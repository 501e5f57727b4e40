package peer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"udrbd/drbd"
	"udrbd/proto"
)

// ackReceiver is drbd_ack_receiver: read the meta socket, answer pings,
// ping the peer when the socket is idle for ping-int and give up when the
// ping ack does not come within ping-timeout.
func (s *session) ackReceiver() {
	defer s.wg.Done()
	hs := proto.HeaderSize(s.agreed)
	buf := make([]byte, hs+proto.SizeBlockAck+64)
	received, expect := 0, hs
	var h proto.Header
	haveHeader := false
	pingActive := false
	pingInt := s.conf.PingInt
	if pingInt <= 0 {
		pingInt = 10 * time.Second
	}
	pingTimeout := s.conf.PingTimeout
	if pingTimeout <= 0 {
		pingTimeout = 500 * time.Millisecond
	}
	var pre time.Time // when the read deadline was set
	armedFor := time.Duration(-1)
	for {
		timeout := pingInt
		if pingActive {
			timeout = pingTimeout
		}
		// The deadline counts from when the socket may have to be waited
		// for: a read the buffer answers does not touch it, so the
		// deadline is set again only when the buffer is empty (once per
		// batch of acks, not twice per ack) or the timeout changed.
		if s.mr.Buffered() == 0 || timeout != armedFor {
			pre, armedFor = time.Now(), timeout
			_ = s.meta.SetReadDeadline(pre.Add(timeout))
		}
		n, err := s.mr.Read(buf[received:expect])
		received += n
		if err != nil {
			if !s.alive() {
				return
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if time.Unix(0, s.lastRecv.Load()).After(pre) {
					continue // the data socket received meanwhile: the peer is alive
				}
				if pingActive {
					s.fail(drbd.CNetworkFailure, "PingAck did not arrive in time.")
					return
				}
				if s.sendMeta(0, proto.CmdPing, nil) != nil {
					s.fail(drbd.CNetworkFailure, "drbd_send_ping has failed")
					return
				}
				pingActive = true
				continue
			}
			if errors.Is(err, io.EOF) {
				s.fail(drbd.CNetworkFailure, "meta connection shut down by peer.")
			} else {
				s.fail(drbd.CNetworkFailure, fmt.Sprintf("sock_recvmsg returned %v", err))
			}
			return
		}
		if received < expect {
			continue
		}
		if !haveHeader {
			h, err = proto.DecodeHeader(buf[:hs], s.agreed)
			if err != nil {
				s.fail(drbd.CNetworkFailure, err.Error())
				return
			}
			if err := proto.CheckPayload(proto.MetaSocket, h.Cmd, s.features, int(h.Length)); err != nil {
				s.fail(drbd.CNetworkFailure, err.Error())
				return
			}
			haveHeader = true
			expect = hs + int(h.Length)
			if int(h.Length) > 0 {
				continue
			}
		}
		if err := s.gotMeta(h, buf[hs:expect]); err != nil {
			s.fail(drbd.CNetworkFailure, err.Error())
			return
		}
		s.lastRecv.Store(time.Now().UnixNano())
		if h.Cmd == proto.CmdPingAck {
			pingActive = false
		}
		received, expect, haveHeader = 0, hs, false
	}
}

// gotMeta handles one meta packet (the ack_receiver_tbl functions).
func (s *session) gotMeta(h proto.Header, p []byte) error {
	switch h.Cmd {
	case proto.CmdPing:
		return s.sendMeta(0, proto.CmdPingAck, nil)
	case proto.CmdPingAck:
		s.gotPingAck()
		return nil
	case proto.CmdDelayProbe:
		return nil
	case proto.CmdStateChgReply, proto.CmdConnStChgReply:
		var r proto.ReqStateReply
		if err := r.Decode(p); err != nil {
			return err
		}
		if r.Retcode < int32(drbd.SSSuccess) {
			s.log.Error(fmt.Sprintf("Requested state change failed by peer: %s (%d)", drbd.StateRV(r.Retcode), r.Retcode))
		}
		select {
		case s.stReply <- r.Retcode:
		default:
		}
		return nil
	case proto.CmdBarrierAck:
		var b proto.BarrierAck
		if err := b.Decode(p); err != nil {
			return err
		}
		return s.tl.barrierAcked(s, b.Barrier, b.SetSize)
	}
	var a proto.BlockAck
	if err := a.Decode(p); err != nil {
		return err
	}
	pd := s.c.volume(h.Volume)
	if pd == nil {
		return fmt.Errorf("%s for unknown volume %d", h.Cmd, h.Volume)
	}
	switch h.Cmd {
	case proto.CmdRecvAck, proto.CmdWriteAck, proto.CmdRSWriteAck, proto.CmdSuperseded, proto.CmdRetryWrite, proto.CmdNegAck:
		if a.BlockID == proto.IDSyncer {
			// a resync block: the SyncSource learns it is written (or not)
			if h.Cmd == proto.CmdNegAck {
				pd.rsFailedIO(int(a.BlkSize))
			} else {
				pd.inSync(a.Sector, int(a.BlkSize))
			}
			return nil
		}
		r := s.lookup(a.BlockID, true)
		if r == nil {
			return fmt.Errorf("Got a corrupt block_id/sector pair(2) for sector %d", a.Sector)
		}
		r.gotAck(s, h.Cmd)
	case proto.CmdNegDReply:
		if r := s.lookup(a.BlockID, true); r != nil {
			r.gotAck(s, h.Cmd)
		}
		pd.log.Error(fmt.Sprintf("Got NegDReply; Sector %dB, len %d.", a.Sector<<9, a.BlkSize))
	case proto.CmdNegRSDReply:
		pd.rsAnswered(int(a.BlkSize))
		pd.rsFailedIO(int(a.BlkSize))
	case proto.CmdRSCancel:
		pd.rsAnswered(int(a.BlkSize))
	case proto.CmdRSIsInSync:
		pd.rsAnswered(int(a.BlkSize))
		pd.inSync(a.Sector, int(a.BlkSize))
	case proto.CmdOVResult:
		pd.gotOVResult(&a)
	default:
		return fmt.Errorf("Unexpected meta packet %s (0x%04x)", h.Cmd, uint16(h.Cmd))
	}
	return nil
}
