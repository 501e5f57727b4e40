package genl

import (
	"bytes"
	"flag"
	"os"
	"reflect"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "rewrite generated files")

// TestSetsUpToDate guards that sets.go is exactly what the Sets table
// generates; run with -update after changing the table.
func TestSetsUpToDate(t *testing.T) {
	want, err := renderSets()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("sets.go", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("sets.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("sets.go is stale: go test ./genl -run TestSetsUpToDate -update")
	}
}

// TestBindings checks every Go struct field against its table entry.
func TestBindings(t *testing.T) {
	kinds := map[Kind]reflect.Kind{KindFlag: reflect.Bool, KindU32: reflect.Uint32, KindS32: reflect.Int32,
		KindU64: reflect.Uint64, KindStr: reflect.String, KindBin: reflect.Slice}
	for _, s := range Sets {
		b := bindings[s.TLA]
		if b.present < 0 {
			t.Errorf("%s: no Present field", s.Name)
		}
		if len(b.index) != len(s.Fields) {
			t.Errorf("%s: %d Go fields, %d in table", s.Name, len(b.index), len(s.Fields))
		}
		for _, f := range s.Fields {
			i, ok := b.index[f.Nr]
			if !ok {
				t.Errorf("%s.%s: no Go field", s.Name, f.Name)
				continue
			}
			if got := b.typ.Field(i).Type.Kind(); got != kinds[f.Kind] {
				t.Errorf("%s.%s: Go kind %v, want %v", s.Name, f.Name, got, kinds[f.Kind])
			}
		}
	}
}

// TestABI pins the numbers shared with the generic netlink headers.
func TestABI(t *testing.T) {
	type hdr struct {
		Minor uint32
		Flags uint32
	}
	checks := []struct {
		name      string
		got, want int
	}{
		{"NestedFlag", int(NestedFlag), unix.NLA_F_NESTED},
		{"MandatoryFlag (shares NLA_F_NET_BYTEORDER)", int(MandatoryFlag), unix.NLA_F_NET_BYTEORDER},
		{"TypeMask", int(TypeMask), ^(unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER) & 0xffff},
		{"GenlHeaderLen", GenlHeaderLen, unix.GENL_HDRLEN},
		{"HeaderLen", HeaderLen, int(unsafe.Sizeof(hdr{}))},
		{"GenlIDCtrl", GenlIDCtrl, unix.GENL_ID_CTRL},
		{"CtrlCmdNewFamily", CtrlCmdNewFamily, unix.CTRL_CMD_NEWFAMILY},
		{"CtrlCmdGetFamily", CtrlCmdGetFamily, unix.CTRL_CMD_GETFAMILY},
		{"CtrlAttrFamilyID", CtrlAttrFamilyID, unix.CTRL_ATTR_FAMILY_ID},
		{"CtrlAttrFamilyNm", CtrlAttrFamilyNm, unix.CTRL_ATTR_FAMILY_NAME},
		{"CtrlAttrVersion", CtrlAttrVersion, unix.CTRL_ATTR_VERSION},
		{"CtrlAttrHdrsize", CtrlAttrHdrsize, unix.CTRL_ATTR_HDRSIZE},
		{"CtrlAttrMaxattr", CtrlAttrMaxattr, unix.CTRL_ATTR_MAXATTR},
		{"CtrlAttrOps", CtrlAttrOps, unix.CTRL_ATTR_OPS},
		{"CtrlAttrMcastGrps", CtrlAttrMcastGrps, unix.CTRL_ATTR_MCAST_GROUPS},
		{"CtrlAttrOpID", CtrlAttrOpID, unix.CTRL_ATTR_OP_ID},
		{"CtrlAttrOpFlags", CtrlAttrOpFlags, unix.CTRL_ATTR_OP_FLAGS},
		{"CtrlAttrMcGrpName", CtrlAttrMcGrpName, unix.CTRL_ATTR_MCAST_GRP_NAME},
		{"CtrlAttrMcGrpID", CtrlAttrMcGrpID, unix.CTRL_ATTR_MCAST_GRP_ID},
		{"GenlAdminPerm", GenlAdminPerm, unix.GENL_ADMIN_PERM},
		{"GenlCmdCapDo", GenlCmdCapDo, unix.GENL_CMD_CAP_DO},
		{"GenlCmdCapDump", GenlCmdCapDump, unix.GENL_CMD_CAP_DUMP},
		{"GenlCmdCapHasPol", GenlCmdCapHasPol, unix.GENL_CMD_CAP_HASPOL},
		{"MaxAttr = highest TLA", MaxAttr, int(Sets[len(Sets)-1].TLA)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

// TestSpecFacts spot-checks the table against drbd_genl.h / drbd_limits.h
// facts that matter most on the wire, and checks its internal consistency.
func TestSpecFacts(t *testing.T) {
	seenTLA := map[TLA]bool{}
	for _, s := range Sets {
		if seenTLA[s.TLA] {
			t.Errorf("TLA %d twice", s.TLA)
		}
		seenTLA[s.TLA] = true
		seen := map[uint16]bool{}
		for _, f := range s.Fields {
			if seen[f.Nr] || f.Nr == 0 || f.Nr >= 64 {
				t.Errorf("%s: bad or duplicate field nr %d", s.Name, f.Nr)
			}
			seen[f.Nr] = true
		}
	}
	if seenTLA[14] {
		t.Error("TLA 14 (DRBD 9 device_conf) must not exist in API 1")
	}
	seenCmd := map[Cmd]bool{}
	for _, o := range Ops {
		if seenCmd[o.Cmd] {
			t.Errorf("cmd %d twice", o.Cmd)
		}
		seenCmd[o.Cmd] = true
		if o.Notification == (o.Doit || o.Dumpit) {
			t.Errorf("%s: notification and handlers", o.Name)
		}
		if o.AdminPerm != (o.Doit && o.Cmd != CmdGetStatus) {
			t.Errorf("%s: admin perm %v: every GENL_doit op and only those", o.Name, o.AdminPerm)
		}
	}
	if len(Ops) != 38 {
		t.Errorf("%d commands, want 31 ops + 7 notifications", len(Ops))
	}

	type fact struct {
		set     TLA
		name    string
		nr      uint16
		kind    Kind
		flags   FieldFlag
		def     int64
		wireTyp uint16
	}
	facts := []fact{
		{TLACfgContext, "ctx_resource_name", 2, KindStr, FMandatory, 0, 0x4002},
		{TLADiskConf, "backing_dev", 1, KindStr, FRequired | FInvariant, 0, 1},
		{TLADiskConf, "meta_dev_idx", 3, KindS32, FRequired | FInvariant, 0, 3},
		{TLADiskConf, "disk_size", 4, KindU64, FMandatory | FInvariant, 0, 0x4004},
		{TLADiskConf, "on_io_error", 6, KindU32, FMandatory, 2, 0x4006},
		{TLADiskConf, "resync_rate", 8, KindU32, FMandatory, 250, 0x4008},
		{TLADiskConf, "resync_after", 9, KindS32, FMandatory, -1, 0x4009},
		{TLADiskConf, "al_extents", 10, KindU32, FMandatory, 1237, 0x400a},
		{TLADiskConf, "c_max_rate", 14, KindU32, FMandatory, 102400, 0x400e},
		{TLADiskConf, "disk_flushes", 17, KindFlag, FMandatory, 1, 0x4011},
		{TLADiskConf, "read_balancing", 21, KindU32, 0, 0, 21},
		{TLADiskConf, "al_updates", 23, KindFlag, 0, 1, 23},
		{TLADiskConf, "disable_write_same", 26, KindFlag, 0, 0, 26},
		{TLAResourceOpts, "on_no_data", 2, KindU32, FMandatory, 0, 0x4002},
		{TLANetConf, "shared_secret", 1, KindStr, FMandatory | FSensitive, 0, 0x4001},
		{TLANetConf, "wire_protocol", 6, KindU32, FMandatory, 3, 0x4006},
		{TLANetConf, "timeout", 8, KindU32, FMandatory, 60, 0x4008},
		{TLANetConf, "unplug_watermark", 16, KindU32, FMandatory, 128, 0x4010},
		{TLANetConf, "cong_extents", 23, KindU32, FMandatory, 1237, 0x4017},
		{TLANetConf, "discard_my_data", 25, KindFlag, FMandatory | FInvariant, 0, 0x4019},
		{TLANetConf, "use_rle", 29, KindFlag, FMandatory, 1, 0x401d},
		{TLANetConf, "sock_check_timeo", 34, KindU32, 0, 0, 34},
		{TLAStateInfo, "current_state", 2, KindU32, FRequired, 0, 2},
		{TLAStateInfo, "uuids", 7, KindBin, FMandatory, 0, 0x4007},
		{TLAResizeParms, "al_stripe_size", 5, KindU32, 0, 32, 5},
		{TLATimeoutParms, "timeout_type", 1, KindU32, FRequired, 0, 1},
		{TLADeviceStatistics, "history_uuids", 14, KindBin, 0, 0, 14},
		{TLAPeerDeviceStatistics, "peer_dev_flags", 9, KindU32, 0, 0, 9},
		{TLANotificationHeader, "nh_type", 1, KindU32, FMandatory, 0, 0x4001},
		{TLAHelper, "helper_status", 2, KindU32, FMandatory, 0, 0x4002},
	}
	for _, f := range facts {
		s := SpecOf(f.set)
		fs := s.Field(f.nr)
		if fs == nil || fs.Name != f.name || fs.Kind != f.kind || fs.Flags != f.flags || fs.Default != f.def || fs.WireType() != f.wireTyp {
			t.Errorf("%s field %d: %+v, want %+v", s.Name, f.nr, fs, f)
		}
	}
	maxNr := map[TLA]uint16{TLADiskConf: 26, TLANetConf: 34, TLAStateInfo: 23, TLAPeerDeviceStatistics: 9, TLAResourceInfo: 4}
	for tla, want := range maxNr {
		if got := SpecOf(tla).MaxNr(); got != want {
			t.Errorf("%s maxtype %d, want %d", SpecOf(tla).Name, got, want)
		}
	}
	// the kernel's disk_conf_to_skb order: u32 fields 20, 21, 25 precede the flags
	var order []uint16
	for _, f := range SpecOf(TLADiskConf).Fields {
		order = append(order, f.Nr)
	}
	want := []uint16{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 20, 21, 25, 16, 17, 18, 19, 23, 24, 26}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("disk_conf order %v, want %v", order, want)
	}
}
