// SPDX-License-Identifier: MIT
/*
 * ipam_api: IpamDriver handlers. See ipam_api.h and the protocol digest, section 4 and 5.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "ipam_api.h"
#include "jsonutil.h"
#include "log.h"
#include "state.h"

#define ERRLEN 1024

#define OPT_GATEWAY_TYPE "RequestAddressType"
#define OPT_GATEWAY_VALUE "com.docker.network.gateway"
#define OPT_SERIAL "com.docker.network.ipam.serial"
#define OPT_DOCKER_PREFIX "com.docker."

int ipam_init(struct ipam *ip, const struct settings *cfg, const char *state_dir,
	      ipam_hostnets_fn hostnets, void *hostnets_arg, char *err, size_t errlen)
{
	int ret = 0;

	memset(ip, 0, sizeof(*ip));
	pthread_mutex_init(&ip->lock, NULL);
	pa_init(&ip->alloc, IPAM_LOCAL_SPACE, IPAM_GLOBAL_SPACE);
	ip->cfg = cfg;
	ip->state_dir = state_dir;
	ip->hostnets = hostnets;
	ip->hostnets_arg = hostnets_arg;
	if (state_dir)
		ret = state_load(state_dir, &ip->alloc, err, errlen);
	return ret;
}

void ipam_fini(struct ipam *ip)
{
	if (!ip)
		return;
	pa_fini(&ip->alloc);
	pthread_mutex_destroy(&ip->lock);
}

static void log_reasons(const char *what, const struct pa_reasons *r)
{
	for (size_t i = 0; i < r->n; i++)
		log_info("%s: %s", what, r->line[i]);
	if (r->dropped)
		log_info("%s: ... and %zu more lines", what, r->dropped);
}

/* Join reason lines with "; " into buf. */
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

static int read_hosts(struct ipam *ip, struct hostnet_list *hosts, char *err, size_t errlen)
{
	char msg[ERRLEN / 2];
	int ret;

	if (!ip->hostnets)
		return 0;
	ret = ip->hostnets(ip->hostnets_arg, hosts, msg, sizeof(msg));
	if (ret < 0) {
		log_warnx("%s: %s", __func__, msg);
		snprintf(err, errlen,
			 "cannot read this host's networks, so no subnet is safe to "
			 "hand out: %s",
			 msg);
	}
	return ret;
}

static int save(struct ipam *ip, const struct pa_pool *p, char *err, size_t errlen)
{
	char msg[ERRLEN / 2];
	int ret;

	if (!ip->state_dir)
		return 0;
	ret = state_save_pool(ip->state_dir, p, msg, sizeof(msg));
	if (ret < 0) {
		log_warnx("%s: %s", __func__, msg);
		snprintf(err, errlen, "could not save the plugin state, nothing was changed: %s",
			 msg);
	}
	return ret;
}

/* ---- constant endpoints ------------------------------------------------------------ */

static json_t *handle_activate(void *ctx, json_t *req)
{
	(void)ctx;
	(void)req;
	return json_pack("{s:[s]}", "Implements", "IpamDriver");
}

static json_t *handle_capabilities(void *ctx, json_t *req)
{
	(void)ctx;
	(void)req;
	/* Pools and addresses are persisted, so no replay is needed (digest 4.5). */
	return json_pack("{s:b, s:b}", "RequiresMACAddress", 0, "RequiresRequestReplay", 0);
}

static json_t *handle_spaces(void *ctx, json_t *req)
{
	(void)ctx;
	(void)req;
	return json_pack("{s:s, s:s}", "LocalDefaultAddressSpace", IPAM_LOCAL_SPACE,
			 "GlobalDefaultAddressSpace", IPAM_GLOBAL_SPACE);
}

/* ---- RequestPool ------------------------------------------------------------------- */

struct pool_req {
	int space;
	bool explicit;
	struct cidr net;
	bool has_range;
	struct cidr range;
	int family;
	unsigned int size; /* 0: configured */
};

static int parse_pool_options(struct ipam *ip, json_t *opts, struct pool_req *r, char *err,
			      size_t errlen)
{
	const char *key;
	json_t *v;
	size_t n;
	const struct pa_range *rg;

	json_object_foreach(opts, key, v) {
		if (!json_is_string(v)) {
			snprintf(err, errlen, "Options.%s: expected a string, got %s", key,
				 jsonutil_type_name(v));
			return -EINVAL;
		}
		if (strcmp(key, "size") == 0) {
			rg = ranges_of(ip->cfg, r->family, &n);
			if (settings_parse_size(json_string_value(v), r->family, rg, n, &r->size,
						err, errlen) < 0)
				return -EINVAL;
			continue;
		}
		/* Docker's own keys (serial and the like) are not ours to judge. */
		if (strncmp(key, OPT_DOCKER_PREFIX, strlen(OPT_DOCKER_PREFIX)) == 0)
			continue;
		snprintf(err, errlen,
			 "unknown IPAM option %s: the accepted option is size=N "
			 "(prefix length of the subnet to choose)",
			 key);
		return -EINVAL;
	}
	return 0;
}

static int parse_pool_req(struct ipam *ip, json_t *req, struct pool_req *r, char *err,
			  size_t errlen)
{
	const char *space, *pool, *sub;
	json_t *opts;
	bool v6;
	char msg[512];

	memset(r, 0, sizeof(*r));
	if (jsonutil_get_string(req, "AddressSpace", true, &space, err, errlen) < 0 ||
	    jsonutil_get_string(req, "Pool", false, &pool, err, errlen) < 0 ||
	    jsonutil_get_string(req, "SubPool", false, &sub, err, errlen) < 0 ||
	    jsonutil_get_object(req, "Options", false, &opts, err, errlen) < 0 ||
	    jsonutil_get_bool(req, "V6", false, &v6, err, errlen) < 0)
		return -EINVAL;
	r->space = pa_space_parse(&ip->alloc, space);
	if (r->space < 0) {
		snprintf(err, errlen, "unknown AddressSpace \"%s\": accepted %s and %s", space,
			 IPAM_LOCAL_SPACE, IPAM_GLOBAL_SPACE);
		return -EINVAL;
	}
	r->explicit = pool && *pool;
	if (!r->explicit && sub && *sub) {
		snprintf(err, errlen, "SubPool %s given without Pool: --ip-range needs --subnet",
			 sub);
		return -EINVAL;
	}
	r->family = v6 ? AF_INET6 : AF_INET;
	if (r->explicit) {
		/*
		 * Host bits are cleared, not refused: Docker's own IPAM parses --subnet with
		 * Go's net.ParseCIDR, which masks them, and stacks rely on that.
		 */
		if (cidr_parse(pool, 0, &r->net, msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "Pool %s", msg);
			return -EINVAL;
		}
		r->net = cidr_network(&r->net);
		r->family = r->net.family;
		if (sub && *sub) {
			if (cidr_parse(sub, 0, &r->range, msg, sizeof(msg)) < 0) {
				snprintf(err, errlen, "SubPool %s", msg);
				return -EINVAL;
			}
			r->range = cidr_network(&r->range);
			r->has_range = true;
		}
		if (pa_pool_validate(&r->net, r->has_range ? &r->range : NULL, err, errlen) < 0)
			return -EINVAL;
	}
	return opts ? parse_pool_options(ip, opts, r, err, errlen) : 0;
}

static json_t *pool_reply(const struct pa_pool *p)
{
	char buf[CIDR_STRLEN];

	return json_pack("{s:s, s:s, s:{}}", "PoolID", p->id, "Pool",
			 cidr_format(&p->net, buf, sizeof(buf)), "Data");
}

/* Called with the lock held. */
static json_t *request_explicit(struct ipam *ip, const struct pool_req *r,
				const struct hostnet_list *hosts)
{
	enum pa_space space = (enum pa_space)r->space;
	struct pa_pool *p = pa_pool_find(&ip->alloc, space, &r->net);
	struct pa_reasons culprits = {0}, why = {0};
	char c[CIDR_STRLEN], msg[ERRLEN], list[ERRLEN];
	struct pa_env env = env_of(ip->cfg, r->family, hosts);
	bool peers = hostnet_list_has_peers(hosts);
	json_t *reply = NULL;

	env.mark_own = peers;
	cidr_format(&r->net, c, sizeof(c));
	if (p) {
		/* Swarm and dockerd re-request pools they hold (digest 5.2, 5.4). */
		if (r->has_range != p->has_range ||
		    (r->has_range && !cidr_equal(&r->range, &p->range))) {
			struct pa_pool old = *p;

			pa_pool_set_range(p, r->has_range ? &r->range : NULL, msg, sizeof(msg));
			if (save(ip, p, msg, sizeof(msg)) < 0) {
				p->range = old.range;
				p->has_range = old.has_range;
				return jsonutil_error("%s", msg);
			}
		}
		log_info("pool: %s requested again in %s: granted the same pool (idempotent)", c,
			 ip->alloc.space_name[space]);
		return pool_reply(p);
	}
	/*
	 * A global request for the subnet of this node's local copy is the new leader's
	 * allocator restoring a swarm network (digest 5.4): raft is the truth, the network
	 * is already in use here, so only exclusions and pools are checked.
	 */
	if (space == PA_SPACE_GLOBAL && pa_other_space_has(&ip->alloc, space, &r->net))
		env.hosts = NULL;
	if (pa_check(&ip->alloc, &env, &r->net, space, &culprits)) {
		struct cidr sug;
		char sugtext[CIDR_STRLEN + 64] = "";

		env.hosts = hosts;
		if (pa_choose(&ip->alloc, &env, r->family, r->net.prefix, &sug, &why, msg,
			      sizeof(msg)) == 0)
			snprintf(sugtext, sizeof(sugtext), "; a free /%u is %s", r->net.prefix,
				 cidr_format(&sug, msg, sizeof(msg)));
		else
			snprintf(sugtext, sizeof(sugtext), "; no free /%u is left in %s",
				 r->net.prefix, r->family == AF_INET6 ? "POOLS6" : "POOLS");
		join(&culprits, 4, list, sizeof(list));
		log_info("pool: refuse %s in %s: collides with %s", c, ip->alloc.space_name[space],
			 list);
		/* With other nodes' networks in the list, each culprit says where it is. */
		reply = jsonutil_error("subnet %s collides with %s%s%s", c, list,
				       peers ? "" : " on this host", sugtext);
		goto out;
	}
	if (pa_pool_add(&ip->alloc, space, &r->net, r->has_range ? &r->range : NULL, &p, msg,
			sizeof(msg)) < 0) {
		reply = jsonutil_error("%s", msg);
		goto out;
	}
	if (save(ip, p, msg, sizeof(msg)) < 0) {
		pa_pool_remove(&ip->alloc, p);
		reply = jsonutil_error("%s", msg);
		goto out;
	}
	log_info("pool: granted requested %s in %s%s", c, ip->alloc.space_name[space],
		 env.hosts ? "" : " (this node's copy of it is in use)");
	reply = pool_reply(p);
out:
	pa_reasons_fini(&culprits);
	pa_reasons_fini(&why);
	return reply;
}

/* Called with the lock held. */
static json_t *request_dynamic(struct ipam *ip, const struct pool_req *r,
			       const struct hostnet_list *hosts)
{
	enum pa_space space = (enum pa_space)r->space;
	struct pa_env env = env_of(ip->cfg, r->family, hosts);
	struct pa_reasons why = {0};
	char c[CIDR_STRLEN], msg[ERRLEN];
	struct pa_pool *p = NULL;
	struct cidr net;
	json_t *reply = NULL;
	int ret;

	/* Reasons cost string work per skipped span: only build them when they are logged. */
	ret = pa_choose(&ip->alloc, &env, r->family, r->size, &net,
			log_enabled(LOG_LEVEL_INFO) ? &why : NULL, msg, sizeof(msg));
	log_reasons("pool", &why);
	if (ret < 0) {
		log_warnx("pool: nothing to hand out in %s: %s", ip->alloc.space_name[space], msg);
		reply = jsonutil_error("%s", msg);
		goto out;
	}
	if (pa_pool_add(&ip->alloc, space, &net, NULL, &p, msg, sizeof(msg)) < 0) {
		reply = jsonutil_error("%s", msg);
		goto out;
	}
	p->chosen = true;
	if (save(ip, p, msg, sizeof(msg)) < 0) {
		pa_pool_remove(&ip->alloc, p);
		reply = jsonutil_error("%s", msg);
		goto out;
	}
	log_info("pool: chose %s for %s space (%s)", cidr_format(&net, c, sizeof(c)),
		 ip->alloc.space_name[space], p->id);
	reply = pool_reply(p);
out:
	pa_reasons_fini(&why);
	return reply;
}

static json_t *handle_request_pool(void *ctx, json_t *req)
{
	struct ipam *ip = ctx;
	struct hostnet_list hosts = {0};
	struct pool_req r;
	char err[ERRLEN];
	json_t *reply;

	if (parse_pool_req(ip, req, &r, err, sizeof(err)) < 0 ||
	    read_hosts(ip, &hosts, err, sizeof(err)) < 0) {
		hostnet_list_fini(&hosts);
		return jsonutil_error("%s", err);
	}
	/*
	 * Local-space pools (bridges, this node's copy of a swarm network) live on this node
	 * only; the global space (the swarm leader's choices) must suit every node.
	 */
	if (r.space == PA_SPACE_LOCAL)
		hostnet_list_keep_own(&hosts);
	pthread_mutex_lock(&ip->lock);
	reply = r.explicit ? request_explicit(ip, &r, &hosts) : request_dynamic(ip, &r, &hosts);
	pthread_mutex_unlock(&ip->lock);
	hostnet_list_fini(&hosts);
	return reply;
}

/* ---- ReleasePool ------------------------------------------------------------------- */

static const char *const id_hint =
	"expected a PoolID returned by RequestPool, such as " IPAM_LOCAL_SPACE "/10.0.0.0/24";

static json_t *handle_release_pool(void *ctx, json_t *req)
{
	struct ipam *ip = ctx;
	char err[ERRLEN];
	const char *id;
	struct pa_pool *p;
	json_t *reply;

	if (jsonutil_get_string(req, "PoolID", true, &id, err, sizeof(err)) < 0)
		return jsonutil_error("%s", err);
	pthread_mutex_lock(&ip->lock);
	p = pa_pool_by_id(&ip->alloc, id);
	if (!p) {
		reply = jsonutil_error("unknown PoolID \"%s\": %s", id, id_hint);
		goto out;
	}
	if (ip->state_dir && state_delete_pool(ip->state_dir, p, err, sizeof(err)) < 0) {
		log_warnx("%s: %s", __func__, err);
		reply = jsonutil_error("could not update the plugin state, pool kept: %s", err);
		goto out;
	}
	log_info("pool: released %s", p->id);
	pa_pool_remove(&ip->alloc, p);
	reply = json_object();
out:
	pthread_mutex_unlock(&ip->lock);
	return reply;
}

/* ---- RequestAddress / ReleaseAddress ----------------------------------------------- */

static int parse_addr_options(json_t *opts, int *flags, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	*flags = 0;
	json_object_foreach(opts, key, v) {
		const char *s = json_string_value(v);
		bool b;

		/* Swarm copies the network's --ipam-opt here too; only these keys matter. */
		if (strcmp(key, OPT_GATEWAY_TYPE) == 0 && s && strcmp(s, OPT_GATEWAY_VALUE) == 0)
			*flags |= PA_ADDR_GATEWAY;
		if (strcmp(key, OPT_SERIAL) == 0) {
			if (!s ||
			    config_parse_bool("Options." OPT_SERIAL, s, &b, err, errlen) < 0) {
				if (!s)
					snprintf(err, errlen,
						 "Options.%s: expected a string, got %s", key,
						 jsonutil_type_name(v));
				return -EINVAL;
			}
			if (b)
				*flags |= PA_ADDR_SERIAL;
		}
	}
	return 0;
}

static int parse_address(const char *text, struct cidr *out, char *err, size_t errlen)
{
	char msg[512];

	if (cidr_parse(text, CIDR_PARSE_ALLOW_BARE, out, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "Address %s (expected a plain IP such as 10.0.0.5)", msg);
		return -EINVAL;
	}
	out->prefix = cidr_max_prefix(out);
	return 0;
}

static json_t *handle_request_address(void *ctx, json_t *req)
{
	struct ipam *ip = ctx;
	const char *id, *addr;
	char err[ERRLEN], a[CIDR_STRLEN];
	struct cidr want, got;
	struct pa_pool *p;
	json_t *opts, *reply;
	cidr_u128 cursor;
	int flags = 0;
	bool again;

	if (jsonutil_get_string(req, "PoolID", true, &id, err, sizeof(err)) < 0 ||
	    jsonutil_get_string(req, "Address", false, &addr, err, sizeof(err)) < 0 ||
	    jsonutil_get_object(req, "Options", false, &opts, err, sizeof(err)) < 0 ||
	    (opts && parse_addr_options(opts, &flags, err, sizeof(err)) < 0) ||
	    (addr && *addr && parse_address(addr, &want, err, sizeof(err)) < 0))
		return jsonutil_error("%s", err);
	pthread_mutex_lock(&ip->lock);
	p = pa_pool_by_id(&ip->alloc, id);
	if (!p) {
		reply = jsonutil_error("unknown PoolID \"%s\": %s", id, id_hint);
		goto out;
	}
	/*
	 * Explicit re-requests of held addresses are replays (swarm restores, node copies
	 * after a restart) and are granted again, except in a local network whose pool we
	 * chose ourselves (a plain bridge network): there it is a second container asking
	 * for the same --ip, which Docker's own IPAM refuses too.
	 */
	if (p->space == PA_SPACE_LOCAL && p->chosen && !(flags & PA_ADDR_GATEWAY))
		flags |= PA_ADDR_UNIQUE;
	cursor = p->cursor;
	if (pa_addr_request(p, addr && *addr ? &want : NULL, flags, &got, &again, err,
			    sizeof(err)) < 0) {
		log_info("address: refuse in %s: %s", p->id, err);
		reply = jsonutil_error("%s", err);
		goto out;
	}
	cidr_format(&got, a, sizeof(a));
	if (!again && save(ip, p, err, sizeof(err)) < 0) {
		bool was;

		pa_addr_release(p, &got, &was, a, sizeof(a));
		p->cursor = cursor;
		reply = jsonutil_error("%s", err);
		goto out;
	}
	log_info("address: %s %s%s in %s%s", again ? "granted again" : "allocated", a,
		 flags & PA_ADDR_GATEWAY ? " (gateway)" : "", p->id,
		 again ? " (already allocated: an idempotent re-request)" : "");
	reply = json_pack("{s:s, s:{}}", "Address", a, "Data");
out:
	pthread_mutex_unlock(&ip->lock);
	return reply;
}

static json_t *handle_release_address(void *ctx, json_t *req)
{
	struct ipam *ip = ctx;
	const char *id, *addr;
	char err[ERRLEN], a[CIDR_STRLEN];
	struct pa_pool *p;
	struct cidr c;
	json_t *reply;
	bool was;

	if (jsonutil_get_string(req, "PoolID", true, &id, err, sizeof(err)) < 0 ||
	    jsonutil_get_string(req, "Address", true, &addr, err, sizeof(err)) < 0 ||
	    parse_address(addr, &c, err, sizeof(err)) < 0)
		return jsonutil_error("%s", err);
	pthread_mutex_lock(&ip->lock);
	p = pa_pool_by_id(&ip->alloc, id);
	if (!p) {
		reply = jsonutil_error("unknown PoolID \"%s\": %s", id, id_hint);
		goto out;
	}
	if (pa_addr_release(p, &c, &was, err, sizeof(err)) < 0) {
		reply = jsonutil_error("%s", err);
		goto out;
	}
	cidr_format_addr(&c, a, sizeof(a));
	if (!was) {
		log_info("address: release of %s in %s: it was not allocated (nothing to do)", a,
			 p->id);
	} else {
		log_info("address: released %s in %s", a, p->id);
		/* The address is free in memory either way; a failed save only leaks it on disk. */
		if (save(ip, p, err, sizeof(err)) < 0)
			log_warnx("%s: %s stays allocated on disk until the next save", __func__,
				  a);
	}
	reply = json_object();
out:
	pthread_mutex_unlock(&ip->lock);
	return reply;
}

const struct http_route ipam_routes[] = {
	{"/Plugin.Activate", handle_activate},
	{"/IpamDriver.GetCapabilities", handle_capabilities},
	{"/IpamDriver.GetDefaultAddressSpaces", handle_spaces},
	{"/IpamDriver.RequestPool", handle_request_pool},
	{"/IpamDriver.ReleasePool", handle_release_pool},
	{"/IpamDriver.RequestAddress", handle_request_address},
	{"/IpamDriver.ReleaseAddress", handle_release_address},
};
const size_t ipam_nroutes = sizeof(ipam_routes) / sizeof(ipam_routes[0]);

/* ---- operator CLI ------------------------------------------------------------------ */

int ipam_explain_check(struct ipam *ip, const struct cidr *net, struct pa_reasons *culprits,
		       struct cidr *suggestion, bool *has_suggestion, char *err, size_t errlen)
{
	struct hostnet_list hosts = {0};
	struct pa_env env;
	char msg[ERRLEN];
	size_t n;
	int ret;

	*has_suggestion = false;
	ret = read_hosts(ip, &hosts, err, errlen);
	if (ret < 0)
		goto out;
	env = env_of(ip->cfg, net->family, &hosts);
	env.mark_own = hostnet_list_has_peers(&hosts);
	pthread_mutex_lock(&ip->lock);
	n = pa_check(&ip->alloc, &env, net, -1, culprits);
	if (n)
		*has_suggestion = pa_choose(&ip->alloc, &env, net->family, net->prefix, suggestion,
					    NULL, msg, sizeof(msg)) == 0;
	pthread_mutex_unlock(&ip->lock);
	ret = (int)n;
out:
	hostnet_list_fini(&hosts);
	return ret;
}

int ipam_explain_suggest(struct ipam *ip, int family, unsigned int size, struct cidr *out,
			 struct pa_reasons *why, char *err, size_t errlen)
{
	struct hostnet_list hosts = {0};
	struct pa_env env;
	int ret;

	ret = read_hosts(ip, &hosts, err, errlen);
	if (ret < 0)
		goto out;
	env = env_of(ip->cfg, family, &hosts);
	pthread_mutex_lock(&ip->lock);
	ret = pa_choose(&ip->alloc, &env, family, size, out, why, err, errlen);
	pthread_mutex_unlock(&ip->lock);
out:
	hostnet_list_fini(&hosts);
	return ret;
}
