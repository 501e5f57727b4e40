// Package peer is one DRBD 8.4 connection: the handshake with the peer
// node, the exchange of UUIDs, sizes and states, the replication of
// application writes, and the resync between the two disks.
//
// # Sync decision
//
// The part that decides, on connect, whether and in which direction to
// resync (compare.go, handshake.go, resync.go) is pure: no I/O, no
// goroutines, no globals. Its inputs are what the two nodes exchanged (the
// P_UUIDS sets with their bit counts and flags, the roles and disk states
// of P_STATE, the agreed protocol version and feature flags) and the local
// configuration (after-sb-0pri/1pri/2pri, always-asbp, rr-conflict, the
// dry-run flags). Its outputs are values the connection layer acts on.
//
// It mirrors, as facts, drivers/block/drbd/drbd_receiver.c of Linux
// (drbd_uuid_compare with the kernel's rule numbers, drbd_sync_handshake,
// drbd_asb_recover_0p/1p/2p, convert_after_sb, the real peer disk of
// receive_state, the skip-initial-sync test of receive_uuids, and
// receive_sync_uuid), drbd_main.c (the UI_FLAGS of _drbd_send_uuids,
// drbd_gen_and_send_sync_uuid) and drbd_worker.c (the UUID part of
// drbd_resync_finished). For these functions LINBIT/drbd-8.4 and the
// in-tree driver agree. The UUID rotations themselves (drbd_uuid_set,
// _drbd_uuid_set, drbd_uuid_new_current, drbd_uuid_set_bm,
// drbd_uuid_move_history) are metadata.UUIDSet's methods, applied to the
// local set and to the copy of the peer's alike.
//
// # Using the decision
//
// SyncHandshake returns, besides the connection state, what the kernel
// does along the way and the caller has to do:
//
//   - Compare.Self / Compare.Peer: the UUID sets after the corrections of
//     rules 34, 35, 51 and 71 (Compare.Fix); a corrected local set is to
//     be written to the meta-data, a corrected peer set replaces p_uuid.
//   - BecomeSecondary: call-pri-lost-after-sb demoted this node.
//   - FullSync: set and write the whole bitmap (FullSyncWhy) first; if
//     that fails, drop the connection.
//   - Log: the lines to log, with the helper calls (LevelHelper) in
//     place.
//   - Conn drbd.CMask: as receive_state does when drbd_sync_handshake
//     fails: fail a late local attach (D_FAILED), or cut off the peer's
//     late attach, or else drop the connection.
//
// A resync then runs the UUID updates in resync.go: GenSyncUUID on the
// SyncSource, ReceiveSyncUUID on the SyncTarget, FinishResyncAsSource and
// FinishResyncAsTarget at the end.
//
// # Agreement of the two nodes
//
// The two nodes decide independently from the same exchanged data. For
// UUID sets that a real history produces the decisions are complementary:
// one WFBitMapS and the other WFBitMapT with the same kind of resync, or
// both Connected, or the connection dropped; and the corrections one node
// makes to its own set are those the other makes to its copy. The
// property tests drive a two-node model through random lives to check it.
// The kernel's rules are not symmetric everywhere; the tests pin the
// exceptions as facts: both current UUIDs 0, or each current UUID among
// the other's older ones (both want to be SyncTarget), and a failed
// demotion under call-pri-lost-after-sb meeting the secondary's
// discard-my-data (both become SyncSource).
package peer
