// Package statemachine is DRBD 8.4's state engine for one device: the
// state rules, state requests and forced changes, the local-disk reference
// count, the application-IO gate, and the attach / detach / IO-error /
// role / outdate / invalidate / suspend-io paths the netlink handlers call.
//
// It mirrors, as facts, drbd/drbd_state.c (is_valid_state,
// is_valid_soft_transition, is_valid_conn_transition, is_valid_transition,
// sanitize_state, cl_wide_st_chg, drbd_req_state, _drbd_set_state,
// after_state_ch, drbd_request_detach_interruptible), drbd_state.h (the
// CS_* flags), drbd_int.h (get_ldev_if_state, put_ldev, inc_ap_bio,
// drbd_state_is_stable, __drbd_chk_io_error_), drbd_nl.c (drbd_adm_attach,
// adm_detach, drbd_set_role, drbd_suspend_io / drbd_resume_io) and
// drbd_worker.c (go_diskless, drbd_ldev_destroy) of LINBIT/drbd-8.4, plus
// the seed patch "drbd: fix potential deadlock on detach".
//
// # Design
//
// The rules (rules.go) are pure functions of an Env and two states, each
// branch labelled with the rule id its table test cites (V = is_valid_state,
// T = soft transition, C = connection transition, H = hard transition,
// S = sanitize, A = after-state effects).
//
// A Device holds one mutex (the kernel's req_lock) guarding the state word
// and all counters; sync.Conds on it play state_wait and misc_wait, and
// every wait can be cut short by a context (the kernel's interruptible
// waits; a timeout is a context deadline). A second mutex serializes
// CS_SERIALIZE requests across the cluster-wide round trip, which goes
// through the Peer interface (the replication layer; nil means not
// connected), and a third serializes the admin operations (adm_mutex).
// Lock order: adm, then the state mutex, then the req_lock.
//
// Committing a change never blocks and does no I/O: it takes the extra
// local reference on entering Failed or Diskless, wakes the waiters and
// queues the change. The device's worker goroutine (the kernel's worker
// thread) then, in commit order, publishes the change to subscribers and
// runs its effects: AfterStateChange returns them as values and an
// Executor (the daemon) performs the I/O ones — send state, md sync,
// bitmap write-out, helpers, destroying the backing device. put_ldev
// reaching zero queues go_diskless (in Failed) or the ldev destroy (in
// Diskless) on the same worker. The worker never waits for references, so
// no writer holding one can deadlock it.
//
// The statemachine does no I/O of its own and imports no os, net or
// syscall; the activity log is package actlog.
//
// # The seed fix
//
// Detach suspends application IO (no writer is parked in the activity log
// holding a local reference), requests D_FAILED (never D_DISKLESS
// directly), resumes IO and waits until the last reference dropped and the
// worker moved the disk to D_DISKLESS. Real IO errors set WAS_IO_ERROR
// (only they run the local-io-error helper); detach --force sets
// FORCE_DETACH. D_ATTACHING never passes through D_FAILED (sanitize rule
// S0). Attach waits until the previous backing device has been released.
// TestStress and TestStressIOErrors run 64 writers through an activity
// log with 7 extents while attaching and detaching 1000 times;
// testdata/run-seed-fix-reverted.sh applies testdata/revert-seed-fix.patch
// to a scratch copy and shows the same tests failing: references held while
// Diskless, backing devices destroyed while written to or replaced while
// referenced, and devices never released.
//
// # Deviation from 8.4
//
// The fencing policy is also seen when the new state has a disk (see
// Env.fencing); the kernel sees it only through the current disk, which
// lets one request commit a state is_valid_state rejects.
package statemachine
