package main

import (
	"bytes"
	goctx "context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/genl/server"
)

// The end-to-end tests run this test binary as drbdsetup (TestMain hands
// over to main when asked) against a genl/server with a small fake of the
// kernel's handlers, and look at stdout, stderr and the exit code.

func TestMain(m *testing.M) {
	if os.Getenv("UDRBD_DRBDSETUP_AS_MAIN") == "1" {
		os.Args = append([]string{"drbdsetup-84"}, strings.Fields(os.Getenv("UDRBD_DRBDSETUP_ARGS"))...)
		main()
		return
	}
	os.Exit(m.Run())
}

type fakeDev struct {
	res    string
	vol    uint32
	minor  uint32
	disk   drbd.DiskState
	role   drbd.Role
	uuids  [4]uint64
	flags  uint32
	diskCf *genl.DiskConf
}

// fakeKernel answers like drbd.ko for a StandAlone node (no connections).
type fakeKernel struct {
	mu   sync.Mutex
	res  map[string]*genl.ResOpts
	devs map[uint32]*fakeDev
	seen []genl.Cmd
}

func newFake() *fakeKernel {
	return &fakeKernel{res: map[string]*genl.ResOpts{}, devs: map[uint32]*fakeDev{}}
}

func ctxAttr(res string, vol uint32, withVol bool) genl.Attr {
	c := &genl.CfgContext{CtxResourceName: res}
	c.Present.Add(genl.CfgContextCtxResourceName)
	if withVol {
		c.CtxVolume = vol
		c.Present.Add(genl.CfgContextCtxVolume)
	}
	return genl.Tagged(c)
}

func (d *fakeDev) state() drbd.State {
	return drbd.State{Role: d.role, Peer: drbd.RUnknown, Conn: drbd.CStandAlone, Disk: d.disk, Pdsk: drbd.DUnknown}
}

func (f *fakeKernel) statusMsg(d *fakeDev) *genl.Message {
	m := &genl.Message{Minor: d.minor}
	m.SetRetCode(genl.NoError)
	m.Attrs = append(m.Attrs, ctxAttr(d.res, d.vol, true))
	ro := f.res[d.res]
	m.Attrs = append(m.Attrs, genl.Kernel(ro))
	if d.diskCf != nil {
		m.Attrs = append(m.Attrs, genl.Kernel(d.diskCf))
	}
	si := &genl.StateInfo{SIBReason: genl.SIBGetStatusReply, CurrentState: d.state().Pack()}
	si.Present.Add(genl.StateInfoSIBReason, genl.StateInfoCurrentState)
	if d.disk != drbd.DDiskless {
		b := make([]byte, 32)
		for i, u := range d.uuids {
			for k := 0; k < 8; k++ {
				b[8*i+k] = byte(u >> (8 * k))
			}
		}
		si.UUIDs, si.DiskFlags = b, d.flags
		si.Present.Add(genl.StateInfoUUIDs, genl.StateInfoDiskFlags)
	}
	m.Add(si)
	return m
}

func mkReply(rc int32, infos ...string) *genl.Message {
	m := &genl.Message{}
	m.SetRetCode(rc)
	for _, s := range infos {
		r := &genl.CfgReply{InfoText: s}
		r.Present.Add(genl.CfgReplyInfoText)
		m.Add(r)
	}
	return m
}

func (f *fakeKernel) Do(_ goctx.Context, r *server.Request) (*genl.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, r.Msg.Cmd)
	c := ctxOf(r.Msg)
	d := f.devs[r.Msg.Minor]
	needMinor := func() *genl.Message {
		if d == nil {
			return mkReply(int32(drbd.ErrMinorInvalid), "unknown minor")
		}
		return nil
	}
	var out *genl.Message
	switch r.Msg.Cmd {
	case genl.CmdNewResource:
		if _, ok := f.res[c.resource]; !ok {
			ro := &genl.ResOpts{}
			genl.SetDefaults(ro)
			if in, _ := genl.Get[*genl.ResOpts](r.Msg); in != nil {
				genl.Overlay(ro, in)
			}
			f.res[c.resource] = ro
		}
		out = mkReply(genl.NoError)
	case genl.CmdNewMinor:
		if _, ok := f.res[c.resource]; !ok {
			out = mkReply(int32(drbd.ErrResNotKnown), "unknown resource")
		} else if d != nil {
			out = mkReply(int32(drbd.ErrMinorOrVolumeExists))
		} else {
			f.devs[r.Msg.Minor] = &fakeDev{res: c.resource, vol: c.volume, minor: r.Msg.Minor, role: drbd.RSecondary}
			out = mkReply(genl.NoError)
		}
	case genl.CmdPrimary:
		if out = needMinor(); out == nil {
			force := false
			if p, _ := genl.Get[*genl.SetRoleParms](r.Msg); p != nil {
				force = p.AssumeUptodate
			}
			switch {
			case d.disk < drbd.DInconsistent, d.disk < drbd.DUpToDate && !force:
				out = mkReply(int32(drbd.SSNoUpToDateDisk))
			default:
				d.role, d.disk = drbd.RPrimary, drbd.DUpToDate
				out = mkReply(int32(drbd.SSSuccess))
			}
		}
	case genl.CmdDetach:
		if out = needMinor(); out == nil {
			if d.disk == drbd.DDiskless {
				out = mkReply(int32(drbd.SSIsDiskless))
			} else {
				d.disk, d.diskCf = drbd.DDiskless, nil
				out = mkReply(genl.NoError)
			}
		}
	case genl.CmdChgDiskOpts:
		if out = needMinor(); out == nil {
			if d.diskCf == nil {
				out = mkReply(int32(drbd.ErrNoDisk))
			} else {
				if r.Msg.Flags&genl.FlagSetDefaults != 0 {
					keep := *d.diskCf
					genl.SetDefaults(d.diskCf)
					d.diskCf.BackingDev, d.diskCf.MetaDev, d.diskCf.MetaDevIdx = keep.BackingDev, keep.MetaDev, keep.MetaDevIdx
				}
				if in, _ := genl.Get[*genl.DiskConf](r.Msg); in != nil {
					genl.Overlay(d.diskCf, in)
				}
				out = mkReply(genl.NoError)
			}
		}
	case genl.CmdGetStatus:
		if out = needMinor(); out == nil {
			out = f.statusMsg(d)
		}
	case genl.CmdDelMinor:
		if out = needMinor(); out == nil {
			delete(f.devs, r.Msg.Minor)
			out = mkReply(genl.NoError)
		}
	case genl.CmdDown, genl.CmdDelResource:
		if _, ok := f.res[c.resource]; !ok {
			out = mkReply(int32(drbd.ErrResNotKnown), "unknown resource")
			break
		}
		for mn, dv := range f.devs {
			if dv.res == c.resource {
				delete(f.devs, mn)
			}
		}
		delete(f.res, c.resource)
		out = mkReply(genl.NoError)
	default:
		out = mkReply(int32(drbd.ErrInvalidRequest))
	}
	out.Minor = r.Msg.Minor
	return out, nil
}

// attachForTest gives minor mn a disk without a block device.
func (f *fakeKernel) attachForTest(mn uint32, disk drbd.DiskState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.devs[mn]
	d.disk = disk
	d.uuids = [4]uint64{0xF00DCAFE12345678, 0, 0, 0}
	d.flags = drbd.MDFConsistent | drbd.MDFALClean
	d.diskCf = &genl.DiskConf{BackingDev: "/dev/loop7", MetaDev: "/dev/loop7", MetaDevIdx: drbd.MDIndexFlexInt}
	genl.SetDefaults(d.diskCf)
	d.diskCf.Present = genl.AllFields(d.diskCf)
	d.diskCf.ResyncRate = 10240
}

func (f *fakeKernel) Dump(_ goctx.Context, r *server.Request, emit func(*genl.Message) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, r.Msg.Cmd)
	filter := ctxOf(r.Msg).resource
	var names []string
	for n := range f.res {
		if filter == "" || filter == n {
			names = append(names, n)
		}
	}
	if filter != "" && len(names) == 0 {
		return syscall.ENODEV
	}
	sortStrings(names)
	for _, n := range names {
		var devs []*fakeDev
		for mn := uint32(0); mn < 256; mn++ {
			if d := f.devs[mn]; d != nil && d.res == n {
				devs = append(devs, d)
			}
		}
		switch r.Msg.Cmd {
		case genl.CmdGetStatus:
			for _, d := range devs {
				if err := emit(f.statusMsg(d)); err != nil {
					return err
				}
			}
		case genl.CmdGetResources:
			m := mkReply(genl.NoError)
			m.Minor = ^uint32(0)
			m.Attrs = append(m.Attrs, ctxAttr(n, 0, false))
			role := drbd.RSecondary
			for _, d := range devs {
				if d.role == drbd.RPrimary {
					role = drbd.RPrimary
				}
			}
			ri := &genl.ResourceInfo{ResRole: uint32(role)}
			ri.Present = genl.AllFields(ri)
			rs := &genl.ResourceStatistics{ResStatWriteOrdering: 2}
			rs.Present = genl.AllFields(rs)
			m.Attrs = append(m.Attrs, genl.Kernel(f.res[n]), genl.Kernel(ri), genl.Kernel(rs))
			if err := emit(m); err != nil {
				return err
			}
		case genl.CmdGetDevices:
			for _, d := range devs {
				m := mkReply(genl.NoError)
				m.Minor = d.minor
				m.Attrs = append(m.Attrs, ctxAttr(n, d.vol, true))
				di := &genl.DeviceInfo{DevDiskState: uint32(d.disk)}
				di.Present = genl.AllFields(di)
				ds := &genl.DeviceStatistics{DevSize: 131072, DevRead: 8, DevWrite: 16}
				ds.Present = genl.AllFields(ds)
				m.Attrs = append(m.Attrs, genl.Kernel(di), genl.Kernel(ds))
				if err := emit(m); err != nil {
					return err
				}
			}
		case genl.CmdGetConnections, genl.CmdGetPeerDevices:
		case genl.CmdGetInitialState:
			m := &genl.Message{Cmd: genl.CmdResourceState, Minor: ^uint32(0)}
			m.SetRetCode(genl.NoError)
			nh := &genl.NotificationHeader{NHType: genl.NotifyExists}
			nh.Present = genl.AllFields(nh)
			ri := &genl.ResourceInfo{ResRole: uint32(drbd.RSecondary)}
			ri.Present = genl.AllFields(ri)
			m.Attrs = append(m.Attrs, ctxAttr(n, 0, false), genl.Tagged(nh), genl.Kernel(ri))
			if err := emit(m); err != nil {
				return err
			}
			for _, d := range devs {
				dm := &genl.Message{Cmd: genl.CmdDeviceState, Minor: d.minor}
				dm.SetRetCode(genl.NoError)
				di := &genl.DeviceInfo{DevDiskState: uint32(d.disk)}
				di.Present = genl.AllFields(di)
				dm.Attrs = append(dm.Attrs, ctxAttr(n, d.vol, true), genl.Tagged(nh), genl.Kernel(di))
				if err := emit(dm); err != nil {
					return err
				}
			}
		}
	}
	if r.Msg.Cmd == genl.CmdGetInitialState {
		m := &genl.Message{Cmd: genl.CmdInitialStateDone, Minor: ^uint32(0)}
		m.SetRetCode(genl.NoError)
		nh := &genl.NotificationHeader{NHType: genl.NotifyExists}
		nh.Present = genl.AllFields(nh)
		m.Attrs = append(m.Attrs, genl.Tagged(nh))
		return emit(m)
	}
	return nil
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

type env struct {
	t    *testing.T
	sock string
	fake *fakeKernel
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir, err := os.MkdirTemp("", "drbdsetup-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	e := &env{t: t, sock: filepath.Join(dir, "control.sock"), fake: newFake()}
	srv, err := server.Listen(server.Config{Path: e.sock, Authorize: func(server.Creds) bool { return true }}, e.fake)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	return e
}

type result struct {
	out, err string
	code     int
}

// run runs drbdsetup-84 with args against the fake.
func (e *env) run(args ...string) result {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "UDRBD_DRBDSETUP_AS_MAIN=1", "UDRBD_DRBDSETUP_ARGS="+strings.Join(args, " "),
		"UDRBD_TRANSPORT=udrbd", "UDRBD_SOCKET="+e.sock)
	var o, er bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &er
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return result{o.String(), er.String(), code}
}

func (e *env) must(want result, args ...string) {
	e.t.Helper()
	got := e.run(args...)
	if got != want {
		e.t.Errorf("drbdsetup %s:\n got  out=%q err=%q exit=%d\n want out=%q err=%q exit=%d",
			strings.Join(args, " "), got.out, got.err, got.code, want.out, want.err, want.code)
	}
}

func TestEndToEnd(t *testing.T) {
	e := newEnv(t)
	ok := result{}
	e.must(ok, "status")
	e.must(ok, "new-resource", "r0")
	e.must(ok, "new-minor", "r0", "0", "0")
	e.must(result{err: "??: Failure: (161) Minor or volume exists already (delete it first)\n", code: 10}, "new-minor", "r0", "0", "0")
	e.must(result{err: "??: Failure: (158) Unknown resource\nadditional info from kernel:\nunknown resource\n", code: 10}, "new-minor", "r9", "1", "0")
	// StandAlone and Diskless is "Unconfigured" for role, cstate and dstate
	e.must(result{out: "Unconfigured\n"}, "role", "0")
	e.must(result{out: "Unconfigured\n"}, "0", "dstate") // legacy order
	e.must(result{out: "Unconfigured\n"}, "cstate", "/dev/drbd0")
	e.must(result{err: "0: State change failed: (-2) Need access to UpToDate data\n", code: 17}, "primary", "0")
	e.must(result{err: "0: State change failed: (-11) Device is diskless, the requested operation requires a disk\n", code: 11}, "detach", "0")
	e.must(result{err: "Device is unconfigured\n", code: 1}, "get-gi", "0")
	e.must(result{err: "9: Failure: (127) Device minor not allocated\nadditional info from kernel:\nunknown minor\n", code: 10}, "role", "9")
	e.must(result{out: "r0 role:Secondary\n  disk:Diskless\n\n"}, "status")
	e.must(result{out: "r0 role:Secondary suspended:no\n  volume:0 minor:0 disk:Diskless blocked:no\n\n"}, "status", "r0", "--verbose")
	e.must(result{err: "r9: No such resource\n", code: 10}, "status", "r9")
	e.must(result{out: "exists resource name:r0 role:Secondary suspended:no\nexists device name:r0 volume:0 minor:0 disk:Diskless\nexists -\n"}, "events2", "--now")

	e.fake.attachForTest(0, drbd.DInconsistent)
	e.must(result{out: "F00DCAFE12345678:0000000000000000:0000000000000000:0000000000000000:1:0:0:0:0:0:0\n"}, "get-gi", "0")
	e.must(result{out: "resource r0 {\n    options {\n    }\n    _this_host {\n        volume 0 {\n" +
		"            device\t\t\tminor 0;\n            disk\t\t\t\"/dev/loop7\";\n            meta-disk\t\t\tinternal;\n" +
		"            disk {\n                resync-rate     \t10240k; # bytes/second\n            }\n        }\n    }\n}\n"}, "show")
	e.must(ok, "disk-options", "0", "--set-defaults", "--al-extents=3833", "--on-io-error=pass_on")
	got := e.run("show", "0")
	if !strings.Contains(got.out, "on-io-error     \tpass_on;\n") || !strings.Contains(got.out, "al-extents      \t3833;\n") ||
		strings.Contains(got.out, "resync-rate") {
		t.Errorf("show after disk-options --set-defaults:\n%s", got.out)
	}
	e.must(result{err: "0: State change failed: (-2) Need access to UpToDate data\n", code: 17}, "primary", "0")
	e.must(ok, "primary", "0", "--force")
	e.must(result{out: "Primary/Unknown\n"}, "role", "0")
	e.must(result{out: "UpToDate/DUnknown\n"}, "dstate", "0")

	js := e.run("status", "--json")
	var v []map[string]any
	if err := json.Unmarshal([]byte(js.out), &v); err != nil || js.code != 0 {
		t.Fatalf("status --json: %v (exit %d):\n%s", err, js.code, js.out)
	}
	if len(v) != 1 || v[0]["name"] != "r0" || v[0]["role"] != "Primary" || v[0]["write-ordering"] != "flush" {
		t.Errorf("status --json: %v", v)
	}
	devs, _ := v[0]["devices"].([]any)
	if len(devs) != 1 || devs[0].(map[string]any)["disk-state"] != "UpToDate" || devs[0].(map[string]any)["size"] != 65536.0 {
		t.Errorf("status --json devices: %v", devs)
	}

	e.must(ok, "down", "r0")
	e.must(ok, "down", "r0") // missing resource is fine
	e.must(result{err: "r0: Failure: (158) Unknown resource\nadditional info from kernel:\nunknown resource\n", code: 10}, "del-resource", "r0")
}

func TestArgumentErrors(t *testing.T) {
	e := newEnv(t)
	e.must(result{err: "Option --on-io-error: invalid argument 'bad'\n", code: 20}, "disk-options", "0", "--on-io-error=bad")
	e.must(result{err: "abc is not a valid number\n", code: 20}, "disk-options", "0", "--resync-rate=abc")
	e.must(result{err: "1X is not a valid number\n", code: 20}, "disk-options", "0", "--resync-rate=1X")
	e.must(result{err: "missing number argument\n", code: 100}, "disk-options", "0", "--resync-rate=")
	e.must(result{err: "Cannot determine minor device number of device '/dev/foo'\n", code: 20}, "role", "/dev/foo")
	e.must(result{err: "Excess arguments: x y", out: "\n", code: 20}, "secondary", "0", "x", "y")
	img := filepath.Join(filepath.Dir(e.sock), "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e.must(result{err: "/dev/null is not a block device!\n", code: 20}, "attach", "0", "/dev/null", "/dev/null", "internal")
	e.must(result{err: "Can not open device '/nonexistent': No such file or directory\n", code: 20}, "attach", "0", "/nonexistent", "/nonexistent", "internal")
	r := e.run("attach", "0", "--foo")
	if r.code != 20 || r.err != "attach: unrecognized option '--foo'\n" || !strings.Contains(r.out, "USAGE: drbdsetup-84 command device") {
		t.Errorf("unknown option: %+v", r)
	}
	r = e.run("primary", "0", "--forc=maybe")
	if r.code != 20 || r.err != "Option --force: invalid argument 'maybe'\n" {
		t.Errorf("abbreviated option: %+v", r)
	}
	r = e.run("role")
	if r.code != 20 || r.err != "Missing first argument\n" || r.out != "USAGE:\n drbdsetup-84 role {minor}\n" {
		t.Errorf("missing argument: %+v", r)
	}
	r = e.run("bogus")
	if r.code != 20 || !strings.HasSuffix(r.out, "\ninvalid command\n") {
		t.Errorf("bogus command: %+v", r)
	}
}

func TestGetopt(t *testing.T) {
	opts := []longOpt{{"on-io-error", requiredArgument, 0}, {"disk-barrier", optionalArgument, 0},
		{"c-plan-ahead", requiredArgument, 0}, {"c-delay-target", requiredArgument, 0}, {"set-defaults", noArgument, '('},
		{"force", optionalArgument, 0}, {"fence", requiredArgument, 0}}
	for _, tc := range []struct {
		args []string
		hits []optHit
		rest []string
		err  string
	}{
		{args: []string{"0", "--on-io-error=detach", "x"}, hits: []optHit{{0, 0, "detach", true}}, rest: []string{"0", "x"}},
		{args: []string{"--on-io-error", "detach", "0"}, hits: []optHit{{0, 0, "detach", true}}, rest: []string{"0"}},
		{args: []string{"--disk-barrier", "0"}, hits: []optHit{{0, 1, "", false}}, rest: []string{"0"}},
		{args: []string{"--c-", "5"}, hits: []optHit{{0, 2, "5", true}}}, // same kind: first match wins
		{args: []string{"--f=1"}, err: "p: option '--f=1' is ambiguous; possibilities: '--force' '--fence'\n"},
		{args: []string{"--set-defaults=1"}, err: "p: option '--set-defaults' doesn't allow an argument\n"},
		{args: []string{"--on-io-error"}, err: "p: option '--on-io-error' requires an argument\n"},
		{args: []string{"--nope=3"}, err: "p: unrecognized option '--nope=3'\n"},
		{args: []string{"-v"}, err: "p: invalid option -- 'v'\n"},
		{args: []string{"-(", "--", "--force"}, hits: []optHit{{'(', -1, "", false}}, rest: []string{"--force"}},
	} {
		var b bytes.Buffer
		hits, rest, ok := getoptLong(&b, "p", tc.args, "(", opts)
		if tc.err != "" {
			if ok || b.String() != tc.err {
				t.Errorf("%v: ok=%v err=%q, want %q", tc.args, ok, b.String(), tc.err)
			}
			continue
		}
		if !ok || !equalHits(hits, tc.hits) || strings.Join(rest, ",") != strings.Join(tc.rest, ",") {
			t.Errorf("%v: got %v %v %v %q, want %v %v", tc.args, hits, rest, ok, b.String(), tc.hits, tc.rest)
		}
	}
}

func equalHits(a, b []optHit) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPrintConfigError(t *testing.T) {
	objname = "r0"
	for _, tc := range []struct {
		rv    int
		infos []string
		code  int
		err   string
	}{
		{101, nil, 0, ""},
		{1, nil, 0, ""},
		{2, nil, 0, ""},
		{-2, nil, 17, "r0: State change failed: (-2) Need access to UpToDate data\n"},
		{-16, nil, 5, "r0: State change failed: (-16) Disk state is lower than outdated\n"},
		{-4, nil, 16, "r0: State change failed: (-4) Can not resync without local disk\n"},
		{-12, nil, 11, "r0: State change failed: (-12) Device is held open by someone\n"},
		{0, nil, 11, "r0: State change failed: (0)unknown error.\n"},
		{138, []string{"x"}, 10, "r0: Failure: (138) Device does not have a disk-config\nadditional info from kernel:\nx\n"},
		{999, nil, 20, "r0: Error code 999 unknown.\nYou should update the drbd userland tools.\n"},
	} {
		var b bytes.Buffer
		stderr = &b
		code := printConfigError(tc.rv, "", tc.infos, tc.infos != nil)
		stderr = os.Stderr
		if code != tc.code || b.String() != tc.err {
			t.Errorf("rv %d: exit %d %q, want %d %q", tc.rv, code, b.String(), tc.code, tc.err)
		}
	}
}

func TestWrapPrintf(t *testing.T) {
	var b bytes.Buffer
	stdout.Reset(&b)
	defer stdout.Reset(os.Stdout)
	wrap = wrapper{columns: 20}
	wrap.printf(0, "%s", "resource-name")
	wrap.printf(4, " role:%s", "Secondary")  // 13 + 15 > 20: new line, indent 4
	wrap.printf(4, " x:%s", "yz")            // 4+14+5 > 20: new line
	wrap.printf(4, "\n")                     // 9+1 fits: ends the line
	wrap.printf(2, "%s", "0123456789012345") // col 2+16
	wrap.printf(6, " %s", "ab")              // 18+3 > 20: wraps
	wrap.printf(6, "\n")                     // 8+1 fits
	wrap.printf(2, "%s", "01234567890123456789")
	wrap.printf(6, "\n")  // 22+1 > 20: the wrap eats the newline, the indent stays
	wrap.printf(0, "x\n") // 6+2 fits
	stdout.Flush()
	want := "resource-name\n    role:Secondary\n    x:yz\n  0123456789012345\n      ab\n  01234567890123456789\n      x\n"
	if b.String() != want {
		t.Errorf("wrap: %q, want %q", b.String(), want)
	}
}

func TestAddresses(t *testing.T) {
	for _, tc := range []struct{ in, show string }{
		{"10.1.1.31:7789", "ipv4 10.1.1.31:7789"},
		{"ipv4:10.1.1.31", "ipv4 10.1.1.31:7788"},
		{"sdp:10.0.0.1:7000", "sdp 10.0.0.1:7000"},
		{"ipv6:[fe80::1]:7790", "ipv6 [fe80::1]:7790"},
		{"ipv6:[::1]", "ipv6 [::1]:7788"},
	} {
		b, err := parseAddress(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if got := formatAddress(b); got != tc.show {
			t.Errorf("%s: shown as %q, want %q", tc.in, got, tc.show)
		}
	}
	b, _ := parseAddress("10.1.1.31:7789")
	// struct sockaddr_in: family (host order), port (network order), address
	if len(b) != 16 || b[0] != 2 || b[1] != 0 || b[2] != 0x1e || b[3] != 0x6d || b[4] != 10 || b[7] != 31 {
		t.Errorf("sockaddr_in bytes: %x", b)
	}
}

// udrbd serves from regular files; the kernel transport keeps drbdsetup-84's refusal.
func TestBlockDevAcceptsFilesForUdrbdOnly(t *testing.T) {
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		transport string
		want      int
	}{{transportUdrbd, int(drbd.NoError)}, {transportKernel, otherError}} {
		t.Setenv(transportEnv, tc.transport)
		var m genl.Message
		if got := convBlockDev(1)(&nlEncoder{}, &m, img); got != tc.want {
			t.Errorf("transport %s: attach of a regular file gives %d, want %d", tc.transport, got, tc.want)
		}
	}
}
