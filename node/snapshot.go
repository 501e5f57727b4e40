package node

import (
	"udrbd/drbd"
)

// Snapshot is a copy of what the node reports about its resources, with
// the values of the events2 statistics (drbdsetup events2 --statistics),
// for exporters. The numbers are read one by one, not under one lock: each
// is current, together they are nearly so.
type Snapshot struct {
	Resources []ResourceSnapshot // in creation order
}

// ResourceSnapshot is one resource: its resource, connection, device and
// peer-device objects as events2 shows them.
type ResourceSnapshot struct {
	Name string
	// Role is the resource's role: Primary if any volume is, else
	// Secondary (also without volumes).
	Role drbd.Role
	// Suspended: I/O of some volume is suspended (by the user, for lack
	// of data or by fencing).
	Suspended bool
	// WriteOrdering is res_stat_write_ordering (0 none, 1 drain, 2 flush).
	WriteOrdering uint32
	// Connection is the resource's one connection, which DRBD 8.4 has
	// even when none is configured.
	Connection ConnectionSnapshot
	Devices    []DeviceSnapshot // by volume number
}

// ConnectionSnapshot is the connection object of a resource.
type ConnectionSnapshot struct {
	// Configured: a connect is in effect (events2 then names the
	// connection "conn-name:peer").
	Configured bool
	// State is the connection's state as 8.4 keeps it (connection->cstate):
	// the volumes' lowest, never above WFReportParams; StandAlone without
	// volumes.
	State drbd.ConnState
	// PeerRole is the peer's role (Unknown while not connected).
	PeerRole drbd.Role
	// Congested: the data socket's send buffer is nearly full (udrbd does
	// not measure it yet: always false, as its events2).
	Congested bool
	// APInFlightSectors: application writes handed to the peer whose
	// network half is not done; RSInFlightSectors: resync requests not yet
	// answered. Sums over the volumes.
	APInFlightSectors, RSInFlightSectors uint64
}

// DeviceSnapshot is one volume (minor): its device and peer-device objects.
type DeviceSnapshot struct {
	Volume, Minor uint32
	Disk          drbd.DiskState
	// (Whether the block device is open is not here: udrbd can only tell
	// by opening it exclusively, which would make a concurrent mount fail.)
	// SizeSectors is the exposed size.
	SizeSectors uint64
	// ReadKiB, WrittenKiB: application data read and written (the
	// written amount counts every write handed to the device, as the
	// events2 "written" of this volume).
	ReadKiB, WrittenKiB uint64
	// ALWrites: activity-log transactions written while attached;
	// BMWrites: bitmap writes, which DRBD 8.4 never counts (always 0).
	ALWrites, BMWrites uint64
	// UpperPending: application requests in the device; LowerPending:
	// references to the backing device held (local_cnt).
	UpperPending, LowerPending uint64
	ALSuspended                bool
	Peer                       PeerDeviceSnapshot
}

// PeerDeviceSnapshot is a volume's side of the connection.
type PeerDeviceSnapshot struct {
	// Replication is the replication state (the volume's connection
	// state, never below WFReportParams, as events2).
	Replication drbd.ConnState
	PeerDisk    drbd.DiskState
	// SentSectors, ReceivedSectors: data sent to and received from the
	// peer (application writes, resync, reads).
	SentSectors, ReceivedSectors uint64
	// OutOfSyncSectors: the blocks the bitmap marks out of sync (0 without
	// a disk of at least Inconsistent).
	OutOfSyncSectors uint64
	Pending, Unacked uint32
}

// Snapshot returns the state and counters of every resource.
func (n *Node) Snapshot() Snapshot {
	res := n.sortedResources()
	s := Snapshot{Resources: make([]ResourceSnapshot, 0, len(res))}
	for _, r := range res {
		ri := n.resInfo(r)
		ci := n.connInfo(r)
		n.mu.Lock()
		vols := r.sortedVols()
		configured := r.netConf != nil
		n.mu.Unlock()
		rs := ResourceSnapshot{Name: r.name, Role: drbd.Role(ri.ResRole), Suspended: ri.ResSusp || ri.ResSuspNod || ri.ResSuspFen,
			WriteOrdering: r.wo.Load(),
			Connection: ConnectionSnapshot{Configured: configured, State: drbd.ConnState(ci.ConnConnectionState),
				PeerRole: drbd.Role(ci.ConnRole)},
			Devices: make([]DeviceSnapshot, 0, len(vols))}
		for _, m := range vols {
			d := m.snapshot()
			rs.Devices = append(rs.Devices, d)
			if pd := m.peerDevice(); pd != nil {
				st := pd.Stats()
				rs.Connection.APInFlightSectors += st.APInFlightSectors
				rs.Connection.RSInFlightSectors += st.RSInFlightSectors
			}
		}
		s.Resources = append(s.Resources, rs)
	}
	return s
}

func (m *Minor) snapshot() DeviceSnapshot {
	st := m.dev.State()
	d := DeviceSnapshot{Volume: m.vol, Minor: m.minor, Disk: st.Disk, SizeSectors: m.Capacity(),
		ReadKiB: m.reads.Load(), WrittenKiB: m.writes.Load(),
		UpperPending: uint64(max(m.upper.Load(), 0)), LowerPending: uint64(max(m.dev.LocalCount(), 0))}
	pi := peerInfo(st)
	d.Peer = PeerDeviceSnapshot{Replication: drbd.ConnState(pi.PeerReplState), PeerDisk: drbd.DiskState(pi.PeerDiskState)}
	if pd := m.peerDevice(); pd != nil {
		ps := pd.Stats()
		d.Peer.SentSectors, d.Peer.ReceivedSectors = ps.SentSectors, ps.ReceivedSectors
		d.Peer.Pending, d.Peer.Unacked = ps.Pending, ps.Unacked
	}
	// as deviceMessage and peerDeviceMessage
	if m.dev.GetLdevIfState(drbd.DFailed) {
		l := m.ld()
		d.ALWrites = l.alWrites.Load()
		d.ALSuspended = l.alSuspended.Load()
		m.dev.PutLdev()
	}
	if m.dev.GetLdevIfState(drbd.DInconsistent) {
		l := m.ld()
		l.mu.Lock()
		d.Peer.OutOfSyncSectors = l.bm.Count() << 3
		l.mu.Unlock()
		m.dev.PutLdev()
	}
	return d
}
