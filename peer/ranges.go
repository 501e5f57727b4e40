package peer

import "sync"

// rangeLock serializes overlapping sector ranges: lock waits until no
// held range overlaps, in the order callers arrive. It stands in for the
// kernel's conflict detection on the interval tree (complete_conflicting_
// writes, overlapping_resync_write) and the resync extent lock that keeps
// application writes away from blocks being read for the resync.
type rangeLock struct {
	mu   sync.Mutex
	cond sync.Cond
	held []span
	wait []*span // ranges of callers waiting, oldest first: later ones queue behind
}

type span struct{ lo, hi uint64 } // sectors [lo, hi)

func (s span) overlaps(o span) bool { return s.lo < o.hi && o.lo < s.hi }

func (l *rangeLock) init() { l.cond.L = &l.mu }

func spanOf(sector uint64, size int) span {
	n := uint64(max(size, 1)+511) >> 9
	return span{sector, sector + n}
}

// lock takes [sector, sector+size) once no held range and no earlier
// waiter overlaps it.
func (l *rangeLock) lock(sector uint64, size int) {
	sp := spanOf(sector, size)
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.blocked(sp, len(l.wait)) {
		l.held = append(l.held, sp)
		return
	}
	me := new(span) // only a waiter needs its span on the heap
	*me = sp
	l.wait = append(l.wait, me)
	for {
		l.cond.Wait()
		i := l.index(me)
		if !l.blocked(sp, i) {
			l.wait = append(l.wait[:i], l.wait[i+1:]...)
			l.held = append(l.held, sp)
			l.cond.Broadcast()
			return
		}
	}
}

// tryLock takes [sector, sector+size) if lock would not wait, and reports
// whether it did.
func (l *rangeLock) tryLock(sector uint64, size int) bool {
	sp := spanOf(sector, size)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.blocked(sp, len(l.wait)) {
		return false
	}
	l.held = append(l.held, sp)
	return true
}

// blocked: a held range, or one of the first n waiters, overlaps sp.
func (l *rangeLock) blocked(sp span, n int) bool {
	for _, h := range l.held {
		if h.overlaps(sp) {
			return true
		}
	}
	for _, w := range l.wait[:n] {
		if w.overlaps(sp) {
			return true
		}
	}
	return false
}

func (l *rangeLock) index(me *span) int {
	for i, w := range l.wait {
		if w == me {
			return i
		}
	}
	return len(l.wait)
}

func (l *rangeLock) unlock(sector uint64, size int) {
	sp := spanOf(sector, size)
	l.mu.Lock()
	for i, h := range l.held {
		if h == sp {
			l.held = append(l.held[:i], l.held[i+1:]...)
			break
		}
	}
	l.mu.Unlock()
	l.cond.Broadcast()
}
