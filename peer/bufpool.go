package peer

import (
	"math/bits"
	"sync"

	"udrbd/proto"
)

// Buffers for block data, pooled by size class: powers of two from 4 KiB to
// the largest bio (proto.MaxBioSize). A 4 KiB write or verify request takes a
// 4 KiB buffer, not a 1 MiB one: with max-buffers requests in flight, one
// size for all would hold max-buffers MiB and make the collector clear a
// mebibyte for every small request.
const (
	minBufShift = 12 // 4 KiB
	maxBufShift = 20 // 1 MiB
)

var bufPools [maxBufShift - minBufShift + 1]sync.Pool

// headers keeps the *[]byte boxes the pools hold their buffers in: getBuf
// empties one, putBuf fills one, so that neither allocates a box per buffer.
var headers sync.Pool

// bufClass is the index of the smallest class that holds n bytes, or -1
// when n is larger than every class.
func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	c := bits.Len(uint(n-1)) - minBufShift
	if c >= len(bufPools) {
		return -1
	}
	return c
}

// getBuf returns a buffer of length n (its contents are not cleared).
func getBuf(n int) []byte {
	c := bufClass(n)
	if c < 0 {
		return make([]byte, n)
	}
	if p, ok := bufPools[c].Get().(*[]byte); ok {
		b := (*p)[:n]
		*p = nil
		headers.Put(p)
		return b
	}
	return make([]byte, n, 1<<(c+minBufShift))
}

// putBuf gives a buffer from getBuf back; others are left to the collector.
func putBuf(b []byte) {
	c := bufClass(cap(b))
	if c < 0 || cap(b) != 1<<(c+minBufShift) {
		return
	}
	p, _ := headers.Get().(*[]byte)
	if p == nil {
		p = new([]byte)
	}
	*p = b[:cap(b)]
	bufPools[c].Put(p)
}

func init() {
	if proto.MaxBioSize != 1<<maxBufShift {
		panic("peer: buffer classes do not end at proto.MaxBioSize")
	}
}
