// Package uring is a minimal io_uring for the ublk server: it sets up a ring
// (io_uring_setup), maps the submission and completion rings and the SQE array,
// fills 64- or 128-byte SQEs (IORING_OP_URING_CMD included), submits them in
// batches and waits for completions (io_uring_enter, retrying EINTR), and
// registers files (io_uring_register).
//
// It mirrors the kernel ABI of include/uapi/linux/io_uring.h (struct
// io_uring_params, io_sqring_offsets, io_cqring_offsets, io_uring_sqe,
// io_uring_cqe and the IORING_* numbers used here); those numbers live in
// abi.go and are checked by size/offset tests. It uses golang.org/x/sys/unix
// only (no cgo).
//
// A Ring is not safe for concurrent use: one goroutine fills SQEs, submits
// and reaps. Rings created with SetupSingleIssuer must be driven by the OS
// thread that created them (lock the goroutine with runtime.LockOSThread).
package uring
