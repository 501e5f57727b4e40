package failover

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// OSSystem is the real [System]: programs through os/exec (each in its own
// process group, so a timeout kills what a shell started too), the mount
// table from /proc/self/mountinfo, addresses through rtnetlink and ARP
// through an AF_PACKET socket.
type OSSystem struct{}

func command(ctx context.Context, argv []string) (*exec.Cmd, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("no program")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 2 * time.Second
	return cmd, nil
}

// Run implements System.
func (OSSystem) Run(ctx context.Context, argv ...string) ([]byte, error) {
	cmd, err := command(ctx, argv)
	if err != nil {
		return nil, err
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil && err != nil {
		err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
	}
	return out, err
}

// Stream implements System.
func (OSSystem) Stream(ctx context.Context, argv ...string) (io.Reader, func() error, error) {
	cmd, err := command(ctx, argv)
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	return out, cmd.Wait, nil
}

// Mounted implements System.
func (OSSystem) Mounted(mountpoint string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	return mountinfoHas(f, mountpoint)
}

// mountinfoHas reports whether mountinfo (proc(5) format) lists
// mountpoint; field 5 is the mount point with blanks escaped as \040.
func mountinfoHas(r io.Reader, mountpoint string) (bool, error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) >= 5 && unescapeMount(f[4]) == mountpoint {
			return true, nil
		}
	}
	return false, s.Err()
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func ipNet(p netip.Prefix) *net.IPNet {
	a := p.Addr().AsSlice()
	return &net.IPNet{IP: a, Mask: net.CIDRMask(p.Bits(), len(a)*8)}
}

// AddAddress implements System.
func (OSSystem) AddAddress(iface string, p netip.Prefix) error {
	link, err := netlink.LinkByName(iface)
	if err != nil {
		return fmt.Errorf("interface %s: %w", iface, err)
	}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipNet(p)}); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add %s to %s: %w", p, iface, err)
	}
	return nil
}

// DelAddress implements System.
func (OSSystem) DelAddress(iface string, p netip.Prefix) error {
	link, err := netlink.LinkByName(iface)
	if err != nil {
		return fmt.Errorf("interface %s: %w", iface, err)
	}
	if err := netlink.AddrDel(link, &netlink.Addr{IPNet: ipNet(p)}); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("remove %s from %s: %w", p, iface, err)
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Announce implements System: each round sends an ARP request and an ARP
// reply announcing a, broadcast on iface.
func (OSSystem) Announce(ctx context.Context, iface string, a netip.Addr, count int, interval time.Duration) error {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return fmt.Errorf("interface %s: %w", iface, err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return fmt.Errorf("interface %s has no Ethernet address: no ARP to send", iface)
	}
	req, err := GratuitousARP(ARPRequest, ifi.HardwareAddr, a)
	if err != nil {
		return err
	}
	rep, _ := GratuitousARP(ARPReply, ifi.HardwareAddr, a)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
	if err != nil {
		return fmt.Errorf("AF_PACKET socket: %w", err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrLinklayer{
		Protocol: htons(unix.ETH_P_ARP),
		Ifindex:  ifi.Index,
		Halen:    6,
		Addr:     [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	for i := 0; i < count; i++ {
		if i > 0 {
			t := time.NewTimer(interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return context.Cause(ctx)
			case <-t.C:
			}
		}
		for _, pkt := range [][]byte{req, rep} {
			if err := unix.Sendto(fd, pkt, 0, to); err != nil {
				return fmt.Errorf("send ARP on %s: %w", iface, err)
			}
		}
	}
	return nil
}
