/* SPDX-License-Identifier: MIT */
/*
 * ipam_api: the libnetwork remote IPAM protocol (IpamDriver) mapped onto pools: JSON in,
 * pools calls, JSON out; the state and the policy live in pools.
 *
 * Handlers follow docs/plugin-protocol.md (section 4): empty bodies and null maps accepted,
 * success is a JSON object, failure {"Err": "<what was wrong; what is accepted>"} (the
 * HTTP layer sends it with status 500).
 *
 * One endpoint of our own, for scripts/preflight.sh: POST /Preflight.Ipam with
 * {"Subnets":["CIDR",...],"DefaultAddrPools":["CIDR",...]} (both optional) answers
 * {"Ok":bool,"Report":"one fact or PROBLEM per line"}: the settings, the shared place,
 * whether POOLS overlaps the swarm's default address pool, each subnet free or not (with
 * culprits and a suggestion), and what a new swarm network would get now.
 */
#ifndef IPAM_IPAM_API_H
#define IPAM_IPAM_API_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "http_server.h"
#include "pools.h"

/*
 * The handlers' context. peers_state (may be NULL) writes one line on the shared
 * networks and returns false when they are set but unreachable.
 */
struct ipam_api {
	struct pools *pools; /* borrowed */
	bool (*peers_state)(void *arg, char *buf, size_t len);
	void *peers_arg;
};

/* The routes to serve, with a struct ipam_api as ctx. */
extern const struct http_route ipam_routes[];
extern const size_t ipam_nroutes;

#endif
