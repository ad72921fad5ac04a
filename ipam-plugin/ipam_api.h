/* SPDX-License-Identifier: MIT */
/*
 * ipam_api: the libnetwork remote IPAM protocol (IpamDriver) on top of pool_allocator,
 * with persistence through state. Owns the allocator and its one mutex: libmicrohttpd
 * calls the handlers concurrently from its connection threads.
 *
 * Handlers follow the protocol digest (section 4): empty bodies and null maps accepted,
 * success is a JSON object, failure {"Err": "<what was wrong; what is accepted>"} (the
 * HTTP layer sends it with status 500). Host networks are read fresh (through the
 * hostnets callback) for every pool decision. Each request validates everything, then
 * changes the allocator, then persists the touched pool; a failed save is rolled back.
 */
#ifndef IPAM_IPAM_API_H
#define IPAM_IPAM_API_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "http_server.h"
#include "pool_allocator.h"
#include "settings.h"

#define IPAM_LOCAL_SPACE "openmpf-local"
#define IPAM_GLOBAL_SPACE "openmpf-global"

/*
 * Fill out with this host's current networks and, when nodes share them (peer_sync), the
 * other nodes' too (entries with node set). Global-space decisions avoid them all;
 * local-space decisions (bridges, this node's copy of a swarm network) only this host's.
 * Returns 0 or -errno with a message.
 */
typedef int (*ipam_hostnets_fn)(void *arg, struct hostnet_list *out, char *err, size_t errlen);

struct ipam {
	pthread_mutex_t lock;
	struct pa_allocator alloc;  /* guarded by lock */
	const struct settings *cfg; /* borrowed */
	const char *state_dir;	    /* borrowed; NULL: nothing is persisted */
	ipam_hostnets_fn hostnets;
	void *hostnets_arg;
};

/*
 * Set up ip and load the pools persisted in state_dir (if not NULL). cfg, state_dir and
 * hostnets_arg are borrowed for ip's lifetime. Returns the number of pools loaded or
 * -errno with a message.
 */
int ipam_init(struct ipam *ip, const struct settings *cfg, const char *state_dir,
	      ipam_hostnets_fn hostnets, void *hostnets_arg, char *err, size_t errlen);
/* Free everything. NULL-safe. */
void ipam_fini(struct ipam *ip);

/* The routes to serve, with an ipam as ctx. */
extern const struct http_route ipam_routes[];
extern const size_t ipam_nroutes;

/*
 * Operator CLI: what net collides with (host networks of this and every other node,
 * exclusions, every pool in the state); culprits get one line each and *suggestion a
 * free subnet of the same size when one exists (*has_suggestion). Returns the number of
 * culprits or -errno with a message.
 */
int ipam_explain_check(struct ipam *ip, const struct cidr *net, struct pa_reasons *culprits,
		       struct cidr *suggestion, bool *has_suggestion, char *err, size_t errlen);

/*
 * Operator CLI: the subnet RequestPool would choose now (size 0: the configured sizes),
 * with the reasons. Nothing is recorded. Returns 0 or -errno with a message.
 */
int ipam_explain_suggest(struct ipam *ip, int family, unsigned int size, struct cidr *out,
			 struct pa_reasons *why, char *err, size_t errlen);

#endif
