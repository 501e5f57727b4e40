// Package server is the transport and dispatch side of udrbd's control
// socket: it listens on a unix SOCK_SEQPACKET socket, reads nlmsghdr-framed
// netlink messages from each datagram, answers nlctrl CTRL_CMD_GETFAMILY for
// "drbd" as the kernel's genetlink controller does, checks the caller's
// credentials (SO_PEERCRED) the way GENL_ADMIN_PERM does, hands each drbd
// request to a Handler, and frames the replies: unicast reply, NLM_F_ACK /
// NLMSG_ERROR, NLM_F_DUMP multi-part datagrams closed by NLMSG_DONE, and the
// "events" multicast group.
//
// It mirrors the netlink and genetlink core behaviour of Linux
// (net/netlink/af_netlink.c netlink_rcv_skb, netlink_ack, netlink_dump;
// net/netlink/genetlink.c genl_family_rcv_msg, ctrl_fill_info) as facts. It
// knows nothing of DRBD states; docs/control-socket.md describes the wire.
package server
