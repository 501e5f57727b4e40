package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"udrbd/drbd"
	"udrbd/genl"
)

// otherError is drbdsetup's OTHER_ERROR: a local problem, exit 20.
const otherError = 900

// nlEncoder builds one nested top-level attribute field by field, in the
// order drbdsetup puts them (command-line order), with T_<field> types.
type nlEncoder struct {
	tla  genl.TLA
	data []byte
	open bool
}

func (e *nlEncoder) put(nr uint16, v attrValue) {
	e.open = true
	if v.skip {
		return
	}
	fs := setFieldSpec(e.tla, nr)
	typ := nr
	kind := genl.KindBin
	if fs != nil {
		typ = fs.WireType()
		kind = fs.Kind
	}
	var payload []byte
	switch kind {
	case genl.KindFlag:
		payload = []byte{byte(v.u)}
	case genl.KindU32, genl.KindS32:
		payload = binary.NativeEndian.AppendUint32(nil, uint32(v.u))
	case genl.KindU64:
		payload = binary.NativeEndian.AppendUint64(nil, v.u)
	case genl.KindStr:
		payload = append([]byte(v.s), 0)
	default:
		payload = v.b
	}
	e.data = appendAttr(e.data, typ, payload)
}

func appendAttr(b []byte, typ uint16, payload []byte) []byte {
	l := 4 + len(payload)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// attr is the nest as drbd-utils' nla_nest_start makes it: NLA_F_NESTED
// set (kernel 6.x refuses a drbd request nest without it, EINVAL).
func (e *nlEncoder) attr() genl.Attr {
	return genl.Attr{Type: uint16(e.tla) | genl.NestedFlag, Raw: e.data}
}

// cfgContext builds the DRBD_NLA_CFG_CONTEXT of resource/connection commands.
func cfgContext(resource string, withAddrs bool) genl.Attr {
	e := &nlEncoder{tla: genl.TLACfgContext}
	if resource != "" {
		e.put(genl.CfgContextCtxResourceName, attrValue{s: resource})
	}
	if withAddrs {
		e.put(genl.CfgContextCtxMyAddr, attrValue{b: mustAddress(optLocal)})
		e.put(genl.CfgContextCtxPeerAddr, attrValue{b: mustAddress(optPeer)})
	}
	return e.attr()
}

// Converters of positional arguments (conv_* in drbdsetup.c).

func convBlockDev(nr uint16) func(e *nlEncoder, m *genl.Message, arg string) int {
	return func(e *nlEncoder, m *genl.Message, arg string) int {
		fd, err := unix.Open(arg, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			fmt.Fprintf(stderr, "Can not open device '%s': %s\n", arg, errnoText(err))
			return otherError
		}
		defer unix.Close(fd)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			fmt.Fprintf(stderr, "fstat(%s) failed: %s\n", arg, errnoText(err))
			return otherError
		}
		// udrbd also serves from a regular file (its embedded default); the
		// kernel module takes block devices only.
		isFile := st.Mode&unix.S_IFMT == unix.S_IFREG && chooseTransport() == transportUdrbd
		if st.Mode&unix.S_IFMT != unix.S_IFBLK && !isFile {
			fmt.Fprintf(stderr, "%s is not a block device!\n", arg)
			return otherError
		}
		e.put(nr, attrValue{s: arg})
		return int(drbd.NoError)
	}
}

func convMDIdx(e *nlEncoder, m *genl.Message, arg string) int {
	var idx int64
	switch arg {
	case "internal":
		idx = drbd.MDIndexFlexInt
	case "flexible":
		idx = drbd.MDIndexFlexExt
	default:
		idx = int64(mStrtoll(arg, 1))
	}
	e.put(genl.DiskConfMetaDevIdx, attrValue{u: uint64(uint32(idx))})
	return int(drbd.NoError)
}

func convResourceName(e *nlEncoder, m *genl.Message, arg string) int {
	e.put(genl.CfgContextCtxResourceName, attrValue{s: arg})
	return int(drbd.NoError)
}

func convVolume(e *nlEncoder, m *genl.Message, arg string) int {
	e.put(genl.CfgContextCtxVolume, attrValue{u: uint64(uint32(mStrtoll(arg, 1)))})
	return int(drbd.NoError)
}

func convMinor(e *nlEncoder, m *genl.Message, arg string) int {
	mn := minorOfDev(arg)
	if mn == ^uint32(0) {
		fmt.Fprintf(stderr, "Cannot determine minor device number of device '%s'\n", arg)
		return otherError
	}
	m.Minor = mn
	return int(drbd.NoError)
}

// minorOfDev is dt_minor_of_dev: "N", "/dev/drbdN", or an existing block
// device node of major 147; ~0 otherwise.
func minorOfDev(dev string) uint32 {
	c := dev
	if !onlyDigits(dev) {
		switch {
		case strings.HasPrefix(dev, "/dev/drbd") && onlyDigits(dev[9:]):
			c = dev[9:]
		default:
			var st unix.Stat_t
			if unix.Stat(dev, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK && unix.Major(st.Rdev) == 147 {
				return unix.Minor(st.Rdev)
			}
			return ^uint32(0)
		}
	}
	v, err := strconv.ParseInt(c, 10, 64)
	if err != nil {
		return ^uint32(0)
	}
	return uint32(v)
}

func onlyDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// errnoText is strerror(errno) for an error from a system call.
func errnoText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		return strerror(en)
	}
	return err.Error()
}

// strerror returns glibc's text for an errno (Go's table is glibc's, but
// lower-cased in places; the ones drbdsetup users see are fixed up).
func strerror(en syscall.Errno) string {
	s := en.Error()
	if s == "" {
		return "Unknown error " + strconv.Itoa(int(en))
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// printConfigError is print_config_error: stderr text and exit code for a
// reply's ret_code (and the kernel's info texts).
func printConfigError(rv int, desc string, infos []string, haveReply bool) int {
	if rv == int(drbd.NoError) || rv == int(drbd.SSSuccess) {
		return 0
	}
	if rv == otherError {
		if desc != "" {
			fmt.Fprintf(stderr, "%s: %s\n", objname, desc)
		}
		return 20
	}
	code := 0
	switch {
	case (rv >= int(drbd.AfterLastErrCode) || rv <= int(drbd.ErrCodeBase)) &&
		(rv > int(drbd.SSCWNoNeed) || rv <= int(drbd.SSAfterLastError)):
		fmt.Fprintf(stderr, "%s: Error code %d unknown.\nYou should update the drbd userland tools.\n", objname, rv)
		code = 20
	case rv > int(drbd.ErrCodeBase):
		text := desc
		if text == "" {
			text = drbd.RetCode(rv).Text()
		}
		fmt.Fprintf(stderr, "%s: Failure: (%d) %s\n", objname, rv, text)
		code = 10
	case rv == int(drbd.SSUnknownError):
		fmt.Fprintf(stderr, "%s: State change failed: (%d)unknown error.\n", objname, rv)
		code = 11
	case rv > int(drbd.SSTwoPrimaries):
		// SS_NOTHING_TO_DO, SS_CW_SUCCESS, SS_CW_NO_NEED: success
	default:
		fmt.Fprintf(stderr, "%s: State change failed: (%d) %s\n", objname, rv, drbd.StateRV(rv).Text())
		switch drbd.StateRV(rv) {
		case drbd.SSNoUpToDateDisk:
			code = 17
		case drbd.SSLowerThanOutdated:
			code = 5
		case drbd.SSNoLocalDisk:
			code = 16
		default:
			code = 11
		}
	}
	if haveReply {
		fmt.Fprintf(stderr, "additional info from kernel:\n")
		for _, s := range infos {
			fmt.Fprintf(stderr, "%s\n", s)
		}
	}
	return code
}

// configResult is what _generic_config_cmd ends with before printing.
type configResult struct {
	rv        int
	desc      string
	infos     []string
	haveReply bool // the reply carried a DRBD_NLA_CFG_REPLY
}

func genericConfigCmd(cm *command, hits []optHit, args []string) int {
	r := configCmd(cm, hits, args)
	return printConfigError(r.rv, r.desc, r.infos, r.haveReply)
}

// configCmd is _generic_config_cmd without the final print.
func configCmd(cm *command, hits []optHit, args []string) configResult {
	m := &genl.Message{Cmd: cm.cmd, Minor: ^uint32(0)}
	if context&(ctxResource|ctxConnection) != 0 {
		res := ""
		if context&ctxResource != 0 {
			res = objname
		}
		m.Attrs = append(m.Attrs, cfgContext(res, context&ctxConnection != 0))
	} else if context&ctxMinor != 0 {
		m.Minor = minor
	}
	e := &nlEncoder{tla: cm.tla}
	for _, h := range hits {
		switch {
		case h.index >= 0 && (h.val == 0 || h.val >= 1000):
			idx := h.index
			if h.val >= 1000 {
				idx = h.val - 1000
			}
			f := &cm.fields[idx]
			v, ok := f.parse(h.arg, h.isArg)
			if !ok {
				fmt.Fprintf(stderr, "Option --%s: invalid argument '%s'\n", f.name, cArg(h))
				return configResult{rv: otherError}
			}
			e.put(f.nr, v)
		case h.val == '(':
			m.Flags |= genl.FlagSetDefaults
		default:
			return configResult{rv: otherError}
		}
	}
	i := 0
	for _, a := range cm.args {
		if i >= len(args) {
			fmt.Fprintf(stderr, "Missing argument '%s'\n", a.name)
			printCommandUsage(cm, false)
			return configResult{rv: otherError}
		}
		e.open = true
		if rv := a.conv(e, m, args[i]); rv != int(drbd.NoError) {
			return configResult{rv: rv}
		}
		i++
	}
	minor = m.Minor
	if i < len(args) {
		warnExcessArgs(args[i:])
		return configResult{rv: otherError}
	}
	if e.open {
		m.Attrs = append(m.Attrs, e.attr())
	}
	if _, err := drbdConn.send(m, false); err != nil {
		return configResult{rv: otherError, desc: "error sending config command"}
	}
	for {
		replies, err := drbdConn.receive()
		if err != nil {
			var en syscall.Errno
			if errors.As(err, &en) {
				return configResult{rv: otherError, desc: strerror(en)}
			}
			return configResult{rv: otherError, desc: "error receiving config reply"}
		}
		if len(replies) == 0 {
			continue
		}
		r := replies[0]
		res := configResult{rv: int(r.msg.RetCode())}
		if res.rv == int(drbd.ErrResNotKnown) {
			if cm.warnOnMissing && isatty(2) {
				fmt.Fprintf(stderr, "Resource unknown\n")
			}
			if cm.missingOK {
				res.rv = int(drbd.NoError)
			}
		}
		if r.msg.Find(genl.TLACfgReply) != nil {
			res.haveReply = true
			res.infos = r.msg.Infos()
		}
		return res
	}
}

// cArg is what printf("%s", optarg) shows for an option without value.
func cArg(h optHit) string {
	if !h.isArg {
		return "(null)"
	}
	return h.arg
}

func warnExcessArgs(args []string) {
	fmt.Fprintf(stderr, "Excess arguments:")
	for _, a := range args {
		fmt.Fprintf(stderr, " %s", a)
	}
	printf("\n") // drbdsetup-84 ends that line on stdout
}

func isatty(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// Registry of drbdadm-84 (/var/run/drbd/drbd-{minor,resource}-*.conf links).
const drbdRunDir = "/var/run/drbd"

func unregisterMinor(mn uint32) {
	p := fmt.Sprintf("%s/drbd-minor-%d.conf", drbdRunDir, int32(mn))
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		fmt.Fprintf(stderr, "unlink: %s\n", errnoText(err))
	}
}

func unregisterResource(name string) {
	p := fmt.Sprintf("%s/drbd-resource-%s.conf", drbdRunDir, name)
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		fmt.Fprintf(stderr, "%s: %s\n", p, errnoText(err))
	}
}

func delMinorCmd(cm *command, hits []optHit, args []string) int {
	rv := genericConfigCmd(cm, hits, args)
	if rv == 0 {
		unregisterMinor(minor)
	}
	return rv
}

func delResourceCmd(cm *command, hits []optHit, args []string) int {
	rv := genericConfigCmd(cm, hits, args)
	if rv == 0 {
		unregisterResource(objname)
	}
	return rv
}

func downCmd(cm *command, hits []optHit, args []string) int {
	if len(args) > 0 {
		warnExcessArgs(args)
		return 20
	}
	minors := enumerateMinors()
	r := configCmd(cm, hits, args)
	success := r.rv >= int(drbd.SSSuccess) && r.rv < int(drbd.ErrCodeBase) || r.rv == int(drbd.NoError)
	if !success {
		return printConfigError(r.rv, "", r.infos, r.haveReply)
	}
	for _, mn := range minors {
		unregisterMinor(mn)
	}
	unregisterResource(objname)
	return 0
}

// lockMinor takes drbdsetup's per-minor lock file (1 s timeout).
func lockMinor(mn uint32) int {
	dir := "/var/run/drbd/lock"
	if os.Geteuid() == 0 {
		_ = os.MkdirAll(dir, 0o700)
	}
	p := fmt.Sprintf("%s/drbd-147-%d", dir, int32(mn))
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "open(%s): %s\n", p, errnoText(err))
		return 20
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	for range 100 {
		if err = unix.FcntlFlock(uintptr(fd), unix.F_SETLK, &lk); err == nil {
			return 0 // held until exit
		}
		if err != unix.EAGAIN && err != unix.EACCES {
			break
		}
		sleepMs(10)
	}
	_ = unix.FcntlFlock(uintptr(fd), unix.F_GETLK, &lk)
	fmt.Fprintf(stderr, "lock on %s currently held by pid:%d\n", p, lk.Pid)
	unix.Close(fd)
	return 20
}

// Addresses: [af:]addr[:port], af in ipv4 (default), ipv6, sdp, ssocks.

const afInetSDP = 27

func mustAddress(s string) []byte {
	b, err := parseAddress(s)
	if err != nil {
		fail(err)
	}
	return b
}

// parseAddress returns the raw struct sockaddr drbdsetup sends.
func parseAddress(arg string) ([]byte, error) {
	af := unix.AF_INET
	addr := arg
	for _, p := range []struct {
		s  string
		af int
	}{{"ipv4:", unix.AF_INET}, {"ipv6:", unix.AF_INET6}, {"sdp:", afInetSDP}, {"ssocks:", afInetSDP}} {
		if strings.HasPrefix(addr, p.s) {
			af = p.af
			addr = addr[len(p.s):]
			break
		}
	}
	port := uint64(7788)
	if af == unix.AF_INET6 && strings.HasPrefix(addr, "[") {
		b := strings.LastIndexByte(addr, ']')
		if b < 0 || (b+1 < len(addr) && addr[b+1] != ':') {
			fmt.Fprintf(stderr, "unexpected ipv6 format: %s\n", addr)
			exit(20)
		}
		if b+1 < len(addr) {
			port = mStrtoll(addr[b+2:], 1)
		}
		addr = addr[1:b]
	} else if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		if af == unix.AF_INET6 {
			fmt.Fprintf(stderr, "interpreting ipv6:%s:%s as ipv6:[%s]:%s\n", addr[:i], addr[i+1:], addr[:i], addr[i+1:])
		}
		port = mStrtoll(addr[i+1:], 1)
		addr = addr[:i]
	}
	if af == unix.AF_INET6 {
		ip := net.ParseIP(addr)
		if ip == nil {
			ips, err := net.LookupIP(addr)
			if err != nil || len(ips) == 0 {
				fmt.Fprintf(stderr, "getaddrinfo %s: Name or service not known\n", addr)
				exit(20)
			}
			ip = ips[0]
		}
		b := make([]byte, 28) // struct sockaddr_in6
		binary.NativeEndian.PutUint16(b[0:], unix.AF_INET6)
		binary.BigEndian.PutUint16(b[2:], uint16(port))
		copy(b[8:24], ip.To16())
		return b, nil
	}
	ip := net.ParseIP(addr).To4()
	if ip == nil {
		ips, err := net.LookupIP(addr)
		for _, c := range ips {
			if c.To4() != nil {
				ip = c.To4()
				break
			}
		}
		if err != nil || ip == nil {
			fmt.Fprintf(stderr, "can not resolve the hostname: gethostbyname(%s): Unknown host\n", addr)
			exit(20)
		}
	}
	b := make([]byte, 16) // struct sockaddr_in
	binary.NativeEndian.PutUint16(b[0:], uint16(af))
	binary.BigEndian.PutUint16(b[2:], uint16(port))
	copy(b[4:8], ip)
	return b, nil
}

// formatAddress is sprint_address: "ipv4 10.0.0.1:7789", "ipv6 [::1]:7789".
func formatAddress(b []byte) string {
	if len(b) < 2 {
		return fmt.Sprintf("[unknown af=%d, len=%d]", 0, len(b))
	}
	af := binary.NativeEndian.Uint16(b)
	switch {
	case (af == unix.AF_INET || af == afInetSDP) && len(b) >= 8:
		name := "ipv4"
		if af == afInetSDP {
			name = "sdp"
		}
		return fmt.Sprintf("%s %d.%d.%d.%d:%d", name, b[4], b[5], b[6], b[7], binary.BigEndian.Uint16(b[2:]))
	case af == unix.AF_INET6 && len(b) >= 24:
		ip := net.IP(b[8:24])
		return fmt.Sprintf("ipv6 [%s]:%d", ip.String(), binary.BigEndian.Uint16(b[2:]))
	}
	return fmt.Sprintf("[unknown af=%d, len=%d]", af, len(b))
}
