package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"udrbd/drbd"
	"udrbd/genl"
)

// The running configuration as kept in StateDir/state.json: what a
// restarted daemon needs to take every resource back.
type savedConfig struct {
	Resources []savedResource `json:"resources"`
}

type savedResource struct {
	Name    string        `json:"name"`
	Options genl.ResOpts  `json:"options"`
	Volumes []savedVolume `json:"volumes"`
	// the connection, while configured (connect until disconnect)
	Net      *genl.NetConf `json:"net,omitempty"`
	MyAddr   []byte        `json:"my_addr,omitempty"`
	PeerAddr []byte        `json:"peer_addr,omitempty"`
}

type savedVolume struct {
	Minor   uint32         `json:"minor"`
	Volume  uint32         `json:"volume"`
	Disk    *genl.DiskConf `json:"disk,omitempty"` // set while attached
	Primary bool           `json:"primary"`
}

func (n *Node) statePath() string { return filepath.Join(n.opts.StateDir, "state.json") }

// saveConfig writes the configuration atomically (write, fsync, rename).
func (n *Node) saveConfig() {
	if n.opts.StateDir == "" {
		return
	}
	n.confMu.Lock()
	defer n.confMu.Unlock()
	var c savedConfig
	for _, r := range n.sortedResources() {
		n.mu.Lock()
		sr := savedResource{Name: r.name, Options: r.opts, Net: r.netConf, MyAddr: r.myAddr, PeerAddr: r.peerAddr}
		vols := r.sortedVols()
		n.mu.Unlock()
		for _, m := range vols {
			sv := savedVolume{Minor: m.minor, Volume: m.vol, Primary: m.dev.State().Role == drbd.RPrimary}
			sv.Disk = m.attachedConf()
			sr.Volumes = append(sr.Volumes, sv)
		}
		c.Resources = append(c.Resources, sr)
	}
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		n.log.Error("save config", "err", err)
		return
	}
	tmp := n.statePath() + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		n.log.Error("save config", "err", err)
		return
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, n.statePath())
	}
	if err != nil {
		n.log.Error("save config", "err", err)
	}
}

// Restore takes the configuration back from the state directory: it
// creates every resource and minor, re-attaches each disk (replaying its
// own activity log), restores the role, and only then re-attaches the
// block device a previous daemon left quiesced (or creates it), so IO a
// mounted filesystem had in flight is served by an attached, Primary
// device.
func (n *Node) Restore(ctx context.Context) error {
	if n.opts.StateDir == "" {
		return nil
	}
	b, err := os.ReadFile(n.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var c savedConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("%s: %w", n.statePath(), err)
	}
	var errs []error
	for _, sr := range c.Resources {
		opts := sr.Options
		if code, txt := n.newResource(sr.Name, &opts); code != drbd.NoError {
			errs = append(errs, fmt.Errorf("resource %s: %v %s", sr.Name, code, txt))
			continue
		}
		r := n.resource(sr.Name)
		for _, sv := range sr.Volumes {
			if code, txt := n.newMinor(r, sv.Minor, sv.Volume); code != drbd.NoError {
				errs = append(errs, fmt.Errorf("minor %d: %v %s", sv.Minor, code, txt))
				continue
			}
			m := n.minor(sv.Minor)
			if sv.Disk != nil {
				m.noBlock = true
				rep, err := m.attach(ctx, sv.Disk, true)
				m.noBlock = false
				if rep != drbd.Reply(drbd.NoError) {
					errs = append(errs, fmt.Errorf("minor %d: attach: %v (%v)", sv.Minor, rep, err))
				}
			}
			if sv.Primary && !n.blockSurvived(sv.Minor) {
				n.log.Warn("was Primary, but its block device is gone (the host restarted?): staying Secondary", "minor", sv.Minor)
			} else if sv.Primary {
				if rep := m.setRole(ctx, drbd.RPrimary, false); drbd.StateRV(rep) < drbd.SSSuccess {
					errs = append(errs, fmt.Errorf("minor %d: primary: %v", sv.Minor, rep))
				}
			}
			if err := m.recoverBlock(); err != nil {
				n.log.Info("no block device to recover", "minor", sv.Minor, "err", err)
				if m.dev.GetLdevIfState(drbd.DInconsistent) {
					size := int64(m.ld().capacity << 9)
					m.dev.PutLdev()
					if err := m.ensureBlock(size); err != nil {
						errs = append(errs, fmt.Errorf("minor %d: block device: %w", sv.Minor, err))
					}
				}
			}
		}
	}
	for _, sr := range c.Resources {
		if r := n.resource(sr.Name); r != nil && sr.Net != nil {
			if err := n.startConnection(r, sr.Net, sr.MyAddr, sr.PeerAddr); err != nil {
				errs = append(errs, fmt.Errorf("resource %s: connect: %w", sr.Name, err))
			}
		}
	}
	n.saveConfig()
	return errors.Join(errs...)
}

// blockSurvived tells whether minor's block device outlived the previous
// daemon (true when the block layer cannot tell).
func (n *Node) blockSurvived(minor uint32) bool {
	p, ok := n.opts.Blocks.(BlockProber)
	return !ok || p.Exists(int(minor))
}
