package peer

import "udrbd/metadata"

// The UUID updates around a resync. Bitmap-based and full resyncs update
// the UUIDs alike; an online verify does not touch them.

// GenSyncUUID is the SyncSource's UUID bump before it sends P_SYNC_UUID
// (drbd_gen_and_send_sync_uuid, called by drbd_start_resync below protocol
// 96 and on entering SyncSource from 96 on): the bitmap UUID plus
// UUIDNewBMOffset, or random when the bitmap UUID is 0 or
// UUID_JUST_CREATED, becomes the bitmap UUID, the old one moving into the
// history (drbd_uuid_set). It returns the new set, to be written to disk
// before sending (the kernel logs PrintUUIDs("updated sync UUID", next)),
// and the UUID to send.
func GenSyncUUID(u metadata.UUIDSet, random uint64) (next metadata.UUIDSet, syncUUID uint64) {
	syncUUID = u[metadata.UIBitmap]
	if syncUUID != 0 && syncUUID != metadata.UUIDJustCreated {
		syncUUID += UUIDNewBMOffset
	} else {
		syncUUID = random
	}
	next = u
	next.Set(metadata.UIBitmap, syncUUID, false)
	return next, syncUUID
}

// ReceiveSyncUUID is what the SyncTarget does on P_SYNC_UUID
// (receive_sync_uuid): the received UUID becomes the current UUID, bit 0
// set if primary, and the bitmap UUID is cleared, neither going through the
// history (_drbd_uuid_set). The kernel then logs PrintUUIDs("updated sync
// uuid", next) and starts the resync as SyncTarget.
func ReceiveSyncUUID(u metadata.UUIDSet, syncUUID uint64, primary bool) (next metadata.UUIDSet) {
	next = u
	next.SetRaw(metadata.UICurrent, syncUUID, primary)
	next.SetRaw(metadata.UIBitmap, 0, primary)
	return next
}

// FinishResyncAsSource is the UUID part of drbd_resync_finished on the
// SyncSource when no block failed: the bitmap UUID retires into the
// history (drbd_uuid_set_bm(0)). It returns the new local set, logged as
// PrintUUIDs("updated UUIDs", self), and the new copy of the peer's set,
// which now equals it.
func FinishResyncAsSource(u metadata.UUIDSet) (self, peer metadata.UUIDSet) {
	self = u
	self.SetBitmap(0)
	return self, self
}

// FinishResyncAsTarget is the UUID part of drbd_resync_finished on the
// SyncTarget when no block failed: it takes the peer's bitmap and history
// UUIDs (as received in P_UUIDS at the handshake), pushes its own current
// UUID (the sync UUID) into the bitmap slot through the history, takes the
// peer's current UUID (bit 0 by its own role), and retires the bitmap UUID
// into the history (drbd_uuid_set_bm(0)). It returns the new local set and
// the new copy of the peer's set, which now equals it.
func FinishResyncAsTarget(u, peerUUIDs metadata.UUIDSet, primary bool) (self, peer metadata.UUIDSet) {
	self = u
	for i := metadata.UIBitmap; i <= metadata.UIHistoryEnd; i++ {
		self.SetRaw(i, peerUUIDs[i], primary)
	}
	self.Set(metadata.UIBitmap, self[metadata.UICurrent], primary)
	self.SetRaw(metadata.UICurrent, peerUUIDs[metadata.UICurrent], primary)
	self.SetBitmap(0)
	return self, self
}

// SkipInitialSync reports whether receive_uuids takes the peer's current
// UUID instead of an initial full sync: connected, protocol 90 or later,
// the local current UUID exactly UUID_JUST_CREATED, and the peer sent
// FlagSkipInitialSync (it ran new-current-uuid --clear-bitmap while
// connected). The kernel then logs "Accepted new current UUID, preparing
// to skip initial sync", clears the bitmap ("clear_n_write from
// receive_uuids"), applies AcceptPeerCurrent and makes both disks
// UpToDate.
func SkipInitialSync(connected bool, agreedVersion int, u metadata.UUIDSet, peerFlags uint64) bool {
	return connected && agreedVersion >= 90 && u[metadata.UICurrent] == metadata.UUIDJustCreated &&
		peerFlags&FlagSkipInitialSync != 0
}

// AcceptPeerCurrent is the UUID part of skipping the initial sync: the
// peer's current UUID becomes the local one (bit 0 by the local role) and
// the bitmap UUID is cleared, neither through the history
// (_drbd_uuid_set).
func AcceptPeerCurrent(u metadata.UUIDSet, peerCurrent uint64, primary bool) (next metadata.UUIDSet) {
	next = u
	next.SetRaw(metadata.UICurrent, peerCurrent, primary)
	next.SetRaw(metadata.UIBitmap, 0, primary)
	return next
}
