// SPDX-License-Identifier: MIT
/*
 * pools: the IPAM state owner and its policy. See pools.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "pools.h"
#include "state.h"

#define MSGLEN 1024

int pools_init(struct pools *ps, const struct settings *cfg, const char *state_dir, char *err,
	       size_t errlen)
{
	int ret = 0;

	memset(ps, 0, sizeof(*ps));
	pthread_mutex_init(&ps->lock, NULL);
	pa_init(&ps->alloc, POOLS_LOCAL_SPACE, POOLS_GLOBAL_SPACE);
	ps->cfg = cfg;
	ps->state_dir = state_dir;
	ps->session = 1;
	if (state_dir)
		ret = state_load(state_dir, &ps->alloc, err, errlen);
	return ret;
}

void pools_fini(struct pools *ps)
{
	if (!ps)
		return;
	pa_fini(&ps->alloc);
	pthread_mutex_destroy(&ps->lock);
}

void pools_new_session(struct pools *ps)
{
	pthread_mutex_lock(&ps->lock);
	ps->session++;
	pthread_mutex_unlock(&ps->lock);
	log_debug("pool: a new allocator session (%lu): held swarm subnets may be re-requested "
		  "once each",
		  ps->session);
}

void pools_set_config_error(struct pools *ps, const char *msg)
{
	ps->config_error = msg;
}

int pools_space_parse(const struct pools *ps, const char *name)
{
	return pa_space_parse(&ps->alloc, name);
}

static int config_refusal(const struct pools *ps, char *err, size_t errlen)
{
	if (!ps->config_error)
		return 0;
	snprintf(err, errlen, "%s", ps->config_error);
	return -EINVAL;
}

/* Join reason lines with ", " into buf, at most max of them. */
static char *join(const struct pa_reasons *r, size_t max, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->n && i < max && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", r->line[i]);
	if (r->n + r->dropped > max && used < len)
		snprintf(buf + used, len - used, " and %zu more", r->n + r->dropped - max);
	return buf;
}

static const struct pa_range *ranges_of(const struct settings *cfg, int family, size_t *n)
{
	*n = family == AF_INET6 ? cfg->npools6 : cfg->npools;
	return family == AF_INET6 ? cfg->pools6 : cfg->pools;
}

static struct pa_env env_of(const struct settings *cfg, int family,
			    const struct hostnet_list *hosts)
{
	struct pa_env env = {.exclude = cfg->exclude, .nexclude = cfg->nexclude, .hosts = hosts};

	env.ranges = ranges_of(cfg, family, &env.nranges);
	return env;
}

static int read_hosts(struct pools *ps, bool global, struct hostnet_list *hosts, char *err,
		      size_t errlen)
{
	char msg[MSGLEN / 2];
	int ret;

	if (!ps->hostnets)
		return 0;
	ret = ps->hostnets(ps->hostnets_arg, global, hosts, msg, sizeof(msg));
	if (ret < 0) {
		log_warnx("%s: %s", __func__, msg);
		snprintf(err, errlen,
			 "cannot read this host's networks, so no subnet is safe to hand out: %s",
			 msg);
		return -EIO;
	}
	return 0;
}

static int save(struct pools *ps, const struct pa_pool *p, char *err, size_t errlen)
{
	char msg[MSGLEN / 2];
	int ret;

	if (!ps->state_dir)
		return 0;
	ret = state_save_pool(ps->state_dir, p, msg, sizeof(msg));
	if (ret < 0) {
		log_warnx("%s: %s", __func__, msg);
		snprintf(err, errlen, "could not save the plugin state, nothing was changed: %s",
			 msg);
		return -EIO;
	}
	return 0;
}

/*
 * Publish soon: a global pool is cluster knowledge, and a local one (a bridge) is a new
 * host interface the leader must avoid before the next routine publication.
 */
static void changed(struct pools *ps, enum pa_space space)
{
	(void)space;
	if (ps->changed)
		ps->changed(ps->changed_arg);
}

/* Add net to space and save it; on failure nothing is left behind. Lock held. */
static int add_pool(struct pools *ps, enum pa_space space, const struct cidr *net,
		    const struct cidr *range, bool chosen, struct pa_pool **out, char *err,
		    size_t errlen)
{
	struct pa_pool *p;
	int ret;

	ret = pa_pool_add(&ps->alloc, space, net, range, &p, err, errlen);
	if (ret < 0)
		return ret;
	p->chosen = chosen;
	p->claimed = ps->session;
	ret = save(ps, p, err, errlen);
	if (ret < 0) {
		pa_pool_remove(&ps->alloc, p);
		return ret;
	}
	changed(ps, space);
	*out = p;
	return 0;
}

/* " a free /N is X" or " no free /N is left in POOLS", for refusals. */
static void suggest_text(struct pools *ps, struct pa_env *env, const struct cidr *net, char *buf,
			 size_t len)
{
	char msg[MSGLEN], c[CIDR_STRLEN];
	struct cidr sug;

	if (pa_choose(&ps->alloc, env, net->family, net->prefix, &sug, NULL, msg, sizeof(msg)) == 0)
		snprintf(buf, len, "; a free /%u is %s", net->prefix,
			 cidr_format(&sug, c, sizeof(c)));
	else
		snprintf(buf, len, "; no free /%u is left in %s", net->prefix,
			 net->family == AF_INET6 ? "POOLS6" : "POOLS");
}

/* Is net a swarm pool another node holds? */
static bool peer_holds(const struct hostnet_list *hosts, const struct cidr *net)
{
	for (size_t i = 0; hosts && i < hosts->n; i++) {
		const struct hostnet *h = &hosts->v[i];

		if (h->kind == HOSTNET_POOL && h->node[0] && cidr_equal(&h->net, net))
			return true;
	}
	return false;
}

/* The swarm pools of hosts other than net itself: what a replay must still avoid. */
static int other_pools(const struct hostnet_list *hosts, const struct cidr *net,
		       struct hostnet_list *out)
{
	for (size_t i = 0; hosts && i < hosts->n; i++) {
		const struct hostnet *h = &hosts->v[i];

		if (h->kind == HOSTNET_POOL && !cidr_equal(&h->net, net) &&
		    hostnet_list_add(out, h) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* A held global pool asked for again: a replay once per session, else refused. */
static int request_held(struct pools *ps, const struct pools_request *r, struct pa_pool *p,
			const struct hostnet_list *hosts, char *err, size_t errlen)
{
	char c[CIDR_STRLEN], sug[CIDR_STRLEN + 64];
	struct pa_env env = env_of(ps->cfg, r->family, hosts);
	struct pa_pool old = *p;

	cidr_format(&r->net, c, sizeof(c));
	if (p->space == PA_SPACE_GLOBAL && p->claimed == ps->session) {
		suggest_text(ps, &env, &r->net, sug, sizeof(sug));
		log_info("pool: refuse %s in %s: another swarm network holds it (requested "
			 "twice since the swarm allocator started)",
			 c, ps->alloc.space_name[p->space]);
		snprintf(err, errlen,
			 "subnet %s is already used by another swarm network (pool %s); choose "
			 "a subnet no network uses, or none to let the driver choose%s",
			 c, p->id, sug);
		return -EADDRINUSE;
	}
	if (r->has_range != p->has_range || (r->has_range && !cidr_equal(&r->range, &p->range))) {
		pa_pool_set_range(p, r->has_range ? &r->range : NULL, err, errlen);
		if (save(ps, p, err, errlen) < 0) {
			p->range = old.range;
			p->has_range = old.has_range;
			return -EIO;
		}
	}
	p->claimed = ps->session;
	log_info("pool: %s requested again in %s: granted the same pool (%s)", c,
		 ps->alloc.space_name[p->space],
		 p->space == PA_SPACE_GLOBAL ? "the swarm allocator restoring its network"
					     : "this node's copy, idempotent");
	return 0;
}

/*
 * A global request for a subnet that a swarm network already has (another node's plugin
 * holds it, or this node's local copy of it is in use): the swarm allocator of a new
 * leader restoring it from raft, which is the truth. Only other swarm pools and the
 * exclusions can refuse it; host networks that collide are only reported.
 */
static int request_restore(struct pools *ps, const struct pools_request *r,
			   const struct hostnet_list *hosts, struct pa_pool **out, char *err,
			   size_t errlen)
{
	struct hostnet_list others = {0};
	struct pa_reasons culprits = {0}, warn = {0};
	struct pa_env env = env_of(ps->cfg, r->family, NULL);
	char c[CIDR_STRLEN], list[MSGLEN];
	int ret;

	cidr_format(&r->net, c, sizeof(c));
	ret = other_pools(hosts, &r->net, &others);
	if (ret < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	env.hosts = &others;
	if (pa_check(&ps->alloc, &env, &r->net, PA_SPACE_GLOBAL, &culprits)) {
		join(&culprits, 4, list, sizeof(list));
		log_info("pool: refuse %s in %s: collides with %s", c, POOLS_GLOBAL_SPACE, list);
		snprintf(err, errlen, "subnet %s collides with %s", c, list);
		ret = -EADDRINUSE;
		goto out;
	}
	env.hosts = hosts;
	env.mark_own = true;
	if (pa_check(&ps->alloc, &env, &r->net, PA_SPACE_GLOBAL, &warn))
		log_warnx("pool: swarm network %s collides with %s: its traffic may not reach "
			  "those networks (it existed before; remove it to get a free subnet)",
			  c, join(&warn, 4, list, sizeof(list)));
	ret = add_pool(ps, PA_SPACE_GLOBAL, &r->net, r->has_range ? &r->range : NULL, false, out,
		       err, errlen);
	if (ret == 0)
		log_info("pool: granted %s in %s: the swarm allocator restoring a network "
			 "that has it already",
			 c, POOLS_GLOBAL_SPACE);
out:
	hostnet_list_fini(&others);
	pa_reasons_fini(&culprits);
	pa_reasons_fini(&warn);
	return ret;
}

/* Lock held. */
static int request_explicit(struct pools *ps, const struct pools_request *r,
			    const struct hostnet_list *hosts, struct pa_pool **out, char *err,
			    size_t errlen)
{
	struct pa_pool *p = pa_pool_find(&ps->alloc, r->space, &r->net);
	struct pa_reasons culprits = {0};
	struct pa_env env = env_of(ps->cfg, r->family, hosts);
	bool global = r->space == PA_SPACE_GLOBAL;
	char c[CIDR_STRLEN], list[MSGLEN], sug[CIDR_STRLEN + 64];
	int ret;

	if (p) {
		*out = p;
		return request_held(ps, r, p, hosts, err, errlen);
	}
	if (global && (peer_holds(hosts, &r->net) ||
		       pa_other_space_has(&ps->alloc, PA_SPACE_GLOBAL, &r->net)))
		return request_restore(ps, r, hosts, out, err, errlen);
	env.mark_own = hostnet_list_has_peers(hosts);
	cidr_format(&r->net, c, sizeof(c));
	if (pa_check(&ps->alloc, &env, &r->net, r->space, &culprits)) {
		suggest_text(ps, &env, &r->net, sug, sizeof(sug));
		join(&culprits, 4, list, sizeof(list));
		log_info("pool: refuse %s in %s: collides with %s", c,
			 ps->alloc.space_name[r->space], list);
		/* With other nodes' networks in the list, each culprit says where it is. */
		snprintf(err, errlen, "subnet %s collides with %s%s%s", c, list,
			 env.mark_own ? "" : " on this host", sug);
		ret = -EADDRINUSE;
		goto out;
	}
	ret = add_pool(ps, r->space, &r->net, r->has_range ? &r->range : NULL, false, out, err,
		       errlen);
	if (ret == 0)
		log_info("pool: granted requested %s in %s", c, ps->alloc.space_name[r->space]);
out:
	pa_reasons_fini(&culprits);
	return ret;
}

/*
 * Nothing is free: would counting fewer routes help? Say which setting would, naming a
 * subnet it would free, so the operator does not have to guess.
 */
static void exhausted_hint(struct pools *ps, const struct pools_request *r,
			   const struct hostnet_list *hosts, char *buf, size_t len)
{
	struct hostnet_list onlink = {0};
	struct hostnet_route_policy pol = {.mode = HOSTNET_ROUTES_ONLINK};
	struct pa_env env;
	char msg[MSGLEN], c[CIDR_STRLEN];
	struct cidr net;

	snprintf(buf, len,
		 "; widen POOLS%s (docker plugin disable, docker plugin set ... POOLS=..., "
		 "docker plugin enable) or remove networks that are no longer used",
		 r->family == AF_INET6 ? "6" : "");
	for (size_t i = 0; hosts && i < hosts->n; i++) {
		if (hostnet_list_add(&onlink, &hosts->v[i]) < 0)
			goto out;
	}
	if (hostnet_list_filter(&onlink, &pol) == 0)
		goto out;
	env = env_of(ps->cfg, r->family, &onlink);
	if (pa_choose(&ps->alloc, &env, r->family, r->size, &net, NULL, msg, sizeof(msg)) == 0)
		snprintf(buf, len,
			 "; routes via a gateway (a VPN's, say) block every candidate: with "
			 "ROUTES=onlink (or ROUTES=/N to ignore only routes broader than /N) %s "
			 "would be free",
			 cidr_format(&net, c, sizeof(c)));
out:
	hostnet_list_fini(&onlink);
}

/* Lock held. */
static int request_dynamic(struct pools *ps, const struct pools_request *r,
			   const struct hostnet_list *hosts, struct pa_pool **out, char *err,
			   size_t errlen)
{
	struct pa_env env = env_of(ps->cfg, r->family, hosts);
	struct pa_reasons why = {0};
	char c[CIDR_STRLEN], msg[MSGLEN], hint[MSGLEN];
	struct cidr net;
	int ret;

	/* Reasons cost string work per skipped span: only build them when they are logged. */
	ret = pa_choose(&ps->alloc, &env, r->family, r->size, &net,
			log_enabled(LOG_LEVEL_DEBUG) ? &why : NULL, msg, sizeof(msg));
	for (size_t i = 0; i < why.n; i++)
		log_debug("pool: %s", why.line[i]);
	if (ret < 0) {
		hint[0] = '\0';
		if (ret == -ENOSPC)
			exhausted_hint(ps, r, hosts, hint, sizeof(hint));
		log_warnx("pool: nothing to hand out in %s: %s%s", ps->alloc.space_name[r->space],
			  msg, hint);
		snprintf(err, errlen, "%s%s", msg, hint);
		goto out;
	}
	ret = add_pool(ps, r->space, &net, NULL, true, out, err, errlen);
	if (ret == 0)
		log_info("pool: chose %s in %s (%zu blocked candidate spans skipped; "
			 "LOG_LEVEL=debug lists them)",
			 cidr_format(&net, c, sizeof(c)), ps->alloc.space_name[r->space],
			 why.n + why.dropped ? why.n + why.dropped - 1 : 0);
out:
	pa_reasons_fini(&why);
	return ret;
}

/* Keep this host's entries and other nodes' swarm pools (but not copy, if given). */
static void keep_own_and_swarm_pools(struct hostnet_list *l, const struct cidr *copy)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct hostnet *h = &l->v[i];

		if (!h->node[0] ||
		    (h->kind == HOSTNET_POOL && !(copy && cidr_equal(&h->net, copy))))
			l->v[n++] = *h;
	}
	l->n = n;
}

int pools_request(struct pools *ps, const struct pools_request *r, char *id, size_t idlen,
		  struct cidr *pool, char *err, size_t errlen)
{
	struct hostnet_list hosts = {0};
	bool global = r->space == PA_SPACE_GLOBAL;
	struct pa_pool *p = NULL;
	int ret;

	ret = config_refusal(ps, err, errlen);
	if (ret < 0)
		return ret;
	/*
	 * Local-space pools (bridges, this node's copy of a swarm network) live on this node
	 * only; the global space (the swarm leader's choices) must suit every node. A local
	 * pool must still avoid the swarm pools other nodes hold (a bridge on a swarm
	 * network's subnet would break that network's tasks here), except the one a node
	 * copy asks for.
	 */
	ret = read_hosts(ps, true, &hosts, err, errlen);
	if (ret < 0)
		goto out;
	if (!global)
		keep_own_and_swarm_pools(&hosts, r->explicit ? &r->net : NULL);
	pthread_mutex_lock(&ps->lock);
	ret = r->explicit ? request_explicit(ps, r, &hosts, &p, err, errlen)
			  : request_dynamic(ps, r, &hosts, &p, err, errlen);
	if (ret == 0) {
		snprintf(id, idlen, "%s", p->id);
		*pool = p->net;
	}
	pthread_mutex_unlock(&ps->lock);
	if (ret == 0 && ps->publish)
		ps->publish(ps->changed_arg);
out:
	hostnet_list_fini(&hosts);
	return ret;
}

static const char *const id_hint =
	"expected a PoolID returned by RequestPool, such as " POOLS_LOCAL_SPACE "/10.128.0.0/24";

/* Take the lock and find the pool id names; NULL (lock released, err set) when none does. */
static struct pa_pool *lock_pool(struct pools *ps, const char *id, char *err, size_t errlen)
{
	struct pa_pool *p;

	pthread_mutex_lock(&ps->lock);
	p = pa_pool_by_id(&ps->alloc, id);
	if (!p) {
		pthread_mutex_unlock(&ps->lock);
		snprintf(err, errlen, "unknown PoolID \"%s\": %s", id, id_hint);
	}
	return p;
}

int pools_release(struct pools *ps, const char *id, char *err, size_t errlen)
{
	char msg[MSGLEN / 2];
	enum pa_space space;
	struct pa_pool *p;
	int ret = 0;

	p = lock_pool(ps, id, err, errlen);
	if (!p)
		return -ENOENT;
	if (ps->state_dir && state_delete_pool(ps->state_dir, p, msg, sizeof(msg)) < 0) {
		log_warnx("%s: %s", __func__, msg);
		snprintf(err, errlen, "could not update the plugin state, pool kept: %s", msg);
		ret = -EIO;
		goto out;
	}
	log_info("pool: released %s", p->id);
	space = p->space;
	pa_pool_remove(&ps->alloc, p);
	changed(ps, space);
out:
	pthread_mutex_unlock(&ps->lock);
	return ret;
}

int pools_request_address(struct pools *ps, const char *id, const struct cidr *want, int flags,
			  struct cidr *out, char *err, size_t errlen)
{
	char a[CIDR_STRLEN];
	struct pa_pool *p;
	cidr_u128 cursor;
	bool again;
	int ret;

	ret = config_refusal(ps, err, errlen);
	if (ret < 0)
		return ret;
	p = lock_pool(ps, id, err, errlen);
	if (!p)
		return -ENOENT;
	/*
	 * Explicit re-requests of held addresses are replays (swarm restores, node copies
	 * after a restart) and are granted again, except in a local network whose pool we
	 * chose ourselves (a plain bridge network): there it is a second container asking
	 * for the same --ip, which Docker's own IPAM refuses too.
	 */
	if (p->space == PA_SPACE_LOCAL && p->chosen && !(flags & PA_ADDR_GATEWAY))
		flags |= PA_ADDR_UNIQUE;
	cursor = p->cursor;
	ret = pa_addr_request(p, want, flags, out, &again, err, errlen);
	if (ret < 0) {
		log_info("address: refuse in %s: %s", p->id, err);
		goto out;
	}
	cidr_format(out, a, sizeof(a));
	if (!again && save(ps, p, err, errlen) < 0) {
		bool was;
		char msg[128];

		pa_addr_release(p, out, &was, msg, sizeof(msg));
		p->cursor = cursor;
		ret = -EIO;
		goto out;
	}
	log_debug("address: %s %s%s in %s%s", again ? "granted again" : "allocated", a,
		  flags & PA_ADDR_GATEWAY ? " (gateway)" : "", p->id,
		  again ? " (already allocated: an idempotent re-request)" : "");
out:
	pthread_mutex_unlock(&ps->lock);
	return ret;
}

int pools_release_address(struct pools *ps, const char *id, const struct cidr *addr, char *err,
			  size_t errlen)
{
	char a[CIDR_STRLEN];
	struct pa_pool *p;
	bool was;
	int ret;

	p = lock_pool(ps, id, err, errlen);
	if (!p)
		return -ENOENT;
	ret = pa_addr_release(p, addr, &was, err, errlen);
	if (ret < 0)
		goto out;
	cidr_format_addr(addr, a, sizeof(a));
	if (!was) {
		log_debug("address: release of %s in %s: it was not allocated (nothing to do)", a,
			  p->id);
	} else {
		log_debug("address: released %s in %s", a, p->id);
		/* The address is free in memory either way; a failed save only leaks it on disk. */
		if (save(ps, p, err, errlen) < 0)
			log_warnx("%s: %s stays allocated on disk until the next save", __func__,
				  a);
	}
	ret = 0;
out:
	pthread_mutex_unlock(&ps->lock);
	return ret;
}

int pools_global_held(struct pools *ps, struct hostnet_list *out)
{
	int ret = 0;

	pthread_mutex_lock(&ps->lock);
	for (size_t i = 0; i < ps->alloc.n && ret == 0; i++) {
		const struct pa_pool *p = ps->alloc.pools[i];
		struct hostnet h = {.kind = HOSTNET_POOL};

		/*
		 * Local pools too: a bridge's interface appears only after Docker gets the
		 * pool, later than this publication, and the leader must avoid it.
		 */
		h.net = p->net;
		h.addr = p->net;
		ret = hostnet_list_add(out, &h);
	}
	pthread_mutex_unlock(&ps->lock);
	return ret;
}

int pools_explain_check(struct pools *ps, const struct cidr *net, struct pa_reasons *culprits,
			struct cidr *suggestion, bool *has_suggestion, char *err, size_t errlen)
{
	struct hostnet_list hosts = {0};
	struct pa_env env;
	char msg[MSGLEN];
	size_t n;
	int ret;

	*has_suggestion = false;
	ret = read_hosts(ps, true, &hosts, err, errlen);
	if (ret < 0)
		goto out;
	env = env_of(ps->cfg, net->family, &hosts);
	env.mark_own = hostnet_list_has_peers(&hosts);
	pthread_mutex_lock(&ps->lock);
	n = pa_check(&ps->alloc, &env, net, -1, culprits);
	if (n)
		*has_suggestion = pa_choose(&ps->alloc, &env, net->family, net->prefix, suggestion,
					    NULL, msg, sizeof(msg)) == 0;
	pthread_mutex_unlock(&ps->lock);
	ret = (int)n;
out:
	hostnet_list_fini(&hosts);
	return ret;
}

int pools_explain_suggest(struct pools *ps, int family, unsigned int size, struct cidr *out,
			  struct pa_reasons *why, char *err, size_t errlen)
{
	struct hostnet_list hosts = {0};
	struct pools_request r = {.space = PA_SPACE_GLOBAL, .family = family, .size = size};
	struct pa_env env;
	char hint[MSGLEN];
	int ret;

	ret = read_hosts(ps, true, &hosts, err, errlen);
	if (ret < 0)
		goto out;
	env = env_of(ps->cfg, family, &hosts);
	pthread_mutex_lock(&ps->lock);
	ret = pa_choose(&ps->alloc, &env, family, size, out, why, err, errlen);
	if (ret == -ENOSPC) {
		size_t used = strlen(err);

		exhausted_hint(ps, &r, &hosts, hint, sizeof(hint));
		snprintf(err + used, errlen - used, "%s", hint);
	}
	pthread_mutex_unlock(&ps->lock);
out:
	hostnet_list_fini(&hosts);
	return ret;
}
