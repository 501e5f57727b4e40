/* nlshim: an LD_PRELOAD library that lets an unmodified netlink client (drbd-utils'
 * drbdsetup-84) talk to udrbd's control socket instead of the kernel.
 *
 * socket(AF_NETLINK, *, NETLINK_GENERIC) returns a unix SOCK_SEQPACKET socket connected
 * to $UDRBD_SOCKET (default /run/udrbd/control.sock); one datagram there is one netlink
 * datagram (docs/control-socket.md). The calls a netlink client makes on it are adapted:
 *   bind                 accepted, nothing to do (the server assigns the port id)
 *   getsockname          a sockaddr_nl whose nl_pid is our pid (the server's port id
 *                        for a process's first connection; a second socket in the same
 *                        process gets another id from udrbd, which this does not know)
 *   setsockopt SOL_NETLINK NETLINK_ADD/DROP_MEMBERSHIP
 *                        udrbd's join/leave message (nlmsg_type 0x0e/0x0f, u32 group)
 *                        with NLM_F_ACK, waiting for the ACK; a group udrbd does not
 *                        have (nlctrl's notify group) is accepted without effect, as
 *                        nothing is ever sent to it
 *   sendmsg/sendto       the destination address is dropped (the socket is connected)
 *   recvmsg/recvfrom     the source address reads as the kernel's (AF_NETLINK, pid 0)
 *   poll                 datagrams read while waiting for a join's ACK count as readable
 * Everything else (write, read, close, SO_SNDBUF, ...) goes to the unix socket as is.
 *
 * Build: gcc -O2 -Wall -shared -fPIC -o nlshim.so nlshim.c
 * Use:   LD_PRELOAD=/path/nlshim.so UDRBD_SOCKET=/path/control.sock drbdsetup-84 ...
 * NLSHIM_DEBUG=1 traces what it does on stderr.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/netlink.h>

#define MSG_JOIN_GROUP 0x0e
#define MSG_LEAVE_GROUP 0x0f
#define MAX_FD 1024
#define MAX_STASH 16

struct stashed {
	size_t len;
	char *buf;
};

static unsigned char shimmed[MAX_FD];
static struct stashed stash[MAX_FD][MAX_STASH];
static int nstash[MAX_FD];
static uint32_t join_seq = 0x75647200;

#define REAL(name) real_##name
#define DECL_REAL(ret, name, ...) \
	static ret (*real_##name)(__VA_ARGS__); \
	static void load_##name(void) { if (!real_##name) real_##name = dlsym(RTLD_NEXT, #name); }

DECL_REAL(int, socket, int, int, int)
DECL_REAL(int, bind, int, const struct sockaddr *, socklen_t)
DECL_REAL(int, getsockname, int, struct sockaddr *, socklen_t *)
DECL_REAL(int, setsockopt, int, int, int, const void *, socklen_t)
DECL_REAL(ssize_t, sendmsg, int, const struct msghdr *, int)
DECL_REAL(ssize_t, sendto, int, const void *, size_t, int, const struct sockaddr *, socklen_t)
DECL_REAL(ssize_t, recvmsg, int, struct msghdr *, int)
DECL_REAL(ssize_t, recvfrom, int, void *, size_t, int, struct sockaddr *, socklen_t *)
DECL_REAL(int, poll, struct pollfd *, nfds_t, int)
DECL_REAL(int, close, int)

static void dbg(const char *fmt, ...)
{
	static int on = -1;
	va_list ap;

	if (on < 0)
		on = getenv("NLSHIM_DEBUG") != NULL;
	if (!on)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "nlshim: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int is_shim(int fd)
{
	return fd >= 0 && fd < MAX_FD && shimmed[fd];
}

static void fill_nl_addr(void *name, socklen_t *namelen)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };

	if (!name || !namelen)
		return;
	memcpy(name, &nl, *namelen < sizeof(nl) ? *namelen : sizeof(nl));
	*namelen = sizeof(nl);
}

int socket(int domain, int type, int protocol)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path;
	int fd;

	load_socket();
	if (domain != AF_NETLINK || protocol != NETLINK_GENERIC)
		return REAL(socket)(domain, type, protocol);
	path = getenv("UDRBD_SOCKET");
	if (!path || !*path)
		path = "/run/udrbd/control.sock";
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = REAL(socket)(AF_UNIX, SOCK_SEQPACKET | (type & (SOCK_CLOEXEC | SOCK_NONBLOCK)), 0);
	if (fd < 0)
		return fd;
	if (fd >= MAX_FD || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = fd >= MAX_FD ? EMFILE : errno;
		load_close();
		REAL(close)(fd);
		errno = e;
		return -1;
	}
	shimmed[fd] = 1;
	dbg("socket(AF_NETLINK, NETLINK_GENERIC) = %d -> %s", fd, path);
	return fd;
}

int close(int fd)
{
	load_close();
	if (is_shim(fd)) {
		shimmed[fd] = 0;
		while (nstash[fd] > 0)
			free(stash[fd][--nstash[fd]].buf);
	}
	return REAL(close)(fd);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	load_bind();
	if (!is_shim(fd))
		return REAL(bind)(fd, addr, len);
	return 0;
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };

	load_getsockname();
	if (!is_shim(fd))
		return REAL(getsockname)(fd, addr, len);
	nl.nl_pid = getpid();
	memcpy(addr, &nl, *len < sizeof(nl) ? *len : sizeof(nl));
	*len = sizeof(nl);
	return 0;
}

/* join_or_leave sends udrbd's group message and waits for its answer. */
static int join_or_leave(int fd, uint16_t type, uint32_t group)
{
	struct {
		struct nlmsghdr h;
		uint32_t group;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = type,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = ++join_seq },
		.group = group,
	};
	char buf[65536];

	if (write(fd, &req, sizeof(req)) != sizeof(req))
		return -1;
	load_recvmsg();
	for (;;) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = REAL(recvmsg)(fd, &m, 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if ((size_t)n >= sizeof(*h) + sizeof(struct nlmsgerr) &&
		    h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == req.h.nlmsg_seq) {
			struct nlmsgerr *e = NLMSG_DATA(h);

			dbg("group 0x%x %s: error %d", group,
			    type == MSG_JOIN_GROUP ? "join" : "leave", e->error);
			if (e->error == -EINVAL)
				return 0; /* a group udrbd does not have: never gets a message */
			if (e->error) {
				errno = -e->error;
				return -1;
			}
			return 0;
		}
		/* an event that came before the ACK: keep it for the next receive */
		if (nstash[fd] < MAX_STASH) {
			char *c = malloc(n);
			if (c) {
				memcpy(c, buf, n);
				stash[fd][nstash[fd]].buf = c;
				stash[fd][nstash[fd]].len = n;
				nstash[fd]++;
			}
		}
	}
}

int setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
	load_setsockopt();
	if (!is_shim(fd) || level != SOL_NETLINK)
		return REAL(setsockopt)(fd, level, opt, val, len);
	if ((opt == NETLINK_ADD_MEMBERSHIP || opt == NETLINK_DROP_MEMBERSHIP) &&
	    len >= sizeof(uint32_t)) {
		uint32_t g;

		memcpy(&g, val, sizeof(g));
		return join_or_leave(fd, opt == NETLINK_ADD_MEMBERSHIP ? MSG_JOIN_GROUP : MSG_LEAVE_GROUP, g);
	}
	dbg("setsockopt(SOL_NETLINK, %d) ignored", opt);
	return 0;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct msghdr m;

	load_sendmsg();
	if (!is_shim(fd))
		return REAL(sendmsg)(fd, msg, flags);
	m = *msg;
	m.msg_name = NULL;
	m.msg_namelen = 0;
	return REAL(sendmsg)(fd, &m, flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *a, socklen_t alen)
{
	load_sendto();
	if (!is_shim(fd))
		return REAL(sendto)(fd, buf, len, flags, a, alen);
	return REAL(sendto)(fd, buf, len, flags, NULL, 0);
}

/* from_stash delivers the oldest stashed datagram as recvmsg would. */
static ssize_t from_stash(int fd, struct msghdr *msg, int flags)
{
	struct stashed *s = &stash[fd][0];
	size_t off = 0, i;

	for (i = 0; i < msg->msg_iovlen && off < s->len; i++) {
		size_t c = msg->msg_iov[i].iov_len;
		if (c > s->len - off)
			c = s->len - off;
		memcpy(msg->msg_iov[i].iov_base, s->buf + off, c);
		off += c;
	}
	msg->msg_flags = off < s->len ? MSG_TRUNC : 0;
	msg->msg_controllen = 0;
	fill_nl_addr(msg->msg_name, &msg->msg_namelen);
	off = (flags & MSG_TRUNC) ? s->len : off;
	if (!(flags & MSG_PEEK)) {
		free(s->buf);
		memmove(&stash[fd][0], &stash[fd][1], (nstash[fd] - 1) * sizeof(*s));
		nstash[fd]--;
	}
	return off;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	void *name;
	socklen_t namelen;
	ssize_t n;

	load_recvmsg();
	if (!is_shim(fd))
		return REAL(recvmsg)(fd, msg, flags);
	if (nstash[fd])
		return from_stash(fd, msg, flags);
	name = msg->msg_name;
	namelen = msg->msg_namelen;
	msg->msg_name = NULL;
	msg->msg_namelen = 0;
	n = REAL(recvmsg)(fd, msg, flags);
	msg->msg_name = name;
	msg->msg_namelen = namelen;
	if (n >= 0)
		fill_nl_addr(msg->msg_name, &msg->msg_namelen);
	return n;
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *a, socklen_t *alen)
{
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_name = a, .msg_namelen = alen ? *alen : 0, .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	load_recvfrom();
	if (!is_shim(fd))
		return REAL(recvfrom)(fd, buf, len, flags, a, alen);
	n = recvmsg(fd, &m, flags);
	if (n >= 0 && alen)
		*alen = m.msg_namelen;
	return n;
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	nfds_t i;
	int ready = 0;

	load_poll();
	for (i = 0; i < nfds; i++)
		if (is_shim(fds[i].fd) && nstash[fds[i].fd] && (fds[i].events & POLLIN))
			ready = 1;
	if (!ready)
		return REAL(poll)(fds, nfds, timeout);
	ready = 0;
	for (i = 0; i < nfds; i++) {
		fds[i].revents = 0;
		if (is_shim(fds[i].fd) && nstash[fds[i].fd] && (fds[i].events & POLLIN)) {
			fds[i].revents = POLLIN;
			ready++;
		}
	}
	return ready;
}
