package node

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"

	"udrbd/drbd"
	"udrbd/genl"
	"udrbd/genl/server"
	"udrbd/metadata"
	"udrbd/peer"
	"udrbd/statemachine"
)

var _ server.Handler = (*Node)(nil)

// request is drbd_adm_prepare's context.
type request struct {
	r     *server.Request
	ctx   *genl.CfgContext
	res   *Resource
	minor *Minor
	extra []genl.Set // sets to add to the reply
}

func info(text string) *genl.CfgReply {
	c := &genl.CfgReply{InfoText: text}
	c.Present.Add(genl.CfgReplyInfoText)
	return c
}

// Do implements server.Handler: every doit op of the family.
func (n *Node) Do(ctx context.Context, r *server.Request) (*genl.Message, error) {
	req := r.Msg
	reply := &genl.Message{Cmd: req.Cmd, Minor: req.Minor}
	cc, err := genl.Get[*genl.CfgContext](req)
	if err != nil {
		if se, ok := genl.IsSetError(err); ok {
			return nil, se.Errno
		}
		return nil, syscall.EINVAL
	}
	if a := req.Find(genl.TLACfgContext); a != nil {
		reply.Attrs = append(reply.Attrs, genl.ClearMandatory(*a))
	}
	q := &request{r: r, ctx: cc}
	var code drbd.Reply
	var text string
	if c, t, ok := n.prepare(q); !ok {
		code, text = drbd.Reply(c), t
	} else {
		code, text = n.dispatch(ctx, q)
	}
	reply.SetRetCode(int32(code))
	if text != "" {
		reply.Add(info(text))
	}
	reply.Add(q.extra...)
	if req.Cmd == genl.CmdGetStatus && code == drbd.Reply(drbd.NoError) && q.minor != nil {
		st := n.statusMessage(q.minor, genl.CmdGetStatus, genl.SIBGetStatusReply, nil)
		reply.Attrs = append(reply.Attrs, st.Attrs...)
	}
	return reply, nil
}

// needs tells which objects a command needs (the DRBD_ADM_NEED_* flags).
func needs(cmd genl.Cmd) (minor, resource bool) {
	switch cmd {
	case genl.CmdNewResource:
		return false, false
	case genl.CmdNewMinor, genl.CmdDelResource, genl.CmdResourceOpts, genl.CmdDown,
		genl.CmdConnect, genl.CmdDisconnect, genl.CmdChgNetOpts:
		return false, true
	}
	return true, false
}

// prepare is drbd_adm_prepare's lookups and consistency checks.
func (n *Node) prepare(q *request) (drbd.RetCode, string, bool) {
	needMinor, needRes := needs(q.r.Msg.Cmd)
	name := ""
	if q.ctx != nil {
		name = q.ctx.CtxResourceName
	}
	if name != "" {
		q.res = n.resource(name)
	} else if q.ctx != nil && q.ctx.Present.Has(genl.CfgContextCtxMyAddr) && q.ctx.Present.Has(genl.CfgContextCtxPeerAddr) &&
		q.r.Msg.Cmd != genl.CmdConnect {
		// DRBD_ADM_NEED_CONNECTION: the connection is named by its addresses
		if q.res = n.resourceByAddrs(q.ctx.CtxMyAddr, q.ctx.CtxPeerAddr); q.res == nil {
			return drbd.ErrInvalidRequest, "unknown connection", false
		}
	}
	q.minor = n.minor(q.r.Msg.Minor)
	if q.minor == nil && q.res != nil && q.ctx.Present.Has(genl.CfgContextCtxVolume) {
		n.mu.Lock()
		q.minor = q.res.vols[q.ctx.CtxVolume]
		n.mu.Unlock()
	}
	if needMinor && q.minor == nil {
		return drbd.ErrMinorInvalid, "unknown minor", false
	}
	if needRes && q.res == nil {
		if name != "" {
			return drbd.ErrResNotKnown, "unknown resource", false
		}
		return drbd.ErrInvalidRequest, "unknown resource", false
	}
	if q.res != nil && q.minor != nil && q.minor.res != q.res && needMinor {
		return drbd.ErrInvalidRequest, "minor exists in different resource", false
	}
	if q.minor != nil && q.res == nil {
		q.res = q.minor.res
	}
	return drbd.NoError, "", true
}

// resourceByAddrs is conn_get_by_addrs: the resource whose configured
// connection has these endpoints.
func (n *Node) resourceByAddrs(my, peer []byte) *Resource {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range n.resources {
		if r.myAddr != nil && bytes.Equal(r.myAddr, my) && bytes.Equal(r.peerAddr, peer) {
			return r
		}
	}
	return nil
}

// setErr turns a set's parse failure into the kernel's reply.
func setErr(err error) (drbd.Reply, string) {
	if se, ok := genl.IsSetError(err); ok {
		return drbd.Reply(drbd.ErrMandatoryTag), se.Text()
	}
	return drbd.Reply(drbd.ErrMandatoryTag), err.Error()
}

func ok(c drbd.RetCode, t string) (drbd.Reply, string) { return drbd.Reply(c), t }

func (n *Node) dispatch(ctx context.Context, q *request) (drbd.Reply, string) {
	msg := q.r.Msg
	m := q.minor
	switch msg.Cmd {
	case genl.CmdNewResource:
		ro, err := genl.Get[*genl.ResOpts](msg)
		if err != nil {
			return setErr(err)
		}
		name := ""
		if q.ctx != nil {
			name = q.ctx.CtxResourceName
		}
		return ok(n.newResource(name, ro))

	case genl.CmdResourceOpts:
		ro, err := genl.Get[*genl.ResOpts](msg)
		if err != nil {
			return setErr(err)
		}
		n.mu.Lock()
		opts := q.res.opts
		if msg.Flags&genl.FlagSetDefaults != 0 {
			opts = genl.ResOpts{}
			genl.SetDefaults(&opts)
		}
		if ro != nil {
			genl.Overlay(&opts, ro)
		}
		cpus, err := n.resourceCPUs(q.res, opts.CPUMask)
		if err != nil {
			n.mu.Unlock()
			return ok(cpuMaskError(false), "")
		}
		q.res.opts, q.res.cpus = opts, cpus
		n.applyCPUs()
		for _, v := range q.res.vols {
			c := v.dev.Config()
			c.OnNoData = drbd.OnNoData(q.res.opts.OnNoData)
			v.dev.SetConfig(c)
		}
		n.mu.Unlock()
		n.saveConfig()
		return ok(drbd.NoError, "")

	case genl.CmdNewMinor:
		vol := uint32(0)
		if q.ctx != nil && q.ctx.Present.Has(genl.CfgContextCtxVolume) {
			vol = q.ctx.CtxVolume
		}
		return ok(n.newMinor(q.res, msg.Minor, vol))

	case genl.CmdDelMinor:
		return ok(n.delMinor(m))

	case genl.CmdDelResource:
		return ok(n.delResource(q.res))

	case genl.CmdDown:
		return n.down(ctx, q.res)

	case genl.CmdAttach:
		dc, err := genl.Get[*genl.DiskConf](msg)
		if err != nil {
			return setErr(err)
		}
		conf := &genl.DiskConf{}
		genl.SetDefaults(conf)
		if dc != nil {
			genl.Overlay(conf, dc)
		}
		if err := genl.CheckSet(conf, false); err != nil {
			return setErr(err)
		}
		rep, oerr := m.attach(ctx, conf, false)
		if oerr != nil {
			m.log.Warn("attach refused", "code", rep, "err", oerr)
		}
		if rep == drbd.Reply(drbd.NoError) {
			n.saveConfig()
		}
		return rep, ""

	case genl.CmdChgDiskOpts:
		if !m.dev.GetLdevIfState(drbd.DInconsistent) {
			return ok(drbd.ErrNoDisk, "")
		}
		defer m.dev.PutLdev()
		dc, err := genl.Get[*genl.DiskConf](msg)
		if err != nil {
			return setErr(err)
		}
		l := m.ld()
		conf := *l.cfg()
		if msg.Flags&genl.FlagSetDefaults != 0 {
			conf = genl.DiskConf{BackingDev: l.cfg().BackingDev, MetaDev: l.cfg().MetaDev, MetaDevIdx: l.cfg().MetaDevIdx}
			genl.SetDefaults(&conf)
			conf.Present.Add(genl.DiskConfBackingDev, genl.DiskConfMetaDev, genl.DiskConfMetaDevIdx)
		}
		if dc != nil {
			if err := genl.CheckSet(dc, true); err != nil {
				return setErr(err)
			}
			genl.Overlay(&conf, dc)
		}
		l.confp.Store(&conf)
		c := m.dev.Config()
		c.OnIOError = drbd.IOErrorPolicy(conf.OnIOError)
		c.Fencing = drbd.FencingPolicy(conf.Fencing)
		m.dev.SetConfig(c)
		m.mu.Lock()
		m.diskConf = &conf
		m.mu.Unlock()
		m.res.bumpWriteOrdering(n)
		n.saveConfig()
		return ok(drbd.NoError, "")

	case genl.CmdDetach:
		dp, err := genl.Get[*genl.DetachParms](msg)
		if err != nil {
			return setErr(err)
		}
		force := dp != nil && dp.ForceDetach
		rep := m.dev.Detach(ctx, force)
		n.saveConfig()
		return rep, ""

	case genl.CmdPrimary, genl.CmdSecondary:
		role := drbd.RSecondary
		force := false
		if msg.Cmd == genl.CmdPrimary {
			role = drbd.RPrimary
			sp, err := genl.Get[*genl.SetRoleParms](msg)
			if err != nil {
				return setErr(err)
			}
			force = sp != nil && sp.AssumeUptodate
		}
		rep := m.setRole(ctx, role, force)
		n.saveConfig()
		return rep, ""

	case genl.CmdOutdate:
		return m.dev.Outdate(ctx), ""

	case genl.CmdInvalidate:
		return m.dev.Invalidate(ctx, m.setAllBits), ""

	case genl.CmdSuspendIO:
		return m.dev.SuspendIOAdmin(ctx), ""

	case genl.CmdResumeIO:
		if pd := m.peerDevice(); pd != nil {
			pd.ResumedIO()
		}
		return m.dev.ResumeIOAdmin(ctx), ""

	case genl.CmdNewCUUID:
		p, err := genl.Get[*genl.NewCUUIDParms](msg)
		if err != nil {
			return setErr(err)
		}
		if !m.dev.GetLdevIfState(drbd.DInconsistent) {
			return ok(drbd.ErrNoDisk, "")
		}
		defer m.dev.PutLdev()
		l := m.ld()
		clearBM := p != nil && p.ClearBM
		// drbd_adm_new_c_uuid: connected with fresh meta-data on both
		// sides, --clear-bitmap skips the initial sync; otherwise only a
		// StandAlone node makes a new current UUID.
		st := m.dev.State()
		pd := m.peerDevice()
		l.mu.Lock()
		fresh := l.sb.Current() == metadata.UUIDJustCreated
		l.mu.Unlock()
		skip := false
		if st.Conn == drbd.CConnected && pd != nil && pd.CanSkipInitialSync() && fresh && clearBM {
			m.log.Info("Preparing to skip initial sync")
			skip = true
			// The P_STATE our worker sends on reaching Connected must
			// go before the UUIDs: arriving after them, it would tell
			// the peer our disk is still Inconsistent.
			if err := m.dev.WaitIdle(ctx); err != nil {
				return setErr(err)
			}
		} else if st.Conn != drbd.CStandAlone {
			return ok(drbd.ErrConnected, "")
		}
		rc := drbd.NoError
		l.mu.Lock()
		l.sb.SetBitmapUUID(0) // the old bitmap UUID goes to the history
		l.sb.NewCurrent(rand.Uint64(), st.Role == drbd.RPrimary)
		if clearBM {
			clear(l.bm)
			l.markAllBitmapDirty()
		}
		l.mu.Unlock()
		m.log.Info(peer.PrintUUIDs("new current UUID", l.UUIDs()))
		if clearBM {
			if err := l.writeBitmap(); err != nil {
				m.log.Error(fmt.Sprintf("Writing bitmap failed with %v", err))
				rc = drbd.ErrIOMDDisk
			}
			if skip {
				if err := pd.SendUUIDsSkipInitialSync(); err != nil {
					m.log.Warn("could not send the UUIDs to skip the initial sync", "err", err)
				}
				l.mu.Lock()
				l.sb.UUID[metadata.UIBitmap] = 0
				l.mu.Unlock()
				m.log.Info(peer.PrintUUIDs("cleared bitmap UUID", l.UUIDs()))
				m.dev.Change(statemachine.CSVerbose, func(s drbd.State) drbd.State {
					s.Disk, s.Pdsk = drbd.DUpToDate, drbd.DUpToDate
					return s
				})
			}
		}
		l.mu.Lock()
		m.SetEdUUID(l.sb.Current())
		l.mu.Unlock()
		if err := l.writeSuperblock(); err != nil {
			rc = drbd.ErrIOMDDisk
		}
		return ok(rc, "")

	case genl.CmdGetTimeoutType:
		t := drbd.UTDefault
		if m.dev.State().Pdsk == drbd.DOutdated {
			t = drbd.UTPeerOutdated
		}
		tp := &genl.TimeoutParms{TimeoutType: uint32(t)}
		tp.Present.Add(genl.TimeoutParmsTimeoutType)
		q.extra = append(q.extra, tp)
		return ok(drbd.NoError, "")

	case genl.CmdGetStatus:
		return ok(drbd.NoError, "")

	case genl.CmdConnect:
		return n.connect(q)

	case genl.CmdDisconnect:
		dp, err := genl.Get[*genl.DisconnectParms](msg)
		if err != nil {
			return setErr(err)
		}
		return n.disconnect(ctx, q.res, dp != nil && dp.ForceDisconnect), ""

	case genl.CmdChgNetOpts:
		return n.netOptions(q)

	case genl.CmdInvalPeer:
		return m.dev.InvalidateRemote(ctx, m.setAllBits), ""

	case genl.CmdPauseSync:
		if m.dev.RequestState(ctx, statemachine.NSUserIsp(true), statemachine.CSVerbose) == drbd.SSNothingToDo {
			return ok(drbd.ErrPauseIsSet, "")
		}
		return drbd.Reply(drbd.NoError), ""

	case genl.CmdResumeSync:
		rv := m.dev.RequestState(ctx, statemachine.NSUserIsp(false), statemachine.CSVerbose)
		if rv == drbd.SSNothingToDo {
			st := m.dev.State()
			if st.Conn == drbd.CPausedSyncS || st.Conn == drbd.CPausedSyncT {
				if st.AftrIsp {
					return ok(drbd.ErrPicAfterDep, "")
				}
				return ok(drbd.ErrPicPeerDep, "")
			}
			return ok(drbd.ErrPauseIsClear, "")
		}
		return drbd.Reply(drbd.NoError), ""

	case genl.CmdStartOV:
		p, err := genl.Get[*genl.StartOVParms](msg)
		if err != nil {
			return setErr(err)
		}
		if pd := m.peerDevice(); pd != nil && p != nil {
			pd.StartVerifyAt(p.OVStartSector)
		}
		return drbd.Reply(m.dev.RequestState(ctx, statemachine.NSConn(drbd.CVerifyS), statemachine.CSVerbose|statemachine.CSOrdered)), ""

	case genl.CmdResize:
		return m.resize(msg)
	}
	return 0, ""
}

// setAllBits marks the whole bitmap out of sync and writes it
// (drbd_bmio_set_n_write); the caller holds a local reference.
func (m *Minor) setAllBits() error {
	l := m.ld()
	l.SetAll()
	return l.writeBitmap()
}

var _ = metadata.LCFree
