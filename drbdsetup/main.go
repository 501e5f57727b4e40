// Command drbdsetup is udrbd's drbdsetup-84 compatible command line tool.
//
// Until the CLI issue lands it only reports its version.
package main

import (
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "-V") {
		fmt.Printf("drbdsetup (udrbd) %s\n", version)
		return
	}
	fmt.Fprintln(os.Stderr, "drbdsetup: not implemented yet; only --version works")
	os.Exit(20)
}
