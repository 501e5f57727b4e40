package failover

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is one line of `drbdsetup events2` (the DRBD 8.4 grammar that
// drbdsetup-84 and udrbd's drbdsetup print):
//
//	[TIMESTAMP] ACTION OBJECT name:RES [peer-node-id:N] [conn-name:C] [volume:V] [minor:M] KEY:VALUE...
//	[TIMESTAMP] exists -
//	- skipped N
type Event struct {
	Time     time.Time // zero without --timestamps
	Action   string    // exists, create, change, destroy, call, response
	Object   string    // resource, connection, device, peer-device, helper; "" for "exists -" and "- skipped"
	Resource string
	// PeerNodeID, Volume and Minor are -1 when the line does not carry them.
	PeerNodeID int
	Volume     int
	Minor      int
	ConnName   string
	// Fields holds every other KEY:VALUE pair of the line (role, disk,
	// connection, replication, peer-disk, suspended, helper, status...).
	Fields map[string]string
	// InitialDone marks "exists -": the end of the initial state dump.
	InitialDone bool
	// Skipped is N of "- skipped N": notifications were lost.
	Skipped int
}

var eventActions = map[string]bool{
	"exists": true, "create": true, "change": true, "destroy": true, "call": true, "response": true,
}

var eventObjects = map[string]bool{
	"resource": true, "connection": true, "device": true, "peer-device": true, "helper": true,
}

// ParseLine parses one events2 line (without its newline). It is pure: the
// same line always gives the same Event or the same error.
func ParseLine(line string) (Event, error) {
	ev := Event{PeerNodeID: -1, Volume: -1, Minor: -1}
	toks := strings.Fields(line)
	if len(toks) == 0 {
		return ev, fmt.Errorf("empty line")
	}
	if toks[0] == "-" {
		if len(toks) != 3 || toks[1] != "skipped" {
			return ev, fmt.Errorf("malformed skip line %q", line)
		}
		n, err := strconv.Atoi(toks[2])
		if err != nil {
			return ev, fmt.Errorf("malformed skip count %q", toks[2])
		}
		ev.Skipped = n
		return ev, nil
	}
	if c := toks[0][0]; c >= '0' && c <= '9' {
		t, err := time.Parse(time.RFC3339, toks[0])
		if err != nil {
			return ev, fmt.Errorf("malformed timestamp %q", toks[0])
		}
		ev.Time = t
		toks = toks[1:]
		if len(toks) == 0 {
			return ev, fmt.Errorf("timestamp without event")
		}
	}
	if !eventActions[toks[0]] {
		return ev, fmt.Errorf("unknown action %q", toks[0])
	}
	ev.Action = toks[0]
	if len(toks) < 2 {
		return ev, fmt.Errorf("%s without an object", ev.Action)
	}
	if toks[1] == "-" {
		if ev.Action != "exists" || len(toks) != 2 {
			return ev, fmt.Errorf("malformed end-of-dump line %q", line)
		}
		ev.InitialDone = true
		return ev, nil
	}
	if !eventObjects[toks[1]] {
		return ev, fmt.Errorf("unknown object %q", toks[1])
	}
	ev.Object = toks[1]
	ev.Fields = map[string]string{}
	for _, tok := range toks[2:] {
		k, v, ok := strings.Cut(tok, ":")
		if !ok || k == "" {
			return ev, fmt.Errorf("malformed field %q", tok)
		}
		var err error
		switch k {
		case "name":
			ev.Resource = v
		case "conn-name":
			ev.ConnName = v
		case "peer-node-id":
			ev.PeerNodeID, err = parseIndex(k, v)
		case "volume":
			ev.Volume, err = parseIndex(k, v)
		case "minor":
			ev.Minor, err = parseIndex(k, v)
		default:
			ev.Fields[k] = v
		}
		if err != nil {
			return ev, err
		}
	}
	if ev.Resource == "" {
		return ev, fmt.Errorf("%s %s without name:", ev.Action, ev.Object)
	}
	switch ev.Object {
	case "device":
		if ev.Volume < 0 {
			return ev, fmt.Errorf("device of %s without volume:", ev.Resource)
		}
	case "peer-device":
		if ev.Volume < 0 {
			return ev, fmt.Errorf("peer-device of %s without volume:", ev.Resource)
		}
	}
	return ev, nil
}

func parseIndex(k, v string) (int, error) {
	n, err := strconv.ParseUint(v, 10, 31)
	if err != nil {
		return -1, fmt.Errorf("malformed %s:%s", k, v)
	}
	return int(n), nil
}
