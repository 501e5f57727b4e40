/* shimtest: drives nlshim.so the way a netlink client may (sendto/recvfrom with
 * addresses, sendmsg with a destination, setsockopt joins and leaves) against a running
 * udrbd, and checks what it gets back. Run by scripts/vm/nlshim/test (on the host; the
 * control plane needs no ublk). Exit 0 when every check holds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#define DRBD_ADM_NEW_RESOURCE 7
#define DRBD_ADM_DEL_RESOURCE 8
#define DRBD_RESOURCE_STATE 34
#define DRBD_NLA_CFG_CONTEXT 2
#define T_CTX_RESOURCE_NAME (2 | 0x4000)
#define NO_ERROR 101

static int failed;
#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "FAIL: " __VA_ARGS__); fputc('\n', stderr); failed = 1; } } while (0)

static char buf[65536];
static uint32_t seq = 1;
#define h_of(b) ((struct nlmsghdr *)(b))

static struct nlattr *put_attr(char *p, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)p;

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (data)
		memcpy(p + NLA_HDRLEN, data, len);
	return a;
}

/* drbd_msg builds a drbd request for resource name into b; returns its length. */
static size_t drbd_msg(char *b, uint16_t family, uint8_t cmd, const char *name)
{
	struct nlmsghdr *h = (struct nlmsghdr *)b;
	struct genlmsghdr *g = NLMSG_DATA(h);
	uint32_t *dh = (uint32_t *)(g + 1);
	char *p = (char *)(dh + 2);
	struct nlattr *ctx;
	size_t nl = strlen(name) + 1;

	memset(b, 0, 512);
	g->cmd = cmd;
	g->version = 1;
	dh[0] = (uint32_t)-1; /* minor */
	ctx = put_attr(p, DRBD_NLA_CFG_CONTEXT | NLA_F_NESTED, NULL, 0);
	put_attr(p + NLA_HDRLEN, T_CTX_RESOURCE_NAME, name, nl);
	ctx->nla_len = NLA_HDRLEN + NLA_ALIGN(NLA_HDRLEN + nl);
	h->nlmsg_len = (p - b) + ctx->nla_len;
	h->nlmsg_type = family;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = ++seq;
	return h->nlmsg_len;
}

/* recv_one receives a datagram with recvmsg (every other call) or recvfrom and checks
 * the source address reads as the kernel's. */
static ssize_t recv_one(int fd, int timeout_ms)
{
	static int alt;
	struct sockaddr_nl from;
	socklen_t flen = sizeof(from);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return 0;
	memset(&from, 0xff, sizeof(from));
	if (alt++ & 1) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_name = &from, .msg_namelen = flen, .msg_iov = &iov, .msg_iovlen = 1 };
		n = recvmsg(fd, &m, 0);
		flen = m.msg_namelen;
	} else {
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	}
	CHECK(n > 0, "receive: %s", strerror(errno));
	if (getenv("SHIMTEST_DEBUG") && n > 0)
		fprintf(stderr, "got %zd bytes: type 0x%x flags 0x%x seq %u pid %u cmd %u\n", n, h_of(buf)->nlmsg_type, h_of(buf)->nlmsg_flags, h_of(buf)->nlmsg_seq, h_of(buf)->nlmsg_pid, ((struct genlmsghdr *)NLMSG_DATA(h_of(buf)))->cmd);
	CHECK(flen == sizeof(from) && from.nl_family == AF_NETLINK && from.nl_pid == 0 && from.nl_groups == 0,
	      "source address not the kernel's (len %u family %u pid %u)", flen, from.nl_family, from.nl_pid);
	return n;
}

int main(void)
{
	struct sockaddr_nl local = { .nl_family = AF_NETLINK }, kernel = { .nl_family = AF_NETLINK };
	socklen_t len = sizeof(local);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	uint16_t family = 0;
	uint32_t events = 0, nlctrl_notify = 0x10;
	int fd, got_reply = 0, got_ack = 0, got_event = 0, i;
	ssize_t n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	CHECK(fd >= 0, "socket: %s", strerror(errno));
	if (fd < 0)
		return 1;
	CHECK(bind(fd, (struct sockaddr *)&local, sizeof(local)) == 0, "bind: %s", strerror(errno));
	CHECK(getsockname(fd, (struct sockaddr *)&local, &len) == 0, "getsockname: %s", strerror(errno));
	CHECK(len == sizeof(local) && local.nl_family == AF_NETLINK && local.nl_pid == (uint32_t)getpid(),
	      "getsockname: len %u family %u pid %u (want our pid %d)", len, local.nl_family, local.nl_pid, getpid());

	/* nlctrl GETFAMILY "drbd" with sendto to the kernel's address */
	{
		char req[64] = { 0 };
		struct nlmsghdr *q = (struct nlmsghdr *)req;
		struct genlmsghdr *g = NLMSG_DATA(q);

		g->cmd = CTRL_CMD_GETFAMILY;
		g->version = 1;
		put_attr((char *)(g + 1), CTRL_ATTR_FAMILY_NAME, "drbd", 5);
		q->nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN + NLA_ALIGN(NLA_HDRLEN + 5);
		q->nlmsg_type = GENL_ID_CTRL;
		q->nlmsg_flags = NLM_F_REQUEST;
		q->nlmsg_seq = ++seq;
		n = sendto(fd, req, q->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
		CHECK(n == (ssize_t)q->nlmsg_len, "sendto: %s", strerror(errno));
	}
	n = recv_one(fd, 5000);
	if (n > 0 && h->nlmsg_type == GENL_ID_CTRL) {
		char *p = (char *)NLMSG_DATA(h) + GENL_HDRLEN, *end = buf + h->nlmsg_len;
		while (p + NLA_HDRLEN <= end) {
			struct nlattr *a = (struct nlattr *)p;
			if (a->nla_type == CTRL_ATTR_FAMILY_ID)
				memcpy(&family, p + NLA_HDRLEN, 2);
			if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_MCAST_GROUPS) {
				char *q = p + NLA_HDRLEN, *qe = p + a->nla_len;
				while (q + NLA_HDRLEN <= qe) { /* one nest per group */
					struct nlattr *grp = (struct nlattr *)q;
					char *r = q + NLA_HDRLEN, *re = q + grp->nla_len;
					uint32_t id = 0;
					int is_events = 0;
					while (r + NLA_HDRLEN <= re) {
						struct nlattr *f = (struct nlattr *)r;
						if (f->nla_type == CTRL_ATTR_MCAST_GRP_ID)
							memcpy(&id, r + NLA_HDRLEN, 4);
						if (f->nla_type == CTRL_ATTR_MCAST_GRP_NAME && !strcmp(r + NLA_HDRLEN, "events"))
							is_events = 1;
						r += NLA_ALIGN(f->nla_len);
					}
					if (is_events)
						events = id;
					q += NLA_ALIGN(grp->nla_len);
				}
			}
			p += NLA_ALIGN(a->nla_len);
		}
	}
	CHECK(family != 0, "no drbd family id in the GETFAMILY answer (type %u)", n > 0 ? h->nlmsg_type : 0);
	CHECK(events != 0, "no events multicast group in the GETFAMILY answer");
	printf("drbd family 0x%x, events group 0x%x\n", family, events);

	/* joins: the events group; nlctrl's notify group, which udrbd does not have */
	CHECK(setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &events, sizeof(events)) == 0,
	      "join events: %s", strerror(errno));
	CHECK(setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &nlctrl_notify, sizeof(nlctrl_notify)) == 0,
	      "join nlctrl notify: %s", strerror(errno));

	/* new-resource with sendmsg and a destination address: reply, ACK and the event */
	{
		char req[512];
		size_t l = drbd_msg(req, family, DRBD_ADM_NEW_RESOURCE, "shimtest");
		struct iovec iov = { req, l };
		struct msghdr m = { .msg_name = &kernel, .msg_namelen = sizeof(kernel), .msg_iov = &iov, .msg_iovlen = 1 };
		uint32_t want_seq = ((struct nlmsghdr *)req)->nlmsg_seq;

		CHECK(sendmsg(fd, &m, 0) == (ssize_t)l, "sendmsg: %s", strerror(errno));
		for (i = 0; i < 3; i++) {
			n = recv_one(fd, 5000);
			if (n <= 0)
				break;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				CHECK(e->error == 0 && h->nlmsg_seq == want_seq, "new-resource: error %d seq %u", e->error, h->nlmsg_seq);
				got_ack = 1;
			} else if (h->nlmsg_type == family && h->nlmsg_pid == 0 &&
				   ((struct genlmsghdr *)NLMSG_DATA(h))->cmd == DRBD_RESOURCE_STATE) {
				got_event = 1; /* multicast: port id 0, its own sequence numbers */
			} else if (h->nlmsg_type == family && h->nlmsg_seq == want_seq) {
				uint32_t *dh = (uint32_t *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
				CHECK(dh[1] == NO_ERROR, "new-resource: ret_code %u", dh[1]);
				CHECK(h->nlmsg_pid == local.nl_pid, "reply port id %u, getsockname said %u", h->nlmsg_pid, local.nl_pid);
				got_reply = 1;
			}
		}
		CHECK(got_reply && got_ack && got_event, "new-resource: reply %d ack %d event %d", got_reply, got_ack, got_event);
	}

	/* leave the group: del-resource brings its reply and ACK, but no event */
	CHECK(setsockopt(fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &events, sizeof(events)) == 0,
	      "leave events: %s", strerror(errno));
	{
		char req[512];
		size_t l = drbd_msg(req, family, DRBD_ADM_DEL_RESOURCE, "shimtest");

		CHECK(write(fd, req, l) == (ssize_t)l, "write: %s", strerror(errno));
		got_event = got_ack = 0;
		while ((n = recv_one(fd, 1000)) > 0) {
			if (h->nlmsg_type == NLMSG_ERROR)
				got_ack = 1;
			else if (h->nlmsg_pid == 0)
				got_event = 1;
			if (got_ack)
				break;
		}
		CHECK(got_ack && !got_event, "del-resource after leaving: ack %d event %d", got_ack, got_event);
	}
	CHECK(close(fd) == 0, "close: %s", strerror(errno));
	puts(failed ? "shimtest: FAILED" : "shimtest: ok");
	return failed;
}
