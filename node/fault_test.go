package node

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/proto"
)

// faultProxy stands between the two nodes: each node's peer address is one
// of its ports, forwarded to the other node. It forwards DRBD packets whole
// (it reads the headers) and can break the stream: cut every connection,
// truncate a packet and close, corrupt a packet header, or delay packets.
type faultProxy struct {
	t     testing.TB
	lns   []net.Listener
	mu    sync.Mutex
	conns []net.Conn
	fault atomic.Int32 // what to do with the next packet of the armed direction
	delay atomic.Int64 // nanoseconds to hold every packet
	hits  atomic.Int32 // faults injected
	down  atomic.Bool  // refuse new connections (a partition)
	// the sector and block_id of the P_DATA faultTruncateLarge cut, and the
	// acks of it that came back (the peer must not ack a write it did not
	// receive whole)
	cutSector, cutID atomic.Uint64
	cutAcks          atomic.Int32
}

const (
	faultNone = iota
	faultTruncate
	faultCorrupt
	faultTruncateLarge // truncate the next P_DATA of 64 KiB or more: the receiver is mid-splice
)

// listen makes a proxy port that forwards to target.
func (p *faultProxy) listen(target string) string {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		p.t.Fatal(err)
	}
	p.lns = append(p.lns, ln)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if p.down.Load() {
				c.Close()
				continue
			}
			s, err := net.Dial("tcp4", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go p.pipe(c, s)
			go p.pipe(s, c)
		}
	}()
	return ln.Addr().String()
}

// pipe forwards packet by packet; the magic tells an 8-byte h80 header (the
// handshake) from a 16-byte h100 one.
func (p *faultProxy) pipe(from, to net.Conn) {
	defer from.Close()
	defer to.Close()
	for {
		hdr := make([]byte, 4, proto.SizeHeader100)
		if _, err := io.ReadFull(from, hdr); err != nil {
			return
		}
		agreed, hs := proto.VersionPreNegotiation, proto.SizeHeader80
		if binary.BigEndian.Uint32(hdr) == proto.Magic100 {
			agreed, hs = 100, proto.SizeHeader100
		}
		hdr = hdr[:hs]
		if _, err := io.ReadFull(from, hdr[4:]); err != nil {
			return
		}
		h, err := proto.DecodeHeader(hdr, agreed)
		if err != nil {
			_, _ = to.Write(hdr) // let the node see the garbage and react
			return
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(from, payload); err != nil {
			return
		}
		if d := p.delay.Load(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		if agreed == 100 && (h.Cmd == proto.CmdWriteAck || h.Cmd == proto.CmdRecvAck) && len(payload) >= 16 && p.cutID.Load() != 0 &&
			binary.BigEndian.Uint64(payload) == p.cutSector.Load() && binary.BigEndian.Uint64(payload[8:]) == p.cutID.Load() {
			p.cutAcks.Add(1)
		}
		if agreed == 100 && h.Cmd == proto.CmdData && len(payload) >= proto.SizeData+64<<10 &&
			p.fault.CompareAndSwap(faultTruncateLarge, faultNone) {
			p.hits.Add(1)
			p.cutSector.Store(binary.BigEndian.Uint64(payload))
			p.cutID.Store(binary.BigEndian.Uint64(payload[8:]))
			_, _ = to.Write(hdr)
			_, _ = to.Write(payload[:proto.SizeData+len(payload)/2])
			return
		}
		if agreed == 100 && p.fault.Load() != faultTruncateLarge {
			switch p.fault.Swap(faultNone) {
			case faultTruncate:
				p.hits.Add(1)
				_, _ = to.Write(hdr)
				_, _ = to.Write(payload[:len(payload)/2])
				return
			case faultCorrupt:
				p.hits.Add(1)
				binary.BigEndian.PutUint32(hdr, 0xdeadbeef)
			}
		}
		if _, err := to.Write(append(hdr, payload...)); err != nil {
			return
		}
	}
}

func (p *faultProxy) cut() {
	p.mu.Lock()
	cs := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

// partition cuts every connection and refuses new ones until heal.
func (p *faultProxy) partition() {
	p.down.Store(true)
	p.cut()
}

func (p *faultProxy) heal() { p.down.Store(false) }

func (p *faultProxy) close() {
	for _, l := range p.lns {
		l.Close()
	}
	p.cut()
}

// TestFaultInjection: two nodes replicate through a proxy that cuts,
// truncates, corrupts and delays the stream. Each fault ends in a clean
// disconnect and reconnect (never a hang or a panic), and after a resync
// the two disks are equal again.
func TestFaultInjection(t *testing.T) {
	const size = 16 << 20
	p := newPair(t, size)
	fp := &faultProxy{t: t}
	t.Cleanup(fp.close)
	// each node dials the proxy; the proxy dials the other node's own address
	viaA := fp.listen(p.addrB) // where a connects to reach b
	viaB := fp.listen(p.addrA)
	connect := func(e *env, my, peer string) {
		cc := res("r0")
		cc.CtxMyAddr, cc.CtxPeerAddr = sockaddrIn(t, my), sockaddrIn(t, peer)
		cc.Present.Add(genl.CfgContextCtxMyAddr, genl.CfgContextCtxPeerAddr)
		nc := &genl.NetConf{ConnectInt: 1, PingInt: 1, PingTimeo: 5, Timeout: 10, KoCount: 3, IntegrityAlg: "crc32c"}
		nc.Present.Add(genl.NetConfConnectInt, genl.NetConfPingInt, genl.NetConfPingTimeo, genl.NetConfTimeout,
			genl.NetConfKoCount, genl.NetConfIntegrityAlg)
		e.want(e.req(genl.CmdConnect, genl.MinorNone, cc, nc), success, "connect")
	}
	connect(p.a, p.addrA, viaA)
	connect(p.b, p.addrB, viaB)
	p.waitFor("connected", func(a, b drbd.State) bool { return a.Conn == drbd.CConnected && b.Conn == drbd.CConnected })
	p.a.want(p.a.req(genl.CmdPrimary, 0, force()), success, "primary --force")
	p.waitFor("initial sync", upToDate)
	data := int64(p.a.n.minor(0).Capacity() << 9)
	rng := rand.New(rand.NewPCG(7, 8))

	faults := []struct {
		name   string
		inject func()
	}{
		{"cut", func() { time.Sleep(50 * time.Millisecond); fp.cut() }},
		{"truncated packet", func() { fp.fault.Store(faultTruncate) }},
		{"corrupted header", func() { fp.fault.Store(faultCorrupt) }},
		{"delay", func() { fp.delay.Store(int64(20 * time.Millisecond)) }},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			before := fp.hits.Load()
			done := make(chan struct{})
			go func() {
				defer close(done)
				writeRandom(t, p.a, rng, 60, data)
			}()
			f.inject()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				t.Fatalf("writes hung after the fault (%s)", f.name)
			}
			fp.delay.Store(0)
			if f.name == "truncated packet" || f.name == "corrupted header" {
				// the next packet takes it: a write's, or else a ping's
				for deadline := time.Now().Add(10 * time.Second); fp.hits.Load() == before; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("the fault was never injected")
					}
				}
			}
			p.waitFor("reconnected and in sync after "+f.name, upToDate)
			p.sameData(data)
		})
	}
	_ = fmt.Sprint
}

// TestFaultTruncatedSplicedWrite: the stream ends in the middle of a large
// write's data while the peer splices it from the socket into its disk
// (no integrity-alg, so the receiver splices). The peer sees the
// connection fail, not a short write taken for a whole one; both reconnect,
// resync, and end with equal disks.
func TestFaultTruncatedSplicedWrite(t *testing.T) {
	const size = 16 << 20
	p := newPair(t, size)
	fp := &faultProxy{t: t}
	t.Cleanup(fp.close)
	viaA := fp.listen(p.addrB)
	viaB := fp.listen(p.addrA)
	connect := func(e *env, my, peer string) {
		cc := res("r0")
		cc.CtxMyAddr, cc.CtxPeerAddr = sockaddrIn(t, my), sockaddrIn(t, peer)
		cc.Present.Add(genl.CfgContextCtxMyAddr, genl.CfgContextCtxPeerAddr)
		nc := &genl.NetConf{ConnectInt: 1, PingInt: 1, PingTimeo: 5, Timeout: 10, KoCount: 3}
		nc.Present.Add(genl.NetConfConnectInt, genl.NetConfPingInt, genl.NetConfPingTimeo, genl.NetConfTimeout, genl.NetConfKoCount)
		e.want(e.req(genl.CmdConnect, genl.MinorNone, cc, nc), success, "connect")
	}
	connect(p.a, p.addrA, viaA)
	connect(p.b, p.addrB, viaB)
	p.waitFor("connected", func(a, b drbd.State) bool { return a.Conn == drbd.CConnected && b.Conn == drbd.CConnected })
	p.primaryWithoutSync()
	data := int64(p.a.n.minor(0).Capacity() << 9)
	h := p.a.blocks.dev(0).h
	rng := rand.New(rand.NewPCG(5, 6))
	fp.fault.Store(faultTruncateLarge)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 40 {
			n := (16 + rng.IntN(48)) * 4096 // 64-256 KiB: spliced
			off := int64(rng.IntN(int(data/4096)-n/4096)) * 4096
			buf := make([]byte, n)
			for j := range buf {
				buf[j] = byte(rng.Uint32())
			}
			if err := submit(h, OpWrite, off, buf); err != nil {
				t.Errorf("write at %d: %v", off, err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("writes hung after the truncated write")
	}
	if fp.hits.Load() == 0 {
		t.Fatal("no large write was truncated")
	}
	p.waitFor("reconnected and in sync", upToDate)
	if n := fp.cutAcks.Load(); n != 0 {
		t.Errorf("the peer acknowledged the write whose data was cut short (%d acks)", n)
	}
	p.sameData(data)
}
