/* SPDX-License-Identifier: MIT */
/*
 * hostview: the networks every decision avoids, assembled from their sources: this host's
 * interfaces and routes (netlink), its DNS servers (resolv.conf, or systemd-resolved's
 * upstream list when resolv.conf only names the stub, as Docker does), and, for the
 * global (swarm) space, every other node's networks and swarm pools as published in the
 * shared place (peer_sync), re-read before each such decision. The
 * route policy (setting ROUTES) is applied last, to all of them.
 */
#ifndef IPAM_HOSTVIEW_H
#define IPAM_HOSTVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "hostnet.h"
#include "netlink.h"
#include "peer_sync.h"

struct hostview {
	const char *resolv_conf;		   /* borrowed; "" or NULL: no DNS servers */
	const char *resolved_conf;		   /* borrowed; systemd-resolved's upstream list */
	struct netlink_view *view;		   /* NULL: a fresh dump every time (CLI) */
	struct peer_sync *peers;		   /* NULL: off; set with hostview_set_peers */
	const struct hostnet_route_policy *routes; /* borrowed; NULL: everything counts */
};

/*
 * This host's networks (netlink, DNS servers), unfiltered: what peer_sync publishes.
 * Appends to out. Returns 0 or -errno with a message.
 */
int hostview_own(struct hostview *hv, struct hostnet_list *out, char *err, size_t errlen);

/*
 * What a decision avoids: this host's networks and, when global, the other nodes'
 * (re-read first unless a read started since the call, bounded by NFS_TIMEOUT; on
 * failure the last copy), then filtered by the route policy. Appends to out. Returns 0
 * or -errno with a message. Thread-safe.
 */
int hostview_read(struct hostview *hv, bool global, struct hostnet_list *out, char *err,
		  size_t errlen);

/* Publish ps to the decisions (and the release of it to peer_sync's thread). */
void hostview_set_peers(struct hostview *hv, struct peer_sync *ps);
struct peer_sync *hostview_peers(struct hostview *hv);

#endif
