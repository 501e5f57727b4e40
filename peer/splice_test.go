package peer

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	acc := make(chan *net.TCPConn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			acc <- nil
			return
		}
		acc <- c.(*net.TCPConn)
	}()
	c, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-acc
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func testPipe(t *testing.T, c *net.TCPConn) (*pipe, syscall.RawConn) {
	t.Helper()
	p, raw, err := splicePipe(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return p, raw
}

func newTestSender(t *testing.T, c *net.TCPConn) *spliceSender {
	p, raw := testPipe(t, c)
	return &spliceSender{p: p, raw: raw}
}

func newTestReceiver(t *testing.T, c *net.TCPConn) *spliceReceiver {
	p, raw := testPipe(t, c)
	return &spliceReceiver{p: p, raw: raw}
}

// Payloads go from memory to the socket and from the socket into a file at
// their offsets, through pipes smaller and larger than a payload, and the
// stream around them stays in step: the bytes before and after each are
// read normally.
func TestSpliceRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, pipeSize := range []int{64 << 10, 1 << 20} {
		c, s := tcpPair(t)
		sp, sr := newTestSender(t, c), newTestReceiver(t, s)
		for _, p := range []*pipe{sp.p, sr.p} {
			if _, err := unix.FcntlInt(uintptr(p.w), unix.F_SETPIPE_SZ, pipeSize); err != nil {
				t.Fatal(err)
			}
			p.size = pipeSize
		}
		f, err := os.Create(filepath.Join(t.TempDir(), "disk"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		const fileSize = 4 << 20
		if err := f.Truncate(fileSize); err != nil {
			t.Fatal(err)
		}
		want := make([]byte, fileSize)
		sizes := []int{64 << 10, 1 << 20, 4096 + 512, 300 << 10}
		type chunk struct {
			off  int64
			data []byte
		}
		var chunks []chunk
		for _, n := range sizes {
			off := int64(rng.IntN((fileSize-n)/512)) * 512
			chunks = append(chunks, chunk{off, randomBytes(rng, n)})
		}
		sendErr := make(chan error, 1)
		go func() {
			for i, ch := range chunks {
				if _, err := c.Write([]byte{byte(i), 0xee}); err != nil {
					sendErr <- err
					return
				}
				if n, err := sp.send(ch.data); err != nil || n != len(ch.data) {
					sendErr <- errors.Join(err, io.ErrShortWrite)
					return
				}
			}
			_, err := c.Write([]byte("end"))
			sendErr <- err
		}()
		for i, ch := range chunks {
			var mark [2]byte
			if _, err := io.ReadFull(s, mark[:]); err != nil || mark != [2]byte{byte(i), 0xee} {
				t.Fatalf("pipe %d, chunk %d: marker %x, %v", pipeSize, i, mark, err)
			}
			done, rest, err := sr.in(int(f.Fd()), ch.off, len(ch.data))
			if err != nil || done != len(ch.data) || rest != nil {
				t.Fatalf("pipe %d, chunk %d: in = %d, %d bytes left over, %v", pipeSize, i, done, len(rest), err)
			}
			copy(want[ch.off:], ch.data)
		}
		var end [3]byte
		if _, err := io.ReadFull(s, end[:]); err != nil || string(end[:]) != "end" {
			t.Fatalf("pipe %d: trailer %q, %v", pipeSize, end, err)
		}
		if err := <-sendErr; err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("pipe %d: the file differs from what was sent", pipeSize)
		}
	}
}

// A stream that ends inside a payload is an unexpected EOF, not a hang.
func TestSpliceInTruncated(t *testing.T) {
	c, s := tcpPair(t)
	sr := newTestReceiver(t, s)
	f, err := os.Create(filepath.Join(t.TempDir(), "disk"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := c.Write(make([]byte, 100<<10)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	res := make(chan error, 1)
	go func() {
		_, _, err := sr.in(int(f.Fd()), 0, 1<<20)
		res <- err
	}()
	select {
	case err := <-res:
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("got %v, want an unexpected EOF", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in hangs on a closed stream")
	}
}

// A file that does not take the splice gets errSpliceFile, with the bytes
// the pipe held handed back: with them, the caller has everything up to
// done+len(rest), and the stream continues right after.
func TestSpliceInFileRefuses(t *testing.T) {
	c, s := tcpPair(t)
	sr := newTestReceiver(t, s)
	name := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(name, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	ro, err := os.Open(name) // read-only: splice into it fails with EBADF
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	payload := randomBytes(rng, 256<<10)
	go func() {
		_, _ = c.Write(payload)
		_, _ = c.Write([]byte("next"))
	}()
	done, rest, err := sr.in(int(ro.Fd()), 0, len(payload))
	if !errors.Is(err, errSpliceFile) {
		t.Fatalf("got %v, want errSpliceFile", err)
	}
	got := append([]byte(nil), rest...)
	if done != 0 || len(got) == 0 || !bytes.Equal(got, payload[:len(got)]) {
		t.Fatalf("done %d, %d bytes handed back: want 0 and the payload's first bytes", done, len(got))
	}
	tail := make([]byte, len(payload)-len(got)+4)
	if _, err := io.ReadFull(s, tail); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tail[:len(tail)-4], payload[len(got):]) || string(tail[len(tail)-4:]) != "next" {
		t.Fatal("the stream after the handed-back bytes is not the rest of the payload")
	}
}
