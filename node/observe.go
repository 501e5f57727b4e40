package node

import (
	"time"

	"udrbd/peer"
)

// WriteObserver receives the latencies of one volume's application writes
// (requests that change data: write, discard, write-zeroes), stage by
// stage. Only writes that succeed are reported. The data path and the
// connection's goroutines call it: its methods must be quick, must not
// block and should not allocate.
type WriteObserver interface {
	// ObserveLocalWrite: the write on the backing device (with the
	// flush a FUA write asks for).
	ObserveLocalWrite(time.Duration)
	// ObserveNetworkWrite (peer.Observer): the write handed to the peer
	// until the answer its protocol waits for (B, C), or until sent (A).
	peer.Observer
	// ObserveApplicationWrite: the block request from its arrival in
	// Submit until it completes.
	ObserveApplicationWrite(time.Duration)
}

// isWrite reports the operations whose latencies a WriteObserver gets.
func isWrite(op Op) bool { return op == OpWrite || op == OpDiscard || op == OpWriteZeroes }
