package main

import (
	"fmt"
	"strings"

	"udrbd/drbd"
	"udrbd/genl"
)

// statusJSON prints `status --json` in the layout of DRBD 9's drbdsetup
// (user/v9 resource_status_json & co), filled from 8.4 state: there are no
// node ids (resource -1, peer 0), no connection names ("peer", as
// drbdsetup-84's status says), no paths (8.4 has no GET_PATHS), no quorum
// (always true), no intentional diskless clients (false) and no open count
// (false, as v9 prints "unknown").
func statusJSON(resources []resEntry) int {
	found := false
	stdout.WriteString("[\n")
	first := true
	for i := range resources {
		res := &resources[i]
		if objname != "all" && objname != res.name {
			continue
		}
		if !first {
			stdout.WriteString(",\n")
		}
		first = false
		devices := listDevices(res.name)
		conns := listConnections(res.name)
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
		in := &res.info
		wo := "none"
		if w := res.stats.ResStatWriteOrdering; w < uint32(len(writeOrderingNames)) {
			wo = writeOrderingNames[w]
		}
		printf("{\n"+
			"  \"name\": %s,\n"+
			"  \"node-id\": %d,\n"+
			"  \"role\": \"%s\",\n"+
			"  \"suspended\": %s,\n"+
			"  \"suspended-user\": %s,\n"+
			"  \"suspended-no-data\": %s,\n"+
			"  \"suspended-fencing\": %s,\n"+
			"  \"suspended-quorum\": false,\n"+
			"  \"force-io-failures\": false,\n"+
			"  \"write-ordering\": \"%s\",\n"+
			"  \"devices\": [\n",
			jsonString(res.name), -1, drbd.Role(in.ResRole), jb(in.ResSusp || in.ResSuspNod || in.ResSuspFen),
			jb(in.ResSusp), jb(in.ResSuspNod), jb(in.ResSuspFen), wo)
		for k := range devices {
			d := &devices[k]
			hasStats := d.stats.Present.Has(genl.DeviceStatisticsDevSize) && d.stats.DevSize != ^uint64(0)
			comma := ""
			if hasStats {
				comma = ","
			}
			printf("    {\n"+
				"      \"volume\": %d,\n"+
				"      \"minor\": %d,\n"+
				"      \"disk-state\": \"%s\",\n"+
				"      \"client\": false,\n"+
				"      \"open\": false,\n"+
				"      \"quorum\": true%s\n",
				int32(d.ctx.volume), int32(d.minor), drbd.DiskState(d.info.DevDiskState), comma)
			if hasStats {
				s := &d.stats
				printf("      \"size\": %d,\n"+
					"      \"read\": %d,\n"+
					"      \"written\": %d,\n"+
					"      \"al-writes\": %d,\n"+
					"      \"bm-writes\": %d,\n"+
					"      \"upper-pending\": %d,\n"+
					"      \"lower-pending\": %d\n",
					s.DevSize/2, s.DevRead/2, s.DevWrite/2, s.DevALWrites, s.DevBMWrites, s.DevUpperPending, s.DevLowerPending)
			}
			stdout.WriteString("    }")
			if k+1 < len(devices) {
				stdout.WriteString(",\n")
			}
		}
		stdout.WriteString(" ],\n  \"connections\": [\n")
		for k := range conns {
			c := &conns[k]
			printf("    {\n"+
				"      \"peer-node-id\": 0,\n"+
				"      \"name\": \"peer\",\n"+
				"      \"connection-state\": \"%s\", \n"+
				"      \"congested\": %s,\n"+
				"      \"peer-role\": \"%s\",\n"+
				"      \"tls\": false,\n",
				connStr9(drbd.ConnState(c.info.ConnConnectionState)), jb(c.stats.ConnCongested), drbd.Role(c.info.ConnRole))
			stdout.WriteString("      \"peer_devices\": [\n")
			n := 0
			for j := range peers {
				p := &peers[j]
				if !bytesEqual(p.ctx.myAddr, c.ctx.myAddr) || !bytesEqual(p.ctx.peerAddr, c.ctx.peerAddr) {
					continue
				}
				if n > 0 {
					stdout.WriteString(",\n")
				}
				n++
				peerDeviceJSON(p)
			}
			stdout.WriteString(" ]\n    }")
			if k+1 < len(conns) {
				stdout.WriteString(",\n")
			}
		}
		stdout.WriteString(" ]\n}\n")
		found = true
	}
	stdout.WriteString("]\n\n")
	if !found && objname != "all" {
		fmt.Fprintf(stderr, "%s: No such resource\n", objname)
		return 10
	}
	return 0
}

func peerDeviceJSON(p *peerEntry) {
	s := &p.stats
	f := s.Present
	repl := drbd.ConnState(p.info.PeerReplState)
	size := ^uint64(0)
	if p.dev != nil && p.dev.stats.Present.Has(genl.DeviceStatisticsDevSize) {
		size = p.dev.stats.DevSize
	}
	oos := u64or(f, genl.PeerDeviceStatisticsPeerDevOutOfSync, s.PeerDevOutOfSync)
	pct := 0.0
	if size != 0 {
		pct = 100 * (1 - float64(oos)/float64(size))
	}
	inResync := repl >= drbd.CSyncSource && repl <= drbd.CPausedSyncT && repl != drbd.CVerifyS && repl != drbd.CVerifyT
	comma := ""
	if inResync {
		comma = ","
	}
	printf("        {\n"+
		"          \"volume\": %d,\n"+
		"          \"replication-state\": \"%s\",\n"+
		"          \"peer-disk-state\": \"%s\",\n"+
		"          \"peer-client\": false,\n"+
		"          \"resync-suspended\": \"%s\",\n"+
		"          \"received\": %d,\n"+
		"          \"sent\": %d,\n"+
		"          \"out-of-sync\": %d,\n"+
		"          \"pending\": %d,\n"+
		"          \"unacked\": %d,\n"+
		"          \"has-sync-details\": false,\n"+
		"          \"has-online-verify-details\": false,\n"+
		"          \"percent-in-sync\": %.2f%s\n",
		int32(p.ctx.volume), replStr9(repl), drbd.DiskState(p.info.PeerDiskState), resyncSuspStr(&p.info),
		u64or(f, genl.PeerDeviceStatisticsPeerDevReceived, s.PeerDevReceived)/2,
		u64or(f, genl.PeerDeviceStatisticsPeerDevSent, s.PeerDevSent)/2, oos/2,
		u32or(f, genl.PeerDeviceStatisticsPeerDevPending, s.PeerDevPending),
		u32or(f, genl.PeerDeviceStatisticsPeerDevUnacked, s.PeerDevUnacked), pct, comma)
	if inResync {
		printf("          \"percent-resync-done\": %.2f\n", pct)
	}
	stdout.WriteString("        }")
}

func jb(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// jsonString quotes a resource name (DRBD 9 prints it raw; names with
// quotes or backslashes would break its output, ours stays valid JSON).
func jsonString(s string) string {
	r := strings.NewReplacer("\\", "\\\\", "\"", "\\\"")
	return "\"" + r.Replace(s) + "\""
}
