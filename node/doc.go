// Package node is the udrbd daemon's core: it plays the DRBD 8.4 kernel
// module's part for one host — resources, minors and their devices, the
// netlink handlers behind the control socket, and the data path from the
// block device (ublk) through the state engine's IO gate and the activity
// log to the backing disk and its meta-data.
//
// It mirrors, as facts, the request skeletons of drbd/drbd_nl.c
// (drbd_adm_new_resource, drbd_adm_new_minor, drbd_adm_del_minor,
// drbd_adm_del_resource, drbd_adm_attach, drbd_adm_detach,
// drbd_adm_set_role, drbd_adm_down, drbd_adm_get_status,
// drbd_adm_dump_{resources,devices,connections,peer_devices},
// drbd_adm_get_initial_state, the notify_* and drbd_bcast_event
// broadcasts), the meta-data write discipline of drbd/drbd_main.c
// (drbd_md_write always stores the 8.4 "unclean" magic while attached,
// the MDF_* flags are recomputed on every state change) and of
// drbd/drbd_actlog.c (before an activity-log transaction evicts an extent
// the bitmap blocks covering it are written; the transaction is written
// and flushed before the write that needed it proceeds).
//
// # Layers
//
// The block device is behind BlockLayer (ublk in the daemon, a fake in
// unit tests). Each block request takes IncApBio (the IO gate:
// suspension, unstable states), GetLdev (a local-disk reference), for
// writes the activity log for all its extents at once (all or nothing, so
// that two writers spanning extent boundaries cannot deadlock a small
// log), the backing file, and on failure the state engine's IOError,
// which applies on-io-error. A request none of whose steps would wait
// runs on the block layer's goroutine (the ublk queue's); any other
// request runs in a goroutine of its own.
//
// # Exporters
//
// Snapshot copies what events2 reports (states and statistics) into plain
// structs; package metrics turns it into Prometheus metrics. The node does
// not know the exporter: Options.Observe hands each minor a WriteObserver
// (nil by default), which the data path tells how long each write took on
// the backing device, on the network (through the peer device) and as a
// whole.
//
// # Deviations
//
//   - Without a peer every write marks its blocks out of sync in the
//     bitmap, as DRBD does for writes no peer acknowledged.
//   - A Secondary device serves reads (the kernel refuses to open it);
//     writes to a Secondary fail with EIO.
//   - The ublk device of a minor is created at its first attach (ublk
//     needs a non-zero size; kernels before 6.16 cannot resize it) and
//     lives until del-minor; the /dev/drbdN and by-res symlinks are made
//     at new-minor.
//   - On restart the daemon replays its own activity log into the bitmap
//     before re-attaching (what drbdadm does with "drbdmeta apply-al").
package node
