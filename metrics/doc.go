// Package metrics has one job: to export a udrbd node to Prometheus. Its
// Collector turns node.Snapshot into the metrics drbd-reactor's
// prometheus plugin exports (same names, types and labels, so dashboards
// built on drbd-reactor work unchanged) and adds udrbd's write latency
// histograms; Listen serves them at /metrics. The daemon's
// --metrics-listen flag wires it up; docs/metrics.md lists every metric.
//
// The package reads the node; the node knows nothing of it. The data path
// sees only the node.WriteObserver a Latencies hands out, whose methods
// are lock-free counter updates without allocations.
//
// # Values
//
// Every value is computed as drbd-reactor computes it from the
// equivalent field of drbdsetup events2 --statistics: KiB fields
// (written, read, size, out-of-sync, sent, received) times 1024, sector
// fields (ap-in-flight, rs-in-flight) times 512, states as one series per
// state name with 1 for the current one. drbd-reactor's state names are
// DRBD 9's; 8.4's map onto them as drbdsetup-84 events2 prints them: the
// connection state WFConnection is "Connecting", WFReportParams (where
// 8.4 keeps an established connection) is "Connected"; the disk state
// "Detaching" (DRBD 9 only) is always 0.
//
// drbd-reactor exports the state series only with "enums = true"; udrbd
// always does (the example dashboard needs drbd_resource_role).
//
// # DRBD 8.4's single peer
//
// A resource has one connection, whether configured or not (as 8.4's
// events2 shows it), with peer_node_id "0" and conn_name "peer" while a
// connect is configured, "" otherwise; every volume has its peer device.
//
// DRBD 9 facts that 8.4 lacks get the value 8.4 implies:
// drbd_device_quorum is 1 (no quorum, I/O never waits for it; 0 would
// read as "quorum lost" on the dashboards), drbd_device_client and
// drbd_resource_forceiofailures are 0, drbd_device_bmwrites_total stays
// 0 (8.4 does not count bitmap writes). drbd_connection_apinflight_bytes
// and drbd_connection_rsinflight_bytes, which 8.4's events2 lacks, are
// udrbd's own in-flight counts.
// drbd_connection_congested is 0: udrbd does not measure its send
// buffer.
//
// drbd_resource_maypromote and drbd_resource_promotionscore are left
// out: auto-promotion and its score are DRBD 9's, and any value would be
// made up. So is drbd_device_open: udrbd can tell whether its block
// device is open only by opening it exclusively, and a scrape doing that
// would make a concurrent mount fail. (drbd-reactor exports nothing of
// DRBD 9's paths.)
//
// drbdreactor_up (always 1) and drbd_version are kept, as the
// dashboards' instance picker uses drbdreactor_up; drbd_version's kmod is
// KernelVersion and utils what `drbdadm --version` says.
//
// # Latency histograms
//
// udrbd_local_write_duration_seconds, udrbd_network_write_duration_seconds
// and udrbd_application_write_duration_seconds (labels name and volume,
// as drbd-reactor's device metrics, so they join) time each successful
// write, discard and write-zeroes: on the backing device; from handing it
// to the peer until the answer its protocol waits for (B: received, C:
// written) or until it is sent (A); and from its arrival from the block
// layer until it completes.
package metrics
