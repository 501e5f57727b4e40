package failover

import (
	"context"
	"io"
	"net/netip"
	"time"
)

// System is everything the agent does to the machine: run programs, read
// the mount table, manage the floating address. [OSSystem] is the real one;
// tests drive the agent with a fake.
type System interface {
	// Run runs argv to completion (killing it, and what it started, when
	// ctx ends) and returns its combined output.
	Run(ctx context.Context, argv ...string) ([]byte, error)
	// Stream starts argv and returns its standard output; wait reaps it.
	// The program is killed when ctx ends.
	Stream(ctx context.Context, argv ...string) (stdout io.Reader, wait func() error, err error)
	// Mounted tells whether something is mounted on mountpoint.
	Mounted(mountpoint string) (bool, error)
	// AddAddress adds p to the interface (an address already there is
	// not an error).
	AddAddress(iface string, p netip.Prefix) error
	// DelAddress removes p from the interface (an address already gone is
	// not an error).
	DelAddress(iface string, p netip.Prefix) error
	// Announce sends count gratuitous ARP rounds for a, interval apart.
	Announce(ctx context.Context, iface string, a netip.Addr, count int, interval time.Duration) error
}
