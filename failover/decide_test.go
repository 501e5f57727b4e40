package failover

import (
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"udrbd/drbd"
)

// twoNode returns a Secondary r0 with one UpToDate volume whose peer was
// lost (connection Connecting, peer Unknown, peer disk as given).
func twoNode(peerDisk string) *Resource {
	return &Resource{
		Name: "r0", Role: RoleSecondary, Suspended: "no",
		Devices: map[int]*Device{0: {Volume: 0, Minor: 0, Disk: DiskUpToDate}},
		Connections: map[int]*Connection{0: {PeerNodeID: 0, State: ConnConnecting, PeerRole: RoleUnknown,
			PeerDevices: map[int]*PeerDevice{0: {Volume: 0, Replication: ReplOff, PeerDisk: peerDisk}}}},
	}
}

func testResourceConfig() *ResourceConfig {
	return &ResourceConfig{Name: "r0", Fencing: "auto", SleepBeforePromoteFactor: 1, FencingPromoteDelay: 5}
}

var (
	fenceResource = map[int]drbd.FencingPolicy{0: drbd.FPResource}
	fenceStonith  = map[int]drbd.FencingPolicy{0: drbd.FPStonith}
	fenceNone     = map[int]drbd.FencingPolicy{0: drbd.FPDontCare}
)

func TestDecide(t *testing.T) {
	mod := func(r *Resource, f func(*Resource)) *Resource { f(r); return r }
	tests := []struct {
		name     string
		complete bool
		res      *Resource
		fencing  map[int]drbd.FencingPolicy
		cfg      func(*ResourceConfig)
		want     bool
		reason   string // a part of the reason
		delay    int
	}{
		{"peer lost, fencing resource-only", true, twoNode(DiskUnknown), fenceResource, nil, true, "fence-peer", 5},
		{"peer lost, fencing resource-and-stonith", true, twoNode(DiskUnknown), fenceStonith, nil, true, "fence-peer", 5},
		{"peer lost, peer Outdated, no fencing", true, twoNode(DiskOutdated), fenceNone, nil, true, "peer disk outdated", 0},
		{"peer lost, peer Inconsistent, no fencing", true, twoNode(DiskInconsistent), fenceNone, nil, true, "peer disk outdated", 0},
		{"peer lost, peer Diskless, no fencing", true, twoNode(DiskDiskless), fenceNone, nil, true, "peer disk outdated", 0},
		{"peer lost, peer Outdated, fencing too: no fencing delay", true, twoNode(DiskOutdated), fenceResource, nil, true, "peer disk outdated", 0},
		{"peer lost, fencing dont-care, peer disk unknown", true, twoNode(DiskUnknown), fenceNone, nil, false, "fencing is dont-care", 0},
		{"fencing policy not known (no entry)", true, twoNode(DiskUnknown), nil, nil, false, "fencing is dont-care", 0},
		{"peer disk last seen UpToDate", true, twoNode(DiskUpToDate), fenceNone, nil, false, "peer disk is UpToDate", 0},
		{"peer disk last seen Consistent", true, twoNode(DiskConsistent), fenceNone, nil, false, "peer disk is Consistent", 0},
		{"dont-care opt-in", true, twoNode(DiskUnknown), fenceNone, func(c *ResourceConfig) { c.PromoteWithoutFencing = true }, true, "promote-without-fencing", 5},
		{"never connected: no connection object", true, mod(twoNode(DiskUnknown), func(r *Resource) { r.Connections = map[int]*Connection{} }), fenceResource, nil, true, "fence-peer", 5},
		{"never connected, no fencing", true, mod(twoNode(DiskUnknown), func(r *Resource) { r.Connections = map[int]*Connection{} }), fenceNone, nil, false, "peer disk is DUnknown", 0},
		{"StandAlone", true, mod(twoNode(DiskUnknown), func(r *Resource) { r.Connections[0].State = "StandAlone" }), fenceResource, nil, true, "", 5},
		{"NetworkFailure", true, mod(twoNode(DiskUnknown), func(r *Resource) { r.Connections[0].State = "NetworkFailure" }), fenceResource, nil, true, "", 5},
		{"initial dump not done", false, twoNode(DiskUnknown), fenceResource, nil, false, "initial state", 0},
		{"resource unknown", true, nil, fenceResource, nil, false, "does not know", 0},
		{"already Primary", true, mod(twoNode(DiskUnknown), func(r *Resource) { r.Role = RolePrimary }), fenceResource, nil, false, "role is Primary", 0},
		{"role Unknown", true, mod(twoNode(DiskUnknown), func(r *Resource) { r.Role = RoleUnknown }), fenceResource, nil, false, "role is Unknown", 0},
		{"no volumes", true, mod(twoNode(DiskUnknown), func(r *Resource) { r.Devices = map[int]*Device{} }), fenceResource, nil, false, "no volumes", 0},
		{"connected to a Primary", true, mod(twoNode(DiskUpToDate), func(r *Resource) {
			r.Connections[0].State, r.Connections[0].PeerRole = ConnConnected, RolePrimary
			r.Connections[0].PeerDevices[0].Replication = "Established"
		}), fenceResource, nil, false, "peer 0 is Primary", 0},
		{"peer Primary although the link looks lost", true, mod(twoNode(DiskUnknown), func(r *Resource) { r.Connections[0].PeerRole = RolePrimary }), fenceResource, nil, false, "is Primary", 0},
		{"connected to a Secondary", true, mod(twoNode(DiskUpToDate), func(r *Resource) {
			r.Connections[0].State, r.Connections[0].PeerRole = ConnConnected, RoleSecondary
		}), fenceResource, nil, false, "connected", 0},
		{"unknown connection state counts as connected", true, mod(twoNode(DiskUnknown), func(r *Resource) { r.Connections[0].State = "Bogus" }), fenceResource, nil, false, "connected", 0},
		{"connection state not reported", true, mod(twoNode(DiskUnknown), func(r *Resource) { r.Connections[0].State = "" }), fenceResource, nil, false, "connected", 0},
		{"peer role known", true, mod(twoNode(DiskUnknown), func(r *Resource) { r.Connections[0].PeerRole = RoleSecondary }), fenceResource, nil, false, "role is Secondary", 0},
		{"peer device still replicating", true, mod(twoNode(DiskUnknown), func(r *Resource) { r.Connections[0].PeerDevices[0].Replication = "SyncSource" }), fenceResource, nil, false, "replicates", 0},
		{"local Outdated", true, mod(twoNode(DiskUnknown), func(r *Resource) { r.Devices[0].Disk = DiskOutdated }), fenceResource, nil, false, "disk is Outdated", 0},
		{"local Consistent", true, mod(twoNode(DiskUnknown), func(r *Resource) { r.Devices[0].Disk = DiskConsistent }), fenceResource, nil, false, "disk is Consistent", 0},
		{"local Inconsistent", true, mod(twoNode(DiskOutdated), func(r *Resource) { r.Devices[0].Disk = DiskInconsistent }), fenceResource, nil, false, "disk is Inconsistent", 0},
		{"local Diskless", true, mod(twoNode(DiskOutdated), func(r *Resource) { r.Devices[0].Disk = DiskDiskless }), fenceResource, nil, false, "disk is Diskless", 0},
		{"one of two volumes Outdated", true, mod(twoNode(DiskUnknown), func(r *Resource) {
			r.Devices[1] = &Device{Volume: 1, Minor: 1, Disk: DiskOutdated}
		}), map[int]drbd.FencingPolicy{0: drbd.FPResource, 1: drbd.FPResource}, nil, false, "volume 1 disk is Outdated", 0},
		{"second volume not fenced", true, mod(twoNode(DiskUnknown), func(r *Resource) {
			r.Devices[1] = &Device{Volume: 1, Minor: 1, Disk: DiskUpToDate}
		}), map[int]drbd.FencingPolicy{0: drbd.FPResource}, nil, false, "volume 1: peer disk is DUnknown", 0},
		{"second volume fenced by its peer disk", true, mod(twoNode(DiskUnknown), func(r *Resource) {
			r.Devices[1] = &Device{Volume: 1, Minor: 1, Disk: DiskUpToDate}
			r.Connections[0].PeerDevices[1] = &PeerDevice{Volume: 1, Replication: ReplOff, PeerDisk: DiskOutdated}
		}), map[int]drbd.FencingPolicy{0: drbd.FPResource}, nil, true, "fence-peer", 5},
		{"a second peer whose disk is unknown", true, mod(twoNode(DiskOutdated), func(r *Resource) {
			r.Connections[1] = &Connection{PeerNodeID: 1, State: "StandAlone", PeerRole: RoleUnknown, PeerDevices: map[int]*PeerDevice{}}
		}), fenceNone, nil, false, "peer disk is DUnknown", 0},
		{"preferred-nodes rank and factor", true, twoNode(DiskUnknown), fenceResource, func(c *ResourceConfig) {
			c.PreferredNodes = []string{"alpha", "beta", "gamma"}
			c.SleepBeforePromoteFactor = 2
		}, true, "", 2 * (5 + 1)},
		{"not in preferred-nodes", true, twoNode(DiskOutdated), fenceNone, func(c *ResourceConfig) {
			c.PreferredNodes = []string{"alpha", "gamma"}
		}, true, "", 2},
		{"factor 0", true, twoNode(DiskUnknown), fenceResource, func(c *ResourceConfig) { c.SleepBeforePromoteFactor = 0 }, true, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testResourceConfig()
			if tt.cfg != nil {
				tt.cfg(c)
			}
			d := Decide(Input{Complete: tt.complete, Res: tt.res, Fencing: tt.fencing, NodeName: "beta"}, c)
			if d.Promote != tt.want || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("Decide = %+v, want promote %v with a reason containing %q", d, tt.want, tt.reason)
			}
			if d.DelaySeconds != tt.delay {
				t.Errorf("delay %d s, want %d", d.DelaySeconds, tt.delay)
			}
		})
	}
}

func TestDiskPenalty(t *testing.T) {
	for disk, want := range map[string]int{
		DiskUpToDate: 0, DiskConsistent: 1, DiskOutdated: 2, DiskInconsistent: 3,
		DiskDiskless: 6, DiskAttaching: 6, "Detaching": 6, DiskFailed: 6, DiskNegotiating: 6, DiskUnknown: 6, "": 6,
	} {
		r := twoNode(DiskUnknown)
		r.Devices[1] = &Device{Volume: 1, Disk: disk}
		if got := DiskPenalty(r); got != want {
			t.Errorf("DiskPenalty with %q = %d, want %d", disk, got, want)
		}
	}
	if DiskPenalty(nil) != 6 || DiskPenalty(&Resource{}) != 6 {
		t.Error("no volumes")
	}
	if PreferredRank(nil, "a") != 0 || PreferredRank([]string{"a", "b"}, "b") != 1 || PreferredRank([]string{"a"}, "z") != 1 {
		t.Error("PreferredRank")
	}
}

// The state names a random view is drawn from: all real ones and some junk.
var (
	anyRole  = []string{RolePrimary, RoleSecondary, RoleUnknown, "", "Bogus"}
	anyDisk  = []string{DiskDiskless, DiskAttaching, DiskFailed, DiskNegotiating, DiskInconsistent, DiskOutdated, DiskUnknown, DiskConsistent, DiskUpToDate, "", "Detaching"}
	anyConn  = []string{"StandAlone", "Disconnecting", "Unconnected", "Timeout", "BrokenPipe", "NetworkFailure", "ProtocolError", "TearDown", ConnConnecting, ConnConnected, "", "Bogus"}
	anyRepl  = []string{ReplOff, "Established", "SyncSource", "SyncTarget", "PausedSyncT", "WFBitMapS", ""}
	anyFence = []drbd.FencingPolicy{drbd.FPDontCare, drbd.FPResource, drbd.FPStonith, drbd.FPNotAvail, 7}
)

// pick draws good three times in four and any value of all otherwise, so that
// views near the promotion boundary are common.
func pick[T any](t *rapid.T, good T, all []T, label string) T {
	if rapid.IntRange(0, 3).Draw(t, label+"-good") > 0 {
		return good
	}
	return rapid.SampledFrom(all).Draw(t, label)
}

func drawView(t *rapid.T) (Input, *ResourceConfig) {
	in := Input{Complete: rapid.IntRange(0, 9).Draw(t, "complete") > 0, NodeName: rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "node")}
	if rapid.IntRange(0, 9).Draw(t, "nil") > 0 {
		r := &Resource{Name: "r0", Role: pick(t, RoleSecondary, anyRole, "role"),
			Devices: map[int]*Device{}, Connections: map[int]*Connection{}}
		vols := rapid.IntRange(0, 3).Draw(t, "vols")
		for v := 0; v < vols; v++ {
			r.Devices[v] = &Device{Volume: v, Minor: v, Disk: pick(t, DiskUpToDate, anyDisk, fmt.Sprint("disk", v))}
		}
		peers := rapid.IntRange(0, 2).Draw(t, "peers")
		for p := 0; p < peers; p++ {
			c := &Connection{PeerNodeID: p, State: pick(t, ConnConnecting, anyConn, fmt.Sprint("conn", p)),
				PeerRole: pick(t, RoleUnknown, anyRole, fmt.Sprint("peerrole", p)), PeerDevices: map[int]*PeerDevice{}}
			for v := 0; v < vols+1; v++ { // sometimes a peer device for a volume we lack, sometimes none
				if rapid.Bool().Draw(t, fmt.Sprint("pd", p, v)) {
					c.PeerDevices[v] = &PeerDevice{Volume: v, Replication: pick(t, ReplOff, anyRepl, fmt.Sprint("repl", p, v)),
						PeerDisk: pick(t, DiskOutdated, anyDisk, fmt.Sprint("pdisk", p, v))}
				}
			}
			r.Connections[p] = c
		}
		in.Res = r
		in.Fencing = map[int]drbd.FencingPolicy{}
		for v := 0; v < vols; v++ {
			if rapid.IntRange(0, 4).Draw(t, fmt.Sprint("hasfence", v)) > 0 {
				in.Fencing[v] = pick(t, drbd.FPResource, anyFence, fmt.Sprint("fence", v))
			}
		}
	}
	c := testResourceConfig()
	c.PromoteWithoutFencing = rapid.IntRange(0, 3).Draw(t, "optin") == 0
	c.SleepBeforePromoteFactor = rapid.IntRange(0, 5).Draw(t, "factor")
	c.FencingPromoteDelay = rapid.IntRange(0, 10).Draw(t, "fencedelay")
	if rapid.Bool().Draw(t, "haspref") {
		c.PreferredNodes = []string{"b", "a"}
	}
	return in, c
}

// TestDecideSafety checks the safety rules over random views: whatever the
// view, a promotion implies every one of them.
func TestDecideSafety(t *testing.T) {
	promoted := 0
	rapid.Check(t, func(t *rapid.T) {
		in, c := drawView(t)
		d := Decide(in, c)
		if d.Promote {
			promoted++
		}
		if d.DelaySeconds < 0 {
			t.Fatalf("negative delay %d", d.DelaySeconds)
		}
		if !d.Promote {
			if d.Reason == "" {
				t.Fatal("a refusal without a reason")
			}
			return
		}
		r := in.Res
		if !in.Complete || r == nil {
			t.Fatal("promoted on an incomplete view or an unknown resource")
		}
		if r.Role != RoleSecondary {
			t.Fatalf("promoted while %s", r.Role)
		}
		if len(r.Devices) == 0 {
			t.Fatal("promoted without volumes")
		}
		for v, dev := range r.Devices {
			if dev.Disk != DiskUpToDate {
				t.Fatalf("promoted with volume %d %s", v, dev.Disk)
			}
		}
		for id, cn := range r.Connections {
			if cn.PeerRole == RolePrimary {
				t.Fatalf("promoted while peer %d is Primary", id)
			}
			if cn.State == ConnConnected || !lostStates[cn.State] {
				t.Fatalf("promoted while peer %d is %q", id, cn.State)
			}
			if cn.PeerRole == RoleSecondary {
				t.Fatalf("promoted while peer %d is connected as Secondary", id)
			}
			for v, pd := range cn.PeerDevices {
				if pd.Replication != ReplOff && pd.Replication != "" {
					t.Fatalf("promoted while peer %d volume %d is %s", id, v, pd.Replication)
				}
			}
		}
		for v := range r.Devices {
			fenced := len(r.Connections) > 0
			for _, cn := range r.Connections {
				pd := cn.PeerDevices[v]
				if pd == nil || (pd.PeerDisk != DiskOutdated && pd.PeerDisk != DiskInconsistent && pd.PeerDisk != DiskDiskless) {
					fenced = false
				}
			}
			policy := in.Fencing[v] == drbd.FPResource || in.Fencing[v] == drbd.FPStonith
			if !fenced && !policy && !c.PromoteWithoutFencing {
				t.Fatalf("promoted volume %d: peer not known outdated, fencing %v, no opt-in", v, in.Fencing[v])
			}
			if !fenced && !policy && !d.Unsafe {
				t.Fatalf("an unfenced promotion of volume %d not flagged unsafe", v)
			}
		}
		// the opt-in only ever widens what promotes
		if c.PromoteWithoutFencing {
			return
		}
		c2 := *c
		c2.PromoteWithoutFencing = true
		if !Decide(in, &c2).Promote {
			t.Fatal("promote-without-fencing = true refused what false allowed")
		}
	})
	if promoted == 0 {
		t.Error("no random view promoted: the property was never exercised")
	}
	t.Logf("%d random views promoted", promoted)
}
