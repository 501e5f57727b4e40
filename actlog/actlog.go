package actlog

import (
	"fmt"
	"sync"
)

// ExtentShift is AL_EXTENT_SHIFT: an activity-log extent is 4 MiB.
const ExtentShift = 22

// Free marks an unused slot (LC_FREE).
const Free = ^uint32(0)

// Update is one slot change in a transaction: Slot now holds Extent
// (Free: emptied).
type Update struct {
	Slot   int
	Extent uint32
}

// Transaction is one committed change of the hot set, numbered from 1.
type Transaction struct {
	Seq     uint64
	Updates []Update
}

// TransactionWriter stores transactions (on disk, the AL ring of the
// meta-data area). WriteTransaction is called without the log's lock held,
// one transaction at a time. If it fails the log still commits the change
// in memory (as drbd_al_begin_io_commit does); reporting the meta-data IO
// error to the state engine is the writer's job.
type TransactionWriter interface {
	WriteTransaction(tx Transaction) error
}

type slot struct {
	extent    uint32
	refcnt    int
	committed bool   // the extent number is on disk
	lastUse   uint64 // LRU clock
}

// Log is an activity log with a fixed number of slots. It is safe for
// concurrent use.
type Log struct {
	w TransactionWriter

	mu         sync.Mutex // guards all below
	wait       sync.Cond  // al_wait: slot freed, transaction committed
	slots      []slot
	index      map[uint32]int // extent -> slot
	clock      uint64
	pending    []Update
	spare      []Update
	committing bool
	seq        uint64
	// counters
	transactions, hits, misses, waits uint64
}

// New returns an empty log with n slots (al-extents).
func New(n int, w TransactionWriter) *Log {
	if n < 1 {
		panic(fmt.Sprintf("actlog: %d extents", n))
	}
	l := &Log{w: w, slots: make([]slot, n), index: make(map[uint32]int, n)}
	for i := range l.slots {
		l.slots[i] = slot{extent: Free, committed: true}
	}
	l.wait.L = &l.mu
	return l
}

// Extent returns the extent number of a byte offset.
func Extent(offset uint64) uint32 { return uint32(offset >> ExtentShift) }

// BeginIO makes extent enr hot for one write and returns once that is
// committed. It blocks while every slot is in use (al_wait) and while the
// transaction that activates enr is being written. Each BeginIO needs a
// CompleteIO.
func (l *Log) BeginIO(enr uint32) {
	if enr == Free {
		panic("actlog: extent number out of range")
	}
	if l.TryBeginIORange(enr, enr) { // hot and committed
		return
	}
	l.mu.Lock()
	l.misses++
	for {
		if i, ok := l.index[enr]; ok {
			l.refLocked(i)
			for !l.slots[i].committed {
				l.commitOrWaitLocked()
			}
			l.mu.Unlock()
			return
		}
		if v := l.victimLocked(); v >= 0 {
			s := &l.slots[v]
			if s.extent != Free {
				delete(l.index, s.extent)
			}
			s.extent = enr
			s.refcnt = 0
			s.committed = false
			l.index[enr] = v
			l.pending = append(l.pending, Update{Slot: v, Extent: enr})
			continue // take the reference above, then commit
		}
		l.waits++
		l.wait.Wait()
	}
}

// BeginIORange makes the extents first..last hot for one write, all at
// once (drbd_al_begin_io_prepare / _commit for a request spanning an
// extent boundary): it waits until every missing extent can get a slot, so
// that two writers never hold part of their extents while waiting for a
// slot the other holds. Each BeginIORange needs a CompleteIORange.
func (l *Log) BeginIORange(first, last uint32) {
	if first == last {
		l.BeginIO(first)
		return
	}
	if last < first || last == Free || int(last-first) >= len(l.slots) {
		panic(fmt.Sprintf("actlog: extent range %d..%d does not fit %d slots", first, last, len(l.slots)))
	}
	l.mu.Lock()
	l.misses++
	for {
		need, avail := 0, 0
		for e := first; e <= last; e++ {
			if _, ok := l.index[e]; !ok {
				need++
			}
		}
		for i := range l.slots {
			s := &l.slots[i]
			if s.refcnt == 0 && s.committed && (s.extent == Free || s.extent < first || s.extent > last) {
				avail++
			}
		}
		if need <= avail {
			break
		}
		l.waits++
		l.wait.Wait()
	}
	for e := first; e <= last; e++ {
		if i, ok := l.index[e]; ok {
			l.refLocked(i)
		}
	}
	for e := first; e <= last; e++ {
		if _, ok := l.index[e]; ok {
			continue
		}
		v := l.victimLocked()
		s := &l.slots[v]
		if s.extent != Free {
			delete(l.index, s.extent)
		}
		s.extent, s.refcnt, s.committed = e, 1, false
		l.clock++
		s.lastUse = l.clock
		l.index[e] = v
		l.pending = append(l.pending, Update{Slot: v, Extent: e})
	}
	for e := first; e <= last; e++ {
		for !l.slots[l.index[e]].committed {
			l.commitOrWaitLocked()
		}
	}
	l.mu.Unlock()
}

// TryBeginIORange is BeginIORange when it would not wait: every extent of
// first..last is hot and committed already. It takes the references and
// reports true, or takes nothing and reports false. Each true needs a
// CompleteIORange.
func (l *Log) TryBeginIORange(first, last uint32) bool {
	if last < first || last == Free {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for e := first; e <= last; e++ {
		if i, ok := l.index[e]; !ok || !l.slots[i].committed {
			return false
		}
	}
	for e := first; e <= last; e++ {
		l.refLocked(l.index[e])
	}
	l.hits++
	return true
}

// refLocked takes a reference on slot i and marks it most recently used.
func (l *Log) refLocked(i int) {
	s := &l.slots[i]
	s.refcnt++
	l.clock++
	s.lastUse = l.clock
}

// CompleteIORange is CompleteIO for every extent of a BeginIORange.
func (l *Log) CompleteIORange(first, last uint32) {
	for e := first; e <= last; e++ {
		l.CompleteIO(e)
	}
}

// victimLocked picks a slot for a new extent: a free one, else the least
// recently used committed slot without references; -1 if none.
func (l *Log) victimLocked() int {
	best := -1
	for i := range l.slots {
		s := &l.slots[i]
		if s.refcnt != 0 || !s.committed {
			continue
		}
		if s.extent == Free {
			return i
		}
		if best < 0 || s.lastUse < l.slots[best].lastUse {
			best = i
		}
	}
	return best
}

// commitOrWaitLocked writes the pending changes if nobody else is, or
// waits for the transaction in flight.
func (l *Log) commitOrWaitLocked() {
	if l.committing || len(l.pending) == 0 {
		l.wait.Wait()
		return
	}
	l.committing = true
	l.seq++
	tx := Transaction{Seq: l.seq, Updates: l.pending}
	l.pending, l.spare = l.spare[:0], nil
	l.mu.Unlock()
	if l.w != nil {
		_ = l.w.WriteTransaction(tx)
	}
	l.mu.Lock()
	for _, u := range tx.Updates {
		if i, ok := l.index[u.Extent]; ok && i == u.Slot {
			l.slots[i].committed = true
		}
	}
	l.spare = tx.Updates[:0]
	l.transactions++
	l.committing = false
	l.wait.Broadcast()
}

// CompleteIO is drbd_al_complete_io: the write in extent enr finished.
func (l *Log) CompleteIO(enr uint32) {
	l.mu.Lock()
	i, ok := l.index[enr]
	if !ok || l.slots[i].refcnt == 0 {
		l.mu.Unlock()
		panic(fmt.Sprintf("actlog: complete_io on inactive extent %d", enr))
	}
	l.slots[i].refcnt--
	if l.slots[i].refcnt == 0 {
		l.wait.Broadcast()
	}
	l.mu.Unlock()
}

// Stats reports counters: transactions written, fast-path hits, slow-path
// misses and waits for a free slot.
type Stats struct{ Transactions, Hits, Misses, Waits uint64 }

// Stats returns the counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Stats{l.transactions, l.hits, l.misses, l.waits}
}

// InUse returns the number of writes in flight (the sum of references).
func (l *Log) InUse() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.slots {
		n += s.refcnt
	}
	return n
}

// Hot returns the committed hot extents, by slot (Free for empty slots).
func (l *Log) Hot() []uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]uint32, len(l.slots))
	for i, s := range l.slots {
		out[i] = Free
		if s.committed {
			out[i] = s.extent
		}
	}
	return out
}

// MemWriter is an in-memory TransactionWriter that replays each
// transaction onto its copy of the slots, so tests can check that every
// extent with writes in flight is recorded. Err, if set, is returned by
// WriteTransaction (the transaction is then not recorded).
type MemWriter struct {
	mu    sync.Mutex
	slots map[int]uint32
	txs   uint64
	Err   error
}

// WriteTransaction implements TransactionWriter.
func (m *MemWriter) WriteTransaction(tx Transaction) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	if m.slots == nil {
		m.slots = map[int]uint32{}
	}
	for _, u := range tx.Updates {
		m.slots[u.Slot] = u.Extent
	}
	m.txs++
	return nil
}

// Recorded reports whether extent enr is in the recorded hot set.
func (m *MemWriter) Recorded(enr uint32) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.slots {
		if e == enr {
			return true
		}
	}
	return false
}

// Transactions returns how many transactions were recorded.
func (m *MemWriter) Transactions() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.txs
}
