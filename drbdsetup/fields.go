package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"udrbd/genl"
)

// fieldKind is how an option's value is parsed and shown (config_flags.c).
type fieldKind uint8

const (
	kEnum       fieldKind = iota + 1 // ENUM: one of map, case sensitive
	kEnumNoCase                      // ENUM_NOCASE (protocol)
	kNumeric                         // NUMERIC: N[kKmMgGs] in the field's scale
	kBoolean                         // BOOLEAN: yes|no, bare = yes, always sent
	kFlag                            // FLAG: yes|no, sent only when yes
	kString                          // STRING
	kAddress                         // ADDRESS: [af:]addr[:port]
)

// field is one command-line option that sets a field of an attribute set.
type field struct {
	name   string
	nr     uint16 // field number within the command's set
	kind   fieldKind
	enum   []string // index = value, "" = gap
	min    int64
	max    int64
	def    int64
	signed bool
	scale  byte // '1', 'k', 's'
	unit   string
}

func (f *field) optional() bool { return f.kind == kBoolean || f.kind == kFlag }

// Enum maps (config_flags.c *_map, indexed by value).
var (
	mapProtocol  = []string{1: "A", 2: "B", 3: "C"}
	mapOnIOError = []string{"pass_on", "call-local-io-error", "detach"}
	mapFencing   = []string{"dont-care", "resource-only", "resource-and-stonith"}
	mapAfterSB0  = []string{"disconnect", "discard-younger-primary", "discard-older-primary",
		"discard-zero-changes", "discard-least-changes", "discard-local", "discard-remote"}
	mapAfterSB1   = []string{0: "disconnect", 7: "consensus", 8: "discard-secondary", 9: "call-pri-lost-after-sb", 10: "violently-as0p"}
	mapAfterSB2   = []string{0: "disconnect", 9: "call-pri-lost-after-sb", 10: "violently-as0p"}
	mapRRConflict = []string{0: "disconnect", 9: "call-pri-lost", 10: "violently"}
	mapOnNoData   = []string{"io-error", "suspend-io"}
	mapOnCong     = []string{"block", "pull-ahead", "disconnect"}
	mapReadBal    = []string{"prefer-local", "prefer-remote", "round-robin", "least-pending",
		"when-congested-remote", "32K-striping", "64K-striping", "128K-striping", "256K-striping",
		"512K-striping", "1M-striping"}
)

func enumF(name string, nr uint16, m []string, def int64) field {
	return field{name: name, nr: nr, kind: kEnum, enum: m, def: def}
}
func numF(name string, nr uint16, min, max, def int64, scale byte, unit string) field {
	return field{name: name, nr: nr, kind: kNumeric, min: min, max: max, def: def, scale: scale, unit: unit}
}
func boolF(name string, nr uint16, def int64) field {
	return field{name: name, nr: nr, kind: kBoolean, def: def}
}
func flagF(name string, nr uint16) field { return field{name: name, nr: nr, kind: kFlag} }
func strF(name string, nr uint16) field  { return field{name: name, nr: nr, kind: kString} }

// Field numbers are those of disk_conf, net_conf, ... in drbd_genl.h;
// min/max/default/scale are drbd_limits.h.
var diskOptions = []field{
	enumF("on-io-error", 6, mapOnIOError, 2),
	enumF("fencing", 7, mapFencing, 0),
	boolF("disk-barrier", 16, 0),
	boolF("disk-flushes", 17, 1),
	boolF("disk-drain", 18, 1),
	boolF("md-flushes", 19, 1),
	numF("resync-rate", 8, 1, 4<<20, 250, 'k', "bytes/second"),
	{name: "resync-after", nr: 9, kind: kNumeric, min: -1, max: 1<<20 - 1, def: -1, signed: true, scale: '1'},
	numF("al-extents", 10, 67, 0xfffe, 1237, '1', ""),
	boolF("al-updates", 23, 1),
	boolF("discard-zeroes-if-aligned", 24, 1),
	boolF("disable-write-same", 26, 0),
	numF("c-plan-ahead", 11, 0, 300, 20, '1', "1/10 seconds"),
	numF("c-delay-target", 12, 1, 100, 10, '1', "1/10 seconds"),
	numF("c-fill-target", 13, 0, 1<<20, 100, 's', "bytes"),
	numF("c-max-rate", 14, 250, 4<<20, 102400, 'k', "bytes/second"),
	numF("c-min-rate", 15, 0, 4<<20, 250, 'k', "bytes/second"),
	numF("disk-timeout", 20, 0, 6000, 0, '1', "1/10 seconds"),
	enumF("read-balancing", 21, mapReadBal, 0),
	numF("rs-discard-granularity", 25, 0, 1<<20, 0, '1', ""),
}

var netOptions = []field{
	{name: "protocol", nr: 6, kind: kEnumNoCase, enum: mapProtocol, def: 3},
	numF("timeout", 8, 1, 600, 60, '1', "1/10 seconds"),
	numF("max-epoch-size", 15, 1, 20000, 2048, '1', ""),
	numF("max-buffers", 14, 32, 131072, 2048, '1', ""),
	numF("unplug-watermark", 16, 1, 131072, 2048/16, '1', ""),
	numF("connect-int", 7, 1, 120, 10, '1', "seconds"),
	numF("ping-int", 9, 1, 120, 10, '1', "seconds"),
	numF("sndbuf-size", 11, 0, 10<<20, 0, '1', "bytes"),
	numF("rcvbuf-size", 12, 0, 10<<20, 0, '1', "bytes"),
	numF("ko-count", 13, 0, 200, 7, '1', ""),
	boolF("allow-two-primaries", 24, 0),
	strF("cram-hmac-alg", 2),
	strF("shared-secret", 1),
	enumF("after-sb-0pri", 17, mapAfterSB0, 0),
	enumF("after-sb-1pri", 18, mapAfterSB1, 0),
	enumF("after-sb-2pri", 19, mapAfterSB2, 0),
	boolF("always-asbp", 27, 0),
	enumF("rr-conflict", 20, mapRRConflict, 0),
	numF("ping-timeout", 10, 1, 300, 5, '1', "1/10 seconds"),
	strF("data-integrity-alg", 3),
	boolF("tcp-cork", 26, 1),
	enumF("on-congestion", 21, mapOnCong, 0),
	numF("congestion-fill", 22, 0, 10<<21, 0, 's', "bytes"),
	numF("congestion-extents", 23, 67, 0xfffe, 1237, '1', ""),
	strF("csums-alg", 5),
	boolF("csums-after-crash-only", 33, 0),
	strF("verify-alg", 4),
	boolF("use-rle", 29, 1),
	numF("socket-check-timeout", 34, 0, 300, 0, '1', ""),
}

const diskSizeMax = 2 << 40 // DRBD_DISK_SIZE_MAX

func concat(parts ...[]field) []field {
	var out []field
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Option contexts of the commands (config_flags.c *_ctx).
var (
	ctxDiskOptions = diskOptions
	ctxNetOptions  = netOptions
	ctxPrimary     = []field{flagF("force", 1)}
	ctxAttach      = concat([]field{
		numF("size", 4, 0, diskSizeMax, 0, 's', "bytes"),
		numF("max-bio-bvecs", 5, 0, 128, 0, '1', ""),
	}, diskOptions)
	ctxDetach  = []field{flagF("force", 1)}
	ctxConnect = concat([]field{
		flagF("tentative", 28),
		flagF("discard-my-data", 25),
		{name: "alternate-address", nr: 35, kind: kAddress},
		{name: "alternate-peer-address", nr: 36, kind: kAddress},
	}, netOptions)
	ctxDisconnect = []field{flagF("force", 1)}
	ctxResize     = []field{
		numF("size", 1, 0, diskSizeMax, 0, 's', "bytes"),
		flagF("assume-peer-has-space", 2),
		flagF("assume-clean", 3),
		numF("al-stripes", 4, 1, 1024, 1, '1', ""),
		numF("al-stripe-size-kB", 5, 4, 16777216, 32, 'k', ""),
	}
	ctxResourceOptions = []field{
		strF("cpu-mask", 1),
		enumF("on-no-data-accessible", 2, mapOnNoData, 0),
	}
	ctxNewCurrentUUID = []field{flagF("clear-bitmap", 1)}
	ctxVerify         = []field{
		numF("start", 1, 0, diskSizeMax, 0, 's', "bytes"),
		numF("stop", 2, 0, diskSizeMax, 0, 's', "bytes"),
	}
)

// enumIndex finds value in m (case-insensitively for ENUM_NOCASE).
func (f *field) enumIndex(value string) int {
	for i, s := range f.enum {
		if s == "" {
			continue
		}
		if s == value || f.kind == kEnumNoCase && strings.EqualFold(s, value) {
			return i
		}
	}
	return -1
}

func boolValue(value string, given bool) int {
	if !given || value == "yes" {
		return 1
	}
	if value == "no" {
		return 0
	}
	return -1
}

// attrValue is a parsed option value ready to be put into a set.
type attrValue struct {
	u    uint64
	s    string
	b    []byte
	skip bool // a FLAG that is "no": opens the nest, puts nothing
}

// parse converts a command-line value. ok=false means "Option --%s: invalid
// argument"; strtoll errors exit directly (as m_strtoll does).
func (f *field) parse(value string, given bool) (attrValue, bool) {
	switch f.kind {
	case kEnum, kEnumNoCase:
		i := f.enumIndex(value)
		if i < 0 {
			return attrValue{}, false
		}
		return attrValue{u: uint64(i)}, true
	case kNumeric:
		return attrValue{u: mStrtoll(value, f.scale)}, true
	case kBoolean, kFlag:
		v := boolValue(value, given)
		if v < 0 {
			return attrValue{}, false
		}
		if f.kind == kFlag && v == 0 {
			return attrValue{skip: true}, true
		}
		return attrValue{u: uint64(v)}, true
	case kString:
		return attrValue{s: value}, true
	case kAddress:
		b, err := parseAddress(value)
		if err != nil {
			fail(err)
		}
		return attrValue{b: b}, true
	}
	return attrValue{}, false
}

// usage is the field's part of a command's usage line.
func (f *field) usage() string {
	switch f.kind {
	case kEnum, kEnumNoCase:
		var b strings.Builder
		b.WriteString("[--" + f.name + "=")
		sep := byte('{')
		for _, s := range f.enum {
			if s == "" {
				continue
			}
			b.WriteByte(sep)
			b.WriteString(s)
			sep = '|'
		}
		b.WriteString("}]")
		return b.String()
	case kNumeric:
		return fmt.Sprintf("[--%s=(%d ... %d)]", f.name, f.min, f.max)
	case kBoolean, kFlag:
		return "[--" + f.name + "={yes|no}]"
	case kString:
		return "[--" + f.name + "=<str>]"
	case kAddress:
		return "[--" + f.name + "=[{af}:]{local_addr}[:{port}]]"
	}
	return ""
}

// show renders a raw field value (as received, of wire kind k) the way
// drbdsetup show does, and tells whether it is the field's default.
func (f *field) show(raw []byte, k genl.Kind) (string, bool) {
	u := rawUint(raw, k)
	switch f.kind {
	case kEnum, kEnumNoCase:
		if u >= uint64(len(f.enum)) {
			return "", false
		}
		s := f.enum[u]
		return s, f.enumIndex(s) == int(f.def)
	case kNumeric:
		var s string
		var n int64
		if f.signed {
			switch k {
			case genl.KindU32, genl.KindS32:
				n = int64(int32(uint32(u)))
			default:
				n = int64(u)
			}
			s = strconv.FormatInt(n, 10)
		} else {
			s = strconv.FormatUint(u, 10)
			n = int64(u)
		}
		if f.scale != '1' {
			s += string(f.scale)
		}
		return s, n == f.def
	case kBoolean, kFlag:
		if u != 0 {
			return "yes", f.def == 1
		}
		return "no", f.def == 0
	case kString:
		s := cString(raw)
		return s, s == ""
	case kAddress:
		return formatAddress(raw), true
	}
	return "", false
}

// rawUint reads an integer attribute payload of kind k (host byte order).
func rawUint(raw []byte, k genl.Kind) uint64 {
	switch {
	case k == genl.KindFlag && len(raw) >= 1:
		return uint64(raw[0])
	case (k == genl.KindU32 || k == genl.KindS32) && len(raw) >= 4:
		return uint64(binary.NativeEndian.Uint32(raw))
	case k == genl.KindU64 && len(raw) >= 8:
		return binary.NativeEndian.Uint64(raw)
	}
	return 0
}

func cString(raw []byte) string {
	if i := bytes.IndexByte(raw, 0); i >= 0 {
		return string(raw[:i])
	}
	return string(raw)
}

// needsQuoting tells whether show double-quotes the value.
func (f *field) needsQuoting() bool { return f.kind == kString }

// doubleQuote is config_flags.c double_quote_string.
func doubleQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || s[i] == '"' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// setFieldSpec returns the genl field spec for nr in the set carried by tla.
func setFieldSpec(tla genl.TLA, nr uint16) *genl.FieldSpec {
	sp := genl.SpecOf(tla)
	if sp == nil {
		return nil
	}
	return sp.Field(nr)
}
