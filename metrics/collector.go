package metrics

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"udrbd/drbd"
	"udrbd/node"
)

// KernelVersion is the DRBD kernel module whose behaviour udrbd
// reproduces: the kmod label of drbd_version.
const KernelVersion = "8.4.11"

// Source is what the collector reads at each scrape; *node.Node is one.
type Source interface {
	Snapshot() node.Snapshot
}

// Label names (drbd-reactor's).
const (
	lName       = "name"
	lConnName   = "conn_name"
	lPeerNodeID = "peer_node_id"
	lVolume     = "volume"
	lMinor      = "minor"
)

var (
	resLabels  = []string{lName}
	connLabels = []string{lName, lConnName, lPeerNodeID}
	pdLabels   = []string{lName, lConnName, lPeerNodeID, lVolume}
	devLabels  = []string{lName, lVolume, lMinor}
	latLabels  = []string{lName, lVolume}
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

func with(labels []string, more ...string) []string {
	return append(append([]string(nil), labels...), more...)
}

// The state names drbd-reactor enumerates (DRBD 9's vocabulary; the 8.4
// states map onto it, see connStateName).
var (
	roleNames      = []string{"Unknown", "Primary", "Secondary"}
	diskStateNames = []string{"Diskless", "Attaching", "Detaching", "Failed", "Negotiating",
		"Inconsistent", "Outdated", "DUnknown", "Consistent", "UpToDate"}
	connStateNames = []string{"StandAlone", "Disconnecting", "Unconnected", "Timeout", "BrokenPipe",
		"NetworkFailure", "ProtocolError", "TearDown", "Connecting", "Connected"}
)

var (
	descUp      = desc("drbdreactor_up", "Always 1 while the exporter runs (the udrbd daemon stands in for drbd-reactor here).")
	descVersion = desc("drbd_version", "Always 1; the labels carry the DRBD kernel module version udrbd implements (kmod) and the drbd-utils version (utils).", "kmod", "utils")

	descResources = desc("drbd_resource_resources", "How many resources the node has.")
	descResRole   = desc("drbd_resource_role", "1 for the resource's current role, 0 for the other roles.", with(resLabels, "drbd_resource_role")...)
	descResSusp   = desc("drbd_resource_suspended", "1 while I/O of the resource is suspended (by the user, for lack of data, or by fencing).", resLabels...)
	descResForce  = desc("drbd_resource_forceiofailures", "1 while the resource fails I/O on purpose; DRBD 8.4 has no such mode, so always 0.", resLabels...)

	descConnState = desc("drbd_connection_state", "1 for the connection's current state, 0 for the other states.", with(connLabels, "drbd_connection_state")...)
	descConnCong  = desc("drbd_connection_congested", "1 while the data socket's send buffer is nearly full (udrbd does not measure it: always 0).", connLabels...)
	descConnAP    = desc("drbd_connection_apinflight_bytes", "Bytes of application writes handed to the peer and not yet done on the network side.", connLabels...)
	descConnRS    = desc("drbd_connection_rsinflight_bytes", "Bytes of resync requests sent and not yet answered.", connLabels...)

	descPDOOS  = desc("drbd_peerdevice_outofsync_bytes", "Bytes the bitmap marks as differing from the peer's copy.", pdLabels...)
	descPDSent = desc("drbd_peerdevice_sent_bytes", "Bytes of data sent to the peer since the volume was created.", pdLabels...)
	descPDRecv = desc("drbd_peerdevice_received_bytes", "Bytes of data received from the peer since the volume was created.", pdLabels...)

	descDevState   = desc("drbd_device_state", "1 for the local disk's current state, 0 for the other states.", with(devLabels, "drbd_device_state")...)
	descDevClient  = desc("drbd_device_client", "1 for a volume that is diskless by intent; DRBD 8.4 has no such volumes, so always 0.", devLabels...)
	descDevUnint   = desc("drbd_device_unintentionaldiskless", "1 while the volume has no local disk although it is not diskless by intent.", devLabels...)
	descDevQuorum  = desc("drbd_device_quorum", "1 while the volume has quorum; DRBD 8.4 has no quorum, so I/O never waits for it: always 1.", devLabels...)
	descDevSize    = desc("drbd_device_size_bytes", "Size of the block device in bytes.", devLabels...)
	descDevRead    = desc("drbd_device_read_bytes_total", "Bytes applications read from the volume.", devLabels...)
	descDevWritten = desc("drbd_device_written_bytes_total", "Bytes applications wrote to the volume.", devLabels...)
	descDevAL      = desc("drbd_device_alwrites_total", "Activity-log transactions written to the meta-data since the disk was attached.", devLabels...)
	descDevBM      = desc("drbd_device_bmwrites_total", "Bitmap writes to the meta-data; DRBD 8.4 does not count them, so always 0.", devLabels...)
	descDevUpper   = desc("drbd_device_upperpending", "Application requests inside the volume, not yet completed.", devLabels...)
	descDevLower   = desc("drbd_device_lowerpending", "References to the backing device held by requests and internal work (local_cnt).", devLabels...)
	descDevALSusp  = desc("drbd_device_alsuspended", "1 while writes bypass the activity log (every block out of sync and no peer).", devLabels...)

	descLatLocal = desc("udrbd_local_write_duration_seconds", "Time an application write takes on the backing device, in seconds.", latLabels...)
	descLatNet   = desc("udrbd_network_write_duration_seconds", "Time from handing an application write to the peer until the answer its protocol waits for (B, C) or until it is sent (A), in seconds.", latLabels...)
	descLatApp   = desc("udrbd_application_write_duration_seconds", "Time from an application write's arrival until its completion, in seconds.", latLabels...)
)

var allDescs = []*prometheus.Desc{descUp, descVersion, descResources, descResRole, descResSusp, descResForce,
	descConnState, descConnCong, descConnAP, descConnRS, descPDOOS, descPDSent, descPDRecv,
	descDevState, descDevClient, descDevUnint, descDevQuorum, descDevSize, descDevRead,
	descDevWritten, descDevAL, descDevBM, descDevUpper, descDevLower, descDevALSusp,
	descLatLocal, descLatNet, descLatApp}

// Collector is a prometheus.Collector over a Source: at each scrape it
// takes one snapshot and turns it into drbd-reactor's metrics, plus the
// latency histograms of Latencies (if any).
type Collector struct {
	src   Source
	lat   *Latencies
	utils atomic.Pointer[string]
}

// NewCollector returns a collector over src; lat may be nil (no latency
// histograms).
func NewCollector(src Source, lat *Latencies) *Collector {
	c := &Collector{src: src, lat: lat}
	c.SetUtilsVersion("")
	return c
}

// SetUtilsVersion sets the utils label of drbd_version ("": unknown,
// shown as 0.0.0, as drbd-reactor does when drbdadm does not answer).
func (c *Collector) SetUtilsVersion(v string) {
	if v == "" {
		v = "0.0.0"
	}
	c.utils.Store(&v)
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// kib is a sector count as events2 prints it (KiB, rounded down), which
// drbd-reactor multiplies by 1024.
func kibBytes(sectors uint64) float64 { return float64(sectors / 2 * 1024) }

// connStateName is the connection state in drbd-reactor's vocabulary, as
// drbdsetup-84 events2 prints it: WFConnection is "Connecting",
// WFReportParams (where 8.4 keeps an established connection) "Connected".
func connStateName(c drbd.ConnState) string {
	switch {
	case c == drbd.CWFConnection:
		return "Connecting"
	case c >= drbd.CWFReportParams:
		return "Connected"
	}
	return c.String()
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	enum := func(d *prometheus.Desc, names []string, cur string, labels ...string) {
		for _, n := range names {
			gauge(d, b2f(n == cur), with(labels, n)...)
		}
	}
	snap := c.src.Snapshot()
	gauge(descUp, 1)
	gauge(descVersion, 1, KernelVersion, *c.utils.Load())
	gauge(descResources, float64(len(snap.Resources)))
	for _, r := range snap.Resources {
		enum(descResRole, roleNames, r.Role.String(), r.Name)
		gauge(descResSusp, b2f(r.Suspended), r.Name)
		gauge(descResForce, 0, r.Name)

		// the one connection of 8.4: peer node id 0, named "peer" while configured
		connName := ""
		if r.Connection.Configured {
			connName = "peer"
		}
		cl := []string{r.Name, connName, "0"}
		enum(descConnState, connStateNames, connStateName(r.Connection.State), cl...)
		gauge(descConnCong, b2f(r.Connection.Congested), cl...)
		gauge(descConnAP, float64(r.Connection.APInFlightSectors*512), cl...)
		gauge(descConnRS, float64(r.Connection.RSInFlightSectors*512), cl...)

		for _, d := range r.Devices {
			vol := volumeLabel(d.Volume)
			pl := with(cl, vol)
			gauge(descPDOOS, kibBytes(d.Peer.OutOfSyncSectors), pl...)
			counter(descPDSent, kibBytes(d.Peer.SentSectors), pl...)
			counter(descPDRecv, kibBytes(d.Peer.ReceivedSectors), pl...)

			dl := []string{r.Name, vol, strconv.FormatUint(uint64(d.Minor), 10)}
			enum(descDevState, diskStateNames, d.Disk.String(), dl...)
			gauge(descDevClient, 0, dl...)
			gauge(descDevUnint, b2f(d.Disk == drbd.DDiskless), dl...)
			gauge(descDevQuorum, 1, dl...)
			gauge(descDevSize, kibBytes(d.SizeSectors), dl...)
			counter(descDevRead, float64(d.ReadKiB*1024), dl...)
			counter(descDevWritten, float64(d.WrittenKiB*1024), dl...)
			counter(descDevAL, float64(d.ALWrites), dl...)
			counter(descDevBM, float64(d.BMWrites), dl...)
			gauge(descDevUpper, float64(d.UpperPending), dl...)
			gauge(descDevLower, float64(d.LowerPending), dl...)
			gauge(descDevALSusp, b2f(d.ALSuspended), dl...)

			if c.lat == nil {
				continue
			}
			if v := c.lat.get(r.Name, d.Volume); v != nil {
				for _, h := range []struct {
					d *prometheus.Desc
					h *histogram
				}{{descLatLocal, &v.local}, {descLatNet, &v.network}, {descLatApp, &v.application}} {
					n, sum, b := h.h.read()
					ch <- prometheus.MustNewConstHistogram(h.d, n, sum, b, r.Name, vol)
				}
			}
		}
	}
}

var _ prometheus.Collector = (*Collector)(nil)
