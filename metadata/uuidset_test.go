package metadata

import "testing"

// TestUUIDSetMatchesSuperblock runs every rotation on a bare UUIDSet and on
// a Superblock holding the same UUIDs: both must end equal, with the same
// warning, and the original set (a value) must be untouched.
func TestUUIDSetMatchesSuperblock(t *testing.T) {
	type op struct {
		name string
		set  func(*UUIDSet) bool
		sb   func(*Superblock) bool
	}
	ops := []op{
		{"move history", func(u *UUIDSet) bool { u.MoveHistory(); return false }, func(s *Superblock) bool { s.MoveHistory(); return false }},
		{"set raw current primary", func(u *UUIDSet) bool { u.SetRaw(UICurrent, 0x70, true); return false }, func(s *Superblock) bool { s.SetUUIDRaw(UICurrent, 0x70, true); return false }},
		{"set raw bitmap keeps bit 0", func(u *UUIDSet) bool { u.SetRaw(UIBitmap, 0x71, false); return false }, func(s *Superblock) bool { s.SetUUIDRaw(UIBitmap, 0x71, false); return false }},
		{"set bitmap pushes history", func(u *UUIDSet) bool { u.Set(UIBitmap, 0x81, false); return false }, func(s *Superblock) bool { s.SetUUID(UIBitmap, 0x81, false); return false }},
		{"new current", func(u *UUIDSet) bool { return u.NewCurrent(0x90, true) }, func(s *Superblock) bool { return s.NewCurrent(0x90, true) }},
		{"set bm 0", func(u *UUIDSet) bool { return u.SetBitmap(0) }, func(s *Superblock) bool { return s.SetBitmapUUID(0) }},
		{"set bm", func(u *UUIDSet) bool { return u.SetBitmap(0xA1) }, func(s *Superblock) bool { return s.SetBitmapUUID(0xA1) }},
	}
	starts := []UUIDSet{{0x11, 0, 0, 0}, {0x11, 0x23, 0x33, 0x44}, {0, 0, 0xA, 0xB}}
	for _, o := range ops {
		for _, start := range starts {
			u := start
			warnU := o.set(&u)
			s := Superblock{UUID: start}
			warnS := o.sb(&s)
			if UUIDSet(s.UUID) != u || warnU != warnS {
				t.Errorf("%s on %x: set %x warn %v, superblock %x warn %v", o.name, start, u, warnU, s.UUID, warnS)
			}
		}
	}
}

func TestUUIDSetRotation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start UUIDSet
		op    func(*UUIDSet)
		want  UUIDSet
	}{
		// drbd_uuid_new_current copies the current UUID as it is, bit 0
		// ("was primary") included, into the bitmap slot.
		{"new current keeps the primary bit in the bitmap UUID", UUIDSet{0x11, 0, 0xA, 0xB}, func(u *UUIDSet) { u.NewCurrent(0x20, true) }, UUIDSet{0x21, 0x11, 0xA, 0xB}},
		// drbd_uuid_set on a non-current slot stores the value as it is.
		{"set bitmap stores bit 0", UUIDSet{0x10, 0x31, 0xA, 0xB}, func(u *UUIDSet) { u.Set(UIBitmap, 0x41, false) }, UUIDSet{0x10, 0x41, 0x31, 0xA}},
		{"set empty bitmap keeps history", UUIDSet{0x10, 0, 0xA, 0xB}, func(u *UUIDSet) { u.Set(UIBitmap, 0x40, false) }, UUIDSet{0x10, 0x40, 0xA, 0xB}},
	} {
		u := tc.start
		tc.op(&u)
		if u != tc.want {
			t.Errorf("%s: %x, want %x", tc.name, u, tc.want)
		}
	}
}
