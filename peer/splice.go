package peer

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"udrbd/proto"
)

// Large writes cross the data socket without the copies a read(2) or
// write(2) costs, as the kernel's DRBD sends a bio's pages with sendpage
// (_drbd_send_zc_bio) instead of copying them:
//
//   - The sender of a protocol B or C write hands the request's pages to
//     TCP: vmsplice(2) maps them into a pipe and splice(2) moves them on to
//     the socket. The pages stay the socket's until TCP is done with them,
//     so they must not change before then; the application gets a B or C
//     write's buffer back only after the peer's ack, which the peer sends
//     once it has read the data, and a retransmission of data the peer has
//     read is discarded on arrival. A protocol A write completes once sent,
//     so its data is copied, as the kernel copies it (_drbd_send_bio).
//   - The receiver of a P_DATA moves its payload from the socket into a
//     pipe and from the pipe into the backing file at the write's offset:
//     one copy in all, the page cache's, instead of one into our memory and
//     one out of it.
//
// Both are for large payloads only: below spliceMin the extra system calls
// cost more than the copy saves.
const spliceMin = 64 << 10

// pipe is a pipe that data crosses on its way between a socket and memory
// or a file. Between calls it is empty.
type pipe struct {
	r, w int
	size int // the pipe's capacity in bytes
}

func newPipe() (*pipe, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	p := &pipe{r: fds[0], w: fds[1]}
	// Room for the largest payload, so that one vmsplice and one splice
	// carry a whole write; an unprivileged process past pipe-max-size keeps
	// the default and loops.
	_, _ = unix.FcntlInt(uintptr(p.w), unix.F_SETPIPE_SZ, proto.MaxBioSize)
	size, err := unix.FcntlInt(uintptr(p.w), unix.F_GETPIPE_SZ, 0)
	if err != nil || size <= 0 {
		size = 64 << 10
	}
	p.size = size
	return p, nil
}

func (p *pipe) close() {
	unix.Close(p.r)
	unix.Close(p.w)
}

// spliceSender sends data on the data socket through a pipe.
type spliceSender struct {
	p    *pipe
	raw  syscall.RawConn
	held int // bytes in the pipe not moved to the socket yet
}

// send moves data to the socket without copying it. On an error the bytes
// already moved into the pipe stay there, and a call with the rest of data
// (data[n:], n as returned) sends them first; an error that ends the
// connection leaves the pipe to close.
func (sp *spliceSender) send(data []byte) (n int, err error) {
	for {
		if sp.held > 0 {
			flags := unix.SPLICE_F_MOVE
			if n < len(data) {
				flags |= unix.SPLICE_F_MORE
			}
			if err := sp.drain(flags); err != nil {
				return n, err
			}
		}
		if n == len(data) {
			return n, nil
		}
		iov := []unix.Iovec{{Base: &data[n]}}
		iov[0].SetLen(len(data) - n)
		m, err := unix.Vmsplice(sp.p.w, iov, unix.SPLICE_F_NONBLOCK)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return n, os.NewSyscallError("vmsplice", err)
		}
		n += m
		sp.held += m
	}
}

// drain moves what the pipe holds to the socket, waiting for room in it
// (under the socket's write deadline).
func (sp *spliceSender) drain(flags int) error {
	var serr error
	err := sp.raw.Write(func(fd uintptr) bool {
		for sp.held > 0 {
			m, err := unix.Splice(sp.p.r, nil, int(fd), nil, sp.held, flags)
			switch {
			case errors.Is(err, unix.EINTR):
				continue
			case errors.Is(err, unix.EAGAIN):
				return false // wait until the socket can take more
			case err != nil:
				serr = os.NewSyscallError("splice", err)
				return true
			}
			sp.held -= int(m)
		}
		return true
	})
	if err != nil {
		return err
	}
	return serr
}

// SpliceTarget is what a Disk may add: the descriptor of a backing file
// whose writes are buffered (see InlineWriter), which the receiver then
// writes large payloads into straight from the data socket. ok is false
// when the backing device is not such a file.
type SpliceTarget interface {
	SpliceFd() (fd int, ok bool)
}

// spliceReceiver writes payloads from the data socket into files.
type spliceReceiver struct {
	p   *pipe
	raw syscall.RawConn
}

// errSpliceFile is a splice into the file that failed; the bytes it did not
// write were read into memory instead (spliceIn's rest).
var errSpliceFile = errors.New("splice into the backing file failed")

// in moves n bytes of the socket into fd at off. It returns a network
// error (the stream is lost), or errSpliceFile with the bytes of the
// current round the file did not take, read out of the pipe: the caller
// writes them and reads the remaining n-done bytes of the payload itself.
func (sr *spliceReceiver) in(fd int, off int64, n int) (done int, rest []byte, err error) {
	for done < n {
		want := min(n-done, sr.p.size)
		got := 0
		var rerr error
		err := sr.raw.Read(func(sfd uintptr) bool {
			for {
				m, err := unix.Splice(int(sfd), nil, sr.p.w, nil, want, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
				switch {
				case errors.Is(err, unix.EINTR):
					continue
				case errors.Is(err, unix.EAGAIN):
					return false // wait for data
				case err != nil:
					rerr = os.NewSyscallError("splice", err)
				case m == 0:
					rerr = io.ErrUnexpectedEOF
				}
				got = int(m)
				return true
			}
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return done, nil, err
		}
		for got > 0 {
			o := off + int64(done)
			m, err := unix.Splice(sr.p.r, nil, fd, &o, got, unix.SPLICE_F_MOVE)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || m == 0 {
				rest = make([]byte, got)
				if _, rerr := io.ReadFull(pipeReader(sr.p.r), rest); rerr != nil {
					return done, nil, fmt.Errorf("pipe: %w", rerr)
				}
				return done, rest, fmt.Errorf("%w: %v", errSpliceFile, err)
			}
			done += int(m)
			got -= int(m)
		}
	}
	return done, nil, nil
}

// pipeReader reads a pipe's descriptor.
type pipeReader int

func (r pipeReader) Read(b []byte) (int, error) {
	for {
		n, err := unix.Read(int(r), b)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

// splicePipe is a pipe for splicing to or from c, and c's raw descriptor.
func splicePipe(c *net.TCPConn) (*pipe, syscall.RawConn, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, nil, err
	}
	p, err := newPipe()
	if err != nil {
		return nil, nil, err
	}
	return p, raw, nil
}

func (s *session) newSpliceReceiver() (*spliceReceiver, error) {
	p, raw, err := splicePipe(s.data)
	if err != nil {
		return nil, err
	}
	return &spliceReceiver{p: p, raw: raw}, nil
}

func (s *session) newSpliceSender() (*spliceSender, error) {
	p, raw, err := splicePipe(s.data)
	if err != nil {
		return nil, err
	}
	return &spliceSender{p: p, raw: raw}, nil
}

// writeFromWire writes the next size bytes of the data socket to disk (its
// descriptor fd) at off. What the socket's reader has buffered already is
// written from its buffer, the rest spliced. A disk error (diskErr) comes
// after the payload was read in full, so that the connection goes on; a
// network error (netErr) ends it.
func (s *session) writeFromWire(disk Disk, fd int, off int64, size int) (diskErr, netErr error) {
	if b := min(s.dr.Buffered(), size); b > 0 {
		buf, _ := s.dr.Peek(b)
		diskErr = disk.WriteAt(buf, off, false)
		_, _ = s.dr.Discard(b)
		off += int64(b)
		size -= b
	}
	if size == 0 {
		return diskErr, nil
	}
	if diskErr != nil || s.sin == nil {
		return s.writeFromReader(disk, off, size, diskErr)
	}
	done, rest, err := s.sin.in(fd, off, size)
	if err == nil {
		return nil, nil
	}
	if !errors.Is(err, errSpliceFile) {
		return nil, err
	}
	// The file refused the splice: write the bytes the pipe held as
	// usual, and read the rest of this and every later payload into
	// memory.
	s.log.Warn("large writes of the peer are read into memory", "err", err)
	s.sin = nil
	diskErr = disk.WriteAt(rest, off+int64(done), false)
	done += len(rest)
	return s.writeFromReader(disk, off+int64(done), size-done, diskErr)
}

// writeFromReader is writeFromWire's rest when splicing is not possible:
// the next size bytes of the data socket are read into memory and written
// to disk at off, unless the disk failed already (diskErr), in which case
// they are only read.
func (s *session) writeFromReader(disk Disk, off int64, size int, diskErr error) (error, error) {
	if size == 0 {
		return diskErr, nil
	}
	if diskErr != nil {
		return diskErr, s.skip(int64(size))
	}
	b := getBuf(size)
	defer putBuf(b)
	if _, err := io.ReadFull(s.dr, b); err != nil {
		return nil, err
	}
	return disk.WriteAt(b, off, false), nil
}
