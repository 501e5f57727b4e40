package genl

// Kernel ABI numbers of the drbd genl family, API 1. Every number here is a
// fact read from include/linux/drbd_genl.h, drbd_genl_api.h,
// genl_magic_struct.h, linux/netlink.h and linux/genetlink.h; abi_test.go
// pins them.

const (
	// FamilyName is GENL_MAGIC_FAMILY.
	FamilyName = "drbd"
	// FamilyVersion is GENL_MAGIC_VERSION; DRBD 9 uses 2 under the same name.
	FamilyVersion = 1
	// HeaderLen is sizeof(struct drbd_genlmsghdr) = NLA_ALIGN(8), the family's hdrsize.
	HeaderLen = 8
	// GenlHeaderLen is GENL_HDRLEN (struct genlmsghdr).
	GenlHeaderLen = 4
	// MaxAttr is the family's maxattr: the highest top-level attribute (DRBD_NLA_HELPER).
	MaxAttr = 24
	// EventsGroup is the name of the family's only multicast group.
	EventsGroup = "events"
	// ResvStartOp is the family's resv_start_op: every 8.4 op is below it, so
	// the genl core applies legacy (liberal) attribute validation.
	ResvStartOp = 42
)

// Netlink attribute type bits.
const (
	// MandatoryFlag is DRBD_GENLA_F_MANDATORY (1<<14). It shares its bit with
	// NLA_F_NET_BYTEORDER; drbd uses it on nested field attributes only.
	MandatoryFlag uint16 = 1 << 14
	// NestedFlag is NLA_F_NESTED (1<<15).
	NestedFlag uint16 = 1 << 15
	// TypeMask is NLA_TYPE_MASK: the attribute number without the two flag bits.
	TypeMask uint16 = ^(MandatoryFlag | NestedFlag)
)

// Request flags in drbd_genlmsghdr.flags.
const (
	// FlagSetDefaults is DRBD_GENL_F_SET_DEFAULTS: start from defaults, not the current settings.
	FlagSetDefaults uint32 = 1
)

// MinorNone is the minor of requests and replies that are not about one minor (~0u).
const MinorNone uint32 = 0xffffffff

// Return codes this package itself needs (enum drbd_ret_code in drbd.h).
const (
	// NoError is NO_ERROR.
	NoError int32 = 101
	// ErrMandatoryTag is ERR_MANDATORY_TAG, the reply to a set that fails to parse.
	ErrMandatoryTag int32 = 126
)

// Cmd is a genlmsghdr.cmd of the drbd family: an op (DRBD_ADM_*) or a
// notification (DRBD_EVENT and the events2 notifications).
type Cmd uint8

// Commands (GENL_op and GENL_notification numbers in drbd_genl.h).
const (
	CmdEvent            Cmd = 1  // DRBD_EVENT
	CmdGetStatus        Cmd = 2  // DRBD_ADM_GET_STATUS
	CmdNewMinor         Cmd = 5  // DRBD_ADM_NEW_MINOR
	CmdDelMinor         Cmd = 6  // DRBD_ADM_DEL_MINOR
	CmdNewResource      Cmd = 7  // DRBD_ADM_NEW_RESOURCE
	CmdDelResource      Cmd = 8  // DRBD_ADM_DEL_RESOURCE
	CmdResourceOpts     Cmd = 9  // DRBD_ADM_RESOURCE_OPTS
	CmdConnect          Cmd = 10 // DRBD_ADM_CONNECT
	CmdDisconnect       Cmd = 11 // DRBD_ADM_DISCONNECT
	CmdAttach           Cmd = 12 // DRBD_ADM_ATTACH
	CmdResize           Cmd = 13 // DRBD_ADM_RESIZE
	CmdPrimary          Cmd = 14 // DRBD_ADM_PRIMARY
	CmdSecondary        Cmd = 15 // DRBD_ADM_SECONDARY
	CmdNewCUUID         Cmd = 16 // DRBD_ADM_NEW_C_UUID
	CmdStartOV          Cmd = 17 // DRBD_ADM_START_OV
	CmdDetach           Cmd = 18 // DRBD_ADM_DETACH
	CmdInvalidate       Cmd = 19 // DRBD_ADM_INVALIDATE
	CmdInvalPeer        Cmd = 20 // DRBD_ADM_INVAL_PEER
	CmdPauseSync        Cmd = 21 // DRBD_ADM_PAUSE_SYNC
	CmdResumeSync       Cmd = 22 // DRBD_ADM_RESUME_SYNC
	CmdSuspendIO        Cmd = 23 // DRBD_ADM_SUSPEND_IO
	CmdResumeIO         Cmd = 24 // DRBD_ADM_RESUME_IO
	CmdOutdate          Cmd = 25 // DRBD_ADM_OUTDATE
	CmdGetTimeoutType   Cmd = 26 // DRBD_ADM_GET_TIMEOUT_TYPE
	CmdDown             Cmd = 27 // DRBD_ADM_DOWN
	CmdChgDiskOpts      Cmd = 28 // DRBD_ADM_CHG_DISK_OPTS
	CmdChgNetOpts       Cmd = 29 // DRBD_ADM_CHG_NET_OPTS
	CmdGetResources     Cmd = 30 // DRBD_ADM_GET_RESOURCES
	CmdGetDevices       Cmd = 31 // DRBD_ADM_GET_DEVICES
	CmdGetConnections   Cmd = 32 // DRBD_ADM_GET_CONNECTIONS
	CmdGetPeerDevices   Cmd = 33 // DRBD_ADM_GET_PEER_DEVICES
	CmdResourceState    Cmd = 34 // DRBD_RESOURCE_STATE
	CmdDeviceState      Cmd = 35 // DRBD_DEVICE_STATE
	CmdConnectionState  Cmd = 36 // DRBD_CONNECTION_STATE
	CmdPeerDeviceState  Cmd = 37 // DRBD_PEER_DEVICE_STATE
	CmdGetInitialState  Cmd = 38 // DRBD_ADM_GET_INITIAL_STATE
	CmdHelper           Cmd = 40 // DRBD_HELPER
	CmdInitialStateDone Cmd = 41 // DRBD_INITIAL_STATE_DONE
)

// TLA is a top-level attribute number (DRBD_NLA_*); each names one attribute set.
type TLA uint16

// Top-level attributes (GENL_struct numbers in drbd_genl.h). 14 is unused in 8.4.
const (
	TLACfgReply             TLA = 1  // DRBD_NLA_CFG_REPLY
	TLACfgContext           TLA = 2  // DRBD_NLA_CFG_CONTEXT
	TLADiskConf             TLA = 3  // DRBD_NLA_DISK_CONF
	TLAResourceOpts         TLA = 4  // DRBD_NLA_RESOURCE_OPTS
	TLANetConf              TLA = 5  // DRBD_NLA_NET_CONF
	TLASetRoleParms         TLA = 6  // DRBD_NLA_SET_ROLE_PARMS
	TLAResizeParms          TLA = 7  // DRBD_NLA_RESIZE_PARMS
	TLAStateInfo            TLA = 8  // DRBD_NLA_STATE_INFO
	TLAStartOVParms         TLA = 9  // DRBD_NLA_START_OV_PARMS
	TLANewCUUIDParms        TLA = 10 // DRBD_NLA_NEW_C_UUID_PARMS
	TLATimeoutParms         TLA = 11 // DRBD_NLA_TIMEOUT_PARMS
	TLADisconnectParms      TLA = 12 // DRBD_NLA_DISCONNECT_PARMS
	TLADetachParms          TLA = 13 // DRBD_NLA_DETACH_PARMS
	TLAResourceInfo         TLA = 15 // DRBD_NLA_RESOURCE_INFO
	TLADeviceInfo           TLA = 16 // DRBD_NLA_DEVICE_INFO
	TLAConnectionInfo       TLA = 17 // DRBD_NLA_CONNECTION_INFO
	TLAPeerDeviceInfo       TLA = 18 // DRBD_NLA_PEER_DEVICE_INFO
	TLAResourceStatistics   TLA = 19 // DRBD_NLA_RESOURCE_STATISTICS
	TLADeviceStatistics     TLA = 20 // DRBD_NLA_DEVICE_STATISTICS
	TLAConnectionStatistics TLA = 21 // DRBD_NLA_CONNECTION_STATISTICS
	TLAPeerDeviceStatistics TLA = 22 // DRBD_NLA_PEER_DEVICE_STATISTICS
	TLANotificationHeader   TLA = 23 // DRBD_NLA_NOTIFICATION_HEADER
	TLAHelper               TLA = 24 // DRBD_NLA_HELPER
)

// Notification types (drbd_notification_header.nh_type, enum drbd_notification_type).
const (
	NotifyExists    uint32 = 0
	NotifyCreate    uint32 = 1
	NotifyChange    uint32 = 2
	NotifyDestroy   uint32 = 3
	NotifyCall      uint32 = 4
	NotifyResponse  uint32 = 5
	NotifyContinues uint32 = 0x8000
)

// State-info broadcast reasons (enum drbd_state_info_bcast_reason).
const (
	SIBGetStatusReply = 1
	SIBStateChange    = 2
	SIBHelperPre      = 3
	SIBHelperPost     = 4
	SIBSyncProgress   = 5
)

// Generic netlink controller numbers (linux/genetlink.h), used by the server
// to answer CTRL_CMD_GETFAMILY as the kernel does.
const (
	GenlIDCtrl        = 0x10 // GENL_ID_CTRL
	CtrlVersion       = 2    // genl_ctrl family version
	CtrlCmdNewFamily  = 1    // CTRL_CMD_NEWFAMILY
	CtrlCmdGetFamily  = 3    // CTRL_CMD_GETFAMILY
	CtrlAttrFamilyID  = 1    // CTRL_ATTR_FAMILY_ID
	CtrlAttrFamilyNm  = 2    // CTRL_ATTR_FAMILY_NAME
	CtrlAttrVersion   = 3    // CTRL_ATTR_VERSION
	CtrlAttrHdrsize   = 4    // CTRL_ATTR_HDRSIZE
	CtrlAttrMaxattr   = 5    // CTRL_ATTR_MAXATTR
	CtrlAttrOps       = 6    // CTRL_ATTR_OPS
	CtrlAttrMcastGrps = 7    // CTRL_ATTR_MCAST_GROUPS
	CtrlAttrOpID      = 1    // CTRL_ATTR_OP_ID
	CtrlAttrOpFlags   = 2    // CTRL_ATTR_OP_FLAGS
	CtrlAttrMcGrpName = 1    // CTRL_ATTR_MCAST_GRP_NAME
	CtrlAttrMcGrpID   = 2    // CTRL_ATTR_MCAST_GRP_ID
	GenlAdminPerm     = 0x01 // GENL_ADMIN_PERM
	GenlCmdCapDo      = 0x02 // GENL_CMD_CAP_DO
	GenlCmdCapDump    = 0x04 // GENL_CMD_CAP_DUMP
	GenlCmdCapHasPol  = 0x08 // GENL_CMD_CAP_HASPOL
)
