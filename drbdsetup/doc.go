// Command drbdsetup is udrbd's drop-in for drbd-utils' drbdsetup-84: the
// DRBD 8.4 command syntax, option parsing, output and exit codes, spoken over
// the drbd generic-netlink family (API 1).
//
// It mirrors, as facts, drbd-utils user/v84/drbdsetup.c (command table,
// context parsing, print_config_error, status/events2/show/sh-status
// output), user/v84/config_flags.c (option fields, units, enum maps,
// usage strings), user/shared/shared_tool.c (m_strtoll units, minor
// parsing, uuid printing), user/shared/wrap_printf.c (status line
// wrapping, quirks included) and glibc's getopt_long (argument
// permutation, abbreviations, error messages).
//
// # Transport
//
// The same requests go to one of two places:
//
//   - udrbd's control socket (unix SOCK_SEQPACKET, default
//     /run/udrbd/control.sock, overridden by $UDRBD_SOCKET or a leading
//     --socket=PATH argument), or
//   - the kernel's drbd family over a real NETLINK_GENERIC socket.
//
// $UDRBD_TRANSPORT picks one ("udrbd" or "kernel"). Unset, the kernel is used
// when the udrbd socket does not exist and /proc/drbd does; udrbd otherwise.
// Talking to the kernel lets tests run the very same command sequence with
// stock drbdsetup-84 and with this program against drbd.ko and diff the
// outputs (scripts/vm/scenarios/cli-parity.sh).
//
// The program behaves the same whatever name it is started under
// (drbdsetup, drbdsetup-84); like drbdsetup-84 it uses that name in usage
// texts.
package main
