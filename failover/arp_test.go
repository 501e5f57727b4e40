package failover

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestGratuitousARP(t *testing.T) {
	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	ip := netip.MustParseAddr("192.168.10.100")
	req, err := GratuitousARP(ARPRequest, mac, ip)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x00, 0x01, // Ethernet
		0x08, 0x00, // IPv4
		6, 4, // address lengths
		0x00, 0x01, // request
		0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // sender MAC
		192, 168, 10, 100, // sender IP
		0, 0, 0, 0, 0, 0, // target MAC: unknown
		192, 168, 10, 100, // target IP: ourselves
	}
	if !bytes.Equal(req, want) {
		t.Errorf("request\n got % x\nwant % x", req, want)
	}
	rep, err := GratuitousARP(ARPReply, mac, ip)
	if err != nil {
		t.Fatal(err)
	}
	copy(want[6:], []byte{0x00, 0x02})
	copy(want[18:], mac)
	if !bytes.Equal(rep, want) {
		t.Errorf("reply\n got % x\nwant % x", rep, want)
	}
	for _, tt := range []struct {
		op   uint16
		mac  net.HardwareAddr
		ip   string
		want string
	}{
		{ARPRequest, net.HardwareAddr{1, 2, 3}, "10.0.0.1", "not Ethernet"},
		{ARPRequest, mac, "fe80::1", "not an IPv4"},
		{3, mac, "10.0.0.1", "ARP operation"},
	} {
		if _, err := GratuitousARP(tt.op, tt.mac, netip.MustParseAddr(tt.ip)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("GratuitousARP(%d, %v, %s) = %v, want %q", tt.op, tt.mac, tt.ip, err, tt.want)
		}
	}
	if htons(0x0806) != 0x0608 {
		t.Error("htons")
	}
}

func TestMountinfo(t *testing.T) {
	const mi = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
45 22 147:0 / /srv/data rw,relatime shared:30 - ext4 /dev/drbd0 rw
46 22 0:40 / /mnt/with\040blank rw - tmpfs tmpfs rw
`
	for _, tt := range []struct {
		mp   string
		want bool
	}{{"/srv/data", true}, {"/mnt/with blank", true}, {"/srv", false}, {"/", true}, {"/srv/data/x", false}} {
		got, err := mountinfoHas(strings.NewReader(mi), tt.mp)
		if err != nil || got != tt.want {
			t.Errorf("mountinfoHas(%q) = %v, %v; want %v", tt.mp, got, err, tt.want)
		}
	}
}
