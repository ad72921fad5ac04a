// SPDX-License-Identifier: MIT
/*
 * location: SHARED_NETWORKS parsing. See location.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostnet.h"
#include "location.h"

#define LOCATION_FORMS                                                                             \
	"expected nfs://SERVER/EXPORT[?nfsport=N&mountport=N], an absolute directory, or empty "   \
	"(off)"

/* The query "nfsport=N&mountport=N" into t. Returns 0 or -EINVAL. */
static int parse_query(const char *query, struct nfsb_target *t)
{
	unsigned long port;
	char *end;

	while (query && *query) {
		bool nfsport;

		query++; /* '?' or '&' */
		if (strncmp(query, "nfsport=", 8) == 0)
			nfsport = true;
		else if (strncmp(query, "mountport=", 10) == 0)
			nfsport = false;
		else
			return -EINVAL;
		errno = 0;
		port = strtoul(strchr(query, '=') + 1, &end, 10);
		if (errno || end == strchr(query, '=') + 1 || port == 0 || port > 65535 ||
		    (*end && *end != '&'))
			return -EINVAL;
		*(nfsport ? &t->nfs_port : &t->mount_port) = (unsigned int)port;
		query = end;
	}
	return 0;
}

/* nfs://server/export[?query] into t. Returns 0 or -EINVAL. */
static int parse_nfs_url(const char *url, struct nfsb_target *t)
{
	const char *host = url + strlen("nfs://"), *path, *query;
	size_t plen;

	memset(t, 0, sizeof(*t));
	t->version = 3;
	t->timeout_s = 5;
	path = strchr(host, '/');
	if (!path || path == host || (size_t)(path - host) >= sizeof(t->server))
		return -EINVAL;
	memcpy(t->server, host, (size_t)(path - host));
	query = strchr(path, '?');
	plen = query ? (size_t)(query - path) : strlen(path);
	if (plen >= sizeof(t->export) || plen < 2)
		return -EINVAL;
	memcpy(t->export, path, plen);
	return parse_query(query, t);
}

int location_parse(const char *text, struct location *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!text || !*text)
		return 0;
	if (strncmp(text, "nfs://", 6) == 0) {
		if (parse_nfs_url(text, &out->target) == 0) {
			out->nfs = true;
			return 0;
		}
	} else if (text[0] == '/' && strlen(text) < sizeof(out->dir) - HOSTNET_NODE_LEN - 16) {
		snprintf(out->dir, sizeof(out->dir), "%s", text);
		return 0;
	}
	snprintf(err, errlen, "SHARED_NETWORKS=%s: " LOCATION_FORMS, text);
	return -EINVAL;
}

bool location_is_off(const struct location *l)
{
	return !l->nfs && !l->dir[0];
}
