package main

import (
	"errors"
	"os"
	"time"

	"udrbd/metadata"
)

const soMuch = 68 * 1024 // drbdmeta SO_MUCH: what check_for_existing_data reads

// openMD is drbdmeta's v08_md_open (v07_style_md_open) without the
// "moved after offline resize" search: it opens the device, reads the
// superblock and reports whether valid v08 meta-data is there.
func (c *config) openMD() bool {
	c.dev = openDevice(c)
	d := c.dev
	if d.size < soMuch {
		fail(10, "%s is only %d bytes. That's not enough.\n", c.mdDev, d.size)
	}
	mdOff := metadata.SuperblockOffset(c.index, d.size)
	if mdOff > d.size-4096 {
		fail(10, "Device too small: expecting meta data block at\nbyte offset %d, but %s is only %d bytes.\n", int64(mdOff), c.mdDev, d.size)
	}
	c.lay.MDOffset = mdOff
	buf := make([]byte, metadata.SuperblockSize)
	d.readOrDie(buf, int64(mdOff), "v08_md_disk_to_cpu")
	var sb metadata.Superblock
	_ = sb.UnmarshalBinary(buf)
	if err := sb.Validate(c.index, d.size); err != nil {
		if !errors.Is(err, metadata.ErrNoMagic) || c.verbose >= 1 {
			var ie *metadata.InvalidError
			if errors.As(err, &ie) {
				errf("%s\n", ie.Msg)
			} else {
				errf("%s\n", err)
			}
		}
		c.checkForResize()
		return false
	}
	c.sb = sb
	c.lay = metadata.LayoutOf(&sb, c.index, d.size)
	if max := c.lay.MaxUsableSect(); c.sb.LaSizeSect > max {
		outf("# la-size-sect was too big (%d), truncated (%d)!\n", c.sb.LaSizeSect, max)
		c.sb.LaSizeSect = max
	}
	c.bmBytes = metadata.BitmapBytes(c.sb.LaSizeSect)
	return true
}

// writeMD is v08_md_cpu_to_disk: refuse invalid meta-data, write the
// superblock, remember to update the last-known-device file.
func (c *config) writeMD() error {
	if err := c.sb.Validate(c.index, c.dev.size); err != nil {
		return err
	}
	c.checkRange(metadata.SuperblockSize, c.lay.MDOffset, "v08_md_cpu_to_disk")
	b, _ := c.sb.MarshalBinary()
	if !c.dryRun {
		c.dev.writeOrDie(b, int64(c.lay.MDOffset), "v08_md_cpu_to_disk")
	} else {
		errf(" %-26s: pwrite(%d, ...,%6d,%12d) SKIPPED DUE TO DRY-RUN\n", "v08_md_cpu_to_disk", c.dev.fd, len(b), c.lay.MDOffset)
	}
	c.updateLkBdev = true
	return nil
}

// closeMD is v08_md_close.
func (c *config) closeMD() error {
	if c.updateLkBdev && !c.dryRun {
		if c.index != metadata.IndexFlexInt {
			lkbdDelete(c.minor)
		} else {
			lkbdSave(c.minor, c.dev.size, c.mdDev, c.sb.DeviceUUID)
		}
	}
	return c.dev.close()
}

// checkRange is validate_offsets_or_die: writes must stay inside the
// meta-data area.
func (c *config) checkRange(count int, off uint64, tag string) {
	l := c.lay
	lo := min(int64(l.MDOffset), int64(l.ALOffset), int64(l.BMOffset))
	hi := lo + int64(c.sb.MdSizeSect)*512
	if int64(off) < lo || int64(off)+int64(count) > hi {
		errf("%s: offset+count (%d+%d) not in meta data area range [%d; %d], aborted\n", tag, off, count, lo, hi)
		if c.ignoreSanity {
			errf("Ignored due to --ignore-sanity-checks\n")
			return
		}
		errf("If you want to force this, tell me to --ignore-sanity-checks\n")
		exit(10)
	}
}

func (c *config) write(b []byte, off uint64, tag string) {
	c.checkRange(len(b), off, tag)
	if c.dryRun {
		errf(" %-26s: pwrite(%d, ...,%6d,%12d) SKIPPED DUE TO DRY-RUN\n", tag, c.dev.fd, len(b), off)
		return
	}
	c.dev.writeOrDie(b, int64(off), tag)
}

func ignoreExtra(args []string) {
	if len(args) > 0 {
		errf("Ignoring additional arguments\n")
	}
}

func (c *config) uuids() [4]uint64 {
	u := c.sb.UUID
	if c.nodeID != 0 {
		u[metadata.UIBitmap] = 0 // v08 has one peer slot; others read as 0
	}
	return u
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// printUUIDs is dt_print_uuids.
func printUUIDs(u [4]uint64, f metadata.Flags) {
	outf("%016X:%016X:%016X:%016X:", u[0], u[1], u[2], u[3])
	outf("%d:%d:%d:%d:%d:%d:%d\n",
		b2i(f&metadata.FlagConsistent != 0), b2i(f&metadata.FlagWasUpToDate != 0),
		b2i(f&metadata.FlagPrimaryInd != 0), b2i(f&metadata.FlagConnectedInd != 0),
		b2i(f&metadata.FlagFullSync != 0), b2i(f&metadata.FlagPeerOutDated != 0),
		b2i(f&metadata.FlagCrashedPrimary != 0))
}

func cmdGetGI(c *config, args []string) int {
	ignoreExtra(args)
	if !c.openMD() {
		return -1
	}
	printUUIDs(c.uuids(), c.sb.Flags)
	if c.closeMD() != nil {
		return -1
	}
	return 0
}

func cmdShowGI(c *config, args []string) int {
	ignoreExtra(args)
	if !c.openMD() {
		return -1
	}
	f := c.sb.Flags
	outf("\n" +
		"       +--<  Current data generation UUID  >-\n" +
		"       |               +--<  Bitmap's base data generation UUID  >-\n" +
		"       |               |                 +--<  younger history UUID  >-\n" +
		"       |               |                 |         +-<  older history  >-\n" +
		"       V               V                 V         V\n")
	printUUIDs(c.uuids(), f)
	outf("                                                                    ^ ^ ^ ^ ^ ^ ^\n" +
		"                                      -<  Data consistency flag  >--+ | | | | | |\n" +
		"                             -<  Data was/is currently up-to-date  >--+ | | | | |\n" +
		"                                  -<  Node was/is currently primary  >--+ | | | |\n" +
		"                                  -<  Node was/is currently connected  >--+ | | |\n" +
		"         -<  Node was in the progress of setting all bits in the bitmap  >--+ | |\n" +
		"                        -<  The peer's disk was out-dated or inconsistent  >--+ |\n" +
		"      -<  This node was a crashed primary, and has not seen its peer since   >--+\n" +
		"\n")
	pick := func(b bool, y, n string) string {
		if b {
			return y
		}
		return n
	}
	disk := "Inconsistent"
	if f&metadata.FlagConsistent != 0 {
		disk = pick(f&metadata.FlagWasUpToDate != 0, "UpToDate", "Outdated")
	}
	outf("flags:%s %s, %s, %s%s%s\n",
		pick(f&metadata.FlagCrashedPrimary != 0, " crashed", ""),
		pick(f&metadata.FlagPrimaryInd != 0, "Primary", "Secondary"),
		pick(f&metadata.FlagConnectedInd != 0, "Connected", "StandAlone"),
		disk,
		pick(f&metadata.FlagFullSync != 0, ", need full sync", ""),
		pick(f&metadata.FlagPeerOutDated != 0, ", peer Outdated", ""))
	outf("meta-data: %s\n", pick(f&metadata.FlagALClean != 0, "clean", "need apply-al"))
	if c.sb.LaSizeSect != 0 {
		outf("last agreed size: %s (%d sectors)\n", ppsize(c.sb.LaSizeSect>>1), c.sb.LaSizeSect)
		outf("last agreed max bio size: %d Byte\n", c.sb.LaPeerMaxBioSize)
	} else {
		outf("zero size device -- never seen peer yet?\n")
	}
	if c.closeMD() != nil {
		return -1
	}
	return 0
}

func cmdDstate(c *config, args []string) int {
	ignoreExtra(args)
	if !c.openMD() {
		errf("No valid meta data found\n")
		return -1
	}
	f := c.sb.Flags
	switch {
	case f&metadata.FlagConsistent == 0:
		outf("Inconsistent\n")
	case f&metadata.FlagWasUpToDate == 0:
		outf("Outdated\n")
	case f&metadata.FlagPeerOutDated != 0:
		outf("UpToDate\n")
	default:
		outf("Consistent\n")
	}
	if c.closeMD() != nil {
		return -1
	}
	return 0
}

func cmdReadDevUUID(c *config, args []string) int {
	ignoreExtra(args)
	if !c.openMD() {
		return -1
	}
	outf("%016X\n", c.sb.DeviceUUID)
	if c.closeMD() != nil {
		return -1
	}
	return 0
}

// cmdWriteDevUUID stores VAL, read as C's strtoull(VAL, NULL, 16) does
// (so anything unparsable is 0), as the device UUID.
func cmdWriteDevUUID(c *config, args []string) int {
	if len(args) > 1 {
		errf("Ignoring additional arguments\n")
	}
	if len(args) < 1 {
		fail(10, "Required Argument missing\n")
	}
	if !c.openMD() {
		return -1
	}
	c.sb.DeviceUUID = strtoull16(args[0])
	err := c.writeMD()
	if cerr := c.closeMD(); err == nil {
		err = cerr
	}
	if err != nil {
		errf("update failed\n")
		return 1
	}
	return 0
}

func cmdOutdate(c *config, args []string) int {
	ignoreExtra(args)
	if !c.openMD() {
		return -1
	}
	if !c.sb.Outdate() {
		fail(5, "Device is inconsistent.\n")
	}
	err := c.writeMD()
	if cerr := c.closeMD(); err == nil {
		err = cerr
	}
	if err != nil {
		errf("update failed\n")
		return -1
	}
	return 0
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		fail(20, "%s\n", err)
	}
	return h
}

func cmdDumpMD(c *config, args []string) int {
	ignoreExtra(args)
	if !c.openMD() && !c.atLastKnown {
		errf("No valid meta data found\n")
		return -1
	}
	clean := c.sb.Magic != metadata.MagicMD84Unclean && c.sb.Flags&metadata.FlagALClean != 0
	if !clean {
		errf("Found meta data is \"unclean\", please apply-al first\n")
		if !c.force {
			return -1
		}
	}
	now := time.Now()
	outf("# DRBD meta data dump\n# %s [%d]\n# %s>", now.Format("2006-01-02 15:04:05 -0700"), now.Unix(), hostname())
	for _, a := range c.argv {
		outf(" %s", a)
	}
	outf("\n#\n\n")
	outf("version \"v08\";\n\n")
	if !clean {
		outf("This_is_an_unclean_meta_data_dump._Don't_trust_the_bitmap.\n" +
			"# You should \"apply-al\" first, if you plan to restore this.\n\n")
	}
	outf("# md_size_sect %d\n", c.sb.MdSizeSect)
	if c.atLastKnown {
		outf("#\n"+
			"### Device seems to have been resized!\n"+
			"### dumping meta data from the last known position\n"+
			"### current size of %s: %d byte\n"+
			"### expected position of meta data:\n", c.mdDev, c.dev.size)
		// drbd-utils never computed the AL and bitmap positions here
		outf("## md_offset %d\n## al_offset 0\n## bm_offset 0\n", c.lay.MDOffset)
		name := c.lk.name
		if name == "" {
			name = "-?-"
		}
		outf("### last known size of %s: %d byte\n### adjusted position of meta data:\n", name, c.lk.size)
		c.lay = metadata.LayoutOf(&c.sb, metadata.IndexFlexInt, c.lk.size)
		c.bmBytes = metadata.BitmapBytes(c.sb.LaSizeSect)
	}
	outf("# md_offset %d\n", c.lay.MDOffset)
	outf("# al_offset %d\n", c.lay.ALOffset)
	outf("# bm_offset %d\n", c.lay.BMOffset)
	outf("\n")
	u := c.sb.UUID
	outf("uuid {\n")
	outf("    0x%016X; 0x%016X; 0x%016X; 0x%016X;\n", u[0], u[1], u[2], u[3])
	// drbd-utils before 9.33 printed 0x00000000 here (it read the wrong
	// member); we print the flags, as drbd-utils does since commit 725d989e.
	outf("    flags 0x%08X;\n", uint32(c.sb.Flags))
	outf("}\n")
	outf("# al-extents %d;\n", c.sb.ALNrExtents)
	outf("la-size-sect %d;\n", c.sb.LaSizeSect)
	outf("bm-byte-per-bit %d;\n", c.sb.BMBytesPerBit)
	outf("device-uuid 0x%016X;\n", c.sb.DeviceUUID)
	outf("la-peer-max-bio-size %d;\n", int32(c.sb.LaPeerMaxBioSize))
	outf("al-stripes %d;\n", c.sb.ALStripes)
	outf("al-stripe-size-4k %d;\n", c.sb.ALStripeSize4k)
	outf("# bm-bytes %d;\n", c.bmBytes)
	bm := make([]byte, c.bmBytes)
	if len(bm) > 0 {
		c.dev.readOrDie(bm, int64(c.lay.BMOffset), "fprintf_bm")
	}
	outf("bm ")
	bits := writeBitmapDump(stdout, bm)
	outf("# bits-set %d;\n", bits)
	if c.closeMD() != nil {
		return -1
	}
	return 0
}

func cmdInvalidate(c *config, args []string) int {
	ignoreExtra(args)
	if !c.openMD() {
		return -1
	}
	c.sb.Flags &^= metadata.FlagConsistent | metadata.FlagWasUpToDate
	c.sb.Flags |= metadata.FlagFullSync
	err := c.writeMD()
	if cerr := c.closeMD(); err == nil {
		err = cerr
	}
	if err != nil {
		errf("update failed\n")
		return -1
	}
	return 0
}

func cmdWipeMD(c *config, args []string) int {
	ignoreExtra(args)
	if !c.openMD() {
		errf("There appears to be no drbd meta data to wipe out?\n")
		return 0
	}
	if !c.confirmed("Do you really want to wipe out the DRBD meta data?") {
		outf("Operation cancelled.\n")
		exit(1)
	}
	outf("Wiping meta data...\n")
	c.write(make([]byte, metadata.SuperblockSize), c.lay.MDOffset, "meta_wipe_md")
	if c.closeMD() != nil {
		errf("operation failed\n")
		lkbdDelete(c.minor)
		return -1
	}
	outf("DRBD meta data block successfully wiped out.\n")
	lkbdDelete(c.minor)
	return 0
}
