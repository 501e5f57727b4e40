// Command runas runs a command as uid/gid 65534 (nobody) with no supplementary
// groups; the golden capture uses it in the test VM, whose busybox has no su.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: runas CMD [ARG...]")
		os.Exit(2)
	}
	path, err := exec.LookPath(os.Args[1])
	if err == nil {
		err = syscall.Setgroups(nil)
	}
	if err == nil {
		err = syscall.Setgid(65534)
	}
	if err == nil {
		err = syscall.Setuid(65534)
	}
	if err == nil {
		err = syscall.Exec(path, os.Args[1:], os.Environ())
	}
	fmt.Fprintln(os.Stderr, "runas:", err)
	os.Exit(127)
}
