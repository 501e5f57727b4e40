package statemachine

import (
	"context"
	"sync"
	"time"

	"udrbd/drbd"
)

// Executor runs the effects that need I/O or the network. It is called on
// the device's worker goroutine only, one effect at a time, in order. It
// may block, but must not wait for anything the worker itself has to do
// (CS_WAIT_COMPLETE requests, Detach, Attach).
type Executor interface {
	Execute(d *Device, e Effect) error
}

// Peer is the cluster-wide half of a state change, implemented by the
// replication layer: send P_STATE_CHG_REQ(mask, val) and wait for the
// peer's P_STATE_CHG_REPLY. It returns SS_CW_SUCCESS, or the peer's
// refusal (callers report SS_CW_FAILED_BY_PEER).
type Peer interface {
	RequestStateChange(ctx context.Context, ch Change) drbd.StateRV
	// TryOutdatePeer is conn_try_outdate_peer: run the fence-peer
	// handler; true if the peer is now known to be Outdated (or worse).
	TryOutdatePeer(ctx context.Context) bool
}

type notConnected struct{}

func (notConnected) RequestStateChange(context.Context, Change) drbd.StateRV {
	return drbd.SSCWFailedByPeer
}

func (notConnected) TryOutdatePeer(context.Context) bool { return false }

// StateChange is one committed change, as published to subscribers.
type StateChange struct {
	Old, New drbd.State
	Flags    ChgFlags
	Warning  Warning
}

// Config holds the configuration the rules read. It is replaced whole
// with SetConfig.
type Config struct {
	HaveNetConf      bool
	TwoPrimaries     bool
	Fencing          drbd.FencingPolicy
	OnIOError        drbd.IOErrorPolicy
	OnNoData         drbd.OnNoData
	VerifyAlg        bool
	AgreedProVersion int
	// MaxBuffers limits application requests in flight (net_conf
	// max-buffers; 0 means no limit, as without a net_conf).
	MaxBuffers int
	// PingTimeout is net_conf ping-timeout (drbd_set_role waits this long
	// plus 0.1 s before its last try against a primary peer).
	PingTimeout time.Duration
}

// IOErrorKind is enum drbd_force_detach_flags.
type IOErrorKind int

const (
	ReadError   IOErrorKind = 1 // DRBD_READ_ERROR
	WriteError  IOErrorKind = 2 // DRBD_WRITE_ERROR
	MetaIOError IOErrorKind = 3 // DRBD_META_IO_ERROR
	ForceDetach IOErrorKind = 4 // DRBD_FORCE_DETACH
)

type workKind int

const (
	workAfterState workKind = iota
	workGoDiskless
	workDestroy
	workBarrier
)

type work struct {
	kind   workKind
	change StateChange
	done   chan struct{}
}

// Device is the state engine of one DRBD minor: its state word, the
// local-disk reference count, the application-IO gate and the worker that
// runs after-state-change work in commit order.
//
// Lock order: stateMutex (CS_SERIALIZE) before mu. Nothing blocks while
// holding mu except sync.Cond waits on it.
type Device struct {
	adm        sync.Mutex // adm_mutex: serializes the administrative operations
	stateMutex sync.Mutex // serializes CS_SERIALIZE requests, held across the peer round trip

	mu         sync.Mutex // req_lock: guards every field below
	stateWait  sync.Cond  // on mu; state_wait: broadcast on every commit
	miscWait   sync.Cond  // on mu; misc_wait: commits, local_cnt/ap_bio_cnt/suspend changes, ldev destroy
	workCond   sync.Cond  // on mu; the worker waits here for work
	st         drbd.State
	conf       Config
	openCnt    int
	localCnt   int // local_cnt
	apBioCnt   int // ap_bio_cnt
	suspendCnt int // suspend_cnt
	ldev       any // the attached backing device; valid while a reference is held at >= D_FAILED
	// device flags
	wasIOError, wasReadError, forceDetach bool
	goingDiskless, destroyPending         bool
	stateSent                             bool
	edUUIDMatches                         bool
	newStateTmp                           drbd.State
	queue                                 []work
	closing, workerDone                   bool
	busy                                  bool // the worker is running an item (it may drop mu meanwhile)
	subs                                  map[int]func(StateChange)
	nextSub                               int
	commits                               uint64

	exec    Executor
	peer    Peer
	stopped chan struct{}
}

// New returns a device in the state StandAlone, Secondary, Diskless and
// starts its worker goroutine; Close stops it. exec runs the effects;
// peer may be nil (not connected).
func New(exec Executor, peer Peer, conf Config) *Device {
	if peer == nil {
		peer = notConnected{}
	}
	d := &Device{
		st:      drbd.State{Role: drbd.RSecondary, Peer: drbd.RUnknown, Conn: drbd.CStandAlone, Disk: drbd.DDiskless, Pdsk: drbd.DUnknown},
		conf:    conf,
		exec:    exec,
		peer:    peer,
		subs:    map[int]func(StateChange){},
		stopped: make(chan struct{}),
	}
	d.stateWait.L = &d.mu
	d.miscWait.L = &d.mu
	d.workCond.L = &d.mu
	go d.worker()
	return d
}

// Close stops the worker after it ran all queued work. It is idempotent.
// Waiters blocked in the device are not woken by Close; cancel their
// contexts.
func (d *Device) Close() {
	d.mu.Lock()
	d.closing = true
	d.workCond.Broadcast()
	d.mu.Unlock()
	<-d.stopped
}

// State returns the current state.
func (d *Device) State() drbd.State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st
}

// SetConfig replaces the configuration.
func (d *Device) SetConfig(c Config) {
	d.mu.Lock()
	d.conf = c
	d.miscWait.Broadcast()
	d.mu.Unlock()
}

// Config returns the configuration.
func (d *Device) Config() Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conf
}

// SetOpenCount records how many openers the block device has (open_cnt;
// a Secondary may not be held open).
func (d *Device) SetOpenCount(n int) {
	d.mu.Lock()
	d.openCnt = n
	d.mu.Unlock()
}

// LocalCount returns local_cnt.
func (d *Device) LocalCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.localCnt
}

// Subscribe registers fn to receive every committed state change, in
// commit order, on the worker goroutine (before the change's effects run).
// fn must not block on the device. The returned func unsubscribes.
func (d *Device) Subscribe(fn func(StateChange)) (cancel func()) {
	d.mu.Lock()
	id := d.nextSub
	d.nextSub++
	d.subs[id] = fn
	d.mu.Unlock()
	return func() {
		d.mu.Lock()
		delete(d.subs, id)
		d.mu.Unlock()
	}
}

func (d *Device) envLocked() Env {
	return Env{
		HaveNetConf:      d.conf.HaveNetConf,
		TwoPrimaries:     d.conf.TwoPrimaries,
		HighestPeer:      d.st.Peer,
		Fencing:          d.conf.Fencing,
		CurDisk:          d.st.Disk,
		OpenCount:        d.openCnt,
		VerifyAlg:        d.conf.VerifyAlg,
		AgreedProVersion: d.conf.AgreedProVersion,
		OnNoData:         d.conf.OnNoData,
		StateSent:        d.stateSent,
		EdUUIDMatches:    d.edUUIDMatches,
		NewStateTmp:      d.newStateTmp,
	}
}

// Env returns the rule inputs as they are now.
func (d *Device) Env() Env {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.envLocked()
}

// setStateLocked is _drbd_set_state: sanitize, validate (unless CS_HARD),
// commit, take the extra local reference on entering Failed or Diskless,
// wake the waiters and queue the after-state work. done (may be nil) is
// closed when that work has run.
func (d *Device) setStateLocked(ns drbd.State, f ChgFlags, done chan struct{}) drbd.StateRV {
	os := d.st
	env := d.envLocked()
	ns, warn := Sanitize(&env, os, ns)
	if ns == os {
		return drbd.SSNothingToDo
	}
	rv := IsValidTransition(os, ns)
	if rv < drbd.SSSuccess {
		return rv
	}
	if f&CSHard == 0 {
		rv = Check(&env, os, ns)
	}
	if rv < drbd.SSSuccess {
		return rv
	}
	if (os.Disk != drbd.DFailed && ns.Disk == drbd.DFailed) ||
		(os.Disk != drbd.DDiskless && ns.Disk == drbd.DDiskless) {
		d.localCnt++
	}
	d.st = ns
	d.commits++
	if os.Conn == drbd.CWFReportParams && ns.Conn != drbd.CWFReportParams {
		d.stateSent = false
	}
	d.miscWait.Broadcast()
	d.stateWait.Broadcast()
	d.queueLocked(work{kind: workAfterState, change: StateChange{Old: os, New: ns, Flags: f, Warning: warn}, done: done})
	return rv
}

func (d *Device) queueLocked(w work) {
	d.queue = append(d.queue, w)
	d.workCond.Signal()
}

// reqState is drbd_req_state: one attempt at a (possibly cluster-wide)
// requested change.
func (d *Device) reqState(ctx context.Context, ch Change, f ChgFlags) drbd.StateRV {
	if f&CSSerialize != 0 {
		d.stateMutex.Lock()
		defer d.stateMutex.Unlock()
	}
	var done chan struct{}
	if f&CSWaitComplete != 0 {
		done = make(chan struct{})
	}
	d.mu.Lock()
	os := d.st
	env := d.envLocked()
	ns, _ := Sanitize(&env, os, ch.Apply(os))
	rv := IsValidTransition(os, ns)
	if rv < drbd.SSSuccess {
		d.mu.Unlock()
		return rv
	}
	if ClusterWide(os, ns) {
		rv = IsValidState(&env, ns)
		if rv == drbd.SSSuccess {
			rv = IsValidSoftTransition(&env, os, ns)
		}
		d.mu.Unlock()
		if rv < drbd.SSSuccess {
			return rv
		}
		if reply := d.peer.RequestStateChange(ctx, ch); reply < drbd.SSSuccess {
			return drbd.SSCWFailedByPeer
		}
		d.mu.Lock()
		rv = d.setStateLocked(ch.Apply(d.st), f, done)
	} else {
		rv = d.setStateLocked(ns, f, done)
	}
	d.mu.Unlock()
	if done != nil && rv == drbd.SSSuccess {
		<-done
	}
	return rv
}

// waitLocked waits on c until cond holds or ctx ends; it reports whether
// cond holds. d.mu must be held.
func (d *Device) waitLocked(ctx context.Context, c *sync.Cond, cond func() bool) bool {
	if cond() {
		return true
	}
	if ctx.Done() == nil {
		for !cond() {
			c.Wait()
		}
		return true
	}
	stop := context.AfterFunc(ctx, func() {
		d.mu.Lock()
		c.Broadcast()
		d.mu.Unlock()
	})
	defer stop()
	for !cond() {
		if ctx.Err() != nil {
			return false
		}
		c.Wait()
	}
	return true
}

// RequestState is _drbd_request_state: request a change with flags f,
// retrying while the answer is SS_IN_TRANSIENT_STATE (woken by each state
// change). If ctx ends first it returns SS_IN_TRANSIENT_STATE.
func (d *Device) RequestState(ctx context.Context, ch Change, f ChgFlags) drbd.StateRV {
	for {
		d.mu.Lock()
		seen := d.commits
		d.mu.Unlock()
		rv := d.reqState(ctx, ch, f)
		if rv != drbd.SSInTransientState {
			return rv
		}
		d.mu.Lock()
		ok := d.waitLocked(ctx, &d.stateWait, func() bool { return d.commits != seen })
		d.mu.Unlock()
		if !ok {
			return rv
		}
	}
}

// ForceState is drbd_force_state: a hard change imposed by the environment
// (only is_valid_transition applies). It does not wait for the after-state
// work, so the worker may use it.
func (d *Device) ForceState(ch Change) drbd.StateRV {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.setStateLocked(ch.Apply(d.st), CSHard, nil)
}

// Change is drbd_change_state and the receiver's _drbd_set_state: fn
// computes the new state from the current one under the state lock, and
// it is committed with flags f (CSHard skips the soft checks). It never
// asks the peer: the replication layer uses it for changes the peer asked
// for or already agreed to. It returns SS_NOTHING_TO_DO when fn changes
// nothing.
func (d *Device) Change(f ChgFlags, fn func(drbd.State) drbd.State) drbd.StateRV {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.setStateLocked(fn(d.st), f, nil)
}

// SetStateSent sets the connection flag STATE_SENT: the handshake's
// P_STATE is on its way, and role changes wait until it is answered.
func (d *Device) SetStateSent(v bool) {
	d.mu.Lock()
	d.stateSent = v
	d.mu.Unlock()
	d.stateWait.Broadcast()
}

// ---- local disk references (drbd_int.h get_ldev / put_ldev) ----

// GetLdevIfState takes a local-disk reference if the disk state is at
// least min; never while Diskless. On success the caller must PutLdev.
func (d *Device) GetLdevIfState(min drbd.DiskState) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.getLdevLocked(min)
}

func (d *Device) getLdevLocked(min drbd.DiskState) bool {
	if d.st.Disk == drbd.DDiskless {
		return false
	}
	if d.st.Disk < min {
		return false
	}
	d.localCnt++
	return true
}

// GetLdev is get_ldev: a reference for application IO (disk >= Inconsistent).
func (d *Device) GetLdev() bool { return d.GetLdevIfState(drbd.DInconsistent) }

// PutLdev is put_ldev. When the count reaches zero while Diskless the
// ldev destroy is scheduled; while Failed, going diskless is scheduled
// (once); misc_wait is always woken. It never blocks.
func (d *Device) PutLdev() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.putLdevLocked()
}

func (d *Device) putLdevLocked() {
	disk := d.st.Disk
	d.localCnt--
	if d.localCnt < 0 {
		panic("statemachine: put_ldev without get_ldev")
	}
	if d.localCnt == 0 {
		if disk == drbd.DDiskless && !d.destroyPending {
			d.destroyPending = true
			d.queueLocked(work{kind: workDestroy})
		}
		if disk == drbd.DFailed && !d.goingDiskless {
			d.goingDiskless = true
			d.queueLocked(work{kind: workGoDiskless})
		}
		d.miscWait.Broadcast()
	}
}

// Ldev returns the attached backing device. The caller must hold a local
// reference taken at >= D_FAILED.
func (d *Device) Ldev() any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ldev
}

// ---- application IO gate (inc_ap_bio / dec_ap_bio, suspend / resume) ----

// UpperBlocked reports whether new application IO would wait now
// (!may_inc_ap_bio: the dev_upper_blocked statistic).
func (d *Device) UpperBlocked() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.mayIncApBioLocked()
}

func (d *Device) mayIncApBioLocked() bool {
	if d.st.IsSusp() || d.suspendCnt > 0 {
		return false
	}
	if !StateIsStable(d.st, d.conf.AgreedProVersion) {
		return false
	}
	if d.conf.MaxBuffers > 0 && d.apBioCnt > d.conf.MaxBuffers {
		return false
	}
	return true
}

// IncApBio is inc_ap_bio: it admits one application request, waiting
// while IO is suspended, while the state is not stable, or while too many
// requests are in flight. It returns ctx.Err() if ctx ends first.
func (d *Device) IncApBio(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.waitLocked(ctx, &d.miscWait, d.mayIncApBioLocked) {
		return ctx.Err()
	}
	d.apBioCnt++
	return nil
}

// TryIncApBio admits one application request if IncApBio would admit it
// without waiting, and reports whether it did. A request it refuses takes
// the waiting path (IncApBio) elsewhere; the gate's rules are the same.
func (d *Device) TryIncApBio() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.mayIncApBioLocked() {
		return false
	}
	d.apBioCnt++
	return true
}

// DecApBio is dec_ap_bio.
func (d *Device) DecApBio() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.apBioCnt--
	if d.apBioCnt < 0 {
		panic("statemachine: dec_ap_bio without inc_ap_bio")
	}
	d.miscWait.Broadcast()
}

// SuspendIO is drbd_suspend_io: new application IO waits, and unless IO
// is suspended by state already, it waits until the requests in flight
// drained. Calls nest; each needs a ResumeIO. If ctx ends during the
// drain, the suspension stays counted and ctx.Err() is returned.
func (d *Device) SuspendIO(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.suspendCnt++
	if d.st.IsSusp() {
		return nil
	}
	if !d.waitLocked(ctx, &d.miscWait, func() bool { return d.apBioCnt == 0 }) {
		return ctx.Err()
	}
	return nil
}

// ResumeIO is drbd_resume_io.
func (d *Device) ResumeIO() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.suspendCnt--
	if d.suspendCnt < 0 {
		panic("statemachine: resume_io without suspend_io")
	}
	if d.suspendCnt == 0 {
		d.miscWait.Broadcast()
	}
}

// ---- the worker (drbd_worker / w_after_state_ch / go_diskless / ldev destroy) ----

func (d *Device) worker() {
	defer close(d.stopped)
	d.mu.Lock()
	for {
		for len(d.queue) == 0 && !d.closing {
			d.workCond.Wait()
		}
		if len(d.queue) == 0 {
			d.workerDone = true
			d.mu.Unlock()
			return
		}
		w := d.queue[0]
		d.queue[0] = work{}
		d.queue = d.queue[1:]
		d.busy = true
		switch w.kind {
		case workAfterState:
			d.runAfterStateLocked(w)
		case workGoDiskless:
			d.goDisklessLocked()
		case workDestroy:
			d.destroyLocked()
		case workBarrier:
			close(w.done)
		}
		d.busy = false
	}
}

// runAfterStateLocked runs one w_after_state_ch. Called and returns with
// d.mu held; drops it around subscribers and the executor.
func (d *Device) runAfterStateLocked(w work) {
	os, ns := w.change.Old, w.change.New
	in := AfterInputs{HaveLdev: d.ldev != nil, OnIOError: d.conf.OnIOError}
	if os.Disk != drbd.DFailed && ns.Disk == drbd.DFailed && in.HaveLdev {
		in.WasIOError, d.wasIOError = d.wasIOError, false
		in.ForceDetach, d.forceDetach = d.forceDetach, false
	}
	subs := make([]func(StateChange), 0, len(d.subs))
	for _, fn := range d.subs {
		subs = append(subs, fn)
	}
	d.mu.Unlock()
	for _, fn := range subs {
		fn(w.change)
	}
	for _, e := range AfterStateChange(os, ns, in) {
		if e.Kind == effPutLdev {
			d.PutLdev()
			continue
		}
		if d.exec != nil {
			_ = d.exec.Execute(d, e)
		}
	}
	if w.done != nil {
		close(w.done)
	}
	d.mu.Lock()
}

// goDisklessLocked is go_diskless: write out the bitmap (on failure after a
// read error, ask for a full sync next time), then force D_DISKLESS.
func (d *Device) goDisklessLocked() {
	haveLdev := d.ldev != nil
	readErr := d.wasReadError
	d.mu.Unlock()
	if haveLdev && d.exec != nil {
		if err := d.exec.Execute(d, Effect{Kind: EffBitmapWrite, Reason: "detach"}); err != nil && readErr {
			_ = d.exec.Execute(d, Effect{Kind: EffMDSync, FullSync: true})
		}
	}
	d.mu.Lock()
	d.setStateLocked(NSDisk(drbd.DDiskless).Apply(d.st), CSHard, nil)
}

// destroyLocked is drbd_ldev_destroy: free the backing device, then clear
// GOING_DISKLESS and wake misc_wait (attach waits for that).
func (d *Device) destroyLocked() {
	l := d.ldev
	d.ldev = nil
	d.mu.Unlock()
	if l != nil && d.exec != nil {
		_ = d.exec.Execute(d, Effect{Kind: EffDestroyLdev, Ldev: l})
	}
	d.mu.Lock()
	d.goingDiskless = false
	d.destroyPending = false
	d.miscWait.Broadcast()
}

// barrier waits until the worker has run the work queued so far.
func (d *Device) barrier(ctx context.Context) error {
	done := make(chan struct{})
	d.mu.Lock()
	d.queueLocked(work{kind: workBarrier, done: done})
	d.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitIdle waits until the worker has run all queued work, including the
// work that work queued (for tests and orderly shutdown).
func (d *Device) WaitIdle(ctx context.Context) error {
	for {
		if err := d.barrier(ctx); err != nil {
			return err
		}
		d.mu.Lock()
		empty := len(d.queue) == 0 && !d.busy
		d.mu.Unlock()
		if empty {
			return nil
		}
	}
}

// WaitState waits on state_wait until cond holds for the current state,
// or ctx ends (its error is returned). It is the wait_event behind
// drbdsetup's wait-connect / wait-sync style commands.
func (d *Device) WaitState(ctx context.Context, cond func(drbd.State) bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.waitLocked(ctx, &d.stateWait, func() bool { return cond(d.st) }) {
		return ctx.Err()
	}
	return nil
}
