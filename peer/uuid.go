package peer

import (
	"fmt"

	"udrbd/drbd"
	"udrbd/metadata"
)

// UUIDNewBMOffset is added to the bitmap UUID when a SyncSource starts a
// resync (drbd_int.h UUID_NEW_BM_OFFSET); rules 51 and 71 recognise a
// bumped bitmap UUID by it.
const UUIDNewBMOffset uint64 = 1 << 48

// Bits of p_uuid[UI_FLAGS] as _drbd_send_uuids sets them.
const (
	FlagDiscardMyData   uint64 = 1 // net option discard-my-data
	FlagCrashedPrimary  uint64 = 2 // CRASHED_PRIMARY: was primary when it went away
	FlagInconsistent    uint64 = 4 // new_state_tmp.disk == D_INCONSISTENT (late attach)
	FlagSkipInitialSync uint64 = 8 // drbd_send_uuids_skip_initial_sync (new-current-uuid --clear-bitmap)
)

// Side is one node as the sync decision sees it: its UUID set and the
// UI_SIZE and UI_FLAGS words of P_UUIDS, its role and its disk state.
//
// For the local side, Bits is comm_bm_set (the bitmap weight sent in the
// last P_UUIDS; the kernel also logs the current weight with it), Flags
// holds the local device's DISCARD_MY_DATA (FlagDiscardMyData) and
// CRASHED_PRIMARY (FlagCrashedPrimary) bits, which are the bits the node
// sends, and Disk is device->state.disk. For the peer, the words are
// p_uuid[UI_SIZE] and p_uuid[UI_FLAGS], Role is peer_state.role and Disk
// is the real peer disk (RealPeerDisk).
type Side struct {
	UUIDs metadata.UUIDSet
	Bits  uint64
	Flags uint64
	Role  drbd.Role
	Disk  drbd.DiskState
}

// UUIDFlags is the UI_FLAGS word a node sends in P_UUIDS (_drbd_send_uuids):
// discard-my-data, CRASHED_PRIMARY, a late attach towards D_INCONSISTENT
// (newDisk is new_state_tmp.disk), and skip-initial-sync.
func UUIDFlags(discardMyData, crashedPrimary bool, newDisk drbd.DiskState, skipInitialSync bool) uint64 {
	var f uint64
	if discardMyData {
		f |= FlagDiscardMyData
	}
	if crashedPrimary {
		f |= FlagCrashedPrimary
	}
	if newDisk == drbd.DInconsistent {
		f |= FlagInconsistent
	}
	if skipInitialSync {
		f |= FlagSkipInitialSync
	}
	return f
}

// RealPeerDisk is the peer disk state receive_state hands to the sync
// handshake: a peer still negotiating its attach counts as Inconsistent or
// Consistent according to FlagInconsistent of its UUID flags (the kernel
// logs "real peer disk state = %s").
func RealPeerDisk(peerDisk drbd.DiskState, peerFlags uint64) drbd.DiskState {
	if peerDisk != drbd.DNegotiating {
		return peerDisk
	}
	if peerFlags&FlagInconsistent != 0 {
		return drbd.DInconsistent
	}
	return drbd.DConsistent
}

// ConvertAfterSB maps the peer's after-sb policy to this node's point of
// view (receive_protocol's convert_after_sb): discard-remote there is
// discard-local here and vice versa; the rest must be equal on both sides.
func ConvertAfterSB(p drbd.AfterSBPolicy) drbd.AfterSBPolicy {
	switch p {
	case drbd.ASBDiscardRemote:
		return drbd.ASBDiscardLocal
	case drbd.ASBDiscardLocal:
		return drbd.ASBDiscardRemote
	}
	return p
}

// DumpUUIDs is the line drbd_uuid_dump logs: text, the four UUIDs, the
// bit count and the flags.
func DumpUUIDs(text string, u metadata.UUIDSet, bits, flags uint64) string {
	return fmt.Sprintf("%s %016X:%016X:%016X:%016X bits:%d flags:%X",
		text, u[metadata.UICurrent], u[metadata.UIBitmap],
		u[metadata.UIHistoryStart], u[metadata.UIHistoryEnd], bits, flags)
}

// PrintUUIDs is the line drbd_print_uuids logs for an attached disk.
func PrintUUIDs(text string, u metadata.UUIDSet) string {
	return fmt.Sprintf("%s %016X:%016X:%016X:%016X",
		text, u[metadata.UICurrent], u[metadata.UIBitmap],
		u[metadata.UIHistoryStart], u[metadata.UIHistoryEnd])
}
