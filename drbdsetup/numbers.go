package main

import (
	"fmt"
)

// strtollErr is enum new_strtoll_errs (shared_tool.h).
type strtollErr int

const (
	mseOK strtollErr = iota
	mseDefaultUnit
	mseMissingNumber
	mseInvalidNumber
	mseInvalidUnit
	mseOutOfRange
)

// scanULL does what sscanf(s, "%llu%c%c") does: it returns the number of
// conversions (0..3), the value and the first character after it.
func scanULL(s string) (n int, v uint64, unit byte) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	overflow := false
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := uint64(s[i] - '0')
		if v > (^uint64(0)-d)/10 {
			overflow = true
		}
		v = v*10 + d
		i++
	}
	if i == start {
		return 0, 0, 0
	}
	if overflow {
		v = ^uint64(0)
	} else if neg {
		v = -v
	}
	switch len(s) - i {
	case 0:
		return 1, v, 0
	case 1:
		return 2, v, s[i]
	}
	return 3, v, s[i]
}

// newStrtoll is shared_tool.c new_strtoll: a number with an optional unit
// (K, M, G: powers of two; s: 512-byte sectors) converted into the unit
// defUnit (1, 'K'/'k' or 's'), rounding up when the target unit is larger.
func newStrtoll(s string, defUnit byte) (uint64, strtollErr) {
	var shift int
	switch defUnit {
	case 0, 1, '1':
		shift = 0
	case 'K', 'k':
		shift = -10
	case 's':
		shift = -9
	default:
		return 0, mseDefaultUnit
	}
	if s == "" {
		return 0, mseMissingNumber
	}
	c, v, unit := scanULL(s)
	if c != 1 && c != 2 {
		return 0, mseInvalidNumber
	}
	switch unit {
	case 0:
		return v, mseOK
	case 'K', 'k':
		shift += 10
	case 'M', 'm':
		shift += 20
	case 'G', 'g':
		shift += 30
	case 's':
		shift += 9
	default:
		return 0, mseInvalidUnit
	}
	if shift < 0 {
		shift = -shift
		return (v + (1 << shift) - 1) >> shift, mseOK
	}
	if v > ^uint64(0)>>shift {
		return 0, mseOutOfRange
	}
	return v << shift, mseOK
}

// mStrtoll is m_strtoll: on error it prints drbd-utils' message and exits.
func mStrtoll(s string, defUnit byte) uint64 {
	v, err := newStrtoll(s, defUnit)
	if err == mseOK {
		return v
	}
	code, msg := strtollMessage(err, s, defUnit)
	fmt.Fprint(stderr, msg)
	exit(code)
	return 0
}

func strtollMessage(err strtollErr, s string, defUnit byte) (int, string) {
	switch err {
	case mseDefaultUnit:
		return 100, fmt.Sprintf("unexpected default unit: %d\n", defUnit)
	case mseMissingNumber:
		return 100, "missing number argument\n"
	case mseInvalidNumber:
		return 20, s + " is not a valid number\n"
	case mseInvalidUnit:
		return 20, s + " is not a valid number\n" // sic, drbd-utils 9.22
	case mseOutOfRange:
		return 20, s + ": out of range\n"
	}
	return 20, "m_stroll() is confused\n"
}
