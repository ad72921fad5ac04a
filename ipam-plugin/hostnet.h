/* SPDX-License-Identifier: MIT */
/*
 * hostnet: the networks a host uses (interface subnets and routes), as read through
 * netlink and, later, as published by other nodes. Pure value code: a growable array,
 * the filter of what never counts (default route, link-local, multicast, loopback) and
 * the one-line description used in log lines and error messages.
 */
#ifndef IPAM_HOSTNET_H
#define IPAM_HOSTNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

enum hostnet_kind {
	HOSTNET_ADDR,	    /* an interface address: net is its subnet, addr the address itself */
	HOSTNET_ROUTE,	    /* a route: net is its destination, addr its gateway (family 0: none) */
	HOSTNET_NAMESERVER, /* a DNS server of the host: net and addr are its address */
	HOSTNET_POOL,	    /* a global-space (swarm) pool another node's plugin holds: net */
};

/*
 * Which host routes count as taken (setting ROUTES). A full-tunnel VPN installs
 * 0.0.0.0/1 and 128.0.0.0/1 (and IPv6 halves): counting them leaves nothing free, so by
 * default routes broader than /8 (IPv4) or /16 (IPv6) do not count. Interface subnets
 * count in every mode, but, like routes, not when broader than the minimum (a published
 * document claiming 0.0.0.0/1 must not block everything).
 */
enum hostnet_route_mode {
	HOSTNET_ROUTES_ALL,    /* every route (and interface) counts */
	HOSTNET_ROUTES_ONLINK, /* only routes without a gateway (directly connected) */
	HOSTNET_ROUTES_MIN,    /* only routes at least as specific as min4 / min6 */
};

struct hostnet_route_policy {
	enum hostnet_route_mode mode;
	unsigned int min4, min6; /* HOSTNET_ROUTES_MIN */
};

#define HOSTNET_DEFAULT_MIN4 8
#define HOSTNET_DEFAULT_MIN6 16

#define HOSTNET_NODE_LEN 64
#define HOSTNET_DEV_LEN 16 /* IFNAMSIZ */

struct hostnet {
	enum hostnet_kind kind;
	struct cidr net;  /* host bits cleared */
	struct cidr addr; /* see kind */
	char dev[HOSTNET_DEV_LEN];
	uint32_t table;		     /* routes: routing table id (254 main, 255 local) */
	char node[HOSTNET_NODE_LEN]; /* "" for this host, else the node that published it */
};

struct hostnet_list {
	struct hostnet *v;
	size_t n, cap;
};

/* Append a copy of h. Returns 0 or -ENOMEM. */
int hostnet_list_add(struct hostnet_list *l, const struct hostnet *h);
/* Free the array and zero the list. NULL-safe. */
void hostnet_list_fini(struct hostnet_list *l);
/* Drop the entries other nodes published (node set), keeping this host's in order. */
void hostnet_list_keep_own(struct hostnet_list *l);
/* Does l hold an entry another node published? */
bool hostnet_list_has_peers(const struct hostnet_list *l);

/*
 * True for prefixes that never count as a host network: default routes (prefix 0),
 * loopback 127.0.0.0/8 and ::1, IPv6 link-local fe80::/10 and multicast ff00::/8 (and
 * IPv4 multicast 224.0.0.0/4).
 */
bool hostnet_ignored(const struct cidr *net);

/*
 * Does h count as taken under policy p? Nameservers and pools always do; see
 * struct hostnet_route_policy for routes and interfaces.
 */
bool hostnet_counts(const struct hostnet *h, const struct hostnet_route_policy *p);

/* Drop the entries of l that do not count under p. Returns how many were dropped. */
size_t hostnet_list_filter(struct hostnet_list *l, const struct hostnet_route_policy *p);

/*
 * One-line description into buf, e.g. "interface eth1 10.0.0.5/24",
 * "route 10.1.0.0/16 via 198.18.0.1 dev veth0 table main", "nameserver 10.255.255.53
 * (resolv.conf)" or "swarm pool 10.128.0.0/24", with " on node N" for a published
 * entry. Returns buf.
 */
char *hostnet_describe(const struct hostnet *h, char *buf, size_t len);

/* "main", "local", "default" or the number. Returns buf. */
char *hostnet_table_name(uint32_t table, char *buf, size_t len);

#endif
