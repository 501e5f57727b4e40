// Package metadata encodes and decodes DRBD 8.4 on-disk meta-data (format "v08")
// byte for byte as the kernel module and drbd-utils' drbdmeta write it.
//
// It mirrors, as facts only: struct meta_data_on_disk, drbd_md_read and
// drbd_md_write and the UUID helpers of drbd/drbd_main.c; the meta-data layout
// of drbd/drbd_int.h (drbd_md_ss, drbd_md_first_sector, drbd_get_max_capacity)
// and drbd_md_set_sector_offsets of drbd/drbd_nl.c; struct
// al_transaction_on_disk and al_tr_number_to_on_disk_sector of
// drbd/drbd_actlog.c; the MDF_* flags, magics and UUID indices of
// include/linux/drbd.h (LINBIT/drbd-8.4); and the v08 code paths of
// user/shared/drbdmeta.c in LINBIT/drbd-utils 9.22 (bm_bytes,
// re_initialize_md_offsets, is_valid_md, initialize_al, replay_al_84,
// apply_al).
//
// The package is pure: all I/O goes through io.ReaderAt and io.WriterAt, so it
// works on block devices, regular files and in-memory buffers alike.
//
// On-disk picture (offsets in 512-byte sectors relative to the superblock):
//
//	internal:  [data ...][bitmap][activity log][4 KiB superblock][0-7 pad sectors]
//	           al_offset = -al_size_sect, bm_offset = 8 - md_size_sect
//	external:  [4 KiB superblock][activity log][bitmap ...]
//	           al_offset = 8, bm_offset = 8 + al_size_sect
//
// All superblock and activity-log fields are big-endian; the bitmap is an
// array of little-endian 64-bit words, one bit per 4 KiB of data.
package metadata
