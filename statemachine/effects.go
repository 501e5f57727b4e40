package statemachine

import "udrbd/drbd"

// EffectKind names one piece of after-state-change work.
type EffectKind int

const (
	// EffHelper runs a usermode helper (Effect.Helper: "local-io-error",
	// "pri-on-incon-degr").
	EffHelper EffectKind = iota + 1
	// EffSendState sends our state to the peer (drbd_send_state).
	EffSendState
	// EffSendUUIDs sends the UUIDs to the peer.
	EffSendUUIDs
	// EffSendSizes sends the sizes to the peer.
	EffSendSizes
	// EffMDSync writes the meta-data superblock if dirty (drbd_md_sync);
	// with Effect.FullSync it first sets MDF_FULL_SYNC.
	EffMDSync
	// EffBitmapWrite writes out changed bitmap pages (Effect.Reason).
	EffBitmapWrite
	// EffAbortDiskIO completes pending local IO to the upper layers
	// immediately (tl_abort_disk_io, only after a forced detach).
	EffAbortDiskIO
	// EffCancelResync cancels resync extent locks (drbd_rs_cancel_all).
	EffCancelResync
	// EffDestroyLdev closes and frees the backing device (Effect.Ldev)
	// once the last local reference dropped while Diskless
	// (drbd_ldev_destroy).
	EffDestroyLdev
	// effPutLdev drops the extra local reference _drbd_set_state took on
	// entering Failed or Diskless. Internal: the device runs it itself.
	effPutLdev
)

var effectNames = [...]string{"", "helper", "send-state", "send-uuids", "send-sizes", "md-sync",
	"bitmap-write", "abort-disk-io", "cancel-resync", "destroy-ldev", "put-ldev"}

func (k EffectKind) String() string { return effectNames[k] }

// Effect is one step of after-state-change work, as a value. The device's
// worker goroutine runs a change's effects in order, handing all but the
// internal ones to the Executor.
type Effect struct {
	Kind     EffectKind
	Helper   string     // EffHelper
	Reason   string     // EffBitmapWrite
	FullSync bool       // EffMDSync
	State    drbd.State // EffSendState: the state to send
	Ldev     any        // EffDestroyLdev
}

// AfterInputs are the device facts after_state_ch reads besides the states.
type AfterInputs struct {
	HaveLdev    bool               // device->ldev != NULL
	OnIOError   drbd.IOErrorPolicy // disk_conf on-io-error
	WasIOError  bool               // test_and_clear_bit(WAS_IO_ERROR)
	ForceDetach bool               // test_and_clear_bit(FORCE_DETACH)
}

// AfterStateChange is the local-disk and role part of drbd_state.c
// after_state_ch as a pure function: the effects of the committed change
// os -> ns, in the kernel's order. (Resync, UUID and susp_* handling belong
// to the replication layer and are not produced here.)
func AfterStateChange(os, ns drbd.State, in AfterInputs) []Effect {
	var out []Effect
	// A1: became Primary without access to UpToDate data.
	if !(os.Role == drbd.RPrimary && os.Disk < drbd.DUpToDate && os.Pdsk < drbd.DUpToDate) &&
		(ns.Role == drbd.RPrimary && ns.Disk < drbd.DUpToDate && ns.Pdsk < drbd.DUpToDate) {
		out = append(out, Effect{Kind: EffHelper, Helper: "pri-on-incon-degr"})
	}
	// A2: the peer attached.
	if os.Pdsk == drbd.DDiskless && ns.Pdsk > drbd.DDiskless && ns.Pdsk != drbd.DUnknown {
		out = append(out, Effect{Kind: EffCancelResync}, Effect{Kind: EffSendUUIDs},
			Effect{Kind: EffSendState, State: ns})
	}
	// A3: demotion writes out the bitmap (needs a disk >= Inconsistent).
	if os.Role == drbd.RPrimary && ns.Role == drbd.RSecondary && ns.Conn <= drbd.CConnected &&
		ns.Disk >= drbd.DInconsistent {
		out = append(out, Effect{Kind: EffBitmapWrite, Reason: "demote"})
	}
	// A4: last part of attaching while connected.
	if ns.Conn >= drbd.CConnected && os.Disk == drbd.DAttaching && ns.Disk == drbd.DNegotiating {
		out = append(out, Effect{Kind: EffSendSizes}, Effect{Kind: EffSendUUIDs},
			Effect{Kind: EffSendState, State: ns})
	}
	// A5: first half of an IO error, failed attach or admin detach.
	if os.Disk != drbd.DFailed && ns.Disk == drbd.DFailed {
		if in.HaveLdev {
			if in.WasIOError && in.OnIOError == drbd.EPCallHelper {
				out = append(out, Effect{Kind: EffHelper, Helper: "local-io-error"})
			}
			if in.ForceDetach {
				out = append(out, Effect{Kind: EffAbortDiskIO})
			}
			if ns.Conn >= drbd.CConnected {
				out = append(out, Effect{Kind: EffSendState, State: ns})
			}
			out = append(out, Effect{Kind: EffCancelResync}, Effect{Kind: EffMDSync})
		}
		out = append(out, Effect{Kind: effPutLdev})
	}
	// A6: second half, after the references drained.
	if os.Disk != drbd.DDiskless && ns.Disk == drbd.DDiskless {
		if ns.Conn >= drbd.CConnected {
			out = append(out, Effect{Kind: EffSendState, State: ns})
		}
		out = append(out, Effect{Kind: effPutLdev})
	}
	// A7: a local IO error with pass_on, tell the peer.
	if os.Disk == drbd.DUpToDate && ns.Disk == drbd.DInconsistent && ns.Conn >= drbd.CConnected {
		out = append(out, Effect{Kind: EffSendState, State: ns})
	}
	// A8
	out = append(out, Effect{Kind: EffMDSync})
	return out
}
