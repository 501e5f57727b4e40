// Package proto encodes and decodes the DRBD 8.4 peer wire format byte for
// byte as the in-tree Linux driver (drivers/block/drbd, DRBD 8.4.11) speaks
// it: packet headers, the payload of every command, the per-command size
// rules of the receivers, and the bitmap exchange with its RLE/VLI bit code.
//
// It mirrors, as facts only: enum drbd_packet and the packed p_* structs of
// drbd_protocol.h; the magics and enums of include/linux/drbd.h;
// PRO_VERSION_MIN/MAX of drbd_config.h; the size limits and special block
// ids of drbd_int.h; drbd_header_size, prepare_header*, cmdname and the
// drbd_send_* functions (send_bitmap_rle_or_plain, fill_bitmap_rle_bits,
// _drbd_send_uuids, drbd_send_sizes, drbd_send_protocol,
// drbd_send_sync_param) of drbd_main.c; decode_header, the drbd_cmd_handler
// and ack_receiver_tbl tables and the receive_* functions (receive_bitmap,
// receive_bitmap_plain, decode_bitmap_c, recv_bm_rle_bits,
// INFO_bm_xfer_stats, receive_SyncParam, receive_protocol, drbd_do_features,
// drbd_do_auth) of drbd_receiver.c; drbd_bm_merge_lel of drbd_bitmap.c; and
// the VLI code table and bitstream of drbd_vli.h. Where LINBIT's out-of-tree
// drbd-8.4 differs from the in-tree driver, the in-tree driver is followed
// (see Cmd.String and PayloadSize).
//
// The package is pure: it does no I/O except ReadPacket, which reads one
// packet from an io.Reader into a caller-supplied buffer.
//
// # Byte order
//
// Everything is big-endian on the wire, except the bitmap words of P_BITMAP
// (little-endian 64-bit words) and two opaque cookies that the kernel copies
// raw from its own memory and that the peer only echoes back: block_id
// (p_data, p_block_req, p_block_ack) and the barrier number (p_barrier,
// p_barrier_ack). This package reads and writes those cookies as big-endian
// integers too, which round-trips every byte exactly; only the values the
// kernel writes with cpu_to_be64 (ID_IN_SYNC and ID_OUT_OF_SYNC in P_OV_RESULT)
// and the all-ones ID_SYNCER mean anything numerically.
//
// # Errors
//
// Every decoder rejects input that is short, long or otherwise not what the
// kernel would send with an error matching ErrProtocol (a *ProtocolError);
// where the kernel logs a message for the same fault, the error text follows
// it. Decoders never panic. Encoders panic only on values the kernel could
// never send (a payload too long for the header, an algorithm name of 64 bytes
// or more), which are bugs in the caller.
package proto
