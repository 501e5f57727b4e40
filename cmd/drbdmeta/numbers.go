package main

import (
	"fmt"
	"strconv"
	"strings"

	"udrbd/internal/units"
)

// strtolBase0 parses like C strtol(s, &e, 0) and reports whether the whole
// string was consumed and in range: optional leading space, sign, "0x" hex,
// leading-0 octal, decimal.
func strtolBase0(s string) (int64, bool) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	base := 10
	switch {
	case len(t) > 2 && (t[:2] == "0x" || t[:2] == "0X"):
		base, t = 16, t[2:]
	case len(t) > 1 && t[0] == '0':
		base, t = 8, t[1:]
	}
	if t == "" {
		return 0, false
	}
	v, err := strconv.ParseInt(t, base, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// mStrtoll is drbd-utils' m_strtoll: a number with an optional unit suffix
// scaled to the default unit defUnit ('1' or 'k'). It exits with drbd-utils'
// messages and codes on bad input.
func mStrtoll(s string, defUnit byte) uint64 {
	v, err := units.Parse(s, defUnit)
	if err != units.OK {
		code, msg := units.Message(err, s, defUnit)
		fail(code, "%s", msg)
	}
	return v
}

// ppsize is drbd-utils' ppsize: kibibytes rendered with a unit, rounding.
func ppsize(kb uint64) string {
	units := "KMGTPE"
	base := 0
	for kb >= 10000 && base < len(units)-1 {
		r := uint64(0)
		if kb&(1<<9) != 0 {
			r = 1
		}
		kb = kb>>10 + r
		base++
	}
	return fmt.Sprintf("%d %cB", uint32(kb), units[base])
}

// strtoull16 is C's strtoull(s, NULL, 16) with the end pointer and errno
// ignored: leading white space, an optional sign (minus negates modulo
// 2^64), an optional 0x/0X, then hex digits up to the first other
// character; no digits give 0, overflow gives the maximum.
func strtoull16(s string) uint64 {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i+2 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && hexVal(s[i+2]) >= 0 {
		i += 2
	}
	var v uint64
	over := false
	for ; i < len(s); i++ {
		d := hexVal(s[i])
		if d < 0 {
			break
		}
		if v > (^uint64(0)-uint64(d))/16 {
			over = true
		}
		v = v*16 + uint64(d)
	}
	if over {
		return ^uint64(0)
	}
	if neg {
		return -v
	}
	return v
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
