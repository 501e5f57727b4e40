package failover

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// ARP operations.
const (
	ARPRequest = 1
	ARPReply   = 2
)

// GratuitousARP returns the 28-byte ARP payload (RFC 826, Ethernet and
// IPv4) that announces ip at mac: sender and target protocol address are
// both ip. A request (RFC 5227's announcement) has an all-zero target
// hardware address; a reply names mac as the target too. The Ethernet
// header is left to the AF_PACKET SOCK_DGRAM socket.
func GratuitousARP(op uint16, mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("hardware address %v is not Ethernet", mac)
	}
	if !ip.Is4() {
		return nil, fmt.Errorf("%v is not an IPv4 address", ip)
	}
	if op != ARPRequest && op != ARPReply {
		return nil, fmt.Errorf("ARP operation %d", op)
	}
	b := make([]byte, 28)
	binary.BigEndian.PutUint16(b[0:], 1)      // hardware type Ethernet
	binary.BigEndian.PutUint16(b[2:], 0x0800) // protocol type IPv4
	b[4], b[5] = 6, 4                         // address lengths
	binary.BigEndian.PutUint16(b[6:], op)
	a := ip.As4()
	copy(b[8:], mac)
	copy(b[14:], a[:])
	if op == ARPReply {
		copy(b[18:], mac)
	}
	copy(b[24:], a[:])
	return b, nil
}
