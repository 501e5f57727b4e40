// Command ublkfile serves one file (or block device) as /dev/ublkbN. It is a
// development tool for the VM scenarios and the benchmark; the udrbd daemon
// takes its place later.
//
//	ublkfile [-id N] [-queues Q] [-depth D] [-recovery] FILE   serve FILE
//	ublkfile -recover -id N FILE                               re-attach after a crash
//	ublkfile -info N | -delete N                               inspect / delete a device
//
// It prints "ublkfile: serving /dev/ublkbN" once the device is live and
// stops and deletes it on SIGINT/SIGTERM (refusing, with a clear error, while
// the device is mounted unless -force). With -recovery the device survives a
// SIGKILL of this process: start it again with -recover.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"udrbd/ublk"
)

var version = "dev"

func main() {
	log.SetFlags(0)
	log.SetPrefix("ublkfile: ")
	var (
		id       = flag.Int("id", -1, "device id N of /dev/ublkbN (-1: kernel picks)")
		queues   = flag.Int("queues", ublk.DefaultQueues, "hardware queues")
		depth    = flag.Int("depth", ublk.DefaultDepth, "queue depth")
		maxIO    = flag.Int("maxio", ublk.DefaultMaxIO, "max bytes per request")
		recovery = flag.Bool("recovery", false, "create with UBLK_F_USER_RECOVERY|_REISSUE (survives SIGKILL)")
		recover  = flag.Bool("recover", false, "re-attach to the quiesced device -id after a crash")
		buffered = flag.Bool("buffered", false, "do not try O_DIRECT")
		useRing  = flag.Bool("uring", false, "read/write the file through the queue's io_uring instead of pread/pwrite")
		poll     = flag.Duration("poll", 0, "busy-poll for new requests this long before sleeping (e.g. 50us)")
		null     = flag.Bool("null", false, "benchmark aid: complete every request at once without touching FILE (reads return stale buffer data)")
		noCache  = flag.Bool("nocache", false, "do not advertise a volatile cache (no FLUSH/FUA)")
		force    = flag.Bool("force", false, "on SIGTERM stop the device even if it is mounted")
		info     = flag.Int("info", -1, "print device N's info and exit")
		del      = flag.Int("delete", -1, "stop and delete device N and exit")
		zeroout  = flag.String("zeroout", "", "OFF:LEN: BLKZEROOUT that byte range of block device FILE and exit")
		timeout  = flag.Duration("timeout", ublk.DefaultControlTimeout, "control command timeout")
		showVer  = flag.Bool("version", false, "print version")
	)
	flag.Parse()
	if *showVer {
		fmt.Println(version)
		return
	}
	if *zeroout != "" {
		if err := zeroOut(flag.Arg(0), *zeroout); err != nil {
			log.Fatal(err)
		}
		return
	}
	ctrl, err := ublk.OpenControl()
	if err != nil {
		log.Fatal(err)
	}
	defer ctrl.Close()
	ctrl.Timeout = *timeout
	switch {
	case *info >= 0:
		i, err := ctrl.GetDevInfo(uint32(*info))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("dev_id %d state %s queues %d depth %d max_io %d pid %d flags %#x\n",
			i.DevID, stateName(i.State), i.NrHWQueues, i.QueueDepth, i.MaxIOBufBytes, i.ServerPID, i.Flags)
		return
	case *del >= 0:
		if err := ctrl.StopDev(uint32(*del)); err != nil {
			log.Print(err)
		}
		if err := ctrl.DelDev(uint32(*del)); err != nil {
			log.Fatal(err)
		}
		return
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: ublkfile [flags] FILE")
		flag.PrintDefaults()
		os.Exit(2)
	}
	t, err := ublk.OpenFileTarget(flag.Arg(0), ublk.FileOptions{Buffered: *buffered, URing: *useRing})
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	var target ublk.Target = t
	if *null {
		target = ublk.TargetFunc(func(r *ublk.Request) { r.Complete(nil) })
	}
	logf := func(f string, a ...any) { log.Printf(f, a...) }
	var d *ublk.Device
	if *recover {
		if *id < 0 {
			log.Fatal("-recover needs -id")
		}
		d, err = ublk.Recover(ctrl, *id, target, ublk.RecoverOptions{Timeout: *timeout, Poll: *poll, Logf: logf})
	} else {
		bs := t.BlockSize()
		d, err = ublk.Create(ctrl, ublk.Config{
			ID: *id, Queues: *queues, Depth: *depth, MaxIO: *maxIO,
			Size:             t.Size() / int64(bs) * int64(bs),
			LogicalBlockSize: bs, PhysicalBlockSize: max(bs, 4096),
			Recovery: *recovery, Reissue: *recovery,
			VolatileCache: !*noCache, FUA: !*noCache,
			Discard: true, WriteZeroes: true,
			Timeout: *timeout, Logf: logf, Poll: *poll,
		}, target)
	}
	if err != nil {
		log.Fatal(err)
	}
	i := d.Info()
	log.Printf("serving %s from %s (queues %d, depth %d, max io %d, direct %v, flags %#x)",
		d.BlockPath(), flag.Arg(0), i.NrHWQueues, i.QueueDepth, i.MaxIOBufBytes, t.Direct(), i.Flags)

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	for {
		select {
		case <-d.Done():
			log.Printf("%s stopped by someone else", d.BlockPath())
			_ = d.Stop(true)
			return
		case s := <-sig:
			log.Printf("%v: stopping %s", s, d.BlockPath())
			if err := d.Stop(*force); err != nil {
				if errors.Is(err, ublk.ErrBusy) {
					log.Printf("%v; still serving (umount first, or -force)", err)
					continue
				}
				log.Fatal(err)
			}
			start := time.Now()
			if err := d.Delete(); err != nil {
				log.Fatal(err)
			}
			log.Printf("deleted %s in %v", d.BlockPath(), time.Since(start).Round(time.Millisecond))
			return
		}
	}
}

func stateName(s uint16) string {
	switch s {
	case ublk.StateDead:
		return "DEAD"
	case ublk.StateLive:
		return "LIVE"
	case ublk.StateQuiesced:
		return "QUIESCED"
	case ublk.StateFailIO:
		return "FAIL_IO"
	}
	return fmt.Sprint(s)
}

// zeroOut issues BLKZEROOUT (a WRITE_ZEROES request) on a block device.
func zeroOut(dev, spec string) error {
	var off, n uint64
	if _, err := fmt.Sscanf(spec, "%d:%d", &off, &n); err != nil {
		return fmt.Errorf("-zeroout %q: want OFF:LEN", spec)
	}
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	r := [2]uint64{off, n}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), unix.BLKZEROOUT, uintptr(unsafe.Pointer(&r))); e != 0 {
		return fmt.Errorf("BLKZEROOUT %s: %w", dev, e)
	}
	return nil
}
