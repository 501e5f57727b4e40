package main

import (
	"encoding/binary"
	"errors"
	"strings"

	"udrbd/metadata"
)

// cmdCreateMD is drbdmeta's meta_create_md for v08.
func cmdCreateMD(c *config, args []string) int {
	ignoreExtra(args)
	found := c.openMD()
	if c.atLastKnown {
		if c.alStripesUsed && (c.alStripes != c.sb.ALStripes || c.alStripeSize4k != c.sb.ALStripeSize4k) {
			fail(20, "Cannot move after offline resize and change AL-striping at the same time, yet.\n")
		}
		if !c.force && c.confirmed("Move internal meta data from last-known position?\n") {
			// drbd-utils has not computed AL and bitmap positions at this point
			c.lay = metadata.Layout{Index: c.index, MDOffset: c.lay.MDOffset}
			c.checkForExistingData()
			return c.moveAfterResize()
		}
		c.atLastKnown = false
	}
	old := c.sb
	if !found {
		old = metadata.Superblock{}
	}

	if c.index == metadata.IndexFlexInt || c.index == metadata.IndexInternal {
		c.checkInternalFlavours(found, old)
	} else if found {
		if !c.confirmed("Valid meta data seems to be in place.\nDo you really want to overwrite?") {
			outf("Operation cancelled.\n")
			exit(1)
		}
	}

	lay, err := metadata.NewLayout(c.index, c.dev.size, c.alStripes, c.alStripeSize4k)
	if errors.Is(err, metadata.ErrBitmapTooBig) {
		fail(10, "Bitmap for that device got too large.\n")
	}
	if err != nil {
		fail(10, "%s\n", err)
	}
	c.lay = lay
	c.sb = metadata.NewSuperblock(lay)
	if c.verbose >= 2 {
		errf("md_offset: %d\n", lay.MDOffset)
		errf("al_offset: %d (%d)\n", lay.ALOffset, lay.ALOffsetSect)
		errf("bm_offset: %d (%d)\n", lay.BMOffset, lay.BMOffsetSect)
		errf("md_size_sect: %d\n", lay.MdSizeSect)
		errf("max_usable_sect: %d\n", lay.MaxUsableSect())
	}
	c.checkForExistingData()

	outf("initializing activity log\n")
	c.initializeAL()
	c.initializeBitmap()

	c.sb.LaPeerMaxBioSize = uint32(c.peerMaxBioSize)
	outf("Writing meta data...\n")
	err = c.writeMD()
	if cerr := c.closeMD(); err == nil {
		err = cerr
	}
	if err != nil {
		errf("operation failed\n")
		return -1
	}
	outf("New drbd meta data block successfully created.\n")
	return 0
}

// checkInternalFlavours is check_internal_md_flavours for v08 over v08:
// existing flexible-size v08 meta-data must be confirmed away.
func (c *config) checkInternalFlavours(found bool, old metadata.Superblock) {
	if !found {
		return
	}
	errf("You want me to create a v08 style flexible-size internal meta data block.\n")
	errf("There appears to be a v08 flexible-size internal meta data block\n"+
		"already in place on %s at byte offset %d\n", c.mdDev, metadata.SuperblockOffset(c.index, c.dev.size))
	if old.ALStripes != c.alStripes || old.ALStripeSize4k != c.alStripeSize4k {
		if c.confirmed("Do you want to change the activity log stripe settings *only*?") {
			fail(30, "Sorry, not yet fully implemented\nTry dump-md > dump.txt; restore-md -s x -z y dump.txt\n")
		}
	}
	if !c.confirmed("Do you really want to overwrite the existing meta-data?") {
		outf("Operation cancelled.\n")
		exit(1)
	}
}

func (c *config) initializeAL() {
	blk := metadata.InitializedTransaction()
	n := int(c.lay.ALSizeBytes() / metadata.ALTransactionSize)
	buf := make([]byte, 0, n*len(blk))
	for range n {
		buf = append(buf, blk...)
	}
	c.write(buf, c.lay.ALOffset, "md_initialize_common:AL")
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) / a * a }

func (c *config) initializeBitmap() {
	total := alignUp(metadata.BitmapBytes(c.dev.size>>9), uint64(c.dev.sectSize))
	pp := ppsize(total >> 10)
	switch c.ibm {
	case ibmSkip:
		errf("SKIPPED initializing bitmap area\n")
		return
	case ibmZeroout, ibmZerooutIoctlOnly:
		errf("initializing bitmap (%s) to all zero\n", pp)
		if c.zeroBitmapFast(total) {
			return
		}
		if c.ibm == ibmZerooutIoctlOnly {
			fail(10, "fast zero-out failed, fallback disabled\n")
		}
	}
	errf("initializing bitmap (%s) to all zero using pwrite\n", pp)
	const chunkMax = 32 << 20
	zero := make([]byte, min(total, chunkMax))
	off, left := c.lay.BMOffset, total
	lastPct := uint64(0)
	for left > 0 {
		n := min(left, chunkMax)
		c.write(zero[:n], off, "md_initialize_common:BM")
		off += n
		left -= n
		if left == 0 {
			break
		}
		if pct := 100 * (total - left) / total; pct != lastPct {
			errf("\r%d%%", pct)
			lastPct = pct
		}
	}
	if lastPct != 0 {
		errf("\r100%%\n")
	}
}

func (c *config) zeroBitmapFast(total uint64) bool {
	const perCall = 1 << 30
	off, left := c.lay.BMOffset, total
	lastPct := uint64(0)
	for left > 0 {
		n := min(left, perCall)
		if c.dryRun {
			errf(" %-26s: pwrite(%d, ...,%6d,%12d) SKIPPED DUE TO DRY-RUN\n", "zeroout", c.dev.fd, n, off)
		} else if err := c.dev.zeroOut(off, n); err != nil {
			errf("ioctl(%s, BLKZEROOUT, [%d, %d]) failed: %s\n", c.mdDev, off, n, strerror(err))
			return false
		}
		off += n
		left -= n
		if left == 0 {
			break
		}
		if pct := 100 * (total - left) / total; pct != lastPct {
			errf("\r%d%%", pct)
			lastPct = pct
		}
	}
	if lastPct != 0 {
		errf("\r100%%\n")
	}
	return true
}

// Guesses at existing content (drbdmeta check_for_existing_data).
type fsGuess struct {
	typ         string
	bnum, bsize uint64
}

const (
	refuseBsize = 0xFFFFffffFFFF0000
	errBsize    = 0xFFFFffffFFFF0001
)

func guessContent(d []byte) fsGuess {
	le, be := binary.LittleEndian, binary.BigEndian
	f := fsGuess{typ: "some data"}
	swap := func(off int) bool {
		s := string(d[off-10 : off])
		return s == "SWAP-SPACE" || s == "SWAPSPACE2"
	}
	switch {
	case swap(1<<12) || swap(1<<13):
		f = fsGuess{"swap space signature", 1, refuseBsize}
	case string(d[0x218:0x21c]) == "LVM2":
		// drbd-utils asks pvs for the size; we do not, which drbd-utils
		// treats as "could not determine".
		f = fsGuess{"LVM2 physical volume signature", 1, errBsize}
	case le.Uint16(d[0x438:]) == 0xEF53:
		f.typ = "ext2 filesystem"
		if d[0x45c]&4 == 4 {
			f.typ = "ext3 filesystem"
		}
		f.bnum = uint64(le.Uint32(d[0x404:]))
		switch le.Uint32(d[0x418:]) {
		case 0:
			f.bsize = 1024
		case 1:
			f.bsize = 2048
		default:
			f.bsize = 4096
		}
	case be.Uint32(d[0:]) == 0x58465342:
		f = fsGuess{"xfs filesystem", be.Uint64(d[8:]), uint64(be.Uint32(d[4:]))}
	case string(d[0x8000:0x8004]) == "JFS1":
		f = fsGuess{"JFS filesystem", le.Uint64(d[0x8008:]), uint64(le.Uint32(d[0x8018:]))}
	case strings.HasPrefix(string(d[0x10034:]), "ReIsErFs") || strings.HasPrefix(string(d[0x10034:]), "ReIsEr2Fs"):
		f = fsGuess{"reiser filesystem", uint64(le.Uint32(d[0x10000:])), uint64(le.Uint16(d[0x1002c:]))}
	}
	return f
}

const refuseText = "If you want me to do this, you need to zero out the first part\n" +
	"of the device (destroy the content).\n" +
	"You should be very sure that you mean it.\n" +
	"Operation refused.\n\n"

func (c *config) checkForExistingData() {
	d := make([]byte, soMuch)
	c.dev.readOrDie(d, 0, "check_for_existing_data")
	allZero := true
	for _, b := range d {
		if b != 0 {
			allZero = false
			break
		}
	}
	if allZero {
		return
	}
	f := guessContent(d)
	outf("md_offset %d\n", c.lay.MDOffset)
	outf("al_offset %d\n", c.lay.ALOffset)
	outf("bm_offset %d\n", c.lay.BMOffset)
	outf("\nFound %s\n", f.typ)
	fsKB := (f.bsize*f.bnum + 1023) >> 10
	maxKB := c.lay.MaxUsableSect() >> 1
	if f.bnum != 0 {
		if c.index >= 0 || c.index == metadata.IndexFlexExt {
			outf("\nThis would corrupt existing data.\n")
			if c.ignoreSanity {
				outf("\nIgnoring sanity check on user request.\n\n")
				return
			}
			outf("%s", refuseText)
			exit(40)
		}
		if f.bsize < refuseBsize {
			outf("%12d kB data area apparently used\n", fsKB)
		}
		outf("%12d kB left usable by current configuration\n", maxKB)
		if f.bsize == errBsize {
			outf("Could not determine the size of the actually used data area.\n\n")
		}
		if f.bsize >= refuseBsize {
			outf("Device size would be truncated, which\n" +
				"would corrupt data and result in\n" +
				"'access beyond end of device' errors.\n")
			if c.ignoreSanity {
				outf("\nIgnoring sanity check on user request.\n\n")
				return
			}
			outf("%s", refuseText)
			exit(40)
		}
		if fsKB > maxKB {
			outf("\nDevice size would be truncated, which\n" +
				"would corrupt data and result in\n" +
				"'access beyond end of device' errors.\n" +
				"You need to either\n" +
				"   * use external meta data (recommended)\n" +
				"   * shrink that filesystem first\n" +
				"   * zero out the device (destroy the filesystem)\n" +
				"Operation refused.\n\n")
			exit(40)
		}
		outf("\nEven though it looks like this would place the new meta data into\n" +
			"unused space, you still need to confirm, as this is only a guess.\n")
	} else {
		outf("\n ==> This might destroy existing data! <==\n")
	}
	if !c.confirmed("Do you want to proceed?") {
		outf("Operation canceled.\n")
		exit(1)
	}
}
