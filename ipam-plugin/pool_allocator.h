/* SPDX-License-Identifier: MIT */
/*
 * pool_allocator: which subnet to hand out and which address inside it. Pure: no I/O,
 * no logging, no locking; the caller (ipam_api) owns the instance and its mutex.
 *
 * Pools live in two address spaces (local, global), kept apart because one plugin sees
 * the same swarm subnet twice: in the global space from the swarm allocator and in the
 * local space as this node's copy (docs/plugin-protocol.md 5.2).
 *
 * Choosing: candidate ranges are cut into subnets of the wanted size and the lowest one
 * that overlaps no exclusion, no host network and no pool in use (any space) wins.
 * Blockers are sorted and merged once per decision, so a decision costs O(n log n) in the
 * number of blockers and jumps over blocked spans instead of walking them.
 *
 * Addresses: a two-level bitmap for pools up to 2^20 addresses (a /16 costs 8 KiB), a
 * sorted array of allocated offsets above that (IPv6 /64s). Finding the next free
 * address skips 64 full words per summary bit, so its cost does not grow with the number
 * of addresses handed out. IPv4 pools never hand out their network or broadcast address,
 * IPv6 pools never the subnet-router anycast address (offset 0).
 */
#ifndef IPAM_POOL_ALLOCATOR_H
#define IPAM_POOL_ALLOCATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "hostnet.h"

enum pa_space {
	PA_SPACE_LOCAL = 0,
	PA_SPACE_GLOBAL = 1,
};
#define PA_NSPACES 2

/* Longest prefix a pool may have: an IPv4 pool needs a gateway and one more address. */
#define PA_MAX_PREFIX4 30
#define PA_MAX_PREFIX6 126

/* A candidate range and the prefix length carved from it ("10.0.0.0/8:24"). */
struct pa_range {
	struct cidr net;
	unsigned int size;
};

/* Allocated addresses of one pool, as offsets from the pool's network address. */
struct pa_addrset {
	cidr_u128 size;	 /* addresses in the pool */
	cidr_u128 count; /* allocated */
	uint64_t *bits;	 /* dense: one bit per address; padding past size is set */
	uint64_t *full;	 /* dense: one bit per word of bits that is all ones */
	size_t nwords, nfull;
	cidr_u128 *offs; /* sparse (bits == NULL): allocated offsets, ascending */
	size_t n, cap;
};

#define PA_ID_LEN (64 + CIDR_STRLEN)

struct pa_pool {
	char id[PA_ID_LEN]; /* "<space name>/<pool CIDR>", stable across re-requests */
	enum pa_space space;
	struct cidr net;   /* canonical */
	struct cidr range; /* where dynamic addresses come from: net, or the SubPool */
	bool has_range;
	bool chosen;	       /* picked by pa_choose (not requested with an explicit Pool) */
	cidr_u128 cursor;      /* offset where the next serial search starts */
	unsigned long claimed; /* the caller's session that last requested it (not saved) */
	struct pa_addrset set;
};

struct pa_allocator {
	const char *space_name[PA_NSPACES]; /* borrowed */
	struct pa_pool **pools;		    /* sorted by space, then cidr_cmp */
	size_t n, cap;
};

/* What a decision looks at besides the pools. Every pointer is borrowed; may be empty. */
struct pa_env {
	const struct pa_range *ranges; /* candidates of the wanted family, in preference order */
	size_t nranges;
	const struct cidr *exclude;
	size_t nexclude;
	const struct hostnet_list *hosts; /* NULL: host networks are not consulted */
	bool mark_own; /* pa_check: this host's entries say " on this host" (peers' say
			  " on node N" anyway), for lists that mix both */
};

/* Human-readable lines explaining a decision, for logs and messages. */
#define PA_REASONS_MAX 64
struct pa_reasons {
	char **line;
	size_t n, cap;
	size_t dropped; /* lines not kept past PA_REASONS_MAX */
};
void pa_reasons_fini(struct pa_reasons *r);
/* Append a line (kept up to PA_REASONS_MAX, counted in dropped after). */
void pa_reasons_add(struct pa_reasons *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Space names are borrowed and must outlive the allocator. */
void pa_init(struct pa_allocator *a, const char *local_name, const char *global_name);
/* Free every pool. NULL-safe. */
void pa_fini(struct pa_allocator *a);

/* The space called name, or -1. */
int pa_space_parse(const struct pa_allocator *a, const char *name);

/* The pool of exactly net in space, or NULL. */
struct pa_pool *pa_pool_find(const struct pa_allocator *a, enum pa_space space,
			     const struct cidr *net);
/* The pool with this PoolID, or NULL. */
struct pa_pool *pa_pool_by_id(const struct pa_allocator *a, const char *id);

/*
 * Validate a pool: IPv4 prefix at most 30, IPv6 at most 126, at least 1, no host bits;
 * range (NULL for none) inside it. Returns 0 or -EINVAL with a message.
 */
int pa_pool_validate(const struct cidr *net, const struct cidr *range, char *err, size_t errlen);

/*
 * Add a pool of net in space, addresses taken from range (NULL: the whole pool). Does not
 * check overlaps (see pa_check). Returns 0 and the pool (owned by a) in *out, -EEXIST if
 * space already holds net, -EINVAL (message) or -ENOMEM.
 */
int pa_pool_add(struct pa_allocator *a, enum pa_space space, const struct cidr *net,
		const struct cidr *range, struct pa_pool **out, char *err, size_t errlen);
/* Set the dynamic range (NULL: whole pool). Returns 0 or -EINVAL. */
int pa_pool_set_range(struct pa_pool *p, const struct cidr *range, char *err, size_t errlen);
/* Remove p from a and free it. */
void pa_pool_remove(struct pa_allocator *a, struct pa_pool *p);

/*
 * Choose the lowest free subnet of family. size 0 takes each range's own size; otherwise
 * ranges whose prefix is longer than size are skipped. Reasons for every skip and the
 * choice are appended to why. Returns 0 and *out, -ENOSPC (exhausted; message names the
 * ranges and the size), -EINVAL (size fits no range; message lists what is accepted) or
 * -ENOMEM. The choice is not recorded: the caller adds the pool.
 */
int pa_choose(const struct pa_allocator *a, const struct pa_env *env, int family, unsigned int size,
	      struct cidr *out, struct pa_reasons *why, char *err, size_t errlen);

/*
 * What net collides with: exclusions, host networks (if env->hosts) and pools. With
 * space >= 0 a pool of the other space that equals net is not a collision (this node's
 * copy of a swarm pool); pools of space itself always are. With space < 0 every
 * overlapping pool is. One line per culprit goes to culprits. Returns the number of
 * culprits.
 */
size_t pa_check(const struct pa_allocator *a, const struct pa_env *env, const struct cidr *net,
		int space, struct pa_reasons *culprits);

/* Does a pool of the other space hold exactly net? */
bool pa_other_space_has(const struct pa_allocator *a, enum pa_space space, const struct cidr *net);

enum pa_addr_flags {
	PA_ADDR_GATEWAY = 1, /* a gateway: first usable address unless one is wanted */
	PA_ADDR_SERIAL = 2,  /* continue after the last address handed out */
	PA_ADDR_UNIQUE = 4,  /* an explicit address already allocated is refused (-EEXIST) */
};

/*
 * Allocate want (NULL: a free one) in p. *out gets the address with the pool's prefix.
 * An explicit address that is already allocated is granted again (*again = true): swarm
 * and dockerd replay explicit requests after restarts and leader changes; with
 * PA_ADDR_UNIQUE it is refused instead. Returns 0, -EINVAL (outside the pool,
 * network/broadcast/anycast address; message), -EEXIST (PA_ADDR_UNIQUE; message),
 * -ENOSPC (no free address; message) or -ENOMEM.
 */
int pa_addr_request(struct pa_pool *p, const struct cidr *want, int flags, struct cidr *out,
		    bool *again, char *err, size_t errlen);
/*
 * Release addr in p. *was tells whether it was allocated (releasing a free address is not
 * an error). Returns 0 or -EINVAL (not in the pool; message).
 */
int pa_addr_release(struct pa_pool *p, const struct cidr *addr, bool *was, char *err,
		    size_t errlen);

/* Offset of addr in p, or false if addr is not inside p. */
bool pa_pool_offset(const struct pa_pool *p, const struct cidr *addr, cidr_u128 *off);
/* Is offset off allocated? */
bool pa_addr_is_allocated(const struct pa_pool *p, cidr_u128 off);
/*
 * Mark offsets first..last allocated (loading state). Returns 0, -EINVAL (outside the
 * pool, reserved, or too many for a sparse pool) or -ENOMEM.
 */
int pa_pool_mark(struct pa_pool *p, cidr_u128 first, cidr_u128 last, char *err, size_t errlen);
/* Call cb for each run of allocated offsets, ascending; a nonzero return stops and is returned. */
int pa_pool_for_each_run(const struct pa_pool *p,
			 int (*cb)(void *arg, cidr_u128 first, cidr_u128 last), void *arg);
/* Bytes held by p (for the benchmark). */
size_t pa_pool_memory(const struct pa_pool *p);

/* Decimal text of v into buf. Returns buf. */
char *pa_u128_format(cidr_u128 v, char *buf, size_t len);

#endif
