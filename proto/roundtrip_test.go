package proto

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"
)

// codec is a fixed-layout payload.
type codec[T any] interface {
	*T
	Append([]byte) []byte
	Decode([]byte) error
}

// checkFixed: every value encodes to size bytes and decodes to itself, and
// every size-byte string decodes and re-encodes to itself (no byte of a
// fixed layout is lost or invented).
func checkFixed[T comparable, P codec[T]](t *testing.T, size int) {
	t.Run(rapid.Make[T]().String(), func(t *testing.T) {
		rapid.Check(t, func(rt *rapid.T) {
			v := rapid.Make[T]().Draw(rt, "v")
			b := P(&v).Append(nil)
			if len(b) != size {
				rt.Fatalf("%d bytes, want %d", len(b), size)
			}
			var d T
			if err := P(&d).Decode(b); err != nil || d != v {
				rt.Fatalf("decoded %+v, %v; want %+v", d, err, v)
			}
			raw := rapid.SliceOfN(rapid.Byte(), size, size).Draw(rt, "raw")
			if err := P(&d).Decode(raw); err != nil {
				rt.Fatal(err)
			}
			if got := P(&d).Append(nil); !bytes.Equal(got, raw) {
				rt.Fatalf("re-encoded %x, want %x", got, raw)
			}
		})
	})
}

func TestRoundTripFixed(t *testing.T) {
	checkFixed[ConnectionFeatures](t, SizeConnectionFeatures)
	checkFixed[Data](t, SizeData)
	checkFixed[Trim](t, SizeTrim)
	checkFixed[BlockAck](t, SizeBlockAck)
	checkFixed[BlockReq](t, SizeBlockReq)
	checkFixed[BlockDesc](t, SizeBlockDesc)
	checkFixed[Barrier](t, SizeBarrier)
	checkFixed[BarrierAck](t, SizeBarrierAck)
	checkFixed[UUIDs](t, SizeUUIDs)
	checkFixed[RSUUID](t, SizeRSUUID)
	checkFixed[State](t, SizeState)
	checkFixed[ReqState](t, SizeReqState)
	checkFixed[ReqStateReply](t, SizeReqStateReply)
	checkFixed[DelayProbe](t, SizeDelayProbe)
}

var (
	genAgreed = rapid.IntRange(80, 101)
	genName   = rapid.StringMatching(`[a-z0-9()_-]{0,63}`)
)

func TestRoundTripSizes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Make[Sizes]().Draw(t, "v")
		features := rapid.Uint32Range(0, 15).Draw(t, "features")
		b := v.Append(nil, features)
		if len(b) != SizesLen(features) {
			t.Fatalf("%d bytes for features %#x", len(b), features)
		}
		if features&FFWSame == 0 {
			v.Qlim = QueueLimits{}
		}
		var d Sizes
		if err := d.Decode(b, features); err != nil || d != v {
			t.Fatalf("decoded %+v, %v; want %+v", d, err, v)
		}
		raw := rapid.SliceOfN(rapid.Byte(), len(b), len(b)).Draw(t, "raw")
		if err := d.Decode(raw, features); err != nil || !bytes.Equal(d.Append(nil, features), raw) {
			t.Fatalf("raw bytes do not round-trip: %v", err)
		}
	})
}

func TestRoundTripProtocol(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Make[Protocol]().Draw(t, "v")
		v.IntegrityAlg = genName.Draw(t, "alg")
		agreed := genAgreed.Draw(t, "agreed")
		b := v.Append(nil, agreed)
		if agreed < 87 {
			v.IntegrityAlg = ""
		}
		var d Protocol
		if err := d.Decode(b, agreed); err != nil || d != v {
			t.Fatalf("decoded %+v, %v; want %+v", d, err, v)
		}
	})
}

func TestRoundTripSyncParam(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Make[SyncParam]().Draw(t, "v")
		v.VerifyAlg = genName.Draw(t, "verify")
		v.CsumsAlg = genName.Draw(t, "csums")
		agreed := genAgreed.Draw(t, "agreed")
		b := v.Append(nil, agreed)
		switch {
		case agreed <= 87:
			v = SyncParam{ResyncRate: v.ResyncRate}
		case agreed == 88:
			v = SyncParam{ResyncRate: v.ResyncRate, VerifyAlg: v.VerifyAlg}
		case agreed <= 94:
			v.CPlanAhead, v.CDelayTarget, v.CFillTarget, v.CMaxRate = 0, 0, 0, 0
		}
		var d SyncParam
		if err := d.Decode(b, agreed); err != nil || d != v {
			t.Fatalf("decoded %+v, %v; want %+v", d, err, v)
		}
	})
}

// TestRoundTripPacket: a header and payload written for any agreed version
// come back through ReadPacket.
func TestRoundTripPacket(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		agreed := genAgreed.Draw(t, "agreed")
		vol := rapid.Uint16().Draw(t, "vol")
		cmd := Cmd(rapid.Uint16().Draw(t, "cmd"))
		n := rapid.IntRange(0, 70000).Draw(t, "len")
		if agreed < 95 {
			n = min(n, 0xffff)
		}
		payload := bytes.Repeat([]byte{0x5a}, n)
		b := AppendHeader(nil, agreed, vol, cmd, n)
		b = append(b, payload...)
		h, p, err := ReadPacket(bytes.NewReader(b), agreed, make([]byte, 70000))
		if agreed < 100 {
			vol = 0
		}
		if err != nil || h != (Header{Cmd: cmd, Volume: vol, Length: uint32(n)}) || !bytes.Equal(p, payload) {
			t.Fatalf("got %+v, %d bytes, %v", h, len(p), err)
		}
	})
}
