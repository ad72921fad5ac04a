// SPDX-License-Identifier: MIT
/*
 * ipam_api: IpamDriver handlers: JSON in, pools calls, JSON out. See ipam_api.h and
 * docs/plugin-protocol.md, sections 4 and 5.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "ipam_api.h"
#include "jsonutil.h"
#include "log.h"

#define ERRLEN 1024

#define OPT_GATEWAY_TYPE "RequestAddressType"
#define OPT_GATEWAY_VALUE "com.docker.network.gateway"
#define OPT_SERIAL "com.docker.network.ipam.serial"
#define OPT_DOCKER_PREFIX "com.docker."

/* ---- constant endpoints ------------------------------------------------------------ */

static json_t *handle_activate(void *ctx, json_t *req)
{
	(void)ctx;
	(void)req;
	return json_pack("{s:[s]}", "Implements", "IpamDriver");
}

static json_t *handle_capabilities(void *ctx, json_t *req)
{
	struct ipam_api *api = ctx;

	(void)req;
	/*
	 * Called at enable and whenever a swarm leader's allocator starts, which then
	 * re-requests every network's subnet: a new session of the replay rule (pools.h).
	 */
	pools_new_session(api->pools);
	/* Pools and addresses are persisted, so no replay is needed (docs/plugin-protocol.md 4.5).
	 */
	return json_pack("{s:b, s:b}", "RequiresMACAddress", 0, "RequiresRequestReplay", 0);
}

static json_t *handle_spaces(void *ctx, json_t *req)
{
	(void)ctx;
	(void)req;
	return json_pack("{s:s, s:s}", "LocalDefaultAddressSpace", POOLS_LOCAL_SPACE,
			 "GlobalDefaultAddressSpace", POOLS_GLOBAL_SPACE);
}

/* ---- RequestPool ------------------------------------------------------------------- */

static const struct pa_range *ranges_of(const struct settings *cfg, int family, size_t *n)
{
	*n = family == AF_INET6 ? cfg->npools6 : cfg->npools;
	return family == AF_INET6 ? cfg->pools6 : cfg->pools;
}

static int parse_pool_options(struct ipam_api *api, json_t *opts, struct pools_request *r,
			      char *err, size_t errlen)
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
			rg = ranges_of(api->pools->cfg, r->family, &n);
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

static int parse_pool_req(struct ipam_api *api, json_t *req, struct pools_request *r, char *err,
			  size_t errlen)
{
	const char *space, *pool, *sub;
	json_t *opts;
	bool v6;
	char msg[512];
	int n;

	memset(r, 0, sizeof(*r));
	if (jsonutil_get_string(req, "AddressSpace", true, &space, err, errlen) < 0 ||
	    jsonutil_get_string(req, "Pool", false, &pool, err, errlen) < 0 ||
	    jsonutil_get_string(req, "SubPool", false, &sub, err, errlen) < 0 ||
	    jsonutil_get_object(req, "Options", false, &opts, err, errlen) < 0 ||
	    jsonutil_get_bool(req, "V6", false, &v6, err, errlen) < 0)
		return -EINVAL;
	n = pools_space_parse(api->pools, space);
	if (n < 0) {
		snprintf(err, errlen, "unknown AddressSpace \"%s\": accepted %s and %s", space,
			 POOLS_LOCAL_SPACE, POOLS_GLOBAL_SPACE);
		return -EINVAL;
	}
	r->space = (enum pa_space)n;
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
	return opts ? parse_pool_options(api, opts, r, err, errlen) : 0;
}

static json_t *handle_request_pool(void *ctx, json_t *req)
{
	struct ipam_api *api = ctx;
	struct pools_request r;
	char err[ERRLEN], id[PA_ID_LEN], c[CIDR_STRLEN];
	struct cidr pool;

	if (parse_pool_req(api, req, &r, err, sizeof(err)) < 0 ||
	    pools_request(api->pools, &r, id, sizeof(id), &pool, err, sizeof(err)) < 0)
		return jsonutil_error("%s", err);
	return json_pack("{s:s, s:s, s:{}}", "PoolID", id, "Pool", cidr_format(&pool, c, sizeof(c)),
			 "Data");
}

/* ---- ReleasePool ------------------------------------------------------------------- */

static json_t *handle_release_pool(void *ctx, json_t *req)
{
	struct ipam_api *api = ctx;
	char err[ERRLEN];
	const char *id;

	if (jsonutil_get_string(req, "PoolID", true, &id, err, sizeof(err)) < 0 ||
	    pools_release(api->pools, id, err, sizeof(err)) < 0)
		return jsonutil_error("%s", err);
	return json_object();
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
	struct ipam_api *api = ctx;
	const char *id, *addr;
	char err[ERRLEN], a[CIDR_STRLEN];
	struct cidr want, got;
	json_t *opts;
	int flags = 0;

	if (jsonutil_get_string(req, "PoolID", true, &id, err, sizeof(err)) < 0 ||
	    jsonutil_get_string(req, "Address", false, &addr, err, sizeof(err)) < 0 ||
	    jsonutil_get_object(req, "Options", false, &opts, err, sizeof(err)) < 0 ||
	    (opts && parse_addr_options(opts, &flags, err, sizeof(err)) < 0) ||
	    (addr && *addr && parse_address(addr, &want, err, sizeof(err)) < 0))
		return jsonutil_error("%s", err);
	if (pools_request_address(api->pools, id, addr && *addr ? &want : NULL, flags, &got, err,
				  sizeof(err)) < 0)
		return jsonutil_error("%s", err);
	return json_pack("{s:s, s:{}}", "Address", cidr_format(&got, a, sizeof(a)), "Data");
}

static json_t *handle_release_address(void *ctx, json_t *req)
{
	struct ipam_api *api = ctx;
	const char *id, *addr;
	char err[ERRLEN];
	struct cidr c;

	if (jsonutil_get_string(req, "PoolID", true, &id, err, sizeof(err)) < 0 ||
	    jsonutil_get_string(req, "Address", true, &addr, err, sizeof(err)) < 0 ||
	    parse_address(addr, &c, err, sizeof(err)) < 0 ||
	    pools_release_address(api->pools, id, &c, err, sizeof(err)) < 0)
		return jsonutil_error("%s", err);
	return json_object();
}

/* ---- Preflight.Ipam (ours: scripts/preflight.sh) ---------------------------------- */

struct report {
	char *buf;
	size_t len, used;
	bool ok;
};

static void report_add(struct report *r, bool problem, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void report_add(struct report *r, bool problem, const char *fmt, ...)
{
	va_list ap;

	if (problem)
		r->ok = false;
	if (r->used + 1 >= r->len)
		return;
	if (problem)
		r->used += (size_t)snprintf(r->buf + r->used, r->len - r->used, "PROBLEM: ");
	if (r->used + 1 >= r->len)
		return;
	va_start(ap, fmt);
	r->used += (size_t)vsnprintf(r->buf + r->used, r->len - r->used, fmt, ap);
	va_end(ap);
	if (r->used + 1 < r->len)
		r->buf[r->used++] = '\n', r->buf[r->used] = '\0';
}

/*
 * Does a POOLS range hold the bottom of the swarm's default address pool? Docker's own
 * allocator hands that pool out from its first address up, so a range there gives the
 * same subnets twice; a range in its far top (the default POOLS in 10.0.0.0/8) is only
 * reached after tens of thousands of networks and is reported, not refused.
 */
static void preflight_default_pools(struct ipam_api *api, json_t *pools, struct report *r)
{
	const struct settings *cfg = api->pools->cfg;
	char c[CIDR_STRLEN], d[CIDR_STRLEN], msg[256];
	struct cidr dp;
	json_t *v;
	size_t i;

	json_array_foreach(pools, i, v) {
		bool clash = false;

		if (!json_is_string(v) ||
		    cidr_parse(json_string_value(v), 0, &dp, msg, sizeof(msg)) < 0) {
			report_add(r, true, "DefaultAddrPools[%zu]: not a CIDR", i);
			continue;
		}
		dp = cidr_network(&dp);
		for (size_t k = 0; k < cfg->npools; k++) {
			struct cidr bottom = dp;

			if (!cidr_overlaps(&cfg->pools[k].net, &dp))
				continue;
			bottom.prefix = cidr_max_prefix(&dp);
			if (!cidr_overlaps(&cfg->pools[k].net, &bottom)) {
				report_add(
					r, false,
					"POOLS range %s lies in the top of the swarm's default "
					"address pool %s, which Docker's own allocator fills from "
					"the bottom: no clash in practice",
					cidr_format(&cfg->pools[k].net, c, sizeof(c)),
					cidr_format(&dp, d, sizeof(d)));
				continue;
			}
			clash = true;
			report_add(r, true,
				   "POOLS range %s holds the bottom of the swarm's default address "
				   "pool %s, where Docker's own allocator (overlays without "
				   "--ipam-driver, a stack's _default network) starts; set "
				   "POOLS outside it (docker plugin set openmpf/ipam:latest "
				   "POOLS=...) "
				   "or init the swarm with another --default-addr-pool",
				   cidr_format(&cfg->pools[k].net, c, sizeof(c)),
				   cidr_format(&dp, d, sizeof(d)));
		}
		if (!clash)
			report_add(r, false,
				   "POOLS does not clash with the swarm's default "
				   "address pool %s",
				   cidr_format(&dp, d, sizeof(d)));
	}
}

static void preflight_subnet(struct ipam_api *api, json_t *v, size_t i, struct report *r)
{
	struct pa_reasons culprits = {0};
	char msg[ERRLEN], c[CIDR_STRLEN], s[CIDR_STRLEN];
	struct cidr net, sug;
	bool has_sug;
	int n;

	if (!json_is_string(v) || cidr_parse(json_string_value(v), 0, &net, msg, sizeof(msg)) < 0) {
		report_add(r, true, "Subnets[%zu]: not a CIDR (such as 10.128.5.0/24)", i);
		return;
	}
	net = cidr_network(&net);
	cidr_format(&net, c, sizeof(c));
	n = pools_explain_check(api->pools, &net, &culprits, &sug, &has_sug, msg, sizeof(msg));
	if (n < 0)
		report_add(r, true, "subnet %s: cannot check: %s", c, msg);
	else if (n == 0)
		report_add(r, false, "subnet %s is free on every node this plugin knows of", c);
	else
		report_add(r, true, "subnet %s collides with %s%s%s%s", c,
			   culprits.n ? culprits.line[0] : "?", culprits.n > 1 ? " and more" : "",
			   has_sug ? "; a free one of that size is " : "",
			   has_sug ? cidr_format(&sug, s, sizeof(s)) : "");
	pa_reasons_fini(&culprits);
}

/*
 * What an operator wants to know before deploying, from this node's plugin: settings,
 * the shared place, the swarm's default pool, requested subnets, the next choice.
 */
static json_t *handle_preflight(void *ctx, json_t *req)
{
	struct ipam_api *api = ctx;
	struct report r = {.ok = true};
	struct pa_reasons why = {0};
	char line[2048], err[ERRLEN], c[CIDR_STRLEN];
	json_t *subnets = NULL, *dpools = NULL, *v, *reply;
	struct cidr next;
	size_t i;

	if ((req && json_unpack_ex(req, NULL, 0, "{s?o, s?o}", "Subnets", &subnets,
				   "DefaultAddrPools", &dpools) < 0) ||
	    (subnets && !json_is_array(subnets)) || (dpools && !json_is_array(dpools)))
		return jsonutil_error("expected {\"Subnets\":[\"CIDR\",...],"
				      "\"DefaultAddrPools\":[\"CIDR\",...]} (both optional)");
	r.len = 16384;
	r.buf = calloc(1, r.len);
	if (!r.buf)
		return jsonutil_error("out of memory");
	report_add(&r, false, "settings: %s", settings_format(api->pools->cfg, line, sizeof(line)));
	if (api->pools->config_error)
		report_add(&r, true, "%s", api->pools->config_error);
	if (api->peers_state && !api->peers_state(api->peers_arg, line, sizeof(line)))
		report_add(&r, true, "%s", line);
	else if (api->peers_state)
		report_add(&r, false, "%s", line);
	if (dpools)
		preflight_default_pools(api, dpools, &r);
	json_array_foreach(subnets, i, v)
		preflight_subnet(api, v, i, &r);
	if (!api->pools->config_error) {
		if (pools_explain_suggest(api->pools, AF_INET, 0, &next, &why, err, sizeof(err)) <
		    0)
			report_add(&r, true, "a new swarm network would get no subnet: %s", err);
		else
			report_add(&r, false, "a new swarm network would get %s now",
				   cidr_format(&next, c, sizeof(c)));
	}
	pa_reasons_fini(&why);
	reply = json_pack("{s:b, s:s}", "Ok", r.ok, "Report", r.buf);
	free(r.buf);
	return reply ? reply : jsonutil_error("out of memory");
}

const struct http_route ipam_routes[] = {
	{"/Plugin.Activate", handle_activate},
	{"/IpamDriver.GetCapabilities", handle_capabilities},
	{"/IpamDriver.GetDefaultAddressSpaces", handle_spaces},
	{"/IpamDriver.RequestPool", handle_request_pool},
	{"/IpamDriver.ReleasePool", handle_release_pool},
	{"/IpamDriver.RequestAddress", handle_request_address},
	{"/IpamDriver.ReleaseAddress", handle_release_address},
	{"/Preflight.Ipam", handle_preflight},
};
const size_t ipam_nroutes = sizeof(ipam_routes) / sizeof(ipam_routes[0]);
