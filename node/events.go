package node

import (
	"context"
	"encoding/binary"

	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/genl/server"
	"udrbd/statemachine"
)

func all(s genl.Set) genl.Attr {
	setPresent(s, genl.AllFields(s))
	return genl.Kernel(s)
}

func setPresent(s genl.Set, f genl.Fields) {
	switch v := s.(type) {
	case *genl.ResOpts:
		v.Present = f
	case *genl.DiskConf:
		v.Present = f
	case *genl.ResourceInfo:
		v.Present = f
	case *genl.ResourceStatistics:
		v.Present = f
	case *genl.DeviceInfo:
		v.Present = f
	case *genl.DeviceStatistics:
		v.Present = f
	case *genl.NotificationHeader:
		v.Present = f
	case *genl.HelperInfo:
		v.Present = f
	case *genl.ConnectionInfo:
		v.Present = f
	case *genl.ConnectionStatistics:
		v.Present = f
	case *genl.PeerDeviceInfo:
		v.Present = f
	case *genl.PeerDeviceStatistics:
		v.Present = f
	}
}

func cfgContext(r *Resource, m *Minor) *genl.CfgContext {
	c := &genl.CfgContext{CtxResourceName: r.name}
	if m != nil {
		c.CtxVolume = m.vol
		c.Present.Add(genl.CfgContextCtxVolume)
	}
	c.Present.Add(genl.CfgContextCtxResourceName)
	return c
}

// resRole is the resource's role: the highest role of its volumes.
func (n *Node) resInfo(r *Resource) *genl.ResourceInfo {
	n.mu.Lock()
	vols := r.sortedVols()
	n.mu.Unlock()
	ri := &genl.ResourceInfo{ResRole: uint32(drbd.RSecondary)}
	for _, m := range vols {
		s := m.dev.State()
		if s.Role == drbd.RPrimary {
			ri.ResRole = uint32(drbd.RPrimary)
		}
		ri.ResSusp = ri.ResSusp || s.Susp
		ri.ResSuspNod = ri.ResSuspNod || s.SuspNod
		ri.ResSuspFen = ri.ResSuspFen || s.SuspFen
	}
	return ri
}

func (m *Minor) devStats() *genl.DeviceStatistics {
	ds := &genl.DeviceStatistics{
		DevRead:         m.reads.Load() * 2, // sectors, as read_cnt
		DevWrite:        m.writes.Load() * 2,
		DevUpperPending: uint32(max(m.upper.Load(), 0)),
		DevUpperBlocked: m.dev.UpperBlocked(),
		HistoryUUIDs:    make([]byte, 0),
	}
	if m.dev.GetLdevIfState(drbd.DFailed) {
		l := m.ld()
		ds.DevSize = l.capacity
		ds.DevALWrites = l.alWrites.Load()
		// dev_bm_writes stays 0: kernel 8.4 never counts bm_writ_cnt.
		ds.DevALSuspended = l.alSuspended.Load()
		l.mu.Lock()
		ds.DevCurrentUUID = l.sb.Current()
		ds.DevDiskFlags = uint32(l.sb.Flags)
		h := make([]byte, 16)
		binary.NativeEndian.PutUint64(h, l.sb.UUID[2])
		binary.NativeEndian.PutUint64(h[8:], l.sb.UUID[3])
		ds.HistoryUUIDs = h
		l.mu.Unlock()
		m.dev.PutLdev()
	}
	ds.DevExposedDataUUID = m.EdUUID()
	return ds
}

func (n *Node) resourceMessage(cmd genl.Cmd, r *Resource, nh uint32) *genl.Message {
	msg := &genl.Message{Cmd: cmd, Minor: genl.MinorNone}
	msg.SetRetCode(int32(drbd.NoError))
	msg.Add(cfgContext(r, nil))
	if cmd == genl.CmdGetResources {
		ro := r.opts
		msg.Attrs = append(msg.Attrs, all(&ro))
	} else {
		msg.Attrs = append(msg.Attrs, all(&genl.NotificationHeader{NHType: nh}))
		if nh&^genl.NotifyContinues == genl.NotifyDestroy {
			return msg
		}
	}
	msg.Attrs = append(msg.Attrs, all(n.resInfo(r)), all(&genl.ResourceStatistics{ResStatWriteOrdering: r.wo.Load()}))
	return msg
}

func (n *Node) deviceMessage(cmd genl.Cmd, m *Minor, nh uint32) *genl.Message {
	msg := &genl.Message{Cmd: cmd, Minor: m.minor}
	msg.SetRetCode(int32(drbd.NoError))
	msg.Add(cfgContext(m.res, m))
	if cmd == genl.CmdGetDevices {
		if dc := m.attachedConf(); dc != nil {
			msg.Attrs = append(msg.Attrs, all(dc))
		}
	} else {
		msg.Attrs = append(msg.Attrs, all(&genl.NotificationHeader{NHType: nh}))
		if nh&^genl.NotifyContinues == genl.NotifyDestroy {
			return msg
		}
	}
	di := &genl.DeviceInfo{DevDiskState: uint32(m.dev.State().Disk)}
	msg.Attrs = append(msg.Attrs, all(di), all(m.devStats()))
	return msg
}

// cfgContextConn is nla_put_drbd_cfg_context with the connection: the
// addresses while a connection is configured.
func (n *Node) cfgContextConn(r *Resource, m *Minor) *genl.CfgContext {
	c := cfgContext(r, m)
	n.mu.Lock()
	my, pa := r.myAddr, r.peerAddr
	n.mu.Unlock()
	if my != nil {
		c.CtxMyAddr, c.CtxPeerAddr = my, pa
		c.Present.Add(genl.CfgContextCtxMyAddr, genl.CfgContextCtxPeerAddr)
	}
	return c
}

// netConfAttr is net_conf_to_skb: every field, the shared secret left out
// when excludeSensitive (events, which anyone may listen to).
func netConfAttr(nc *genl.NetConf, excludeSensitive bool) genl.Attr {
	c := *nc
	c.Present = genl.AllFields(&c)
	if excludeSensitive {
		genl.StripSensitive(&c)
	}
	return genl.Kernel(&c)
}

// connInfo is connection_to_info: the connection state (the volumes'
// lowest; StandAlone without volumes) and the highest peer role.
func (n *Node) connInfo(r *Resource) *genl.ConnectionInfo {
	n.mu.Lock()
	vols := r.sortedVols()
	n.mu.Unlock()
	ci := &genl.ConnectionInfo{ConnConnectionState: uint32(drbd.CStandAlone), ConnRole: uint32(drbd.RUnknown)}
	for i, m := range vols {
		st := m.dev.State()
		if c := connCState(st.Conn); i == 0 || uint32(c) < ci.ConnConnectionState {
			ci.ConnConnectionState = uint32(c)
		}
		if uint32(st.Peer) != uint32(drbd.RUnknown) && (ci.ConnRole == uint32(drbd.RUnknown) || st.Peer == drbd.RPrimary) {
			ci.ConnRole = uint32(st.Peer)
		}
	}
	return ci
}

// connCState is connection->cstate as 8.4 keeps it beside the volumes'
// states: only connection-wide changes set it, so an established
// connection stays at WFReportParams while its volumes are Connected,
// SyncSource and so on.
func connCState(c drbd.ConnState) drbd.ConnState { return min(c, drbd.CWFReportParams) }

// connectionMessage is the kernel's connection notification (and the
// GET_CONNECTIONS dump) for a resource's one connection object, which DRBD
// 8.4 has even when no peer is configured.
func (n *Node) connectionMessage(cmd genl.Cmd, r *Resource, nh uint32) *genl.Message {
	msg := &genl.Message{Cmd: cmd, Minor: genl.MinorNone}
	msg.SetRetCode(int32(drbd.NoError))
	msg.Add(n.cfgContextConn(r, nil))
	if cmd == genl.CmdGetConnections {
		n.mu.Lock()
		nc := r.netConf
		n.mu.Unlock()
		if nc != nil {
			msg.Attrs = append(msg.Attrs, netConfAttr(nc, false))
		}
	} else {
		msg.Attrs = append(msg.Attrs, all(&genl.NotificationHeader{NHType: nh}))
		if nh&^genl.NotifyContinues == genl.NotifyDestroy {
			return msg
		}
	}
	cs := &genl.ConnectionStatistics{}
	msg.Attrs = append(msg.Attrs, all(n.connInfo(r)), all(cs))
	return msg
}

// peerDeviceMessage is the kernel's peer-device notification (and the
// GET_PEER_DEVICES dump) for a minor: the replication state is never below
// C_WF_REPORT_PARAMS there; the statistics carry the out-of-sync amount in
// sectors, the bitmap UUID and the peer flags derived from the meta-data
// flags (MDF_PEER_CONNECTED 1, _OUTDATED 2, _FULL_SYNC 8).
func (n *Node) peerDeviceMessage(cmd genl.Cmd, m *Minor, nh uint32) *genl.Message {
	msg := &genl.Message{Cmd: cmd, Minor: genl.MinorNone}
	if cmd == genl.CmdGetPeerDevices {
		msg.Minor = m.minor
	}
	msg.SetRetCode(int32(drbd.NoError))
	msg.Add(n.cfgContextConn(m.res, m))
	st := m.dev.State()
	pi := peerInfo(st)
	ps := &genl.PeerDeviceStatistics{}
	if pd := m.peerDevice(); pd != nil {
		p := pd.Progress()
		ps.PeerDevResyncFailed = p.Failed << 3
		st := pd.Stats()
		ps.PeerDevSent, ps.PeerDevReceived = st.SentSectors, st.ReceivedSectors
		ps.PeerDevPending, ps.PeerDevUnacked = st.Pending, st.Unacked
	}
	if m.dev.GetLdevIfState(drbd.DInconsistent) {
		l := m.ld()
		l.mu.Lock()
		ps.PeerDevOutOfSync = l.bm.Count() << 3
		ps.PeerDevBitmapUUID = l.sb.UUID[1]
		f := l.sb.Flags
		l.mu.Unlock()
		if f&drbd.MDFConnectedInd != 0 {
			ps.PeerDevFlags |= 1
		}
		if f&drbd.MDFConsistent != 0 && f&drbd.MDFWasUpToDate == 0 {
			ps.PeerDevFlags |= 2
		}
		if f&drbd.MDFFullSync != 0 {
			ps.PeerDevFlags |= 8
		}
		m.dev.PutLdev()
	}
	if cmd != genl.CmdGetPeerDevices {
		msg.Attrs = append(msg.Attrs, all(&genl.NotificationHeader{NHType: nh}))
	}
	msg.Attrs = append(msg.Attrs, all(pi), all(ps))
	return msg
}

// peerInfo is peer_device_to_info.
func peerInfo(st drbd.State) *genl.PeerDeviceInfo {
	pi := &genl.PeerDeviceInfo{PeerReplState: uint32(max(st.Conn, drbd.CWFReportParams)), PeerDiskState: uint32(st.Pdsk)}
	if st.UserIsp {
		pi.PeerResyncSuspUser = 1
	}
	if st.PeerIsp {
		pi.PeerResyncSuspPeer = 1
	}
	if st.AftrIsp {
		pi.PeerResyncSuspDependency = 1
	}
	return pi
}

// attachedConf returns a copy of the disk_conf while a disk is attached.
func (m *Minor) attachedConf() *genl.DiskConf {
	if !m.dev.GetLdevIfState(drbd.DFailed) {
		return nil
	}
	defer m.dev.PutLdev()
	c := *m.ld().cfg()
	return &c
}

// statusMessage is nla_put_status_info (DRBD_EVENT and GET_STATUS).
func (n *Node) statusMessage(m *Minor, cmd genl.Cmd, reason uint32, c *statemachine.StateChange) *genl.Message {
	msg := &genl.Message{Cmd: cmd, Minor: m.minor}
	msg.SetRetCode(int32(drbd.NoError))
	msg.Add(n.cfgContextConn(m.res, m))
	ro := m.res.opts
	msg.Attrs = append(msg.Attrs, all(&ro))
	n.mu.Lock()
	nc := m.res.netConf
	n.mu.Unlock()
	si := &genl.StateInfo{SIBReason: reason, CurrentState: m.dev.State().Pack(), EDUUID: m.EdUUID()}
	si.Present.Add(genl.StateInfoSIBReason, genl.StateInfoCurrentState, genl.StateInfoCapacity, genl.StateInfoEDUUID,
		genl.StateInfoSendCnt, genl.StateInfoRecvCnt, genl.StateInfoReadCnt, genl.StateInfoWritCnt,
		genl.StateInfoALWritCnt, genl.StateInfoBMWritCnt, genl.StateInfoAPBioCnt, genl.StateInfoAPPendingCnt,
		genl.StateInfoRSPendingCnt)
	si.ReadCnt = m.reads.Load() * 2
	si.WritCnt = m.writes.Load() * 2
	if pd := m.peerDevice(); pd != nil {
		st := pd.Stats()
		si.SendCnt, si.RecvCnt = st.SentSectors, st.ReceivedSectors
		si.APPendingCnt = st.Pending
	}
	si.APBioCnt = uint32(max(m.upper.Load(), 0))
	if dc := m.attachedConf(); dc != nil {
		msg.Attrs = append(msg.Attrs, all(dc))
	}
	if nc != nil {
		msg.Attrs = append(msg.Attrs, netConfAttr(nc, cmd == genl.CmdEvent))
	}
	if m.dev.GetLdevIfState(drbd.DInconsistent) {
		l := m.ld()
		si.Capacity = l.capacity
		si.ALWritCnt = l.alWrites.Load()
		l.mu.Lock()
		u := make([]byte, 32)
		for i := 0; i < 4; i++ {
			binary.NativeEndian.PutUint64(u[8*i:], l.sb.UUID[i])
		}
		si.UUIDs = u
		si.DiskFlags = uint32(l.sb.Flags)
		si.BitsTotal = (l.capacity + 7) / 8
		si.BitsOOS = l.bm.Count()
		l.mu.Unlock()
		si.Present.Add(genl.StateInfoUUIDs, genl.StateInfoDiskFlags, genl.StateInfoBitsTotal, genl.StateInfoBitsOOS)
		m.dev.PutLdev()
	}
	if c != nil {
		si.PrevState, si.NewState = c.Old.Pack(), c.New.Pack()
		si.Present.Add(genl.StateInfoPrevState, genl.StateInfoNewState)
	}
	msg.Add(si)
	return msg
}

func (n *Node) notifyResource(r *Resource, nh uint32) {
	n.multicast(&n.notiSeq, n.resourceMessage(genl.CmdResourceState, r, nh))
}

func (n *Node) notifyDevice(m *Minor, nh uint32) {
	n.multicast(&n.notiSeq, n.deviceMessage(genl.CmdDeviceState, m, nh))
}

// notifyHelper is notify_helper: m is nil for a connection's helper.
func (n *Node) notifyHelper(r *Resource, m *Minor, name string, nh uint32, ret int32) {
	msg := &genl.Message{Cmd: genl.CmdHelper, Minor: genl.MinorNone}
	if m != nil {
		msg.Minor = m.minor
	}
	msg.SetRetCode(int32(drbd.NoError))
	msg.Add(n.cfgContextConn(r, m))
	msg.Attrs = append(msg.Attrs, all(&genl.NotificationHeader{NHType: nh}),
		all(&genl.HelperInfo{HelperName: name, HelperStatus: uint32(ret)}))
	n.multicast(&n.notiSeq, msg)
}

// broadcastStateChange sends the events2 CHANGE messages for the objects
// whose reported fields changed, in the kernel's order (resource,
// connection, device, peer device; all but the last with NOTIFY_CONTINUES),
// then the DRBD_EVENT state change: after_state_ch broadcasts in that order.
func (n *Node) broadcastStateChange(m *Minor, c statemachine.StateChange) {
	defer n.multicast(&n.evSeq, n.statusMessage(m, genl.CmdEvent, genl.SIBStateChange, &c))
	o, w := c.Old, c.New
	var msgs []func(nh uint32) *genl.Message
	if o.Role != w.Role || o.Susp != w.Susp || o.SuspNod != w.SuspNod || o.SuspFen != w.SuspFen {
		msgs = append(msgs, func(nh uint32) *genl.Message { return n.resourceMessage(genl.CmdResourceState, m.res, nh) })
	}
	if connCState(o.Conn) != connCState(w.Conn) || o.Peer != w.Peer {
		msgs = append(msgs, func(nh uint32) *genl.Message { return n.connectionMessage(genl.CmdConnectionState, m.res, nh) })
	}
	if o.Disk != w.Disk {
		msgs = append(msgs, func(nh uint32) *genl.Message { return n.deviceMessage(genl.CmdDeviceState, m, nh) })
	}
	if *peerInfo(o) != *peerInfo(w) {
		msgs = append(msgs, func(nh uint32) *genl.Message { return n.peerDeviceMessage(genl.CmdPeerDeviceState, m, nh) })
	}
	for i, f := range msgs {
		nh := genl.NotifyChange
		if i < len(msgs)-1 {
			nh |= genl.NotifyContinues
		}
		n.multicast(&n.notiSeq, f(nh))
	}
}

// Dump implements server.Handler: the dumpit ops.
func (n *Node) Dump(ctx context.Context, r *server.Request, emit func(*genl.Message) error) error {
	filter := ""
	if cc, _ := genl.Get[*genl.CfgContext](r.Msg); cc != nil {
		filter = cc.CtxResourceName
	}
	match := func(res *Resource) bool { return filter == "" || res.name == filter }
	switch r.Msg.Cmd {
	case genl.CmdGetStatus:
		// get_one_status: resources in list order, each one's volumes; a
		// resource without volumes is one message with its context (and
		// net_conf, without secrets)
		for _, res := range n.sortedResources() {
			if !match(res) {
				continue
			}
			n.mu.Lock()
			vols := res.sortedVols()
			nc := res.netConf
			n.mu.Unlock()
			if len(vols) == 0 {
				msg := &genl.Message{Cmd: genl.CmdGetStatus, Minor: genl.MinorNone}
				msg.SetRetCode(int32(drbd.NoError))
				msg.Add(n.cfgContextConn(res, nil))
				if nc != nil {
					msg.Attrs = append(msg.Attrs, netConfAttr(nc, true))
				}
				if err := emit(msg); err != nil {
					return err
				}
				continue
			}
			for _, m := range vols {
				if err := emit(n.statusMessage(m, genl.CmdGetStatus, genl.SIBGetStatusReply, nil)); err != nil {
					return err
				}
			}
		}
	case genl.CmdGetResources:
		for _, res := range n.sortedResources() {
			if match(res) {
				if err := emit(n.resourceMessage(genl.CmdGetResources, res, 0)); err != nil {
					return err
				}
			}
		}
	case genl.CmdGetDevices:
		for _, m := range n.sortedMinors() {
			if match(m.res) {
				if err := emit(n.deviceMessage(genl.CmdGetDevices, m, 0)); err != nil {
					return err
				}
			}
		}
	case genl.CmdGetConnections:
		for _, res := range n.sortedResources() {
			n.mu.Lock()
			configured := res.netConf != nil
			n.mu.Unlock()
			if match(res) && configured {
				if err := emit(n.connectionMessage(genl.CmdGetConnections, res, 0)); err != nil {
					return err
				}
			}
		}
	case genl.CmdGetPeerDevices:
		for _, m := range n.sortedMinors() {
			n.mu.Lock()
			configured := m.res.netConf != nil
			n.mu.Unlock()
			if match(m.res) && configured {
				if err := emit(n.peerDeviceMessage(genl.CmdGetPeerDevices, m, 0)); err != nil {
					return err
				}
			}
		}
	case genl.CmdGetInitialState:
		for _, res := range n.sortedResources() {
			n.mu.Lock()
			vols := res.sortedVols()
			n.mu.Unlock()
			// as the kernel: the resource, its connection, the devices, the peer devices
			msgs := []*genl.Message{n.resourceMessage(genl.CmdResourceState, res, genl.NotifyExists),
				n.connectionMessage(genl.CmdConnectionState, res, genl.NotifyExists)}
			for _, m := range vols {
				msgs = append(msgs, n.deviceMessage(genl.CmdDeviceState, m, genl.NotifyExists))
			}
			for _, m := range vols {
				msgs = append(msgs, n.peerDeviceMessage(genl.CmdPeerDeviceState, m, genl.NotifyExists))
			}
			for i, msg := range msgs {
				if i < len(msgs)-1 {
					for j := range msg.Attrs {
						if nh, ok := msg.Attrs[j].Set.(*genl.NotificationHeader); ok {
							nh.NHType |= genl.NotifyContinues
						}
					}
				}
				if err := emit(msg); err != nil {
					return err
				}
			}
		}
		done := &genl.Message{Cmd: genl.CmdInitialStateDone, Minor: genl.MinorNone}
		done.SetRetCode(int32(drbd.NoError))
		done.Attrs = append(done.Attrs, all(&genl.NotificationHeader{NHType: genl.NotifyExists}))
		return emit(done)
	}
	return nil
}

var _ server.Handler = (*Node)(nil)
