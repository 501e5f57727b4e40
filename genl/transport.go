package genl

import "os"

// udrbd's control socket carries, in each SOCK_SEQPACKET datagram, what a
// netlink socket carries (see docs/control-socket.md). These are the few
// things that are udrbd's own rather than the kernel's.

const (
	// DefaultSocket is where the daemon listens unless told otherwise.
	DefaultSocket = "/run/udrbd/control.sock"
	// SocketEnv names the environment variable that overrides DefaultSocket
	// for daemon and CLI alike; a --socket flag overrides both.
	SocketEnv = "UDRBD_SOCKET"

	// FamilyID is the nlmsg_type udrbd gives the drbd family. The kernel
	// assigns family ids dynamically; clients resolve it through nlctrl.
	FamilyID = 0x1c
	// EventsGroupID is the id udrbd gives the "events" multicast group
	// (also resolved through nlctrl, CTRL_ATTR_MCAST_GROUPS).
	EventsGroupID = 0x0b

	// MsgJoinGroup and MsgLeaveGroup stand in for setsockopt(SOL_NETLINK,
	// NETLINK_ADD_MEMBERSHIP / NETLINK_DROP_MEMBERSHIP), which a unix socket
	// cannot carry: an nlmsghdr of this type with a 4-byte host-order group
	// id as payload. They sit in the range below NLMSG_MIN_TYPE (0x10) that
	// netlink reserves for control messages and never uses above 4.
	MsgJoinGroup  = 0x0e
	MsgLeaveGroup = 0x0f
)

// SocketPath picks the control socket: the --socket flag value if given,
// else $UDRBD_SOCKET if set, else DefaultSocket.
func SocketPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv(SocketEnv); v != "" {
		return v
	}
	return DefaultSocket
}
