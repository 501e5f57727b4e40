package genl

// Kind is how a field travels on the wire (genl_magic_struct.h field macros).
type Kind uint8

// Field kinds.
const (
	KindFlag Kind = iota + 1 // __flg_field: NLA_U8, 0 or 1
	KindU32                  // __u32_field: NLA_U32
	KindS32                  // __s32_field: NLA_U32 on the wire, signed in C
	KindU64                  // __u64_field: NLA_U64
	KindStr                  // __str_field: NLA_NUL_STRING, written with its NUL
	KindBin                  // __bin_field: NLA_BINARY
)

// Size is the fixed payload size of an integer kind, 0 for strings and binaries.
func (k Kind) Size() int {
	switch k {
	case KindFlag:
		return 1
	case KindU32, KindS32:
		return 4
	case KindU64:
		return 8
	}
	return 0
}

// FieldFlag is a per-field flag of drbd_genl.h.
type FieldFlag uint16

// Field flags. FMandatory is the only one seen on the wire (as MandatoryFlag
// in the attribute type); the others are kernel-internal.
const (
	FRequired  FieldFlag = 1 << 0  // DRBD_F_REQUIRED
	FSensitive FieldFlag = 1 << 1  // DRBD_F_SENSITIVE
	FInvariant FieldFlag = 1 << 2  // DRBD_F_INVARIANT
	FMandatory FieldFlag = 1 << 14 // DRBD_GENLA_F_MANDATORY
)

// FieldSpec is one nested attribute of a set.
type FieldSpec struct {
	Nr     uint16    // attribute number within the set
	Name   string    // the C field name (T_<Name> in drbd-utils)
	Kind   Kind      // wire type
	Flags  FieldFlag // FMandatory | FRequired | FSensitive | FInvariant
	MaxLen int       // strings and binaries: the C array size (0 = unbounded)
	// HasDefault tells whether set_<struct>_defaults() assigns Default
	// (__*_field_def); strings with a default start empty.
	HasDefault bool
	Default    int64
}

// WireType is the attribute type drbd-utils and the kernel's hand-written puts
// use for the field (T_<name>): its number plus the mandatory bit if flagged.
func (f *FieldSpec) WireType() uint16 {
	return f.Nr | uint16(f.Flags&FMandatory)
}

// SetSpec is one GENL_struct: a top-level attribute and its nested fields, in
// declaration order (the order the kernel's *_to_skb emits them).
type SetSpec struct {
	TLA    TLA
	Name   string // the C struct name
	GoName string // the Go type generated for it
	Fields []FieldSpec
}

// MaxNr is the set's maxtype: the highest declared field number. A mandatory
// attribute above it is rejected, one below it is at worst ignored.
func (s *SetSpec) MaxNr() uint16 {
	var m uint16
	for _, f := range s.Fields {
		m = max(m, f.Nr)
	}
	return m
}

// Field returns the field with number nr, or nil.
func (s *SetSpec) Field(nr uint16) *FieldSpec {
	for i := range s.Fields {
		if s.Fields[i].Nr == nr {
			return &s.Fields[i]
		}
	}
	return nil
}

// field constructors keep the table close to drbd_genl.h's shape.
func flg(nr uint16, fl FieldFlag, name string) FieldSpec {
	return FieldSpec{Nr: nr, Name: name, Kind: KindFlag, Flags: fl}
}
func flgDef(nr uint16, fl FieldFlag, name string, def int64) FieldSpec {
	return FieldSpec{Nr: nr, Name: name, Kind: KindFlag, Flags: fl, HasDefault: true, Default: def}
}
func u32(nr uint16, fl FieldFlag, name string) FieldSpec {
	return FieldSpec{Nr: nr, Name: name, Kind: KindU32, Flags: fl}
}
func u32Def(nr uint16, fl FieldFlag, name string, def int64) FieldSpec {
	return FieldSpec{Nr: nr, Name: name, Kind: KindU32, Flags: fl, HasDefault: true, Default: def}
}
func s32(nr uint16, fl FieldFlag, name string) FieldSpec {
	return FieldSpec{Nr: nr, Name: name, Kind: KindS32, Flags: fl}
}
func s32Def(nr uint16, fl FieldFlag, name string, def int64) FieldSpec {
	return FieldSpec{Nr: nr, Name: name, Kind: KindS32, Flags: fl, HasDefault: true, Default: def}
}
func u64(nr uint16, fl FieldFlag, name string) FieldSpec {
	return FieldSpec{Nr: nr, Name: name, Kind: KindU64, Flags: fl}
}
func str(nr uint16, fl FieldFlag, name string, maxLen int) FieldSpec {
	return FieldSpec{Nr: nr, Name: name, Kind: KindStr, Flags: fl, MaxLen: maxLen}
}
func strDef(nr uint16, fl FieldFlag, name string, maxLen int) FieldSpec {
	return FieldSpec{Nr: nr, Name: name, Kind: KindStr, Flags: fl, MaxLen: maxLen, HasDefault: true}
}
func bin(nr uint16, fl FieldFlag, name string, maxLen int) FieldSpec {
	return FieldSpec{Nr: nr, Name: name, Kind: KindBin, Flags: fl, MaxLen: maxLen}
}

const (
	m  = FMandatory
	mI = FMandatory | FInvariant
	rI = FRequired | FInvariant

	sharedSecretMax = 64  // SHARED_SECRET_MAX
	cpuMaskSize     = 32  // DRBD_CPU_MASK_SIZE
	uiSize          = 4   // UI_SIZE (current, bitmap, history start, history end)
	historyUUIDs    = 32  // HISTORY_UUIDS = MAX_PEERS
	diskNameLen     = 128 // backing_dev / meta_dev array size
)

// Defaults from drbd_limits.h and the policy enums of drbd.h.
const (
	defOnIOError        = 2 // EP_DETACH
	defFencing          = 0 // FP_DONT_CARE
	defResyncRate       = 250
	defMinorNumber      = -1
	defALExtents        = 1237
	defCPlanAhead       = 20
	defCDelayTarget     = 10
	defCFillTarget      = 100
	defCMaxRate         = 102400
	defCMinRate         = 250
	defDiskTimeout      = 0
	defReadBalancing    = 0 // RB_PREFER_LOCAL
	defRsDiscardGran    = 0
	defDiskBarrier      = 0
	defDiskFlushes      = 1
	defDiskDrain        = 1
	defMDFlushes        = 1
	defALUpdates        = 1
	defDiscardZeroes    = 1
	defDisableWriteSame = 0
	defOnNoData         = 0 // OND_IO_ERROR
	defProtocol         = 3 // DRBD_PROT_C
	defConnectInt       = 10
	defTimeout          = 60
	defPingInt          = 10
	defPingTimeo        = 5
	defSndbufSize       = 0
	defRcvbufSize       = 0
	defKoCount          = 7
	defMaxBuffers       = 2048
	defMaxEpochSize     = 2048
	defUnplugWatermark  = defMaxBuffers / 16
	defAfterSB          = 0 // ASB_DISCONNECT
	defOnCongestion     = 0 // OC_BLOCK
	defCongFill         = 0
	defCongExtents      = defALExtents
	defTwoPrimaries     = 0
	defTCPCork          = 1
	defAlwaysASBP       = 0
	defUseRLE           = 1
	defCsumsAfterCrash  = 0
	defSockCheckTimeo   = 0
	defALStripes        = 1
	defALStripeSize     = 32
)

// Sets is the drbd family's attribute sets, in drbd_genl.h order, with each
// set's fields in declaration order (Linux 6.x mainline, DRBD 8.4.11).
var Sets = []SetSpec{
	{TLA: TLACfgReply, Name: "drbd_cfg_reply", GoName: "CfgReply", Fields: []FieldSpec{
		str(1, m, "info_text", 0),
	}},
	{TLA: TLACfgContext, Name: "drbd_cfg_context", GoName: "CfgContext", Fields: []FieldSpec{
		u32(1, m, "ctx_volume"),
		str(2, m, "ctx_resource_name", 128),
		bin(3, m, "ctx_my_addr", 128),
		bin(4, m, "ctx_peer_addr", 128),
	}},
	{TLA: TLADiskConf, Name: "disk_conf", GoName: "DiskConf", Fields: []FieldSpec{
		str(1, rI, "backing_dev", diskNameLen),
		str(2, rI, "meta_dev", diskNameLen),
		s32(3, rI, "meta_dev_idx"),
		u64(4, mI, "disk_size"),
		u32(5, mI, "max_bio_bvecs"),
		u32Def(6, m, "on_io_error", defOnIOError),
		u32Def(7, m, "fencing", defFencing),
		u32Def(8, m, "resync_rate", defResyncRate),
		s32Def(9, m, "resync_after", defMinorNumber),
		u32Def(10, m, "al_extents", defALExtents),
		u32Def(11, m, "c_plan_ahead", defCPlanAhead),
		u32Def(12, m, "c_delay_target", defCDelayTarget),
		u32Def(13, m, "c_fill_target", defCFillTarget),
		u32Def(14, m, "c_max_rate", defCMaxRate),
		u32Def(15, m, "c_min_rate", defCMinRate),
		u32Def(20, m, "disk_timeout", defDiskTimeout),
		u32Def(21, 0, "read_balancing", defReadBalancing),
		u32Def(25, 0, "rs_discard_granularity", defRsDiscardGran),
		flgDef(16, m, "disk_barrier", defDiskBarrier),
		flgDef(17, m, "disk_flushes", defDiskFlushes),
		flgDef(18, m, "disk_drain", defDiskDrain),
		flgDef(19, m, "md_flushes", defMDFlushes),
		flgDef(23, 0, "al_updates", defALUpdates),
		flgDef(24, 0, "discard_zeroes_if_aligned", defDiscardZeroes),
		flgDef(26, 0, "disable_write_same", defDisableWriteSame),
	}},
	{TLA: TLAResourceOpts, Name: "res_opts", GoName: "ResOpts", Fields: []FieldSpec{
		strDef(1, m, "cpu_mask", cpuMaskSize),
		u32Def(2, m, "on_no_data", defOnNoData),
	}},
	{TLA: TLANetConf, Name: "net_conf", GoName: "NetConf", Fields: []FieldSpec{
		strDef(1, m|FSensitive, "shared_secret", sharedSecretMax),
		strDef(2, m, "cram_hmac_alg", sharedSecretMax),
		strDef(3, m, "integrity_alg", sharedSecretMax),
		strDef(4, m, "verify_alg", sharedSecretMax),
		strDef(5, m, "csums_alg", sharedSecretMax),
		u32Def(6, m, "wire_protocol", defProtocol),
		u32Def(7, m, "connect_int", defConnectInt),
		u32Def(8, m, "timeout", defTimeout),
		u32Def(9, m, "ping_int", defPingInt),
		u32Def(10, m, "ping_timeo", defPingTimeo),
		u32Def(11, m, "sndbuf_size", defSndbufSize),
		u32Def(12, m, "rcvbuf_size", defRcvbufSize),
		u32Def(13, m, "ko_count", defKoCount),
		u32Def(14, m, "max_buffers", defMaxBuffers),
		u32Def(15, m, "max_epoch_size", defMaxEpochSize),
		u32Def(16, m, "unplug_watermark", defUnplugWatermark),
		u32Def(17, m, "after_sb_0p", defAfterSB),
		u32Def(18, m, "after_sb_1p", defAfterSB),
		u32Def(19, m, "after_sb_2p", defAfterSB),
		u32Def(20, m, "rr_conflict", defAfterSB),
		u32Def(21, m, "on_congestion", defOnCongestion),
		u32Def(22, m, "cong_fill", defCongFill),
		u32Def(23, m, "cong_extents", defCongExtents),
		flgDef(24, m, "two_primaries", defTwoPrimaries),
		flg(25, mI, "discard_my_data"),
		flgDef(26, m, "tcp_cork", defTCPCork),
		flgDef(27, m, "always_asbp", defAlwaysASBP),
		flg(28, mI, "tentative"),
		flgDef(29, m, "use_rle", defUseRLE),
		flgDef(33, 0, "csums_after_crash_only", defCsumsAfterCrash),
		u32Def(34, 0, "sock_check_timeo", defSockCheckTimeo),
	}},
	{TLA: TLASetRoleParms, Name: "set_role_parms", GoName: "SetRoleParms", Fields: []FieldSpec{
		flg(1, m, "assume_uptodate"),
	}},
	{TLA: TLAResizeParms, Name: "resize_parms", GoName: "ResizeParms", Fields: []FieldSpec{
		u64(1, m, "resize_size"),
		flg(2, m, "resize_force"),
		flg(3, m, "no_resync"),
		u32Def(4, 0, "al_stripes", defALStripes),
		u32Def(5, 0, "al_stripe_size", defALStripeSize),
	}},
	{TLA: TLAStateInfo, Name: "state_info", GoName: "StateInfo", Fields: []FieldSpec{
		u32(1, m, "sib_reason"),
		u32(2, FRequired, "current_state"),
		u64(3, m, "capacity"),
		u64(4, m, "ed_uuid"),
		u32(5, m, "prev_state"),
		u32(6, m, "new_state"),
		bin(7, m, "uuids", uiSize*8),
		u32(8, m, "disk_flags"),
		u64(9, m, "bits_total"),
		u64(10, m, "bits_oos"),
		u64(11, m, "bits_rs_total"),
		u64(12, m, "bits_rs_failed"),
		str(13, m, "helper", 32),
		u32(14, m, "helper_exit_code"),
		u64(15, 0, "send_cnt"),
		u64(16, 0, "recv_cnt"),
		u64(17, 0, "read_cnt"),
		u64(18, 0, "writ_cnt"),
		u64(19, 0, "al_writ_cnt"),
		u64(20, 0, "bm_writ_cnt"),
		u32(21, 0, "ap_bio_cnt"),
		u32(22, 0, "ap_pending_cnt"),
		u32(23, 0, "rs_pending_cnt"),
	}},
	{TLA: TLAStartOVParms, Name: "start_ov_parms", GoName: "StartOVParms", Fields: []FieldSpec{
		u64(1, m, "ov_start_sector"),
		u64(2, m, "ov_stop_sector"),
	}},
	{TLA: TLANewCUUIDParms, Name: "new_c_uuid_parms", GoName: "NewCUUIDParms", Fields: []FieldSpec{
		flg(1, m, "clear_bm"),
	}},
	{TLA: TLATimeoutParms, Name: "timeout_parms", GoName: "TimeoutParms", Fields: []FieldSpec{
		u32(1, FRequired, "timeout_type"),
	}},
	{TLA: TLADisconnectParms, Name: "disconnect_parms", GoName: "DisconnectParms", Fields: []FieldSpec{
		flg(1, m, "force_disconnect"),
	}},
	{TLA: TLADetachParms, Name: "detach_parms", GoName: "DetachParms", Fields: []FieldSpec{
		flg(1, m, "force_detach"),
	}},
	{TLA: TLAResourceInfo, Name: "resource_info", GoName: "ResourceInfo", Fields: []FieldSpec{
		u32(1, 0, "res_role"),
		flg(2, 0, "res_susp"),
		flg(3, 0, "res_susp_nod"),
		flg(4, 0, "res_susp_fen"),
	}},
	{TLA: TLADeviceInfo, Name: "device_info", GoName: "DeviceInfo", Fields: []FieldSpec{
		u32(1, 0, "dev_disk_state"),
	}},
	{TLA: TLAConnectionInfo, Name: "connection_info", GoName: "ConnectionInfo", Fields: []FieldSpec{
		u32(1, 0, "conn_connection_state"),
		u32(2, 0, "conn_role"),
	}},
	{TLA: TLAPeerDeviceInfo, Name: "peer_device_info", GoName: "PeerDeviceInfo", Fields: []FieldSpec{
		u32(1, 0, "peer_repl_state"),
		u32(2, 0, "peer_disk_state"),
		u32(3, 0, "peer_resync_susp_user"),
		u32(4, 0, "peer_resync_susp_peer"),
		u32(5, 0, "peer_resync_susp_dependency"),
	}},
	{TLA: TLAResourceStatistics, Name: "resource_statistics", GoName: "ResourceStatistics", Fields: []FieldSpec{
		u32(1, 0, "res_stat_write_ordering"),
	}},
	{TLA: TLADeviceStatistics, Name: "device_statistics", GoName: "DeviceStatistics", Fields: []FieldSpec{
		u64(1, 0, "dev_size"),
		u64(2, 0, "dev_read"),
		u64(3, 0, "dev_write"),
		u64(4, 0, "dev_al_writes"),
		u64(5, 0, "dev_bm_writes"),
		u32(6, 0, "dev_upper_pending"),
		u32(7, 0, "dev_lower_pending"),
		flg(8, 0, "dev_upper_blocked"),
		flg(9, 0, "dev_lower_blocked"),
		flg(10, 0, "dev_al_suspended"),
		u64(11, 0, "dev_exposed_data_uuid"),
		u64(12, 0, "dev_current_uuid"),
		u32(13, 0, "dev_disk_flags"),
		bin(14, 0, "history_uuids", historyUUIDs*8),
	}},
	{TLA: TLAConnectionStatistics, Name: "connection_statistics", GoName: "ConnectionStatistics", Fields: []FieldSpec{
		flg(1, 0, "conn_congested"),
	}},
	{TLA: TLAPeerDeviceStatistics, Name: "peer_device_statistics", GoName: "PeerDeviceStatistics", Fields: []FieldSpec{
		u64(1, 0, "peer_dev_received"),
		u64(2, 0, "peer_dev_sent"),
		u32(3, 0, "peer_dev_pending"),
		u32(4, 0, "peer_dev_unacked"),
		u64(5, 0, "peer_dev_out_of_sync"),
		u64(6, 0, "peer_dev_resync_failed"),
		u64(7, 0, "peer_dev_bitmap_uuid"),
		u32(9, 0, "peer_dev_flags"),
	}},
	{TLA: TLANotificationHeader, Name: "drbd_notification_header", GoName: "NotificationHeader", Fields: []FieldSpec{
		u32(1, m, "nh_type"),
	}},
	{TLA: TLAHelper, Name: "drbd_helper_info", GoName: "HelperInfo", Fields: []FieldSpec{
		str(1, m, "helper_name", 32),
		u32(2, m, "helper_status"),
	}},
}

// OpSpec is one command of the family: a GENL_op or a GENL_notification.
type OpSpec struct {
	Cmd  Cmd
	Name string
	// Doit and Dumpit tell which handlers the kernel registers.
	Doit, Dumpit bool
	// AdminPerm is GENL_ADMIN_PERM (every GENL_doit op). Only such ops change
	// state; the rest are open to unprivileged callers, who get sensitive
	// fields stripped.
	AdminPerm bool
	// Notification marks kernel-to-user messages on the "events" group.
	Notification bool
}

// Ops lists the family's commands in drbd_genl.h order; the order of the
// ops (not notifications) is the order nlctrl reports them in CTRL_ATTR_OPS.
var Ops = []OpSpec{
	{Cmd: CmdEvent, Name: "DRBD_EVENT", Notification: true},
	{Cmd: CmdGetStatus, Name: "DRBD_ADM_GET_STATUS", Doit: true, Dumpit: true},
	{Cmd: CmdNewMinor, Name: "DRBD_ADM_NEW_MINOR", Doit: true, AdminPerm: true},
	{Cmd: CmdDelMinor, Name: "DRBD_ADM_DEL_MINOR", Doit: true, AdminPerm: true},
	{Cmd: CmdNewResource, Name: "DRBD_ADM_NEW_RESOURCE", Doit: true, AdminPerm: true},
	{Cmd: CmdDelResource, Name: "DRBD_ADM_DEL_RESOURCE", Doit: true, AdminPerm: true},
	{Cmd: CmdResourceOpts, Name: "DRBD_ADM_RESOURCE_OPTS", Doit: true, AdminPerm: true},
	{Cmd: CmdConnect, Name: "DRBD_ADM_CONNECT", Doit: true, AdminPerm: true},
	{Cmd: CmdChgNetOpts, Name: "DRBD_ADM_CHG_NET_OPTS", Doit: true, AdminPerm: true},
	{Cmd: CmdDisconnect, Name: "DRBD_ADM_DISCONNECT", Doit: true, AdminPerm: true},
	{Cmd: CmdAttach, Name: "DRBD_ADM_ATTACH", Doit: true, AdminPerm: true},
	{Cmd: CmdChgDiskOpts, Name: "DRBD_ADM_CHG_DISK_OPTS", Doit: true, AdminPerm: true},
	{Cmd: CmdResize, Name: "DRBD_ADM_RESIZE", Doit: true, AdminPerm: true},
	{Cmd: CmdPrimary, Name: "DRBD_ADM_PRIMARY", Doit: true, AdminPerm: true},
	{Cmd: CmdSecondary, Name: "DRBD_ADM_SECONDARY", Doit: true, AdminPerm: true},
	{Cmd: CmdNewCUUID, Name: "DRBD_ADM_NEW_C_UUID", Doit: true, AdminPerm: true},
	{Cmd: CmdStartOV, Name: "DRBD_ADM_START_OV", Doit: true, AdminPerm: true},
	{Cmd: CmdDetach, Name: "DRBD_ADM_DETACH", Doit: true, AdminPerm: true},
	{Cmd: CmdInvalidate, Name: "DRBD_ADM_INVALIDATE", Doit: true, AdminPerm: true},
	{Cmd: CmdInvalPeer, Name: "DRBD_ADM_INVAL_PEER", Doit: true, AdminPerm: true},
	{Cmd: CmdPauseSync, Name: "DRBD_ADM_PAUSE_SYNC", Doit: true, AdminPerm: true},
	{Cmd: CmdResumeSync, Name: "DRBD_ADM_RESUME_SYNC", Doit: true, AdminPerm: true},
	{Cmd: CmdSuspendIO, Name: "DRBD_ADM_SUSPEND_IO", Doit: true, AdminPerm: true},
	{Cmd: CmdResumeIO, Name: "DRBD_ADM_RESUME_IO", Doit: true, AdminPerm: true},
	{Cmd: CmdOutdate, Name: "DRBD_ADM_OUTDATE", Doit: true, AdminPerm: true},
	{Cmd: CmdGetTimeoutType, Name: "DRBD_ADM_GET_TIMEOUT_TYPE", Doit: true, AdminPerm: true},
	{Cmd: CmdDown, Name: "DRBD_ADM_DOWN", Doit: true, AdminPerm: true},
	{Cmd: CmdGetResources, Name: "DRBD_ADM_GET_RESOURCES", Dumpit: true},
	{Cmd: CmdGetDevices, Name: "DRBD_ADM_GET_DEVICES", Dumpit: true},
	{Cmd: CmdGetConnections, Name: "DRBD_ADM_GET_CONNECTIONS", Dumpit: true},
	{Cmd: CmdGetPeerDevices, Name: "DRBD_ADM_GET_PEER_DEVICES", Dumpit: true},
	{Cmd: CmdResourceState, Name: "DRBD_RESOURCE_STATE", Notification: true},
	{Cmd: CmdDeviceState, Name: "DRBD_DEVICE_STATE", Notification: true},
	{Cmd: CmdConnectionState, Name: "DRBD_CONNECTION_STATE", Notification: true},
	{Cmd: CmdPeerDeviceState, Name: "DRBD_PEER_DEVICE_STATE", Notification: true},
	{Cmd: CmdGetInitialState, Name: "DRBD_ADM_GET_INITIAL_STATE", Dumpit: true},
	{Cmd: CmdHelper, Name: "DRBD_HELPER", Notification: true},
	{Cmd: CmdInitialStateDone, Name: "DRBD_INITIAL_STATE_DONE", Notification: true},
}

// Op returns the spec of cmd, or nil if the family has no such command.
func Op(cmd Cmd) *OpSpec {
	for i := range Ops {
		if Ops[i].Cmd == cmd {
			return &Ops[i]
		}
	}
	return nil
}

// String returns the kernel's name for cmd.
func (c Cmd) String() string {
	if o := Op(c); o != nil {
		return o.Name
	}
	return "unknown"
}

// SpecOf returns the set spec for a top-level attribute, or nil.
func SpecOf(t TLA) *SetSpec {
	for i := range Sets {
		if Sets[i].TLA == t {
			return &Sets[i]
		}
	}
	return nil
}
