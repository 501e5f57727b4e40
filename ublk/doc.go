// Package ublk serves a Linux ublk block device (/dev/ublkbN) from Go: it
// drives the ublk control commands on /dev/ublk-control (ADD_DEV,
// SET_PARAMS, START_DEV, STOP_DEV, DEL_DEV, GET_DEV_INFO, user recovery),
// runs one io_uring queue goroutine per hardware queue on /dev/ublkcN
// (FETCH_REQ / COMMIT_AND_FETCH_REQ), and hands each block request to a
// Target that may complete it later from any goroutine.
//
// It mirrors the kernel UAPI of include/uapi/linux/ublk_cmd.h (struct
// ublksrv_ctrl_cmd, ublksrv_ctrl_dev_info, ublksrv_io_desc, ublksrv_io_cmd,
// ublk_params and the UBLK_* numbers), as used by drivers/block/ublk_drv.c
// of Linux 6.12; those facts live in abi.go with size/offset tests. The
// io_uring underneath is package ublk/uring.
//
// Kernel rules this package follows (6.12): the control ring uses 128-byte
// SQEs; all IO commands of a queue are issued by one task, so each queue is
// one goroutine locked to its OS thread for its whole life; the descriptor
// array is mapped read-only; IO buffers are anonymous mmap'd memory the
// garbage collector never moves.
package ublk
