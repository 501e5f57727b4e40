package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/genl/client"
)

// ctl is a small test aid that sends one drbd genl request to the daemon
// (the drbdsetup CLI is built elsewhere). It prints the reply's code and
// info text and exits 0 on success, 1 on failure.
//
//	new-resource RES | new-minor RES MINOR VOL | del-minor MINOR | del-resource RES | down RES
//	attach MINOR DISK META IDX [al-extents=N] [on-io-error=detach|pass_on|call-local-io-error]
//	detach MINOR [--force] | primary MINOR [--force] | secondary MINOR | outdate MINOR
//	invalidate MINOR | suspend-io MINOR | resume-io MINOR | new-current-uuid MINOR [--clear-bitmap]
//	state MINOR          print role/disk of a minor (from get-status)
func ctl(args []string) int {
	fs := flag.NewFlagSet("udrbd ctl", flag.ExitOnError)
	sock := fs.String("socket", "", "control socket")
	_ = fs.Parse(args)
	a := fs.Args()
	if len(a) == 0 {
		fmt.Fprintln(os.Stderr, "usage: udrbd ctl COMMAND ARGS...")
		return 2
	}
	c, err := client.Dial(genl.SocketPath(*sock))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	minorArg := func(i int) uint32 {
		if len(a) <= i {
			fmt.Fprintln(os.Stderr, "missing minor")
			os.Exit(2)
		}
		v, err := strconv.ParseUint(a[i], 10, 32)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad minor", a[i])
			os.Exit(2)
		}
		return uint32(v)
	}
	has := func(flag string) bool {
		for _, x := range a[1:] {
			if x == flag {
				return true
			}
		}
		return false
	}
	res := func(name string) *genl.CfgContext {
		cc := &genl.CfgContext{CtxResourceName: name}
		cc.Present.Add(genl.CfgContextCtxResourceName)
		return cc
	}
	m := &genl.Message{Version: genl.FamilyVersion, Minor: genl.MinorNone}
	switch a[0] {
	case "new-resource", "del-resource", "down":
		m.Cmd = map[string]genl.Cmd{"new-resource": genl.CmdNewResource, "del-resource": genl.CmdDelResource, "down": genl.CmdDown}[a[0]]
		m.Add(res(a[1]))
	case "new-minor":
		m.Cmd, m.Minor = genl.CmdNewMinor, minorArg(2)
		cc := res(a[1])
		v, _ := strconv.ParseUint(a[3], 10, 32)
		cc.CtxVolume = uint32(v)
		cc.Present.Add(genl.CfgContextCtxVolume)
		m.Add(cc)
	case "del-minor":
		m.Cmd, m.Minor = genl.CmdDelMinor, minorArg(1)
	case "attach":
		m.Cmd, m.Minor = genl.CmdAttach, minorArg(1)
		dc := &genl.DiskConf{BackingDev: a[2], MetaDev: a[3]}
		switch a[4] {
		case "internal":
			dc.MetaDevIdx = -3
		case "flexible":
			dc.MetaDevIdx = -2
		default:
			v, _ := strconv.Atoi(a[4])
			dc.MetaDevIdx = int32(v)
		}
		dc.Present.Add(genl.DiskConfBackingDev, genl.DiskConfMetaDev, genl.DiskConfMetaDevIdx)
		for _, o := range a[5:] {
			k, v, _ := strings.Cut(strings.TrimPrefix(o, "--"), "=")
			switch k {
			case "al-extents":
				n, _ := strconv.Atoi(v)
				dc.ALExtents = uint32(n)
				dc.Present.Add(genl.DiskConfALExtents)
			case "on-io-error":
				p, ok := drbd.ParseIOErrorPolicy(v)
				if !ok {
					fmt.Fprintln(os.Stderr, "bad on-io-error", v)
					return 2
				}
				dc.OnIOError = uint32(p)
				dc.Present.Add(genl.DiskConfOnIOError)
			}
		}
		m.Add(dc)
	case "detach":
		m.Cmd, m.Minor = genl.CmdDetach, minorArg(1)
		if has("--force") {
			p := &genl.DetachParms{ForceDetach: true}
			p.Present.Add(genl.DetachParmsForceDetach)
			m.Add(p)
		}
	case "primary":
		m.Cmd, m.Minor = genl.CmdPrimary, minorArg(1)
		if has("--force") {
			p := &genl.SetRoleParms{AssumeUptodate: true}
			p.Present.Add(genl.SetRoleParmsAssumeUptodate)
			m.Add(p)
		}
	case "secondary":
		m.Cmd, m.Minor = genl.CmdSecondary, minorArg(1)
	case "outdate":
		m.Cmd, m.Minor = genl.CmdOutdate, minorArg(1)
	case "invalidate":
		m.Cmd, m.Minor = genl.CmdInvalidate, minorArg(1)
	case "suspend-io":
		m.Cmd, m.Minor = genl.CmdSuspendIO, minorArg(1)
	case "resume-io":
		m.Cmd, m.Minor = genl.CmdResumeIO, minorArg(1)
	case "new-current-uuid":
		m.Cmd, m.Minor = genl.CmdNewCUUID, minorArg(1)
		if has("--clear-bitmap") {
			p := &genl.NewCUUIDParms{ClearBM: true}
			p.Present.Add(genl.NewCUUIDParmsClearBM)
			m.Add(p)
		}
	case "state":
		m.Cmd, m.Minor = genl.CmdGetStatus, minorArg(1)
		r, err := c.Do(m)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if rc := drbd.Reply(r.RetCode()); rc != drbd.Reply(drbd.NoError) {
			fmt.Println(drbd.RetCode(rc).Error())
			return 1
		}
		si, _ := genl.Get[*genl.StateInfo](r)
		if si == nil {
			fmt.Fprintln(os.Stderr, "no state_info")
			return 1
		}
		s := drbd.Unpack(si.CurrentState)
		fmt.Printf("%s %s %s oos=%d\n", s.Role, s.Conn, s.Disk, si.BitsOOS)
		return 0
	default:
		fmt.Fprintln(os.Stderr, "unknown command", a[0])
		return 2
	}
	start := time.Now()
	r, err := c.Do(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if a[0] == "detach" && has("--wait") {
		// Report how long the reply took and when the disk reached
		// Diskless (polled here, without process start-up in between).
		fmt.Printf("reply after %d ms\n", time.Since(start).Milliseconds())
		for {
			q := &genl.Message{Version: genl.FamilyVersion, Cmd: genl.CmdGetStatus, Minor: m.Minor}
			sr, err := c.Do(q)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			if si, _ := genl.Get[*genl.StateInfo](sr); si != nil && drbd.Unpack(si.CurrentState).Disk == drbd.DDiskless {
				break
			}
			if time.Since(start) > 30*time.Second {
				fmt.Println("not Diskless after 30 s")
				return 1
			}
			time.Sleep(2 * time.Millisecond)
		}
		fmt.Printf("diskless after %d ms\n", time.Since(start).Milliseconds())
	}
	for _, t := range r.Infos() {
		fmt.Println(t)
	}
	rc := drbd.Reply(r.RetCode())
	if err := rc.Err(); err != nil {
		fmt.Printf("%v (%s)\n", err, rc)
		return 1
	}
	return 0
}
