// SPDX-License-Identifier: MIT
/*
 * hostnet: the host-network list, its filter and its descriptions. See hostnet.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hostnet.h"

int hostnet_list_add(struct hostnet_list *l, const struct hostnet *h)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct hostnet *v = reallocarray(l->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *h;
	return 0;
}

void hostnet_list_fini(struct hostnet_list *l)
{
	if (!l)
		return;
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

void hostnet_list_keep_own(struct hostnet_list *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (!l->v[i].node[0])
			l->v[n++] = l->v[i];
	}
	l->n = n;
}

bool hostnet_list_has_peers(const struct hostnet_list *l)
{
	for (size_t i = 0; l && i < l->n; i++) {
		if (l->v[i].node[0])
			return true;
	}
	return false;
}

/* Does net lie inside the prefix of length plen whose top plen bits are top? */
static bool under(const struct cidr *net, unsigned int plen, cidr_u128 top)
{
	unsigned int bits = cidr_max_prefix(net);

	return net->prefix >= plen && (cidr_to_u128(net) >> (bits - plen)) == top;
}

bool hostnet_ignored(const struct cidr *net)
{
	if (net->prefix == 0)
		return true;
	if (net->family == AF_INET)
		return under(net, 8, 127) || under(net, 4, 0xe);
	return under(net, 128, 1) || under(net, 10, 0xfe80 >> 6) || under(net, 8, 0xff);
}

bool hostnet_counts(const struct hostnet *h, const struct hostnet_route_policy *p)
{
	unsigned int min;

	if (h->kind == HOSTNET_NAMESERVER || h->kind == HOSTNET_POOL || !p)
		return true;
	switch (p->mode) {
	case HOSTNET_ROUTES_ALL:
		return true;
	case HOSTNET_ROUTES_ONLINK:
		return h->kind == HOSTNET_ADDR || !h->addr.family;
	case HOSTNET_ROUTES_MIN:
		min = h->net.family == AF_INET6 ? p->min6 : p->min4;
		return h->net.prefix >= min;
	}
	return true;
}

size_t hostnet_list_filter(struct hostnet_list *l, const struct hostnet_route_policy *p)
{
	size_t n = 0, dropped;

	for (size_t i = 0; i < l->n; i++) {
		if (hostnet_counts(&l->v[i], p))
			l->v[n++] = l->v[i];
	}
	dropped = l->n - n;
	l->n = n;
	return dropped;
}

char *hostnet_table_name(uint32_t table, char *buf, size_t len)
{
	switch (table) {
	case 253:
		snprintf(buf, len, "default");
		break;
	case 254:
		snprintf(buf, len, "main");
		break;
	case 255:
		snprintf(buf, len, "local");
		break;
	default:
		snprintf(buf, len, "%u", table);
	}
	return buf;
}

char *hostnet_describe(const struct hostnet *h, char *buf, size_t len)
{
	char net[CIDR_STRLEN], via[CIDR_STRLEN + 8] = "", dev[HOSTNET_DEV_LEN + 8] = "";
	char node[HOSTNET_NODE_LEN + 16] = "", table[16];

	if (h->node[0])
		snprintf(node, sizeof(node), " on node %s", h->node);
	if (h->kind == HOSTNET_NAMESERVER) {
		snprintf(buf, len, "nameserver %s (resolv.conf)%s",
			 cidr_format_addr(&h->addr, net, sizeof(net)), node);
		return buf;
	}
	if (h->kind == HOSTNET_POOL) {
		snprintf(buf, len, "swarm pool %s%s", cidr_format(&h->net, net, sizeof(net)),
			 node[0] ? node : " held here");
		return buf;
	}
	if (h->kind == HOSTNET_ADDR) {
		snprintf(buf, len, "interface %s %s%s", h->dev[0] ? h->dev : "?",
			 cidr_format(&h->addr, net, sizeof(net)), node);
		return buf;
	}
	if (h->addr.family) {
		char gw[CIDR_STRLEN];

		snprintf(via, sizeof(via), " via %s", cidr_format_addr(&h->addr, gw, sizeof(gw)));
	}
	if (h->dev[0])
		snprintf(dev, sizeof(dev), " dev %s", h->dev);
	snprintf(buf, len, "route %s%s%s table %s%s", cidr_format(&h->net, net, sizeof(net)), via,
		 dev, hostnet_table_name(h->table, table, sizeof(table)), node);
	return buf;
}
