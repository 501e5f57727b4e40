//go:build linux

package ublk

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"udrbd/ublk/uring"
)

const (
	testDepth = 8
	testMaxIO = 64 << 10
)

// newTestQueue builds a queue around a real io_uring but fake kernel
// memory: a plain byte slice stands in for the descriptor mmap, and the
// "char device" is a regular file (commands are inspected, not submitted).
func newTestQueue(t testing.TB, tg Target) *queue {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "ublkc"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	d := &Device{ctrl: &Control{}, target: tg, charFd: int(f.Fd()),
		info: DevInfo{QueueDepth: testDepth, MaxIOBufBytes: testMaxIO}}
	q := newQueue(d, 0)
	q.ring, err = uring.New(testDepth+1, uring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.ring.Close() })
	q.descs = make([]byte, testDepth*ioDescSize)
	q.bufs = make([]byte, testDepth*testMaxIO)
	q.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(q.efd) })
	return q
}

func (q *queue) setDesc(tag uint16, opFlags, sectors uint32, start uint64) {
	*(*ioDesc)(unsafe.Pointer(&q.descs[int(tag)*ioDescSize])) = ioDesc{OpFlags: opFlags, NrSectors: sectors, StartSector: start}
}

// pendingCmd returns the i-th unsubmitted SQE as a ublk IO command.
func pendingCmd(t *testing.T, q *queue, i uint32) (uint32, ioCmd) {
	t.Helper()
	s := q.ring.PeekSQE(i)
	if s == nil {
		t.Fatalf("no pending SQE %d", i)
	}
	if s.Opcode != uring.OpURingCmd {
		t.Fatalf("SQE %d opcode %d, want URING_CMD", i, s.Opcode)
	}
	return s.CmdOp(), *(*ioCmd)(unsafe.Pointer(&q.ring.Cmd(s)[0]))
}

func TestDispatchInline(t *testing.T) {
	var got Request
	var gotFUA bool
	tests := []struct {
		name       string
		opFlags    uint32
		sectors    uint32
		complete   error
		wantCalled bool
		wantRes    int32
	}{
		{"write fua ok", opWrite | ioFlagFUA, 8, nil, true, 4096},
		{"read ok", opRead, 128, nil, true, 65536},
		{"write errno", opWrite, 1, unix.ENOSPC, true, -int32(unix.ENOSPC)},
		{"wrapped errno", opRead, 1, &os.PathError{Op: "pread", Err: unix.EROFS}, true, -int32(unix.EROFS)},
		{"plain error is EIO", opRead, 1, errors.New("boom"), true, -int32(unix.EIO)},
		{"flush", opFlush, 0, nil, true, 0},
		{"discard", opDiscard, 2048, nil, true, 0},
		{"write zeroes", opWriteZeroes | ioFlagNoUnmap, 16, nil, true, 0},
		{"write same unsupported", opWriteSame, 8, nil, false, -int32(unix.EOPNOTSUPP)},
		{"oversized read", opRead, testMaxIO/512 + 1, nil, false, -int32(unix.EIO)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			var complete error
			q := newTestQueue(t, TargetFunc(func(r *Request) {
				called = true
				got = Request{Op: r.Op, Flags: r.Flags, Offset: r.Offset, Length: r.Length, Buf: r.Buf}
				gotFUA = r.FUA()
				r.Complete(complete)
			}))
			complete = tt.complete
			const tag = 3
			q.setDesc(tag, tt.opFlags, tt.sectors, 16)
			if err := q.dispatch(tag); err != nil {
				t.Fatal(err)
			}
			if called != tt.wantCalled {
				t.Fatalf("target called = %v, want %v", called, tt.wantCalled)
			}
			if called {
				if got.Op != Op(tt.opFlags&0xff) || got.Offset != 16*512 {
					t.Errorf("request op %v offset %d, want %v offset %d", got.Op, got.Offset, Op(tt.opFlags&0xff), 16*512)
				}
				if gotFUA != (tt.opFlags&ioFlagFUA != 0) {
					t.Errorf("FUA() = %v", gotFUA)
				}
				wantLen := int(tt.sectors) * 512
				if got.Op == OpFlush {
					wantLen = 0
				}
				if got.Length != wantLen {
					t.Errorf("Length = %d, want %d", got.Length, wantLen)
				}
				if got.Op == OpRead || got.Op == OpWrite {
					if len(got.Buf) != wantLen || &got.Buf[0] != &q.bufs[tag*testMaxIO] {
						t.Errorf("Buf is not the tag's buffer of %d bytes", wantLen)
					}
				} else if got.Buf != nil {
					t.Errorf("Buf = %d bytes for %v, want nil", len(got.Buf), got.Op)
				}
			}
			op, cmd := pendingCmd(t, q, 0)
			if op != 0xC0107521 {
				t.Errorf("cmd_op %#x, want UBLK_U_IO_COMMIT_AND_FETCH_REQ", op)
			}
			want := ioCmd{QID: 0, Tag: tag, Result: tt.wantRes, Addr: uint64(uintptr(unsafe.Pointer(&q.bufs[tag*testMaxIO])))}
			if cmd != want {
				t.Errorf("commit = %+v, want %+v", cmd, want)
			}
			if q.owned != 0 || q.cmdsOut != 1 {
				t.Errorf("owned %d cmdsOut %d, want 0 and 1", q.owned, q.cmdsOut)
			}
		})
	}
}

// TestAsyncCompletion: requests completed later on other goroutines are
// committed by the queue goroutine after the eventfd wakes it.
func TestAsyncCompletion(t *testing.T) {
	held := make(chan *Request, testDepth)
	q := newTestQueue(t, TargetFunc(func(r *Request) { held <- r }))
	if err := q.armWake(); err != nil {
		t.Fatal(err)
	}
	if _, err := q.ring.Submit(); err != nil {
		t.Fatal(err)
	}
	for tag := range uint16(testDepth) {
		q.setDesc(tag, opWrite, 8, uint64(tag)*8)
		if err := q.dispatch(tag); err != nil {
			t.Fatal(err)
		}
	}
	if q.ring.Pending() != 0 || q.owned != testDepth {
		t.Fatalf("pending %d owned %d: held requests must not be committed", q.ring.Pending(), q.owned)
	}
	var wg sync.WaitGroup
	for range testDepth {
		r := <-held
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r.tag%2 == 0 {
				r.Complete(nil)
			} else {
				r.Complete(unix.EIO)
			}
		}()
	}
	wg.Wait()
	cqes := make([]uring.CQE, 4)
	for q.owned > 0 {
		if _, err := q.ring.SubmitAndWait(1); err != nil {
			t.Fatal(err)
		}
		n := q.ring.Reap(cqes)
		for i := range n {
			if cqes[i].UserData != udWake && cqes[i].UserData != udIgnore {
				t.Fatalf("unexpected cqe %+v", cqes[i])
			}
			// Commits stay pending in the SQ (not submitted) until we look.
			if err := q.handleCQE(&cqes[i]); err != nil {
				t.Fatal(err)
			}
		}
		// Inspect and drop the commit SQEs before the next submit.
		for i := uint32(0); i < q.ring.Pending(); i++ {
			s := q.ring.PeekSQE(i)
			if s.Opcode == uring.OpURingCmd {
				s.Opcode = uring.OpNop
				c := *(*ioCmd)(unsafe.Pointer(&q.ring.Cmd(s)[0]))
				want := int32(4096)
				if c.Tag%2 == 1 {
					want = -int32(unix.EIO)
				}
				if c.Result != want {
					t.Errorf("tag %d committed %d, want %d", c.Tag, c.Result, want)
				}
				s.UserData = udIgnore
			}
		}
	}
	if q.owned != 0 {
		t.Fatalf("owned = %d", q.owned)
	}
}

func TestCompleteTwicePanics(t *testing.T) {
	var keep *Request
	q := newTestQueue(t, TargetFunc(func(r *Request) { keep = r }))
	q.setDesc(0, opRead, 1, 0)
	if err := q.dispatch(0); err != nil {
		t.Fatal(err)
	}
	keep.Complete(nil)
	defer func() {
		if recover() == nil {
			t.Fatal("second Complete did not panic")
		}
	}()
	keep.Complete(nil)
}

func TestConfigValidation(t *testing.T) {
	ok := Config{ID: -1, Size: 1 << 20}
	tests := []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"id 5", func(c *Config) { c.ID = 5 }, true},
		{"id too big", func(c *Config) { c.ID = 1 << 20 }, false},
		{"depth 4097", func(c *Config) { c.Depth = 4097 }, false},
		{"queues -1", func(c *Config) { c.Queues = -1 }, false},
		{"max io not page multiple", func(c *Config) { c.MaxIO = 5000 }, false},
		{"size not block multiple", func(c *Config) { c.Size = 1000 }, false},
		{"logical 4096", func(c *Config) { c.LogicalBlockSize = 4096; c.Size = 1 << 20 }, true},
		{"logical 1000", func(c *Config) { c.LogicalBlockSize = 1000 }, false},
		{"reissue without recovery", func(c *Config) { c.Reissue = true }, false},
		{"fua without cache", func(c *Config) { c.FUA = true }, false},
	}
	for _, tt := range tests {
		c := ok
		tt.mod(&c)
		if err := c.fill(); (err == nil) != tt.ok {
			t.Errorf("%s: fill() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestParamsFor(t *testing.T) {
	c := Config{ID: -1, Size: 64 << 20, VolatileCache: true, FUA: true, Discard: true, WriteZeroes: true}
	if err := c.fill(); err != nil {
		t.Fatal(err)
	}
	p := paramsFor(&c, 1<<20)
	if p.Types != paramTypeBasic|paramTypeDiscard {
		t.Errorf("types %#x", p.Types)
	}
	b := p.Basic
	if b.Attrs != attrVolatileCache|attrFUA || b.LogicalBSShift != 9 || b.PhysicalBSShift != 12 ||
		b.MaxSectors != 2048 || b.DevSectors != 64<<11 {
		t.Errorf("basic %+v", b)
	}
	d := p.Discard
	if d.MaxDiscardSegments != 1 || d.DiscardGranularity != 4096 || d.MaxWriteZeroesSectors != 2048 ||
		d.MaxDiscardSectors == 0 || d.MaxDiscardSectors%8 != 0 {
		t.Errorf("discard %+v", d)
	}
	c2 := Config{ID: -1, Size: 1 << 20}
	c2.fill()
	if p2 := paramsFor(&c2, 1<<20); p2.Types != paramTypeBasic || p2.Basic.Attrs != 0 {
		t.Errorf("plain device params %+v", p2)
	}
}

// runDispatch pushes n requests through dispatch and commit, submitting the
// commit SQEs (which fail harmlessly on the fake char device) per batch.
func runDispatch(tb testing.TB, q *queue, n int) {
	cqes := make([]uring.CQE, 2*testDepth)
	for i := range n {
		tag := uint16(i % testDepth)
		if err := q.dispatch(tag); err != nil {
			tb.Fatal(err)
		}
		if tag == testDepth-1 {
			if _, err := q.ring.SubmitAndWait(testDepth); err != nil {
				tb.Fatal(err)
			}
			q.ring.Reap(cqes)
			q.cmdsOut = 0
		}
	}
}

// TestNoAllocPerRequest: the inline path (dispatch, synchronous file
// target, commit) allocates nothing per request.
func TestNoAllocPerRequest(t *testing.T) {
	ft, _ := newFileTarget(t, 1<<20, FileOptions{Buffered: true})
	q := newTestQueue(t, ft)
	for tag := range uint16(testDepth) {
		q.setDesc(tag, opRead, 8, uint64(tag)*8)
	}
	runDispatch(t, q, testDepth) // warm up
	if a := testing.AllocsPerRun(20, func() { runDispatch(t, q, testDepth) }); a != 0 {
		t.Fatalf("%v allocations per %d requests, want 0", a, testDepth)
	}
}

func BenchmarkDispatch4KRead(b *testing.B) {
	ft, _ := newFileTarget(b, 1<<20, FileOptions{Buffered: true})
	q := newTestQueue(b, ft)
	for tag := range uint16(testDepth) {
		q.setDesc(tag, opRead, 8, uint64(tag)*8)
	}
	b.ReportAllocs()
	b.SetBytes(4096)
	b.ResetTimer()
	runDispatch(b, q, b.N)
}

// The queue goroutine must reschedule itself well inside the runtime's 10 ms
// preemption slice, and not on every batch.
func TestMaybeYield(t *testing.T) {
	q := &queue{}
	t0 := time.Unix(1000, 0)
	for _, step := range []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, // first batch
		{time.Millisecond, false},
		{yieldEvery - time.Microsecond, false},
		{yieldEvery, true},
		{yieldEvery + time.Millisecond, false},
		{3 * yieldEvery, true},
	} {
		if got := q.maybeYield(t0.Add(step.at)); got != step.want {
			t.Errorf("maybeYield at %v = %v, want %v", step.at, got, step.want)
		}
	}
	if yieldEvery >= 10*time.Millisecond {
		t.Errorf("yieldEvery %v is not inside the runtime's 10 ms slice", yieldEvery)
	}
}
