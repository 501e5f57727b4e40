package failover

import (
	"fmt"
	"slices"

	"udrbd/drbd"
)

// Input is what a decision is made from.
type Input struct {
	// Complete: the initial events2 dump is in (the view is whole).
	Complete bool
	// Res is the resource as events2 reported it; nil if DRBD does not
	// know it.
	Res *Resource
	// Fencing is each volume's DRBD fencing policy (a volume missing here
	// counts as dont-care).
	Fencing map[int]drbd.FencingPolicy
	// NodeName is this node's name, for preferred-nodes.
	NodeName string
}

// Decision says whether to promote and, if so, after how long.
type Decision struct {
	Promote bool
	// Reason says why, or why not, in words for the log.
	Reason string
	// DelaySeconds is how long to wait before promoting, in seconds
	// (sleep-before-promote-factor × (disk penalty + preferred-nodes rank
	// + fencing-promote-delay when the promotion relies on fencing)).
	DelaySeconds int
	// ReliesOnFencing: some volume's peer disk is not known to be
	// outdated, so the promotion counts on DRBD's fence-peer handler
	// (run by drbdsetup primary) to make it so.
	ReliesOnFencing bool
	// Unsafe: the promotion relies on promote-without-fencing.
	Unsafe bool
}

// lostStates are the connection states (as events2 prints them) in which
// there is no connection to the peer. Anything else, including a state
// this list does not know, counts as connected.
var lostStates = map[string]bool{
	"StandAlone": true, "Disconnecting": true, "Unconnected": true, "Timeout": true,
	"BrokenPipe": true, "NetworkFailure": true, "ProtocolError": true, "TearDown": true,
	ConnConnecting: true, "WFConnection": true,
}

// peerDiskFenced are the peer disk states that cannot be promoted on the
// peer without --force: it has no good data, so it cannot have newer data
// than ours either.
var peerDiskFenced = map[string]bool{DiskOutdated: true, DiskInconsistent: true, DiskDiskless: true}

// diskPenalty is drbd-reactor's sleep-before-promote table (seconds per
// local disk state; the worst volume counts).
func diskPenalty(disk string) int {
	switch disk {
	case DiskUpToDate:
		return 0
	case DiskConsistent:
		return 1
	case DiskOutdated:
		return 2
	case DiskInconsistent:
		return 3
	}
	return 6 // Diskless, Attaching, Detaching, Failed, Negotiating, DUnknown, anything else
}

// DiskPenalty is the worst diskPenalty over the resource's volumes (6
// without volumes).
func DiskPenalty(r *Resource) int {
	if r == nil || len(r.Devices) == 0 {
		return 6
	}
	worst := 0
	for _, d := range r.Devices {
		worst = max(worst, diskPenalty(d.Disk))
	}
	return worst
}

// PreferredRank is node's position in preferred (0 first), len(preferred)
// when it is not listed.
func PreferredRank(preferred []string, node string) int {
	if i := slices.Index(preferred, node); i >= 0 {
		return i
	}
	return len(preferred)
}

// Decide is the promotion rule, a pure function. It promotes only when all
// of these hold, checked in this order (the first that fails is the
// Reason):
//
//  1. the view is complete and DRBD knows the resource;
//  2. the resource is Secondary;
//  3. it has at least one volume;
//  4. no peer is Primary;
//  5. no peer is connected: every connection is in a state without a link
//     (StandAlone, Connecting, NetworkFailure, ...), its peer role is not
//     known and no peer device replicates (replication Off);
//  6. every local volume's disk is UpToDate (never Consistent, Outdated,
//     Inconsistent or anything less);
//  7. for every volume the peer cannot have newer data: its peer disk is
//     Outdated, Inconsistent or Diskless, or the volume's fencing policy is
//     resource-only or resource-and-stonith (then drbdsetup primary runs
//     the fence-peer handler and refuses if it fails), or the
//     configuration opted in with promote-without-fencing.
func Decide(in Input, c *ResourceConfig) Decision {
	no := func(format string, args ...any) Decision {
		return Decision{Reason: fmt.Sprintf(format, args...)}
	}
	r := in.Res
	if !in.Complete {
		return no("initial state not received yet")
	}
	if r == nil {
		return no("DRBD does not know resource %s", c.Name)
	}
	if r.Role != RoleSecondary {
		return no("role is %s, not Secondary", orQ(r.Role))
	}
	if len(r.Devices) == 0 {
		return no("resource has no volumes")
	}
	for _, id := range sortedKeys(r.Connections) {
		cn := r.Connections[id]
		if cn.PeerRole == RolePrimary {
			return no("peer %d is Primary", id)
		}
	}
	for _, id := range sortedKeys(r.Connections) {
		cn := r.Connections[id]
		if !lostStates[cn.State] {
			return no("peer %d is connected (connection:%s)", id, orQ(cn.State))
		}
		if cn.PeerRole != RoleUnknown && cn.PeerRole != "" {
			return no("peer %d role is %s (connected)", id, cn.PeerRole)
		}
		for _, vol := range sortedKeys(cn.PeerDevices) {
			if rs := cn.PeerDevices[vol].Replication; rs != ReplOff && rs != "" {
				return no("peer %d volume %d replicates (replication:%s)", id, vol, rs)
			}
		}
	}
	vols := r.Volumes()
	for _, vol := range vols {
		if d := r.Devices[vol].Disk; d != DiskUpToDate {
			return no("volume %d disk is %s, not UpToDate", vol, orQ(d))
		}
	}
	d := Decision{Promote: true}
	for _, vol := range vols {
		// every peer's disk must be known outdated (no connection: unknown)
		pdisk, fenced := DiskUnknown, len(r.Connections) > 0
		for _, id := range sortedKeys(r.Connections) {
			p := DiskUnknown
			if pd := r.Connections[id].PeerDevices[vol]; pd != nil && pd.PeerDisk != "" {
				p = pd.PeerDisk
			}
			pdisk = p
			if !peerDiskFenced[p] {
				fenced = false
				break
			}
		}
		if fenced {
			continue
		}
		switch fp := in.Fencing[vol]; fp {
		case drbd.FPResource, drbd.FPStonith:
			d.ReliesOnFencing = true
		default:
			if !c.PromoteWithoutFencing {
				return no("volume %d: peer disk is %s and fencing is %s: the peer may have newer data (set a fencing policy and a fence-peer handler, or promote-without-fencing)", vol, pdisk, fencingName(fp))
			}
			d.Unsafe = true
		}
	}
	secs := DiskPenalty(r) + PreferredRank(c.PreferredNodes, in.NodeName)
	if d.ReliesOnFencing || d.Unsafe {
		secs += c.FencingPromoteDelay
	}
	d.DelaySeconds = c.SleepBeforePromoteFactor * secs
	switch {
	case d.Unsafe:
		d.Reason = "peer lost, local data UpToDate, peer disk unknown and not fenced (promote-without-fencing)"
	case d.ReliesOnFencing:
		d.Reason = "peer lost, local data UpToDate, peer to be fenced by DRBD's fence-peer handler"
	default:
		d.Reason = "peer lost, local data UpToDate, peer disk outdated"
	}
	return d
}

func fencingName(fp drbd.FencingPolicy) string {
	if fp == drbd.FPResource || fp == drbd.FPStonith {
		return fp.String()
	}
	return "dont-care"
}

func sortedKeys[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
