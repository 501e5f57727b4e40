package statemachine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"udrbd/drbd"
)

// recExec records effects and closes fake backing devices.
type recExec struct {
	mu        sync.Mutex
	effects   []Effect
	destroyed []any
	// blockDestroy, if set, is waited on before a destroy completes.
	blockDestroy chan struct{}
	bitmapErr    error
}

func (r *recExec) Execute(d *Device, e Effect) error {
	if e.Kind == EffDestroyLdev && r.blockDestroy != nil {
		<-r.blockDestroy
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.effects = append(r.effects, e)
	if e.Kind == EffDestroyLdev {
		r.destroyed = append(r.destroyed, e.Ldev)
	}
	if e.Kind == EffBitmapWrite {
		return r.bitmapErr
	}
	return nil
}

func (r *recExec) kinds() []EffectKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []EffectKind
	for _, e := range r.effects {
		out = append(out, e.Kind)
	}
	return out
}

func (r *recExec) has(k EffectKind, helper string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.effects {
		if e.Kind == k && e.Helper == helper {
			return true
		}
	}
	return false
}

type disk struct{ name string }

func params(name string, mdf uint32) AttachParams {
	return AttachParams{
		Open:      func() (any, uint32, drbd.RetCode) { return &disk{name}, mdf, drbd.NoError },
		OnIOError: drbd.EPDetach,
		Fencing:   drbd.FPDontCare,
	}
}

const upToDateMD = drbd.MDFConsistent | drbd.MDFWasUpToDate

func newDev(t *testing.T, exec Executor, peer Peer) *Device {
	t.Helper()
	d := New(exec, peer, Config{})
	t.Cleanup(d.Close)
	return d
}

func idle(t *testing.T, d *Device) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.WaitIdle(ctx); err != nil {
		t.Fatal("worker did not become idle")
	}
}

// diskTrace subscribes and returns a func giving the disk states seen.
func diskTrace(t *testing.T, d *Device) func() []drbd.DiskState {
	idle(t, d) // subscribers see changes when the worker runs them
	var mu sync.Mutex
	trace := []drbd.DiskState{d.State().Disk}
	d.Subscribe(func(c StateChange) {
		mu.Lock()
		if c.New.Disk != c.Old.Disk {
			trace = append(trace, c.New.Disk)
		}
		mu.Unlock()
	})
	return func() []drbd.DiskState {
		mu.Lock()
		defer mu.Unlock()
		return append([]drbd.DiskState(nil), trace...)
	}
}

func TestInitialState(t *testing.T) {
	d := newDev(t, nil, nil)
	want := drbd.State{Role: drbd.RSecondary, Peer: drbd.RUnknown, Conn: drbd.CStandAlone, Disk: drbd.DDiskless, Pdsk: drbd.DUnknown}
	if got := d.State(); got != want {
		t.Fatalf("got %v", got)
	}
}

func TestAttachDiskStateFromMetaData(t *testing.T) {
	tests := []struct {
		name    string
		mdf     uint32
		fencing drbd.FencingPolicy
		want    drbd.DiskState
		pdsk    drbd.DiskState
	}{
		{"consistent, was up to date, dont-care", upToDateMD, drbd.FPDontCare, drbd.DUpToDate, drbd.DUnknown},
		{"consistent, was up to date, fencing", upToDateMD, drbd.FPResource, drbd.DConsistent, drbd.DUnknown},
		{"fencing, peer outdated", upToDateMD | drbd.MDFPeerOutDated, drbd.FPResource, drbd.DUpToDate, drbd.DOutdated},
		{"consistent only", drbd.MDFConsistent, drbd.FPDontCare, drbd.DOutdated, drbd.DUnknown},
		{"inconsistent", 0, drbd.FPDontCare, drbd.DInconsistent, drbd.DUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDev(t, &recExec{}, nil)
			p := params("a", tc.mdf)
			p.Fencing = tc.fencing
			if got := d.Attach(context.Background(), p); got != drbd.Reply(drbd.NoError) {
				t.Fatalf("attach = %v", got)
			}
			s := d.State()
			if s.Disk != tc.want || s.Pdsk != tc.pdsk {
				t.Fatalf("state %v, want disk %v pdsk %v", s, tc.want, tc.pdsk)
			}
			if d.LocalCount() != 0 {
				t.Fatalf("local_cnt %d after attach", d.LocalCount())
			}
		})
	}
}

func TestAttachTwiceIsDiskConfigured(t *testing.T) {
	d := newDev(t, &recExec{}, nil)
	d.Attach(context.Background(), params("a", upToDateMD))
	if got := d.Attach(context.Background(), params("b", upToDateMD)); got != drbd.Reply(drbd.ErrDiskConfigured) {
		t.Fatalf("got %v", got)
	}
}

// Detach goes through D_FAILED, waits for the references, and the ldev is
// destroyed once the last reference dropped in D_DISKLESS.
func TestDetachPath(t *testing.T) {
	ex := &recExec{}
	d := newDev(t, ex, nil)
	d.Attach(context.Background(), params("a", upToDateMD))
	l := d.Ldev()
	trace := diskTrace(t, d)
	if got := d.Detach(context.Background(), false); got != drbd.Reply(drbd.SSSuccess) {
		t.Fatalf("detach = %v", got)
	}
	if d.State().Disk != drbd.DDiskless {
		t.Fatalf("disk %v after detach", d.State().Disk)
	}
	idle(t, d)
	if diff := cmp.Diff([]drbd.DiskState{drbd.DUpToDate, drbd.DFailed, drbd.DDiskless}, trace()); diff != "" {
		t.Fatalf("disk trace (-want +got):\n%s", diff)
	}
	if len(ex.destroyed) != 1 || ex.destroyed[0] != l || d.Ldev() != nil {
		t.Fatalf("destroyed %v", ex.destroyed)
	}
	if d.LocalCount() != 0 {
		t.Fatal("local_cnt != 0")
	}
	if !ex.has(EffBitmapWrite, "") || !ex.has(EffMDSync, "") {
		t.Fatalf("effects %v", ex.kinds())
	}
	if got := d.Detach(context.Background(), false); got != drbd.Reply(drbd.SSNothingToDo) {
		t.Fatalf("second detach = %v, want SS_NOTHING_TO_DO", got)
	}
}

// A held reference keeps the device in D_FAILED; detach returns only after
// the reference dropped, and ERR_INTR if its context ends first.
func TestDetachWaitsForReferences(t *testing.T) {
	d := newDev(t, &recExec{}, nil)
	d.Attach(context.Background(), params("a", upToDateMD))
	if !d.GetLdev() {
		t.Fatal("get_ldev failed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan drbd.Reply, 1)
	go func() { res <- d.Detach(ctx, false) }()
	waitFor(t, func() bool { return d.State().Disk == drbd.DFailed })
	if d.GetLdev() {
		t.Fatal("get_ldev succeeded in D_FAILED")
	}
	if !d.GetLdevIfState(drbd.DFailed) {
		t.Fatal("internal reference at D_FAILED refused")
	}
	d.PutLdev()
	cancel()
	if got := <-res; got != drbd.Reply(drbd.ErrIntr) {
		t.Fatalf("interrupted detach = %v", got)
	}
	if d.State().Disk != drbd.DFailed {
		t.Fatal("left D_FAILED with a reference held")
	}
	d.PutLdev()
	waitFor(t, func() bool { return d.State().Disk == drbd.DDiskless })
	idle(t, d)
	if d.LocalCount() != 0 || d.Ldev() != nil {
		t.Fatal("not torn down")
	}
}

// The seed fix: attach waits until the previous backing device is
// released (drbd_ldev_destroy done).
func TestAttachWaitsForPreviousRelease(t *testing.T) {
	ex := &recExec{blockDestroy: make(chan struct{})}
	d := newDev(t, ex, nil)
	var once sync.Once
	release := func() { once.Do(func() { close(ex.blockDestroy) }) }
	t.Cleanup(release) // runs before d.Close, so a failure does not hang
	d.Attach(context.Background(), params("a", upToDateMD))
	d.Detach(context.Background(), false)
	opened := make(chan struct{})
	p := params("b", upToDateMD)
	inner := p.Open
	p.Open = func() (any, uint32, drbd.RetCode) { close(opened); return inner() }
	res := make(chan drbd.Reply, 1)
	go func() { res <- d.Attach(context.Background(), p) }()
	select {
	case <-opened:
		t.Fatal("attach opened the new device before the old one was released")
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if got := <-res; got != drbd.Reply(drbd.NoError) {
		t.Fatalf("attach = %v", got)
	}
	if d.Ldev().(*disk).name != "b" {
		t.Fatal("wrong ldev")
	}
}

func TestAttachInterrupted(t *testing.T) {
	ex := &recExec{blockDestroy: make(chan struct{})}
	d := newDev(t, ex, nil)
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(ex.blockDestroy) }) })
	d.Attach(context.Background(), params("a", upToDateMD))
	d.Detach(context.Background(), false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := d.Attach(ctx, params("b", upToDateMD)); got != drbd.Reply(drbd.ErrIntr) {
		t.Fatalf("got %v", got)
	}
}

// A failure after D_ATTACHING never passes through D_FAILED.
func TestAttachFailureGoesDiskless(t *testing.T) {
	d := newDev(t, &recExec{}, nil)
	trace := diskTrace(t, d)
	released := false
	p := params("a", upToDateMD)
	p.Release = func(any) { released = true }
	p.Check = func() drbd.RetCode { return drbd.ErrDataNotCurrent }
	if got := d.Attach(context.Background(), p); got != drbd.Reply(drbd.ErrDataNotCurrent) {
		t.Fatalf("got %v", got)
	}
	idle(t, d)
	if diff := cmp.Diff([]drbd.DiskState{drbd.DDiskless, drbd.DAttaching, drbd.DDiskless}, trace()); diff != "" {
		t.Fatalf("disk trace (-want +got):\n%s", diff)
	}
	if !released || d.LocalCount() != 0 {
		t.Fatal("not cleaned up")
	}
	if got := d.Attach(context.Background(), params("b", upToDateMD)); got != drbd.Reply(drbd.NoError) {
		t.Fatalf("re-attach = %v", got)
	}
}

func TestAttachOpenFailure(t *testing.T) {
	d := newDev(t, &recExec{}, nil)
	p := AttachParams{Open: func() (any, uint32, drbd.RetCode) { return nil, 0, drbd.ErrOpenDisk }}
	if got := d.Attach(context.Background(), p); got != drbd.Reply(drbd.ErrOpenDisk) {
		t.Fatalf("got %v", got)
	}
	if d.State().Disk != drbd.DDiskless {
		t.Fatal("state changed")
	}
}

func TestIOErrorPolicies(t *testing.T) {
	tests := []struct {
		name       string
		policy     drbd.IOErrorPolicy
		kind       IOErrorKind
		wantDisk   drbd.DiskState
		wantHelper bool
		wantAbort  bool
	}{
		{"detach on write error", drbd.EPDetach, WriteError, drbd.DDiskless, false, false},
		{"call-local-io-error", drbd.EPCallHelper, ReadError, drbd.DDiskless, true, false},
		{"pass_on write error", drbd.EPPassOn, WriteError, drbd.DInconsistent, false, false},
		{"pass_on meta-data error still detaches", drbd.EPPassOn, MetaIOError, drbd.DDiskless, false, false},
		{"force detach aborts disk IO", drbd.EPDetach, ForceDetach, drbd.DDiskless, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex := &recExec{}
			d := newDev(t, ex, nil)
			p := params("a", upToDateMD)
			p.OnIOError = tc.policy
			d.Attach(context.Background(), p)
			if !d.GetLdev() {
				t.Fatal("get_ldev")
			}
			d.IOError(tc.kind)
			d.PutLdev()
			waitFor(t, func() bool { return d.State().Disk == tc.wantDisk })
			idle(t, d)
			if got := ex.has(EffHelper, "local-io-error"); got != tc.wantHelper {
				t.Fatalf("local-io-error helper run = %v", got)
			}
			if got := ex.has(EffAbortDiskIO, ""); got != tc.wantAbort {
				t.Fatalf("abort disk io = %v", got)
			}
		})
	}
}

// An admin detach is not an IO error: no local-io-error helper.
func TestAdminDetachIsNotIOError(t *testing.T) {
	ex := &recExec{}
	d := newDev(t, ex, nil)
	p := params("a", upToDateMD)
	p.OnIOError = drbd.EPCallHelper
	d.Attach(context.Background(), p)
	d.Detach(context.Background(), false)
	idle(t, d)
	if ex.has(EffHelper, "local-io-error") {
		t.Fatal("helper called for an admin detach")
	}
}

func TestForceDetach(t *testing.T) {
	ex := &recExec{}
	d := newDev(t, ex, nil)
	d.Attach(context.Background(), params("a", upToDateMD))
	if !d.GetLdev() {
		t.Fatal("get_ldev")
	}
	if got := d.Detach(context.Background(), true); got != drbd.Reply(drbd.SSSuccess) {
		t.Fatalf("got %v", got)
	}
	idle(t, d)
	if !ex.has(EffAbortDiskIO, "") {
		t.Fatal("no abort")
	}
	d.PutLdev()
	waitFor(t, func() bool { return d.State().Disk == drbd.DDiskless })
	if got := d.Detach(context.Background(), true); got != drbd.Reply(drbd.SSSuccess) {
		t.Fatalf("force detach of diskless = %v", got)
	}
}

// go_diskless: a failed bitmap write-out after a read error asks for a
// full sync.
func TestGoDisklessFullSyncAfterReadError(t *testing.T) {
	ex := &recExec{bitmapErr: errors.New("EIO")}
	d := newDev(t, ex, nil)
	d.Attach(context.Background(), params("a", upToDateMD))
	d.GetLdev()
	d.IOError(ReadError)
	d.PutLdev()
	waitFor(t, func() bool { return d.State().Disk == drbd.DDiskless })
	idle(t, d)
	ex.mu.Lock()
	defer ex.mu.Unlock()
	for _, e := range ex.effects {
		if e.Kind == EffMDSync && e.FullSync {
			return
		}
	}
	t.Fatal("no full-sync md sync")
}

func TestRoles(t *testing.T) {
	ctx := context.Background()
	d := newDev(t, &recExec{}, nil)
	if got := d.SetRole(ctx, drbd.RPrimary, false); got != drbd.Reply(drbd.SSNoUpToDateDisk) {
		t.Fatalf("diskless primary = %v", got)
	}
	d.Attach(ctx, params("a", drbd.MDFConsistent)) // Outdated
	if got := d.SetRole(ctx, drbd.RPrimary, false); got != drbd.Reply(drbd.SSNoUpToDateDisk) {
		t.Fatalf("outdated primary = %v", got)
	}
	if got := d.SetRole(ctx, drbd.RPrimary, true); got != drbd.Reply(drbd.SSSuccess) {
		t.Fatalf("forced primary = %v", got)
	}
	if s := d.State(); s.Role != drbd.RPrimary || s.Disk != drbd.DUpToDate {
		t.Fatalf("state %v", s)
	}
	if got := d.SetRole(ctx, drbd.RPrimary, false); got != drbd.Reply(drbd.SSNothingToDo) {
		t.Fatalf("primary again = %v", got)
	}
	// Standalone Primary can't detach gracefully (V3 on the new state).
	if got := d.Detach(ctx, false); got != drbd.Reply(drbd.SSNoUpToDateDisk) {
		t.Fatalf("detach primary = %v", got)
	}
	d.SetOpenCount(1)
	if got := d.SetRole(ctx, drbd.RSecondary, false); got != drbd.Reply(drbd.SSDeviceInUse) {
		t.Fatalf("secondary while open = %v", got)
	}
	d.SetOpenCount(0)
	if got := d.SetRole(ctx, drbd.RSecondary, false); got != drbd.Reply(drbd.SSSuccess) {
		t.Fatalf("secondary = %v", got)
	}
}

func TestOutdateAndInvalidate(t *testing.T) {
	ctx := context.Background()
	d := newDev(t, &recExec{}, nil)
	if got := d.Outdate(ctx); got != drbd.Reply(drbd.SSLowerThanOutdated) {
		t.Fatalf("outdate diskless = %v", got)
	}
	if got := d.Invalidate(ctx, nil); got != drbd.Reply(drbd.ErrNoDisk) {
		t.Fatalf("invalidate diskless = %v", got)
	}
	d.Attach(ctx, params("a", upToDateMD))
	if got := d.Outdate(ctx); got != drbd.Reply(drbd.SSSuccess) || d.State().Disk != drbd.DOutdated {
		t.Fatalf("outdate = %v, %v", got, d.State())
	}
	set := false
	if got := d.Invalidate(ctx, func() error { set = true; return nil }); got != drbd.Reply(drbd.SSSuccess) || !set {
		t.Fatalf("invalidate = %v", got)
	}
	if d.State().Disk != drbd.DInconsistent {
		t.Fatalf("disk %v", d.State().Disk)
	}
	if got := d.Outdate(ctx); got != drbd.Reply(drbd.SSLowerThanOutdated) {
		t.Fatalf("outdate inconsistent = %v", got)
	}
	if got := d.Invalidate(ctx, func() error { return errors.New("EIO") }); got != drbd.Reply(drbd.ErrIOMDDisk) {
		t.Fatalf("invalidate with bitmap error = %v", got)
	}
}

func TestSuspendResumeIO(t *testing.T) {
	ctx := context.Background()
	d := newDev(t, &recExec{}, nil)
	d.Attach(ctx, params("a", upToDateMD))
	if got := d.SuspendIOAdmin(ctx); got != drbd.Reply(drbd.SSSuccess) || !d.State().Susp {
		t.Fatalf("suspend-io = %v", got)
	}
	if d.TryIncApBio() {
		t.Fatal("TryIncApBio admitted IO while suspended")
	}
	admitted := make(chan error, 1)
	go func() { admitted <- d.IncApBio(ctx) }()
	select {
	case <-admitted:
		t.Fatal("IO admitted while suspended")
	case <-time.After(20 * time.Millisecond):
	}
	if got := d.ResumeIOAdmin(ctx); got != drbd.Reply(drbd.SSSuccess) {
		t.Fatalf("resume-io = %v", got)
	}
	if err := <-admitted; err != nil {
		t.Fatal(err)
	}
	d.DecApBio()
	if !d.TryIncApBio() {
		t.Fatal("TryIncApBio refused IO after resume")
	}
	d.DecApBio()
	// A waiting IncApBio honours its context.
	d.SuspendIOAdmin(ctx)
	cctx, cancel := context.WithCancel(ctx)
	go cancel()
	if err := d.IncApBio(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("IncApBio = %v", err)
	}
}

// suspend_io nests and waits for IO in flight.
func TestSuspendIONesting(t *testing.T) {
	ctx := context.Background()
	d := newDev(t, &recExec{}, nil)
	if err := d.IncApBio(ctx); err != nil {
		t.Fatal(err)
	}
	suspended := make(chan struct{})
	go func() { d.SuspendIO(ctx); close(suspended) }()
	select {
	case <-suspended:
		t.Fatal("suspend returned with IO in flight")
	case <-time.After(20 * time.Millisecond):
	}
	d.DecApBio()
	<-suspended
	d.SuspendIO(ctx)
	d.ResumeIO()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := d.IncApBio(cctx); err == nil {
		t.Fatal("admitted with suspend_cnt 1")
	}
	d.ResumeIO()
	if err := d.IncApBio(ctx); err != nil {
		t.Fatal(err)
	}
	d.DecApBio()
}

type fakePeer struct {
	answer drbd.StateRV
	asked  []Change
}

func (p *fakePeer) RequestStateChange(_ context.Context, ch Change) drbd.StateRV {
	p.asked = append(p.asked, ch)
	return p.answer
}
func (p *fakePeer) TryOutdatePeer(context.Context) bool { return false }

func connect(t *testing.T, d *Device) {
	t.Helper()
	for _, c := range []drbd.ConnState{drbd.CUnconnected, drbd.CWFConnection, drbd.CWFReportParams} {
		if rv := d.ForceState(NSConn(c)); rv < drbd.SSSuccess {
			t.Fatalf("-> %v: %v", c, rv)
		}
	}
	if rv := d.ForceState(NSConn(drbd.CConnected).And(NSPeer(drbd.RSecondary)).And(NSPdsk(drbd.DUpToDate))); rv < drbd.SSSuccess {
		t.Fatalf("-> Connected: %v", rv)
	}
}

func TestClusterWideRequest(t *testing.T) {
	ctx := context.Background()
	peer := &fakePeer{answer: drbd.SSCWFailedByPeer}
	d := newDev(t, &recExec{}, peer)
	d.SetConfig(Config{HaveNetConf: true, AgreedProVersion: 101})
	d.Attach(ctx, params("a", upToDateMD))
	connect(t, d)
	if got := d.RequestState(ctx, NSRole(drbd.RPrimary), CSVerbose); got != drbd.SSCWFailedByPeer {
		t.Fatalf("refused promote = %v", got)
	}
	if d.State().Role != drbd.RSecondary {
		t.Fatal("promoted despite refusal")
	}
	peer.answer = drbd.SSCWSuccess
	if got := d.RequestState(ctx, NSRole(drbd.RPrimary), CSVerbose|CSWaitComplete); got != drbd.SSSuccess {
		t.Fatalf("promote = %v", got)
	}
	if len(peer.asked) != 2 || peer.asked[1] != NSRole(drbd.RPrimary) {
		t.Fatalf("asked %v", peer.asked)
	}
	// Demotion is local.
	if got := d.RequestState(ctx, NSRole(drbd.RSecondary), CSVerbose); got != drbd.SSSuccess || len(peer.asked) != 2 {
		t.Fatalf("demote = %v, asked %d", got, len(peer.asked))
	}
	// Invalid cluster-wide change is refused before asking (V1: Pri/Pri).
	d.ForceState(NSPeer(drbd.RPrimary))
	if got := d.RequestState(ctx, NSRole(drbd.RPrimary), CSVerbose); got != drbd.SSTwoPrimaries || len(peer.asked) != 2 {
		t.Fatalf("two primaries = %v", got)
	}
}

// SS_IN_TRANSIENT_STATE makes RequestState wait for the next change.
func TestRequestRetriesTransient(t *testing.T) {
	ctx := context.Background()
	d := newDev(t, &recExec{}, nil)
	d.SetConfig(Config{HaveNetConf: true})
	d.ForceState(NSConn(drbd.CUnconnected))
	res := make(chan drbd.StateRV, 1)
	go func() { res <- d.RequestState(ctx, NSConn(drbd.CDisconnecting), CSVerbose) }() // T6 while Unconnected
	select {
	case rv := <-res:
		t.Fatalf("returned %v while transient", rv)
	case <-time.After(20 * time.Millisecond):
	}
	d.ForceState(NSConn(drbd.CWFConnection))
	if rv := <-res; rv != drbd.SSSuccess {
		t.Fatalf("got %v", rv)
	}
	cctx, cancel := context.WithCancel(ctx)
	d.ForceState(NSConn(drbd.CDisconnecting))
	d.ForceState(NSConn(drbd.CStandAlone))
	d.ForceState(NSConn(drbd.CUnconnected))
	go cancel()
	if rv := d.RequestState(cctx, NSConn(drbd.CDisconnecting), CSVerbose); rv != drbd.SSInTransientState {
		t.Fatalf("cancelled = %v", rv)
	}
}

func TestPutLdevUnderflowPanics(t *testing.T) {
	d := newDev(t, nil, nil)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	d.PutLdev()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWaitState(t *testing.T) {
	d := newDev(t, &recExec{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := d.WaitState(ctx, func(s drbd.State) bool { return s.Disk == drbd.DUpToDate }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	res := make(chan error, 1)
	go func() {
		res <- d.WaitState(context.Background(), func(s drbd.State) bool { return s.Disk == drbd.DUpToDate })
	}()
	d.Attach(context.Background(), params("a", upToDateMD))
	if err := <-res; err != nil {
		t.Fatal(err)
	}
}

// Detach first drains the application requests in flight (drbd_suspend_io
// waits for ap_bio_cnt == 0) and holds new ones back before it touches the
// disk state, so no writer is parked in the activity log during the change.
func TestDetachDrainsApplicationIOFirst(t *testing.T) {
	ctx := context.Background()
	d := newDev(t, &recExec{}, nil)
	d.Attach(ctx, params("a", upToDateMD))
	if err := d.IncApBio(ctx); err != nil {
		t.Fatal(err)
	}
	res := make(chan drbd.Reply, 1)
	go func() { res <- d.Detach(ctx, false) }()
	// New IO is held back while detach waits for the drain...
	waitFor(t, func() bool {
		cctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		defer cancel()
		if d.IncApBio(cctx) != nil {
			return true
		}
		d.DecApBio()
		return false
	})
	// ...and the disk state is untouched until the request in flight ends.
	time.Sleep(20 * time.Millisecond)
	if s := d.State(); s.Disk != drbd.DUpToDate {
		t.Fatalf("disk %v while an application request was in flight", s.Disk)
	}
	d.DecApBio()
	if got := <-res; got != drbd.Reply(drbd.SSSuccess) {
		t.Fatalf("detach = %v", got)
	}
	if err := d.IncApBio(ctx); err != nil {
		t.Fatal("IO not resumed after detach")
	}
	d.DecApBio()
}
