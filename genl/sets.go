// Code generated from the Sets table in spec.go by TestSetsUpToDate (go test -run TestSetsUpToDate -update); DO NOT EDIT.

package genl

// CfgReply is struct drbd_cfg_reply, the contents of top-level attribute 1.
// Present tells which fields were on the wire (or are to be put there).
type CfgReply struct {
	InfoText string `genl:"1"` // info_text, nr 1, mandatory
	Present  Fields
}

// TLA returns 1, the top-level attribute of drbd_cfg_reply.
func (*CfgReply) TLA() TLA { return 1 }

// Field numbers of drbd_cfg_reply.
const (
	CfgReplyInfoText uint16 = 1
)

// CfgContext is struct drbd_cfg_context, the contents of top-level attribute 2.
// Present tells which fields were on the wire (or are to be put there).
type CfgContext struct {
	CtxVolume       uint32 `genl:"1"` // ctx_volume, nr 1, mandatory
	CtxResourceName string `genl:"2"` // ctx_resource_name, nr 2, mandatory, max 128 bytes
	CtxMyAddr       []byte `genl:"3"` // ctx_my_addr, nr 3, mandatory, max 128 bytes
	CtxPeerAddr     []byte `genl:"4"` // ctx_peer_addr, nr 4, mandatory, max 128 bytes
	Present         Fields
}

// TLA returns 2, the top-level attribute of drbd_cfg_context.
func (*CfgContext) TLA() TLA { return 2 }

// Field numbers of drbd_cfg_context.
const (
	CfgContextCtxVolume       uint16 = 1
	CfgContextCtxResourceName uint16 = 2
	CfgContextCtxMyAddr       uint16 = 3
	CfgContextCtxPeerAddr     uint16 = 4
)

// DiskConf is struct disk_conf, the contents of top-level attribute 3.
// Present tells which fields were on the wire (or are to be put there).
type DiskConf struct {
	BackingDev             string `genl:"1"`  // backing_dev, nr 1, required, invariant, max 128 bytes
	MetaDev                string `genl:"2"`  // meta_dev, nr 2, required, invariant, max 128 bytes
	MetaDevIdx             int32  `genl:"3"`  // meta_dev_idx, nr 3, required, invariant
	DiskSize               uint64 `genl:"4"`  // disk_size, nr 4, mandatory, invariant
	MaxBioBvecs            uint32 `genl:"5"`  // max_bio_bvecs, nr 5, mandatory, invariant
	OnIOError              uint32 `genl:"6"`  // on_io_error, nr 6, mandatory, default 2
	Fencing                uint32 `genl:"7"`  // fencing, nr 7, mandatory, default 0
	ResyncRate             uint32 `genl:"8"`  // resync_rate, nr 8, mandatory, default 250
	ResyncAfter            int32  `genl:"9"`  // resync_after, nr 9, mandatory, default -1
	ALExtents              uint32 `genl:"10"` // al_extents, nr 10, mandatory, default 1237
	CPlanAhead             uint32 `genl:"11"` // c_plan_ahead, nr 11, mandatory, default 20
	CDelayTarget           uint32 `genl:"12"` // c_delay_target, nr 12, mandatory, default 10
	CFillTarget            uint32 `genl:"13"` // c_fill_target, nr 13, mandatory, default 100
	CMaxRate               uint32 `genl:"14"` // c_max_rate, nr 14, mandatory, default 102400
	CMinRate               uint32 `genl:"15"` // c_min_rate, nr 15, mandatory, default 250
	DiskTimeout            uint32 `genl:"20"` // disk_timeout, nr 20, mandatory, default 0
	ReadBalancing          uint32 `genl:"21"` // read_balancing, nr 21, default 0
	RSDiscardGranularity   uint32 `genl:"25"` // rs_discard_granularity, nr 25, default 0
	DiskBarrier            bool   `genl:"16"` // disk_barrier, nr 16, mandatory, default 0
	DiskFlushes            bool   `genl:"17"` // disk_flushes, nr 17, mandatory, default 1
	DiskDrain              bool   `genl:"18"` // disk_drain, nr 18, mandatory, default 1
	MDFlushes              bool   `genl:"19"` // md_flushes, nr 19, mandatory, default 1
	ALUpdates              bool   `genl:"23"` // al_updates, nr 23, default 1
	DiscardZeroesIfAligned bool   `genl:"24"` // discard_zeroes_if_aligned, nr 24, default 1
	DisableWriteSame       bool   `genl:"26"` // disable_write_same, nr 26, default 0
	Present                Fields
}

// TLA returns 3, the top-level attribute of disk_conf.
func (*DiskConf) TLA() TLA { return 3 }

// Field numbers of disk_conf.
const (
	DiskConfBackingDev             uint16 = 1
	DiskConfMetaDev                uint16 = 2
	DiskConfMetaDevIdx             uint16 = 3
	DiskConfDiskSize               uint16 = 4
	DiskConfMaxBioBvecs            uint16 = 5
	DiskConfOnIOError              uint16 = 6
	DiskConfFencing                uint16 = 7
	DiskConfResyncRate             uint16 = 8
	DiskConfResyncAfter            uint16 = 9
	DiskConfALExtents              uint16 = 10
	DiskConfCPlanAhead             uint16 = 11
	DiskConfCDelayTarget           uint16 = 12
	DiskConfCFillTarget            uint16 = 13
	DiskConfCMaxRate               uint16 = 14
	DiskConfCMinRate               uint16 = 15
	DiskConfDiskTimeout            uint16 = 20
	DiskConfReadBalancing          uint16 = 21
	DiskConfRSDiscardGranularity   uint16 = 25
	DiskConfDiskBarrier            uint16 = 16
	DiskConfDiskFlushes            uint16 = 17
	DiskConfDiskDrain              uint16 = 18
	DiskConfMDFlushes              uint16 = 19
	DiskConfALUpdates              uint16 = 23
	DiskConfDiscardZeroesIfAligned uint16 = 24
	DiskConfDisableWriteSame       uint16 = 26
)

// ResOpts is struct res_opts, the contents of top-level attribute 4.
// Present tells which fields were on the wire (or are to be put there).
type ResOpts struct {
	CPUMask  string `genl:"1"` // cpu_mask, nr 1, mandatory, max 32 bytes
	OnNoData uint32 `genl:"2"` // on_no_data, nr 2, mandatory, default 0
	Present  Fields
}

// TLA returns 4, the top-level attribute of res_opts.
func (*ResOpts) TLA() TLA { return 4 }

// Field numbers of res_opts.
const (
	ResOptsCPUMask  uint16 = 1
	ResOptsOnNoData uint16 = 2
)

// NetConf is struct net_conf, the contents of top-level attribute 5.
// Present tells which fields were on the wire (or are to be put there).
type NetConf struct {
	SharedSecret        string `genl:"1"`  // shared_secret, nr 1, mandatory, sensitive, max 64 bytes
	CramHMACAlg         string `genl:"2"`  // cram_hmac_alg, nr 2, mandatory, max 64 bytes
	IntegrityAlg        string `genl:"3"`  // integrity_alg, nr 3, mandatory, max 64 bytes
	VerifyAlg           string `genl:"4"`  // verify_alg, nr 4, mandatory, max 64 bytes
	CsumsAlg            string `genl:"5"`  // csums_alg, nr 5, mandatory, max 64 bytes
	WireProtocol        uint32 `genl:"6"`  // wire_protocol, nr 6, mandatory, default 3
	ConnectInt          uint32 `genl:"7"`  // connect_int, nr 7, mandatory, default 10
	Timeout             uint32 `genl:"8"`  // timeout, nr 8, mandatory, default 60
	PingInt             uint32 `genl:"9"`  // ping_int, nr 9, mandatory, default 10
	PingTimeo           uint32 `genl:"10"` // ping_timeo, nr 10, mandatory, default 5
	SndbufSize          uint32 `genl:"11"` // sndbuf_size, nr 11, mandatory, default 0
	RcvbufSize          uint32 `genl:"12"` // rcvbuf_size, nr 12, mandatory, default 0
	KoCount             uint32 `genl:"13"` // ko_count, nr 13, mandatory, default 7
	MaxBuffers          uint32 `genl:"14"` // max_buffers, nr 14, mandatory, default 2048
	MaxEpochSize        uint32 `genl:"15"` // max_epoch_size, nr 15, mandatory, default 2048
	UnplugWatermark     uint32 `genl:"16"` // unplug_watermark, nr 16, mandatory, default 128
	AfterSB0P           uint32 `genl:"17"` // after_sb_0p, nr 17, mandatory, default 0
	AfterSB1P           uint32 `genl:"18"` // after_sb_1p, nr 18, mandatory, default 0
	AfterSB2P           uint32 `genl:"19"` // after_sb_2p, nr 19, mandatory, default 0
	RRConflict          uint32 `genl:"20"` // rr_conflict, nr 20, mandatory, default 0
	OnCongestion        uint32 `genl:"21"` // on_congestion, nr 21, mandatory, default 0
	CongFill            uint32 `genl:"22"` // cong_fill, nr 22, mandatory, default 0
	CongExtents         uint32 `genl:"23"` // cong_extents, nr 23, mandatory, default 1237
	TwoPrimaries        bool   `genl:"24"` // two_primaries, nr 24, mandatory, default 0
	DiscardMyData       bool   `genl:"25"` // discard_my_data, nr 25, mandatory, invariant
	TCPCork             bool   `genl:"26"` // tcp_cork, nr 26, mandatory, default 1
	AlwaysASBP          bool   `genl:"27"` // always_asbp, nr 27, mandatory, default 0
	Tentative           bool   `genl:"28"` // tentative, nr 28, mandatory, invariant
	UseRLE              bool   `genl:"29"` // use_rle, nr 29, mandatory, default 1
	CsumsAfterCrashOnly bool   `genl:"33"` // csums_after_crash_only, nr 33, default 0
	SockCheckTimeo      uint32 `genl:"34"` // sock_check_timeo, nr 34, default 0
	Present             Fields
}

// TLA returns 5, the top-level attribute of net_conf.
func (*NetConf) TLA() TLA { return 5 }

// Field numbers of net_conf.
const (
	NetConfSharedSecret        uint16 = 1
	NetConfCramHMACAlg         uint16 = 2
	NetConfIntegrityAlg        uint16 = 3
	NetConfVerifyAlg           uint16 = 4
	NetConfCsumsAlg            uint16 = 5
	NetConfWireProtocol        uint16 = 6
	NetConfConnectInt          uint16 = 7
	NetConfTimeout             uint16 = 8
	NetConfPingInt             uint16 = 9
	NetConfPingTimeo           uint16 = 10
	NetConfSndbufSize          uint16 = 11
	NetConfRcvbufSize          uint16 = 12
	NetConfKoCount             uint16 = 13
	NetConfMaxBuffers          uint16 = 14
	NetConfMaxEpochSize        uint16 = 15
	NetConfUnplugWatermark     uint16 = 16
	NetConfAfterSB0P           uint16 = 17
	NetConfAfterSB1P           uint16 = 18
	NetConfAfterSB2P           uint16 = 19
	NetConfRRConflict          uint16 = 20
	NetConfOnCongestion        uint16 = 21
	NetConfCongFill            uint16 = 22
	NetConfCongExtents         uint16 = 23
	NetConfTwoPrimaries        uint16 = 24
	NetConfDiscardMyData       uint16 = 25
	NetConfTCPCork             uint16 = 26
	NetConfAlwaysASBP          uint16 = 27
	NetConfTentative           uint16 = 28
	NetConfUseRLE              uint16 = 29
	NetConfCsumsAfterCrashOnly uint16 = 33
	NetConfSockCheckTimeo      uint16 = 34
)

// SetRoleParms is struct set_role_parms, the contents of top-level attribute 6.
// Present tells which fields were on the wire (or are to be put there).
type SetRoleParms struct {
	AssumeUptodate bool `genl:"1"` // assume_uptodate, nr 1, mandatory
	Present        Fields
}

// TLA returns 6, the top-level attribute of set_role_parms.
func (*SetRoleParms) TLA() TLA { return 6 }

// Field numbers of set_role_parms.
const (
	SetRoleParmsAssumeUptodate uint16 = 1
)

// ResizeParms is struct resize_parms, the contents of top-level attribute 7.
// Present tells which fields were on the wire (or are to be put there).
type ResizeParms struct {
	ResizeSize   uint64 `genl:"1"` // resize_size, nr 1, mandatory
	ResizeForce  bool   `genl:"2"` // resize_force, nr 2, mandatory
	NoResync     bool   `genl:"3"` // no_resync, nr 3, mandatory
	ALStripes    uint32 `genl:"4"` // al_stripes, nr 4, default 1
	ALStripeSize uint32 `genl:"5"` // al_stripe_size, nr 5, default 32
	Present      Fields
}

// TLA returns 7, the top-level attribute of resize_parms.
func (*ResizeParms) TLA() TLA { return 7 }

// Field numbers of resize_parms.
const (
	ResizeParmsResizeSize   uint16 = 1
	ResizeParmsResizeForce  uint16 = 2
	ResizeParmsNoResync     uint16 = 3
	ResizeParmsALStripes    uint16 = 4
	ResizeParmsALStripeSize uint16 = 5
)

// StateInfo is struct state_info, the contents of top-level attribute 8.
// Present tells which fields were on the wire (or are to be put there).
type StateInfo struct {
	SIBReason      uint32 `genl:"1"`  // sib_reason, nr 1, mandatory
	CurrentState   uint32 `genl:"2"`  // current_state, nr 2, required
	Capacity       uint64 `genl:"3"`  // capacity, nr 3, mandatory
	EDUUID         uint64 `genl:"4"`  // ed_uuid, nr 4, mandatory
	PrevState      uint32 `genl:"5"`  // prev_state, nr 5, mandatory
	NewState       uint32 `genl:"6"`  // new_state, nr 6, mandatory
	UUIDs          []byte `genl:"7"`  // uuids, nr 7, mandatory, max 32 bytes
	DiskFlags      uint32 `genl:"8"`  // disk_flags, nr 8, mandatory
	BitsTotal      uint64 `genl:"9"`  // bits_total, nr 9, mandatory
	BitsOOS        uint64 `genl:"10"` // bits_oos, nr 10, mandatory
	BitsRSTotal    uint64 `genl:"11"` // bits_rs_total, nr 11, mandatory
	BitsRSFailed   uint64 `genl:"12"` // bits_rs_failed, nr 12, mandatory
	Helper         string `genl:"13"` // helper, nr 13, mandatory, max 32 bytes
	HelperExitCode uint32 `genl:"14"` // helper_exit_code, nr 14, mandatory
	SendCnt        uint64 `genl:"15"` // send_cnt, nr 15
	RecvCnt        uint64 `genl:"16"` // recv_cnt, nr 16
	ReadCnt        uint64 `genl:"17"` // read_cnt, nr 17
	WritCnt        uint64 `genl:"18"` // writ_cnt, nr 18
	ALWritCnt      uint64 `genl:"19"` // al_writ_cnt, nr 19
	BMWritCnt      uint64 `genl:"20"` // bm_writ_cnt, nr 20
	APBioCnt       uint32 `genl:"21"` // ap_bio_cnt, nr 21
	APPendingCnt   uint32 `genl:"22"` // ap_pending_cnt, nr 22
	RSPendingCnt   uint32 `genl:"23"` // rs_pending_cnt, nr 23
	Present        Fields
}

// TLA returns 8, the top-level attribute of state_info.
func (*StateInfo) TLA() TLA { return 8 }

// Field numbers of state_info.
const (
	StateInfoSIBReason      uint16 = 1
	StateInfoCurrentState   uint16 = 2
	StateInfoCapacity       uint16 = 3
	StateInfoEDUUID         uint16 = 4
	StateInfoPrevState      uint16 = 5
	StateInfoNewState       uint16 = 6
	StateInfoUUIDs          uint16 = 7
	StateInfoDiskFlags      uint16 = 8
	StateInfoBitsTotal      uint16 = 9
	StateInfoBitsOOS        uint16 = 10
	StateInfoBitsRSTotal    uint16 = 11
	StateInfoBitsRSFailed   uint16 = 12
	StateInfoHelper         uint16 = 13
	StateInfoHelperExitCode uint16 = 14
	StateInfoSendCnt        uint16 = 15
	StateInfoRecvCnt        uint16 = 16
	StateInfoReadCnt        uint16 = 17
	StateInfoWritCnt        uint16 = 18
	StateInfoALWritCnt      uint16 = 19
	StateInfoBMWritCnt      uint16 = 20
	StateInfoAPBioCnt       uint16 = 21
	StateInfoAPPendingCnt   uint16 = 22
	StateInfoRSPendingCnt   uint16 = 23
)

// StartOVParms is struct start_ov_parms, the contents of top-level attribute 9.
// Present tells which fields were on the wire (or are to be put there).
type StartOVParms struct {
	OVStartSector uint64 `genl:"1"` // ov_start_sector, nr 1, mandatory
	OVStopSector  uint64 `genl:"2"` // ov_stop_sector, nr 2, mandatory
	Present       Fields
}

// TLA returns 9, the top-level attribute of start_ov_parms.
func (*StartOVParms) TLA() TLA { return 9 }

// Field numbers of start_ov_parms.
const (
	StartOVParmsOVStartSector uint16 = 1
	StartOVParmsOVStopSector  uint16 = 2
)

// NewCUUIDParms is struct new_c_uuid_parms, the contents of top-level attribute 10.
// Present tells which fields were on the wire (or are to be put there).
type NewCUUIDParms struct {
	ClearBM bool `genl:"1"` // clear_bm, nr 1, mandatory
	Present Fields
}

// TLA returns 10, the top-level attribute of new_c_uuid_parms.
func (*NewCUUIDParms) TLA() TLA { return 10 }

// Field numbers of new_c_uuid_parms.
const (
	NewCUUIDParmsClearBM uint16 = 1
)

// TimeoutParms is struct timeout_parms, the contents of top-level attribute 11.
// Present tells which fields were on the wire (or are to be put there).
type TimeoutParms struct {
	TimeoutType uint32 `genl:"1"` // timeout_type, nr 1, required
	Present     Fields
}

// TLA returns 11, the top-level attribute of timeout_parms.
func (*TimeoutParms) TLA() TLA { return 11 }

// Field numbers of timeout_parms.
const (
	TimeoutParmsTimeoutType uint16 = 1
)

// DisconnectParms is struct disconnect_parms, the contents of top-level attribute 12.
// Present tells which fields were on the wire (or are to be put there).
type DisconnectParms struct {
	ForceDisconnect bool `genl:"1"` // force_disconnect, nr 1, mandatory
	Present         Fields
}

// TLA returns 12, the top-level attribute of disconnect_parms.
func (*DisconnectParms) TLA() TLA { return 12 }

// Field numbers of disconnect_parms.
const (
	DisconnectParmsForceDisconnect uint16 = 1
)

// DetachParms is struct detach_parms, the contents of top-level attribute 13.
// Present tells which fields were on the wire (or are to be put there).
type DetachParms struct {
	ForceDetach bool `genl:"1"` // force_detach, nr 1, mandatory
	Present     Fields
}

// TLA returns 13, the top-level attribute of detach_parms.
func (*DetachParms) TLA() TLA { return 13 }

// Field numbers of detach_parms.
const (
	DetachParmsForceDetach uint16 = 1
)

// ResourceInfo is struct resource_info, the contents of top-level attribute 15.
// Present tells which fields were on the wire (or are to be put there).
type ResourceInfo struct {
	ResRole    uint32 `genl:"1"` // res_role, nr 1
	ResSusp    bool   `genl:"2"` // res_susp, nr 2
	ResSuspNod bool   `genl:"3"` // res_susp_nod, nr 3
	ResSuspFen bool   `genl:"4"` // res_susp_fen, nr 4
	Present    Fields
}

// TLA returns 15, the top-level attribute of resource_info.
func (*ResourceInfo) TLA() TLA { return 15 }

// Field numbers of resource_info.
const (
	ResourceInfoResRole    uint16 = 1
	ResourceInfoResSusp    uint16 = 2
	ResourceInfoResSuspNod uint16 = 3
	ResourceInfoResSuspFen uint16 = 4
)

// DeviceInfo is struct device_info, the contents of top-level attribute 16.
// Present tells which fields were on the wire (or are to be put there).
type DeviceInfo struct {
	DevDiskState uint32 `genl:"1"` // dev_disk_state, nr 1
	Present      Fields
}

// TLA returns 16, the top-level attribute of device_info.
func (*DeviceInfo) TLA() TLA { return 16 }

// Field numbers of device_info.
const (
	DeviceInfoDevDiskState uint16 = 1
)

// ConnectionInfo is struct connection_info, the contents of top-level attribute 17.
// Present tells which fields were on the wire (or are to be put there).
type ConnectionInfo struct {
	ConnConnectionState uint32 `genl:"1"` // conn_connection_state, nr 1
	ConnRole            uint32 `genl:"2"` // conn_role, nr 2
	Present             Fields
}

// TLA returns 17, the top-level attribute of connection_info.
func (*ConnectionInfo) TLA() TLA { return 17 }

// Field numbers of connection_info.
const (
	ConnectionInfoConnConnectionState uint16 = 1
	ConnectionInfoConnRole            uint16 = 2
)

// PeerDeviceInfo is struct peer_device_info, the contents of top-level attribute 18.
// Present tells which fields were on the wire (or are to be put there).
type PeerDeviceInfo struct {
	PeerReplState            uint32 `genl:"1"` // peer_repl_state, nr 1
	PeerDiskState            uint32 `genl:"2"` // peer_disk_state, nr 2
	PeerResyncSuspUser       uint32 `genl:"3"` // peer_resync_susp_user, nr 3
	PeerResyncSuspPeer       uint32 `genl:"4"` // peer_resync_susp_peer, nr 4
	PeerResyncSuspDependency uint32 `genl:"5"` // peer_resync_susp_dependency, nr 5
	Present                  Fields
}

// TLA returns 18, the top-level attribute of peer_device_info.
func (*PeerDeviceInfo) TLA() TLA { return 18 }

// Field numbers of peer_device_info.
const (
	PeerDeviceInfoPeerReplState            uint16 = 1
	PeerDeviceInfoPeerDiskState            uint16 = 2
	PeerDeviceInfoPeerResyncSuspUser       uint16 = 3
	PeerDeviceInfoPeerResyncSuspPeer       uint16 = 4
	PeerDeviceInfoPeerResyncSuspDependency uint16 = 5
)

// ResourceStatistics is struct resource_statistics, the contents of top-level attribute 19.
// Present tells which fields were on the wire (or are to be put there).
type ResourceStatistics struct {
	ResStatWriteOrdering uint32 `genl:"1"` // res_stat_write_ordering, nr 1
	Present              Fields
}

// TLA returns 19, the top-level attribute of resource_statistics.
func (*ResourceStatistics) TLA() TLA { return 19 }

// Field numbers of resource_statistics.
const (
	ResourceStatisticsResStatWriteOrdering uint16 = 1
)

// DeviceStatistics is struct device_statistics, the contents of top-level attribute 20.
// Present tells which fields were on the wire (or are to be put there).
type DeviceStatistics struct {
	DevSize            uint64 `genl:"1"`  // dev_size, nr 1
	DevRead            uint64 `genl:"2"`  // dev_read, nr 2
	DevWrite           uint64 `genl:"3"`  // dev_write, nr 3
	DevALWrites        uint64 `genl:"4"`  // dev_al_writes, nr 4
	DevBMWrites        uint64 `genl:"5"`  // dev_bm_writes, nr 5
	DevUpperPending    uint32 `genl:"6"`  // dev_upper_pending, nr 6
	DevLowerPending    uint32 `genl:"7"`  // dev_lower_pending, nr 7
	DevUpperBlocked    bool   `genl:"8"`  // dev_upper_blocked, nr 8
	DevLowerBlocked    bool   `genl:"9"`  // dev_lower_blocked, nr 9
	DevALSuspended     bool   `genl:"10"` // dev_al_suspended, nr 10
	DevExposedDataUUID uint64 `genl:"11"` // dev_exposed_data_uuid, nr 11
	DevCurrentUUID     uint64 `genl:"12"` // dev_current_uuid, nr 12
	DevDiskFlags       uint32 `genl:"13"` // dev_disk_flags, nr 13
	HistoryUUIDs       []byte `genl:"14"` // history_uuids, nr 14, max 256 bytes
	Present            Fields
}

// TLA returns 20, the top-level attribute of device_statistics.
func (*DeviceStatistics) TLA() TLA { return 20 }

// Field numbers of device_statistics.
const (
	DeviceStatisticsDevSize            uint16 = 1
	DeviceStatisticsDevRead            uint16 = 2
	DeviceStatisticsDevWrite           uint16 = 3
	DeviceStatisticsDevALWrites        uint16 = 4
	DeviceStatisticsDevBMWrites        uint16 = 5
	DeviceStatisticsDevUpperPending    uint16 = 6
	DeviceStatisticsDevLowerPending    uint16 = 7
	DeviceStatisticsDevUpperBlocked    uint16 = 8
	DeviceStatisticsDevLowerBlocked    uint16 = 9
	DeviceStatisticsDevALSuspended     uint16 = 10
	DeviceStatisticsDevExposedDataUUID uint16 = 11
	DeviceStatisticsDevCurrentUUID     uint16 = 12
	DeviceStatisticsDevDiskFlags       uint16 = 13
	DeviceStatisticsHistoryUUIDs       uint16 = 14
)

// ConnectionStatistics is struct connection_statistics, the contents of top-level attribute 21.
// Present tells which fields were on the wire (or are to be put there).
type ConnectionStatistics struct {
	ConnCongested bool `genl:"1"` // conn_congested, nr 1
	Present       Fields
}

// TLA returns 21, the top-level attribute of connection_statistics.
func (*ConnectionStatistics) TLA() TLA { return 21 }

// Field numbers of connection_statistics.
const (
	ConnectionStatisticsConnCongested uint16 = 1
)

// PeerDeviceStatistics is struct peer_device_statistics, the contents of top-level attribute 22.
// Present tells which fields were on the wire (or are to be put there).
type PeerDeviceStatistics struct {
	PeerDevReceived     uint64 `genl:"1"` // peer_dev_received, nr 1
	PeerDevSent         uint64 `genl:"2"` // peer_dev_sent, nr 2
	PeerDevPending      uint32 `genl:"3"` // peer_dev_pending, nr 3
	PeerDevUnacked      uint32 `genl:"4"` // peer_dev_unacked, nr 4
	PeerDevOutOfSync    uint64 `genl:"5"` // peer_dev_out_of_sync, nr 5
	PeerDevResyncFailed uint64 `genl:"6"` // peer_dev_resync_failed, nr 6
	PeerDevBitmapUUID   uint64 `genl:"7"` // peer_dev_bitmap_uuid, nr 7
	PeerDevFlags        uint32 `genl:"9"` // peer_dev_flags, nr 9
	Present             Fields
}

// TLA returns 22, the top-level attribute of peer_device_statistics.
func (*PeerDeviceStatistics) TLA() TLA { return 22 }

// Field numbers of peer_device_statistics.
const (
	PeerDeviceStatisticsPeerDevReceived     uint16 = 1
	PeerDeviceStatisticsPeerDevSent         uint16 = 2
	PeerDeviceStatisticsPeerDevPending      uint16 = 3
	PeerDeviceStatisticsPeerDevUnacked      uint16 = 4
	PeerDeviceStatisticsPeerDevOutOfSync    uint16 = 5
	PeerDeviceStatisticsPeerDevResyncFailed uint16 = 6
	PeerDeviceStatisticsPeerDevBitmapUUID   uint16 = 7
	PeerDeviceStatisticsPeerDevFlags        uint16 = 9
)

// NotificationHeader is struct drbd_notification_header, the contents of top-level attribute 23.
// Present tells which fields were on the wire (or are to be put there).
type NotificationHeader struct {
	NHType  uint32 `genl:"1"` // nh_type, nr 1, mandatory
	Present Fields
}

// TLA returns 23, the top-level attribute of drbd_notification_header.
func (*NotificationHeader) TLA() TLA { return 23 }

// Field numbers of drbd_notification_header.
const (
	NotificationHeaderNHType uint16 = 1
)

// HelperInfo is struct drbd_helper_info, the contents of top-level attribute 24.
// Present tells which fields were on the wire (or are to be put there).
type HelperInfo struct {
	HelperName   string `genl:"1"` // helper_name, nr 1, mandatory, max 32 bytes
	HelperStatus uint32 `genl:"2"` // helper_status, nr 2, mandatory
	Present      Fields
}

// TLA returns 24, the top-level attribute of drbd_helper_info.
func (*HelperInfo) TLA() TLA { return 24 }

// Field numbers of drbd_helper_info.
const (
	HelperInfoHelperName   uint16 = 1
	HelperInfoHelperStatus uint16 = 2
)

// newSet returns a new, empty value of the Go type for t, or nil.
func newSet(t TLA) Set {
	switch t {
	case 1:
		return new(CfgReply)
	case 2:
		return new(CfgContext)
	case 3:
		return new(DiskConf)
	case 4:
		return new(ResOpts)
	case 5:
		return new(NetConf)
	case 6:
		return new(SetRoleParms)
	case 7:
		return new(ResizeParms)
	case 8:
		return new(StateInfo)
	case 9:
		return new(StartOVParms)
	case 10:
		return new(NewCUUIDParms)
	case 11:
		return new(TimeoutParms)
	case 12:
		return new(DisconnectParms)
	case 13:
		return new(DetachParms)
	case 15:
		return new(ResourceInfo)
	case 16:
		return new(DeviceInfo)
	case 17:
		return new(ConnectionInfo)
	case 18:
		return new(PeerDeviceInfo)
	case 19:
		return new(ResourceStatistics)
	case 20:
		return new(DeviceStatistics)
	case 21:
		return new(ConnectionStatistics)
	case 22:
		return new(PeerDeviceStatistics)
	case 23:
		return new(NotificationHeader)
	case 24:
		return new(HelperInfo)
	}
	return nil
}
