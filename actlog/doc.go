// Package actlog is DRBD's activity log: the set of at most al-extents
// "hot" 4 MiB extents of the device in which writes may be in flight, so
// that after a crash only those extents need resyncing.
//
// It mirrors, as facts, drbd/drbd_actlog.c (drbd_al_begin_io: a write
// first makes its extent hot; if that changes the hot set, the change is
// committed by an activity-log transaction before the write proceeds; when
// every slot is in use the writer waits on al_wait) and the element
// life cycle of lru_cache.c (refcount, least-recently-used eviction of an
// unused extent, changes pending until committed). AL_EXTENT_SHIFT is 22.
//
// The on-disk transaction format is not here: transactions go to a
// TransactionWriter (MemWriter is an in-memory one). The fast path (the
// extent is already hot) takes one mutex and allocates nothing.
//
// The kernel clamps al-extents to 67..65534 (drbd_limits.h); Log accepts
// any size >= 1 so tests can provoke contention with a handful of slots.
package actlog
