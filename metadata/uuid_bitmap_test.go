package metadata

import (
	"errors"
	"strings"
	"testing"
)

func TestUUIDRotation(t *testing.T) {
	type u = [UISize]uint64
	for _, tc := range []struct {
		name   string
		start  u
		op     func(*Superblock) bool
		want   u
		wantOK bool
	}{
		{"new current as primary", u{0x10, 0, 0xA, 0xB}, func(s *Superblock) bool { return s.NewCurrent(0x2222, true) }, u{0x2223, 0x10, 0xA, 0xB}, false},
		{"new current as secondary clears bit 0", u{0x10, 0, 0, 0}, func(s *Superblock) bool { return s.NewCurrent(0x2223, false) }, u{0x2222, 0x10, 0, 0}, false},
		{"new current with bitmap set warns", u{0x10, 0x20, 0, 0}, func(s *Superblock) bool { return s.NewCurrent(0x30, false) }, u{0x30, 0x10, 0, 0}, true},
		{"set bm zero retires into history", u{0x10, 0x20, 0xA, 0xB}, func(s *Superblock) bool { return s.SetBitmapUUID(0) }, u{0x10, 0, 0x20, 0xA}, false},
		{"set bm zero when zero is a no-op", u{0x10, 0, 0xA, 0xB}, func(s *Superblock) bool { return s.SetBitmapUUID(0) }, u{0x10, 0, 0xA, 0xB}, false},
		{"set bm clears bit 0", u{0x10, 0, 0, 0}, func(s *Superblock) bool { return s.SetBitmapUUID(0x31) }, u{0x10, 0x30, 0, 0}, false},
		{"set bm over set bm warns", u{0x10, 0x40, 0, 0}, func(s *Superblock) bool { return s.SetBitmapUUID(0x50) }, u{0x10, 0x50, 0, 0}, true},
		{"set current pushes old into history", u{0x10, 0, 0xA, 0xB}, func(s *Superblock) bool { s.SetUUID(UICurrent, 0x60, false); return false }, u{0x60, 0, 0x10, 0xA}, false},
		{"set from zero keeps history", u{0, 0, 0xA, 0xB}, func(s *Superblock) bool { s.SetUUID(UICurrent, 0x61, true); return false }, u{0x61, 0, 0xA, 0xB}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Superblock{UUID: tc.start}
			if got := tc.op(&s); got != tc.wantOK {
				t.Errorf("warning = %v, want %v", got, tc.wantOK)
			}
			if s.UUID != tc.want {
				t.Errorf("uuids = %x, want %x", s.UUID, tc.want)
			}
		})
	}
}

func TestOutdate(t *testing.T) {
	s := Superblock{Flags: FlagConsistent | FlagWasUpToDate | FlagALClean}
	if !s.Outdate() || s.Flags != FlagConsistent|FlagALClean {
		t.Errorf("outdate consistent: %v", s.Flags)
	}
	s = Superblock{Flags: FlagWasUpToDate}
	if s.Outdate() || s.Flags != FlagWasUpToDate {
		t.Errorf("outdate inconsistent changed flags: %v", s.Flags)
	}
}

func TestFlagsString(t *testing.T) {
	if got := (FlagConsistent | FlagALClean | 1<<20).String(); got != "Consistent|ALClean|0x00100000" {
		t.Errorf("String = %q", got)
	}
}

func TestBitmap(t *testing.T) {
	bm := make(Bitmap, 20)
	bm.Set(0)
	bm.Set(65)
	bm.Set(64 * 20) // beyond: ignored
	if !bm.Test(65) || bm.Test(64) || bm.Test(64*20) || bm.Count() != 2 {
		t.Errorf("set/test/count wrong: %x", bm[:2])
	}
	b := bm.Encode()
	// little endian: bit 0 is the lowest bit of byte 0, bit 65 is bit 1 of byte 8
	if b[0] != 1 || b[8] != 2 {
		t.Errorf("byte image % x", b[:16])
	}
	if d := DecodeBitmap(b); d.Count() != 2 || !d.Test(65) {
		t.Error("decode")
	}
	bm.Clear(0)
	if bm.Test(0) {
		t.Error("clear")
	}
	// extent 1 = words 16..31; only 16..19 exist
	if added := bm.SetALExtent(1); added != 4*64 {
		t.Errorf("SetALExtent(1) added %d", added)
	}
	if added := bm.SetALExtent(0); added != 16*64-1 {
		t.Errorf("SetALExtent(0) added %d (bit 65 was set)", added)
	}
	if BitOfSector(8) != 1 || BitOfSector(7) != 0 {
		t.Error("BitOfSector")
	}
}

func TestCheckAttach(t *testing.T) {
	l, _ := NewLayout(IndexInternal, 80<<20, 1, 8)
	good := NewSuperblock(l)
	sect := uint64(80 << 11)
	for _, tc := range []struct {
		name string
		mod  func(*Superblock)
		want error
		msg  string
	}{
		{"fresh", func(*Superblock) {}, nil, ""},
		{"unclean magic", func(s *Superblock) { s.Magic = MagicMD84Unclean }, ErrUnclean, ""},
		{"AL not clean", func(s *Superblock) { s.Flags &^= FlagALClean }, ErrUnclean, ""},
		{"07 magic", func(s *Superblock) { s.Magic = MagicMD07 }, ErrOldMagic, ""},
		{"no magic", func(s *Superblock) { s.Magic = 0 }, ErrMagicNotFound, ""},
		{"bm bytes per bit", func(s *Superblock) { s.BMBytesPerBit = 8192 }, nil, "unexpected bm_bytes_per_bit"},
		{"striping", func(s *Superblock) { s.ALStripes = 0 }, nil, "invalid activity log striping"},
		{"AL size vs offsets", func(s *Superblock) { s.ALStripes = 2 }, nil, "offsets don't make sense"},
		{"la_size too big for bitmap", func(s *Superblock) { s.LaSizeSect = 1 << 40 }, nil, "offsets don't make sense"},
		{"unaligned bm_offset", func(s *Superblock) { s.BMOffset-- }, nil, "offsets don't make sense"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.mod(&s)
			err := s.CheckAttach(IndexInternal, sect)
			switch {
			case tc.want != nil:
				if !errors.Is(err, tc.want) {
					t.Errorf("err = %v, want %v", err, tc.want)
				}
			case tc.msg != "":
				if err == nil || !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("err = %v, want %q", err, tc.msg)
				}
			default:
				if err != nil {
					t.Errorf("err = %v", err)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	l, _ := NewLayout(IndexInternal, 80<<20, 1, 8)
	s := NewSuperblock(l)
	if err := s.Validate(IndexFlexInt, 80<<20); err != nil {
		t.Fatal(err)
	}
	// the same meta-data on a grown device is not where the layout expects it
	if err := s.Validate(IndexFlexInt, 200<<20); err == nil {
		t.Error("valid on a resized device")
	}
	s.ALOffset = -8
	if err := s.Validate(IndexFlexInt, 80<<20); err == nil || !strings.Contains(err.Error(), "v08 al_offset: expected -64, found -8") {
		t.Errorf("al_offset: %v", err)
	}
	s.Magic = 0
	if err := s.Validate(IndexFlexInt, 80<<20); !errors.Is(err, ErrNoMagic) {
		t.Errorf("magic: %v", err)
	}
	e, _ := NewLayout(IndexFlexExt, 16<<20, 2, 16)
	es := NewSuperblock(e)
	if err := es.Validate(IndexFlexExt, 16<<20); err != nil {
		t.Errorf("external: %v", err)
	}
	es.BMOffset += 8
	if err := es.Validate(IndexFlexExt, 16<<20); err == nil {
		t.Error("external bad bm_offset accepted")
	}
}
