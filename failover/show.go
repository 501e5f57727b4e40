package failover

import (
	"fmt"
	"strconv"
	"strings"

	"udrbd/drbd"
)

// ParseShowFencing reads each volume's fencing policy of resource res out of
// `drbdsetup show RES` (the 8.4 drbd.conf-like format): 8.4 keeps fencing
// in the disk options, so it appears as "fencing resource-only;" in a
// volume's disk section, and is left out when it has the default value,
// dont-care. Every volume in the output gets an entry.
func ParseShowFencing(out, res string) (map[int]drbd.FencingPolicy, error) {
	type block struct{ kind, arg string }
	var stack []block
	found := false
	pol := map[int]drbd.FencingPolicy{}
	inside := func(kinds ...string) bool {
		if len(stack) != len(kinds) {
			return false
		}
		for i, k := range kinds {
			if stack[i].kind != k {
				return false
			}
		}
		return true
	}
	volume := func() int {
		for _, b := range stack {
			if b.kind == "volume" {
				n, _ := strconv.Atoi(b.arg)
				return n
			}
		}
		return -1
	}
	for lineNo, line := range strings.Split(out, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch {
		case f[len(f)-1] == "{":
			b := block{kind: f[0]}
			if len(f) > 2 {
				b.arg = f[1]
			}
			stack = append(stack, b)
			switch {
			case inside("resource"):
				if b.arg == res {
					found = true
				}
			case inside("resource", "_this_host", "volume"):
				n, err := strconv.Atoi(b.arg)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("drbdsetup show line %d: bad volume %q", lineNo+1, b.arg)
				}
				if stack[0].arg == res {
					pol[n] = drbd.FPDontCare
				}
			}
		case f[0] == "}":
			if len(stack) == 0 {
				return nil, fmt.Errorf("drbdsetup show line %d: unbalanced }", lineNo+1)
			}
			stack = stack[:len(stack)-1]
		case f[0] == "fencing" && inside("resource", "_this_host", "volume", "disk") && stack[0].arg == res:
			if len(f) != 2 {
				return nil, fmt.Errorf("drbdsetup show line %d: malformed fencing option", lineNo+1)
			}
			v := strings.TrimSuffix(f[1], ";")
			p, ok := drbd.ParseFencingPolicy(v)
			if !ok {
				return nil, fmt.Errorf("drbdsetup show line %d: unknown fencing policy %q", lineNo+1, v)
			}
			pol[volume()] = p
		}
	}
	if len(stack) != 0 {
		return nil, fmt.Errorf("drbdsetup show: %d unclosed blocks", len(stack))
	}
	if !found {
		return nil, fmt.Errorf("resource %s is not in the drbdsetup show output", res)
	}
	return pol, nil
}
