// Command drbdmeta manages DRBD 8.4 ("v08") on-disk meta-data for users of
// udrbd who do not have drbd-utils: create-md, dump-md, apply-al, get-gi,
// show-gi and outdate, with the syntax, output and exit codes of drbd-utils
// 9.22's drbdmeta for those commands.
//
// Like drbd-utils it locks /var/lock/drbd-147-<minor>, asks
// "drbdsetup <minor> dstate" (from PATH) whether the minor is attached and
// refuses to modify meta-data of an attached minor, and keeps the
// last-known-device file /var/lib/drbd/drbd-minor-<minor>.lkbd up to date.
package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"udrbd/metadata"
)

// stdout is buffered like C stdio: line-buffered on a terminal, in 4 KiB
// blocks otherwise (so it appears after stderr when both are redirected,
// as drbdmeta's does).
var (
	stdout     = bufio.NewWriterSize(os.Stdout, 4096)
	stdoutTerm = isatty(1)
)

func flushOut() { _ = stdout.Flush() }

func outf(format string, a ...any) {
	fmt.Fprintf(stdout, format, a...)
	if stdoutTerm {
		flushOut()
	}
}

// errf writes to stderr, which C keeps unbuffered; stdout stays buffered.
func errf(format string, a ...any) { fmt.Fprintf(os.Stderr, format, a...) }

func exit(code int) {
	flushOut()
	os.Exit(code)
}

func fail(code int, format string, a ...any) {
	errf(format, a...)
	exit(code)
}

type command struct {
	name         string
	args         string
	run          func(*config, []string) int
	showInUsage  bool
	nodeIDNeeded bool
	modifiesMD   bool
	supported    bool
}

// The command table of drbd-utils 9.22 (order, usage text and flags), with
// the commands this drbdmeta implements marked supported.
var commands = []command{
	{"get-gi", "", cmdGetGI, true, true, false, true},
	{"show-gi", "", cmdShowGI, true, true, false, true},
	{"dump-md", "", cmdDumpMD, true, false, false, true},
	{"restore-md", "file", nil, true, false, true, false},
	{"verify-dump", "file", nil, true, false, false, false},
	{"apply-al", "", cmdApplyAL, true, false, true, true},
	{"wipe-md", "", cmdWipeMD, true, false, true, true},
	{"outdate", "", cmdOutdate, true, false, true, true},
	{"invalidate", "", cmdInvalidate, true, false, true, true},
	{"dstate", "", cmdDstate, true, false, false, true},
	{"read-dev-uuid", "", cmdReadDevUUID, false, false, false, true},
	{"write-dev-uuid", "VAL", cmdWriteDevUUID, false, false, true, true},
	{"set-gi", ":::VAL:VAL:...", nil, false, true, true, false},
	{"check-resize", "", nil, true, false, true, false},
	{"create-md", "[--peer-max-bio-size {val}] [--al-stripes {val}] [--al-stripe-size-kB {val}] {max_peers}", cmdCreateMD, true, false, true, true},
	{"forget-peer", "", nil, true, true, true, false},
}

var formats = []struct{ name, args string }{
	{"v06", "minor"}, {"v07", "device index"}, {"v08", "device index"}, {"v09", "device index"},
}

var optSpecs = []optSpec{
	{long: "ignore-sanity-checks"},
	{long: "dry-run"},
	{long: "force", short: 'f'},
	{long: "verbose", short: 'v'},
	{long: "peer-max-bio-size", short: 'p', hasArg: true},
	{long: "node-id", short: 'i', hasArg: true},
	{long: "al-stripes", short: 's', hasArg: true},
	{long: "al-stripe-size-kB", short: 'z', hasArg: true},
	{long: "initialize-bitmap", short: 'b', hasArg: true},
}

type ibmMode int

const (
	ibmZeroout ibmMode = iota // "automatic": BLKZEROOUT, falling back to pwrite
	ibmZerooutIoctlOnly
	ibmZerooutPwrite
	ibmSkip
)

var ibmNames = []string{"automatic", "zeroout", "pwrite", "skip"}

type config struct {
	prog                 string
	argv                 []string // for the dump-md header, argv[0] already shortened
	force                bool
	verbose              int
	ignoreSanity, dryRun bool

	peerMaxBioSize int64
	nodeID         int64
	alStripes      uint32
	alStripeSize4k uint32
	alStripesUsed  bool
	ibm            ibmMode

	drbdDev string
	minor   int
	mdDev   string
	index   int
	cmd     *command

	dev *device
	sb  metadata.Superblock
	lay metadata.Layout
	// bmBytes is drbdmeta's cfg->bm_bytes: the bitmap size for the last
	// agreed size.
	bmBytes      uint64
	updateLkBdev bool
	// atLastKnown: no valid meta-data at the end of the device, but at
	// the end of its last known size (lk).
	atLastKnown bool
	lk          lastKnown
}

func main() {
	os.Exit(run(os.Args))
}

func usage(c *config) {
	outf("\nUSAGE: %s [--force] DEVICE FORMAT [FORMAT ARGS...] COMMAND [CMD ARGS...]\n", c.prog)
	outf("\nFORMATS:\n")
	for _, f := range formats {
		outf("  %s %s\n", f.name, f.args)
	}
	outf("\nCOMMANDS:\n")
	for _, cm := range commands {
		if !cm.showInUsage {
			continue
		}
		nid := ""
		if cm.nodeIDNeeded {
			nid = " --node-id {val}"
		}
		outf("  %s%s %s\n", cm.name, nid, cm.args)
	}
	exit(20)
}

func run(args []string) int {
	c := &config{
		prog: filepath.Base(args[0]), nodeID: -1,
		alStripes: metadata.DefaultALStripes, alStripeSize4k: metadata.DefaultALStripeSize4k,
	}
	c.argv = append([]string{c.prog}, args[1:]...)
	if len(args) < 4 {
		usage(c)
	}
	hits, rest, msg := getoptLong(c.prog, args, optSpecs)
	if msg != "" {
		errf("%s\n", msg)
		usage(c)
	}
	for _, h := range hits {
		switch h.spec.long {
		case "ignore-sanity-checks":
			c.ignoreSanity = true
		case "dry-run":
			c.dryRun = true
		case "force":
			c.force = true
		case "verbose":
			c.verbose++
		case "peer-max-bio-size":
			v := int64(int32(mStrtoll(h.arg, 1)))
			if v < 0 || v > 1024*1024 {
				fail(10, "peer-max-bio-size out of range (0...1M)\n")
			}
			c.peerMaxBioSize = v
		case "node-id":
			v := int64(int32(mStrtoll(h.arg, 1)))
			if v < 0 || v > 31 {
				fail(10, "node-id out of range (0...%d)\n", 31)
			}
			c.nodeID = v
		case "al-stripes":
			c.alStripes = uint32(mStrtoll(h.arg, 1))
			c.alStripesUsed = true
		case "al-stripe-size-kB":
			c.alStripeSize4k = uint32(mStrtoll(h.arg, 'k') / 4)
			c.alStripesUsed = true
		case "initialize-bitmap":
			found := false
			for i, n := range ibmNames {
				if h.arg == n {
					c.ibm, found = ibmMode(i), true
				}
			}
			if !found {
				fail(10, "invalid initialize-bitmap-mode \"%s\", should be one of %s\n", h.arg, strings.Join(ibmNames, "|"))
			}
		}
	}
	if len(rest) == 0 {
		usage(c)
	}
	c.drbdDev = rest[0]
	rest = rest[1:]

	// parse_format
	if len(rest) < 1 {
		fail(20, "Format identifier missing\n")
	}
	known := false
	for _, f := range formats {
		known = known || f.name == rest[0]
	}
	if !known {
		fail(20, "Unknown format '%s'.\n", rest[0])
	}
	if rest[0] != "v08" {
		fail(20, "Format '%s' is not supported by this drbdmeta (udrbd speaks v08 only).\n", rest[0])
	}
	rest = rest[1:]
	if len(rest) < 2 {
		fail(20, "Too few arguments for format\n")
	}
	c.mdDev = rest[0]
	switch rest[1] {
	case "internal", "flex-internal":
		c.index = metadata.IndexFlexInt
	case "flex-external":
		c.index = metadata.IndexFlexExt
	default:
		v, ok := strtolBase0(rest[1])
		if !ok || v < 0 || v > 255 {
			fail(20, "'%s' is not a valid index number.\n", rest[1])
		}
		c.index = int(v)
	}
	rest = rest[2:]
	if len(rest) == 0 {
		fail(20, "command missing\n")
	}
	for i := range commands {
		if commands[i].name == rest[0] {
			c.cmd = &commands[i]
		}
	}
	if c.cmd == nil {
		fail(20, "Unknown command '%s'.\n", rest[0])
	}
	rest = rest[1:]

	attached := false
	if c.drbdDev != "-" {
		c.minor = minorOfDev(c.drbdDev)
		lockMinor(c.minor)
		attached = isAttached(c.minor)
		if attached && c.cmd.modifiesMD {
			fail(20, "Device '%s' is configured!\n", c.drbdDev)
		}
	} else {
		c.minor = -1
	}
	if c.peerMaxBioSize != 0 && c.cmd.name != "create-md" {
		fail(10, "The --peer-max-bio-size option is only allowed with create-md\n")
	}
	if c.alStripesUsed && c.cmd.name != "create-md" && c.cmd.name != "restore-md" {
		fail(10, "The --al-stripe* options are only allowed with create-md and restore-md\n")
	}
	if uint64(c.alStripes)*uint64(c.alStripeSize4k) > 32*1024*1024/4096 {
		fail(10, "invalid (too large) al-stripe* settings\n")
	}
	if c.alStripes*c.alStripeSize4k < 32/4 {
		fail(10, "invalid (too small) al-stripe* settings\n")
	}
	if c.nodeID != -1 && !c.cmd.nodeIDNeeded {
		fail(10, "The %s command does not accept the --node-id option\n", c.cmd.name)
	}
	if c.cmd.nodeIDNeeded {
		if c.nodeID == -1 {
			c.nodeID = 0
		} else if c.nodeID != 0 {
			// drbd-utils says so but keeps the given node id, which for
			// v08 selects an empty bitmap UUID slot.
			errf("Not v09, implicitly set --node-id = 0\n")
		}
	}
	if !c.cmd.supported {
		fail(20, "The %s command is not implemented by this drbdmeta (udrbd); use drbd-utils' drbdmeta.\n", c.cmd.name)
	}
	rv := c.cmd.run(c, rest)
	if attached {
		errf("# Output might be stale, since minor %d is attached\n", c.minor)
	}
	flushOut()
	if rv != 0 {
		return 1
	}
	return 0
}

// confirmed asks the user, as drbdmeta's confirmed() does.
func (c *config) confirmed(text string) bool {
	errf("\n%s\n", text)
	if c.force {
		errf("*** confirmation forced via --force option ***\n")
		return true
	}
	if !isatty(0) {
		errf("stdin not a TTY, not waiting for confirmation\n")
		return false
	}
	errf("[need to type '%s' to confirm] ", "yes")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	errf("\n")
	return err == nil && line == "yes\n"
}
