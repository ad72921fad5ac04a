/* SPDX-License-Identifier: MIT */
/*
 * privs: give up the privileges a plugin does not need once it has started. Docker starts
 * a managed plugin with its default capability set (NET_RAW, CHOWN, DAC_OVERRIDE, SETUID,
 * ...) plus what the manifest asks for, and the manifest cannot remove defaults; so the
 * plugin drops the rest itself.
 *
 * Capabilities are per thread and inherited by new threads: call this in main() before
 * any thread exists.
 */
#ifndef SHARED_PRIVS_H
#define SHARED_PRIVS_H

#include <stddef.h>

/*
 * Keep only the capabilities in keep[] (CAP_* numbers from <linux/capability.h>) in the
 * effective and permitted sets, clear the inheritable and ambient sets, drop every other
 * capability from the bounding set (when we may), and set no_new_privs so no exec can
 * regain any. Capabilities we do not hold are not an error (an unprivileged test run).
 * Returns 0 or -errno with a message in err.
 */
int privs_limit(const int *keep, size_t nkeep, char *err, size_t errlen);

/* The effective capability set as "cap_sys_admin,cap_net_bind_service" (or "none"). */
char *privs_format(char *buf, size_t len);

#endif
