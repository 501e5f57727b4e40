package main

import (
	"errors"

	"udrbd/metadata"
)

// cmdApplyAL is drbdmeta's meta_apply_al for v08 with the 8.4 activity-log
// format.
func cmdApplyAL(c *config, args []string) int {
	ignoreExtra(args)
	valid := c.openMD()
	if !valid && c.atLastKnown && c.moveAfterResize() == 0 {
		c.atLastKnown = false
		valid = c.openMD()
	}
	if !valid {
		errf("No valid meta data found\n")
		return -1
	}
	al := make([]byte, c.lay.ALSizeBytes())
	c.dev.readOrDie(al, int64(c.lay.ALOffset), "apply_al")
	alMagic := func(i int) bool {
		off := i * metadata.ALTransactionSize
		return off+4 <= len(al) && uint32(al[off])<<24|uint32(al[off+1])<<16|uint32(al[off+2])<<8|uint32(al[off+3]) == metadata.MagicAL
	}
	needApply := c.sb.Flags&metadata.FlagPrimaryInd != 0
	reinit := false
	var rep metadata.Replay
	var err error
	rv := 0 // drbdmeta's replay return: <0 error, 0 clean, >0 updates found
	if c.sb.Magic == metadata.MagicMD84Unclean || alMagic(0) || alMagic(1) ||
		c.sb.ALStripes != 1 || c.sb.ALStripeSize4k != 8 {
		rep, err = metadata.ReplayAL(al, c.sb.ALStripes, c.sb.ALStripeSize4k)
		switch {
		case errors.Is(err, metadata.ErrNoUsableAL):
			errf("%s\n", err)
			rv = -1
		default:
			if rep.Corrupt > 0 {
				errf("%d corrupt AL transactions found\n", rep.Corrupt)
			}
			if err != nil {
				errf("%s\n", err)
				rv = -2
			} else {
				for _, w := range rep.Warnings {
					errf("%s\n", w)
				}
				rv = rep.Updates
			}
		}
	} else {
		// Pre-8.4 (512-byte sector) activity log. We only recognise that
		// there is none to replay; a populated 8.3 log is not supported.
		if hasV07Transactions(al) {
			fail(20, "This drbdmeta (udrbd) cannot replay a DRBD 8.3 activity log; use drbd-utils' drbdmeta.\n")
		}
		errf("No usable activity log found.\n")
		rv = 0
		reinit = true
	}
	if rv < 0 {
		if needApply {
			return 1
		}
		errf("Error ignored, no need to apply the AL\n")
		reinit = true
	}
	needUpdate := false
	if rv > 0 && needApply {
		c.applyHot(rep.HotExtents())
		needUpdate = true
	}
	if reinit || rv > 0 {
		c.initializeAL()
	}
	if c.sb.Flags&metadata.FlagALClean == 0 || c.sb.Magic != metadata.MagicMD08 {
		needUpdate = true
	}
	if !needUpdate {
		return 0
	}
	c.sb.Flags |= metadata.FlagALClean
	c.sb.Magic = metadata.MagicMD08
	werr := c.writeMD()
	cerr := c.closeMD()
	if werr != nil || cerr != nil {
		errf("update of super block flags failed\n")
		return 1
	}
	return 0
}

// applyHot marks every bit of the hot extents out of sync in the on-disk
// bitmap (drbdmeta apply_al).
func (c *config) applyHot(hot []uint32) {
	if len(hot) == 0 {
		errf("Nothing to do.\n")
		return
	}
	size := alignUp(c.bmBytes, uint64(c.dev.sectSize))
	buf := make([]byte, size)
	if size > 0 {
		c.dev.readOrDie(buf, int64(c.lay.BMOffset), "apply_al")
	}
	bm := metadata.DecodeBitmap(buf)
	var added uint64
	for _, e := range hot {
		pos := uint64(e) * metadata.BMBytesPerALExt
		if pos >= size {
			errf("extent %d beyond end of bitmap! (%d >= %d)\n", e, pos, size)
			continue
		}
		added += bm.SetALExtent(e)
	}
	bm.Put(buf)
	if size > 0 {
		c.write(buf, c.lay.BMOffset, "apply_al")
	}
	errf("Marked additional %s as out-of-sync based on AL.\n", ppsize(added*4))
}

// hasV07Transactions reports whether any 512-byte sector of the area is a
// valid pre-8.4 AL transaction (magic DRBD_MAGIC and matching xor sum).
func hasV07Transactions(al []byte) bool {
	be32 := func(b []byte) uint32 { return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) }
	for s := 0; s+512 <= len(al) && s < 64*512; s += 512 {
		sec := al[s : s+512]
		if be32(sec) != metadata.MagicDRBD {
			continue
		}
		var x uint32
		for i := range 62 {
			x ^= be32(sec[8+8*i+4:])
		}
		if be32(sec[8+62*8:]) == x {
			return true
		}
	}
	return false
}
