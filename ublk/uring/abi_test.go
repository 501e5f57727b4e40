package uring

import (
	"testing"
	"unsafe"
)

func TestABILayout(t *testing.T) {
	var s SQE
	var c CQE
	var p params
	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(io_uring_sqe)", unsafe.Sizeof(s), 64},
		{"sqe.opcode", unsafe.Offsetof(s.Opcode), 0},
		{"sqe.flags", unsafe.Offsetof(s.Flags), 1},
		{"sqe.ioprio", unsafe.Offsetof(s.Ioprio), 2},
		{"sqe.fd", unsafe.Offsetof(s.Fd), 4},
		{"sqe.off/cmd_op", unsafe.Offsetof(s.Off), 8},
		{"sqe.addr", unsafe.Offsetof(s.Addr), 16},
		{"sqe.len", unsafe.Offsetof(s.Len), 24},
		{"sqe.op_flags", unsafe.Offsetof(s.OpFlags), 28},
		{"sqe.user_data", unsafe.Offsetof(s.UserData), 32},
		{"sqe.buf_index", unsafe.Offsetof(s.BufIndex), 40},
		{"sqe.personality", unsafe.Offsetof(s.Personal), 42},
		{"sqe.file_index", unsafe.Offsetof(s.FileIdx), 44},
		{"sqe.cmd", unsafe.Offsetof(s.Cmd), cmdOffset},
		{"sizeof(io_uring_cqe)", unsafe.Sizeof(c), 16},
		{"cqe.user_data", unsafe.Offsetof(c.UserData), 0},
		{"cqe.res", unsafe.Offsetof(c.Res), 8},
		{"cqe.flags", unsafe.Offsetof(c.Flags), 12},
		{"sizeof(io_uring_params)", unsafe.Sizeof(p), 120},
		{"params.flags", unsafe.Offsetof(p.Flags), 8},
		{"params.features", unsafe.Offsetof(p.Features), 20},
		{"params.sq_off", unsafe.Offsetof(p.SQOff), 40},
		{"params.cq_off", unsafe.Offsetof(p.CQOff), 80},
		{"sizeof(io_sqring_offsets)", unsafe.Sizeof(p.SQOff), 40},
		{"sq_off.array", unsafe.Offsetof(p.SQOff.Array), 24},
		{"sq_off.user_addr", unsafe.Offsetof(p.SQOff.UserAddr), 32},
		{"sizeof(io_cqring_offsets)", unsafe.Sizeof(p.CQOff), 40},
		{"cq_off.overflow", unsafe.Offsetof(p.CQOff.Overflow), 16},
		{"cq_off.cqes", unsafe.Offsetof(p.CQOff.CQEs), 20},
		{"cq_off.flags", unsafe.Offsetof(p.CQOff.Flags), 24},
		{"sizeof(io_uring_getevents_arg)", unsafe.Sizeof(getEventsArg{}), 24},
		{"getevents_arg.ts", unsafe.Offsetof(getEventsArg{}.Ts), 16},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

func TestABINumbers(t *testing.T) {
	tests := []struct {
		name      string
		got, want uint64
	}{
		{"IORING_OP_URING_CMD", OpURingCmd, 46},
		{"IORING_OP_READ", OpRead, 22},
		{"IORING_OP_WRITE", OpWrite, 23},
		{"IORING_OP_FSYNC", OpFsync, 3},
		{"IORING_SETUP_SQE128", SetupSQE128, 0x400},
		{"IORING_SETUP_CQSIZE", SetupCQSize, 0x8},
		{"IORING_SETUP_COOP_TASKRUN", SetupCoopTaskrun, 0x100},
		{"IORING_SETUP_SINGLE_ISSUER", SetupSingleIssuer, 0x1000},
		{"IORING_SETUP_DEFER_TASKRUN", SetupDeferTaskrun, 0x2000},
		{"IORING_OFF_CQ_RING", offCQRing, 0x8000000},
		{"IORING_OFF_SQES", offSQEs, 0x10000000},
		{"IORING_REGISTER_FILES", registerFiles, 2},
		{"IORING_REGISTER_IOWQ_MAX_WORKERS", registerIOWQMaxWrk, 19},
		{"IORING_REGISTER_EVENTFD", registerEventfd, 4},
		{"IORING_UNREGISTER_EVENTFD", unregisterEventfd, 5},
		{"IORING_CQ_EVENTFD_DISABLED", cqEventfdDisabled, 1},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
}
