package ublk

import (
	"testing"
	"unsafe"
)

func TestUAPILayout(t *testing.T) {
	var c ctrlCmd
	var d DevInfo
	var io ioDesc
	var ic ioCmd
	var p Params
	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(ublksrv_ctrl_cmd)", unsafe.Sizeof(c), 32},
		{"ctrl_cmd.dev_id", unsafe.Offsetof(c.DevID), 0},
		{"ctrl_cmd.queue_id", unsafe.Offsetof(c.QueueID), 4},
		{"ctrl_cmd.len", unsafe.Offsetof(c.Len), 6},
		{"ctrl_cmd.addr", unsafe.Offsetof(c.Addr), 8},
		{"ctrl_cmd.data", unsafe.Offsetof(c.Data), 16},
		{"ctrl_cmd.dev_path_len", unsafe.Offsetof(c.DevPathLen), 24},
		{"ctrl_cmd.reserved", unsafe.Offsetof(c.Reserved), 28},

		{"sizeof(ublksrv_ctrl_dev_info)", unsafe.Sizeof(d), 64},
		{"dev_info.nr_hw_queues", unsafe.Offsetof(d.NrHWQueues), 0},
		{"dev_info.queue_depth", unsafe.Offsetof(d.QueueDepth), 2},
		{"dev_info.state", unsafe.Offsetof(d.State), 4},
		{"dev_info.max_io_buf_bytes", unsafe.Offsetof(d.MaxIOBufBytes), 8},
		{"dev_info.dev_id", unsafe.Offsetof(d.DevID), 12},
		{"dev_info.ublksrv_pid", unsafe.Offsetof(d.ServerPID), 16},
		{"dev_info.flags", unsafe.Offsetof(d.Flags), 24},
		{"dev_info.ublksrv_flags", unsafe.Offsetof(d.ServerFlags), 32},
		{"dev_info.owner_uid", unsafe.Offsetof(d.OwnerUID), 40},
		{"dev_info.owner_gid", unsafe.Offsetof(d.OwnerGID), 44},
		{"dev_info.reserved1", unsafe.Offsetof(d.Reserved1), 48},
		{"dev_info.reserved2", unsafe.Offsetof(d.Reserved2), 56},

		{"sizeof(ublksrv_io_desc)", unsafe.Sizeof(io), 24},
		{"io_desc.op_flags", unsafe.Offsetof(io.OpFlags), 0},
		{"io_desc.nr_sectors", unsafe.Offsetof(io.NrSectors), 4},
		{"io_desc.start_sector", unsafe.Offsetof(io.StartSector), 8},
		{"io_desc.addr", unsafe.Offsetof(io.Addr), 16},

		{"sizeof(ublksrv_io_cmd)", unsafe.Sizeof(ic), 16},
		{"io_cmd.q_id", unsafe.Offsetof(ic.QID), 0},
		{"io_cmd.tag", unsafe.Offsetof(ic.Tag), 2},
		{"io_cmd.result", unsafe.Offsetof(ic.Result), 4},
		{"io_cmd.addr", unsafe.Offsetof(ic.Addr), 8},

		{"sizeof(ublk_params)", unsafe.Sizeof(p), 152},
		{"params.len", unsafe.Offsetof(p.Len), 0},
		{"params.types", unsafe.Offsetof(p.Types), 4},
		{"params.basic", unsafe.Offsetof(p.Basic), 8},
		{"params.discard", unsafe.Offsetof(p.Discard), 40},
		{"params.devt", unsafe.Offsetof(p.Devt), 60},
		{"params.zoned", unsafe.Offsetof(p.Zoned), 76},
		{"params.dma", unsafe.Offsetof(p.DMA), 108},
		{"params.seg", unsafe.Offsetof(p.Seg), 120},
		{"params.integrity", unsafe.Offsetof(p.Integrity), 136},

		{"sizeof(ublk_param_basic)", unsafe.Sizeof(p.Basic), 32},
		{"basic.logical_bs_shift", unsafe.Offsetof(p.Basic.LogicalBSShift), 4},
		{"basic.physical_bs_shift", unsafe.Offsetof(p.Basic.PhysicalBSShift), 5},
		{"basic.io_opt_shift", unsafe.Offsetof(p.Basic.IOOptShift), 6},
		{"basic.io_min_shift", unsafe.Offsetof(p.Basic.IOMinShift), 7},
		{"basic.max_sectors", unsafe.Offsetof(p.Basic.MaxSectors), 8},
		{"basic.chunk_sectors", unsafe.Offsetof(p.Basic.ChunkSectors), 12},
		{"basic.dev_sectors", unsafe.Offsetof(p.Basic.DevSectors), 16},
		{"basic.virt_boundary_mask", unsafe.Offsetof(p.Basic.VirtBoundaryMask), 24},

		{"sizeof(ublk_param_discard)", unsafe.Sizeof(p.Discard), 20},
		{"discard.discard_granularity", unsafe.Offsetof(p.Discard.DiscardGranularity), 4},
		{"discard.max_discard_sectors", unsafe.Offsetof(p.Discard.MaxDiscardSectors), 8},
		{"discard.max_write_zeroes_sectors", unsafe.Offsetof(p.Discard.MaxWriteZeroesSectors), 12},
		{"discard.max_discard_segments", unsafe.Offsetof(p.Discard.MaxDiscardSegments), 16},

		{"sizeof(ublk_param_devt)", unsafe.Sizeof(p.Devt), 16},
		{"sizeof(ublk_param_zoned)", unsafe.Sizeof(p.Zoned), 32},
		{"sizeof(ublk_param_dma_align)", unsafe.Sizeof(p.DMA), 8},
		{"sizeof(ublk_param_segment)", unsafe.Sizeof(p.Seg), 16},
		{"segment.max_segment_size", unsafe.Offsetof(p.Seg.MaxSegmentSize), 8},
		{"segment.max_segments", unsafe.Offsetof(p.Seg.MaxSegments), 12},
		{"sizeof(ublk_param_integrity)", unsafe.Sizeof(p.Integrity), 16},
		{"6.12 ublk_params prefix (through zoned)", params612Len, 112},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

func TestCommandNumbers(t *testing.T) {
	tests := []struct {
		name      string
		got, want uint32
	}{
		{"UBLK_U_CMD_GET_QUEUE_AFFINITY", ctrlOp(cmdGetQueueAffinity, false), 0x80207501},
		{"UBLK_U_CMD_GET_DEV_INFO", ctrlOp(cmdGetDevInfo, false), 0x80207502},
		{"UBLK_U_CMD_ADD_DEV", ctrlOp(cmdAddDev, false), 0xC0207504},
		{"UBLK_U_CMD_DEL_DEV", ctrlOp(cmdDelDev, false), 0xC0207505},
		{"UBLK_U_CMD_START_DEV", ctrlOp(cmdStartDev, false), 0xC0207506},
		{"UBLK_U_CMD_STOP_DEV", ctrlOp(cmdStopDev, false), 0xC0207507},
		{"UBLK_U_CMD_SET_PARAMS", ctrlOp(cmdSetParams, false), 0xC0207508},
		{"UBLK_U_CMD_GET_PARAMS", ctrlOp(cmdGetParams, false), 0x80207509},
		{"UBLK_U_CMD_START_USER_RECOVERY", ctrlOp(cmdStartUserRecovery, false), 0xC0207510},
		{"UBLK_U_CMD_END_USER_RECOVERY", ctrlOp(cmdEndUserRecovery, false), 0xC0207511},
		{"UBLK_U_CMD_GET_DEV_INFO2", ctrlOp(cmdGetDevInfo2, false), 0x80207512},
		{"UBLK_U_CMD_GET_FEATURES", ctrlOp(cmdGetFeatures, false), 0x80207513},
		{"UBLK_U_CMD_DEL_DEV_ASYNC", ctrlOp(cmdDelDevAsync, false), 0x80207514},
		{"UBLK_U_CMD_UPDATE_SIZE", ctrlOp(cmdUpdateSize, false), 0xC0207515},
		{"UBLK_CMD_ADD_DEV (legacy)", ctrlOp(cmdAddDev, true), 0x04},
		{"UBLK_U_IO_FETCH_REQ", ioOp(ioFetchReq, false), 0xC0107520},
		{"UBLK_U_IO_COMMIT_AND_FETCH_REQ", ioOp(ioCommitAndFetchReq, false), 0xC0107521},
		{"UBLK_U_IO_NEED_GET_DATA", ioOp(ioNeedGetData, false), 0xC0107522},
		{"UBLK_IO_FETCH_REQ (legacy)", ioOp(ioFetchReq, true), 0x20},
		{"UBLK_F_USER_RECOVERY", FlagUserRecovery, 0x8},
		{"UBLK_F_USER_RECOVERY_REISSUE", FlagUserRecoveryReissue, 0x10},
		{"UBLK_F_CMD_IOCTL_ENCODE", FlagCmdIoctlEncode, 0x40},
		{"UBLK_F_USER_RECOVERY_FAIL_IO", FlagUserRecoveryFailIO, 0x200},
		{"UBLK_IO_F_FUA", ioFlagFUA, 1 << 13},
		{"UBLK_IO_F_NOUNMAP", ioFlagNoUnmap, 1 << 15},
		{"-UBLK_IO_RES_ABORT (ENODEV)", -ioResAbort, 19},
		{"UBLK_ATTR_VOLATILE_CACHE", attrVolatileCache, 4},
		{"UBLK_ATTR_FUA", attrFUA, 8},
		{"UBLKSRV_IO_BUF_OFFSET", ioBufOffset, 0x80000000},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
}

func TestDescMmapOffset(t *testing.T) {
	tests := []struct {
		q, page int
		want    int64
	}{
		{0, 4096, 0},
		{1, 4096, 98304},
		{3, 4096, 3 * 98304},
		{1, 65536, 131072},
	}
	for _, tt := range tests {
		if got := descOffset(tt.q, tt.page); got != tt.want {
			t.Errorf("descOffset(%d, %d) = %d, want %d", tt.q, tt.page, got, tt.want)
		}
	}
	if got := descLen(128, 4096); got != 4096 {
		t.Errorf("descLen(128) = %d, want 4096", got)
	}
	if got := descLen(200, 4096); got != 8192 {
		t.Errorf("descLen(200) = %d, want 8192", got)
	}
}
