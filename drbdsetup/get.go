package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"udrbd/drbd"
	"udrbd/genl"
)

// showFunc handles one reply of a get command (nil = end of replies). A
// positive result is the exit code, a negative one ends the command with 0.
type showFunc func(cm *command, r *reply) int

// Options of the get commands.
var (
	optNow, optVerbose, optStatistics, optTimestamps, optJSON bool
	waitAfterSB                                               bool
	optColor                                                  int // -1 never, 0 auto, 1 always
)

func sleepMs(ms int) { time.Sleep(time.Duration(ms) * time.Millisecond) }

// ctxOf returns the cfg context of a message: resource name, volume (~0
// when absent), addresses, and whether the set was there at all.
type cfgCtx struct {
	resource string
	volume   uint32
	myAddr   []byte
	peerAddr []byte
	ok       bool
}

func ctxOf(m *genl.Message) cfgCtx {
	c := cfgCtx{volume: ^uint32(0)}
	s, err := genl.Get[*genl.CfgContext](m)
	if err != nil || s == nil {
		return c
	}
	c.ok = true
	if s.Present.Has(genl.CfgContextCtxResourceName) {
		c.resource = s.CtxResourceName
	}
	if s.Present.Has(genl.CfgContextCtxVolume) {
		c.volume = s.CtxVolume
	}
	if s.Present.Has(genl.CfgContextCtxMyAddr) {
		c.myAddr = s.CtxMyAddr
	}
	if s.Present.Has(genl.CfgContextCtxPeerAddr) {
		c.peerAddr = s.CtxPeerAddr
	}
	return c
}

// stateOf returns current_state of a message's state info (0 if absent).
func stateOf(m *genl.Message) (drbd.State, *genl.StateInfo) {
	si, err := genl.Get[*genl.StateInfo](m)
	if err != nil || si == nil {
		return drbd.Unpack(0), nil
	}
	if !si.Present.Has(genl.StateInfoCurrentState) {
		return drbd.Unpack(0), si
	}
	return drbd.Unpack(si.CurrentState), si
}

func genericGetCmd(cm *command, hits []optHit, args []string) int {
	wfc, degr, outd := int64(0), int64(0), int64(0)
	for _, h := range hits {
		switch h.val {
		case 't', 'd', 'o':
			v := int64(mStrtoll(h.arg, 1))
			name := map[int]string{'t': "wfc_timeout", 'd': "degr_wfc_timeout", 'o': "outdated_wfc_timeout"}[h.val]
			if v < 0 || v > 300000 {
				fmt.Fprintf(stderr, "%s => %d out of range [0..300000]\n", name, int32(v))
				return 20
			}
			switch h.val {
			case 't':
				wfc = v
			case 'd':
				degr = v
			default:
				outd = v
			}
		case 'n':
			optNow = true
		case 's':
			optVerbose, optStatistics = true, true
		case 'w':
			if !h.isArg || h.arg == "yes" {
				waitAfterSB = true
			}
		case 'D':
			showDefault = true
		case 'T':
			optTimestamps = true
		case 0, '(':
			// fields: get commands have none
		default:
			return 20
		}
	}
	if len(args) > 0 {
		warnExcessArgs(args)
		return 20
	}
	timeout := time.Duration(-1)
	if cm.waitTimeouts {
		t, code := chooseTimeout(wfc, degr, outd)
		if code != 0 {
			return code
		}
		if t > 0 {
			timeout = time.Duration(t) * time.Second
		}
	} else if !cm.continuousPoll {
		timeout = 120 * time.Second
	}
	return genericGet(cm, timeout)
}

// chooseTimeout is choose_timeout: asks the kernel which of the three
// timeouts applies (DRBD_ADM_GET_TIMEOUT_TYPE).
func chooseTimeout(wfc, degr, outd int64) (int64, int) {
	if wfc > 0 && (wfc < degr || degr == 0) {
		degr = wfc
		fmt.Fprintf(stderr, "degr-wfc-timeout has to be shorter than wfc-timeout\n"+
			"degr-wfc-timeout implicitly set to wfc-timeout (%ds)\n", degr)
	}
	if degr > 0 && (degr < outd || outd == 0) {
		outd = wfc
		fmt.Fprintf(stderr, "outdated-wfc-timeout has to be shorter than degr-wfc-timeout\n"+
			"outdated-wfc-timeout implicitly set to degr-wfc-timeout (%ds)\n", degr)
	}
	desc := ""
	m := &genl.Message{Cmd: genl.CmdGetTimeoutType, Minor: minor}
	if _, err := drbdConn.send(m, false); err != nil {
		desc = "error sending config command"
	} else if rs, err := drbdConn.receive(); err != nil || len(rs) == 0 {
		desc = "error receiving netlink reply"
		var en syscall.Errno
		if errors.As(err, &en) {
			desc = strerror(en)
		}
	} else {
		r := rs[0].msg
		switch rc := r.RetCode(); {
		case rc == int32(drbd.ErrMinorInvalid):
			desc = "minor not available"
		case rc != int32(drbd.NoError):
			desc = "error receiving netlink reply"
		default:
			tp, err := genl.Get[*genl.TimeoutParms](r)
			if err != nil || tp == nil || !tp.Present.Has(genl.TimeoutParmsTimeoutType) {
				desc = "reply did not validate - do you need to upgrade your userland tools?"
				break
			}
			switch drbd.TimeoutType(tp.TimeoutType) {
			case drbd.UTDegraded:
				return degr, 0
			case drbd.UTPeerOutdated:
				return outd, 0
			}
			return wfc, 0
		}
	}
	fmt.Fprintf(stderr, "error determining which timeout to use: %s\n", desc)
	return 0, 20
}

// lastReply is the last message parsed (drbdsetup's global_attrs).
var lastReply *genl.Message

// genericGet is generic_get: one get or dump request, then the replies (and
// with continuousPoll the event stream) go to cm.show.
func genericGet(cm *command, timeout time.Duration) int {
	if cm.continuousPoll {
		if err := drbdConn.joinEvents(); err != nil {
			return printConfigError(otherError, "unable to join drbd events multicast group", nil, false)
		}
	}
	if timeout > 0 {
		time.AfterFunc(timeout, func() { exit(5) })
	}
	dump := minor == ^uint32(0)
	m := &genl.Message{Cmd: cm.cmd, Minor: minor}
	if dump && objname != "all" {
		m.Attrs = append(m.Attrs, cfgContext(objname, false))
	}
	rv, desc := int(drbd.NoError), ""
	if _, err := drbdConn.send(m, dump); err != nil {
		return printConfigError(otherError, "error sending config command", nil, false)
	}
	for {
		replies, err := drbdConn.receive()
		if err != nil {
			var en syscall.Errno
			if !errors.As(err, &en) {
				fmt.Fprintf(stderr, "received netlink error reply: %s\n", err)
				return 20
			}
			if dump {
				// the error of a dump travels in its NLMSG_DONE
				if cm.continuousPoll {
					continue
				}
				if code := cm.show(cm, nil); code != 0 {
					return code
				}
				if en != syscall.ENODEV || !cm.missingOK {
					fmt.Fprintf(stderr, "received netlink error reply: %s\n", strerror(en))
					return 20
				}
				return 0
			}
			fmt.Fprintf(stderr, "received netlink error reply: %s\n", strerror(en))
			return 20
		}
		for i := range replies {
			r := &replies[i]
			lastReply = r.msg
			if cm.continuousPoll {
				if c := ctxOf(r.msg); c.ok {
					switch {
					case context&ctxMinor != 0:
						if minor != r.msg.Minor {
							continue
						}
					case context&ctxResource != 0:
						if objname != c.resource {
							continue
						}
					}
				}
			}
			rv = int(r.msg.RetCode())
			if rv == int(drbd.ErrMinorInvalid) {
				if cm.warnOnMissing {
					fmt.Fprintf(stderr, "Minor invalid")
				}
				if cm.missingOK {
					rv = int(drbd.NoError)
				}
			}
			if rv != int(drbd.NoError) {
				return finishGet(rv, desc)
			}
			if code := cm.show(cm, r); code != 0 {
				if code < 0 {
					return 0
				}
				return code
			}
		}
		if !cm.continuousPoll {
			// a single reply, or a whole dump up to NLMSG_DONE
			if code := cm.show(cm, nil); code > 0 {
				return code
			}
			return 0
		}
	}
}

func finishGet(rv int, desc string) int {
	var infos []string
	have := false
	if lastReply != nil && lastReply.Find(genl.TLACfgReply) != nil {
		have = true
		infos = lastReply.Infos()
	}
	return printConfigError(rv, desc, infos, have)
}

// enumerateMinors lists the minors of objname ("all" or a resource) with a
// GET_STATUS dump, as down does before it unregisters them.
func enumerateMinors() []uint32 {
	var out []uint32
	m := &genl.Message{Cmd: genl.CmdGetStatus, Minor: ^uint32(0)}
	if objname != "all" {
		m.Attrs = append(m.Attrs, cfgContext(objname, false))
	}
	if _, err := drbdConn.send(m, true); err != nil {
		return nil
	}
	rs, err := drbdConn.receive()
	if err != nil {
		return nil
	}
	for _, r := range rs {
		if c := ctxOf(r.msg); c.volume != ^uint32(0) {
			out = append([]uint32{r.msg.Minor}, out...)
		}
	}
	return out
}

// dumpAll runs one dump request for objname and returns its replies.
func dumpAll(cmd genl.Cmd, resource string) ([]reply, int) {
	m := &genl.Message{Cmd: cmd, Minor: ^uint32(0)}
	if resource != "" && resource != "all" {
		m.Attrs = append(m.Attrs, cfgContext(resource, false))
	}
	if _, err := drbdConn.send(m, true); err != nil {
		fmt.Fprintf(stderr, "%s: error sending config command\n", objname)
		return nil, 20
	}
	rs, err := drbdConn.receive()
	if err != nil {
		var en syscall.Errno
		if errors.As(err, &en) {
			if en == syscall.ENODEV && cmd == genl.CmdGetConnections {
				return nil, 0
			}
			fmt.Fprintf(stderr, "received netlink error reply: %s\n", strerror(en))
		}
		return nil, 20
	}
	return rs, 0
}

// Simple get commands.

func roleShow(cm *command, r *reply) int {
	if cm.name == "state" {
		fmt.Fprintf(stderr, "'%s ... state' is deprecated, use '%s ... role' instead.\n", cmdname, cmdname)
	}
	return stateLine(r, func(s drbd.State) string { return fmt.Sprintf("%s/%s", s.Role, s.Peer) })
}

func cstateShow(cm *command, r *reply) int {
	return stateLine(r, func(s drbd.State) string { return s.Conn.String() })
}

func dstateShow(cm *command, r *reply) int {
	return stateLine(r, func(s drbd.State) string { return fmt.Sprintf("%s/%s", s.Disk, s.Pdsk) })
}

// stateLine prints the one line role, cstate and dstate print: "Unconfigured"
// for a minor with neither disk nor connection, else line(state).
func stateLine(r *reply, line func(drbd.State) string) int {
	if r == nil {
		return 0
	}
	s, _ := stateOf(r.msg)
	if s.Conn == drbd.CStandAlone && s.Disk == drbd.DDiskless {
		printf("Unconfigured\n")
	} else {
		printf("%s\n", line(s))
	}
	return 0
}

func uuidsShow(cm *command, r *reply) int {
	if r == nil {
		return 0
	}
	s, si := stateOf(r.msg)
	if s.Conn == drbd.CStandAlone && s.Disk == drbd.DDiskless {
		fmt.Fprintf(stderr, "Device is unconfigured\n")
		return 1
	}
	if s.Disk == drbd.DDiskless {
		fmt.Fprintf(stderr, "Device has no disk\n")
		return 1
	}
	if si == nil || !si.Present.Has(genl.StateInfoUUIDs) {
		fmt.Fprintf(stderr, "No uuids found in reply!\nMaybe you need to upgrade your userland tools?\n")
		return 0
	}
	var u [4]uint64
	for i := range u {
		if len(si.UUIDs) >= 8*(i+1) {
			u[i] = binary.NativeEndian.Uint64(si.UUIDs[8*i:])
		}
	}
	if cm.name == "show-gi" {
		printPrettyUUIDs(u, si.DiskFlags)
	} else {
		printUUIDs(u, si.DiskFlags)
	}
	return 0
}

func b01(flags, bit uint32) int {
	if flags&bit != 0 {
		return 1
	}
	return 0
}

// printUUIDs is dt_print_uuids.
func printUUIDs(u [4]uint64, flags uint32) {
	printf("%016X:%016X:%016X:%016X:", u[0], u[1], u[2], u[3])
	printf("%d:%d:%d:%d:%d:%d:%d\n",
		b01(flags, drbd.MDFConsistent), b01(flags, drbd.MDFWasUpToDate), b01(flags, drbd.MDFPrimaryInd),
		b01(flags, drbd.MDFConnectedInd), b01(flags, drbd.MDFFullSync), b01(flags, drbd.MDFPeerOutDated),
		b01(flags, drbd.MDFCrashedPrimary))
}

// printPrettyUUIDs is dt_pretty_print_uuids (the drawing is a fact of the
// output format).
func printPrettyUUIDs(u [4]uint64, flags uint32) {
	printf("\n" +
		"       +--<  Current data generation UUID  >-\n" +
		"       |               +--<  Bitmap's base data generation UUID  >-\n" +
		"       |               |                 +--<  younger history UUID  >-\n" +
		"       |               |                 |         +-<  older history  >-\n" +
		"       V               V                 V         V\n")
	printUUIDs(u, flags)
	printf("" +
		"                                                                    ^ ^ ^ ^ ^ ^ ^\n" +
		"                                      -<  Data consistency flag  >--+ | | | | | |\n" +
		"                             -<  Data was/is currently up-to-date  >--+ | | | | |\n" +
		"                                  -<  Node was/is currently primary  >--+ | | | |\n" +
		"                                  -<  Node was/is currently connected  >--+ | | |\n" +
		"         -<  Node was in the progress of setting all bits in the bitmap  >--+ | |\n" +
		"                        -<  The peer's disk was out-dated or inconsistent  >--+ |\n" +
		"      -<  This node was a crashed primary, and has not seen its peer since   >--+\n" +
		"\n")
	pick := func(bit uint32, yes, no string) string {
		if flags&bit != 0 {
			return yes
		}
		return no
	}
	disk := "Inconsistent"
	if flags&drbd.MDFConsistent != 0 {
		disk = pick(drbd.MDFWasUpToDate, "UpToDate", "Outdated")
	}
	printf("flags:%s %s, %s, %s%s%s\n",
		pick(drbd.MDFCrashedPrimary, " crashed", ""),
		pick(drbd.MDFPrimaryInd, "Primary", "Secondary"),
		pick(drbd.MDFConnectedInd, "Connected", "StandAlone"),
		disk,
		pick(drbd.MDFFullSync, ", need full sync", ""),
		pick(drbd.MDFPeerOutDated, ", peer Outdated", ""))
	printf("meta-data: %s\n", pick(drbd.MDFALClean, "clean", "need apply-al"))
}

func shStatusShow(cm *command, r *reply) int {
	if r == nil {
		return 0
	}
	printf("_minor=%d\n", r.msg.Minor)
	c := ctxOf(r.msg)
	printf("_res_name=%s\n", shellEscape(c.resource))
	printf("_volume=%d\n", int32(c.volume))
	s, si := stateOf(r.msg)
	available := si != nil && si.Present.Has(genl.StateInfoCurrentState)
	if s.Conn == drbd.CStandAlone && s.Disk == drbd.DDiskless && s.Role != drbd.RPrimary {
		known := "NA # not available or not yet created"
		if available {
			known = "Unconfigured"
		}
		printf("_known=%s\n\n", known)
		printf("_cstate=Unconfigured\n_role=\n_peer=\n_disk=\n_pdsk=\n_flags_susp=\n_flags_aftr_isp=\n" +
			"_flags_peer_isp=\n_flags_user_isp=\n_resynced_percent=\n")
	} else {
		printf("_known=Configured\n\n_cstate=%s\n_role=%s\n_peer=%s\n_disk=%s\n_pdsk=%s\n\n",
			s.Conn, s.Role, s.Peer, s.Disk, s.Pdsk)
		one := func(b bool) string {
			if b {
				return "1"
			}
			return ""
		}
		printf("_flags_susp=%s\n", one(s.Susp))
		printf("_flags_aftr_isp=%s\n", one(s.AftrIsp))
		printf("_flags_peer_isp=%s\n", one(s.PeerIsp))
		printf("_flags_user_isp=%s\n\n", one(s.UserIsp))
		printf("_resynced_percent=")
		if si != nil && si.Present.Has(genl.StateInfoBitsRSTotal) {
			printf("%s\n", syncedPermille(si))
		} else {
			printf("\n")
		}
	}
	printf("\n_sh_status_process\n\n\n")
	return 0
}

// syncedPermille formats the resync progress as "%i.%i" (per mille).
func syncedPermille(si *genl.StateInfo) string {
	shift := uint(10)
	if si.BitsRSTotal >= 1<<32 {
		shift = 16
	}
	left := (si.BitsOOS - si.BitsRSFailed) >> shift
	total := 1 + si.BitsRSTotal>>shift
	synced := uint32(1000 - left*1000/total)
	return fmt.Sprintf("%d.%d", synced/10, synced%10)
}

// shellEscape is shared_tool.c shell_escape.
func shellEscape(s string) string {
	var b []byte
	for i := 0; i < len(s) && len(b) < 1022; i++ {
		c := s[i]
		clean := c == '%' || c == '+' || c == '-' || c == '.' || c == '/' || c >= '0' && c <= '9' ||
			c == ':' || c == '=' || c == '@' || c >= 'A' && c <= 'Z' || c == '_' || c >= 'a' && c <= 'z'
		if !clean {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return string(b)
}

// drbdLibDir is DRBD_LIB_DIR of Debian's drbd-utils.
const drbdLibDir = "/var/lib/drbd"

// checkResizeShow is lk_bdev_scmd: it records the size of an internal-meta-
// data backing device in /var/lib/drbd/drbd-minor-N.lkbd ("size\tname\n"),
// which drbdmeta uses to find meta-data after the device grew.
func checkResizeShow(cm *command, r *reply) int {
	if r == nil {
		return 0
	}
	path := fmt.Sprintf("%s/drbd-minor-%d.lkbd", drbdLibDir, r.msg.Minor)
	var dev string
	var idx int32
	if a := r.msg.Find(genl.TLADiskConf); a != nil {
		v := nestedFields(a.Raw)
		dev = cString(v[genl.DiskConfBackingDev])
		idx = int32(rawUint(v[genl.DiskConfMetaDevIdx], genl.KindS32))
	}
	if idx >= 0 || idx == drbd.MDIndexFlexExt {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			fmt.Fprintf(stderr, "lk_bdev_delete(%s) failed: %s\n", path, errnoText(err))
		}
		return 0
	}
	fd, err := unix.Open(dev, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintf(stderr, "Could not open %s: %s.\n", dev, errnoText(err))
		return 1
	}
	var size uint64
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&size))); e != 0 {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil {
			size = uint64(st.Size)
		}
	}
	unix.Close(fd)
	want := fmt.Sprintf("%d\t%s\n", size, dev)
	if old, err := os.ReadFile(path); err == nil && strings.HasPrefix(string(old), want) {
		return 0 // nothing changed
	}
	if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
		fmt.Fprintf(stderr, "lk_bdev_save(%s) failed: %s\n", path, errnoText(err))
	}
	return 0
}

func waitConnectedShow(cm *command, r *reply) int {
	if r == nil {
		return 0
	}
	s, si := stateOf(r.msg)
	if si == nil {
		return 0
	}
	if si.SIBReason != genl.SIBStateChange && si.SIBReason != genl.SIBGetStatusReply {
		return 0
	}
	if s.Conn >= drbd.CConnected {
		return -1
	}
	if s.Conn < drbd.CUnconnected {
		if !waitAfterSB {
			return -1
		}
		c := ctxOf(r.msg)
		fmt.Fprintf(stderr, "\ndrbd%d (%s[%d]) is %s, but I'm configured to wait anways (--wait-after-sb)\n",
			r.msg.Minor, c.resource, c.volume, s.Conn)
	}
	return 0
}

func waitSyncedShow(cm *command, r *reply) int {
	if r == nil {
		return 0
	}
	s, si := stateOf(r.msg)
	if si == nil {
		return 0
	}
	if si.SIBReason != genl.SIBStateChange && si.SIBReason != genl.SIBGetStatusReply {
		return 0
	}
	if s.Conn == drbd.CConnected {
		return -1
	}
	if !waitAfterSB && s.Conn < drbd.CUnconnected {
		return -1
	}
	return 0
}

// eventsShow is print_broadcast_events (the legacy "events" stream).
func eventsShow(cm *command, r *reply) int {
	if r == nil {
		return 0
	}
	m := r.msg
	if m.RetCode() == int32(drbd.ErrMinorInvalid) && cm.missingOK {
		return 0
	}
	seq := r.hdr.Sequence
	c := ctxOf(m)
	if !c.ok {
		for _, t := range m.Infos() {
			b := []byte(t)
			for i := range b {
				if b[i] == '\n' {
					b[i] = '_'
				}
			}
			printf("%d # %s\n", seq, b)
		}
		stdout.Flush()
		return 0
	}
	si, err := genl.Get[*genl.StateInfo](m)
	if err != nil || si == nil || !si.Present.Has(genl.StateInfoCurrentState) {
		printf("%d R - %s\n", seq, c.resource)
		stdout.Flush()
		return 0
	}
	mnv := fmt.Sprintf("%d,%s[%d]", int32(m.Minor), c.resource, int32(c.volume))
	st := func(tag string, v uint32) {
		s := drbd.Unpack(v)
		susp := byte('r')
		if s.Susp {
			susp = 's'
		}
		fl := func(b bool, ch byte) byte {
			if b {
				return ch
			}
			return '-'
		}
		printf("%d %s %s { cs:%s ro:%s/%s ds:%s/%s %c%c%c%c }\n", seq, tag, mnv, s.Conn, s.Role, s.Peer,
			s.Disk, s.Pdsk, susp, fl(s.AftrIsp, 'a'), fl(s.PeerIsp, 'p'), fl(s.UserIsp, 'u'))
	}
	switch si.SIBReason {
	case genl.SIBStateChange:
		st("ST-prev", si.PrevState)
		st("ST-new", si.NewState)
		st("ST", si.CurrentState)
	case genl.SIBGetStatusReply:
		st("ST", si.CurrentState)
	case genl.SIBHelperPre:
		printf("%d UH %s %s\n", seq, mnv, si.Helper)
	case genl.SIBHelperPost:
		printf("%d UH-post %s %s 0x%04x\n", seq, mnv, si.Helper, si.HelperExitCode)
	case genl.SIBSyncProgress:
		printf("%d SP %s %s\n", seq, mnv, syncedPermille(si))
	default:
		printf("%d ?? %s <other message, state info broadcast reason:%d>\n", seq, mnv, si.SIBReason)
	}
	stdout.Flush()
	return 0
}
