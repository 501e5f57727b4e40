package main

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	blkZeroOut   = 0x127f // _IO(0x12,127)
	ramdiskMajor = 1
	drbdMajor    = 147 // LANANA_DRBD_MAJOR
)

// device is the opened meta-data device. I/O goes through page-aligned bounce
// buffers because it is opened O_DIRECT when possible (as drbdmeta does, so
// that what the kernel wrote through bios is read, not a stale page cache).
type device struct {
	name     string
	fd       int
	size     uint64
	sectSize int
	direct   bool
	isBlock  bool
}

func errnoText(err error) string {
	var en unix.Errno
	if errors.As(err, &en) {
		return en.Error()
	}
	return err.Error()
}

// strerror renders an errno like glibc's %m.
func strerror(err error) string {
	var en unix.Errno
	if errors.As(err, &en) {
		if t, ok := glibcErrno[en]; ok {
			return t
		}
	}
	return errnoText(err)
}

// Go's errno texts are lower-case; glibc's start upper-case.
var glibcErrno = map[unix.Errno]string{
	unix.ENOENT:     "No such file or directory",
	unix.EBUSY:      "Device or resource busy",
	unix.EINVAL:     "Invalid argument",
	unix.ENOTTY:     "Inappropriate ioctl for device",
	unix.EACCES:     "Permission denied",
	unix.EPERM:      "Operation not permitted",
	unix.EIO:        "Input/output error",
	unix.ENOSPC:     "No space left on device",
	unix.EROFS:      "Read-only file system",
	unix.ENXIO:      "No such device or address",
	unix.ENODEV:     "No such device",
	unix.EISDIR:     "Is a directory",
	unix.ENOTDIR:    "Not a directory",
	unix.EAGAIN:     "Resource temporarily unavailable",
	unix.EOPNOTSUPP: "Operation not supported",
}

// openDevice mirrors drbdmeta's v07_style_md_open_device.
func openDevice(c *config) *device {
	flags := unix.O_RDWR | unix.O_DIRECT | unix.O_CLOEXEC
	if c.index < 0 {
		flags |= unix.O_EXCL
	}
	d := &device{name: c.mdDev, direct: true}
	for {
		fd, err := unix.Open(c.mdDev, flags, 0)
		if err == nil {
			d.fd = fd
			break
		}
		errf("open(%s) failed: %s\n", c.mdDev, strerror(err))
		if err == unix.EBUSY && flags&unix.O_EXCL != 0 {
			if (!c.force && c.cmd.name == "apply-al") || !c.confirmed("Exclusive open failed. Do it anyways?") {
				outf("Operation canceled.\n")
				exit(20)
			}
			flags &^= unix.O_EXCL
			continue
		}
		if err == unix.EINVAL && flags&unix.O_DIRECT != 0 {
			errf("could not open with O_DIRECT, retrying without\n")
			flags &^= unix.O_DIRECT
			d.direct = false
			continue
		}
		exit(20)
	}
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		errf("fstat(%s) failed: %s\n", c.mdDev, strerror(err))
		exit(20)
	}
	d.isBlock = st.Mode&unix.S_IFMT == unix.S_IFBLK
	if !d.isBlock {
		if !c.force {
			errf("'%s' is not a block device!\n", c.mdDev)
			exit(20)
		}
		d.size = uint64(st.Size)
	}
	ss, err := unix.IoctlGetInt(d.fd, unix.BLKSSZGET)
	if err != nil {
		errf("ioctl(md_fd, BLKSSZGET) returned -1, assuming hard_sect_size is 512 Byte\n")
		d.sectSize = 512
	} else {
		d.sectSize = ss
		if c.verbose >= 2 {
			errf("hard_sect_size is %d Byte\n", ss)
		}
	}
	if d.size == 0 {
		var sz uint64
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(d.fd), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&sz))); e != 0 {
			flushOut()
			fmt.Fprintf(os.Stderr, "ioctl(,BLKGETSIZE64,) failed: %s\n", strerror(e))
			exit(20)
		}
		d.size = sz
	}
	if !d.direct && unix.Major(uint64(st.Rdev)) != ramdiskMajor {
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(d.fd), unix.BLKFLSBUF, 0); e != 0 {
			errf("ioctl(md_fd, BLKFLSBUF) returned -1, we may read stale data\n")
		}
	}
	return d
}

// bounce returns a page-aligned buffer of n bytes for O_DIRECT I/O.
func bounce(n int) []byte {
	if n == 0 {
		return nil
	}
	size := (n + 4095) &^ 4095
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		panic(err)
	}
	return b[:n]
}

func release(b []byte) {
	if cap(b) > 0 {
		_ = unix.Munmap(b[:cap(b)])
	}
}

// ReadAt reads exactly len(p) bytes at off or dies like pread_or_die.
func (d *device) ReadAt(p []byte, off int64) (int, error) {
	d.readOrDie(p, off, "pread")
	return len(p), nil
}

func (d *device) readOrDie(p []byte, off int64, tag string) {
	b := bounce(len(p))
	defer release(b)
	n, err := unix.Pread(d.fd, b, off)
	if err != nil {
		errf("pread(%d,...,%d,%d) in %s failed: %s\n", d.fd, len(p), off, tag, strerror(err))
		exit(10)
	}
	if n != len(p) {
		errf("confused in %s: expected to read %d bytes, actually read %d\n", tag, len(p), n)
		exit(10)
	}
	copy(p, b)
}

// WriteAt writes p at off or dies like pwrite_or_die.
func (d *device) WriteAt(p []byte, off int64) (int, error) {
	d.writeOrDie(p, off, "pwrite")
	return len(p), nil
}

func (d *device) writeOrDie(p []byte, off int64, tag string) {
	b := bounce(len(p))
	defer release(b)
	copy(b, p)
	n, err := unix.Pwrite(d.fd, b, off)
	if err != nil {
		errf("pwrite(%d,...,%d,%d) in %s failed: %s\n", d.fd, len(p), off, tag, strerror(err))
		exit(10)
	}
	if n != len(p) {
		errf("confused in %s: expected to write %d bytes, actually wrote %d\n", tag, len(p), n)
		exit(10)
	}
}

// zeroOut issues BLKZEROOUT for [off, off+n).
func (d *device) zeroOut(off, n uint64) error {
	r := [2]uint64{off, n}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(d.fd), blkZeroOut, uintptr(unsafe.Pointer(&r))); e != 0 {
		return e
	}
	return nil
}

func (d *device) close() error {
	_ = unix.Fsync(d.fd)
	if err := unix.Close(d.fd); err != nil {
		errf("close() failed: %s\n", strerror(err))
		return err
	}
	return nil
}
