/* SPDX-License-Identifier: MIT */
/*
 * settings: the plugin's settings, read once at start from an envp-style array (the
 * managed plugin's env in config.json, settable with `docker plugin set`). Pure.
 *
 *   POOLS      IPv4 candidate ranges, comma-separated CIDR[:SIZE]   default 10.0.0.0/8:24
 *   POOLS6     IPv6 candidate ranges, same form                     default fd00::/8:64
 *              ("none" disables a family)
 *   EXCLUDE    comma-separated CIDRs never handed out               default empty
 *   LOG_LEVEL  error|warn|info|debug                                default info
 *   STATE_DIR  directory holding the pool state                     default /state
 *
 * SIZE defaults to 24 (IPv4) or 64 (IPv6), or the range's own prefix if that is longer.
 */
#ifndef IPAM_SETTINGS_H
#define IPAM_SETTINGS_H

#include <stddef.h>

#include "log.h"
#include "pool_allocator.h"

#define SETTINGS_MAX_RANGES 32
#define SETTINGS_MAX_EXCLUDE 256
#define SETTINGS_PATH_LEN 1024

#define SETTINGS_DEFAULT_POOLS "10.0.0.0/8:24"
#define SETTINGS_DEFAULT_POOLS6 "fd00::/8:64"
#define SETTINGS_DEFAULT_STATE_DIR "/state"

struct settings {
	struct pa_range pools[SETTINGS_MAX_RANGES];
	size_t npools;
	struct pa_range pools6[SETTINGS_MAX_RANGES];
	size_t npools6;
	struct cidr exclude[SETTINGS_MAX_EXCLUDE];
	size_t nexclude;
	enum log_level log_level;
	char state_dir[SETTINGS_PATH_LEN];
};

/*
 * Read every setting from envp (absent or empty: the default). Returns 0 or -EINVAL with
 * a message naming the variable, the bad value and what is accepted.
 */
int settings_parse(char *const *envp, struct settings *out, char *err, size_t errlen);

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
