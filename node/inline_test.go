package node

import (
	"bytes"
	"testing"
	"time"

	"udrbd/genl"
	"udrbd/internal/mdtest"
)

// submitAsync submits one request and returns whether it completed before
// Submit returned, and a channel with its result.
func submitAsync(h IOHandler, op Op, off int64, buf []byte) (bool, <-chan error) {
	ch := make(chan error, 1)
	h.Submit(&IO{Op: op, Offset: off, Length: len(buf), Buf: buf, Done: func(err error) { ch <- err }})
	return len(ch) == 1, ch
}

// Requests that need not wait are served on the submitter's goroutine;
// requests that must wait (here: IO suspended) are not, and wait until
// resume-io without holding up the submitter.
func TestInlineAndWaitingRequests(t *testing.T) {
	dir := t.TempDir()
	disk := mdtest.Disk(t, dir, 64<<20)
	e := start(t, dir, &fakeLayer{})
	d := e.up(disk, 7)

	a := bytes.Repeat([]byte{0xa5}, 4096)
	if err := submit(d.h, OpWrite, 8192, a); err != nil {
		t.Fatal(err)
	}
	// The extent is hot now (or the log suspended, as after primary
	// --force): a write and a read complete in Submit.
	b := bytes.Repeat([]byte{0x5a}, 4096)
	if inline, ch := submitAsync(d.h, OpWrite, 12288, b); !inline {
		t.Fatal("write to a hot extent was not served inline")
	} else if err := <-ch; err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 8192)
	if inline, ch := submitAsync(d.h, OpRead, 8192, got); !inline {
		t.Fatal("read of an UpToDate disk was not served inline")
	} else if err := <-ch; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:4096], a) || !bytes.Equal(got[4096:], b) {
		t.Fatal("read back other data")
	}
	// FUA waits for the disk: not inline, but done.
	if err := func() error {
		ch := make(chan error, 1)
		d.h.Submit(&IO{Op: OpWrite, Offset: 0, Length: 4096, Buf: b, FUA: true, Done: func(err error) { ch <- err }})
		return <-ch
	}(); err != nil {
		t.Fatal(err)
	}

	e.want(e.req(genl.CmdSuspendIO, 0), success, "suspend-io")
	inline, wch := submitAsync(d.h, OpWrite, 16384, a)
	_, rch := submitAsync(d.h, OpRead, 8192, got)
	if inline {
		t.Fatal("write completed while IO is suspended")
	}
	select {
	case <-wch:
		t.Fatal("write completed while IO is suspended")
	case <-rch:
		t.Fatal("read completed while IO is suspended")
	case <-time.After(50 * time.Millisecond):
	}
	e.want(e.req(genl.CmdResumeIO, 0), success, "resume-io")
	for _, ch := range []<-chan error{wch, rch} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	if err := submit(d.h, OpRead, 16384, got[:4096]); err != nil || !bytes.Equal(got[:4096], a) {
		t.Fatalf("write made while suspended: %v, data equal %v", err, bytes.Equal(got[:4096], a))
	}
	if n := e.n.minor(0).upper.Load(); n != 0 {
		t.Fatalf("%d requests counted in flight after all completed", n)
	}
}
