// SPDX-License-Identifier: MIT
/*
 * settings: environment to struct settings, validated. See settings.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config.h"
#include "location.h"
#include "peers.h"
#include "settings.h"

/* Copy the comma-separated item starting at *p into buf, advancing *p. */
static bool next_item(const char **p, char *buf, size_t len)
{
	const char *s = *p, *end;
	size_t n;

	while (*s == ' ' || *s == ',')
		s++;
	if (!*s)
		return false;
	end = strchr(s, ',');
	n = end ? (size_t)(end - s) : strlen(s);
	while (n && s[n - 1] == ' ')
		n--;
	snprintf(buf, len, "%.*s", (int)n, s);
	*p = end ? end + 1 : s + strlen(s);
	return true;
}

static unsigned int max_prefix(int family)
{
	return family == AF_INET6 ? PA_MAX_PREFIX6 : PA_MAX_PREFIX4;
}

static const char *family_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

static int parse_range(const char *name, const char *item, int family, struct pa_range *out,
		       char *err, size_t errlen)
{
	char buf[128], msg[256];
	const char *slash = strchr(item, '/');
	char *colon = NULL;
	unsigned long size;

	snprintf(buf, sizeof(buf), "%s", item);
	if (slash)
		colon = strchr(buf + (slash - item), ':');
	if (colon)
		*colon = '\0';
	if (cidr_parse(buf, CIDR_PARSE_STRICT, &out->net, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "%s: %s", name, msg);
		return -EINVAL;
	}
	if (out->net.family != family) {
		snprintf(err, errlen, "%s: %s is not an %s range (use %s for %s)", name, buf,
			 family_name(family), family == AF_INET ? "POOLS6" : "POOLS",
			 family_name(out->net.family));
		return -EINVAL;
	}
	if (out->net.prefix < 1 || out->net.prefix > max_prefix(family)) {
		snprintf(err, errlen, "%s: %s: range prefix length must be 1-%u", name, buf,
			 max_prefix(family));
		return -EINVAL;
	}
	if (!colon) {
		unsigned int def = family == AF_INET6 ? 64 : 24;

		out->size = out->net.prefix > def ? out->net.prefix : def;
		return 0;
	}
	snprintf(msg, sizeof(msg), "%s size of %s", name, buf);
	if (config_parse_uint(msg, colon + 1, out->net.prefix, max_prefix(family), &size, err,
			      errlen) < 0)
		return -EINVAL;
	out->size = (unsigned int)size;
	return 0;
}

int settings_parse_ranges(const char *name, const char *text, int family, struct pa_range *out,
			  size_t max, size_t *n, char *err, size_t errlen)
{
	const char *p = text;
	char item[128];

	*n = 0;
	if (strcasecmp(text, "none") == 0)
		return 0;
	while (next_item(&p, item, sizeof(item))) {
		if (*n == max) {
			snprintf(err, errlen, "%s: more than %zu ranges", name, max);
			return -EINVAL;
		}
		if (parse_range(name, item, family, &out[*n], err, errlen) < 0)
			return -EINVAL;
		(*n)++;
	}
	if (*n == 0) {
		snprintf(err, errlen, "%s=%s: expected CIDR[:SIZE],... such as %s, or none", name,
			 text,
			 family == AF_INET6 ? SETTINGS_DEFAULT_POOLS6 : SETTINGS_DEFAULT_POOLS);
		return -EINVAL;
	}
	return 0;
}

int settings_parse_cidrs(const char *name, const char *text, struct cidr *out, size_t max,
			 size_t *n, char *err, size_t errlen)
{
	const char *p = text;
	char item[128], msg[256];

	*n = 0;
	while (next_item(&p, item, sizeof(item))) {
		if (*n == max) {
			snprintf(err, errlen, "%s: more than %zu entries", name, max);
			return -EINVAL;
		}
		if (cidr_parse(item, CIDR_PARSE_STRICT | CIDR_PARSE_ALLOW_BARE, &out[*n], msg,
			       sizeof(msg)) < 0) {
			snprintf(err, errlen, "%s: %s (expected comma-separated CIDRs)", name, msg);
			return -EINVAL;
		}
		(*n)++;
	}
	return 0;
}

int settings_parse_size(const char *text, int family, const struct pa_range *ranges, size_t n,
			unsigned int *out, char *err, size_t errlen)
{
	unsigned int lo = max_prefix(family) + 1;
	unsigned long v;

	for (size_t i = 0; i < n; i++) {
		if (ranges[i].net.family == family && ranges[i].net.prefix < lo)
			lo = ranges[i].net.prefix;
	}
	if (lo > max_prefix(family)) {
		snprintf(err, errlen, "size=%s: no %s candidate ranges are configured", text,
			 family_name(family));
		return -EINVAL;
	}
	if (text[0] == '/')
		text++;
	if (config_parse_uint("size", text, lo, max_prefix(family), &v, err, errlen) < 0)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static const char *env_or(char *const *envp, const char *name, const char *def)
{
	const char *v = config_env_get(envp, name);

	return v && *v ? v : def;
}

#define NODE_NAME_RULE "1-63 characters of A-Z a-z 0-9 _ . -, not starting with a dot"

/* SHARED_NETWORKS, NODE_NAME, PUBLISH_INTERVAL, PEER_STALE_AFTER, NFS_TIMEOUT. */
static int parse_peer_settings(char *const *envp, struct settings *out, char *err, size_t errlen)
{
	const char *v = env_or(envp, "SHARED_NETWORKS", "");

	if (strlen(v) >= sizeof(out->shared_networks)) {
		snprintf(err, errlen, "SHARED_NETWORKS: longer than %zu characters",
			 sizeof(out->shared_networks) - 1);
		return -EINVAL;
	}
	{
		struct location loc;

		if (location_parse(v, &loc, err, errlen) < 0)
			return -EINVAL;
	}
	snprintf(out->shared_networks, sizeof(out->shared_networks), "%s", v);
	v = env_or(envp, "NODE_NAME", "");
	if (*v && !peers_node_name_valid(v)) {
		snprintf(err, errlen, "NODE_NAME=%s: expected " NODE_NAME_RULE, v);
		return -EINVAL;
	}
	snprintf(out->node_name, sizeof(out->node_name), "%s", v);
	if (config_get_uint(envp, "PUBLISH_INTERVAL", SETTINGS_DEFAULT_PUBLISH_INTERVAL, 1, 3600,
			    &out->publish_interval, err, errlen) < 0 ||
	    config_get_uint(envp, "PEER_STALE_AFTER", SETTINGS_DEFAULT_PEER_STALE_AFTER, 2, 604800,
			    &out->peer_stale_after, err, errlen) < 0 ||
	    config_get_uint(envp, "NFS_TIMEOUT", SETTINGS_DEFAULT_NFS_TIMEOUT, 1, 25,
			    &out->nfs_timeout, err, errlen) < 0)
		return -EINVAL;
	if (out->peer_stale_after <= out->publish_interval) {
		snprintf(err, errlen,
			 "PEER_STALE_AFTER=%lu: must exceed PUBLISH_INTERVAL=%lu (a live node "
			 "would look departed between two publications); a few intervals is usual",
			 out->peer_stale_after, out->publish_interval);
		return -EINVAL;
	}
	return 0;
}

int settings_parse(char *const *envp, struct settings *out, char *err, size_t errlen)
{
	const char *v;

	memset(out, 0, sizeof(*out));
	if (settings_parse_ranges("POOLS", env_or(envp, "POOLS", SETTINGS_DEFAULT_POOLS), AF_INET,
				  out->pools, SETTINGS_MAX_RANGES, &out->npools, err, errlen) < 0)
		return -EINVAL;
	v = env_or(envp, "POOLS6", SETTINGS_DEFAULT_POOLS6);
	if (strcasecmp(v, "auto") == 0)
		out->pools6_auto = true;
	else if (settings_parse_ranges("POOLS6", v, AF_INET6, out->pools6, SETTINGS_MAX_RANGES,
				       &out->npools6, err, errlen) < 0)
		return -EINVAL;
	if (settings_parse_routes(env_or(envp, "ROUTES", SETTINGS_DEFAULT_ROUTES), &out->routes,
				  err, errlen) < 0)
		return -EINVAL;
	if (settings_parse_cidrs("EXCLUDE", env_or(envp, "EXCLUDE", ""), out->exclude,
				 SETTINGS_MAX_EXCLUDE, &out->nexclude, err, errlen) < 0)
		return -EINVAL;
	v = env_or(envp, "LOG_LEVEL", "info");
	if (log_level_parse(v, &out->log_level) < 0) {
		snprintf(err, errlen, "LOG_LEVEL=%s: expected one of error, warn, info, debug", v);
		return -EINVAL;
	}
	v = env_or(envp, "STATE_DIR", SETTINGS_DEFAULT_STATE_DIR);
	if (v[0] != '/' || strlen(v) >= sizeof(out->state_dir)) {
		snprintf(err, errlen, "STATE_DIR=%s: expected an absolute directory path", v);
		return -EINVAL;
	}
	snprintf(out->state_dir, sizeof(out->state_dir), "%s", v);
	return parse_peer_settings(envp, out, err, errlen);
}

#define ROUTES_FORMS                                                                               \
	"expected all (every route counts), onlink (only routes without a gateway) or /N[,/M] "    \
	"(only routes at least as specific as /N for IPv4 and /M for IPv6; "                       \
	"default " SETTINGS_DEFAULT_ROUTES ")"

int settings_parse_routes(const char *text, struct hostnet_route_policy *out, char *err,
			  size_t errlen)
{
	unsigned long v4, v6 = HOSTNET_DEFAULT_MIN6;
	char buf[64], *comma;

	memset(out, 0, sizeof(*out));
	if (strcasecmp(text, "all") == 0) {
		out->mode = HOSTNET_ROUTES_ALL;
		return 0;
	}
	if (strcasecmp(text, "onlink") == 0) {
		out->mode = HOSTNET_ROUTES_ONLINK;
		return 0;
	}
	if (text[0] != '/' || strlen(text) >= sizeof(buf))
		goto refuse;
	snprintf(buf, sizeof(buf), "%s", text + 1);
	comma = strchr(buf, ',');
	if (comma) {
		*comma++ = '\0';
		if (*comma++ != '/' ||
		    config_parse_uint("ROUTES (IPv6)", comma, 1, 128, &v6, err, errlen) < 0)
			goto refuse;
	}
	if (config_parse_uint("ROUTES (IPv4)", buf, 1, 32, &v4, err, errlen) < 0)
		goto refuse;
	out->mode = HOSTNET_ROUTES_MIN;
	out->min4 = (unsigned int)v4;
	out->min6 = (unsigned int)v6;
	return 0;
refuse:
	snprintf(err, errlen, "ROUTES=%s: " ROUTES_FORMS, text);
	return -EINVAL;
}

char *settings_format_routes(const struct hostnet_route_policy *p, char *buf, size_t len)
{
	if (p->mode == HOSTNET_ROUTES_ALL)
		snprintf(buf, len, "all");
	else if (p->mode == HOSTNET_ROUTES_ONLINK)
		snprintf(buf, len, "onlink");
	else
		snprintf(buf, len, "/%u,/%u", p->min4, p->min6);
	return buf;
}

struct cidr settings_ula_from_random(const unsigned char rnd[5])
{
	struct cidr c;
	char text[CIDR_STRLEN], err[128];

	snprintf(text, sizeof(text), "fd%02x:%02x%02x:%02x%02x::/48", rnd[0], rnd[1], rnd[2],
		 rnd[3], rnd[4]);
	cidr_parse(text, CIDR_PARSE_STRICT, &c, err, sizeof(err));
	return c;
}

int settings_set_ula(struct settings *s, const struct cidr *ula)
{
	if (ula->family != AF_INET6 || ula->prefix != 48 || (cidr_to_u128(ula) >> 120) != 0xfd)
		return -EINVAL;
	s->pools6[0].net = *ula;
	s->pools6[0].size = 64;
	s->npools6 = 1;
	return 0;
}

int settings_default_node(struct settings *s, const char *hostname, char *err, size_t errlen)
{
	if (s->node_name[0])
		return 0;
	if (!peers_node_name_valid(hostname)) {
		snprintf(err, errlen,
			 "NODE_NAME is not set and the host name \"%s\" is not a valid node name: "
			 "set NODE_NAME (" NODE_NAME_RULE ")",
			 hostname ? hostname : "");
		return -EINVAL;
	}
	snprintf(s->node_name, sizeof(s->node_name), "%s", hostname);
	return 0;
}

static size_t put_ranges(char *buf, size_t len, size_t used, const struct pa_range *r, size_t n)
{
	char c[CIDR_STRLEN];

	if (n == 0 && used < len)
		used += (size_t)snprintf(buf + used, len - used, "none");
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s:%u", i ? "," : "",
					 cidr_format(&r[i].net, c, sizeof(c)), r[i].size);
	return used;
}

char *settings_format(const struct settings *s, char *buf, size_t len)
{
	char c[CIDR_STRLEN];
	size_t used = 0;

	char routes[32];

	used += (size_t)snprintf(buf + used, len - used, "POOLS=");
	used = put_ranges(buf, len, used, s->pools, s->npools);
	if (used < len)
		used += (size_t)snprintf(buf + used, len - used, " POOLS6=%s",
					 s->pools6_auto ? "auto:" : "");
	if (s->pools6_auto && !s->npools6 && used < len)
		used += (size_t)snprintf(buf + used, len - used, "(not chosen yet)");
	else
		used = put_ranges(buf, len, used, s->pools6, s->npools6);
	if (used < len)
		used += (size_t)snprintf(
			buf + used, len - used, " ROUTES=%s",
			settings_format_routes(&s->routes, routes, sizeof(routes)));
	if (used < len)
		used += (size_t)snprintf(buf + used, len - used, " EXCLUDE=");
	for (size_t i = 0; i < s->nexclude && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "",
					 cidr_format(&s->exclude[i], c, sizeof(c)));
	if (used < len)
		used += (size_t)snprintf(buf + used, len - used, " LOG_LEVEL=%s STATE_DIR=%s",
					 log_level_name(s->log_level), s->state_dir);
	if (used < len && !s->shared_networks[0])
		snprintf(buf + used, len - used, " SHARED_NETWORKS= (off)");
	else if (used < len)
		snprintf(buf + used, len - used,
			 " SHARED_NETWORKS=%s NODE_NAME=%s PUBLISH_INTERVAL=%lu "
			 "PEER_STALE_AFTER=%lu NFS_TIMEOUT=%lu",
			 s->shared_networks, s->node_name, s->publish_interval, s->peer_stale_after,
			 s->nfs_timeout);
	return buf;
}
