package metadata

import "strings"

// Flags are the MDF_* superblock flags (include/linux/drbd.h).
type Flags uint32

// Superblock flags.
const (
	FlagConsistent     Flags = 1 << 0 // MDF_CONSISTENT
	FlagPrimaryInd     Flags = 1 << 1 // MDF_PRIMARY_IND
	FlagConnectedInd   Flags = 1 << 2 // MDF_CONNECTED_IND
	FlagFullSync       Flags = 1 << 3 // MDF_FULL_SYNC
	FlagWasUpToDate    Flags = 1 << 4 // MDF_WAS_UP_TO_DATE
	FlagPeerOutDated   Flags = 1 << 5 // MDF_PEER_OUT_DATED
	FlagCrashedPrimary Flags = 1 << 6 // MDF_CRASHED_PRIMARY
	FlagALClean        Flags = 1 << 7 // MDF_AL_CLEAN
	FlagALDisabled     Flags = 1 << 8 // MDF_AL_DISABLED
)

var flagNames = [...]string{
	"Consistent", "PrimaryInd", "ConnectedInd", "FullSync", "WasUpToDate",
	"PeerOutDated", "CrashedPrimary", "ALClean", "ALDisabled",
}

// String lists the set flags by name, joined with "|"; unknown bits are shown
// in hex.
func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if rest := f &^ (1<<len(flagNames) - 1); rest != 0 {
		parts = append(parts, "0x"+strings.ToUpper(hex32(uint32(rest))))
	}
	return strings.Join(parts, "|")
}

func hex32(v uint32) string {
	const digits = "0123456789abcdef"
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[:])
}
