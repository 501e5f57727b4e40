// Package units parses numbers the way drbd-utils does for every command line
// (shared_tool.c new_strtoll / m_strtoll): an unsigned number, an optional unit
// suffix (K, M, G as powers of two, s for 512-byte sectors), converted to a
// default unit, with drbd-utils' error texts and exit codes. drbdsetup and
// drbdmeta both use it.
package units

import "fmt"

// Err is a parse result: enum new_strtoll_errs of drbd-utils (shared_tool.h).
type Err int

const (
	OK Err = iota
	ErrDefaultUnit
	ErrMissingNumber
	ErrInvalidNumber
	ErrInvalidUnit
	ErrOutOfRange
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

// Parse is drbd-utils' new_strtoll (shared_tool.c): a number with an optional unit
// (K, M, G: powers of two; s: 512-byte sectors) converted into the unit
// defUnit (1, 'K'/'k' or 's'), rounding up when the target unit is larger.
func Parse(s string, defUnit byte) (uint64, Err) {
	var shift int
	switch defUnit {
	case 0, 1, '1':
		shift = 0
	case 'K', 'k':
		shift = -10
	case 's':
		shift = -9
	default:
		return 0, ErrDefaultUnit
	}
	if s == "" {
		return 0, ErrMissingNumber
	}
	c, v, unit := scanULL(s)
	if c != 1 && c != 2 {
		return 0, ErrInvalidNumber
	}
	switch unit {
	case 0:
		return v, OK
	case 'K', 'k':
		shift += 10
	case 'M', 'm':
		shift += 20
	case 'G', 'g':
		shift += 30
	case 's':
		shift += 9
	default:
		return 0, ErrInvalidUnit
	}
	if shift < 0 {
		shift = -shift
		return (v + (1 << shift) - 1) >> shift, OK
	}
	if v > ^uint64(0)>>shift {
		return 0, ErrOutOfRange
	}
	return v << shift, OK
}

// Message is the exit code and text drbd-utils' m_strtoll prints for err.
func Message(err Err, s string, defUnit byte) (int, string) {
	switch err {
	case ErrDefaultUnit:
		return 100, fmt.Sprintf("unexpected default unit: %d\n", defUnit)
	case ErrMissingNumber:
		return 100, "missing number argument\n"
	case ErrInvalidNumber:
		return 20, s + " is not a valid number\n"
	case ErrInvalidUnit:
		return 20, s + " is not a valid number\n" // sic, drbd-utils 9.22
	case ErrOutOfRange:
		return 20, s + ": out of range\n"
	}
	return 20, "m_stroll() is confused\n"
}
