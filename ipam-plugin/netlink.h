/* SPDX-License-Identifier: MIT */
/*
 * netlink: the host's networks as the kernel sees them right now, through rtnetlink
 * (libmnl): interface addresses (RTM_GETADDR) and routes of every routing table
 * (RTM_GETROUTE with rtm_table unspecified; the table comes from RTA_TABLE), IPv4 and
 * IPv6, with interface names from an RTM_GETLINK dump.
 *
 * What counts (hostnet_ignored drops the rest): each address's subnet (a /32 address is a
 * /32), and every route except the default route, local/broadcast/anycast/multicast
 * entries (the local table's view of the addresses themselves) and kernel-cloned
 * entries. Parsing is separate from the socket work so tests feed built messages.
 */
#ifndef IPAM_NETLINK_H
#define IPAM_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "hostnet.h"

/*
 * Parse an RTM_NEWLINK message. Returns 1 with *index and name set, or -EINVAL if it is
 * malformed or not a link message.
 */
int netlink_parse_link(const struct nlmsghdr *nlh, int *index, char *name, size_t len);

/*
 * Parse an RTM_NEWADDR message into h (dev left empty; the interface index goes to
 * *ifindex). Returns 1 when h counts, 0 when it is ignored (e.g. link-local, loopback),
 * -EINVAL when malformed.
 */
int netlink_parse_addr(const struct nlmsghdr *nlh, struct hostnet *h, int *ifindex);

/*
 * Parse an RTM_NEWROUTE message into h (dev left empty; the output interface goes to
 * *ifindex, 0 if none). Returns 1 when the route counts, 0 when it is ignored, -EINVAL
 * when malformed.
 */
int netlink_parse_route(const struct nlmsghdr *nlh, struct hostnet *h, int *ifindex);

/*
 * Dump the current addresses and routes of this network namespace into out (appended).
 * A dump interrupted by a concurrent change (NLM_F_DUMP_INTR) is repeated. Returns 0 or
 * -errno with a message in err. Thread-safe: each call uses its own socket.
 */
int netlink_read_hostnets(struct hostnet_list *out, char *err, size_t errlen);

/*
 * A cached view that is exactly as current as a fresh dump, for the serving process. A
 * socket subscribed to rtnetlink's link, address and route groups is drained at every
 * read: the kernel queues a change notification before the `ip route add` (or any other
 * change) returns, so a pending message (or an overflow, ENOBUFS) means "re-dump", and
 * an empty queue means the cached dump is still the kernel's state. Thread-safe.
 */
struct netlink_view;

/* Subscribe. Returns the view (free with netlink_view_close) or NULL with a message. */
struct netlink_view *netlink_view_open(char *err, size_t errlen);
/* Append the current host networks to out, re-dumping if anything changed. 0 or -errno. */
int netlink_view_read(struct netlink_view *v, struct hostnet_list *out, char *err, size_t errlen);
/* Number of full dumps done so far (for logs and tests). */
unsigned long netlink_view_dumps(struct netlink_view *v);
/* NULL-safe. */
void netlink_view_close(struct netlink_view *v);

#endif
