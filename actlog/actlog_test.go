package actlog

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHotPathNoTransaction(t *testing.T) {
	w := &MemWriter{}
	l := New(3, w)
	l.BeginIO(5)
	l.CompleteIO(5)
	l.BeginIO(5)
	l.CompleteIO(5)
	if got := w.Transactions(); got != 1 {
		t.Fatalf("transactions = %d, want 1 (second BeginIO is a hit)", got)
	}
	if s := l.Stats(); s.Hits != 1 || s.Misses != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestLRUEviction(t *testing.T) {
	w := &MemWriter{}
	l := New(2, w)
	for _, e := range []uint32{1, 2} {
		l.BeginIO(e)
		l.CompleteIO(e)
	}
	l.BeginIO(1) // 1 is now the most recent
	l.CompleteIO(1)
	l.BeginIO(3) // evicts 2
	l.CompleteIO(3)
	if diff := cmp.Diff([]uint32{1, 3}, l.Hot()); diff != "" {
		t.Fatalf("hot set (-want +got):\n%s", diff)
	}
	if w.Recorded(2) || !w.Recorded(3) || !w.Recorded(1) {
		t.Fatal("on-disk set does not match")
	}
}

// When every slot has writes in flight, a write to a cold extent waits
// until one completes (drbd_al_begin_io waiting on al_wait).
func TestBlocksWhenAllSlotsInUse(t *testing.T) {
	l := New(2, &MemWriter{})
	l.BeginIO(1)
	l.BeginIO(2)
	done := make(chan struct{})
	go func() {
		l.BeginIO(3)
		close(done)
	}()
	// Wait until the goroutine is parked.
	for l.Stats().Waits == 0 {
		time.Sleep(time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("BeginIO(3) returned while all slots were in use")
	default:
	}
	l.CompleteIO(2)
	<-done
	if diff := cmp.Diff([]uint32{1, 3}, l.Hot()); diff != "" {
		t.Fatalf("hot set (-want +got):\n%s", diff)
	}
	l.CompleteIO(1)
	l.CompleteIO(3)
	if l.InUse() != 0 {
		t.Fatal("references left")
	}
}

func TestCompleteInactivePanics(t *testing.T) {
	l := New(2, nil)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	l.CompleteIO(9)
}

type checkingWriter struct {
	MemWriter
	slow bool
}

func (c *checkingWriter) WriteTransaction(tx Transaction) error {
	if c.slow {
		time.Sleep(10 * time.Microsecond)
	}
	return c.MemWriter.WriteTransaction(tx)
}

// The activity log's purpose: while a write is in flight its extent is
// recorded on disk. Checked under contention with 7 slots and 32 writers.
func TestConcurrentWritesAreCovered(t *testing.T) {
	w := &checkingWriter{slow: true}
	l := New(7, w)
	var wg sync.WaitGroup
	errs := make(chan string, 32)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 1))
			for i := 0; i < 300; i++ {
				e := uint32(r.IntN(20))
				l.BeginIO(e)
				if !w.Recorded(e) {
					errs <- "extent in flight but not recorded"
				}
				l.CompleteIO(e)
			}
		}(uint64(g))
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	if l.InUse() != 0 {
		t.Fatal("references left")
	}
	hot := 0
	for _, e := range l.Hot() {
		if e != Free {
			hot++
		}
	}
	if hot > 7 {
		t.Fatalf("%d hot extents", hot)
	}
}

func TestExtent(t *testing.T) {
	if Extent(4<<20-1) != 0 || Extent(4<<20) != 1 || Extent(1<<40) != 1<<18 {
		t.Fatal("Extent")
	}
}

func BenchmarkBeginCompleteHot(b *testing.B) {
	l := New(7, &MemWriter{})
	l.BeginIO(3)
	l.CompleteIO(3)
	b.ReportAllocs()
	for b.Loop() {
		l.BeginIO(3)
		l.CompleteIO(3)
	}
}

// TestRangeAllOrNothing: writers spanning two extents each, with fewer slots
// than writers' extents, never deadlock and every held extent is recorded.
// (Taking the extents one by one deadlocks here: each writer holds one slot
// and waits for another.)
func TestRangeAllOrNothing(t *testing.T) {
	w := &MemWriter{}
	l := New(3, w)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				first := uint32((g + i) % 5)
				l.BeginIORange(first, first+1)
				if !w.Recorded(first) || !w.Recorded(first+1) {
					t.Errorf("extents %d..%d in use but not recorded", first, first+1)
				}
				l.CompleteIORange(first, first+1)
			}
		}(g)
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("writers deadlocked in the activity log")
	}
	if l.InUse() != 0 {
		t.Fatalf("%d references left", l.InUse())
	}
}

// TryBeginIORange takes all of a range's references or none, and never
// writes a transaction.
func TestTryBeginIORange(t *testing.T) {
	w := &MemWriter{}
	l := New(3, w)
	if l.TryBeginIORange(4, 4) {
		t.Fatal("cold extent taken without a transaction")
	}
	l.BeginIO(4)
	l.CompleteIO(4)
	if l.TryBeginIORange(4, 5) || l.InUse() != 0 {
		t.Fatalf("half-hot range 4..5 taken (%d references)", l.InUse())
	}
	if l.TryBeginIORange(5, 4) {
		t.Fatal("reversed range taken")
	}
	l.BeginIORange(4, 5)
	l.CompleteIORange(4, 5)
	tx := w.Transactions()
	for _, r := range [][2]uint32{{4, 4}, {5, 5}, {4, 5}} {
		if !l.TryBeginIORange(r[0], r[1]) {
			t.Fatalf("hot range %d..%d refused", r[0], r[1])
		}
	}
	if l.InUse() != 4 {
		t.Fatalf("%d references, want 4", l.InUse())
	}
	// A third extent takes the free slot, not one of the held ones.
	l.BeginIO(9)
	l.CompleteIO(9)
	if !l.TryBeginIORange(4, 5) {
		t.Fatal("held extents were evicted")
	}
	l.CompleteIORange(4, 5)
	l.CompleteIORange(4, 4)
	l.CompleteIORange(5, 5)
	l.CompleteIORange(4, 5)
	if l.InUse() != 0 || w.Transactions() != tx+1 {
		t.Fatalf("%d references, %d transactions (want 0, %d)", l.InUse(), w.Transactions(), tx+1)
	}
}
