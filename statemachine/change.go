package statemachine

import "udrbd/drbd"

// ChgFlags is enum chg_state_flags (drbd_state.h).
type ChgFlags uint32

const (
	CSHard         ChgFlags = 1 << 0                       // CS_HARD: skip validity checks (not is_valid_transition)
	CSVerbose      ChgFlags = 1 << 1                       // CS_VERBOSE: report refusals
	CSWaitComplete ChgFlags = 1 << 2                       // CS_WAIT_COMPLETE: wait for the after-state work
	CSSerialize    ChgFlags = 1 << 3                       // CS_SERIALIZE: hold the state mutex
	CSOrdered               = CSWaitComplete | CSSerialize // CS_ORDERED
	CSLocalOnly    ChgFlags = 1 << 4                       // CS_LOCAL_ONLY
	CSInhibitMDIO  ChgFlags = 1 << 12                      // CS_INHIBIT_MD_IO
)

// Change is a requested change as the kernel's (mask, val) pair over the
// packed state word: new = (old &^ Mask) | Val. This is also exactly what
// P_STATE_CHG_REQ carries.
type Change struct{ Mask, Val uint32 }

// Apply is apply_mask_val.
func (c Change) Apply(s drbd.State) drbd.State { return drbd.Unpack(s.Pack()&^c.Mask | c.Val) }

// And combines two changes (the later one wins on overlapping fields).
func (c Change) And(o Change) Change {
	return Change{Mask: c.Mask | o.Mask, Val: c.Val&^o.Mask | o.Val}
}

func field(mask uint32, shift int, v uint32) Change {
	return Change{Mask: mask, Val: v << shift & mask}
}

func bit(mask uint32, shift int, b bool) Change {
	if b {
		return field(mask, shift, 1)
	}
	return field(mask, shift, 0)
}

// NSRole and friends are the kernel's NS(field, value) for each field.
func NSRole(r drbd.Role) Change      { return field(drbd.MaskRole, drbd.ShiftRole, uint32(r)) }
func NSPeer(r drbd.Role) Change      { return field(drbd.MaskPeer, drbd.ShiftPeer, uint32(r)) }
func NSConn(c drbd.ConnState) Change { return field(drbd.MaskConn, drbd.ShiftConn, uint32(c)) }
func NSDisk(d drbd.DiskState) Change { return field(drbd.MaskDisk, drbd.ShiftDisk, uint32(d)) }
func NSPdsk(d drbd.DiskState) Change { return field(drbd.MaskPdsk, drbd.ShiftPdsk, uint32(d)) }
func NSSusp(b bool) Change           { return bit(drbd.MaskSusp, drbd.ShiftSusp, b) }
func NSSuspNod(b bool) Change        { return bit(drbd.MaskSuspNod, drbd.ShiftSuspNod, b) }
func NSSuspFen(b bool) Change        { return bit(drbd.MaskSuspFen, drbd.ShiftSuspFen, b) }
func NSUserIsp(b bool) Change        { return bit(drbd.MaskUserIsp, drbd.ShiftUserIsp, b) }
func NSAftrIsp(b bool) Change        { return bit(drbd.MaskAftrIsp, drbd.ShiftAftrIsp, b) }
func NSPeerIsp(b bool) Change        { return bit(drbd.MaskPeerIsp, drbd.ShiftPeerIsp, b) }
