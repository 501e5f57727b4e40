package main

import (
	"fmt"
	"strings"
	"time"

	"udrbd/drbd"
	"udrbd/genl"
)

// events2 state (print_notifications' statics).
var (
	evLastSeq      uint32
	evLastSeqKnown bool
	evTime         time.Time
	evKeepTime     bool
	evKnown        = map[string]any{}
)

var actionNames = map[uint32]string{
	genl.NotifyExists: "exists", genl.NotifyCreate: "create", genl.NotifyChange: "change",
	genl.NotifyDestroy: "destroy", genl.NotifyCall: "call", genl.NotifyResponse: "response",
}

var objectNames = map[genl.Cmd]string{
	genl.CmdResourceState: "resource", genl.CmdDeviceState: "device", genl.CmdConnectionState: "connection",
	genl.CmdPeerDeviceState: "peer-device", genl.CmdHelper: "helper",
}

// eventKey is event_key: the object's name with its 8.4 context.
func eventKey(name string, mn uint32, c cfgCtx) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(" name:" + c.resource)
	if name == "connection" || name == "peer-device" || name == "helper" {
		b.WriteString(" peer-node-id:0")
	}
	if len(c.peerAddr) > 0 {
		b.WriteString(" conn-name:peer")
	}
	if c.volume != ^uint32(0) {
		fmt.Fprintf(&b, " volume:%d", c.volume)
	}
	if mn != ^uint32(0) {
		fmt.Fprintf(&b, " minor:%d", mn)
	}
	return b.String()
}

type resState struct {
	i genl.ResourceInfo
	s genl.ResourceStatistics
}
type devState struct {
	i genl.DeviceInfo
	s genl.DeviceStatistics
}
type connState struct {
	i genl.ConnectionInfo
	s genl.ConnectionStatistics
}
type peerState struct {
	i genl.PeerDeviceInfo
	s genl.PeerDeviceStatistics
}

// infoSet returns the set if present and valid (the *_from_attrs check).
func infoSet[T genl.Set](m *genl.Message) (T, bool) {
	v, err := genl.Get[T](m)
	var zero T
	if err != nil || any(v) == any(zero) {
		return zero, false
	}
	return v, true
}

// events2Show is print_notifications.
func events2Show(cm *command, r *reply) int {
	if r == nil {
		evKeepTime = false
		return 0
	}
	m := r.msg
	if m.RetCode() == int32(drbd.ErrMinorInvalid) && cm.missingOK {
		return 0
	}
	if m.RetCode() != int32(drbd.NoError) {
		return int(m.RetCode())
	}
	nh, ok := infoSet[*genl.NotificationHeader](m)
	if !ok || !nh.Present.Has(genl.NotificationHeaderNHType) {
		return 0
	}
	action := nh.NHType &^ genl.NotifyContinues
	aname, ok := actionNames[action]
	if !ok {
		stdout.Flush()
		return 0
	}
	if optNow && action != genl.NotifyExists {
		return 0
	}
	var c cfgCtx
	cmd := m.Cmd
	if cmd != genl.CmdInitialStateDone {
		c = ctxOf(m)
		if !c.ok {
			return 0
		}
		if _, ok := objectNames[cmd]; !ok {
			stdout.Flush()
			return 0
		}
	}
	if action != genl.NotifyExists {
		if evLastSeqKnown {
			if skipped := int32(r.hdr.Sequence - (evLastSeq + 1)); skipped != 0 {
				printf("- skipped %d\n", skipped)
			}
		}
		evLastSeq = r.hdr.Sequence
		evLastSeqKnown = true
	}
	if optTimestamps {
		if !evKeepTime {
			evTime = time.Now()
		}
		evKeepTime = nh.NHType&genl.NotifyContinues != 0
		_, off := evTime.Zone()
		ao := off
		if ao < 0 {
			ao = -ao
		}
		printf("%s.%06d%+03d:%02d ", evTime.Format("2006-01-02T15:04:05"), evTime.Nanosecond()/1000,
			off/3600, (ao/60)%60)
	}
	key := "-"
	if cmd != genl.CmdInitialStateDone {
		key = eventKey(objectNames[cmd], m.Minor, c)
	}
	printf("%s %s", aname, key)
	switch cmd {
	case genl.CmdResourceState:
		if action == genl.NotifyDestroy {
			delete(evKnown, key)
			break
		}
		i, ok := infoSet[*genl.ResourceInfo](m)
		if !ok {
			break
		}
		cur := resState{i: *i}
		cur.s.ResStatWriteOrdering = ^uint32(0)
		s, haveStats := infoSet[*genl.ResourceStatistics](m)
		if haveStats && s.Present.Has(genl.ResourceStatisticsResStatWriteOrdering) {
			cur.s = *s
		}
		oldAny, known := evKnown[key]
		var old *resState
		if known {
			o := oldAny.(resState)
			old = &o
			if !haveStats {
				cur.s = o.s
			}
		}
		evKnown[key] = cur
		if old == nil || cur.i.ResRole != old.i.ResRole {
			printf(" role:%s", drbd.Role(cur.i.ResRole))
		}
		if old == nil || cur.i.ResSusp != old.i.ResSusp || cur.i.ResSuspNod != old.i.ResSuspNod || cur.i.ResSuspFen != old.i.ResSuspFen {
			printf(" suspended:%s", suspStr(&cur.i))
		}
		if optStatistics && haveStats {
			var os *genl.ResourceStatistics
			if old != nil {
				os = &old.s
			}
			printResourceStatistics(0, os, &cur.s, nowrapPrintf)
		}
	case genl.CmdDeviceState:
		if action == genl.NotifyDestroy {
			delete(evKnown, key)
			break
		}
		i, ok := infoSet[*genl.DeviceInfo](m)
		if !ok {
			break
		}
		cur := devState{i: *i}
		s, haveStats := infoSet[*genl.DeviceStatistics](m)
		if haveStats {
			cur.s = *s
		}
		oldAny, known := evKnown[key]
		var old *devState
		if known {
			o := oldAny.(devState)
			old = &o
			if !haveStats {
				cur.s = o.s
			}
		}
		evKnown[key] = cur
		if old == nil || cur.i.DevDiskState != old.i.DevDiskState {
			printf(" disk:%s", drbd.DiskState(cur.i.DevDiskState))
		}
		if optStatistics && haveStats {
			var os *genl.DeviceStatistics
			if old != nil {
				os = &old.s
			}
			printDeviceStatistics(0, os, &cur.s, nowrapPrintf)
		}
	case genl.CmdConnectionState:
		if action == genl.NotifyDestroy {
			delete(evKnown, key)
			break
		}
		i, ok := infoSet[*genl.ConnectionInfo](m)
		if !ok {
			break
		}
		cur := connState{i: *i}
		s, haveStats := infoSet[*genl.ConnectionStatistics](m)
		if haveStats {
			cur.s = *s
		}
		oldAny, known := evKnown[key]
		var old *connState
		if known {
			o := oldAny.(connState)
			old = &o
			if !haveStats {
				cur.s = o.s
			}
		}
		evKnown[key] = cur
		if old == nil || cur.i.ConnConnectionState != old.i.ConnConnectionState {
			printf(" connection:%s", connStr9(drbd.ConnState(cur.i.ConnConnectionState)))
		}
		if old == nil || cur.i.ConnRole != old.i.ConnRole {
			printf(" role:%s", drbd.Role(cur.i.ConnRole))
		}
		if optStatistics && haveStats {
			var os *genl.ConnectionStatistics
			if old != nil {
				os = &old.s
			}
			printConnectionStatistics(0, os, &cur.s, nowrapPrintf)
		}
	case genl.CmdPeerDeviceState:
		if action == genl.NotifyDestroy {
			delete(evKnown, key)
			break
		}
		i, ok := infoSet[*genl.PeerDeviceInfo](m)
		if !ok {
			break
		}
		cur := peerState{i: *i}
		s, haveStats := infoSet[*genl.PeerDeviceStatistics](m)
		if haveStats {
			cur.s = *s
		}
		oldAny, known := evKnown[key]
		var old *peerState
		if known {
			o := oldAny.(peerState)
			old = &o
			if !haveStats {
				cur.s = o.s
			}
		}
		evKnown[key] = cur
		if old == nil || cur.i.PeerReplState != old.i.PeerReplState {
			printf(" replication:%s", replStr9(drbd.ConnState(cur.i.PeerReplState)))
		}
		if old == nil || cur.i.PeerDiskState != old.i.PeerDiskState {
			printf(" peer-disk:%s", drbd.DiskState(cur.i.PeerDiskState))
		}
		if old == nil || cur.i.PeerResyncSuspUser != old.i.PeerResyncSuspUser ||
			cur.i.PeerResyncSuspPeer != old.i.PeerResyncSuspPeer ||
			cur.i.PeerResyncSuspDependency != old.i.PeerResyncSuspDependency {
			printf(" resync-suspended:%s", resyncSuspStr(&cur.i))
		}
		if optStatistics && haveStats {
			var os *genl.PeerDeviceStatistics
			if old != nil {
				os = &old.s
			}
			printPeerDeviceStatistics(0, os, &cur.s, nowrapPrintf)
		}
	case genl.CmdHelper:
		h, ok := infoSet[*genl.HelperInfo](m)
		if ok {
			printf(" helper:%s", h.HelperName)
			if action == genl.NotifyResponse {
				printf(" status:%d", h.HelperStatus)
			}
		}
	}
	printf("\n")
	stdout.Flush()
	if optNow && cmd == genl.CmdInitialStateDone {
		return -1
	}
	return 0
}
