// SPDX-License-Identifier: MIT
/*
 * peers: encode and decode the per-node host-network documents. See peers.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "peers.h"

bool peers_node_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= HOSTNET_NODE_LEN || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static json_t *encode_one(const struct hostnet *h)
{
	char net[CIDR_STRLEN], addr[CIDR_STRLEN];
	json_t *o;

	cidr_format(&h->net, net, sizeof(net));
	if (h->kind == HOSTNET_POOL)
		return json_pack("{s:s,s:s}", "kind", "pool", "net", net);
	if (h->kind == HOSTNET_NAMESERVER)
		return json_pack("{s:s,s:s,s:s}", "kind", "nameserver", "net", net, "addr",
				 cidr_format_addr(&h->addr, addr, sizeof(addr)));
	if (h->kind == HOSTNET_ADDR) {
		o = json_pack("{s:s,s:s,s:s,s:s}", "kind", "interface", "net", net, "addr",
			      cidr_format(&h->addr, addr, sizeof(addr)), "dev", h->dev);
	} else {
		o = json_pack("{s:s,s:s,s:s,s:I}", "kind", "route", "net", net, "dev", h->dev,
			      "table", (json_int_t)h->table);
		if (o && h->addr.family)
			json_object_set_new(
				o, "via",
				json_string(cidr_format_addr(&h->addr, addr, sizeof(addr))));
	}
	return o;
}

json_t *peers_encode(const char *node, time_t published, const struct hostnet_list *l)
{
	json_t *nets = json_array();
	json_t *doc = NULL;

	if (!nets)
		return NULL;
	for (size_t i = 0; l && i < l->n; i++) {
		if (l->v[i].node[0])
			continue; /* only our own networks: never re-publish a peer's */
		if (json_array_append_new(nets, encode_one(&l->v[i])) < 0)
			goto out_free;
	}
	doc = json_pack("{s:i,s:s,s:I,s:o}", "format", PEERS_FORMAT, "node", node, "published",
			(json_int_t)published, "networks", nets);
	return doc;
out_free:
	json_decref(nets);
	return NULL;
}

/* One entry into h. Returns 0 or -EINVAL. */
static int decode_one(json_t *o, struct hostnet *h)
{
	const char *kind = NULL, *net = NULL, *addr = NULL, *via = NULL, *dev = "";
	json_int_t table = 0;
	char err[160];

	if (json_unpack(o, "{s:s,s:s,s?s,s?s,s?s,s?I}", "kind", &kind, "net", &net, "addr", &addr,
			"via", &via, "dev", &dev, "table", &table) < 0)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	if (cidr_parse(net, 0, &h->net, err, sizeof(err)) < 0)
		return -EINVAL;
	h->net = cidr_network(&h->net);
	snprintf(h->dev, sizeof(h->dev), "%s", dev);
	/* The name goes into log lines and error texts: printable ASCII only. */
	for (char *c = h->dev; *c; c++) {
		if (*c <= ' ' || *c > '~')
			*c = '?';
	}
	if (strcmp(kind, "pool") == 0) {
		h->kind = HOSTNET_POOL;
		h->dev[0] = '\0';
	} else if (strcmp(kind, "interface") == 0) {
		h->kind = HOSTNET_ADDR;
		if (!addr ||
		    cidr_parse(addr, CIDR_PARSE_ALLOW_BARE, &h->addr, err, sizeof(err)) < 0)
			return -EINVAL;
	} else if (strcmp(kind, "nameserver") == 0) {
		h->kind = HOSTNET_NAMESERVER;
		h->addr = h->net;
		if (addr && cidr_parse(addr, CIDR_PARSE_ALLOW_BARE, &h->addr, err, sizeof(err)) < 0)
			return -EINVAL;
		snprintf(h->dev, sizeof(h->dev), "resolv.conf");
	} else if (strcmp(kind, "route") == 0) {
		h->kind = HOSTNET_ROUTE;
		h->table = (uint32_t)table;
		if (via && cidr_parse(via, CIDR_PARSE_ALLOW_BARE, &h->addr, err, sizeof(err)) < 0)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return 0;
}

int peers_decode(json_t *doc, const char *expect_node, struct hostnet_list *out, size_t *skipped,
		 char *err, size_t errlen)
{
	const char *node = NULL;
	json_int_t format = 0;
	json_t *nets = NULL, *o;
	size_t i;
	int added = 0;

	*skipped = 0;
	if (json_unpack(doc, "{s:I,s:s,s:o}", "format", &format, "node", &node, "networks", &nets) <
		    0 ||
	    !json_is_array(nets)) {
		snprintf(err, errlen, "not a host-network document (needs format, node, networks)");
		return -EINVAL;
	}
	if (format != PEERS_FORMAT) {
		snprintf(err, errlen, "document format %lld, this plugin reads format %d",
			 (long long)format, PEERS_FORMAT);
		return -EINVAL;
	}
	if (!peers_node_name_valid(node) || (expect_node && strcmp(node, expect_node) != 0)) {
		snprintf(err, errlen, "document names node \"%s\", expected \"%s\"", node,
			 expect_node ? expect_node : "a valid node name");
		return -EINVAL;
	}
	json_array_foreach(nets, i, o) {
		struct hostnet h;

		if (i >= PEERS_MAX_ENTRIES) {
			*skipped += json_array_size(nets) - i;
			break;
		}
		if (decode_one(o, &h) < 0 || hostnet_ignored(&h.net)) {
			(*skipped)++;
			continue;
		}
		snprintf(h.node, sizeof(h.node), "%s", node);
		if (hostnet_list_add(out, &h) < 0)
			return -ENOMEM;
		added++;
	}
	return added;
}

bool peers_is_stale(time_t mtime, time_t ref, unsigned long stale_after)
{
	return ref > mtime && (unsigned long)(ref - mtime) > stale_after;
}
