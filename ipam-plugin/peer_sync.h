/* SPDX-License-Identifier: MIT */
/*
 * peer_sync: publishes this node's host networks to a shared place and keeps a copy of
 * every other node's, so the plugin that chooses a pool (the swarm leader's) avoids the
 * networks of all nodes. One background thread; decisions read the copy and never wait
 * for the shared place.
 *
 * The shared place (setting SHARED_NETWORKS) is either
 *   nfs://SERVER/EXPORT[?nfsport=N&mountport=N]   spoken to through libnfs, like the
 *                                                 volume plugin; files go in
 *                                                 EXPORT/.openmpf-ipam-networks/
 *   /a/directory                                   any directory all nodes share
 * Each node writes "<NODE_NAME>.json" every interval (peers.h has the format) and reads
 * the others. A document older than stale_after seconds (by the store's clock) belongs to
 * a departed node and is ignored, so it cannot pin address space forever. When the place
 * is unreachable the plugin keeps working with its own networks and the last copy, and
 * says so in the log once per change.
 */
#ifndef IPAM_PEER_SYNC_H
#define IPAM_PEER_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "hostnet.h"

/* Reads this host's networks into out (entries with node ""). Returns 0 or -errno. */
typedef int (*peer_collect_fn)(void *arg, struct hostnet_list *out);

struct peer_sync_config {
	const char *location;	     /* SHARED_NETWORKS; borrowed for the call only */
	const char *node;	     /* NODE_NAME */
	unsigned long interval_s;    /* PUBLISH_INTERVAL */
	unsigned long stale_after_s; /* PEER_STALE_AFTER */
	unsigned long timeout_s;     /* NFS call timeout */
	bool read_only;		     /* read the others' documents once, publish nothing, no
					thread (the CLI: the running plugin publishes) */
};

struct peer_sync;

/*
 * Validate a location: "" (off), an nfs:// URL or an absolute directory. Returns 0 or
 * -EINVAL with a message naming the value and the accepted forms.
 */
int peer_sync_location_check(const char *location, char *err, size_t errlen);

/*
 * Start the thread. The first round runs before this returns (bounded by the NFS timeout)
 * so the first decision already knows the peers. collect is called from the thread (never
 * when read_only: then there is only that first round).
 * Returns the new instance (free with peer_sync_stop) or NULL with a message.
 */
struct peer_sync *peer_sync_start(const struct peer_sync_config *cfg, peer_collect_fn collect,
				  void *arg, char *err, size_t errlen);

/*
 * Stop the thread, remove nothing from the shared place, free. A round stuck on the
 * shared place is waited for 3 s at most; after that ps and its thread are abandoned
 * (the process is exiting). NULL-safe.
 */
void peer_sync_stop(struct peer_sync *ps);

/*
 * Append the current copy of the other nodes' networks to out. Never blocks on I/O.
 * Returns the number appended or -ENOMEM. NULL ps appends nothing.
 */
int peer_sync_snapshot(struct peer_sync *ps, struct hostnet_list *out);

/* Run one round now (publish + read) and wait for it. Returns 0 or -errno (message). */
int peer_sync_refresh(struct peer_sync *ps, char *err, size_t errlen);

/* One-line state for logs and the CLI: "shared networks nfs://...: 2 peers (n2, n3), ..." */
void peer_sync_describe(struct peer_sync *ps, char *buf, size_t len);

#endif
