// Package drbd is the vocabulary of the DRBD 8.4 user ABI: roles, connection
// and disk states, the packed 32-bit state word, the SS_* state-change results,
// the ERR_* netlink return codes and the configuration policy enums, each with
// the exact names and texts the kernel and drbd-utils use.
//
// It mirrors, as facts, include/linux/drbd.h (enum values, the little-endian
// bitfield layout of union drbd_state, which travels as a big-endian u32),
// drbd/drbd_strings.c (drbd_conn_str, drbd_role_str, drbd_disk_str,
// drbd_set_st_err_str) and drbd-utils user/v84 (error_messages[] in
// drbdsetup.c, the enum spellings in config_flags.c).
//
// The package imports nothing outside the standard library's fmt and strconv
// and holds no state; everyone else (statemachine, genl, the drbdsetup CLI)
// shares these types.
package drbd
