package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"udrbd/metadata"
)

// Internal meta-data after an offline resize of the backing device: the
// superblock is no longer at the end of the device. drbd-utils remembers the
// device size in /var/lib/drbd/drbd-minor-N.lkbd and looks there
// (v08_check_for_resize); dump-md can then dump it, apply-al and create-md
// move it to the new end (v08_move_internal_md_after_resize).

type lastKnown struct {
	size uint64
	name string
	uuid uint64
}

// lkbdLoad is lk_bdev_load. ok is false when there is no usable file.
func lkbdLoad(minor int) (lk lastKnown, ok bool) {
	path := lkbdPath(minor)
	f, err := os.Open(path)
	if err != nil {
		if !os.IsNotExist(err) {
			errf("lk_bdev_load(%s) failed: %s\n", path, strerror(underlying(err)))
		}
		return lk, false
	}
	defer f.Close()
	r := bufio.NewReader(f)
	line, _ := r.ReadString('\n')
	fields := strings.Fields(line)
	if len(fields) == 0 {
		errf("lk_bdev_load(%s): parse error\n", path)
		return lk, false
	}
	size, err := strconv.ParseUint(fields[0], 10, 64)
	if err != nil {
		errf("lk_bdev_load(%s): parse error\n", path)
		return lk, false
	}
	lk.size = size
	if len(fields) > 1 {
		lk.name = fields[1]
	}
	if u, _ := r.ReadString('\n'); strings.HasPrefix(u, "uuid:") && strings.HasSuffix(u, "\n") {
		lk.uuid, _ = strconv.ParseUint(strings.TrimSpace(u[5:]), 16, 64)
	}
	return lk, true
}

// checkForResize is v08_check_for_resize: look for valid flexible internal
// meta-data where the last known device size put it.
func (c *config) checkForResize() {
	if c.index != metadata.IndexFlexInt {
		return
	}
	lk, ok := lkbdLoad(c.minor)
	if !ok {
		if c.verbose > 0 {
			errf("no last-known offset information available.\n")
		}
		return
	}
	c.lk = lk
	if lk.size == c.dev.size {
		return
	}
	flex := metadata.SuperblockOffset(metadata.IndexFlexInt, lk.size)
	found := false
	var sb metadata.Superblock
	if flex < c.dev.size {
		b := make([]byte, metadata.SuperblockSize)
		c.dev.readOrDie(b, int64(flex), "v08_check_for_resize")
		_ = sb.UnmarshalBinary(b)
		if err := sb.Validate(metadata.IndexFlexInt, lk.size); err == nil {
			found = true
		} else if ie, ok := err.(*metadata.InvalidError); ok {
			errf("%s\n", ie.Msg)
		}
	}
	if found && lk.uuid != 0 && sb.DeviceUUID != lk.uuid {
		// drbd-utils prints the in-core device uuid here, which is still 0
		errf("Last known and found uuid differ!?\n%016X != %016X\n", lk.uuid, uint64(0))
		if !c.force {
			found = false
			errf("You may --force me to ignore that.\n")
		} else {
			errf("You --force'ed me to ignore that.\n")
		}
	}
	if found {
		c.sb = sb
		c.atLastKnown = true
	}
}

// moveAfterResize is v08_move_internal_md_after_resize.
func (c *config) moveAfterResize() int {
	old := c.sb
	oldOff := metadata.SuperblockOffset(metadata.IndexFlexInt, c.lk.size)
	lay, err := metadata.NewLayout(metadata.IndexFlexInt, c.dev.size, old.ALStripes, old.ALStripeSize4k)
	if err != nil {
		fail(10, "Bitmap for that device got too large.\n")
	}
	c.lay = lay
	c.sb.MdSizeSect, c.sb.ALOffset, c.sb.BMOffset = lay.MdSizeSect, lay.ALOffsetSect, lay.BMOffsetSect
	errf("Moving the internal meta data to its proper location\n")
	if c.verbose >= 2 {
		errf("old md_offset: %d\n", oldOff)
		errf("old al_offset: %d (%d)\n", int64(oldOff)+int64(old.ALOffset)*512, old.ALOffset)
		errf("old bm_offset: %d (%d)\n", int64(oldOff)+int64(old.BMOffset)*512, old.BMOffset)
		errf("new md_offset: %d\n", lay.MDOffset)
		errf("new al_offset: %d (%d)\n", lay.ALOffset, lay.ALOffsetSect)
		errf("new bm_offset: %d (%d)\n", lay.BMOffset, lay.BMOffsetSect)
		errf("md_size_sect: %d\n", lay.MdSizeSect)
		errf("max_usable_sect: %d\n", lay.MaxUsableSect())
	}
	// the activity log, right below the old superblock
	cur := uint64(int64(oldOff) + int64(old.ALOffset)*512)
	al := make([]byte, oldOff-cur)
	c.dev.readOrDie(al, int64(cur), "v08_move_internal_md_after_resize")
	c.write(al, lay.ALOffset, "v08_move_internal_md_after_resize")
	// the bitmap, peeled off from the end in 32 MiB chunks; like drbd-utils
	// the source range is sized by the new bitmap offset, so a grown bitmap's
	// extra head is copied from below the old one ("garbage" the kernel
	// handles once it agrees on the new size)
	const chunk = 32 << 20
	oldBM := int64(oldOff) + int64(c.sb.BMOffset)*512
	pos := int64(oldOff) + int64(c.sb.ALOffset)*512 - chunk
	buf := make([]byte, chunk)
	for pos > oldBM {
		c.dev.readOrDie(buf, pos, "v08_move_internal_md_after_resize")
		c.write(buf, uint64(int64(lay.BMOffset)+pos-oldBM), "v08_move_internal_md_after_resize")
		pos -= chunk
	}
	last := chunk - (oldBM - pos)
	c.dev.readOrDie(buf[:last], oldBM, "v08_move_internal_md_after_resize")
	c.write(buf[:last], lay.BMOffset, "v08_move_internal_md_after_resize")

	werr := c.writeMD()
	if werr == nil {
		outf("Internal drbd meta data successfully moved.\n")
		if oldOff < lay.BMOffset {
			// wiping the superseded superblock is exempt from the range check
			if !c.dryRun {
				c.dev.writeOrDie(make([]byte, metadata.SuperblockSize), int64(oldOff), "v08_move_internal_md_after_resize")
			}
		}
	}
	cerr := c.closeMD()
	if werr != nil || cerr != nil {
		errf("operation failed\n")
		return -1
	}
	return 0
}
