/* SPDX-License-Identifier: MIT */
/*
 * settings: the plugin's settings, read once at start from an envp-style array (the
 * managed plugin's env in config.json, settable with `docker plugin set`). Pure.
 *
 *   POOLS      IPv4 candidate ranges, comma-separated CIDR[:SIZE]   default 10.128.0.0/9:24
 *              (the top half of 10/8: Docker's own default pools hand out 10.0.0.0/8
 *              from the bottom in swarm, 172.17-31/16 and 192.168/16 locally)
 *   POOLS6     IPv6 candidate ranges, same form                     default auto
 *              ("none" disables a family; "auto" is a random ULA /48 in /64s, RFC 4193,
 *              chosen once per node and kept in the state directory)
 *   ROUTES     which host routes count as taken: all, onlink or /N[,/M] (only routes at
 *              least as specific as /N for IPv4, /M for IPv6)   default /8,/16
 *   EXCLUDE    comma-separated CIDRs never handed out               default empty
 *   LOG_LEVEL  error|warn|info|debug                                default info
 *   STATE_DIR  directory holding the pool state                     default /state
 *
 * Every node's networks (issue 4, see peer_sync.h):
 *   SHARED_NETWORKS   where nodes publish their host networks: nfs://SERVER/EXPORT
 *                     [?nfsport=N&mountport=N] or an absolute directory; empty = off
 *   NODE_NAME         this node's name there                   default the host name
 *   PUBLISH_INTERVAL  seconds between publications, 1-3600     default 30
 *   PEER_STALE_AFTER  seconds without an update after which a node counts as departed,
 *                     more than PUBLISH_INTERVAL, up to 604800 default 300
 *   NFS_TIMEOUT       seconds per NFS call to the store, 1-25  default 5
 *
 * SIZE defaults to 24 (IPv4) or 64 (IPv6), or the range's own prefix if that is longer.
 */
#ifndef IPAM_SETTINGS_H
#define IPAM_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "hostnet.h"
#include "log.h"
#include "pool_allocator.h"

#define SETTINGS_MAX_RANGES 32
#define SETTINGS_MAX_EXCLUDE 256
#define SETTINGS_PATH_LEN 1024

#define SETTINGS_DEFAULT_POOLS "10.128.0.0/9:24"
#define SETTINGS_DEFAULT_POOLS6 "auto"
#define SETTINGS_DEFAULT_ROUTES "/8,/16"
#define SETTINGS_DEFAULT_STATE_DIR "/state"
#define SETTINGS_DEFAULT_PUBLISH_INTERVAL 30
#define SETTINGS_DEFAULT_PEER_STALE_AFTER 300
#define SETTINGS_DEFAULT_NFS_TIMEOUT 5

struct settings {
	struct pa_range pools[SETTINGS_MAX_RANGES];
	size_t npools;
	struct pa_range pools6[SETTINGS_MAX_RANGES];
	size_t npools6;
	bool pools6_auto; /* POOLS6=auto: pools6 is empty until settings_set_ula() */
	struct hostnet_route_policy routes;
	struct cidr exclude[SETTINGS_MAX_EXCLUDE];
	size_t nexclude;
	enum log_level log_level;
	char state_dir[SETTINGS_PATH_LEN];
	char shared_networks[SETTINGS_PATH_LEN]; /* "": off */
	char node_name[HOSTNET_NODE_LEN];	 /* "": not set (settings_default_node) */
	unsigned long publish_interval;		 /* seconds */
	unsigned long peer_stale_after;		 /* seconds */
	unsigned long nfs_timeout;		 /* seconds */
};

/*
 * Read every setting from envp (absent or empty: the default). Returns 0 or -EINVAL with
 * a message naming the variable, the bad value and what is accepted. An absent NODE_NAME
 * leaves node_name empty: see settings_default_node.
 */
int settings_parse(char *const *envp, struct settings *out, char *err, size_t errlen);

/*
 * Parse ROUTES ("all", "onlink", "/N" or "/N,/M") into out. Returns 0 or -EINVAL naming
 * the accepted forms.
 */
int settings_parse_routes(const char *text, struct hostnet_route_policy *out, char *err,
			  size_t errlen);

/* ROUTES as text ("all", "onlink", "/8,/16"). Returns buf. */
char *settings_format_routes(const struct hostnet_route_policy *p, char *buf, size_t len);

/*
 * POOLS6=auto: the random ULA prefix becomes the only IPv6 range, carved in /64s.
 * ula must be an IPv6 /48 inside fd00::/8. Returns 0 or -EINVAL.
 */
int settings_set_ula(struct settings *s, const struct cidr *ula);

/*
 * A ULA /48 (RFC 4193 section 3.2: fd00::/8 plus 40 random bits) from five random bytes.
 */
struct cidr settings_ula_from_random(const unsigned char rnd[5]);

/*
 * NODE_NAME's default: when s->node_name is empty, take hostname (the caller's
 * gethostname()). Returns 0, or -EINVAL when the host name is no valid node name (message
 * asks for NODE_NAME). Names that were set are left alone.
 */
int settings_default_node(struct settings *s, const char *hostname, char *err, size_t errlen);

/*
 * Parse "CIDR[:SIZE],..." of family (AF_INET or AF_INET6) for variable name into out (max
 * entries). "none" gives an empty list. Returns 0 or -EINVAL.
 */
int settings_parse_ranges(const char *name, const char *text, int family, struct pa_range *out,
			  size_t max, size_t *n, char *err, size_t errlen);

/* Parse "CIDR,..." (bare addresses are /32 or /128) into out. Returns 0 or -EINVAL. */
int settings_parse_cidrs(const char *name, const char *text, struct cidr *out, size_t max,
			 size_t *n, char *err, size_t errlen);

/*
 * Parse the per-network option size=N ("N" or "/N") against the candidate ranges of one
 * family: N must fit at least one of them. Returns 0 or -EINVAL naming the accepted
 * lengths.
 */
int settings_parse_size(const char *text, int family, const struct pa_range *ranges, size_t n,
			unsigned int *out, char *err, size_t errlen);

/* The effective configuration on one line, for the start-up log. Returns buf. */
char *settings_format(const struct settings *s, char *buf, size_t len);

#endif
