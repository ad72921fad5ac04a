// SPDX-License-Identifier: MIT
/*
 * Unit tests for ipam-plugin/netlink.c parsing and hostnet.c: rtnetlink messages are built
 * here with libmnl (as iproute2's testsuite/tools/generate_nlmsg.c does) and fed to the
 * parse functions; no socket is opened.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <check.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "netlink.h"
#include "resolvconf.h"
#include "testlib.h"

static char buf[8192] __attribute__((aligned(8)));

static void put_addr(struct nlmsghdr *nlh, uint16_t type, int family, const char *text)
{
	unsigned char a[16];

	ck_assert_int_eq(inet_pton(family, text, a), 1);
	mnl_attr_put(nlh, type, family == AF_INET6 ? 16 : 4, a);
}

struct rt {
	int family;
	const char *dst; /* NULL: no RTA_DST */
	unsigned char dst_len, type, table;
	uint32_t table_attr, oif;
	const char *gw;
	unsigned int flags;
	int multipath_if;
};

static struct nlmsghdr *route_msg(const struct rt *r)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	nlh->nlmsg_type = RTM_NEWROUTE;
	rtm->rtm_family = (unsigned char)r->family;
	rtm->rtm_dst_len = r->dst_len;
	rtm->rtm_type = r->type ? r->type : RTN_UNICAST;
	rtm->rtm_table = r->table ? r->table : RT_TABLE_MAIN;
	rtm->rtm_flags = r->flags;
	if (r->dst)
		put_addr(nlh, RTA_DST, r->family, r->dst);
	if (r->table_attr)
		mnl_attr_put_u32(nlh, RTA_TABLE, r->table_attr);
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, r->oif);
	if (r->gw)
		put_addr(nlh, RTA_GATEWAY, r->family, r->gw);
	if (r->multipath_if) {
		struct rtnexthop nh = {.rtnh_len = sizeof(nh), .rtnh_ifindex = r->multipath_if};

		mnl_attr_put(nlh, RTA_MULTIPATH, sizeof(nh), &nh);
	}
	return nlh;
}

static const struct {
	struct rt r;
	int ret;
	const char *desc; /* hostnet_describe after naming the device "d<ifindex>" */
	int ifindex;
} routes[] = {
	{{AF_INET, "10.1.0.0", 16, 0, 0, 0, 3, "198.18.0.1", 0, 0},
	 1,
	 "route 10.1.0.0/16 via 198.18.0.1 dev d3 table main",
	 3},
	{{AF_INET, "10.1.2.3", 24, 0, RT_TABLE_COMPAT, 1000, 4, NULL, 0, 0},
	 1,
	 "route 10.1.2.0/24 dev d4 table 1000",
	 4},
	{{AF_INET, "10.7.0.0", 16, RTN_UNREACHABLE, 0, 0, 0, NULL, 0, 0},
	 1,
	 "route 10.7.0.0/16 table main",
	 0},
	{{AF_INET, "10.8.0.0", 16, 0, 0, 0, 0, "198.18.0.9", 0, 6},
	 1,
	 "route 10.8.0.0/16 via 198.18.0.9 dev d6 table main",
	 6},
	{{AF_INET6, "fd00:1::", 64, 0, 0, 0, 2, NULL, 0, 0},
	 1,
	 "route fd00:1::/64 dev d2 table main",
	 2},
	{{AF_INET, NULL, 0, 0, 0, 0, 2, "198.18.0.1", 0, 0}, 0, NULL, 0}, /* default */
	{{AF_INET6, NULL, 0, 0, 0, 0, 2, "fe80::1", 0, 0}, 0, NULL, 0},	  /* default */
	{{AF_INET, "10.0.0.5", 32, RTN_LOCAL, RT_TABLE_LOCAL, 0, 2, NULL, 0, 0}, 0, NULL, 0},
	{{AF_INET, "10.0.0.255", 32, RTN_BROADCAST, RT_TABLE_LOCAL, 0, 2, NULL, 0, 0}, 0, NULL, 0},
	{{AF_INET6, "fd00::", 128, RTN_ANYCAST, RT_TABLE_LOCAL, 0, 2, NULL, 0, 0}, 0, NULL, 0},
	{{AF_INET6, "ff00::", 8, RTN_MULTICAST, RT_TABLE_LOCAL, 0, 2, NULL, 0, 0}, 0, NULL, 0},
	{{AF_INET6, "ff00::", 8, RTN_UNICAST, 0, 0, 2, NULL, 0, 0}, 0, NULL, 0},
	{{AF_INET6, "fe80::", 64, 0, 0, 0, 2, NULL, 0, 0}, 0, NULL, 0},
	{{AF_INET6, "::1", 128, 0, 0, 0, 1, NULL, 0, 0}, 0, NULL, 0},
	{{AF_INET, "127.0.0.0", 8, 0, 0, 0, 1, NULL, 0, 0}, 0, NULL, 0},
	{{AF_INET, "224.0.0.0", 4, 0, 0, 0, 1, NULL, 0, 0}, 0, NULL, 0},
	{{AF_INET, "10.9.0.0", 16, 0, 0, 0, 1, NULL, RTM_F_CLONED, 0}, 0, NULL, 0},
	{{AF_INET, "10.9.0.0", 33, 0, 0, 0, 1, NULL, 0, 0}, -EINVAL, NULL, 0},
	{{AF_INET, NULL, 24, 0, 0, 0, 1, NULL, 0, 0}, -EINVAL, NULL, 0},
	{{AF_INET, "fd00::", 24, 0, 0, 0, 1, NULL, 0, 0}, -EINVAL, NULL, 0}, /* 16-byte v4 dst */
	{{AF_MPLS, NULL, 20, 0, 0, 0, 1, NULL, 0, 0}, 0, NULL, 0},
};

START_TEST(test_route)
{
	struct nlmsghdr *nlh;
	struct hostnet h;
	char d[160];
	int ifindex = -1, ret;

	if (routes[_i].r.family == AF_INET && routes[_i].r.dst && strchr(routes[_i].r.dst, ':')) {
		/* A 16-byte address in an IPv4 route: build it by hand. */
		unsigned char a[16] = {0xfd};
		struct rtmsg *rtm;

		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_NEWROUTE;
		rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = AF_INET;
		rtm->rtm_dst_len = 24;
		rtm->rtm_type = RTN_UNICAST;
		mnl_attr_put(nlh, RTA_DST, sizeof(a), a);
	} else {
		nlh = route_msg(&routes[_i].r);
	}
	ret = netlink_parse_route(nlh, &h, &ifindex);
	ck_assert_int_eq(ret, routes[_i].ret);
	if (ret != 1)
		return;
	ck_assert_int_eq(ifindex, routes[_i].ifindex);
	if (ifindex)
		snprintf(h.dev, sizeof(h.dev), "d%d", ifindex);
	ck_assert_str_eq(hostnet_describe(&h, d, sizeof(d)), routes[_i].desc);
}
END_TEST

START_TEST(test_route_truncated)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct hostnet h;
	int ifindex;

	nlh->nlmsg_type = RTM_NEWROUTE;
	ck_assert_int_eq(netlink_parse_route(nlh, &h, &ifindex), -EINVAL);
	nlh->nlmsg_type = RTM_NEWADDR;
	ck_assert_int_eq(netlink_parse_route(nlh, &h, &ifindex), -EINVAL);
	ck_assert_int_eq(netlink_parse_addr(nlh, &h, &ifindex), -EINVAL);
}
END_TEST

struct ad {
	int family;
	const char *address, *local; /* NULL: attribute absent */
	unsigned char prefix;
	int index;
};

static struct nlmsghdr *addr_msg(const struct ad *a)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	nlh->nlmsg_type = RTM_NEWADDR;
	ifa->ifa_family = (unsigned char)a->family;
	ifa->ifa_prefixlen = a->prefix;
	ifa->ifa_index = (unsigned int)a->index;
	if (a->address)
		put_addr(nlh, IFA_ADDRESS, a->family, a->address);
	if (a->local)
		put_addr(nlh, IFA_LOCAL, a->family, a->local);
	return nlh;
}

static const struct {
	struct ad a;
	int ret;
	const char *net, *desc;
} addrs[] = {
	{{AF_INET, "10.0.0.5", "10.0.0.5", 24, 7}, 1, "10.0.0.0/24", "interface d7 10.0.0.5/24"},
	{{AF_INET, NULL, "10.0.3.5", 32, 7}, 1, "10.0.3.5/32", "interface d7 10.0.3.5/32"},
	/* point-to-point: the prefix applies to the peer (IFA_ADDRESS) */
	{{AF_INET, "10.9.0.2", "10.9.0.1", 32, 8}, 1, "10.9.0.2/32", "interface d8 10.9.0.1/32"},
	{{AF_INET6, "fd00:5::2", NULL, 64, 9}, 1, "fd00:5::/64", "interface d9 fd00:5::2/64"},
	{{AF_INET6, "fe80::1", NULL, 64, 9}, 0, NULL, NULL},
	{{AF_INET6, "::1", NULL, 128, 1}, 0, NULL, NULL},
	{{AF_INET, "127.0.0.1", "127.0.0.1", 8, 1}, 0, NULL, NULL},
	{{AF_INET, NULL, NULL, 24, 1}, -EINVAL, NULL, NULL},
	{{AF_INET, "10.0.0.1", NULL, 33, 1}, -EINVAL, NULL, NULL},
	{{AF_PACKET, NULL, NULL, 0, 1}, 0, NULL, NULL},
};

START_TEST(test_addr)
{
	struct hostnet h;
	char d[160], n[CIDR_STRLEN];
	int ifindex = -1, ret;

	ret = netlink_parse_addr(addr_msg(&addrs[_i].a), &h, &ifindex);
	ck_assert_int_eq(ret, addrs[_i].ret);
	if (ret != 1)
		return;
	ck_assert_int_eq(ifindex, addrs[_i].a.index);
	snprintf(h.dev, sizeof(h.dev), "d%d", ifindex);
	ck_assert_int_eq(h.kind, HOSTNET_ADDR);
	ck_assert_str_eq(cidr_format(&h.net, n, sizeof(n)), addrs[_i].net);
	ck_assert_str_eq(hostnet_describe(&h, d, sizeof(d)), addrs[_i].desc);
}
END_TEST

START_TEST(test_link)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	char name[16];
	int index;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifm->ifi_index = 42;
	ck_assert_int_eq(netlink_parse_link(nlh, &index, name, sizeof(name)), -EINVAL);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "veth-ipam0");
	ck_assert_int_eq(netlink_parse_link(nlh, &index, name, sizeof(name)), 1);
	ck_assert_int_eq(index, 42);
	ck_assert_str_eq(name, "veth-ipam0");
	nlh->nlmsg_type = RTM_NEWROUTE;
	ck_assert_int_eq(netlink_parse_link(nlh, &index, name, sizeof(name)), -EINVAL);
}
END_TEST

START_TEST(test_hostnet)
{
	struct hostnet h = {.kind = HOSTNET_ROUTE, .table = 255};
	struct hostnet_list l = {0};
	char err[128], d[200];

	ck_assert_int_eq(cidr_parse("10.0.0.0/8", 0, &h.net, err, sizeof(err)), 0);
	snprintf(h.node, sizeof(h.node), "n2");
	ck_assert_str_eq(hostnet_describe(&h, d, sizeof(d)),
			 "route 10.0.0.0/8 table local on node n2");
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(hostnet_list_add(&l, &h), 0);
	ck_assert_uint_eq(l.n, 1000);
	hostnet_list_fini(&l);
	hostnet_list_fini(&l);
	hostnet_list_fini(NULL);
	ck_assert_str_eq(hostnet_table_name(253, d, sizeof(d)), "default");
	ck_assert_str_eq(hostnet_table_name(7, d, sizeof(d)), "7");
}
END_TEST

START_TEST(test_resolvconf)
{
	struct hostnet_list l = {0};
	char d[160];
	const char *text = "# generated\nsearch example.org\nnameserver 10.255.255.53\n"
			   "nameserver 127.0.0.53\n  nameserver   fd00:53::1\nnameserver bogus\n"
			   "nameserver fe80::1%eth0\noptions edns0\nnameserver 198.18.0.53";

	ck_assert_int_eq(resolvconf_parse(text, &l), 3);
	ck_assert_str_eq(hostnet_describe(&l.v[0], d, sizeof(d)),
			 "nameserver 10.255.255.53 (resolv.conf)");
	ck_assert_str_eq(hostnet_describe(&l.v[1], d, sizeof(d)),
			 "nameserver fd00:53::1 (resolv.conf)");
	ck_assert_uint_eq(l.v[1].net.prefix, 128);
	ck_assert_str_eq(hostnet_describe(&l.v[2], d, sizeof(d)),
			 "nameserver 198.18.0.53 (resolv.conf)");
	ck_assert_int_eq(resolvconf_parse("", &l), 0);
	ck_assert_int_eq(resolvconf_parse("nameserver", &l), 0);
	hostnet_list_fini(&l);
}
END_TEST

int main(void)
{
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_route, 0, sizeof(routes) / sizeof(routes[0]));
	tcase_add_test(tc, test_route_truncated);
	tcase_add_loop_test(tc, test_addr, 0, sizeof(addrs) / sizeof(addrs[0]));
	tcase_add_test(tc, test_link);
	tcase_add_test(tc, test_hostnet);
	tcase_add_test(tc, test_resolvconf);
	return tl_run_tcase("netlink", tc);
}
