// Package ublk serves a Linux ublk block device (/dev/ublkbN) from Go: it
// drives the ublk control commands on /dev/ublk-control (GET_FEATURES,
// ADD_DEV, SET_PARAMS, START_DEV, STOP_DEV, DEL_DEV[_ASYNC], GET_DEV_INFO,
// GET_PARAMS, START/END_USER_RECOVERY, UPDATE_SIZE), runs one io_uring queue
// goroutine per hardware queue on /dev/ublkcN (FETCH_REQ /
// COMMIT_AND_FETCH_REQ), and hands each block request to a Target that may
// complete it later from any goroutine.
//
// It mirrors the kernel UAPI of include/uapi/linux/ublk_cmd.h (struct
// ublksrv_ctrl_cmd, ublksrv_ctrl_dev_info, ublksrv_io_desc, ublksrv_io_cmd,
// ublk_params and the UBLK_* numbers) as used by drivers/block/ublk_drv.c of
// Linux 6.12; those facts live in abi.go with size/offset tests. The io_uring
// underneath is package ublk/uring.
//
// # Kernel rules followed (6.12)
//
// The control ring uses 128-byte SQEs and every control command is bounded
// by Control.Timeout (a command that times out keeps its buffer pinned until
// its completion shows up). Command codes are the ioctl-encoded UBLK_U_*
// values, or the legacy numbers when GET_FEATURES is unknown (< 6.5). All IO
// commands of a queue come from one task, so each queue is one goroutine
// locked to its OS thread for its whole life. The descriptor array is mapped
// read-only; IO buffers (one of MaxIO bytes per tag, default copy mode) are
// anonymous mmap'd memory the garbage collector never moves. A WRITE is never
// committed with 0 bytes (the kernel would requeue it forever).
//
// # Goroutines and lifetimes
//
// Create (or Recover) starts the queue goroutines; they exit when the kernel
// aborts every tag (STOP_DEV, or the device going away) and the Target holds
// no request; Device.Done is closed then. Stop refuses a mounted or
// exclusively opened device unless forced, sends STOP_DEV, waits (bounded)
// for the queues and closes /dev/ublkcN; Delete then removes the device. A
// process that dies without Stop leaves a device created with Recovery
// QUIESCED (IO waits) for Recover, and one created without it is stopped by
// the kernel (/dev/ublkbN removed; /dev/ublkcN stays until DEL_DEV).
//
// Synchronous Targets (complete inside Handle, like FileTarget) cost no
// allocation and no extra wakeup per request. Asynchronous completions are
// queued under a mutex and wake the queue through an eventfd read that sits
// on the queue's ring.
package ublk
