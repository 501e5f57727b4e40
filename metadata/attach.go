package metadata

import (
	"errors"
	"fmt"
)

// Attach-time checks of the kernel (drbd_md_read, check_activity_log_stripe_size,
// check_offsets_and_sizes in drbd_main.c), for a daemon that attaches a disk.

// Errors returned by CheckAttach; their texts are the kernel's log messages.
var (
	// ErrUnclean: the kernel's ERR_MD_UNCLEAN.
	ErrUnclean = errors.New(`Found unclean meta data. Did you "drbdadm apply-al"?`)
	// ErrOldMagic and ErrMagicNotFound: the kernel's ERR_MD_INVALID for a bad magic.
	ErrOldMagic      = errors.New(`Found old (0.7) meta data magic. Did you "drbdadm create-md"?`)
	ErrMagicNotFound = errors.New(`Meta data magic not found. Did you "drbdadm create-md"?`)
)

// CheckAttach applies the kernel's attach-time checks to a superblock read
// from a meta-data device of mdDevSect sectors with meta-data index idx.
// A nil error means the kernel would accept it. errors.Is(err, ErrUnclean)
// maps to ERR_MD_UNCLEAN; every other error to ERR_MD_INVALID.
func (s *Superblock) CheckAttach(idx int, mdDevSect uint64) error {
	if s.Magic == MagicMD84Unclean || (s.Magic == MagicMD08 && s.Flags&FlagALClean == 0) {
		return ErrUnclean
	}
	if s.Magic != MagicMD08 {
		if s.Magic == MagicMD07 {
			return ErrOldMagic
		}
		return ErrMagicNotFound
	}
	if s.BMBytesPerBit != BMBlockSize {
		return fmt.Errorf("unexpected bm_bytes_per_bit: %d (expected %d)", s.BMBytesPerBit, BMBlockSize)
	}
	// UnmarshalBinary already turned 0/0 striping into 1/8.
	if !ValidStriping(s.ALStripes, s.ALStripeSize4k) {
		return fmt.Errorf("invalid activity log striping: al_stripes=%d, al_stripe_size_4k=%d", s.ALStripes, s.ALStripeSize4k)
	}
	alSize4k := int64(s.ALStripes) * int64(s.ALStripeSize4k)
	bad := func() error {
		return fmt.Errorf("meta data offsets don't make sense: idx=%d al_s=%d, al_sz4k=%d, al_offset=%d, bm_offset=%d, md_size_sect=%d, la_size=%d, md_capacity=%d",
			idx, s.ALStripes, s.ALStripeSize4k, s.ALOffset, s.BMOffset, s.MdSizeSect, s.LaSizeSect, mdDevSect)
	}
	var alSect, bmSect int64
	if s.ALOffset < 0 {
		if s.BMOffset > s.ALOffset {
			return bad()
		}
		alSect = -int64(s.ALOffset)
		bmSect = int64(s.ALOffset) - int64(s.BMOffset)
	} else {
		if s.ALOffset != MD4kSect || int64(s.BMOffset) < int64(s.ALOffset)+alSize4k*MD4kSect {
			return bad()
		}
		alSect = int64(s.BMOffset) - MD4kSect
		bmSect = int64(s.MdSizeSect) - int64(s.BMOffset)
	}
	if idx >= 0 && (s.MdSizeSect != MD128MBSect || s.ALOffset != MD4kSect ||
		s.BMOffset != MD4kSect+MD32kSect || s.ALStripes != 1 || s.ALStripeSize4k != MD32kSect/8) {
		return bad()
	}
	mdOff := SuperblockOffset(idx, mdDevSect*SectorSize) >> 9
	var first uint64
	switch idx {
	case IndexInternal, IndexFlexInt:
		first = uint64(int64(mdOff) + int64(s.BMOffset))
	default:
		first = mdOff
	}
	if mdDevSect < uint64(s.MdSizeSect) || mdDevSect-uint64(s.MdSizeSect) < first {
		return bad()
	}
	if alSect&7 != 0 || alSect < MD32kSect || alSect != alSize4k*MD4kSect || s.BMOffset&7 != 0 {
		return bad()
	}
	if uint64(bmSect) < (s.LaSizeSect+7)/MD4kSect/8/512 {
		return bad()
	}
	return nil
}
