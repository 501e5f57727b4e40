package metadata

// UUID rotation, as drbd_main.c does it on the in-core copy of the
// superblock's UUID set (drbd_uuid_move_history, _drbd_uuid_set,
// drbd_uuid_set, drbd_uuid_new_current, drbd_uuid_set_bm). Callers hold
// whatever lock protects the Superblock and write it out afterwards.
//
// The operations are defined on UUIDSet, a plain value (copy it to keep
// the old set), so the replication protocol can apply them to the peer's
// set as well; the Superblock methods apply them to Superblock.UUID.

// UUIDSet is the data-generation UUID set: current, bitmap, history[0],
// history[1] (indexed by UICurrent, UIBitmap, UIHistoryStart,
// UIHistoryEnd), as it is stored in the superblock and sent in P_UUIDS.
// Bit 0 of a UUID records that the node was primary when it was set; the
// comparisons mask it.
type UUIDSet [UISize]uint64

// Current returns the current data-generation UUID.
func (u *UUIDSet) Current() uint64 { return u[UICurrent] }

// Bitmap returns the bitmap UUID.
func (u *UUIDSet) Bitmap() uint64 { return u[UIBitmap] }

// MoveHistory shifts the history UUIDs one slot older; the oldest is lost
// and history[0] keeps its value (drbd_uuid_move_history).
func (u *UUIDSet) MoveHistory() {
	for i := UIHistoryStart; i < UIHistoryEnd; i++ {
		u[i+1] = u[i]
	}
}

// SetRaw stores val in slot idx without touching the history. For the
// current UUID the lowest bit records the role: set when primary, clear
// otherwise; other slots store val as it is (_drbd_uuid_set).
func (u *UUIDSet) SetRaw(idx int, val uint64, primary bool) {
	if idx == UICurrent {
		if primary {
			val |= 1
		} else {
			val &^= 1
		}
	}
	u[idx] = val
}

// Set stores val in slot idx; a non-zero previous value of that slot is
// first pushed into the history (drbd_uuid_set).
func (u *UUIDSet) Set(idx int, val uint64, primary bool) {
	if u[idx] != 0 {
		u.MoveHistory()
		u[UIHistoryStart] = u[idx]
	}
	u.SetRaw(idx, val, primary)
}

// NewCurrent rotates the current UUID, as it is (bit 0 included), into the
// bitmap slot and makes val the new current UUID (drbd_uuid_new_current;
// the kernel draws val from get_random_bytes). It reports whether the
// bitmap UUID was already set, which the kernel warns about ("bm UUID was
// already set: %llX").
func (u *UUIDSet) NewCurrent(val uint64, primary bool) (bmWasSet bool) {
	bmWasSet = u[UIBitmap] != 0
	u[UIBitmap] = u[UICurrent]
	u.SetRaw(UICurrent, val, primary)
	return bmWasSet
}

// SetBitmap sets the bitmap UUID (drbd_uuid_set_bm). Zero retires the old
// bitmap UUID into the history; a non-zero value is stored with its lowest
// bit cleared. It reports whether a non-zero value replaced an already set
// bitmap UUID (the kernel's "bm UUID was already set" warning).
func (u *UUIDSet) SetBitmap(val uint64) (bmWasSet bool) {
	if u[UIBitmap] == 0 && val == 0 {
		return false
	}
	if val == 0 {
		u.MoveHistory()
		u[UIHistoryStart] = u[UIBitmap]
		u[UIBitmap] = 0
		return false
	}
	bmWasSet = u[UIBitmap] != 0
	u[UIBitmap] = val &^ 1
	return bmWasSet
}

func (s *Superblock) uuids() *UUIDSet { return (*UUIDSet)(&s.UUID) }

// MoveHistory is UUIDSet.MoveHistory on the superblock's UUIDs.
func (s *Superblock) MoveHistory() { s.uuids().MoveHistory() }

// SetUUIDRaw is UUIDSet.SetRaw on the superblock's UUIDs (_drbd_uuid_set).
func (s *Superblock) SetUUIDRaw(idx int, val uint64, primary bool) {
	s.uuids().SetRaw(idx, val, primary)
}

// SetUUID is UUIDSet.Set on the superblock's UUIDs (drbd_uuid_set).
func (s *Superblock) SetUUID(idx int, val uint64, primary bool) { s.uuids().Set(idx, val, primary) }

// NewCurrent is UUIDSet.NewCurrent on the superblock's UUIDs
// (drbd_uuid_new_current).
func (s *Superblock) NewCurrent(val uint64, primary bool) (bmWasSet bool) {
	return s.uuids().NewCurrent(val, primary)
}

// SetBitmapUUID is UUIDSet.SetBitmap on the superblock's UUIDs
// (drbd_uuid_set_bm).
func (s *Superblock) SetBitmapUUID(val uint64) (bmWasSet bool) { return s.uuids().SetBitmap(val) }

// Outdate clears MDF_WAS_UP_TO_DATE, as drbdmeta outdate does. It reports
// false, changing nothing, if the data is not consistent (drbdmeta then
// says "Device is inconsistent." and exits 5).
func (s *Superblock) Outdate() bool {
	if s.Flags&FlagConsistent == 0 {
		return false
	}
	s.Flags &^= FlagWasUpToDate
	return true
}
