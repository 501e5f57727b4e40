package main

import (
	"fmt"

	"udrbd/internal/units"
)

// mStrtoll is m_strtoll: on error it prints drbd-utils' message and exits.
func mStrtoll(s string, defUnit byte) uint64 {
	v, err := units.Parse(s, defUnit)
	if err == units.OK {
		return v
	}
	code, msg := units.Message(err, s, defUnit)
	fmt.Fprint(stderr, msg)
	exit(code)
	return 0
}
