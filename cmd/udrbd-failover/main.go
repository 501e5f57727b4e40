// Command udrbd-failover is the failover agent for DRBD 8.4 resources
// (udrbd's or the kernel's): it watches `drbdsetup events2` and, when the
// peer is lost and it is safe, promotes this node, mounts the filesystem,
// starts the service and brings up the floating address; on exit, or when
// the resource stops being Primary, it takes all that down again in
// reverse. See package failover and docs/failover.md.
//
//	udrbd-failover [--config FILE] [--dry-run] [--log-level LEVEL]
//	udrbd-failover --check [--config FILE]
//	udrbd-failover --version
//
// It runs in the foreground and logs with log/slog to stderr; --dry-run
// prints the actions it would take to stdout instead of taking them.
// SIGTERM or SIGINT stops it (stopping the services it started, unless
// stop-services-on-exit = false); another signal a second or more later
// exits at once.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"udrbd/failover"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("udrbd-failover", flag.ContinueOnError)
	cfgPath := fs.String("config", "/etc/udrbd/udrbd-failover.toml", "configuration file (TOML)")
	dryRun := fs.Bool("dry-run", false, "print the actions it would take, and why, instead of taking them")
	check := fs.Bool("check", false, "check the configuration and exit")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "udrbd-failover: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *showVersion {
		fmt.Printf("udrbd-failover %s\n", version)
		return 0
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "udrbd-failover: --log-level %q: %v\n", *level, err)
		return 2
	}
	cfg, err := failover.LoadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "udrbd-failover: %v\n", err)
		return 2
	}
	if *check {
		for _, r := range cfg.Resources {
			fmt.Printf("%s: fencing %s, %d start steps, filesystem %v, address %v\n",
				r.Name, r.Fencing, len(r.Start), r.Filesystem != nil, r.Address != nil)
		}
		return 0
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-sigs
		log.Info("signal: stopping", "signal", s.String())
		first := time.Now()
		cancel()
		for s := range sigs {
			// the same signal may come twice at once (sent to the process
			// and to its group): only a later one means "now"
			if time.Since(first) < time.Second {
				continue
			}
			log.Error("second signal: exiting at once, without stopping the services", "signal", s.String())
			os.Exit(1)
		}
	}()
	names := make([]string, len(cfg.Resources))
	for i, r := range cfg.Resources {
		names[i] = r.Name
	}
	log.Info("udrbd-failover starting", "version", version, "config", *cfgPath, "resources", names, "node", cfg.NodeName, "dry-run", *dryRun)
	a := failover.New(failover.Options{
		Config:    cfg,
		System:    failover.OSSystem{},
		Log:       log,
		DryRun:    *dryRun,
		DryRunOut: os.Stdout,
	})
	if err := a.Run(ctx); err != nil {
		log.Error("agent", "err", err)
		return 1
	}
	log.Info("udrbd-failover stopped")
	return 0
}
