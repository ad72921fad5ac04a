// SPDX-License-Identifier: MIT
/*
 * resolvconf: "nameserver" lines to host networks. See resolvconf.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "resolvconf.h"

int resolvconf_parse(const char *text, struct hostnet_list *out)
{
	int count = 0;

	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[128], addr[64], err[160];
		struct hostnet h = {.kind = HOSTNET_NAMESERVER};

		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			/* "nameserver fe80::1%eth0": the zone makes it link-local anyway. */
			if (sscanf(buf, " nameserver %63[0-9A-Fa-f.:]", addr) == 1 &&
			    cidr_parse(addr, CIDR_PARSE_ALLOW_BARE, &h.addr, err, sizeof(err)) ==
				    0 &&
			    !hostnet_ignored(&h.addr)) {
				h.net = h.addr;
				snprintf(h.dev, sizeof(h.dev), "resolv.conf");
				if (hostnet_list_add(out, &h) < 0)
					return -ENOMEM;
				count++;
			}
		}
		line = end ? end + 1 : NULL;
	}
	return count;
}

bool resolvconf_is_resolved_stub(const char *text)
{
	int servers = 0;
	bool stub = false;

	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[128], addr[64];

		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			if (sscanf(buf, " nameserver %63s", addr) == 1) {
				servers++;
				stub = strcmp(addr, "127.0.0.53") == 0;
			}
		}
		line = end ? end + 1 : NULL;
	}
	return servers == 1 && stub;
}
