package failover

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// What teardown undoes, one entry per step bringUp completed.
type undoKind int

const (
	undoSecondary undoKind = iota // drbdsetup secondary MINOR
	undoUmount                    // umount MOUNTPOINT
	undoStop                      // sh -c STOP
	undoAddress                   // remove the floating address
)

type undoStep struct {
	kind  undoKind
	minor int
	cmd   string
}

// act runs one time-bounded action and logs it; with --dry-run it prints
// what it would do instead, with the justification.
func (c *controller) act(ctx context.Context, timeout time.Duration, desc string, fn func(context.Context) error) error {
	if c.a.o.DryRun {
		fmt.Fprintf(c.a.o.DryRunOut, "dry-run %s: would %s  (because: %s)\n", c.c.Name, desc, c.dryRunSummary)
		return nil
	}
	c.log.Info("action", "do", desc)
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	start := time.Now()
	err := fn(tctx)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		if errors.Is(tctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (timed out after %s)", err, timeout)
		}
		c.log.Error("action failed", "do", desc, "err", err, "took", took)
		return err
	}
	c.log.Info("action done", "do", desc, "took", took)
	return nil
}

// runCmd runs a program as an action and returns its output.
func (c *controller) runCmd(ctx context.Context, timeout time.Duration, argv ...string) (string, error) {
	var out []byte
	err := c.act(ctx, timeout, "run "+quoteArgs(argv), func(ctx context.Context) error {
		var err error
		out, err = c.a.sys.Run(ctx, argv...)
		return err
	})
	text := strings.TrimSpace(string(out))
	if err != nil && text != "" {
		c.log.Error("output", "cmd", argv[0], "output", text)
	} else if text != "" {
		c.log.Debug("output", "cmd", argv[0], "output", text)
	}
	return text, err
}

func (c *controller) drbd(ctx context.Context, verb string, minor int) (string, error) {
	return c.runCmd(ctx, c.c.DrbdTimeout, c.a.cfg.Programs.Drbdsetup, verb, strconv.Itoa(minor))
}

func (c *controller) shell(ctx context.Context, cmd string) error {
	_, err := c.runCmd(ctx, c.c.Timeout, c.a.cfg.Programs.Shell, "-c", cmd)
	return err
}

// bringUp promotes every volume (if promote), mounts, runs start and adds
// the address, in that order. If a step fails it undoes the steps done, in
// reverse, demotes, and returns false.
func (c *controller) bringUp(ctx context.Context, res *Resource, promote bool) bool {
	c.undo = nil
	fail := func(msg string, args ...any) bool {
		c.log.Error(msg, args...)
		c.teardown(ctx)
		return false
	}
	for _, vol := range res.Volumes() {
		minor := res.Devices[vol].Minor
		if minor < 0 {
			return fail("volume without a minor number in events2; not promoting", "volume", vol)
		}
		if promote {
			if out, err := c.drbd(ctx, "primary", minor); err != nil {
				return fail("drbdsetup primary failed: not promoted, will try again", "minor", minor, "drbd", out, "err", err, "retry-in", c.c.PromoteRetryInterval)
			}
		}
		c.undo = append(c.undo, undoStep{kind: undoSecondary, minor: minor})
	}
	if promote && !c.a.o.DryRun && !c.waitRole(ctx, RolePrimary) {
		return fail("drbdsetup primary succeeded but events2 does not show the resource Primary; undoing", "within", c.c.DrbdTimeout)
	}
	if fs := c.c.Filesystem; fs != nil {
		mounted := false
		if !promote { // taking over a Primary: it may be mounted already
			m, err := c.a.sys.Mounted(fs.Mountpoint)
			mounted = err == nil && m
		}
		if mounted {
			c.log.Info("already mounted", "mountpoint", fs.Mountpoint)
		} else if _, err := c.runCmd(ctx, c.c.Timeout, c.mountArgs()...); err != nil {
			return fail("mount failed; undoing", "err", err)
		}
		c.undo = append(c.undo, undoStep{kind: undoUmount})
	}
	for i, s := range c.c.Start {
		if err := c.shell(ctx, s); err != nil {
			return fail("start failed; undoing", "start", i, "err", err)
		}
		c.undo = append(c.undo, undoStep{kind: undoStop, cmd: c.c.Stop[i]})
	}
	if a := c.c.Address; a != nil {
		err := c.act(ctx, c.c.Timeout, fmt.Sprintf("add address %s to %s", a.Prefix, a.Interface), func(context.Context) error {
			return c.a.sys.AddAddress(a.Interface, a.Prefix)
		})
		if err != nil {
			return fail("adding the address failed; undoing", "err", err)
		}
		c.undo = append(c.undo, undoStep{kind: undoAddress})
		if a.ARPCount > 0 {
			err := c.act(ctx, c.c.Timeout, fmt.Sprintf("announce %s on %s (%d gratuitous ARP rounds)", a.Prefix.Addr(), a.Interface, a.ARPCount), func(ctx context.Context) error {
				return c.a.sys.Announce(ctx, a.Interface, a.Prefix.Addr(), a.ARPCount, a.ARPInterval)
			})
			if err != nil {
				c.log.Warn("gratuitous ARP failed; the address is up, neighbours learn it later", "err", err)
			}
		}
	}
	c.active = true
	c.log.Info("service is up")
	return true
}

func (c *controller) mountArgs() []string {
	fs := c.c.Filesystem
	argv := []string{c.a.cfg.Programs.Mount}
	if fs.FSType != "" {
		argv = append(argv, "-t", fs.FSType)
	}
	if fs.Options != "" {
		argv = append(argv, "-o", fs.Options)
	}
	return append(argv, fs.Device, fs.Mountpoint)
}

// waitRole waits until events2 shows the resource in role, for at most
// drbd-timeout.
func (c *controller) waitRole(ctx context.Context, role string) bool {
	t := time.NewTimer(c.c.DrbdTimeout)
	defer t.Stop()
	for {
		if complete, res := c.a.w.snapshot(c.c.Name); complete && res != nil && res.Role == role {
			return true
		}
		select {
		case <-c.notify:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// teardown undoes what bringUp did, in reverse: remove the address, run
// the stop commands, unmount, demote. A failing step does not stop the
// ones after it; a failed demotion escalates (on-drbd-demote-failure).
func (c *controller) teardown(ctx context.Context) {
	demoteFailed := false
	for i := len(c.undo) - 1; i >= 0; i-- {
		u := c.undo[i]
		switch u.kind {
		case undoAddress:
			a := c.c.Address
			_ = c.act(ctx, c.c.Timeout, fmt.Sprintf("remove address %s from %s", a.Prefix, a.Interface), func(context.Context) error {
				return c.a.sys.DelAddress(a.Interface, a.Prefix)
			})
		case undoStop:
			if u.cmd != "" {
				_ = c.shell(ctx, u.cmd)
			}
		case undoUmount:
			c.unmount(ctx)
		case undoSecondary:
			if !c.demote(ctx, u.minor) {
				demoteFailed = true
			}
		}
	}
	c.undo = nil
	if demoteFailed {
		c.escalate(ctx)
	}
}

func (c *controller) unmount(ctx context.Context) {
	fs := c.c.Filesystem
	if !c.a.o.DryRun {
		if m, err := c.a.sys.Mounted(fs.Mountpoint); err == nil && !m {
			c.log.Info("not mounted; nothing to unmount", "mountpoint", fs.Mountpoint)
			return
		}
	}
	umount := []string{c.a.cfg.Programs.Umount, fs.Mountpoint}
	if _, err := c.runCmd(ctx, c.c.Timeout, umount...); err == nil || !c.c.SecondaryForce {
		return
	}
	c.log.Warn("unmount failed: killing the processes that use it (secondary-force)", "mountpoint", fs.Mountpoint)
	_, _ = c.runCmd(ctx, c.c.Timeout, c.a.cfg.Programs.Fuser, "-k", "-m", fs.Mountpoint)
	c.pause(ctx)
	_, _ = c.runCmd(ctx, c.c.Timeout, umount...)
}

// demote runs drbdsetup secondary; with secondary-force a failure is
// retried once after a second (8.4's secondary has no --force).
func (c *controller) demote(ctx context.Context, minor int) bool {
	out, err := c.drbd(ctx, "secondary", minor)
	if err == nil {
		return true
	}
	c.log.Error("drbdsetup secondary failed", "minor", minor, "drbd", out, "err", err)
	if !c.c.SecondaryForce {
		return false
	}
	c.pause(ctx)
	if out, err = c.drbd(ctx, "secondary", minor); err != nil {
		c.log.Error("drbdsetup secondary failed again", "minor", minor, "drbd", out, "err", err)
		return false
	}
	return true
}

func (c *controller) pause(context.Context) {
	if c.a.o.DryRun {
		return
	}
	time.Sleep(c.a.o.Unit) // also at shutdown: the retry is the point
}

// escalate runs the on-drbd-demote-failure command.
func (c *controller) escalate(ctx context.Context) {
	if c.c.DemoteFailureCommand == "" {
		c.log.Error("demotion failed and on-drbd-demote-failure is none: the resource stays Primary here; resolve it by hand")
		return
	}
	c.log.Error("demotion failed: escalating", "on-drbd-demote-failure", c.c.OnDrbdDemoteFailure, "command", c.c.DemoteFailureCommand)
	_ = c.shell(ctx, c.c.DemoteFailureCommand)
}

// quoteArgs renders argv for logs (single quotes where needed).
func quoteArgs(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`;&|<>()*?[]{}~#!") {
			parts[i] = a
			continue
		}
		parts[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(parts, " ")
}
