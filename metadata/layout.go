package metadata

import (
	"errors"
	"fmt"
)

// Layout is where the superblock, activity log and bitmap live on the
// meta-data device, as drbdmeta's re_initialize_md_offsets and the kernel's
// drbd_md_set_sector_offsets compute them.
type Layout struct {
	Index          int    // IndexInternal, IndexFlexExt, IndexFlexInt or >= 0
	DevBytes       uint64 // size of the meta-data device (the backing device for internal)
	ALStripes      uint32
	ALStripeSize4k uint32

	MdSizeSect   uint32 // md_size_sect of the superblock
	ALOffsetSect int32  // al_offset of the superblock, sectors from the superblock
	BMOffsetSect int32  // bm_offset of the superblock, sectors from the superblock

	MDOffset uint64 // byte offset of the superblock on the meta-data device
	ALOffset uint64 // byte offset of the activity log
	BMOffset uint64 // byte offset of the bitmap
}

// Errors from NewLayout.
var (
	ErrBadStriping  = errors.New("metadata: invalid activity log striping")
	ErrDeviceSmall  = errors.New("metadata: device too small for meta-data")
	ErrBitmapTooBig = errors.New("metadata: bitmap for that device got too large")
)

// ValidStriping reports whether stripes x stripeSize4k is an activity-log
// size the kernel accepts (check_activity_log_stripe_size): both non-zero,
// at least 32 KiB and at most 16 GiB... of 4 KiB blocks (16*1024*1024/4).
func ValidStriping(stripes, stripeSize4k uint32) bool {
	if stripes == 0 || stripeSize4k == 0 {
		return false
	}
	n := uint64(stripes) * uint64(stripeSize4k)
	return n >= MinALSize4k && n <= MaxALSize4k
}

// SuperblockOffset is the byte offset of the superblock for meta-data index
// idx on a meta-data device of devBytes bytes (drbd_md_ss; drbdmeta
// v07_style_md_get_byte_offset for v08).
func SuperblockOffset(idx int, devBytes uint64) uint64 {
	switch {
	case idx == IndexFlexExt:
		return 0
	case idx == IndexInternal || idx == IndexFlexInt:
		// last 4 KiB-aligned 4 KiB block
		return (devBytes - SuperblockSize) &^ (SuperblockSize - 1)
	default:
		return uint64(MD128MBSect) * SectorSize * uint64(idx)
	}
}

// NewLayout computes the layout for meta-data index idx on a meta-data device
// of devBytes bytes with the given activity-log striping.
func NewLayout(idx int, devBytes uint64, alStripes, alStripeSize4k uint32) (Layout, error) {
	if idx < IndexFlexInt {
		return Layout{}, fmt.Errorf("metadata: bad meta-data index %d", idx)
	}
	if !ValidStriping(alStripes, alStripeSize4k) {
		return Layout{}, fmt.Errorf("%w: al_stripes=%d, al_stripe_size_4k=%d", ErrBadStriping, alStripes, alStripeSize4k)
	}
	if devBytes < SuperblockSize {
		return Layout{}, ErrDeviceSmall
	}
	l := Layout{Index: idx, DevBytes: devBytes, ALStripes: alStripes, ALStripeSize4k: alStripeSize4k}
	alSizeSect := uint64(alStripes) * uint64(alStripeSize4k) * 8
	switch idx {
	case IndexFlexExt:
		if devBytes>>9 > 1<<32-1 {
			return Layout{}, fmt.Errorf("%w: md_size_sect overflows", ErrBitmapTooBig)
		}
		l.MdSizeSect = uint32(devBytes >> 9)
		l.ALOffsetSect = MD4kSect
		l.BMOffsetSect = int32(MD4kSect + alSizeSect)
	case IndexInternal, IndexFlexInt:
		bmb, err := bitmapBytes(BMBlockSize, devBytes>>9)
		if err != nil {
			return Layout{}, err
		}
		md := alignUp(bmb>>9, 8)
		// drbdmeta: MD_BM_MAX_BYTE_FLEX (1<<35 bytes on 64-bit) >> 9
		if md > (1<<35)>>9 {
			return Layout{}, ErrBitmapTooBig
		}
		md += MD4kSect + alSizeSect
		l.MdSizeSect = uint32(md)
		l.ALOffsetSect = -int32(alSizeSect)
		l.BMOffsetSect = -int32(md) + MD4kSect
	default:
		l.MdSizeSect = MD128MBSect
		l.ALOffsetSect = MD4kSect
		l.BMOffsetSect = int32(MD4kSect + alSizeSect)
	}
	l.MDOffset = SuperblockOffset(idx, devBytes)
	l.ALOffset = uint64(int64(l.MDOffset) + int64(l.ALOffsetSect)*SectorSize)
	l.BMOffset = uint64(int64(l.MDOffset) + int64(l.BMOffsetSect)*SectorSize)
	if (idx == IndexInternal || idx == IndexFlexInt) && int64(l.MDOffset)+int64(l.BMOffsetSect)*SectorSize < 0 {
		return Layout{}, ErrDeviceSmall
	}
	return l, nil
}

// LayoutOf returns the layout described by a superblock found on a meta-data
// device of devBytes bytes at index idx: offsets are taken from the
// superblock, not recomputed (what drbdmeta's v07_style_md_open does).
func LayoutOf(s *Superblock, idx int, devBytes uint64) Layout {
	l := Layout{
		Index: idx, DevBytes: devBytes,
		ALStripes: s.ALStripes, ALStripeSize4k: s.ALStripeSize4k,
		MdSizeSect: s.MdSizeSect, ALOffsetSect: s.ALOffset, BMOffsetSect: s.BMOffset,
		MDOffset: SuperblockOffset(idx, devBytes),
	}
	l.ALOffset = uint64(int64(l.MDOffset) + int64(s.ALOffset)*SectorSize)
	l.BMOffset = uint64(int64(l.MDOffset) + int64(s.BMOffset)*SectorSize)
	return l
}

// ALSizeBytes is the size of the on-disk activity log.
func (l Layout) ALSizeBytes() uint64 {
	return uint64(l.ALStripes) * uint64(l.ALStripeSize4k) * ALTransactionSize
}

// MaxUsableSect is the largest DRBD device, in sectors, the layout supports
// (drbdmeta max_usable_sectors): for internal meta-data everything below the
// first meta-data byte; for external meta-data what the on-disk bitmap can
// cover (one bitmap sector per 16 MiB).
func (l Layout) MaxUsableSect() uint64 {
	if l.Index == IndexInternal || l.Index == IndexFlexInt {
		return min(l.MDOffset, l.ALOffset, l.BMOffset) >> 9
	}
	bmSect := uint64(int64(l.MdSizeSect) - int64(l.BMOffsetSect))
	return bmSect * SectorSize * 8 / 64 * 64 * BMBlockSize / SectorSize
}

// MaxCapacity is the DRBD device size in sectors the kernel offers on a
// backing device of backingSect sectors (drbd_get_max_capacity).
func (l Layout) MaxCapacity(backingSect uint64) uint64 {
	switch l.Index {
	case IndexInternal, IndexFlexInt:
		if backingSect == 0 {
			return 0
		}
		first := uint64(int64(l.MDOffset>>9) + int64(l.BMOffsetSect))
		return min(MaxSectorsFlex, first)
	case IndexFlexExt:
		s := min(MaxSectorsFlex, backingSect)
		return min(s, uint64(int64(l.MdSizeSect)-int64(l.BMOffsetSect))<<(BMExtShift-9))
	default:
		const maxFixed = (MD128MBSect - MD32kSect - MD4kSect) * (1 << (BMExtShift - 9))
		return min(maxFixed, backingSect)
	}
}

// BitmapBytes is the size in bytes of the on-disk bitmap drbdmeta reads and
// writes for a DRBD device of sectors sectors (drbdmeta bm_bytes): one bit
// per 4 KiB, rounded up to 64-bit words, then to 4 KiB.
func BitmapBytes(sectors uint64) uint64 {
	n, _ := bitmapBytes(BMBlockSize, sectors)
	return n
}

func bitmapBytes(bytesPerBit uint32, sectors uint64) (uint64, error) {
	if bytesPerBit < BMBlockSize || bytesPerBit&(bytesPerBit-1) != 0 {
		return 0, fmt.Errorf("metadata: bm_bytes_per_bit %d is not a power-of-two multiple of 4096", bytesPerBit)
	}
	if sectors > 1<<(50-9) {
		return 0, fmt.Errorf("%w: %d sectors", ErrBitmapTooBig, sectors)
	}
	spb := uint64(bytesPerBit >> 9)
	bits := alignUp((sectors+spb-1)/spb, 64)
	return alignUp(bits/8, 4096), nil
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) &^ (a - 1) }
