// Command udrbd is the udrbd daemon: DRBD's replicated block device served
// from userspace through ublk.
//
// Until the single-node issue lands it only reports its version.
package main

import (
	"flag"
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Printf("udrbd %s (DRBD API 1, protocol 86-101)\n", version)
		return
	}
	fmt.Fprintln(os.Stderr, "udrbd: the daemon is not implemented yet; only --version works")
	os.Exit(1)
}
