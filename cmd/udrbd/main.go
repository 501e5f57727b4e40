// Command udrbd is the udrbd daemon: DRBD 8.4's replicated block device
// served from userspace through ublk. It plays the kernel module's part
// for one host: it serves the drbd generic-netlink family on a unix
// control socket (see package genl/server) and every resource and minor
// (package node).
//
//	udrbd [--socket PATH] [--socket-mode MODE] [--socket-group GROUP]
//	      [--admin-group GROUP]... [--state-dir DIR] [--log-level LEVEL] [--dev-dir DIR]
//	      [--usermode-helper PROGRAM] [--helper-timeout DURATION] [--metrics-listen ADDR]
//	udrbd --version
//	udrbd ctl [--socket PATH] COMMAND ARGS...   (a raw genl request, a debugging aid)
//
// Handlers (fence-peer, local-io-error, split-brain, ...) run as the kernel
// runs them: --usermode-helper (default /sbin/drbdadm) with the handler's
// name and minor-N or the resource, DRBD_* in the environment, each killed
// after --helper-timeout.
//
// The control socket is mode 0600 (root only) unless --socket-mode and
// --socket-group open it to others. Callers other than root may then read
// status (without the shared secret); state changes need root or membership
// of an --admin-group, as the kernel's genetlink needs CAP_SYS_ADMIN.
//
// With --metrics-listen ADDR (host:port; drbd-reactor's exporter uses
// :9942) it serves Prometheus metrics at http://ADDR/metrics: drbd-reactor's
// metric names and labels plus per-stage write latency histograms (see
// package metrics and docs/metrics.md). Without it (the default) nothing
// listens and writes are not timed.
//
// It runs in the foreground and logs with log/slog to stderr. On SIGTERM
// or SIGINT it saves its configuration and exits, leaving its ublk devices
// quiesced; started again it takes the configuration back from the state
// directory and recovers every device (a mounted filesystem stays
// mounted). A second daemon on the same socket or state directory is
// refused.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"udrbd/genl"
	"udrbd/genl/server"
	"udrbd/metrics"
	"udrbd/node"
	"udrbd/ublk"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "ctl" {
		os.Exit(ctl(os.Args[2:]))
	}
	os.Exit(daemon())
}

// daemon parses the daemon's flags and runs it; the exit status.
func daemon() int {
	fs := flag.NewFlagSet("udrbd", flag.ExitOnError)
	showVersion := fs.Bool("version", false, "print the version and exit")
	sock := fs.String("socket", "", "control socket (default $"+genl.SocketEnv+" or "+genl.DefaultSocket+")")
	stateDir := fs.String("state-dir", "/var/lib/udrbd", "directory for the running configuration")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	devDir := fs.String("dev-dir", "/dev", "where the drbdN and drbd/by-res symlinks go (empty: none)")
	sockMode := fs.String("socket-mode", "0600", "permission bits of the control socket (octal)")
	sockGroup := fs.String("socket-group", "", "group (name or gid) owning the control socket")
	var adminGroups groupList
	fs.Var(&adminGroups, "admin-group", "group (name or gid) whose members may change state (repeatable)")
	helper := fs.String("usermode-helper", node.DefaultUsermodeHelper,
		"program the handlers run as: PROGRAM HANDLER minor-N, or PROGRAM HANDLER RESOURCE for fence-peer and unfence-peer (the kernel's usermode_helper; empty: none, every handler answers 0)")
	helperTimeout := fs.Duration("helper-timeout", node.DefaultHelperTimeout, "longest a handler may run before it is killed")
	cpuProfile := fs.String("cpu-profile", "", "write a Go CPU profile of the daemon's run to FILE (for go tool pprof; written at exit)")
	splice := fs.Bool("splice", true, "move large writes between the peers' sockets and memory or the backing file with splice(2), without copying them (false: read and write)")
	cpuAffinity := fs.Bool("cpu-affinity", true, "pin the daemon's threads to its resources' CPUs, as DRBD pins a resource's threads (resource option cpu-mask, else the least used CPU)")
	metricsAddr := fs.String("metrics-listen", "", "serve Prometheus metrics at http://ADDR/metrics, ADDR as host:port (drbd-reactor uses :9942; empty: off)")
	_ = fs.Parse(os.Args[1:])
	if *showVersion {
		fmt.Printf("udrbd %s (DRBD API 1, protocol 86-101)\n", version)
		return 0
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "udrbd: --log-level %q: %v\n", *level, err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	sc, err := socketConfig(genl.SocketPath(*sock), *sockMode, *sockGroup, adminGroups)
	if err != nil {
		fmt.Fprintf(os.Stderr, "udrbd: %v\n", err)
		return 2
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "udrbd: --cpu-profile: %v\n", err)
			return 2
		}
		defer stop()
	}
	if err := run(log, sc, *stateDir, *devDir, *metricsAddr, node.Options{UsermodeHelper: *helper, HelperTimeout: *helperTimeout, CPUAffinity: *cpuAffinity, NoSplice: !*splice}); err != nil {
		log.Error("udrbd: " + err.Error())
		return 1
	}
	return 0
}

// startCPUProfile starts runtime/pprof's CPU profile into path; stop ends
// it and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// lockFile takes an exclusive, non-blocking flock on path.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// groupList collects repeated --admin-group values.
type groupList []string

func (g *groupList) String() string     { return strings.Join(*g, ",") }
func (g *groupList) Set(v string) error { *g = append(*g, v); return nil }

// lookupGID resolves a group name or number.
func lookupGID(g string) (uint32, error) {
	if n, err := strconv.ParseUint(g, 10, 32); err == nil {
		return uint32(n), nil
	}
	gr, err := user.LookupGroup(g)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(gr.Gid, 10, 32)
	return uint32(n), err
}

// socketConfig checks the socket options and turns them into the server's.
func socketConfig(path, mode, group string, admins []string) (server.Config, error) {
	sc := server.Config{Path: path, Group: -1}
	m, err := strconv.ParseUint(mode, 8, 32)
	if err != nil || m == 0 || m > 0o777 {
		return sc, fmt.Errorf("--socket-mode %q: want octal permission bits such as 0600 or 0660", mode)
	}
	sc.Mode = os.FileMode(m)
	if group != "" {
		gid, err := lookupGID(group)
		if err != nil {
			return sc, fmt.Errorf("--socket-group %q: %v", group, err)
		}
		sc.Group = int(gid)
	}
	for _, g := range admins {
		gid, err := lookupGID(g)
		if err != nil {
			return sc, fmt.Errorf("--admin-group %q: %v", g, err)
		}
		sc.AdminGroups = append(sc.AdminGroups, gid)
	}
	return sc, nil
}

// startMetrics serves the node's metrics on addr.
func startMetrics(log *slog.Logger, addr string, src metrics.Source, lat *metrics.Latencies) (*metrics.Server, error) {
	c := metrics.NewCollector(src, lat)
	s, err := metrics.Listen(addr, metrics.Registry(c))
	if err != nil {
		return nil, err
	}
	// drbd_version's utils label, as drbd-reactor finds it; not worth
	// delaying the start for
	go func() { c.SetUtilsVersion(metrics.DrbdadmVersion(context.Background())) }()
	log.Info("metrics endpoint up", "address", s.Addr().String(), "path", "/metrics")
	return s, nil
}

// run serves the control socket until a signal; opts carries the node
// options the flags set (the rest is filled in here).
func run(log *slog.Logger, sc server.Config, stateDir, devDir, metricsAddr string, opts node.Options) error {
	sockPath := sc.Path
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return err
	}
	stLock, err := lockFile(filepath.Join(stateDir, "lock"))
	if err != nil {
		return fmt.Errorf("state directory %s is in use by another udrbd: %w", stateDir, err)
	}
	defer stLock.Close()
	if err := os.MkdirAll(filepath.Dir(sockPath), 0o755); err != nil {
		return err
	}
	sockLock, err := lockFile(sockPath + ".lock")
	if err != nil {
		return fmt.Errorf("control socket %s is in use by another udrbd: %w", sockPath, err)
	}
	defer sockLock.Close()
	if c, err := net.Dial("unixpacket", sockPath); err == nil {
		c.Close()
		return fmt.Errorf("control socket %s is in use by another process", sockPath)
	}

	var blocks node.BlockLayer
	ctrl, err := ublk.OpenControl()
	if err != nil {
		log.Warn("no ublk: minors get no block device", "err", err)
	} else {
		defer ctrl.Close()
		blocks = &node.UblkLayer{Ctrl: ctrl, Logf: func(f string, a ...any) { log.Debug(fmt.Sprintf(f, a...)) }}
	}
	opts.StateDir, opts.Blocks, opts.DevDir, opts.Logger = stateDir, blocks, devDir, log
	var lat *metrics.Latencies
	if metricsAddr != "" {
		lat = metrics.NewLatencies()
		opts.Observe = lat.Observer
	}
	n := node.New(opts)
	if metricsAddr != "" {
		ms, err := startMetrics(log, metricsAddr, n, lat)
		if err != nil {
			return err
		}
		defer ms.Close()
	}
	srv, err := server.Listen(sc, n)
	if err != nil {
		return err
	}
	n.SetMulticaster(srv)
	if err := n.Restore(context.Background()); err != nil {
		log.Error("restore", "err", err)
	}
	log.Info("udrbd running", "version", version, "socket", sockPath, "state-dir", stateDir)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case s := <-sig:
		// Leave the block devices quiesced for the next daemon.
		log.Info("exiting; block devices stay for recovery", "signal", s.String())
		srv.Close()
		return nil
	case err := <-errc:
		return err
	}
}
