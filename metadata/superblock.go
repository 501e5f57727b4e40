package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Superblock is the 4096-byte DRBD 8.4 meta-data superblock (struct
// meta_data_on_disk), in host representation.
type Superblock struct {
	LaSizeSect       uint64         // last agreed size of the DRBD device, sectors
	UUID             [UISize]uint64 // current, bitmap, history[0], history[1]
	DeviceUUID       uint64
	Flags            Flags
	Magic            uint32
	MdSizeSect       uint32
	ALOffset         int32 // sectors, relative to the superblock
	ALNrExtents      uint32
	BMOffset         int32 // sectors, relative to the superblock
	BMBytesPerBit    uint32
	LaPeerMaxBioSize uint32
	ALStripes        uint32
	ALStripeSize4k   uint32
}

// ErrShortBuffer is returned when a decoder is given less than one 4 KiB block.
var ErrShortBuffer = errors.New("metadata: buffer shorter than 4096 bytes")

// Current returns the current data-generation UUID.
func (s *Superblock) Current() uint64 { return s.UUID[UICurrent] }

// Bitmap returns the bitmap UUID.
func (s *Superblock) Bitmap() uint64 { return s.UUID[UIBitmap] }

// Clean reports whether the meta-data needs no activity-log replay: the
// magic is the clean v08 magic and MDF_AL_CLEAN is set (drbd_md_read and
// drbdmeta dump-md apply this test).
func (s *Superblock) Clean() bool {
	return s.Magic == MagicMD08 && s.Flags&FlagALClean != 0
}

// ALSize4k is the activity-log size in 4 KiB blocks.
func (s *Superblock) ALSize4k() uint32 { return s.ALStripes * s.ALStripeSize4k }

// MarshalBinary encodes the superblock into its 4096-byte on-disk form; the
// reserved bytes are zero, as the kernel and drbdmeta write them.
func (s *Superblock) MarshalBinary() ([]byte, error) {
	b := make([]byte, SuperblockSize)
	s.Put(b)
	return b, nil
}

// Put encodes the superblock into b[:4096], zeroing the reserved bytes.
// It panics if len(b) < 4096.
func (s *Superblock) Put(b []byte) {
	b = b[:SuperblockSize]
	clear(b)
	be := binary.BigEndian
	be.PutUint64(b[offLaSizeSect:], s.LaSizeSect)
	for i, u := range s.UUID {
		be.PutUint64(b[offUUID+8*i:], u)
	}
	be.PutUint64(b[offDeviceUUID:], s.DeviceUUID)
	be.PutUint32(b[offFlags:], uint32(s.Flags))
	be.PutUint32(b[offMagic:], s.Magic)
	be.PutUint32(b[offMdSizeSect:], s.MdSizeSect)
	be.PutUint32(b[offALOffset:], uint32(s.ALOffset))
	be.PutUint32(b[offALNrExtents:], s.ALNrExtents)
	be.PutUint32(b[offBMOffset:], uint32(s.BMOffset))
	be.PutUint32(b[offBMBytesPerBit:], s.BMBytesPerBit)
	be.PutUint32(b[offLaPeerMaxBioSize:], s.LaPeerMaxBioSize)
	be.PutUint32(b[offALStripes:], s.ALStripes)
	be.PutUint32(b[offALStripeSize4k:], s.ALStripeSize4k)
}

// UnmarshalBinary decodes the first 4096 bytes of b. As drbdmeta and the
// kernel do, an activity-log striping of 0/0 (meta-data written before
// striping existed) is read as the old fixed 32 KiB log: 1 stripe of 8 blocks.
// It does not validate; see Validate.
func (s *Superblock) UnmarshalBinary(b []byte) error {
	if len(b) < SuperblockSize {
		return ErrShortBuffer
	}
	be := binary.BigEndian
	*s = Superblock{
		LaSizeSect:       be.Uint64(b[offLaSizeSect:]),
		DeviceUUID:       be.Uint64(b[offDeviceUUID:]),
		Flags:            Flags(be.Uint32(b[offFlags:])),
		Magic:            be.Uint32(b[offMagic:]),
		MdSizeSect:       be.Uint32(b[offMdSizeSect:]),
		ALOffset:         int32(be.Uint32(b[offALOffset:])),
		ALNrExtents:      be.Uint32(b[offALNrExtents:]),
		BMOffset:         int32(be.Uint32(b[offBMOffset:])),
		BMBytesPerBit:    be.Uint32(b[offBMBytesPerBit:]),
		LaPeerMaxBioSize: be.Uint32(b[offLaPeerMaxBioSize:]),
		ALStripes:        be.Uint32(b[offALStripes:]),
		ALStripeSize4k:   be.Uint32(b[offALStripeSize4k:]),
	}
	for i := range s.UUID {
		s.UUID[i] = be.Uint64(b[offUUID+8*i:])
	}
	if s.ALStripes == 0 && s.ALStripeSize4k == 0 {
		s.ALStripes, s.ALStripeSize4k = DefaultALStripes, DefaultALStripeSize4k
	}
	return nil
}

// ReadSuperblock reads and decodes the superblock at byte offset off.
func ReadSuperblock(r interface {
	ReadAt([]byte, int64) (int, error)
}, off int64) (Superblock, error) {
	b := make([]byte, SuperblockSize)
	if _, err := r.ReadAt(b, off); err != nil {
		return Superblock{}, fmt.Errorf("metadata: read superblock at %d: %w", off, err)
	}
	var s Superblock
	err := s.UnmarshalBinary(b)
	return s, err
}

// InvalidError says why a superblock is not valid v08 meta-data for a given
// layout. Msg is drbdmeta's diagnostic where drbdmeta prints one.
type InvalidError struct {
	Msg string
}

func (e *InvalidError) Error() string { return "metadata: invalid: " + e.Msg }

// ErrNoMagic is wrapped by the InvalidError returned when neither v08 magic
// is present.
var ErrNoMagic = errors.New("v08 Magic number not found")

// Validate reports whether s is valid v08 meta-data for the meta-data index
// idx on a meta-data device of devBytes bytes, with drbdmeta's is_valid_md
// rules: the magic is MagicMD08 or MagicMD84Unclean, and the AL and bitmap
// offsets (and, for internal meta-data, md_size_sect) are where the layout
// puts them. The returned error's message is drbdmeta's diagnostic.
func (s *Superblock) Validate(idx int, devBytes uint64) error {
	if s.Magic != MagicMD08 && s.Magic != MagicMD84Unclean {
		return ErrNoMagic
	}
	alSizeSect := int64(s.ALStripes) * int64(s.ALStripeSize4k) * 8
	switch idx {
	case IndexInternal, IndexFlexInt:
		if int64(s.ALOffset) != -alSizeSect {
			return &InvalidError{fmt.Sprintf("v08 al_offset: expected %d, found %d", int32(-alSizeSect), s.ALOffset)}
		}
		bmb, err := bitmapBytes(s.BMBytesPerBit, devBytes>>9)
		if err != nil {
			return &InvalidError{err.Error()}
		}
		md := alignUp(bmb>>9, 8) + MD4kSect + uint64(alSizeSect)
		if int64(s.BMOffset) != -int64(md)+MD4kSect {
			return &InvalidError{fmt.Sprintf("strange bm_offset %d (expected: %d)", s.BMOffset, -int64(md)+MD4kSect)}
		}
		if uint64(s.MdSizeSect) != md {
			return &InvalidError{fmt.Sprintf("strange md_size_sect %d (expected: %d)", s.MdSizeSect, md)}
		}
	default:
		if s.ALOffset != MD4kSect {
			return &InvalidError{fmt.Sprintf("v08 Magic number (al_offset) not found\n\texpected: %d, found %d", MD4kSect, s.ALOffset)}
		}
		if int64(s.BMOffset) != MD4kSect+alSizeSect {
			return &InvalidError{fmt.Sprintf("v08 bm_offset: expected %d, found %d", MD4kSect+alSizeSect, s.BMOffset)}
		}
	}
	return nil
}

// NewSuperblock returns the superblock drbdmeta create-md writes for a
// layout: current UUID UUID_JUST_CREATED, flags MDF_AL_CLEAN, clean v08
// magic, al-extents 257, 4096 bytes per bitmap bit, zero size.
func NewSuperblock(l Layout) Superblock {
	return Superblock{
		UUID:           [UISize]uint64{UICurrent: UUIDJustCreated},
		Flags:          FlagALClean,
		Magic:          MagicMD08,
		MdSizeSect:     l.MdSizeSect,
		ALOffset:       l.ALOffsetSect,
		ALNrExtents:    DefaultALNrExtents,
		BMOffset:       l.BMOffsetSect,
		BMBytesPerBit:  BMBlockSize,
		ALStripes:      l.ALStripes,
		ALStripeSize4k: l.ALStripeSize4k,
	}
}
