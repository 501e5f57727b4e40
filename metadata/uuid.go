package metadata

// UUID rotation, as drbd_main.c does it on the in-core copy of the
// superblock's UUID set (drbd_uuid_move_history, _drbd_uuid_set,
// drbd_uuid_set, drbd_uuid_new_current, drbd_uuid_set_bm). Callers hold
// whatever lock protects the Superblock and write it out afterwards.

// MoveHistory shifts the history UUIDs one slot older; the oldest is lost
// and history[0] keeps its value (drbd_uuid_move_history).
func (s *Superblock) MoveHistory() {
	for i := UIHistoryStart; i < UIHistoryEnd; i++ {
		s.UUID[i+1] = s.UUID[i]
	}
}

// SetUUIDRaw stores val in slot idx without touching the history. For the
// current UUID the lowest bit records the role: set when primary, clear
// otherwise (_drbd_uuid_set).
func (s *Superblock) SetUUIDRaw(idx int, val uint64, primary bool) {
	if idx == UICurrent {
		if primary {
			val |= 1
		} else {
			val &^= 1
		}
	}
	s.UUID[idx] = val
}

// SetUUID stores val in slot idx; a non-zero previous value of that slot is
// first pushed into the history (drbd_uuid_set).
func (s *Superblock) SetUUID(idx int, val uint64, primary bool) {
	if s.UUID[idx] != 0 {
		s.MoveHistory()
		s.UUID[UIHistoryStart] = s.UUID[idx]
	}
	s.SetUUIDRaw(idx, val, primary)
}

// NewCurrent rotates the current UUID into the bitmap slot and makes val the
// new current UUID (drbd_uuid_new_current; the kernel draws val from
// get_random_bytes). It reports whether the bitmap UUID was already set,
// which the kernel warns about ("bm UUID was already set").
func (s *Superblock) NewCurrent(val uint64, primary bool) (bmWasSet bool) {
	bmWasSet = s.UUID[UIBitmap] != 0
	s.UUID[UIBitmap] = s.UUID[UICurrent]
	s.SetUUIDRaw(UICurrent, val, primary)
	return bmWasSet
}

// SetBitmapUUID sets the bitmap UUID (drbd_uuid_set_bm). Zero retires the
// old bitmap UUID into the history; a non-zero value is stored with its
// lowest bit cleared. It reports whether a non-zero value replaced an
// already set bitmap UUID (the kernel's "bm UUID was already set" warning).
func (s *Superblock) SetBitmapUUID(val uint64) (bmWasSet bool) {
	if s.UUID[UIBitmap] == 0 && val == 0 {
		return false
	}
	if val == 0 {
		s.MoveHistory()
		s.UUID[UIHistoryStart] = s.UUID[UIBitmap]
		s.UUID[UIBitmap] = 0
		return false
	}
	bmWasSet = s.UUID[UIBitmap] != 0
	s.UUID[UIBitmap] = val &^ 1
	return bmWasSet
}

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
