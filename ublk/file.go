//go:build linux

package ublk

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"udrbd/ublk/uring"
)

// FileTarget serves requests from a regular file or block device with
// pread/pwrite on the queue goroutine (synchronous, no allocation per
// request). It opens the file with O_DIRECT when the file system supports
// it; otherwise it uses the page cache and fdatasync on FLUSH and FUA.
// DISCARD punches a hole; WRITE_ZEROES punches a hole, or zeroes the range
// in place when the request says NOUNMAP, falling back to writing zeros.
type FileTarget struct {
	f      *os.File
	fd     int
	direct bool
	size   int64
	block  int // smallest IO the backing file accepts (O_DIRECT alignment)
	isBlk  bool
	uring  bool

	zerosOnce sync.Once // several queue goroutines share the target
	zeros     []byte
	zerosErr  error
}

// FileOptions tune OpenFileTarget.
type FileOptions struct {
	// Buffered disables the O_DIRECT attempt.
	Buffered bool
	// URing submits READ and WRITE on the queue's io_uring (RingTarget)
	// instead of calling pread/pwrite.
	URing    bool
	ReadOnly bool
}

// OpenFileTarget opens path for serving.
func OpenFileTarget(path string, o FileOptions) (*FileTarget, error) {
	flags := unix.O_RDWR | unix.O_CLOEXEC
	if o.ReadOnly {
		flags = unix.O_RDONLY | unix.O_CLOEXEC
	}
	t := &FileTarget{block: 512, uring: o.URing}
	fd := -1
	var err error
	if !o.Buffered {
		fd, err = unix.Open(path, flags|unix.O_DIRECT, 0)
		if err == nil {
			t.direct = true
		}
	}
	if fd < 0 {
		fd, err = unix.Open(path, flags, 0)
		if err != nil {
			return nil, fmt.Errorf("ublk: open %s: %w", path, err)
		}
	}
	t.fd = fd
	t.f = os.NewFile(uintptr(fd), path)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.f.Close()
		return nil, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		t.isBlk = true
		sz, err := unix.IoctlGetInt(fd, unix.BLKGETSIZE64)
		if err != nil {
			t.f.Close()
			return nil, fmt.Errorf("ublk: %s: BLKGETSIZE64: %w", path, err)
		}
		t.size = int64(sz)
		if bs, err := unix.IoctlGetInt(fd, unix.BLKSSZGET); err == nil && bs > t.block {
			t.block = bs
		}
	case unix.S_IFREG:
		t.size = st.Size
		var sx unix.Statx_t
		if t.direct && unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_DIOALIGN, &sx) == nil &&
			sx.Mask&unix.STATX_DIOALIGN != 0 && int(sx.Dio_offset_align) > t.block {
			t.block = int(sx.Dio_offset_align)
		}
	default:
		t.f.Close()
		return nil, fmt.Errorf("ublk: %s is neither a regular file nor a block device", path)
	}
	return t, nil
}

// Close closes the backing file.
func (t *FileTarget) Close() error { return t.f.Close() }

// Size is the backing size in bytes.
func (t *FileTarget) Size() int64 { return t.size }

// Direct reports whether O_DIRECT is in use.
func (t *FileTarget) Direct() bool { return t.direct }

// BlockSize is the smallest aligned IO the backing file accepts; use it as
// the device's logical block size.
func (t *FileTarget) BlockSize() int { return t.block }

// Handle serves r synchronously.
func (t *FileTarget) Handle(r *Request) { r.Complete(t.serve(r)) }

func (t *FileTarget) serve(r *Request) error {
	switch r.Op {
	case OpRead:
		return t.read(r.Buf, r.Offset)
	case OpWrite:
		if err := t.write(r.Buf, r.Offset); err != nil {
			return err
		}
		if r.FUA() {
			return t.sync()
		}
		return nil
	case OpFlush:
		return t.sync()
	case OpDiscard:
		return t.zero(r.Offset, int64(r.Length), false)
	case OpWriteZeroes:
		return t.zero(r.Offset, int64(r.Length), r.NoUnmap())
	}
	return unix.EOPNOTSUPP
}

func (t *FileTarget) read(buf []byte, off int64) error {
	for len(buf) > 0 {
		n, err := unix.Pread(t.fd, buf, off)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return err
		case n == 0: // past EOF of a short file: zeros
			clear(buf)
			return nil
		}
		buf = buf[n:]
		off += int64(n)
	}
	return nil
}

func (t *FileTarget) write(buf []byte, off int64) error {
	for len(buf) > 0 {
		n, err := unix.Pwrite(t.fd, buf, off)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return err
		case n == 0:
			return unix.EIO
		}
		buf = buf[n:]
		off += int64(n)
	}
	return nil
}

func (t *FileTarget) sync() error {
	for {
		err := unix.Fdatasync(t.fd)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// zero makes [off, off+n) read back as zeros.
func (t *FileTarget) zero(off, n int64, keepAllocated bool) error {
	mode := uint32(unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE)
	if keepAllocated {
		mode = unix.FALLOC_FL_ZERO_RANGE | unix.FALLOC_FL_KEEP_SIZE
	}
	for {
		err := unix.Fallocate(t.fd, mode, off, n)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENODEV) {
			return err
		}
		break
	}
	// The backing file cannot deallocate or zero ranges: write zeros.
	t.zerosOnce.Do(func() {
		t.zeros, t.zerosErr = unix.Mmap(-1, 0, 1<<20, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	})
	if t.zerosErr != nil {
		return t.zerosErr
	}
	for n > 0 {
		k := min(n, int64(len(t.zeros)))
		if err := t.write(t.zeros[:k], off); err != nil {
			return err
		}
		off += k
		n -= k
	}
	return nil
}

// PrepRing implements RingTarget when FileOptions.URing was set: plain
// READ and WRITE become IORING_OP_READ/WRITE on the backing file.
func (t *FileTarget) PrepRing(r *Request, s *uring.SQE) bool {
	if !t.uring || r.FUA() {
		return false
	}
	switch r.Op {
	case OpRead:
		uring.PrepRead(s, t.fd, r.Buf, r.Offset, 0)
	case OpWrite:
		uring.PrepWrite(s, t.fd, r.Buf, r.Offset, 0)
	default:
		return false
	}
	return true
}

// RingDone implements RingTarget: errors pass through (EAGAIN and EINTR
// are retried synchronously), short transfers are finished synchronously.
func (t *FileTarget) RingDone(r *Request, res int32) error {
	if res < 0 {
		if e := unix.Errno(-res); e != unix.EAGAIN && e != unix.EINTR {
			return e
		}
		res = 0
	}
	n := int(res)
	if n >= r.Length {
		return nil
	}
	if r.Op == OpRead {
		if n == 0 && res == 0 && r.Offset >= t.size {
			clear(r.Buf)
			return nil
		}
		return t.read(r.Buf[n:], r.Offset+int64(n))
	}
	return t.write(r.Buf[n:], r.Offset+int64(n))
}
