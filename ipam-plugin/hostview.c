// SPDX-License-Identifier: MIT
/*
 * hostview: where a decision's host networks come from. See hostview.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "atomic_file.h"
#include "hostview.h"
#include "resolvconf.h"

#define RESOLV_MAX (1u << 20)

/* The DNS servers: resolv.conf, or resolved's upstream list behind the stub. */
static int add_nameservers(struct hostview *hv, struct hostnet_list *out)
{
	char *text = NULL;
	size_t len;
	int ret = 0;

	/* No resolv.conf (or an unreadable one) means no nameservers to avoid. */
	if (!hv->resolv_conf || !*hv->resolv_conf ||
	    atomic_file_read(hv->resolv_conf, RESOLV_MAX, &text, &len) < 0)
		return 0;
	if (resolvconf_is_resolved_stub(text) && hv->resolved_conf) {
		free(text);
		text = NULL;
		if (atomic_file_read(hv->resolved_conf, RESOLV_MAX, &text, &len) < 0)
			return 0;
	}
	ret = resolvconf_parse(text, out);
	free(text);
	return ret < 0 ? ret : 0;
}

int hostview_own(struct hostview *hv, struct hostnet_list *out, char *err, size_t errlen)
{
	int ret;

	ret = hv->view ? netlink_view_read(hv->view, out, err, errlen)
		       : netlink_read_hostnets(out, err, errlen);
	if (ret < 0)
		return ret;
	if (add_nameservers(hv, out) < 0) {
		snprintf(err, errlen, "out of memory reading %s", hv->resolv_conf);
		return -ENOMEM;
	}
	return 0;
}

int hostview_read(struct hostview *hv, bool global, struct hostnet_list *out, char *err,
		  size_t errlen)
{
	struct peer_sync *ps = hostview_peers(hv);
	int ret = hostview_own(hv, out, err, errlen);

	if (ret == 0 && global && ps) {
		/* A failed refresh is logged by peer_sync; the last copy is used then. */
		peer_sync_freshen(ps);
		if (peer_sync_snapshot(ps, out) < 0) {
			snprintf(err, errlen, "out of memory copying the other nodes' networks");
			ret = -ENOMEM;
		}
	}
	if (ret == 0)
		hostnet_list_filter(out, hv->routes);
	return ret;
}

void hostview_set_peers(struct hostview *hv, struct peer_sync *ps)
{
	__atomic_store_n(&hv->peers, ps, __ATOMIC_RELEASE);
}

struct peer_sync *hostview_peers(struct hostview *hv)
{
	return __atomic_load_n(&hv->peers, __ATOMIC_ACQUIRE);
}
