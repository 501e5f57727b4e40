package statemachine

import (
	"context"
	"time"

	"udrbd/drbd"
)

// The administrative operations the daemon's netlink handlers call. Each
// follows the path of its drbd_nl.c / drbd_state.c counterpart and returns
// the same code the kernel puts into the reply's ret_code. They serialize
// on the device's admin mutex (adm_mutex).

func rc(c drbd.RetCode) drbd.Reply  { return drbd.Reply(c) }
func srv(v drbd.StateRV) drbd.Reply { return drbd.Reply(v) }

// AttachParams carries what drbd_adm_attach needs from the layers that do
// the I/O.
type AttachParams struct {
	// Open opens and claims the backing (and meta-data) device and reads
	// the meta-data. It runs after any previous backing device has been
	// released. It returns the handle that becomes Device.Ldev, the
	// superblock's MDF_* flags, and NoError or the ERR_* code to reply.
	Open func() (ldev any, mdFlags uint32, code drbd.RetCode)
	// Release undoes Open when attach fails before the point of no return.
	Release func(ldev any)
	// Check runs in D_ATTACHING with a local reference held, before the
	// point of no return (data-not-current, size and resync-after checks).
	// It may be nil.
	Check func() drbd.RetCode
	// OnIOError and Fencing are the new disk_conf policies.
	OnIOError drbd.IOErrorPolicy
	Fencing   drbd.FencingPolicy
}

// Attach is drbd_adm_attach: ERR_DISK_CONFIGURED unless Diskless; wait
// until the previous backing device is released (the seed fix: attach may
// follow a detach or IO error very fast, e.g. from the local-io-error
// handler); open; suspend IO around the request for D_ATTACHING; install
// the device and move to the state its meta-data implies (Negotiating if
// Connected). A failure after D_ATTACHING forces D_FAILED, which sanitizes
// to D_DISKLESS from D_ATTACHING. If ctx ends while waiting it returns
// ERR_INTR.
func (d *Device) Attach(ctx context.Context, p AttachParams) drbd.Reply {
	d.adm.Lock()
	defer d.adm.Unlock()

	d.mu.Lock()
	if d.st.Disk > drbd.DDiskless {
		d.mu.Unlock()
		return rc(drbd.ErrDiskConfigured)
	}
	if !d.waitLocked(ctx, &d.miscWait, func() bool {
		return d.localCnt == 0 && !d.goingDiskless && !d.destroyPending && d.ldev == nil
	}) {
		d.mu.Unlock()
		return rc(drbd.ErrIntr)
	}
	d.forceDetach, d.wasIOError, d.wasReadError = false, false, false
	d.mu.Unlock()

	ldev, mdf, code := p.Open()
	if code != drbd.NoError {
		return rc(code)
	}
	release := func() {
		if p.Release != nil {
			p.Release(ldev)
		}
	}

	_ = d.SuspendIO(context.Background())
	rv := d.RequestState(ctx, NSDisk(drbd.DAttaching), CSVerbose)
	d.ResumeIO()
	if rv < drbd.SSSuccess {
		release()
		return srv(rv)
	}
	if !d.GetLdevIfState(drbd.DAttaching) {
		// Someone forced the disk away meanwhile.
		release()
		d.ForceState(NSDisk(drbd.DFailed))
		return rc(drbd.ErrIOMDDisk)
	}
	if p.Check != nil {
		if code := p.Check(); code != drbd.NoError {
			d.PutLdev()
			release()
			d.ForceState(NSDisk(drbd.DFailed))
			return rc(code)
		}
	}

	// Point of no return: from here on the ldev destroy frees the device.
	d.mu.Lock()
	d.ldev = ldev
	d.conf.OnIOError = p.OnIOError
	d.conf.Fencing = p.Fencing
	ns := d.st
	switch {
	case mdf&drbd.MDFConsistent != 0 && mdf&drbd.MDFWasUpToDate != 0:
		ns.Disk = drbd.DConsistent
	case mdf&drbd.MDFConsistent != 0:
		ns.Disk = drbd.DOutdated
	default:
		ns.Disk = drbd.DInconsistent
	}
	if mdf&drbd.MDFPeerOutDated != 0 {
		ns.Pdsk = drbd.DOutdated
	}
	if ns.Disk == drbd.DConsistent && (ns.Pdsk == drbd.DOutdated || p.Fencing == drbd.FPDontCare) {
		ns.Disk = drbd.DUpToDate
	}
	if d.st.Conn == drbd.CConnected {
		d.newStateTmp = ns
		d.edUUIDMatches = true
		ns = d.st
		ns.Disk = drbd.DNegotiating
	}
	rv = d.setStateLocked(ns, CSVerbose, nil)
	d.mu.Unlock()
	if rv < drbd.SSSuccess {
		d.PutLdev()
		d.ForceState(NSDisk(drbd.DFailed))
		return srv(rv)
	}
	d.PutLdev()
	return rc(drbd.NoError)
}

// Detach is adm_detach. With force it marks FORCE_DETACH and forces
// D_FAILED (pending local IO is then completed at once) and returns
// SS_SUCCESS. Otherwise it is drbd_request_detach_interruptible: suspend
// application IO so nobody is parked in the activity log, request D_FAILED
// (retrying while SS_IN_TRANSIENT_STATE), resume IO, and wait until the
// disk left D_FAILED, which happens when the last local reference drops.
// Detaching a diskless device gives SS_NOTHING_TO_DO; if ctx ends while
// waiting it gives ERR_INTR.
func (d *Device) Detach(ctx context.Context, force bool) drbd.Reply {
	d.adm.Lock()
	defer d.adm.Unlock()
	if force {
		d.mu.Lock()
		d.forceDetach = true
		d.mu.Unlock()
		d.ForceState(NSDisk(drbd.DFailed))
		return srv(drbd.SSSuccess)
	}
	_ = d.SuspendIO(context.Background())
	rv := d.RequestState(ctx, NSDisk(drbd.DFailed), CSVerbose|CSOrdered|CSInhibitMDIO)
	d.ResumeIO()

	d.mu.Lock()
	ok := d.waitLocked(ctx, &d.miscWait, func() bool { return d.st.Disk != drbd.DFailed })
	d.mu.Unlock()
	if rv == drbd.SSIsDiskless {
		rv = drbd.SSNothingToDo
	}
	if !ok {
		return rc(drbd.ErrIntr)
	}
	return srv(rv)
}

// IOError is __drbd_chk_io_error_: called by IO completion with a local
// reference held. With on-io-error pass_on a data read or write error only
// drops an UpToDate-or-better disk to Inconsistent; anything else (and
// every meta-data error or forced detach) marks WAS_IO_ERROR (and
// WAS_READ_ERROR / FORCE_DETACH) and forces D_FAILED.
func (d *Device) IOError(kind IOErrorKind) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conf.OnIOError == drbd.EPPassOn && (kind == ReadError || kind == WriteError) {
		if d.st.Disk > drbd.DInconsistent {
			d.setStateLocked(NSDisk(drbd.DInconsistent).Apply(d.st), CSHard, nil)
		}
		return
	}
	d.wasIOError = true
	if kind == ReadError {
		d.wasReadError = true
	}
	if kind == ForceDetach {
		d.forceDetach = true
	}
	if d.st.Disk > drbd.DFailed {
		d.setStateLocked(NSDisk(drbd.DFailed).Apply(d.st), CSHard, nil)
	}
}

// SetRole is drbd_set_role (the primary and secondary commands): up to
// four attempts at the role change with CS_WAIT_COMPLETE, upgrading the
// request on the way: with force an Inconsistent..Consistent disk is made
// UpToDate; a Consistent disk with an unknown peer, or SS_PRIMARY_NOP,
// asks the peer layer to outdate the peer (with force, SS_PRIMARY_NOP
// then marks the peer Outdated: split brain by request). Finally a
// verbose attempt decides.
//
// It first lets the worker finish the after-state work queued so far: that
// work may still send the peer a P_STATE of an older state (the one after
// the connection came up), which must reach the peer before the role
// change does, or the peer would take it for the state after the change.
// SetRole must not be called from the worker.
func (d *Device) SetRole(ctx context.Context, role drbd.Role, force bool) drbd.Reply {
	if err := d.barrier(ctx); err != nil {
		return srv(drbd.SSUnknownError)
	}
	d.adm.Lock()
	defer d.adm.Unlock()
	d.stateMutex.Lock()
	defer d.stateMutex.Unlock()

	const maxTries = 4
	ch := NSRole(role)
	pdskSet := false
	rv := drbd.SSUnknownError
	for try := 0; try < maxTries; try++ {
		rv = d.RequestState(ctx, ch, CSWaitComplete)
		cur := d.State()
		if rv == drbd.SSCWFailedByPeer && pdskSet {
			ch = Change{Mask: ch.Mask &^ drbd.MaskPdsk, Val: ch.Val &^ drbd.MaskPdsk}
			pdskSet = false
			continue
		}
		if rv == drbd.SSNoUpToDateDisk && force && cur.Disk < drbd.DUpToDate && cur.Disk >= drbd.DInconsistent {
			ch = ch.And(NSDisk(drbd.DUpToDate))
			continue
		}
		if rv == drbd.SSNoUpToDateDisk && cur.Disk == drbd.DConsistent && !pdskSet {
			if d.peer.TryOutdatePeer(ctx) {
				ch = ch.And(NSDisk(drbd.DUpToDate))
			}
			continue
		}
		if rv == drbd.SSNothingToDo {
			return srv(rv)
		}
		if rv == drbd.SSPrimaryNOP && !pdskSet {
			if !d.peer.TryOutdatePeer(ctx) && force {
				ch = ch.And(NSPdsk(drbd.DOutdated))
				pdskSet = true
			}
			continue
		}
		if rv == drbd.SSTwoPrimaries {
			// maybe the peer is detected as dead very soon: retry at
			// most once more, after (ping-timeout + 0.1 s)
			if try < maxTries-1 {
				try = maxTries - 2
				d.mu.Lock()
				wait := d.conf.PingTimeout + 100*time.Millisecond
				d.mu.Unlock()
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
				}
				t.Stop()
			}
			continue
		}
		if rv < drbd.SSSuccess {
			rv = d.RequestState(ctx, ch, CSVerbose|CSWaitComplete)
		}
		break
	}
	return srv(rv)
}

// simpleRequest is drbd_adm_simple_request_state: drbd_request_state
// (CS_VERBOSE | CS_ORDERED).
func (d *Device) simpleRequest(ctx context.Context, ch Change) drbd.Reply {
	d.adm.Lock()
	defer d.adm.Unlock()
	return srv(d.RequestState(ctx, ch, CSVerbose|CSOrdered))
}

// Outdate is drbd_adm_outdate: request disk Outdated.
func (d *Device) Outdate(ctx context.Context) drbd.Reply {
	return d.simpleRequest(ctx, NSDisk(drbd.DOutdated))
}

// SuspendIOAdmin is drbd_adm_suspend_io: request susp = 1.
func (d *Device) SuspendIOAdmin(ctx context.Context) drbd.Reply {
	return d.simpleRequest(ctx, NSSusp(true))
}

// ResumeIOAdmin is drbd_adm_resume_io: with IO suspended, request susp,
// susp_nod and susp_fen = 0. (The new-current-UUID and frozen-request
// handling belongs to the replication layer.)
func (d *Device) ResumeIOAdmin(ctx context.Context) drbd.Reply {
	d.adm.Lock()
	defer d.adm.Unlock()
	_ = d.SuspendIO(context.Background())
	rv := d.RequestState(ctx, NSSusp(false).And(NSSuspNod(false)).And(NSSuspFen(false)), CSVerbose|CSOrdered)
	d.ResumeIO()
	return srv(rv)
}

// Invalidate is drbd_adm_invalidate: ERR_NO_DISK without a local disk;
// with IO suspended, a StandAlone Secondary goes Inconsistent and
// setAllBits marks the whole bitmap out of sync (its failure gives
// ERR_IO_MD_DISK); otherwise a full sync as target is requested
// (conn StartingSyncT).
func (d *Device) Invalidate(ctx context.Context, setAllBits func() error) drbd.Reply {
	d.adm.Lock()
	defer d.adm.Unlock()
	if !d.GetLdev() {
		return rc(drbd.ErrNoDisk)
	}
	defer d.PutLdev()
	_ = d.SuspendIO(context.Background())
	defer d.ResumeIO()
	cur := d.State()
	if cur.Conn == drbd.CStandAlone && cur.Role == drbd.RSecondary {
		rv := d.RequestState(ctx, NSDisk(drbd.DInconsistent), CSVerbose|CSOrdered)
		if rv >= drbd.SSSuccess && setAllBits != nil && setAllBits() != nil {
			return rc(drbd.ErrIOMDDisk)
		}
		return srv(rv)
	}
	return srv(d.RequestState(ctx, NSConn(drbd.CStartingSyncT), CSVerbose|CSOrdered))
}

// InvalidateRemote is drbd_adm_invalidate_peer: with IO suspended, a full
// sync as source is requested (conn StartingSyncS); a Primary without a
// connection instead marks the peer's disk Inconsistent and setAllBits
// the whole bitmap out of sync, so the next connect does a full sync.
func (d *Device) InvalidateRemote(ctx context.Context, setAllBits func() error) drbd.Reply {
	d.adm.Lock()
	defer d.adm.Unlock()
	if !d.GetLdev() {
		return rc(drbd.ErrNoDisk)
	}
	defer d.PutLdev()
	_ = d.SuspendIO(context.Background())
	defer d.ResumeIO()
	rv := d.RequestState(ctx, NSConn(drbd.CStartingSyncS), CSOrdered)
	if rv < drbd.SSSuccess {
		if rv == drbd.SSNeedConnection && d.State().Role == drbd.RPrimary {
			rv = d.RequestState(ctx, NSPdsk(drbd.DInconsistent), CSVerbose)
			if rv >= drbd.SSSuccess && setAllBits != nil && setAllBits() != nil {
				return rc(drbd.ErrIOMDDisk)
			}
		} else {
			rv = d.RequestState(ctx, NSConn(drbd.CStartingSyncS), CSVerbose)
		}
	}
	return srv(rv)
}
