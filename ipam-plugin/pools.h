/* SPDX-License-Identifier: MIT */
/*
 * pools: the one owner of the IPAM state: the allocator (pool_allocator), its mutex, its
 * persistence (state) and the policy of every request: which subnet to choose, which
 * requested subnet to grant, what a re-request means. No JSON: ipam_api maps the
 * IpamDriver protocol onto these calls, the CLI and the preflight use the explain calls.
 *
 * Swarm (global space) re-requests, the replay rule: Docker calls GetCapabilities when a
 * plugin is enabled and again whenever a swarm leader's allocator starts (it registers
 * the plugin anew), and that allocator then re-requests every existing network's subnet
 * explicitly. Each GetCapabilities starts a new session (pools_new_session). A requested
 * subnet that is already held in the global space, here or (through the shared place)
 * on another node, is granted once per session, as a replay of the network that holds
 * it; a second request for it in the same session is a different network asking for a
 * subnet in use, and is refused naming the holder. Local-space re-requests (dockerd's
 * node copies of swarm networks, its own restarts) stay idempotent.
 */
#ifndef IPAM_POOLS_H
#define IPAM_POOLS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "hostnet.h"
#include "pool_allocator.h"
#include "settings.h"

#define POOLS_LOCAL_SPACE "openmpf-local"
#define POOLS_GLOBAL_SPACE "openmpf-global"

/*
 * Fill out with the networks a decision avoids: this host's and, when global, the other
 * nodes' too (entries with node set), filtered by the route policy. Returns 0 or -errno
 * with a message.
 */
typedef int (*pools_hostnets_fn)(void *arg, bool global, struct hostnet_list *out, char *err,
				 size_t errlen);
/* A pool was added or released (to publish at once). Called with the lock held. */
typedef void (*pools_changed_fn)(void *arg);

struct pools {
	pthread_mutex_t lock;
	struct pa_allocator alloc;  /* guarded by lock */
	unsigned long session;	    /* guarded by lock; see the replay rule above */
	const struct settings *cfg; /* borrowed */
	const char *state_dir;	    /* borrowed; NULL: nothing is persisted */
	const char *config_error;   /* borrowed; set: every request is refused with it */
	pools_hostnets_fn hostnets;
	void *hostnets_arg;
	pools_changed_fn changed;
	void *changed_arg;
	/*
	 * Called after a pool was granted, without the lock, before the reply goes out:
	 * publish now, so that another node's next decision cannot miss this one (may be
	 * NULL; bounded by NFS_TIMEOUT; a failure only delays the publication).
	 */
	void (*publish)(void *arg);
};

/* A RequestPool, parsed (ipam_api) and validated against the settings. */
struct pools_request {
	enum pa_space space;
	bool explicit;	   /* a Pool was given: net */
	struct cidr net;   /* canonical */
	bool has_range;	   /* a SubPool was given */
	struct cidr range; /* canonical */
	int family;
	unsigned int size; /* dynamic: the size=N option, 0 for the configured sizes */
};

/*
 * Set up ps and load the pools persisted in state_dir (if not NULL). cfg and state_dir
 * are borrowed for ps's lifetime. Returns the number of pools loaded or -errno with a
 * message.
 */
int pools_init(struct pools *ps, const struct settings *cfg, const char *state_dir, char *err,
	       size_t errlen);
/* Free everything. NULL-safe. */
void pools_fini(struct pools *ps);

/* Start a new allocator session (GetCapabilities): see the replay rule. */
void pools_new_session(struct pools *ps);

/* Refuse every request with msg ("POOLS=...: ..."); msg is borrowed. */
void pools_set_config_error(struct pools *ps, const char *msg);

/* The address space called name, or -1. */
int pools_space_parse(const struct pools *ps, const char *name);

/*
 * Grant or choose a pool. On success *id (PoolID) and *pool are set. Returns 0 or
 * -errno with a message for the user: -EADDRINUSE (collides; culprits named and a free
 * subnet suggested), -ENOSPC, -EINVAL, -EIO (host view or state unavailable).
 */
int pools_request(struct pools *ps, const struct pools_request *r, char *id, size_t idlen,
		  struct cidr *pool, char *err, size_t errlen);
/* Release the pool id. Returns 0, -ENOENT (unknown id) or -EIO, with a message. */
int pools_release(struct pools *ps, const char *id, char *err, size_t errlen);

/*
 * Allocate want (NULL: a free one; flags from pool_allocator's PA_ADDR_*) in pool id.
 * *out has the pool's prefix. Returns 0 or -errno with a message.
 */
int pools_request_address(struct pools *ps, const char *id, const struct cidr *want, int flags,
			  struct cidr *out, char *err, size_t errlen);
/* Release addr in pool id. Returns 0 or -errno with a message. */
int pools_release_address(struct pools *ps, const char *id, const struct cidr *addr, char *err,
			  size_t errlen);

/*
 * Append one HOSTNET_POOL entry per pool held, in either space (what peer_sync
 * publishes: swarm pools, and local ones whose bridge may not exist yet).
 * Returns 0 or -ENOMEM.
 */
int pools_global_held(struct pools *ps, struct hostnet_list *out);

/*
 * Operator check: what net collides with (host networks of this and every other node,
 * swarm pools, exclusions, every pool in the state); culprits get one line each and
 * *suggestion a free subnet of the same size when one exists (*has_suggestion). Returns
 * the number of culprits or -errno with a message.
 */
int pools_explain_check(struct pools *ps, const struct cidr *net, struct pa_reasons *culprits,
			struct cidr *suggestion, bool *has_suggestion, char *err, size_t errlen);

/*
 * Operator check: the subnet a global RequestPool would choose now (size 0: the
 * configured sizes), with the reasons. Nothing is recorded. Returns 0 or -errno with a
 * message.
 */
int pools_explain_suggest(struct pools *ps, int family, unsigned int size, struct cidr *out,
			  struct pa_reasons *why, char *err, size_t errlen);

#endif
