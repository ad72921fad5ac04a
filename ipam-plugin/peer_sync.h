/* SPDX-License-Identifier: MIT */
/*
 * peer_sync: publishes this node's host networks to a shared place and keeps a copy of
 * every other node's, so the plugin that chooses a pool (the swarm leader's) avoids the
 * networks of all nodes. One background thread publishes every interval (at once after a
 * change, and with a short backoff after a failure); a global-space decision refreshes
 * the copy first (peer_sync_freshen), so it never decides from a copy older than the
 * operator's last step on another node.
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
 * Start the thread, which runs the first round at once (see peer_sync_wait_first).
 * collect is called from the thread, and from peer_sync_refresh; with read_only there
 * is no thread and one read-only round runs before this returns (the CLI).
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

/*
 * Wait up to max_ms for the first round (started by peer_sync_start) to end, whatever
 * its outcome. Returns whether it ended. NULL ps: true.
 */
bool peer_sync_wait_first(struct peer_sync *ps, unsigned int max_ms);

/*
 * Make the copy one read after the call began: unless a read started since, read the
 * shared place now (without publishing unless a change is pending). Concurrent callers
 * share one read; a
 * read that fails is not repeated for callers that waited for it, and the last copy
 * stays (the failure is logged once per change of state). Bounded by NFS_TIMEOUT.
 * During a known outage (the place was read before and the last round failed) nothing
 * waits: -EAGAIN, decide from the last copy while the thread retries. Returns 0 or
 * -errno. NULL ps: 0.
 */
int peer_sync_freshen(struct peer_sync *ps);

/*
 * Publish (and read) now and wait for it, unless the place is in a known outage (the
 * last round failed): then only wake the thread and return -EAGAIN at once. Returns 0
 * or -errno with a message. NULL ps: 0.
 */
int peer_sync_publish_now(struct peer_sync *ps, char *err, size_t errlen);

/* Our networks or pools changed: publish soon (wakes the thread). NULL-safe. */
void peer_sync_poke(struct peer_sync *ps);

/* One-line state for logs and the CLI: "shared networks nfs://...: 2 peers (n2, n3), ..." */
void peer_sync_describe(struct peer_sync *ps, char *buf, size_t len);

#endif
