package failover

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// State names as events2 prints them (DRBD 9 vocabulary, which drbdsetup-84
// uses for 8.4 too).
const (
	RolePrimary   = "Primary"
	RoleSecondary = "Secondary"
	RoleUnknown   = "Unknown"

	DiskDiskless     = "Diskless"
	DiskAttaching    = "Attaching"
	DiskFailed       = "Failed"
	DiskNegotiating  = "Negotiating"
	DiskInconsistent = "Inconsistent"
	DiskOutdated     = "Outdated"
	DiskUnknown      = "DUnknown"
	DiskConsistent   = "Consistent"
	DiskUpToDate     = "UpToDate"

	ConnConnected  = "Connected"  // 8.4 C_WF_REPORT_PARAMS and above
	ConnConnecting = "Connecting" // 8.4 C_WF_CONNECTION
	ReplOff        = "Off"        // a peer device without a connection
)

// Resource is what the agent knows of one DRBD resource from events2.
// Fields not yet reported are "".
type Resource struct {
	Name        string
	Role        string
	Suspended   string
	Devices     map[int]*Device     // by volume
	Connections map[int]*Connection // by peer-node-id (8.4 has one, id 0)
}

// Device is one local volume.
type Device struct {
	Volume int
	Minor  int
	Disk   string
}

// Connection is the connection to one peer and its peer devices.
type Connection struct {
	PeerNodeID  int
	Name        string
	State       string              // connection:
	PeerRole    string              // role:
	PeerDevices map[int]*PeerDevice // by volume
}

// PeerDevice is one volume as the peer has it.
type PeerDevice struct {
	Volume      int
	Replication string
	PeerDisk    string
}

// View is the state of every resource the events2 stream reported.
type View struct {
	// Complete is set by "exists -": the initial dump is in. Before that a
	// resource may look like it lacks a connection or a volume it has.
	Complete  bool
	Resources map[string]*Resource
}

// NewView returns an empty view.
func NewView() *View { return &View{Resources: map[string]*Resource{}} }

// Apply folds one event into the view. Unknown fields are ignored; an
// object that changes before it was created is created. It returns the
// name of the resource the event concerned ("" for none).
func (v *View) Apply(ev Event) string {
	if ev.InitialDone {
		v.Complete = true
		return ""
	}
	if ev.Object == "" || ev.Object == "helper" || ev.Action == "call" || ev.Action == "response" {
		return ev.Resource
	}
	destroy := ev.Action == "destroy"
	r := v.Resources[ev.Resource]
	if r == nil {
		if destroy {
			return ev.Resource
		}
		r = &Resource{Name: ev.Resource, Devices: map[int]*Device{}, Connections: map[int]*Connection{}}
		v.Resources[ev.Resource] = r
	}
	f := ev.Fields
	set := func(dst *string, key string) {
		if val, ok := f[key]; ok {
			*dst = val
		}
	}
	peer := ev.PeerNodeID
	if peer < 0 {
		peer = 0
	}
	switch ev.Object {
	case "resource":
		if destroy {
			delete(v.Resources, ev.Resource)
			return ev.Resource
		}
		set(&r.Role, "role")
		set(&r.Suspended, "suspended")
	case "device":
		if destroy {
			delete(r.Devices, ev.Volume)
			return ev.Resource
		}
		d := r.Devices[ev.Volume]
		if d == nil {
			d = &Device{Volume: ev.Volume, Minor: -1}
			r.Devices[ev.Volume] = d
		}
		if ev.Minor >= 0 {
			d.Minor = ev.Minor
		}
		set(&d.Disk, "disk")
	case "connection":
		if destroy {
			delete(r.Connections, peer)
			return ev.Resource
		}
		c := r.conn(peer)
		if ev.ConnName != "" {
			c.Name = ev.ConnName
		}
		set(&c.State, "connection")
		set(&c.PeerRole, "role")
	case "peer-device":
		c := r.Connections[peer]
		if destroy {
			if c != nil {
				delete(c.PeerDevices, ev.Volume)
			}
			return ev.Resource
		}
		if c == nil {
			c = r.conn(peer)
		}
		pd := c.PeerDevices[ev.Volume]
		if pd == nil {
			pd = &PeerDevice{Volume: ev.Volume}
			c.PeerDevices[ev.Volume] = pd
		}
		set(&pd.Replication, "replication")
		set(&pd.PeerDisk, "peer-disk")
	}
	return ev.Resource
}

func (r *Resource) conn(peer int) *Connection {
	c := r.Connections[peer]
	if c == nil {
		c = &Connection{PeerNodeID: peer, PeerDevices: map[int]*PeerDevice{}}
		r.Connections[peer] = c
	}
	return c
}

// Clone returns a deep copy (nil for nil).
func (r *Resource) Clone() *Resource {
	if r == nil {
		return nil
	}
	n := *r
	n.Devices = make(map[int]*Device, len(r.Devices))
	for k, d := range r.Devices {
		dd := *d
		n.Devices[k] = &dd
	}
	n.Connections = make(map[int]*Connection, len(r.Connections))
	for k, c := range r.Connections {
		cc := *c
		cc.PeerDevices = make(map[int]*PeerDevice, len(c.PeerDevices))
		for vk, pd := range c.PeerDevices {
			p := *pd
			cc.PeerDevices[vk] = &p
		}
		n.Connections[k] = &cc
	}
	return &n
}

// Volumes returns the volume numbers in ascending order.
func (r *Resource) Volumes() []int {
	return slices.Sorted(maps.Keys(r.Devices))
}

// String is a one-line summary for logs and --dry-run, e.g.
// "r0 role:Secondary peer0:Connecting/Unknown vol0(minor:0):UpToDate peer-vol0:Off/Outdated".
func (r *Resource) String() string {
	if r == nil {
		return "(unknown resource)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s role:%s", r.Name, orQ(r.Role))
	for _, id := range slices.Sorted(maps.Keys(r.Connections)) {
		c := r.Connections[id]
		fmt.Fprintf(&b, " peer%d:%s/%s", id, orQ(c.State), orQ(c.PeerRole))
	}
	for _, vol := range r.Volumes() {
		d := r.Devices[vol]
		fmt.Fprintf(&b, " vol%d(minor:%d):%s", vol, d.Minor, orQ(d.Disk))
	}
	for _, id := range slices.Sorted(maps.Keys(r.Connections)) {
		c := r.Connections[id]
		for _, vol := range slices.Sorted(maps.Keys(c.PeerDevices)) {
			pd := c.PeerDevices[vol]
			fmt.Fprintf(&b, " peer%d-vol%d:%s/%s", id, vol, orQ(pd.Replication), orQ(pd.PeerDisk))
		}
	}
	return b.String()
}

func orQ(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
