/* SPDX-License-Identifier: MIT */
/*
 * peers: the documents through which nodes tell each other which networks their hosts use
 * (issue 4: the leader chooses pools, so it must avoid every node's networks, not only its
 * own). Pure: encode this node's hostnet list, decode another node's, decide staleness.
 *
 * A document is one JSON object per node, stored as "<node>.json" in the shared place:
 *   {"format":1,"node":"n2","published":1764390000,
 *    "networks":[{"kind":"interface","net":"10.0.0.0/24","addr":"10.0.0.5/24","dev":"eth1"},
 *                {"kind":"route","net":"10.0.1.0/24","via":"198.18.0.9","dev":"vpn0",
 *                 "table":254},
 *                {"kind":"nameserver","net":"10.0.9.53/32","addr":"10.0.9.53"},
 *                {"kind":"pool","net":"10.128.3.0/24"}]}
 * ("pool": a global-space (swarm) pool this node's plugin holds, so a leader that never
 * saw the network, a new one after a leader change, still avoids it.)
 * peer_sync adds "instance" (random per plugin process) to tell its own document from one
 * a namesake wrote; readers ignore keys they do not know.
 * Staleness is judged on the store's own clock (file modification times) so skewed node
 * clocks cannot make a live node look departed.
 */
#ifndef IPAM_PEERS_H
#define IPAM_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "hostnet.h"

#define PEERS_FORMAT 1
/* A document is input from any node (or anyone who can write the shared place): at most
 * this many entries are read from one. */
#define PEERS_MAX_ENTRIES 4096

/* Node names: 1-63 of [A-Za-z0-9_.-], not starting with '.'; they become file names. */
bool peers_node_name_valid(const char *name);

/*
 * The document for node with the entries of l that belong to this host (node[0] == '\0').
 * Returns a new reference or NULL on ENOMEM.
 */
json_t *peers_encode(const char *node, time_t published, const struct hostnet_list *l);

/*
 * Append the networks of doc to out, each tagged with the document's node name. The name
 * must equal expect_node (the file name) when it is not NULL, so one node cannot speak for
 * another by mistake. Entries that do not parse are skipped and counted in *skipped.
 * Returns the number appended, or -EINVAL (message in err) for a document that is not
 * ours, or -ENOMEM.
 */
int peers_decode(json_t *doc, const char *expect_node, struct hostnet_list *out, size_t *skipped,
		 char *err, size_t errlen);

/* A document last written at mtime is stale when the store's clock (ref) is past
 * mtime + stale_after. */
bool peers_is_stale(time_t mtime, time_t ref, unsigned long stale_after);

#endif
