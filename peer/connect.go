package peer

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	crand "crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"udrbd/drbd"
	"udrbd/proto"
	"udrbd/statemachine"
)

type verdict int

const (
	connectOK     verdict = 1  // a valid connection
	connectRetry  verdict = 0  // did not work out, try again
	connectGiveUp verdict = -1 // the peer talks a different language: go StandAlone
)

// hmacNew returns the keyed hash for a cram-hmac-alg name as the kernel's
// crypto API spells it ("hmac(<alg>)"), or nil.
func hmacNew(alg string) func() hash.Hash {
	switch alg {
	case "sha1":
		return sha1.New
	case "sha256":
		return sha256.New
	case "sha512":
		return sha512.New
	case "sha384":
		return sha512.New384
	case "sha224":
		return sha256.New224
	case "md5":
		return md5.New
	}
	return nil
}

// CheckConfig refuses what this implementation cannot speak, before any
// packet is sent (drbd_adm_connect allocates the crypto the same way).
func CheckConfig(conf Config) error {
	if conf.CramHMACAlg != "" && hmacNew(conf.CramHMACAlg) == nil {
		return fmt.Errorf("cram-hmac-alg %q is not supported (sha1, sha224, sha256, sha384, sha512, md5 are)", conf.CramHMACAlg)
	}
	if conf.IntegrityAlg != "" && digestNew(conf.IntegrityAlg) == nil {
		return fmt.Errorf("data-integrity-alg %q is not supported (crc32c, sha1, sha256, md5 are)", conf.IntegrityAlg)
	}
	if conf.VerifyAlg != "" && digestNew(conf.VerifyAlg) == nil {
		return fmt.Errorf("verify-alg %q is not supported (crc32c, sha1, sha256, md5 are)", conf.VerifyAlg)
	}
	if conf.CsumsAlg != "" && digestNew(conf.CsumsAlg) == nil {
		return fmt.Errorf("csums-alg %q is not supported (crc32c, sha1, sha256, md5 are)", conf.CsumsAlg)
	}
	if len(conf.SharedSecret) >= proto.SharedSecretMax {
		return fmt.Errorf("shared-secret longer than %d bytes", proto.SharedSecretMax-1)
	}
	return nil
}

func listenConfig(conf Config) net.ListenConfig {
	return net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		_ = rc.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			setBufs(int(fd), conf)
		})
		return err
	}}
}

func setBufs(fd int, conf Config) {
	if conf.SndBuf > 0 {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, conf.SndBuf)
	}
	if conf.RcvBuf > 0 {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, conf.RcvBuf)
	}
}

// tryConnect is drbd_try_connect: connect to the peer from our own address.
func tryConnect(ctx context.Context, conf Config) *net.TCPConn {
	local, err := net.ResolveTCPAddr("tcp", conf.MyAddr)
	if err != nil {
		return nil
	}
	local.Port = 0
	d := net.Dialer{LocalAddr: local, Timeout: conf.ConnectInt, Control: func(_, _ string, rc syscall.RawConn) error {
		_ = rc.Control(func(fd uintptr) { setBufs(int(fd), conf) })
		return nil
	}}
	c, err := d.DialContext(ctx, "tcp", conf.PeerAddr)
	if err != nil {
		return nil
	}
	return c.(*net.TCPConn)
}

// sendFirst sends P_INITIAL_DATA or P_INITIAL_META: a bare p_header80.
func sendFirst(c *net.TCPConn, cmd proto.Cmd, timeout time.Duration) error {
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.Write(proto.AppendHeader(nil, proto.VersionPreNegotiation, 0, cmd, 0))
	return err
}

// receiveFirst is receive_first_packet.
func receiveFirst(c *net.TCPConn, timeout time.Duration) (proto.Cmd, error) {
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	b := make([]byte, proto.HeaderSize(proto.VersionPreNegotiation))
	if _, err := io.ReadFull(c, b); err != nil {
		return 0, err
	}
	h, err := proto.DecodeHeader(b, proto.VersionPreNegotiation)
	if err != nil {
		return 0, err
	}
	return h.Cmd, nil
}

// socketOK is drbd_socket_okay: the socket is still open (a peek that
// finds data or would block).
func socketOK(c *net.TCPConn) bool {
	if c == nil {
		return false
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Read(func(fd uintptr) bool {
		var b [4]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_DONTWAIT|unix.MSG_PEEK)
		ok = n > 0 || err == unix.EAGAIN
		return true
	})
	return ok
}

// connect is conn_connect: two sockets, the feature handshake and
// authentication. It returns the session ready for drbd_connected.
func (c *Conn) connect(ctx context.Context) (*session, verdict) {
	conf := c.Config()
	if c.setConn(drbd.CWFConnection, statemachine.CSVerbose) < drbd.SSSuccess && c.cstate() != drbd.CWFConnection {
		return nil, connectGiveUp
	}
	lc := listenConfig(conf)
	ln, err := lc.Listen(ctx, "tcp", conf.MyAddr)
	if err != nil {
		c.log.Error("failed to listen", "addr", conf.MyAddr, "err", err)
		sleep(ctx, conf.ConnectInt)
		return nil, connectRetry
	}
	defer ln.Close()
	tl := ln.(*net.TCPListener)

	var data, meta *net.TCPConn
	resolveConflicts := false
	release := func() {
		if data != nil {
			data.Close()
		}
		if meta != nil {
			meta.Close()
		}
	}
	checkTimeout := conf.SockCheckTimeout
	if checkTimeout == 0 {
		checkTimeout = conf.PingTimeout
	}
	established := func() bool {
		if data == nil || meta == nil {
			return false
		}
		sleep(ctx, checkTimeout)
		ok := socketOK(data)
		if !ok {
			data.Close()
			data = nil
		}
		if !socketOK(meta) {
			meta.Close()
			meta = nil
			ok = false
		}
		return ok
	}
	for {
		if ctx.Err() != nil {
			release()
			return nil, connectGiveUp
		}
		if s := tryConnect(ctx, conf); s != nil {
			switch {
			case data == nil:
				data = s
				_ = sendFirst(s, proto.CmdInitialData, conf.Timeout)
			case meta == nil:
				resolveConflicts = false
				meta = s
				_ = sendFirst(s, proto.CmdInitialMeta, conf.Timeout)
			default:
				s.Close()
			}
		}
		if established() {
			break
		}
	retry:
		jitter := conf.ConnectInt / 7
		if rand.IntN(2) == 0 {
			jitter = -jitter
		}
		_ = tl.SetDeadline(time.Now().Add(conf.ConnectInt + jitter))
		stop := context.AfterFunc(ctx, func() { _ = tl.SetDeadline(time.Now()) })
		s, err := tl.AcceptTCP()
		stop()
		if err == nil {
			setTCPOpts(s)
			fp, ferr := receiveFirst(s, 4*conf.PingTimeout)
			if data != nil && !socketOK(data) {
				data.Close()
				data = nil
			}
			if meta != nil && !socketOK(meta) {
				meta.Close()
				meta = nil
			}
			crossed := false
			switch {
			case ferr == nil && fp == proto.CmdInitialData:
				if data != nil {
					c.log.Warn("initial packet S crossed")
					data.Close()
					crossed = true
				}
				data = s
			case ferr == nil && fp == proto.CmdInitialMeta:
				resolveConflicts = true
				if meta != nil {
					c.log.Warn("initial packet M crossed")
					meta.Close()
					crossed = true
				}
				meta = s
			default:
				c.log.Warn("Error receiving initial packet")
				s.Close()
				crossed = true
			}
			if crossed && rand.IntN(2) == 0 {
				goto retry
			}
		}
		if c.cstate() <= drbd.CDisconnecting {
			release()
			return nil, connectGiveUp
		}
		if established() {
			break
		}
	}
	ln.Close()
	setTCPOpts(data)
	setTCPOpts(meta)
	s := newSession(c, conf, data, meta, resolveConflicts)
	v := s.handshake()
	if v != connectOK {
		s.closeSockets()
		return nil, v
	}
	return s, connectOK
}

// setTCPOpts: no Nagle delay (drbd_tcp_nodelay). Closing stays a plain
// close: a reset would make the peer drop what it has not read yet (our
// P_STATE after a failed handshake, say).
func setTCPOpts(c *net.TCPConn) {
	_ = c.SetNoDelay(true)
}

// handshake is drbd_do_features and drbd_do_auth on the data socket.
func (s *session) handshake() verdict {
	timeout := 4 * s.conf.PingTimeout
	_ = s.data.SetDeadline(time.Now().Add(timeout))
	defer s.data.SetDeadline(time.Time{})
	if err := s.sendData(0, proto.CmdConnectionFeatures, proto.LocalFeatures().Append(nil)); err != nil {
		return connectRetry
	}
	h, p, err := proto.ReadPacket(s.dr, proto.VersionPreNegotiation, s.rbuf)
	if err != nil {
		return connectRetry
	}
	if h.Cmd != proto.CmdConnectionFeatures {
		s.log.Error(fmt.Sprintf("expected ConnectionFeatures packet, received: %s (0x%04x)", h.Cmd, uint16(h.Cmd)))
		return connectGiveUp
	}
	var pf proto.ConnectionFeatures
	if err := pf.Decode(p); err != nil {
		s.log.Error(err.Error())
		return connectGiveUp
	}
	agreed, features, err := proto.Negotiate(pf)
	if err != nil {
		s.log.Error(err.Error())
		return connectGiveUp
	}
	s.agreed, s.features = agreed, features
	s.log.Info(fmt.Sprintf("Handshake successful: Agreed network protocol version %d", agreed))
	s.log.Info(fmt.Sprintf("Feature flags enabled on protocol level: 0x%x%s.", features, featureNames(features)))

	if s.conf.CramHMACAlg != "" {
		switch s.auth() {
		case connectGiveUp:
			s.log.Error("Authentication of peer failed")
			return connectGiveUp
		case connectRetry:
			s.log.Error("Authentication of peer failed, trying again.")
			return connectRetry
		}
	}
	return connectOK
}

func featureNames(f uint32) string {
	out := ""
	if f&proto.FFTrim != 0 {
		out += " TRIM"
	}
	if f&proto.FFThinResync != 0 {
		out += " THIN_RESYNC"
	}
	if f&proto.FFWSame != 0 {
		out += " WRITE_SAME"
	}
	if f&proto.FFWZeroes != 0 {
		out += " WRITE_ZEROES"
	} else if f == 0 {
		out += " none"
	}
	return out
}

// auth is drbd_do_auth: challenge and response, both directions.
func (s *session) auth() verdict {
	newHash := hmacNew(s.conf.CramHMACAlg)
	mine := make([]byte, proto.ChallengeLen)
	if _, err := crand.Read(mine); err != nil {
		return connectGiveUp
	}
	if err := s.sendData(0, proto.CmdAuthChallenge, mine); err != nil {
		return connectRetry
	}
	h, p, err := proto.ReadPacket(s.dr, s.agreed, s.rbuf)
	if err != nil {
		return connectRetry
	}
	if h.Cmd != proto.CmdAuthChallenge {
		s.log.Error(fmt.Sprintf("expected AuthChallenge packet, received: %s (0x%04x)", h.Cmd, uint16(h.Cmd)))
		return connectGiveUp
	}
	if err := proto.CheckAuthChallenge(p, mine); err != nil {
		s.log.Error(err.Error())
		return connectGiveUp
	}
	mac := hmac.New(newHash, []byte(s.conf.SharedSecret))
	mac.Write(p)
	resp := mac.Sum(nil)
	if err := s.sendData(0, proto.CmdAuthResponse, resp); err != nil {
		return connectRetry
	}
	h, p, err = proto.ReadPacket(s.dr, s.agreed, s.rbuf)
	if err != nil {
		return connectRetry
	}
	if h.Cmd != proto.CmdAuthResponse {
		s.log.Error(fmt.Sprintf("expected AuthResponse packet, received: %s (0x%04x)", h.Cmd, uint16(h.Cmd)))
		return connectRetry
	}
	if err := proto.CheckAuthResponse(p, len(resp)); err != nil {
		s.log.Error(err.Error())
		return connectRetry
	}
	mac = hmac.New(newHash, []byte(s.conf.SharedSecret))
	mac.Write(mine)
	if !hmac.Equal(p, mac.Sum(nil)) {
		return connectGiveUp
	}
	s.log.Info(fmt.Sprintf("Peer authenticated using %d bytes HMAC", len(resp)))
	return connectOK
}
