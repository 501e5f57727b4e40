package main

import (
	"bytes"
	"fmt"
	"sort"

	"udrbd/drbd"
	"udrbd/genl"
)

// Objects of the status dumps (resources_list & co in drbdsetup.c); the
// statistics keep "all ones" for fields the kernel did not send.
type resEntry struct {
	name  string
	info  genl.ResourceInfo
	stats genl.ResourceStatistics
	ctx   cfgCtx
}

type devEntry struct {
	minor uint32
	ctx   cfgCtx
	info  genl.DeviceInfo
	stats genl.DeviceStatistics
}

type connEntry struct {
	ctx     cfgCtx
	hasConf bool
	info    genl.ConnectionInfo
	stats   genl.ConnectionStatistics
}

type peerEntry struct {
	ctx   cfgCtx
	info  genl.PeerDeviceInfo
	stats genl.PeerDeviceStatistics
	dev   *devEntry
}

func getOr[T genl.Set](m *genl.Message) T {
	v, _ := genl.Get[T](m)
	return v
}

// u64or returns v when the field is present, else ~0 (memset -1).
func u64or(f genl.Fields, nr uint16, v uint64) uint64 {
	if f.Has(nr) {
		return v
	}
	return ^uint64(0)
}

func listResources() ([]resEntry, int) {
	rs, code := dumpAll(genl.CmdGetResources, "all")
	if code != 0 {
		return nil, code
	}
	var out []resEntry
	for _, r := range rs {
		e := resEntry{ctx: ctxOf(r.msg)}
		e.name = e.ctx.resource
		if v := getOr[*genl.ResourceInfo](r.msg); v != nil {
			e.info = *v
		}
		e.stats.ResStatWriteOrdering = ^uint32(0)
		if v := getOr[*genl.ResourceStatistics](r.msg); v != nil && v.Present.Has(genl.ResourceStatisticsResStatWriteOrdering) {
			e.stats = *v
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, 0
}

func listDevices(res string) []devEntry {
	rs, code := dumpAll(genl.CmdGetDevices, res)
	if code != 0 {
		return nil
	}
	var out []devEntry
	for _, r := range rs {
		c := ctxOf(r.msg)
		if c.volume == ^uint32(0) {
			continue
		}
		d := devEntry{minor: r.msg.Minor, ctx: c}
		d.info.DevDiskState = uint32(drbd.DDiskless)
		if v := getOr[*genl.DeviceInfo](r.msg); v != nil && v.Present.Has(genl.DeviceInfoDevDiskState) {
			d.info = *v
		}
		if v := getOr[*genl.DeviceStatistics](r.msg); v != nil {
			d.stats = *v
		}
		out = append(out, d)
	}
	return out
}

func listConnections(res string) []connEntry {
	rs, code := dumpAll(genl.CmdGetConnections, res)
	if code != 0 {
		return nil
	}
	var out []connEntry
	for _, r := range rs {
		c := connEntry{ctx: ctxOf(r.msg), hasConf: r.msg.Find(genl.TLANetConf) != nil}
		if v := getOr[*genl.ConnectionInfo](r.msg); v != nil {
			c.info = *v
		}
		if v := getOr[*genl.ConnectionStatistics](r.msg); v != nil {
			c.stats = *v
		}
		out = append(out, c)
	}
	return out
}

func listPeerDevices(res string) []peerEntry {
	rs, code := dumpAll(genl.CmdGetPeerDevices, res)
	if code != 0 {
		return nil
	}
	var out []peerEntry
	for _, r := range rs {
		p := peerEntry{ctx: ctxOf(r.msg)}
		if v := getOr[*genl.PeerDeviceInfo](r.msg); v != nil {
			p.info = *v
		}
		if v := getOr[*genl.PeerDeviceStatistics](r.msg); v != nil {
			p.stats = *v
		}
		out = append(out, p)
	}
	return out
}

func suspStr(i *genl.ResourceInfo) string {
	var parts []string
	if i.ResSusp {
		parts = append(parts, "user")
	}
	if i.ResSuspNod {
		parts = append(parts, "no-data")
	}
	if i.ResSuspFen {
		parts = append(parts, "fencing")
	}
	if parts == nil {
		return "no"
	}
	return join(parts)
}

func resyncSuspStr(i *genl.PeerDeviceInfo) string {
	var parts []string
	if i.PeerResyncSuspUser != 0 {
		parts = append(parts, "user")
	}
	if i.PeerResyncSuspPeer != 0 {
		parts = append(parts, "peer")
	}
	if i.PeerResyncSuspDependency != 0 {
		parts = append(parts, "dependency")
	}
	if parts == nil {
		return "no"
	}
	return join(parts)
}

func join(p []string) string {
	var b bytes.Buffer
	for i, s := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s)
	}
	return b.String()
}

var writeOrderingNames = []string{"none", "drain", "flush", "barrier"}

// replStr9 / connStr9 are drbdsetup-84's DRBD 9 vocabulary for 8.4 states.
func replStr9(c drbd.ConnState) string {
	switch c {
	case drbd.CWFReportParams:
		return "Off"
	case drbd.CConnected:
		return "Established"
	}
	return c.String()
}

func connStr9(c drbd.ConnState) string {
	switch c {
	case drbd.CWFConnection:
		return "Connecting"
	case drbd.CWFReportParams:
		return "Connected"
	}
	return c.String()
}

type wrapFn func(indent int, format string, args ...any)

func nowrapPrintf(indent int, format string, args ...any) { printf(format, args...) }

func printResourceStatistics(indent int, old, cur *genl.ResourceStatistics, p wrapFn) {
	wo := cur.ResStatWriteOrdering
	if (old == nil || old.ResStatWriteOrdering != wo) && wo < uint32(len(writeOrderingNames)) {
		p(indent, " write-ordering:%s", writeOrderingNames[wo])
	}
}

func printDeviceStatistics(indent int, old, cur *genl.DeviceStatistics, p wrapFn) {
	f := cur.Present
	if optStatistics {
		if optVerbose {
			p(indent, " size:%d", u64or(f, genl.DeviceStatisticsDevSize, cur.DevSize)/2)
		}
		p(indent, " read:%d", u64or(f, genl.DeviceStatisticsDevRead, cur.DevRead)/2)
		p(indent, " written:%d", u64or(f, genl.DeviceStatisticsDevWrite, cur.DevWrite)/2)
		if optVerbose {
			p(indent, " al-writes:%d", u64or(f, genl.DeviceStatisticsDevALWrites, cur.DevALWrites))
			p(indent, " bm-writes:%d", u64or(f, genl.DeviceStatisticsDevBMWrites, cur.DevBMWrites))
			p(indent, " upper-pending:%d", u32or(f, genl.DeviceStatisticsDevUpperPending, cur.DevUpperPending))
			p(indent, " lower-pending:%d", u32or(f, genl.DeviceStatisticsDevLowerPending, cur.DevLowerPending))
			if old == nil || old.DevALSuspended != cur.DevALSuspended {
				p(indent, " al-suspended:%s", yesNo(cur.DevALSuspended))
			}
		}
	}
	if (old == nil || old.DevUpperBlocked != cur.DevUpperBlocked || old.DevLowerBlocked != cur.DevLowerBlocked) &&
		f.Has(genl.DeviceStatisticsDevSize) && cur.DevSize != ^uint64(0) &&
		(optVerbose || cur.DevUpperBlocked || cur.DevLowerBlocked) {
		var parts []string
		if cur.DevUpperBlocked {
			parts = append(parts, "upper")
		}
		if cur.DevLowerBlocked {
			parts = append(parts, "lower")
		}
		s := "no"
		if parts != nil {
			s = join(parts)
		}
		p(indent, " blocked:%s", s)
	}
}

func u32or(f genl.Fields, nr uint16, v uint32) uint32 {
	if f.Has(nr) {
		return v
	}
	return ^uint32(0)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printConnectionStatistics(indent int, old, cur *genl.ConnectionStatistics, p wrapFn) {
	if old == nil || old.ConnCongested != cur.ConnCongested {
		p(indent, " congested:%s", yesNo(cur.ConnCongested))
	}
}

func printPeerDeviceStatistics(indent int, old, cur *genl.PeerDeviceStatistics, p wrapFn) {
	f := cur.Present
	p(indent, " received:%d", u64or(f, genl.PeerDeviceStatisticsPeerDevReceived, cur.PeerDevReceived)/2)
	p(indent, " sent:%d", u64or(f, genl.PeerDeviceStatisticsPeerDevSent, cur.PeerDevSent)/2)
	oos := u64or(f, genl.PeerDeviceStatisticsPeerDevOutOfSync, cur.PeerDevOutOfSync)
	if optVerbose || oos != 0 {
		p(indent, " out-of-sync:%d", oos/2)
	}
	if optVerbose {
		p(indent, " pending:%d", u32or(f, genl.PeerDeviceStatisticsPeerDevPending, cur.PeerDevPending))
		p(indent, " unacked:%d", u32or(f, genl.PeerDeviceStatisticsPeerDevUnacked, cur.PeerDevUnacked))
	}
}

// Colors (drbdsetup_colors.c).
const (
	colTransitional = iota
	colNormal
	colPrimary
	colGood
	colBad
)

var (
	localColors = []string{"\033[1m", "", "\033[1;36m", "\033[1;32m", "\033[1;31m"}
	peerColors  = []string{"", "", "\033[36m", "\033[32m", "\033[31m"}
	roleColors  = []int{drbd.RPrimary: colPrimary, drbd.RSecondary: colNormal, drbd.RUnknown: colTransitional}
	cstateCols  = []int{drbd.CStandAlone: colBad, drbd.CWFConnection: colBad, drbd.CWFReportParams: colNormal}
	replColors  = []int{drbd.CWFReportParams: colTransitional, drbd.CConnected: colNormal, drbd.CSyncSource: colBad,
		drbd.CSyncTarget: colBad, drbd.CVerifyS: colNormal, drbd.CVerifyT: colNormal, drbd.CPausedSyncS: colNormal,
		drbd.CPausedSyncT: colBad, drbd.CAhead: colNormal, drbd.CBehind: colTransitional}
	diskColors = []int{drbd.DDiskless: colBad, drbd.DInconsistent: colBad, drbd.DOutdated: colBad,
		drbd.DConsistent: colTransitional, drbd.DUpToDate: colGood}
)

func colorCode(index int, table []int, start, local bool) string {
	if optColor == 0 {
		if isatty(1) {
			optColor = 1
		} else {
			optColor = -1
		}
	}
	if optColor < 0 {
		return ""
	}
	i := colTransitional
	if index < len(table) {
		i = table[index]
	}
	codes := peerColors
	if local {
		codes = localColors
	}
	if codes[i] == "" {
		return ""
	}
	if start {
		return codes[i]
	}
	return "\033[0m"
}

func colored(s string, index int, table []int, local bool) string {
	return colorCode(index, table, true, local) + s + colorCode(index, table, false, local)
}

func isLocalRepl(c drbd.ConnState) bool {
	return c == drbd.CSyncTarget || c == drbd.CPausedSyncT || c == drbd.CBehind
}

func statusCmd(cm *command, hits []optHit, args []string) int {
	for _, h := range hits {
		switch h.val {
		case 'v':
			optVerbose = true
		case 's':
			optStatistics = true
		case 'j':
			optJSON = true
		case 'c':
			switch {
			case !h.isArg || h.arg == "always":
				optColor = 1
			case h.arg == "never":
				optColor = -1
			case h.arg == "auto":
				optColor = 0
			default:
				return printUsageAndExit("unknown --color argument")
			}
		default:
			return 20
		}
	}
	resources, code := listResources()
	if code != 0 && resources == nil {
		resources = nil
	}
	if optJSON {
		return statusJSON(resources)
	}
	found := false
	p := wrap.printf
	for i := range resources {
		res := &resources[i]
		if objname != "all" && objname != res.name {
			continue
		}
		devices := listDevices(res.name)
		var conns []connEntry
		for _, c := range listConnections(res.name) {
			conns = append(conns, c)
		}
		var peers []peerEntry
		if devices != nil && conns != nil {
			peers = listPeerDevices(res.name)
		}
		for j := range peers {
			for k := range devices {
				if peers[j].ctx.volume == devices[k].ctx.volume {
					peers[j].dev = &devices[k]
					break
				}
			}
		}
		// resource line
		role := drbd.Role(res.info.ResRole)
		p(0, "%s", res.name)
		p(4, " role:%s", colored(role.String(), int(role), roleColors, true))
		if optVerbose || res.info.ResSusp || res.info.ResSuspNod || res.info.ResSuspFen {
			p(4, " suspended:%s", suspStr(&res.info))
		}
		if optStatistics && optVerbose {
			p(4, "\n")
			printResourceStatistics(4, nil, &res.stats, p)
		}
		p(0, "\n")
		single := len(devices) == 1
		for k := range devices {
			deviceStatus(&devices[k], single)
		}
		for k := range conns {
			connectionStatus(&conns[k], peers, single)
		}
		p(0, "\n")
		found = true
	}
	if !found && objname != "all" {
		fmt.Fprintf(stderr, "%s: No such resource\n", objname)
		return 10
	}
	return 0
}

func deviceStatus(d *devEntry, single bool) {
	p := wrap.printf
	ds := drbd.DiskState(d.info.DevDiskState)
	indent := 2
	if optVerbose || !(single && d.ctx.volume == 0) {
		p(indent, "volume:%d", d.ctx.volume)
		indent = 6
		if optVerbose {
			p(indent, " minor:%d", d.minor)
		}
	}
	p(indent, " disk:%s", colored(ds.String(), int(ds), diskColors, true))
	indent = 6
	if d.stats.Present.Has(genl.DeviceStatisticsDevSize) && d.stats.DevSize != ^uint64(0) {
		if optStatistics {
			p(indent, "\n")
		}
		printDeviceStatistics(indent, nil, &d.stats, p)
	}
	p(indent, "\n")
}

func connectionStatus(c *connEntry, peers []peerEntry, single bool) {
	p := wrap.printf
	p(2, "%s", "peer")
	cs := drbd.ConnState(c.info.ConnConnectionState)
	if optVerbose || cs < drbd.CWFReportParams {
		p(6, " connection:%s", colored(connStr9(cs), int(cs), cstateCols, true))
	}
	if optVerbose || cs == drbd.CWFReportParams {
		r := drbd.Role(c.info.ConnRole)
		p(6, " role:%s", colored(r.String(), int(r), roleColors, false))
	}
	if optVerbose || c.stats.ConnCongested {
		printConnectionStatistics(6, nil, &c.stats, p)
	}
	p(0, "\n")
	if optVerbose || optStatistics || cs == drbd.CWFReportParams {
		for k := range peers {
			if !bytes.Equal(peers[k].ctx.myAddr, c.ctx.myAddr) || !bytes.Equal(peers[k].ctx.peerAddr, c.ctx.peerAddr) {
				continue
			}
			peerDeviceStatus(&peers[k], single)
		}
	}
}

func peerDeviceStatus(pd *peerEntry, single bool) {
	p := wrap.printf
	indent := 4
	if optVerbose || !(single && pd.ctx.volume == 0) {
		p(indent, "volume:%d", int32(pd.ctx.volume))
		indent = 8
	}
	repl := drbd.ConnState(pd.info.PeerReplState)
	if optVerbose || repl > drbd.CWFReportParams {
		p(indent, " replication:%s", colorCode(int(repl), replColors, true, isLocalRepl(repl))+replStr9(repl)+
			colorCode(int(repl), replColors, false, isLocalRepl(repl)))
		indent = 8
	}
	pdsk := drbd.DiskState(pd.info.PeerDiskState)
	if optVerbose || optStatistics || repl != drbd.CWFReportParams || pdsk != drbd.DUnknown {
		p(indent, " peer-disk:%s", colored(pdsk.String(), int(pdsk), diskColors, false))
		indent = 8
		if repl >= drbd.CSyncSource && repl <= drbd.CPausedSyncT {
			size := ^uint64(0)
			if pd.dev != nil && pd.dev.stats.Present.Has(genl.DeviceStatisticsDevSize) {
				size = pd.dev.stats.DevSize
			}
			oos := u64or(pd.stats.Present, genl.PeerDeviceStatisticsPeerDevOutOfSync, pd.stats.PeerDevOutOfSync)
			p(indent, " done:%.2f", 100*(1-float64(oos)/float64(size)))
		}
		if optVerbose || pd.info.PeerResyncSuspUser != 0 || pd.info.PeerResyncSuspPeer != 0 || pd.info.PeerResyncSuspDependency != 0 {
			p(indent, " resync-suspended:%s", resyncSuspStr(&pd.info))
		}
		if optStatistics && pd.stats.Present.Has(genl.PeerDeviceStatisticsPeerDevReceived) && pd.stats.PeerDevReceived != ^uint64(0) {
			p(indent, "\n")
			printPeerDeviceStatistics(indent, nil, &pd.stats, p)
		}
	}
	p(0, "\n")
}
