package metadata

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

// Byte offsets of every superblock field: encode distinct values and look
// for each at its offset in the big-endian image.
func TestSuperblockFieldOffsets(t *testing.T) {
	s := Superblock{
		LaSizeSect: 0x0102030405060708,
		UUID:       [UISize]uint64{0x1111111111111111, 0x2222222222222222, 0x3333333333333333, 0x4444444444444444},
		DeviceUUID: 0x5555555555555555, Flags: 0x66666666, Magic: 0x77777777,
		MdSizeSect: 0x88888888, ALOffset: -2, ALNrExtents: 0xAAAAAAAA, BMOffset: -3,
		BMBytesPerBit: 0xBBBBBBBB, LaPeerMaxBioSize: 0xCCCCCCCC, ALStripes: 0xDDDDDDDD, ALStripeSize4k: 0xEEEEEEEE,
	}
	b, _ := s.MarshalBinary()
	if len(b) != 4096 {
		t.Fatalf("len = %d, want 4096", len(b))
	}
	be := binary.BigEndian
	for _, tc := range []struct {
		name string
		off  int
		size int
		want uint64
	}{
		{"la_size_sect", 0, 8, 0x0102030405060708},
		{"uuid[current]", 8, 8, 0x1111111111111111},
		{"uuid[bitmap]", 16, 8, 0x2222222222222222},
		{"uuid[history0]", 24, 8, 0x3333333333333333},
		{"uuid[history1]", 32, 8, 0x4444444444444444},
		{"device_uuid", 40, 8, 0x5555555555555555},
		{"reserved_u64_1", 48, 8, 0},
		{"flags", 56, 4, 0x66666666},
		{"magic", 60, 4, 0x77777777},
		{"md_size_sect", 64, 4, 0x88888888},
		{"al_offset", 68, 4, 0xFFFFFFFE},
		{"al_nr_extents", 72, 4, 0xAAAAAAAA},
		{"bm_offset", 76, 4, 0xFFFFFFFD},
		{"bm_bytes_per_bit", 80, 4, 0xBBBBBBBB},
		{"la_peer_max_bio_size", 84, 4, 0xCCCCCCCC},
		{"al_stripes", 88, 4, 0xDDDDDDDD},
		{"al_stripe_size_4k", 92, 4, 0xEEEEEEEE},
	} {
		var got uint64
		if tc.size == 8 {
			got = be.Uint64(b[tc.off:])
		} else {
			got = uint64(be.Uint32(b[tc.off:]))
		}
		if got != tc.want {
			t.Errorf("%s at %d = %#x, want %#x", tc.name, tc.off, got, tc.want)
		}
	}
	if !bytes.Equal(b[96:], make([]byte, 4096-96)) {
		t.Error("reserved tail is not zero")
	}
	var d Superblock
	if err := d.UnmarshalBinary(b); err != nil || d != s {
		t.Errorf("round trip: %+v, %v", d, err)
	}
}

func TestABIConstants(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want uint64
	}{
		{"DRBD_MD_MAGIC_08", uint64(MagicMD08), 0x8374026B},
		{"DRBD_MD_MAGIC_84_UNCLEAN", uint64(MagicMD84Unclean), 0x8374026C},
		{"DRBD_MD_MAGIC_07", uint64(MagicMD07), 0x8374026A},
		{"DRBD_AL_MAGIC", uint64(MagicAL), 0x69cb65a2},
		{"struct al_transaction_on_disk size", trEnd, 4096},
		{"update_extent_nr offset", offTrUpdateExtentNr, 164},
		{"context offset", offTrContext, 420},
		{"BM_BYTES_PER_AL_EXT", BMBytesPerALExt, 128},
		{"MD_128MB_SECT", MD128MBSect, 262144},
		{"MDF_AL_CLEAN", uint64(FlagALClean), 128},
		{"MDF_AL_DISABLED", uint64(FlagALDisabled), 256},
		{"MDF_CRASHED_PRIMARY", uint64(FlagCrashedPrimary), 64},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %#x, want %#x", tc.name, tc.got, tc.want)
		}
	}
}

func TestUnmarshalDefaultsStriping(t *testing.T) {
	b := make([]byte, 4096)
	var s Superblock
	if err := s.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if s.ALStripes != 1 || s.ALStripeSize4k != 8 {
		t.Errorf("0/0 striping read as %d/%d, want 1/8", s.ALStripes, s.ALStripeSize4k)
	}
	binary.BigEndian.PutUint32(b[offALStripes:], 4)
	if err := s.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if s.ALStripes != 4 || s.ALStripeSize4k != 0 {
		t.Errorf("4/0 striping read as %d/%d, want 4/0", s.ALStripes, s.ALStripeSize4k)
	}
	if err := s.UnmarshalBinary(b[:4095]); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short buffer: %v", err)
	}
}

// Layouts for device sizes as drbd-utils 9.22's drbdmeta create-md computed
// them (dump-md "# md_size_sect/md_offset/al_offset/bm_offset").
func TestLayoutMatchesDrbdmeta(t *testing.T) {
	const M = 1 << 20
	for _, tc := range []struct {
		name            string
		idx             int
		size            uint64
		stripes, size4k uint32
		mdSize          uint32
		md, al, bm      uint64
	}{
		{"internal 80M", IndexInternal, 80 * M, 1, 8, 80, 83881984, 83849216, 83845120},
		{"internal 80M+512", IndexInternal, 83886592, 1, 8, 80, 83881984, 83849216, 83845120},
		{"internal 128M", IndexInternal, 128 * M, 1, 8, 80, 134213632, 134180864, 134176768},
		{"internal 1G", IndexInternal, 1024 * M, 1, 8, 136, 1073737728, 1073704960, 1073672192},
		{"internal 1025M", IndexInternal, 1025 * M, 1, 8, 144, 1074786304, 1074753536, 1074716672},
		{"internal 4100M", IndexInternal, 4100 * M, 1, 8, 336, 4299157504, 4299124736, 4298989568},
		{"internal 1G 2x64k", IndexInternal, 1024 * M, 2, 16, 328, 1073737728, 1073606656, 1073573888},
		{"internal 1G 3x32k", IndexInternal, 1024 * M, 3, 8, 264, 1073737728, 1073639424, 1073606656},
		{"flex-internal 80M", IndexFlexInt, 80 * M, 1, 8, 80, 83881984, 83849216, 83845120},
		{"flex-external 128M", IndexFlexExt, 128 * M, 1, 8, 262144, 0, 4096, 36864},
		{"flex-external 1M", IndexFlexExt, 1 * M, 1, 8, 2048, 0, 4096, 36864},
		{"index 0", 0, 200 * M, 1, 8, 262144, 0, 4096, 36864},
		{"index 1", 1, 300 * M, 1, 8, 262144, 134217728, 134221824, 134254592},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewLayout(tc.idx, tc.size, tc.stripes, tc.size4k)
			if err != nil {
				t.Fatal(err)
			}
			if l.MdSizeSect != tc.mdSize || l.MDOffset != tc.md || l.ALOffset != tc.al || l.BMOffset != tc.bm {
				t.Errorf("got md_size_sect %d md %d al %d bm %d; want %d %d %d %d",
					l.MdSizeSect, l.MDOffset, l.ALOffset, l.BMOffset, tc.mdSize, tc.md, tc.al, tc.bm)
			}
			sb := NewSuperblock(l)
			if err := sb.Validate(tc.idx, tc.size); err != nil {
				t.Errorf("fresh superblock invalid: %v", err)
			}
			if err := sb.CheckAttach(tc.idx, tc.size/512); err != nil {
				t.Errorf("kernel would refuse: %v", err)
			}
		})
	}
}

// The kernel's drbd_md_set_sector_offsets formula for internal meta-data
// (round the capacity up to 16 MiB, one bitmap sector per 16 MiB, align to
// 4 KiB) and drbdmeta's bm_bytes formula give the same md_size_sect.
func TestLayoutKernelFormula(t *testing.T) {
	for sect := uint64(136); sect < 1<<24; sect = sect*3 + 7 {
		l, err := NewLayout(IndexInternal, sect*512, 1, 8)
		if err != nil {
			continue
		}
		k := (sect + 32767) &^ 32767
		k >>= 15
		k = (k + 7) &^ 7
		k += 8 + 64
		if uint64(l.MdSizeSect) != k {
			t.Errorf("%d sectors: md_size_sect %d, kernel formula %d", sect, l.MdSizeSect, k)
		}
		if got, want := l.MDOffset/512, (sect&^7)-8; got != want {
			t.Errorf("%d sectors: md offset %d, drbd_md_ss %d", sect, got, want)
		}
	}
}

func TestLayoutErrors(t *testing.T) {
	if _, err := NewLayout(IndexInternal, 1<<30, 0, 8); !errors.Is(err, ErrBadStriping) {
		t.Errorf("0 stripes: %v", err)
	}
	if _, err := NewLayout(IndexInternal, 1<<30, 1, 4); !errors.Is(err, ErrBadStriping) {
		t.Errorf("16k AL: %v", err)
	}
	if _, err := NewLayout(IndexInternal, 20*1024, 1, 8); !errors.Is(err, ErrDeviceSmall) {
		t.Errorf("20k device: %v", err)
	}
	if _, err := NewLayout(-4, 1<<30, 1, 8); err == nil {
		t.Error("index -4 accepted")
	}
}

func TestMaxUsable(t *testing.T) {
	l, _ := NewLayout(IndexInternal, 80<<20, 1, 8)
	if got := l.MaxUsableSect(); got != 83845120/512 {
		t.Errorf("internal max usable %d", got)
	}
	if got := l.MaxCapacity(80 << 11); got != 83845120/512 {
		t.Errorf("internal max capacity %d", got)
	}
	e, _ := NewLayout(IndexFlexExt, 1<<20, 1, 8)
	// (2048-72) bitmap sectors, each covering 16 MiB = 32768 sectors
	if got, want := e.MaxUsableSect(), uint64(2048-72)*32768; got != want {
		t.Errorf("flex-external max usable %d, want %d", got, want)
	}
	if got, want := e.MaxCapacity(1<<40), uint64(2048-72)*32768; got != want {
		t.Errorf("flex-external max capacity %d, want %d", got, want)
	}
}

func TestBitmapBytes(t *testing.T) {
	for _, tc := range []struct{ sect, want uint64 }{
		{0, 0}, {1, 4096}, {8 * 32768, 4096}, {8*32768 + 8, 8192}, {1 << 21, 32768},
	} {
		if got := BitmapBytes(tc.sect); got != tc.want {
			t.Errorf("BitmapBytes(%d) = %d, want %d", tc.sect, got, tc.want)
		}
	}
}

// Our create-md image equals drbd-utils' byte for byte (testdata made by
// drbd-utils 9.22 drbdmeta --force 0 v08 80M-file internal create-md).
func TestGoldenCreateMD(t *testing.T) {
	wantSB, err := os.ReadFile("testdata/drbdutils-create-md-80M.sb")
	if err != nil {
		t.Fatal(err)
	}
	wantAL, err := os.ReadFile("testdata/drbdutils-create-md-80M.al")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLayout(IndexInternal, 80<<20, 1, 8)
	if err != nil {
		t.Fatal(err)
	}
	sb := NewSuperblock(l)
	got, _ := sb.MarshalBinary()
	if !bytes.Equal(got, wantSB) {
		t.Errorf("superblock differs from drbd-utils'\n got %x\nwant %x", got[:96], wantSB[:96])
	}
	mem := newMem(80 << 20)
	if err := InitializeAL(mem, l); err != nil {
		t.Fatal(err)
	}
	if gotAL := mem.b[l.ALOffset : l.ALOffset+l.ALSizeBytes()]; !bytes.Equal(gotAL, wantAL) {
		t.Errorf("activity log differs from drbd-utils'")
	}
	var d Superblock
	if err := d.UnmarshalBinary(wantSB); err != nil || d != sb {
		t.Errorf("decode of drbd-utils superblock: %+v %v", d, err)
	}
	if !d.Clean() {
		t.Error("fresh meta-data not clean")
	}
}

func TestCRC32c(t *testing.T) {
	// The stored crc of drbd-utils' initialized AL block (testdata) is the
	// seed-0, non-inverted crc32c of the block with the crc field zero.
	b := InitializedTransaction()
	if got := binary.BigEndian.Uint32(b[8:]); got != 0x709cc651 {
		t.Errorf("crc of initialized AL block = %#x, want 0x709cc651 (drbd-utils)", got)
	}
	if CRC32c(nil) != 0 {
		t.Error("crc of nothing is not the seed")
	}
}

type mem struct{ b []byte }

func newMem(n int) *mem { return &mem{make([]byte, n)} }

func (m *mem) ReadAt(p []byte, off int64) (int, error) {
	return copy(p, m.b[off:]), nil
}

func (m *mem) WriteAt(p []byte, off int64) (int, error) {
	return copy(m.b[off:], p), nil
}
