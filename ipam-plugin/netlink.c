// SPDX-License-Identifier: MIT
/*
 * netlink: rtnetlink dumps with libmnl, after libmnl's examples/rtnl/rtnl-route-dump.c and
 * rtnl-addr-dump.c. Every attribute is validated before use.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "log.h"
#include "netlink.h"

/* Large enough for any single skb the kernel builds for a dump. */
#define NL_BUF_SIZE 65536
/* Retries of a dump that a concurrent change interrupted. */
#define NL_DUMP_TRIES 8 /* with pauses of 1, 2, 4 ... 64 ms: 127 ms at most */

/* Attribute table large enough for IFLA_*, IFA_* and RTA_*. */
#define TB_SIZE 128

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	/* Unknown (newer) attributes are skipped, not rejected. */
	if (type >= TB_SIZE)
		return MNL_CB_OK;
	tb[type] = attr;
	return MNL_CB_OK;
}

int netlink_parse_link(const struct nlmsghdr *nlh, int *index, char *name, size_t len)
{
	const struct nlattr *tb[TB_SIZE] = {0};
	const struct ifinfomsg *ifm;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifm)))
		return -EINVAL;
	ifm = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*ifm), attr_cb, tb) < 0)
		return -EINVAL;
	if (!tb[IFLA_IFNAME] || mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) < 0)
		return -EINVAL;
	*index = ifm->ifi_index;
	snprintf(name, len, "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	return 1;
}

/* Read an address attribute of family into c (prefix max). */
static int get_addr(const struct nlattr *attr, int family, struct cidr *c)
{
	size_t want = family == AF_INET6 ? 16 : 4;

	if (mnl_attr_get_payload_len(attr) != want)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->family = family;
	memcpy(c->addr, mnl_attr_get_payload(attr), want);
	c->prefix = family == AF_INET6 ? 128 : 32;
	return 0;
}

int netlink_parse_addr(const struct nlmsghdr *nlh, struct hostnet *h, int *ifindex)
{
	const struct nlattr *tb[TB_SIZE] = {0};
	const struct ifaddrmsg *ifa;
	const struct nlattr *peer;
	struct cidr local, net;

	if (nlh->nlmsg_type != RTM_NEWADDR || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)))
		return -EINVAL;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	if (mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, tb) < 0)
		return -EINVAL;
	/*
	 * IFA_ADDRESS is the peer on point-to-point links and the prefix applies to it;
	 * IFA_LOCAL is our own address. Without a peer both are the same.
	 */
	peer = tb[IFA_ADDRESS] ? tb[IFA_ADDRESS] : tb[IFA_LOCAL];
	if (!peer || get_addr(peer, ifa->ifa_family, &net) < 0)
		return -EINVAL;
	if (get_addr(tb[IFA_LOCAL] ? tb[IFA_LOCAL] : peer, ifa->ifa_family, &local) < 0)
		return -EINVAL;
	if (ifa->ifa_prefixlen > cidr_max_prefix(&net))
		return -EINVAL;
	net.prefix = ifa->ifa_prefixlen;
	net = cidr_network(&net);
	local.prefix = ifa->ifa_prefixlen;
	if (hostnet_ignored(&net))
		return 0;
	memset(h, 0, sizeof(*h));
	h->kind = HOSTNET_ADDR;
	h->net = net;
	h->addr = local;
	*ifindex = (int)ifa->ifa_index;
	return 1;
}

int netlink_parse_route(const struct nlmsghdr *nlh, struct hostnet *h, int *ifindex)
{
	const struct nlattr *tb[TB_SIZE] = {0};
	const struct rtmsg *rtm;
	struct cidr dst;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rtm)))
		return -EINVAL;
	rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return 0;
	if (rtm->rtm_dst_len == 0 || (rtm->rtm_flags & RTM_F_CLONED))
		return 0;
	switch (rtm->rtm_type) {
	case RTN_LOCAL:
	case RTN_BROADCAST:
	case RTN_ANYCAST:
	case RTN_MULTICAST:
		return 0;
	default:
		break;
	}
	if (mnl_attr_parse(nlh, sizeof(*rtm), attr_cb, tb) < 0)
		return -EINVAL;
	if (!tb[RTA_DST] || get_addr(tb[RTA_DST], rtm->rtm_family, &dst) < 0)
		return -EINVAL;
	if (rtm->rtm_dst_len > cidr_max_prefix(&dst))
		return -EINVAL;
	dst.prefix = rtm->rtm_dst_len;
	dst = cidr_network(&dst);
	if (hostnet_ignored(&dst))
		return 0;
	memset(h, 0, sizeof(*h));
	h->kind = HOSTNET_ROUTE;
	h->net = dst;
	h->table = rtm->rtm_table;
	if (tb[RTA_TABLE] && mnl_attr_validate(tb[RTA_TABLE], MNL_TYPE_U32) == 0)
		h->table = mnl_attr_get_u32(tb[RTA_TABLE]);
	*ifindex = 0;
	if (tb[RTA_OIF] && mnl_attr_validate(tb[RTA_OIF], MNL_TYPE_U32) == 0)
		*ifindex = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_GATEWAY] && get_addr(tb[RTA_GATEWAY], rtm->rtm_family, &h->addr) < 0)
		memset(&h->addr, 0, sizeof(h->addr));
	if (!*ifindex && tb[RTA_MULTIPATH] &&
	    mnl_attr_get_payload_len(tb[RTA_MULTIPATH]) >= sizeof(struct rtnexthop)) {
		const struct rtnexthop *nh = mnl_attr_get_payload(tb[RTA_MULTIPATH]);

		*ifindex = nh->rtnh_ifindex;
	}
	return 1;
}

struct link_name {
	int index;
	char name[HOSTNET_DEV_LEN];
};

struct dump_ctx {
	struct hostnet_list *out;
	struct link_name *links;
	size_t nlinks, caplinks;
	int malformed;
};

static int link_cmp(const void *x, const void *y)
{
	const struct link_name *a = x, *b = y;

	return (a->index > b->index) - (a->index < b->index);
}

static void set_dev(const struct dump_ctx *ctx, int index, char *dev)
{
	struct link_name key = {.index = index}, *l;

	if (!index)
		return;
	l = bsearch(&key, ctx->links, ctx->nlinks, sizeof(*ctx->links), link_cmp);
	if (l)
		snprintf(dev, HOSTNET_DEV_LEN, "%s", l->name);
	else
		snprintf(dev, HOSTNET_DEV_LEN, "if%d", index);
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *ctx = data;
	struct link_name l;

	if (netlink_parse_link(nlh, &l.index, l.name, sizeof(l.name)) < 0) {
		ctx->malformed++;
		return MNL_CB_OK;
	}
	if (ctx->nlinks == ctx->caplinks) {
		size_t cap = ctx->caplinks ? ctx->caplinks * 2 : 32;
		struct link_name *v = reallocarray(ctx->links, cap, sizeof(*v));

		if (!v) {
			errno = ENOMEM;
			return MNL_CB_ERROR;
		}
		ctx->links = v;
		ctx->caplinks = cap;
	}
	ctx->links[ctx->nlinks++] = l;
	return MNL_CB_OK;
}

static int net_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *ctx = data;
	struct hostnet h;
	int index = 0, ret;

	ret = nlh->nlmsg_type == RTM_NEWADDR ? netlink_parse_addr(nlh, &h, &index)
					     : netlink_parse_route(nlh, &h, &index);
	if (ret < 0)
		ctx->malformed++;
	if (ret <= 0)
		return MNL_CB_OK;
	set_dev(ctx, index, h.dev);
	if (hostnet_list_add(ctx->out, &h) < 0) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* One dump request of type for family; runs cb on every reply. Returns 0 or -errno. */
static int dump_one(struct mnl_socket *nl, char *buf, uint16_t type, int family, mnl_cb_t cb,
		    struct dump_ctx *ctx)
{
	unsigned int portid = mnl_socket_get_portid(nl);
	unsigned int seq = (unsigned int)time(NULL) ^ (unsigned int)type;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	ssize_t n;
	int ret;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	if (type == RTM_GETROUTE) {
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

		rtm->rtm_family = (unsigned char)family;
		rtm->rtm_table = RT_TABLE_UNSPEC; /* every table */
	} else if (type == RTM_GETADDR) {
		struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

		ifa->ifa_family = (unsigned char)family;
	} else {
		struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

		ifm->ifi_family = (unsigned char)family;
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, NL_BUF_SIZE);
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, ctx);
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static int dump_all(struct mnl_socket *nl, char *buf, struct dump_ctx *ctx)
{
	static const struct {
		uint16_t type;
		int family;
	} steps[] = {
		{RTM_GETADDR, AF_INET},
		{RTM_GETADDR, AF_INET6},
		{RTM_GETROUTE, AF_INET},
		{RTM_GETROUTE, AF_INET6},
	};
	int ret;

	ret = dump_one(nl, buf, RTM_GETLINK, AF_UNSPEC, link_cb, ctx);
	if (ret < 0)
		return ret;
	qsort(ctx->links, ctx->nlinks, sizeof(*ctx->links), link_cmp);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		ret = dump_one(nl, buf, steps[i].type, steps[i].family, net_cb, ctx);
		/* IPv6 disabled in this namespace: nothing to read. */
		if (ret == -EAFNOSUPPORT || ret == -EOPNOTSUPP)
			ret = 0;
		if (ret < 0)
			return ret;
	}
	return 0;
}

int netlink_read_hostnets(struct hostnet_list *out, char *err, size_t errlen)
{
	size_t start = out->n;
	char *buf = NULL;
	int ret = 0;

	buf = malloc(NL_BUF_SIZE);
	if (!buf) {
		ret = -ENOMEM;
		snprintf(err, errlen, "netlink: out of memory");
		goto out;
	}
	for (int i = 0; i < NL_DUMP_TRIES; i++) {
		struct dump_ctx ctx = {.out = out};
		struct mnl_socket *nl;

		/*
		 * A fresh socket per try: an interrupted dump leaves the rest of its replies
		 * queued, and the next try would read them as its own (a sequence mismatch,
		 * EPROTO, failing the request while Docker is busy adding a bridge).
		 */
		nl = mnl_socket_open(NETLINK_ROUTE);
		if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
			ret = -errno;
			snprintf(err, errlen, "netlink: cannot open a rtnetlink socket: %s",
				 errno_text(-ret));
			if (nl)
				mnl_socket_close(nl);
			goto out;
		}
		out->n = start;
		ret = dump_all(nl, buf, &ctx);
		free(ctx.links);
		mnl_socket_close(nl);
		/*
		 * EINTR from mnl_cb_run: NLM_F_DUMP_INTR, the tables changed mid-dump (Docker
		 * adding a bridge and its routes is a burst of changes): let the burst pass.
		 */
		if (ret != -EINTR)
			break;
		if (i + 1 < NL_DUMP_TRIES) {
			struct timespec pause = {.tv_nsec = (1L << i) * 1000000L};

			nanosleep(&pause, NULL);
		}
	}
	if (ret == -EINTR)
		snprintf(err, errlen,
			 "netlink: the host's addresses and routes kept changing during %d dumps; "
			 "try again",
			 NL_DUMP_TRIES);
	else if (ret < 0)
		snprintf(err, errlen, "netlink: dumping addresses and routes failed: %s",
			 errno_text(-ret));
out:
	free(buf);
	return ret;
}

/* Messages drained per read before giving up and re-dumping anyway. */
#define NL_DRAIN_MAX 100000

struct netlink_view {
	pthread_mutex_t lock;
	struct mnl_socket *mon;
	struct hostnet_list cache; /* guarded by lock */
	bool valid;
	unsigned long dumps;
};

struct netlink_view *netlink_view_open(char *err, size_t errlen)
{
	struct netlink_view *v = calloc(1, sizeof(*v));
	unsigned int groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			      RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	int ret;

	if (!v) {
		snprintf(err, errlen, "netlink: out of memory");
		return NULL;
	}
	pthread_mutex_init(&v->lock, NULL);
	v->mon = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!v->mon || mnl_socket_bind(v->mon, groups, MNL_SOCKET_AUTOPID) < 0) {
		ret = errno;
		snprintf(err, errlen, "netlink: cannot subscribe to route changes: %s",
			 errno_text(ret));
		netlink_view_close(v);
		return NULL;
	}
	return v;
}

/* Empty the notification queue. True if anything changed (or may have). */
static bool drain(struct netlink_view *v)
{
	char buf[8192];
	bool changed = false;

	for (int i = 0; i < NL_DRAIN_MAX; i++) {
		/* The content does not matter, only that the kernel said something. */
		ssize_t n = recv(mnl_socket_get_fd(v->mon), buf, sizeof(buf), MSG_DONTWAIT);

		if (n >= 0 || errno == ENOBUFS) {
			changed = true;
			continue;
		}
		if (errno == EINTR)
			continue;
		return changed || errno != EAGAIN;
	}
	return true;
}

int netlink_view_read(struct netlink_view *v, struct hostnet_list *out, char *err, size_t errlen)
{
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	/* Drain first: a change during the dump below stays queued for the next read. */
	if (drain(v) || !v->valid) {
		struct hostnet_list fresh = {0};

		ret = netlink_read_hostnets(&fresh, err, errlen);
		if (ret < 0) {
			v->valid = false;
			hostnet_list_fini(&fresh);
			goto out;
		}
		hostnet_list_fini(&v->cache);
		v->cache = fresh;
		v->valid = true;
		v->dumps++;
	}
	for (size_t i = 0; i < v->cache.n; i++) {
		ret = hostnet_list_add(out, &v->cache.v[i]);
		if (ret < 0) {
			snprintf(err, errlen, "netlink: out of memory");
			goto out;
		}
	}
out:
	pthread_mutex_unlock(&v->lock);
	return ret;
}

unsigned long netlink_view_dumps(struct netlink_view *v)
{
	unsigned long n;

	pthread_mutex_lock(&v->lock);
	n = v->dumps;
	pthread_mutex_unlock(&v->lock);
	return n;
}

void netlink_view_close(struct netlink_view *v)
{
	if (!v)
		return;
	if (v->mon)
		mnl_socket_close(v->mon);
	hostnet_list_fini(&v->cache);
	pthread_mutex_destroy(&v->lock);
	free(v);
}
